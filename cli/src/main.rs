//! `meshward`: the command-line program for meshward's users.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = meshward_cli::args::Cli::parse();
    match meshward_cli::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("meshward: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}
