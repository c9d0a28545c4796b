//! One module per command: each takes its parsed arguments, prints what it found on stdout
//! (warnings on stderr) and returns a [`crate::CliError`] when it fails.

pub mod check_policy;
pub mod check_waf;
mod connect;
pub mod detection;
pub mod image_build;
pub mod image_inspect;
pub mod image_pull;
pub mod image_push;
pub mod import_istio;
pub mod learn_api;
pub mod learn_policy;
pub mod snippet;

use std::path::Path;

use crate::CliError;

/// The text of a file named on the command line.
pub(crate) fn read_text(path: &Path) -> Result<String, CliError> {
    std::fs::read_to_string(path).map_err(|source| CliError::Read {
        path: path.to_path_buf(),
        source,
    })
}
