//! Every way a command fails, and the exit status each gives.

use std::path::PathBuf;

use crate::oci::build::BuildError;
use crate::oci::layout::LayoutError;
use crate::oci::metadata::CreatedError;
use crate::oci::module::ModuleError;
use crate::oci::read::ReadError;
use crate::registry::pull::PullError;
use crate::registry::RegistryError;

/// Exit status of a command that found a problem (invalid input, a failed push).
pub const EXIT_FINDINGS: u8 = 1;
/// Exit status of a usage error (clap uses the same for the ones it finds).
pub const EXIT_USAGE: u8 = 2;

/// A command failed; the message names the file or registry and the reason.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// A file named on the command line could not be read.
    #[error("{}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A file could not be written.
    #[error("{}: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A WAF plugin configuration the filter would reject.
    #[error("{}: {source}", path.display())]
    WafConfig {
        /// The configuration file.
        path: PathBuf,
        /// The filter's own error (line and reason, or the directive that failed); boxed, it is large.
        source: Box<meshward_waf::config::ConfigError>,
    },
    /// A policy document (or Istio YAML) the policy engine rejects.
    #[error("{}: {source}", path.display())]
    Policy {
        /// The document.
        path: PathBuf,
        /// The engine's error, with its line; boxed, it is large.
        source: Box<meshward_policy::PolicyError>,
    },
    /// `meshward detection`'s WAF configuration was rejected (an unknown pack name).
    #[error("{subject}: {source}")]
    DetectionConfig {
        /// The configuration measured.
        subject: String,
        /// The filter's own error.
        source: Box<meshward_waf::config::ConfigError>,
    },
    /// Envoy or its upstream failed during `meshward detection --through envoy`.
    #[error("Envoy: {0}")]
    Envoy(#[from] meshward_envoy::HarnessError),
    /// The detection corpus could not be read.
    #[error(transparent)]
    Corpus(#[from] crate::detection::corpus::CorpusError),
    /// A converted policy document could not be written as YAML.
    #[error("writing the policy document: {0}")]
    Yaml(#[from] serde_yaml_ng::Error),
    /// `--filter waf|policy` names a filter that has not been built.
    #[error(transparent)]
    FilterMissing(#[from] meshward_testkit::locate::LocateError),
    /// The `.wasm` to package is not a proxy-wasm module.
    #[error("{}: {source}", path.display())]
    Module {
        /// The file.
        path: PathBuf,
        /// Why it cannot be packaged.
        source: ModuleError,
    },
    /// `SOURCE_DATE_EPOCH` cannot be recorded.
    #[error(transparent)]
    Created(#[from] CreatedError),
    /// The image could not be assembled.
    #[error(transparent)]
    Build(#[from] BuildError),
    /// An image layout could not be written or read.
    #[error(transparent)]
    Layout(#[from] LayoutError),
    /// An image in a layout holds no module Istio could read.
    #[error("{}: {source}", dir.display())]
    Unreadable {
        /// The layout.
        dir: PathBuf,
        /// Why, for each variant; boxed, it is large.
        source: Box<ReadError>,
    },
    /// Talking to a registry failed.
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// A module could not be pulled.
    #[error(transparent)]
    Pull(#[from] PullError),
    /// `meshward learn policy|api` could not learn (unreadable input, a bad `--template` or
    /// `--spec`).
    #[error(transparent)]
    Learn(#[from] meshward_learn::LearnError),
    /// `meshward learn policy|api` read no meshward policy event at all.
    #[error("no meshward policy event in {lines} lines read (meshward.policy.observation or meshward.policy.event)")]
    NoEvents {
        /// Lines read.
        lines: u64,
    },
    /// The command line is valid for the parser but not usable (a bad reference or tag).
    #[error("{0}")]
    Usage(String),
}

impl CliError {
    /// The process exit status for this error: 2 for usage errors, else 1.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Usage(_) => EXIT_USAGE,
            CliError::Learn(e) if e.is_usage() => EXIT_USAGE,
            _ => EXIT_FINDINGS,
        }
    }
}
