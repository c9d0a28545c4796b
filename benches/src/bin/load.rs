//! The load comparison (issue 12): `cargo xtask load [--quick] [--reps N] [--duration S] ...`
//! installs what it needs and runs this; see `benches/README.md`.

use std::process::ExitCode;

use meshward_benches::load::{options::Options, run};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--help" || a == "-h") {
        print!("{}", meshward_benches::load::options::USAGE);
        return ExitCode::SUCCESS;
    }
    let default_out = meshward_envoy::locate::workspace_root().join("benches");
    let result = Options::parse(&args, default_out)
        .and_then(|options| run::Inputs::locate().map(|inputs| (options, inputs)))
        .and_then(|(options, inputs)| run::run(&options, &inputs));
    match result {
        Ok(_) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("load: error: {err}");
            ExitCode::FAILURE
        }
    }
}
