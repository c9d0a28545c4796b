//! The policy document as written (serde model of rules/policy/README.md).

use std::collections::BTreeMap;

use meshward_vocab::{EvidenceLevel, WrittenMode};
use serde::{Deserialize, Serialize};

/// Posture when no ALLOW policy applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum Posture {
    /// Istio's default: allow.
    #[default]
    Allow,
    /// Default-deny.
    Deny,
}

/// What a policy does when it matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "UPPERCASE")]
pub enum Action {
    /// Allow matching requests (and deny the rest once any ALLOW policy exists).
    Allow,
    /// Deny matching requests.
    Deny,
    /// Record matching requests without changing the decision.
    Audit,
}

impl Action {
    /// The name used in documents and events.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Allow => "ALLOW",
            Action::Deny => "DENY",
            Action::Audit => "AUDIT",
        }
    }
}

/// Traffic direction of the listener the filter runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Inbound (server sidecar).
    Ingress,
    /// Outbound (client sidecar).
    Egress,
}

impl Direction {
    /// The name used in documents and events.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Ingress => "ingress",
            Direction::Egress => "egress",
        }
    }
}

/// Handling of `%2F` and `%5C` in paths.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum EncodedSlash {
    /// Reject the request (default).
    #[default]
    Reject,
    /// Keep the escape as is (hex uppercased).
    Keep,
    /// Decode to `/` (or `\`, then handled by [`Backslash`]).
    Decode,
}

/// Handling of a literal `\` in paths.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum Backslash {
    /// Reject the request (default).
    #[default]
    Reject,
    /// Keep it as an ordinary character.
    Keep,
    /// Turn it into `/`.
    Slash,
}

/// Which backends the policy must hold against: how loosely the application behind the filter
/// may read a path (see rules/policy/README.md, "Backend readings").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// Common frameworks (default): a path is also decided as Tomcat/Spring, IIS, Express,
    /// Go and Python applications may read it (double decoding, path parameters, Unicode
    /// folding, trimmed segments, network-path references, case folding), and
    /// the most restrictive decision wins.
    #[default]
    Common,
    /// A backend that reads paths exactly as RFC 3986 (the canonical path is the only reading).
    Strict,
}

fn yes() -> bool {
    true
}

/// Path normalization settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Normalization {
    /// `%2F` / `%5C` handling.
    #[serde(default)]
    pub encoded_slash: EncodedSlash,
    /// Literal backslash handling.
    #[serde(default)]
    pub backslash: Backslash,
    /// Merge runs of `/`.
    #[serde(default = "yes")]
    pub merge_slashes: bool,
    /// How loosely the application may read a path (`common` unless set).
    #[serde(default)]
    pub backend: Backend,
}

impl Default for Normalization {
    fn default() -> Self {
        Normalization {
            encoded_slash: EncodedSlash::Reject,
            backslash: Backslash::Reject,
            merge_slashes: true,
            backend: Backend::Common,
        }
    }
}

/// What counts as inside the mesh.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Mesh {
    /// Mesh address ranges.
    #[serde(default)]
    pub cidrs: Vec<String>,
    /// Mesh DNS suffixes (`.svc.cluster.local`) or exact names.
    #[serde(default)]
    pub domains: Vec<String>,
    /// Trust domains of the mesh (informational, checked for syntax).
    #[serde(default)]
    pub trust_domains: Vec<String>,
}

