//! Everything `on_configure` builds once per VM: the parsed configuration, the compiled
//! directive sets, the set selector and the configuration hash.

use std::time::Duration;

use meshward_seclang::RuleSet;
use sha2::{Digest, Sha256};

use crate::assembly::{CompiledSets, DEFAULT_SET};
use crate::config::{ConfigError, WafConfig};
use crate::embedded;
use crate::selector::Selector;

/// A configured filter, ready to start transactions.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The validated configuration.
    pub config: WafConfig,
    /// Compiled directive sets.
    pub sets: CompiledSets,
    /// Route/authority -> set.
    pub selector: Selector,
    /// Hash of the effective configuration and the embedded CRS.
    pub config_hash: String,
    /// `crs-<version>` (or `none` when CRS is off).
    pub ruleset: String,
}

/// What loading cost, for the configure log line.
#[derive(Debug, Clone, Copy)]
pub struct LoadReport {
    /// Rules (chain links counted) in the default set.
    pub rules: usize,
    /// Distinct compiled rule sets.
    pub sets: usize,
}

impl Loaded {
    /// Parses, validates and compiles a plugin configuration.
    pub fn load(bytes: &[u8]) -> Result<Loaded, ConfigError> {
        let config = WafConfig::parse(bytes)?;
        let sets = CompiledSets::build(&config, &embedded::files())?;
        let selector = Selector::new(&config.per_authority, &config.per_route);
        let ruleset = if config.crs {
            embedded::ruleset_name()
        } else {
            "none".into()
        };
        Ok(Loaded {
            config_hash: config_hash(&config),
            selector,
            sets,
            ruleset,
            config,
        })
    }

    /// The set name and rule set for a request (`None` only if the default set is missing,
    /// which `load` never produces).
    pub fn select(&self, route: Option<&str>, authority: Option<&str>) -> Option<(&str, &RuleSet)> {
        let name = self.selector.select(route, authority);
        self.sets
            .get(name)
            .map(|r| (name, r))
            .or_else(|| self.sets.get(DEFAULT_SET).map(|r| (DEFAULT_SET, r)))
    }

    /// Counts for the configure log.
    pub fn report(&self) -> LoadReport {
        let rules = self
            .sets
            .rules
            .first()
            .map(|r| r.stats().sec_rules + r.stats().sec_actions)
            .unwrap_or(0);
        LoadReport {
            rules,
            sets: self.sets.rules.len(),
        }
    }

    /// Collector call timeout.
    pub fn collector_timeout(&self) -> Duration {
        Duration::from_millis(
            self.config
                .evidence
                .collector
                .as_ref()
                .map(|c| c.timeout_ms)
                .unwrap_or(2000),
        )
    }
}

/// The error line `on_configure` logs before returning false.
pub fn invalid_configuration_message(e: &ConfigError) -> String {
    format!("meshward-waf: invalid configuration: {e}")
}

/// SHA-256 (hex) of the normalized effective configuration (every default filled in, keys
/// sorted) and the embedded CRS digest.
pub fn config_hash(config: &WafConfig) -> String {
    let mut normalized = config.clone();
    normalized.detection_paranoia_level = Some(config.detection_paranoia());
    let json = serde_json::to_string(&normalized).unwrap_or_default();
    let mut h = Sha256::new();
    h.update(json.as_bytes());
    h.update(b"\0");
    h.update(embedded::CRS_DIGEST.as_bytes());
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_ignores_spelling_but_not_meaning() {
        let a = config_hash(&WafConfig::parse(b"{}").unwrap());
        let b = config_hash(
            &WafConfig::parse(br#"{ "paranoia_level": 1, "detection_paranoia_level": 1, "mode": "detect" }"#).unwrap(),
        );
        let c = config_hash(&WafConfig::parse(br#"{"mode":"enforce"}"#).unwrap());
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(a.len(), 64);
    }
}
