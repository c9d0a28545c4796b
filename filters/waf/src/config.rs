//! The plugin configuration (JSON): schema, defaults and validation.

use std::collections::BTreeMap;

use meshward_vocab::{EvidenceLevel, Mode};
use serde::{Deserialize, Serialize};

use crate::embedded;
use crate::profile::Profile;

/// Why a configuration was rejected.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The configuration is not valid JSON for the schema (unknown key, wrong type, bad enum value).
    #[error("plugin configuration line {line} column {column}: {reason}")]
    Json {
        /// 1-based line in the configuration text.
        line: usize,
        /// 1-based column.
        column: usize,
        /// serde's explanation.
        reason: String,
    },
    /// A value is out of range or refers to something undefined.
    #[error("{key}: {reason}")]
    Invalid {
        /// The key path, e.g. `per_authority.admin.example.com`.
        key: String,
        /// Why it was rejected.
        reason: String,
    },
    /// A SecLang directive failed to load.
    #[error("{0}")]
    SecLang(#[from] meshward_seclang::LoadError),
}

/// What happens when a body is larger than its limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum OnLimit {
    /// Refuse (request: 413; response: the body is not passed).
    Reject,
    /// Inspect the first `limit` bytes, pass the rest uninspected.
    ProcessPartial,
}

impl OnLimit {
    /// The SecLang `Sec*BodyLimitAction` value.
    pub fn seclang(self) -> &'static str {
        match self {
            OnLimit::Reject => "Reject",
            OnLimit::ProcessPartial => "ProcessPartial",
        }
    }
}

/// Request body inspection settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields, default)]
pub struct RequestBody {
    /// SecRequestBodyAccess.
    pub access: bool,
    /// SecRequestBodyLimit (bytes).
    pub limit: u64,
    /// SecRequestBodyNoFilesLimit (bytes).
    pub no_files_limit: u64,
    /// SecRequestBodyLimitAction.
    pub on_limit: OnLimit,
}

impl Default for RequestBody {
    fn default() -> Self {
        RequestBody {
            access: true,
            limit: 13_107_200,
            no_files_limit: 131_072,
            on_limit: OnLimit::Reject,
        }
    }
}

/// Response body inspection settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields, default)]
pub struct ResponseBody {
    /// SecResponseBodyAccess.
    pub access: bool,
    /// SecResponseBodyLimit (bytes).
    pub limit: u64,
    /// SecResponseBodyMimeType.
    pub mime_types: Vec<String>,
    /// SecResponseBodyLimitAction.
    pub on_limit: OnLimit,
}

impl Default for ResponseBody {
    fn default() -> Self {
        ResponseBody {
            access: true,
            limit: 524_288,
            mime_types: vec!["text/plain".into(), "text/html".into(), "text/xml".into()],
            on_limit: OnLimit::ProcessPartial,
        }
    }
}

/// Where matched-transaction events are also posted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Collector {
    /// Envoy cluster name.
    pub cluster: String,
    /// `:authority` of the POST.
    #[serde(default = "default_collector_authority")]
    pub authority: String,
    /// `:path` of the POST.
    #[serde(default = "default_collector_path")]
    pub path: String,
    /// Call timeout in milliseconds.
    #[serde(default = "default_collector_timeout")]
    pub timeout_ms: u64,
}

fn default_collector_authority() -> String {
    "collector".into()
}
fn default_collector_path() -> String {
    "/events".into()
}
fn default_collector_timeout() -> u64 {
    2000
}

/// Evidence output settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields, default)]
pub struct Evidence {
    /// Write `meshward.waf.event` lines to the proxy log.
    pub log: bool,
    /// Longest excerpt of matched data, in bytes.
    pub excerpt_bytes: usize,
    /// Optional HTTP collector.
    pub collector: Option<Collector>,
    /// Proxy log level of the event lines and the load line: `trace`, `debug`, `info`, `warn`
    /// (default: visible at Istio's `warning`) or `error`.
    pub log_level: EvidenceLevel,
    /// Names whose values are redacted, on top of the built-in list (matched case-insensitively,
    /// by containment, like `password` or `token`).
    pub redact: Vec<String>,
}

impl Default for Evidence {
    fn default() -> Self {
        Evidence {
            log: true,
            excerpt_bytes: 64,
            collector: None,
            log_level: EvidenceLevel::Warn,
            redact: Vec::new(),
        }
    }
}

