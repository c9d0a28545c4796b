//! `meshward policy import-istio FILE`: converts Istio AuthorizationPolicy YAML to a policy
//! document on stdout; every field it cannot honour is a warning on stderr.

use meshward_policy::istio;

use crate::args::FileArgs;
use crate::commands::read_text;
use crate::CliError;

/// Runs the command.
pub fn run(args: &FileArgs) -> Result<(), CliError> {
    let file = &args.file;
    let text = read_text(file)?;
    let out = istio::import(&text).map_err(|source| CliError::Policy {
        path: file.clone(),
        source: Box::new(source),
    })?;
    for w in &out.warnings {
        eprintln!("{w}");
    }
    print!("{}", serde_yaml_ng::to_string(&out.document)?);
    Ok(())
}
