//! Errors of the Envoy harness.

use meshward_testkit::locate::LocateError;

/// Anything that can go wrong while locating, starting or talking to Envoy and the test servers.
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    /// The Envoy binary or a wasm file the test needs is not where the settings say.
    #[error(transparent)]
    Locate(#[from] LocateError),
    /// Envoy exited before it became ready (usually: it rejected the configuration).
    #[error("Envoy exited with {status} before becoming ready; last log lines:\n{log_tail}")]
    Exited { status: String, log_tail: String },
    /// Envoy did not become ready in time.
    #[error("Envoy did not become ready within {seconds} s; last log lines:\n{log_tail}")]
    NotReady { seconds: u64, log_tail: String },
    /// An HTTP exchange failed or returned something unparsable.
    #[error("HTTP to {peer}: {why}")]
    Http { peer: String, why: String },
    /// The admin endpoint answered something unexpected.
    #[error("Envoy admin {path}: {why}")]
    Admin { path: String, why: String },
    /// A file or socket operation failed.
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
}

impl HarnessError {
    /// Wraps an I/O error with what was being done.
    pub fn io(what: impl Into<String>, source: std::io::Error) -> Self {
        HarnessError::Io {
            what: what.into(),
            source,
        }
    }
}
