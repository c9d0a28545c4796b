//! `meshward-host replay ...` runs a raw HTTP/1.1 exchange through a proxy-wasm filter;
//! `meshward-host serve ...` runs the filter as an HTTP/1.1 proxy in front of an upstream.

use meshward_host_test::{replay, serve};
use std::io::Write;
use std::process::ExitCode;

const USAGE: &str = "usage: meshward-host replay ... | meshward-host serve ... (--help after either for its flags)";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rest = args.get(1..).unwrap_or_default();
    let wants_help = rest.iter().any(|a| a == "-h" || a == "--help");
    match args.first().map(String::as_str) {
        Some("replay") if wants_help => help(replay::USAGE),
        Some("serve") if wants_help => help(serve::USAGE),
        Some("replay") => run_replay(rest),
        Some("serve") => run_serve(rest),
        Some("-h" | "--help") => help(&format!("{USAGE}\n\n{}\n\n{}", replay::USAGE, serve::USAGE)),
        _ => {
            eprintln!("{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn help(text: &str) -> ExitCode {
    println!("{text}");
    ExitCode::SUCCESS
}

fn run_replay(args: &[String]) -> ExitCode {
    let parsed = match replay::parse_args(args) {
        Ok(a) => a,
        Err(e) => return usage_error(&e),
    };
    match replay::replay(&parsed) {
        Ok(json) => {
            println!("{json}");
            ExitCode::SUCCESS
        }
        Err(e) => failure(&e),
    }
}

fn run_serve(args: &[String]) -> ExitCode {
    let parsed = match serve::parse_args(args) {
        Ok(a) => a,
        Err(e) => return usage_error(&e),
    };
    let ready = |addr| {
        // One line a script can wait for; flushed now, stdout may be a pipe.
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{addr}").and_then(|()| out.flush());
    };
    let log = |line: &meshward_host_test::LogEntry| eprintln!("[{}] {}", line.level, line.message);
    match serve::run(&parsed, ready, log) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => failure(&e),
    }
}

fn usage_error(e: &meshward_host_test::Error) -> ExitCode {
    eprintln!("meshward-host: {e}");
    ExitCode::from(2)
}

fn failure(e: &meshward_host_test::Error) -> ExitCode {
    eprintln!("meshward-host: {e}");
    ExitCode::FAILURE
}
