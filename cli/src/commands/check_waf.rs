//! `meshward check waf FILE`: validates a WAF plugin configuration exactly as
//! `meshward_waf.wasm` does at configure time (`Loaded::load`, with the CRS this program was
//! built with), and prints what would load.

use std::path::Path;

use meshward_waf::loaded::Loaded;

use crate::args::FileArgs;
use crate::commands::read_text;
use crate::CliError;

/// Runs the command.
pub fn run(args: &FileArgs) -> Result<(), CliError> {
    let file = &args.file;
    let text = read_text(file)?;
    let loaded = load(file, &text)?;
    for warning in loaded.sets.rules.iter().flat_map(|r| r.warnings()) {
        eprintln!("{}: warning: {warning}", file.display());
    }
    let report = loaded.report();
    println!(
        "{}: ok, {} rules, {} rule sets, ruleset {}, mode {}, config_hash {}",
        file.display(),
        report.rules,
        report.sets,
        loaded.ruleset,
        loaded.config.mode,
        loaded.config_hash
    );
    Ok(())
}

/// Loads WAF configuration `text` (read from `path`) as the filter does.
pub(crate) fn load(path: &Path, text: &str) -> Result<Loaded, CliError> {
    Loaded::load(text.as_bytes()).map_err(|source| CliError::WafConfig {
        path: path.to_path_buf(),
        source: Box::new(source),
    })
}