/// The whole plugin configuration; `{}` (or an empty string) means CRS PL1 with meshward's rule
/// packs (profile `mesh`) in detect mode.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields, default)]
pub struct WafConfig {
    /// detect (default) or enforce.
    pub mode: Mode,
    /// tx.blocking_paranoia_level (1..4).
    pub paranoia_level: u8,
    /// tx.detection_paranoia_level (>= paranoia_level); `None` = same as paranoia_level.
    pub detection_paranoia_level: Option<u8>,
    /// tx.inbound_anomaly_score_threshold.
    pub inbound_anomaly_threshold: u32,
    /// tx.outbound_anomaly_score_threshold.
    pub outbound_anomaly_threshold: u32,
    /// Status of a blocking reply when the rule gives the engine default (403).
    pub block_status: u16,
    /// Request body settings.
    pub request_body: RequestBody,
    /// Response body settings.
    pub response_body: ResponseBody,
    /// Most arguments kept per source (query string, body), and most multipart parts parsed; a
    /// request with more is refused (400 in enforce mode: rule 10020, or CRS's 200002 for the
    /// body error of a multipart body cut there) since the rest could not be inspected.
    pub arguments_limit: u32,
    /// Load the embedded CRS (setup and rules).
    pub crs: bool,
    /// The HTTP policy CRS starts from: `mesh` (default) or CRS's own (`crs`).
    pub profile: Profile,
    /// meshward's rule packs to load (`ldap`, `mail`, `nosql`, `path`, `shell`, `sqli`, `ssti`,
    /// `traversal`; see docs/packs.md); unset: every pack under `profile: mesh`, none under
    /// `profile: crs`. They need `crs` (they add to CRS's anomaly scores).
    pub packs: Option<Vec<String>>,
    /// Rule packs turned off by name (applied after `packs`).
    pub packs_off: Vec<String>,
    /// Extra SecLang lines loaded after crs-setup and before the CRS rules.
    pub directives: Vec<String>,
    /// Extra SecLang lines loaded after the CRS rules.
    pub directives_after_crs: Vec<String>,
    /// Named extra sets, added on top of `directives` for selected authorities/routes.
    pub directive_sets: BTreeMap<String, Vec<String>>,
    /// `:authority` (exact or `*.suffix`) -> directive set.
    pub per_authority: BTreeMap<String, String>,
    /// `xds.route_name` -> directive set (wins over `per_authority`).
    pub per_route: BTreeMap<String, String>,
    /// Evidence output.
    pub evidence: Evidence,
}

impl Default for WafConfig {
    fn default() -> Self {
        WafConfig {
            mode: Mode::Detect,
            paranoia_level: 1,
            detection_paranoia_level: None,
            inbound_anomaly_threshold: 5,
            outbound_anomaly_threshold: 4,
            block_status: 403,
            request_body: RequestBody::default(),
            response_body: ResponseBody::default(),
            // Bounds a VM's memory (about 0.4 KiB per argument) and time per request; a query
            // string or form of a million arguments otherwise grows the VM by ~400 MiB, which a
            // wasm VM never gives back.
            arguments_limit: 10_000,
            crs: true,
            profile: Profile::Mesh,
            packs: None,
            packs_off: Vec::new(),
            directives: Vec::new(),
            directives_after_crs: Vec::new(),
            directive_sets: BTreeMap::new(),
            per_authority: BTreeMap::new(),
            per_route: BTreeMap::new(),
            evidence: Evidence::default(),
        }
    }
}

/// Largest accepted excerpt (evidence lines stay short).
pub const MAX_EXCERPT_BYTES: usize = 4096;

impl WafConfig {
    /// The response media types whose bodies are inspected: `response_body.mime_types`, then
    /// the profile's (the mesh profile adds JSON).
    pub fn response_mime_types(&self) -> Vec<String> {
        let mut types = self.response_body.mime_types.clone();
        for t in self.profile.response_mime_types() {
            if !types.iter().any(|m| m.eq_ignore_ascii_case(t)) {
                types.push((*t).to_string());
            }
        }
        types
    }

    /// Parses and validates the plugin configuration bytes (empty = defaults).
    pub fn parse(bytes: &[u8]) -> Result<WafConfig, ConfigError> {
        let text = String::from_utf8_lossy(bytes);
        let config = if text.trim().is_empty() {
            WafConfig::default()
        } else {
            serde_json::from_str::<WafConfig>(&text).map_err(|e| ConfigError::Json {
                line: e.line(),
                column: e.column(),
                reason: e.to_string(),
            })?
        };
        config.validate()?;
        Ok(config)
    }