/// A whole policy document (the filter's configuration).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct PolicyDocument {
    /// Filter-wide default mode (`detect` unless set), as written: a deprecated word is
    /// accepted and reported.
    #[serde(default)]
    pub mode: WrittenMode,
    /// Posture when no ALLOW policy applies.
    #[serde(default)]
    pub default: Posture,
    /// Listener direction when Envoy does not say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direction: Option<Direction>,
    /// Mesh boundaries for Internet classification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mesh: Option<Mesh>,
    /// Proxies in front that append to X-Forwarded-For and are trusted.
    #[serde(default)]
    pub trusted_proxy_hops: u32,
    /// Path normalization settings.
    #[serde(default)]
    pub normalization: Normalization,
    /// The policies.
    #[serde(default)]
    pub policies: Vec<Policy>,
    /// How decision events are logged.
    #[serde(default, skip_serializing_if = "Evidence::is_default")]
    pub evidence: Evidence,
    /// Observation of who calls what (aggregated events for learning a policy); on unless
    /// disabled.
    #[serde(default, skip_serializing_if = "Observe::is_default")]
    pub observe: Observe,
    /// Behaviour analytics (per-entity anomaly detectors over a table shared by the proxy's
    /// VMs); on, every detector in detect mode, unless disabled.
    #[serde(default, skip_serializing_if = "Analytics::is_default")]
    pub analytics: Analytics,
}

/// Behaviour analytics settings: where the filter finds each entity, and the engine's own
/// configuration (docs/analytics.md).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Analytics {
    /// Run the detectors (each alerts, or in its enforce mode also refuses, on its own).
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Request header naming the end user when no verified JWT `sub` does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_header: Option<String>,
    /// Cookie naming the end user when neither a verified JWT `sub` nor `user_header` does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_cookie: Option<String>,
    /// Request header carrying the username a login attempt names; else the user of HTTP
    /// Basic authentication. Read on `brute_force.endpoints` only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username_header: Option<String>,
    /// The protected workload's name (the entity of `new_caller` and `new_egress`); those two
    /// detectors have nothing to watch without it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workload: Option<String>,
    /// Table slots each VM's tick sweeps (decay and expiry of idle records), 1..=100000.
    #[serde(default = "Analytics::default_sweep_slots")]
    pub sweep_slots: u32,
    /// The engine: `slots`, `key` (32 hex digits; empty: one random key per proxy, made by the
    /// first VM to configure), `max_retries`, `idle_secs` and each detector's settings.
    #[serde(default)]
    pub engine: meshward_analytics::Config,
}

impl Analytics {
    /// Largest `sweep_slots`: each visited slot is a shared-data read on the tick.
    pub const MAX_SWEEP_SLOTS: u32 = 100_000;

    fn default_sweep_slots() -> u32 {
        1000
    }

    /// Whether nothing is set (a document written out leaves it out).
    pub fn is_default(&self) -> bool {
        *self == Analytics::default()
    }
}

impl Default for Analytics {
    fn default() -> Self {
        Analytics {
            enabled: true,
            user_header: None,
            user_cookie: None,
            username_header: None,
            workload: None,
            sweep_slots: Analytics::default_sweep_slots(),
            engine: meshward_analytics::Config::default(),
        }
    }
}

/// Observation settings: each VM aggregates the requests it sees per caller and call and logs
/// one `meshward.policy.observation` line per key every `interval_seconds`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Observe {
    /// Record observation events (in every mode).
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Length of an observation window, in seconds (1..=86400): each VM logs its lines when a
    /// window ends.
    #[serde(default = "Observe::default_interval")]
    pub interval_seconds: u32,
    /// Keys a VM keeps per window (1..=100000); requests beyond are folded into one
    /// `"overflow": true` line.
    #[serde(default = "Observe::default_max_keys")]
    pub max_keys: u32,
}

impl Observe {
    /// Largest `interval_seconds`: a day.
    pub const MAX_INTERVAL_SECONDS: u32 = 86_400;
    /// Largest `max_keys`: bounds a VM's table (a key holds a few hundred bytes).
    pub const MAX_KEYS: u32 = 100_000;

    fn default_interval() -> u32 {
        60
    }

    fn default_max_keys() -> u32 {
        1000
    }

    /// Whether nothing is set (a document written out leaves it out).
    pub fn is_default(&self) -> bool {
        *self == Observe::default()
    }
}

impl Default for Observe {
    fn default() -> Self {
        Observe {
            enabled: true,
            interval_seconds: Observe::default_interval(),
            max_keys: Observe::default_max_keys(),
        }
    }
}

