//! The proxy log level evidence is written at (`evidence.log_level` in both filters'
//! configurations).

use serde::{Deserialize, Serialize};

/// Level of the evidence events and the load line. `warn` by default: Istio runs Envoy at
/// `warning`, where anything lower is invisible.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum EvidenceLevel {
    /// trace
    Trace,
    /// debug
    Debug,
    /// info
    Info,
    /// warn (the default)
    #[default]
    Warn,
    /// error
    Error,
}

impl EvidenceLevel {
    /// The proxy-wasm log level it is written at.
    pub const fn log_level(self) -> meshward_abi::LogLevel {
        match self {
            EvidenceLevel::Trace => meshward_abi::LogLevel::Trace,
            EvidenceLevel::Debug => meshward_abi::LogLevel::Debug,
            EvidenceLevel::Info => meshward_abi::LogLevel::Info,
            EvidenceLevel::Warn => meshward_abi::LogLevel::Warn,
            EvidenceLevel::Error => meshward_abi::LogLevel::Error,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_default_and_rejection() {
        assert_eq!(EvidenceLevel::default().log_level(), meshward_abi::LogLevel::Warn);
        let read = |w: &str| serde_json::from_str::<EvidenceLevel>(&format!("\"{w}\""));
        for (w, l) in [
            ("trace", EvidenceLevel::Trace),
            ("debug", EvidenceLevel::Debug),
            ("info", EvidenceLevel::Info),
            ("warn", EvidenceLevel::Warn),
            ("error", EvidenceLevel::Error),
        ] {
            assert_eq!(read(w).unwrap(), l);
            assert_eq!(l.log_level().name(), w, "the same words as the ABI's");
        }
        let err = read("warning").unwrap_err().to_string();
        assert!(err.contains("unknown variant `warning`, expected one of"), "{err}");
    }
}