    /// The rule packs that load, in load order: `packs` (or the profile's default) less
    /// `packs_off`; none when CRS is off.
    pub fn effective_packs(&self) -> Vec<&'static str> {
        if !self.crs {
            return Vec::new();
        }
        let chosen = |name: &str| match &self.packs {
            Some(list) => list.iter().any(|p| p == name),
            None => self.profile.packs_by_default(),
        };
        embedded::pack_names()
            .filter(|name| chosen(name) && !self.packs_off.iter().any(|p| p == name))
            .collect()
    }

    /// The detection paranoia level in force.
    pub fn detection_paranoia(&self) -> u8 {
        self.detection_paranoia_level.unwrap_or(self.paranoia_level)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let bad = |key: &str, reason: String| {
            Err(ConfigError::Invalid {
                key: key.to_string(),
                reason,
            })
        };
        if !(1..=4).contains(&self.paranoia_level) {
            return bad(
                "paranoia_level",
                format!("{} is not a paranoia level (1..4)", self.paranoia_level),
            );
        }
        if let Some(d) = self.detection_paranoia_level {
            if !(1..=4).contains(&d) {
                return bad(
                    "detection_paranoia_level",
                    format!("{d} is not a paranoia level (1..4)"),
                );
            }
            if d < self.paranoia_level {
                return bad(
                    "detection_paranoia_level",
                    format!(
                        "{d} is below paranoia_level {} (CRS requires detection >= blocking)",
                        self.paranoia_level
                    ),
                );
            }
        }
        if self.arguments_limit == 0 {
            return bad("arguments_limit", "must be at least 1".into());
        }
        if self.inbound_anomaly_threshold == 0 {
            return bad("inbound_anomaly_threshold", "must be at least 1".into());
        }
        if self.outbound_anomaly_threshold == 0 {
            return bad("outbound_anomaly_threshold", "must be at least 1".into());
        }
        if !(200..=599).contains(&self.block_status) {
            return bad(
                "block_status",
                format!("{} is not an HTTP status between 200 and 599", self.block_status),
            );
        }
        if self.request_body.limit == 0 {
            return bad("request_body.limit", "must be at least 1 byte".into());
        }
        if self.request_body.no_files_limit == 0 {
            return bad("request_body.no_files_limit", "must be at least 1 byte".into());
        }
        if self.response_body.limit == 0 {
            return bad("response_body.limit", "must be at least 1 byte".into());
        }
        for (i, m) in self.response_body.mime_types.iter().enumerate() {
            if m.is_empty() || m.contains(|c: char| c.is_whitespace() || c == ';') || !m.contains('/') {
                return bad(
                    &format!("response_body.mime_types[{i}]"),
                    format!("{m:?} is not a MIME type"),
                );
            }
        }
        if self.evidence.excerpt_bytes > MAX_EXCERPT_BYTES {
            return bad("evidence.excerpt_bytes", format!("at most {MAX_EXCERPT_BYTES}"));
        }
        if let Some(i) = self.evidence.redact.iter().position(String::is_empty) {
            return bad(&format!("evidence.redact[{i}]"), "must not be empty".into());
        }
        if let Some(c) = &self.evidence.collector {
            if c.cluster.is_empty() {
                return bad("evidence.collector.cluster", "must name an Envoy cluster".into());
            }
            if !c.path.starts_with('/') {
                return bad("evidence.collector.path", "must start with /".into());
            }
            if c.timeout_ms == 0 {
                return bad("evidence.collector.timeout_ms", "must be at least 1".into());
            }
        }
        for (key, names) in [
            ("packs", self.packs.as_deref().unwrap_or_default()),
            ("packs_off", &self.packs_off),
        ] {
            for (i, name) in names.iter().enumerate() {
                if !embedded::pack_names().any(|p| p == name) {
                    let known: Vec<&str> = embedded::pack_names().collect();
                    return bad(
                        &format!("{key}[{i}]"),
                        format!("unknown rule pack {name:?} (known: {})", known.join(", ")),
                    );
                }
            }
        }
        for name in self.directive_sets.keys() {
            if name.is_empty() || name == "default" {
                return bad(
                    &format!("directive_sets.{name}"),
                    "set names must be non-empty and not `default`".into(),
                );
            }
        }
        for (map, entries) in [("per_authority", &self.per_authority), ("per_route", &self.per_route)] {
            for (key, set) in entries {
                if !self.directive_sets.contains_key(set) {
                    return bad(
                        &format!("{map}.{key}"),
                        format!("unknown directive set {set:?} (not in directive_sets)"),
                    );
                }
            }
        }
        for pattern in self.per_authority.keys() {
            if pattern.is_empty()
                || (pattern.contains('*') && !pattern.starts_with("*."))
                || pattern.chars().skip(1).any(|c| c == '*')
            {
                return bad(
                    &format!("per_authority.{pattern}"),
                    "an authority is a host name or `*.suffix`".into(),
                );
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_and_braces_are_the_defaults() {
        assert_eq!(WafConfig::parse(b"").unwrap(), WafConfig::default());
        assert_eq!(WafConfig::parse(b" {} ").unwrap(), WafConfig::default());
        let d = WafConfig::default();
        assert_eq!(d.mode, Mode::Detect);
        assert_eq!(d.paranoia_level, 1);
        assert!(d.crs && d.request_body.access && d.response_body.access);
        assert_eq!(
            d.evidence.log_level,
            EvidenceLevel::Warn,
            "visible at Istio's default level"
        );
    }

    #[test]
    fn full_example_parses() {
        let c = WafConfig::parse(
            br#"{"mode":"enforce","paranoia_level":2,"detection_paranoia_level":3,
                "request_body":{"limit":10,"on_limit":"process_partial"},
                "response_body":{"mime_types":["application/json"]},
                "directives":["SecRuleRemoveById 920350"],
                "directive_sets":{"admin":["SecRuleRemoveById 942100"]},
                "per_authority":{"*.example.com":"admin"},"per_route":{"r1":"admin"},
                "evidence":{"excerpt_bytes":16,"collector":{"cluster":"waf_events"}}}"#,
        )
        .unwrap();
        assert_eq!(c.mode, Mode::Enforce);
        assert_eq!(c.detection_paranoia(), 3);
        assert_eq!(c.request_body.on_limit, OnLimit::ProcessPartial);
        assert_eq!(
            c.request_body.no_files_limit, 131_072,
            "unset nested keys keep their default"
        );
        assert_eq!(c.evidence.collector.unwrap().path, "/events");
    }

    #[test]
    fn packs_default_by_profile_and_turn_off_by_name() {
        let all = ["ldap", "mail", "nosql", "path", "shell", "sqli", "ssti", "traversal"];
        assert_eq!(WafConfig::default().effective_packs(), all);
        let crs = WafConfig::parse(br#"{"profile":"crs"}"#).unwrap();
        assert!(crs.effective_packs().is_empty(), "profile crs is CRS as shipped");
        let off = WafConfig::parse(br#"{"packs_off":["ssti","mail"]}"#).unwrap();
        assert_eq!(
            off.effective_packs(),
            ["ldap", "nosql", "path", "shell", "sqli", "traversal"]
        );
        let chosen = WafConfig::parse(br#"{"profile":"crs","packs":["traversal","nosql"]}"#).unwrap();
        assert_eq!(
            chosen.effective_packs(),
            ["nosql", "traversal"],
            "load order is by name"
        );
        let none = WafConfig::parse(br#"{"packs":[]}"#).unwrap();
        assert!(none.effective_packs().is_empty());
        let no_crs = WafConfig::parse(br#"{"crs":false}"#).unwrap();
        assert!(no_crs.effective_packs().is_empty(), "packs add to CRS's scores");
    }

    #[test]
    fn errors_name_the_key_and_reason() {
        let cases: &[(&[u8], &str)] = &[
            (b"{", "line 1"),
            (br#"{"modes":"detect"}"#, "unknown field `modes`"),
            (br#"{"mode":"block"}"#, "unknown variant `block`"),
            (br#"{"paranoia_level":5}"#, "paranoia_level: 5"),
            (
                br#"{"paranoia_level":2,"detection_paranoia_level":1}"#,
                "detection_paranoia_level",
            ),
            (br#"{"request_body":{"limits":1}}"#, "unknown field `limits`"),
            (
                br#"{"per_authority":{"a.example":"nope"}}"#,
                "per_authority.a.example: unknown directive set \"nope\"",
            ),
            (br#"{"per_route":{"r":"nope"}}"#, "per_route.r"),
            (br#"{"block_status":42}"#, "block_status"),
            (
                br#"{"evidence":{"log_level":"warning"}}"#,
                "unknown variant `warning`, expected one of `trace`, `debug`, `info`, `warn`, `error`",
            ),
            (
                br#"{"evidence":{"redact":["ssn",""]}}"#,
                "evidence.redact[1]: must not be empty",
            ),
            (br#"{"response_body":{"mime_types":["text html"]}}"#, "mime_types[0]"),
            (
                br#"{"packs":["nosql","sqlx"]}"#,
                "packs[1]: unknown rule pack \"sqlx\" (known: ldap, mail, nosql, path, shell, sqli, ssti, traversal)",
            ),
            (
                br#"{"packs_off":["NoSQL"]}"#,
                "packs_off[0]: unknown rule pack \"NoSQL\"",
            ),
            (
                br#"{"per_authority":{"a.*.com":"s"},"directive_sets":{"s":[]}}"#,
                "per_authority.a.*.com",
            ),
        ];
        for (text, needle) in cases {
            let err = WafConfig::parse(text).expect_err(&String::from_utf8_lossy(text));
            assert!(err.to_string().contains(needle), "{err} should contain {needle}");
        }
    }
}
