//! `meshward import-istio FILE [--wasm-plugin-url URL]`: converts Istio AuthorizationPolicy YAML
//! to a policy document on stdout, or to the WasmPlugins that carry it to the workloads each
//! policy applied to; every field it cannot honour is a warning on stderr.

use meshward_policy::istio;

use crate::args::ImportArgs;
use crate::commands::read_text;
use crate::CliError;

/// Runs the command.
pub fn run(args: &ImportArgs) -> Result<(), CliError> {
    let file = &args.file;
    let text = read_text(file)?;
    let out = istio::import(&text).map_err(|source| CliError::Policy {
        path: file.clone(),
        source: Box::new(source),
    })?;
    for w in &out.warnings {
        eprintln!("{w}");
    }
    match &args.wasm_plugin_url {
        None => print!("{}", serde_yaml_ng::to_string(&out.document)?),
        Some(url) => {
            let plugins = out
                .carriers
                .iter()
                .map(|c| serde_yaml_ng::to_string(&c.wasm_plugin(url)))
                .collect::<Result<Vec<_>, _>>()?;
            print!("{}", plugins.join("---\n"));
        }
    }
    Ok(())
}
