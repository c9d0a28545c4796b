//! Every way learning fails before it starts: an unreadable input, a bad `--template` or
//! `--literal`.

use std::path::PathBuf;

/// Learning could not run; the message names the input or the option and the reason.
#[derive(Debug, thiserror::Error)]
pub enum LearnError {
    /// An input file (or stdin) could not be read.
    #[error("{}: {source}", path.display())]
    Read {
        /// The file (`-` for stdin).
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A `--template` pin is not a path template both meshward and Istio accept.
    #[error("--template {pattern}: {reason}")]
    Pin {
        /// The pin as given.
        pattern: String,
        /// Why it is refused.
        reason: String,
    },
    /// A `--literal` path is not a path the policy can hold as an exact value.
    #[error("--literal {path}: {reason}")]
    Literal {
        /// The path as given.
        path: String,
        /// Why it is refused.
        reason: String,
    },
    /// A `--spec` document is not an OpenAPI 3.x document the drift report can read.
    #[error("--spec {spec}: {reason}")]
    Spec {
        /// The spec as given (`SERVICE=FILE`).
        spec: String,
        /// Why.
        reason: String,
    },
    /// The fold threshold must be at least 2 (one value is never "many siblings").
    #[error("--fold-threshold {0}: must be at least 2")]
    Threshold(usize),
    /// The learned document does not compile: a learner bug, reported rather than written.
    #[error("the learned policy does not compile (please report): {source}")]
    Compile {
        /// The engine's error.
        source: Box<meshward_policy::PolicyError>,
    },
}

impl LearnError {
    /// Whether the command line asked for something impossible (rather than an input failing).
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            LearnError::Pin { .. } | LearnError::Literal { .. } | LearnError::Threshold(_)
        )
    }
}
