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
    Exited {
        /// How it exited (exit code or signal).
        status: String,
        /// Its last log lines.
        log_tail: String,
    },
    /// Envoy did not become ready in time.
    #[error("Envoy did not become ready within {seconds} s; last log lines:\n{log_tail}")]
    NotReady {
        /// How long the harness waited.
        seconds: u64,
        /// Its last log lines.
        log_tail: String,
    },
    /// An HTTP exchange failed or returned something unparsable.
    #[error("HTTP to {peer}: {why}")]
    Http {
        /// The address talked to.
        peer: String,
        /// What failed.
        why: String,
    },
    /// The admin endpoint answered something unexpected.
    #[error("Envoy admin {path}: {why}")]
    Admin {
        /// The admin path requested.
        path: String,
        /// What was wrong with the answer.
        why: String,
    },
    /// A file or socket operation failed.
    #[error("{what}: {source}")]
    Io {
        /// The operation, with the file or address it was on.
        what: String,
        /// The underlying error.
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
