//! `meshward check policy FILE`: validates a policy document the way `meshward_netpolicy.wasm`
//! loads it; deprecated words are warnings on stderr.

use std::path::Path;

use meshward_policy::Engine;

use crate::args::FileArgs;
use crate::commands::read_text;
use crate::CliError;

/// Runs the command.
pub fn run(args: &FileArgs) -> Result<(), CliError> {
    let file = &args.file;
    let text = read_text(file)?;
    let engine = load(file, &text)?;
    for d in engine.deprecations() {
        eprintln!("{}: warning: {d}", file.display());
    }
    println!(
        "{}: ok, {} policies, {} clauses, mode {}",
        file.display(),
        engine.policy_count(),
        engine.clause_count(),
        engine.mode()
    );
    Ok(())
}

/// Compiles policy document `text` (read from `path`) as the filter does.
pub(crate) fn load(path: &Path, text: &str) -> Result<Engine, CliError> {
    Engine::from_text(text).map_err(|source| CliError::Policy {
        path: path.to_path_buf(),
        source: Box::new(source),
    })
}