/// Evidence output settings of the policy filter.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Evidence {
    /// Proxy log level of the decision events (except plain allows, always `debug`) and of the
    /// load line: `trace`, `debug`, `info`, `warn` (default: visible at Istio's `warning`) or
    /// `error`.
    #[serde(default)]
    pub log_level: EvidenceLevel,
    /// Names whose values are redacted, on top of the built-in list (matched case-insensitively,
    /// by containment, like `password` or `token`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub redact: Vec<String>,
}

impl Evidence {
    /// Whether nothing is set (a document written out, e.g. by `import-istio`, leaves it out).
    pub fn is_default(&self) -> bool {
        *self == Evidence::default()
    }
}

/// One named policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Unique name, used in events and metrics.
    pub name: String,
    /// What the policy does.
    pub action: Action,
    /// Per-policy mode (else the document's), as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<WrittenMode>,
    /// Rules; the policy matches when any rule matches.
    #[serde(default)]
    pub rules: Vec<Rule>,
}

/// One rule: any `from`, any `to`, all `when`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Sources (any matches; none = any source).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub from: Vec<Source>,
    /// Operations (any matches; none = any operation).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub to: Vec<Operation>,
    /// Conditions (all must hold).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub when: Vec<Condition>,
}

/// Who is calling.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Source {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// SPIFFE principals.
    pub principals: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Principals that must not match.
    pub not_principals: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Namespaces of the caller.
    pub namespaces: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Namespaces that must not match.
    pub not_namespaces: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// `ns/sa` service accounts.
    pub service_accounts: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Service accounts that must not match.
    pub not_service_accounts: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Trust domains of the caller.
    pub trust_domains: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Trust domains that must not match.
    pub not_trust_domains: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Direct peer address blocks.
    pub ip_blocks: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Direct peer blocks that must not match.
    pub not_ip_blocks: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// JWT request principals `<iss>/<sub>` (from the verified token).
    pub request_principals: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Request principals that must not match.
    pub not_request_principals: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Client (X-Forwarded-For) address blocks.
    pub remote_ip_blocks: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Client blocks that must not match.
    pub not_remote_ip_blocks: Option<Vec<String>>,
}

/// A port written as a number or a string.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(untagged)]
pub enum PortValue {
    /// `8080`
    Number(u64),
    /// `"8080"`
    Text(String),
}

/// What is being called.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Operation {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Hosts (authority), case-insensitive, port-aware.
    pub hosts: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Hosts that must not match.
    pub not_hosts: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Destination ports.
    pub ports: Option<Vec<PortValue>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Ports that must not match.
    pub not_ports: Option<Vec<PortValue>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// HTTP methods.
    pub methods: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Methods that must not match.
    pub not_methods: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Paths: exact, `prefix*`, `*suffix`, `*`, `{*}`/`{**}` templates.
    pub paths: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Paths that must not match.
    pub not_paths: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Path regexes (search semantics).
    pub path_regex: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Path regexes that must not match.
    pub not_path_regex: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Header matchers by name.
    pub headers: Option<BTreeMap<String, HeaderMatch>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Header matchers that must not hold.
    pub not_headers: Option<BTreeMap<String, HeaderMatch>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// TLS SNI values.
    pub sni: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// SNI values that must not match.
    pub not_sni: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Listener direction.
    pub direction: Option<Direction>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Destination is outside the mesh.
    pub internet: Option<bool>,
}

/// One header matcher (exactly one field set).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct HeaderMatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Value equals.
    pub exact: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Value starts with.
    pub prefix: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Value ends with.
    pub suffix: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Value contains.
    pub contains: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Value matches the regex (search).
    pub regex: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Header present (true) or absent (false).
    pub present: Option<bool>,
}

/// A `when` condition on a request property.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Condition {
    /// Property key, e.g. `request.headers[x-tenant]`.
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// The property must match one of these.
    pub values: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// The property must match none of these.
    pub not_values: Option<Vec<String>>,
}
