//! Everything `on_configure` builds once per VM: the parsed configuration, the compiled
//! directive sets, the set selector and the configuration hash.

use meshward_redact::Redactor;
use meshward_seclang::RuleSet;
use meshward_vocab::Filter;
use sha2::{Digest, Sha256};

use crate::assembly::{CompiledSets, DEFAULT_SET};
use crate::config::{ConfigError, WafConfig};
use crate::embedded;
use crate::selector::Selector;

/// Warnings of the rule sets logged at configure time, at the most.
const MAX_WARNING_LINES: usize = 20;

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
    /// The sensitive names (built-in and `evidence.redact`) events never carry values of.
    pub redactor: Redactor,
    /// Response media types whose bodies are inspected (`WafConfig::response_mime_types`,
    /// worked out once here rather than for every response).
    pub response_mime_types: Vec<String>,
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
            redactor: Redactor::new(&config.evidence.redact),
            response_mime_types: config.response_mime_types(),
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

    /// The lines `on_configure` logs after loading: what was loaded, in how long, and the
    /// first rule-set warnings.
    pub fn configured_lines(&self, load_nanos: u64, wasm_memory_bytes: usize) -> Vec<String> {
        let report = self.report();
        let load_ms = load_nanos as f64 / 1e6;
        let mut lines = vec![Filter::Waf.message(format_args!(
            "loaded {} rules ({} distinct rule sets, ruleset {}, mode {}) in {load_ms:.1} ms; \
             wasm memory {wasm_memory_bytes} bytes; config_hash {}",
            report.rules, report.sets, self.ruleset, self.config.mode, self.config_hash
        ))];
        let warnings = self.sets.rules.iter().flat_map(|r| r.warnings());
        lines.extend(warnings.take(MAX_WARNING_LINES).map(|w| Filter::Waf.message(w)));
        lines
    }
}

/// The lines to log for rules whose operator could not be built on first use (they never
/// match), each as a warning; `logged` holds the lines already logged and gets the new ones.
pub fn deferred_lines(loaded: &Loaded, logged: &mut Vec<String>) -> Vec<String> {
    let mut out = Vec::new();
    for w in loaded.sets.rules.iter().flat_map(|r| r.deferred_warnings()) {
        let line = Filter::Waf.message(w);
        if !logged.contains(&line) {
            logged.push(line.clone());
            out.push(line);
        }
    }
    out
}

/// The error line `on_configure` logs before returning false.
pub fn invalid_configuration_message(e: &ConfigError) -> String {
    Filter::Waf.message(format_args!("invalid configuration: {e}"))
}

/// The error line when the host does not hand over the plugin configuration.
pub fn unreadable_configuration_message(status: impl std::fmt::Display) -> String {
    Filter::Waf.message(format_args!(
        "invalid configuration: cannot read the plugin configuration (status {status})"
    ))
}

/// The error line when an event could not be posted to the collector.
pub fn collector_failed_message(cluster: &str) -> String {
    Filter::Waf.message(format_args!("evidence collector call to cluster {cluster} failed"))
}

/// SHA-256 (hex) of the normalized effective configuration (every default filled in, keys
/// sorted, the packs as the list that loads) and the embedded CRS digest and packs.
pub fn config_hash(config: &WafConfig) -> String {
    let mut normalized = config.clone();
    normalized.detection_paranoia_level = Some(config.detection_paranoia());
    normalized.packs = Some(config.effective_packs().into_iter().map(str::to_string).collect());
    normalized.packs_off = Vec::new();
    let json = serde_json::to_string(&normalized).unwrap_or_default();
    let mut h = Sha256::new();
    h.update(json.as_bytes());
    h.update(b"\0");
    h.update(embedded::CRS_DIGEST.as_bytes());
    for (name, content) in embedded::PACKS {
        h.update(name.as_bytes());
        h.update((content.len() as u64).to_le_bytes());
        h.update(content);
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configured_lines_say_what_was_loaded() {
        let loaded =
            Loaded::load(br#"{"crs": false, "directives": ["SecRule ARGS \"@rx a\" \"id:1,phase:1,pass\""]}"#).unwrap();
        let lines = loaded.configured_lines(1_500_000, 65536);
        assert!(lines[0].starts_with("meshward.waf: loaded "), "{}", lines[0]);
        assert!(
            lines[0].contains("in 1.5 ms; wasm memory 65536 bytes; config_hash "),
            "{}",
            lines[0]
        );
        assert!(lines[0].contains("ruleset none, mode detect"), "{}", lines[0]);
    }

    #[test]
    fn hash_ignores_spelling_but_not_meaning() {
        let a = config_hash(&WafConfig::parse(b"{}").unwrap());
        let b = config_hash(
            &WafConfig::parse(br#"{ "paranoia_level": 1, "detection_paranoia_level": 1, "mode": "detect" }"#).unwrap(),
        );
        let c = config_hash(&WafConfig::parse(br#"{"mode":"enforce"}"#).unwrap());
        let d = config_hash(
            &WafConfig::parse(br#"{"packs_off":["ldap","mail","nosql","path","shell","sqli","ssti","traversal"]}"#)
                .unwrap(),
        );
        let e = config_hash(&WafConfig::parse(br#"{"packs":[]}"#).unwrap());
        assert_eq!(a, b);
        assert_eq!(d, e, "the same packs load");
        assert_ne!(a, d);
        assert_ne!(a, c);
        assert_eq!(a.len(), 64);
    }
}
