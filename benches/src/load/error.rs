//! What can stop a load comparison run, with what it was doing.

/// Why the load comparison stopped.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// A file or socket operation failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// Envoy did not start or answer.
    #[error("{what}: {source}")]
    Envoy {
        /// Which configuration.
        what: String,
        /// The harness's error.
        source: meshward_envoy::HarnessError,
    },
    /// The policy document has no RBAC translation.
    #[error("translating the policy to RBAC: {0}")]
    Rbac(#[from] meshward_envoy::rbac::RbacError),
    /// nginx did not start or a configuration is not usable.
    #[error("{0}")]
    Setup(String),
    /// The command line is wrong.
    #[error("{0}")]
    Usage(String),
}

impl LoadError {
    /// An I/O error while doing `what`.
    pub fn io(what: impl Into<String>, source: std::io::Error) -> Self {
        LoadError::Io {
            what: what.into(),
            source,
        }
    }
}
