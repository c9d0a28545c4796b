//! The soak run (issue 13): `cargo xtask soak --duration D [--rate R] [--interval S] [--out DIR]`
//! installs what it needs and runs this; see `docs/soak.md`. Exits non-zero on errors, a crash
//! of Envoy, or memory growth.

use std::process::ExitCode;

use meshward_benches::soak::{options::Options, run};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--help" || a == "-h") {
        print!("{}", meshward_benches::soak::options::USAGE);
        return ExitCode::SUCCESS;
    }
    let default_out = meshward_envoy::locate::workspace_root().join("target/soak");
    match Options::parse(&args, default_out).and_then(|o| run::run(&o)) {
        Ok(verdict) => {
            eprintln!("soak: {}", run::summary(&verdict));
            if verdict.passed() {
                eprintln!("soak: passed");
                ExitCode::SUCCESS
            } else {
                for failure in &verdict.failures {
                    eprintln!("soak: FAILED: {failure}");
                }
                ExitCode::FAILURE
            }
        }
        Err(err) => {
            eprintln!("soak: error: {err}");
            ExitCode::FAILURE
        }
    }
}
