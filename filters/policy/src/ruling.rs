//! The ruling on one request (its decision, why, and the facts it was made on) and its JSON
//! evidence line.

use std::borrow::Cow;
use std::net::IpAddr;

use meshward_redact::Redactor;
use meshward_vocab::{Decision, Filter, Mode};
use serde::Serialize;

use crate::model::Action;
use crate::normalize::HostPort;

/// Prefix of every decision log line.
pub const EVENT_PREFIX: &str = Filter::Policy.event_prefix();

/// Allow or block, as computed by one of the two evaluations; written as the decision words
/// `allow` / `block`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(into = "Decision")]
pub enum Outcome {
    /// Allowed.
    Allow,
    /// Blocked.
    Block,
}

impl From<Outcome> for Decision {
    fn from(o: Outcome) -> Decision {
        match o {
            Outcome::Allow => Decision::Allow,
            Outcome::Block => Decision::Block,
        }
    }
}

/// The policy and rule behind a decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Matched<'e> {
    /// Policy name.
    pub policy: &'e str,
    /// Rule index in the policy.
    pub rule: usize,
    /// The policy's action.
    pub action: Action,
    /// The policy's effective mode.
    pub mode: Mode,
}

/// Request facts, as normalized, for the evidence line (borrowed from the request where possible).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts<'a> {
    /// The peer's SPIFFE ID (`spiffe://...`) when authenticated.
    pub principal: Option<&'a str>,
    /// Caller namespace when authenticated.
    pub namespace: Option<&'a str>,
    /// `<iss>/<sub>` of the verified JWT, when there is one.
    pub request_principal: Option<String>,
    /// Peer `ip:port`.
    pub source: Option<&'a str>,
    /// Client IP from X-Forwarded-For (or the peer).
    pub remote_ip: Option<IpAddr>,
    /// Destination `ip:port`.
    pub destination: Option<&'a str>,
    /// Normalized host.
    pub host: Option<HostPort>,
    /// Uppercased method.
    pub method: String,
    /// Canonical path (None when refused).
    pub path_normalized: Option<String>,
    /// The loose backend reading the decision was made on, when it was not the canonical
    /// path (`crate::reading::Reading::as_str`).
    pub path_reading: Option<&'static str>,
    /// The path as that reading sees it (normalized; the raw rewrite when it was refused).
    pub path_read_as: Option<String>,
    /// Listener direction.
    pub direction: Option<&'static str>,
    /// Destination outside the mesh (None when no mesh section).
    pub internet: Option<bool>,
}

/// The ruling on one request (borrows the engine and the request's attributes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ruling<'e> {
    /// What happens to the request: `allow`, `block` (403), `would_block` (detect mode; also a
    /// path or host normalization refuses in detect mode) or `refused` (400: the path or host
    /// cannot be normalized, enforce mode).
    pub decision: Decision,
    /// HTTP status to reply with when the request is stopped (403 or 400); None when it passes.
    pub status: Option<u16>,
    /// Outcome of the enforce-mode policies.
    pub effective: Outcome,
    /// Outcome with every policy enforced (detect-mode ones too).
    pub all_enforced: Outcome,
    /// The policy behind the verdict (None for posture / no-ALLOW-matched / invalid path).
    pub decided_by: Option<Matched<'e>>,
    /// Why, in a few words.
    pub reason: Cow<'static, str>,
    /// Every matching AUDIT policy.
    pub audits: Vec<Matched<'e>>,
    /// The ALLOW policy that allowed the request (enforce first), for per-policy counters.
    pub allowed_by: Option<Matched<'e>>,
    /// Normalized request facts.
    pub facts: Facts<'e>,
    /// The sensitive names whose values the event must not carry (the engine's).
    pub redactor: &'e Redactor,
}

#[derive(Serialize)]
struct Event<'a> {
    v: u8,
    policy: Option<&'a str>,
    rule: Option<usize>,
    action: Option<&'a str>,
    mode: Option<Mode>,
    decision: Decision,
    enforced: bool,
    effective: Outcome,
    all_enforced: Outcome,
    reason: &'a str,
    principal: Option<&'a str>,
    namespace: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    request_principal: Option<&'a str>,
    source: Option<&'a str>,
    remote_ip: Option<String>,
    destination: Option<&'a str>,
    host: Option<String>,
    method: &'a str,
    path_normalized: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    path_reading: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    path_read_as: Option<Cow<'a, str>>,
    direction: Option<&'a str>,
    internet: Option<bool>,
    audit: Vec<&'a str>,
}

impl Ruling<'_> {
    /// Whether the request is stopped (`block` or `refused`).
    pub fn stops(&self) -> bool {
        self.status.is_some()
    }

    /// The one-line JSON evidence (without the log prefix). The fields that carry request text,
    /// the normalized path and the path as a loose backend reads it, are redacted
    /// (`;jsessionid=...` path parameters); the query is never in it.
    pub fn event_json(&self) -> String {
        let m = self.decided_by;
        let f = &self.facts;
        let e = Event {
            v: 1,
            policy: m.map(|m| m.policy),
            rule: m.map(|m| m.rule),
            action: m.map(|m| m.action.as_str()),
            mode: m.map(|m| m.mode),
            decision: self.decision,
            enforced: self.stops(),
            effective: self.effective,
            all_enforced: self.all_enforced,
            reason: &self.reason,
            principal: f.principal,
            namespace: f.namespace,
            request_principal: f.request_principal.as_deref(),
            source: f.source,
            remote_ip: f.remote_ip.map(|ip| ip.to_string()),
            destination: f.destination,
            host: f.host.as_ref().map(|h| match h.port {
                Some(p) => format!("{}:{p}", h.host),
                None => h.host.clone(),
            }),
            method: &f.method,
            path_normalized: f.path_normalized.as_deref().map(|p| self.redactor.text(p)),
            path_reading: f.path_reading,
            path_read_as: f.path_read_as.as_deref().map(|p| self.redactor.text(p)),
            direction: f.direction,
            internet: f.internet,
            audit: self.audits.iter().map(|a| a.policy).collect(),
        };
        // Serializing plain strings, numbers and options cannot fail.
        serde_json::to_string(&e).unwrap_or_default()
    }

    /// The whole log line: prefix and JSON.
    pub fn event_line(&self) -> String {
        format!("{EVENT_PREFIX}{}", self.event_json())
    }
}
