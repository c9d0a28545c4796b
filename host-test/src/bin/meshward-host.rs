//! `meshward-host replay ...`: run a raw HTTP/1.1 exchange through a proxy-wasm filter.

use meshward_host_test::replay::{parse_args, replay, USAGE};
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("replay") => {}
        Some("-h" | "--help") => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    }
    let parsed = match parse_args(&args[1..]) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("meshward-host: {e}");
            return ExitCode::from(2);
        }
    };
    match replay(&parsed) {
        Ok(json) => {
            println!("{json}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("meshward-host: {e}");
            ExitCode::FAILURE
        }
    }
}
