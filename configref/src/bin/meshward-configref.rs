//! Writes docs/config.md from the configuration types (`cargo xtask docs` runs it).

use std::process::ExitCode;

fn main() -> ExitCode {
    let path = meshward_configref::reference_path();
    match std::fs::write(&path, meshward_configref::render()) {
        Ok(()) => {
            println!("wrote {}", path.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("cannot write {}: {e}", path.display());
            ExitCode::FAILURE
        }
    }
}
