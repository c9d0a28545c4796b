//! `meshward check policy FILE`: validates a policy document the way `meshward_netpolicy.wasm`
//! loads it; deprecated words are warnings on stderr.

use meshward_policy::Engine;

use crate::args::FileArgs;
use crate::commands::read_text;
use crate::CliError;

/// Runs the command.
pub fn run(args: &FileArgs) -> Result<(), CliError> {
    let file = &args.file;
    let text = read_text(file)?;
    let engine = Engine::from_text(&text).map_err(|source| CliError::Policy {
        path: file.clone(),
        source: Box::new(source),
    })?;
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
