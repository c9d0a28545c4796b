//! What can stop a soak run before it has a verdict.

use crate::load::LoadError;

/// Why the soak run could not run to its end (a run that ends with a failing verdict is not
/// an error: see [`super::series::Verdict`]).
#[derive(Debug, thiserror::Error)]
pub enum SoakError {
    /// The command line is wrong.
    #[error("{0}")]
    Usage(String),
    /// The upstream, the bootstrap or the filters could not be set up.
    #[error("{0}")]
    Setup(#[from] LoadError),
    /// Envoy did not start.
    #[error("starting Envoy: {0}")]
    Envoy(#[from] meshward_envoy::HarnessError),
    /// A file or thread operation failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The underlying error.
        source: std::io::Error,
    },
}

impl SoakError {
    /// An I/O error while doing `what`.
    pub fn io(what: impl Into<String>, source: std::io::Error) -> Self {
        SoakError::Io {
            what: what.into(),
            source,
        }
    }
}
