//! The result of evaluating one request, and its JSON evidence line.

use std::borrow::Cow;
use std::net::IpAddr;

use serde::Serialize;

use crate::normalize::HostPort;

use crate::model::{Action, Mode};

/// Prefix of every decision log line.
pub const EVENT_PREFIX: &str = "meshward.policy.event ";

/// Allow or deny, as computed by one of the two evaluations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Allowed.
    Allow,
    /// Denied.
    Deny,
}

/// What happens to the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Passes; no policy would deny it.
    Allow,
    /// Blocked by an enforced decision (403).
    Deny,
    /// Passes, but the dry-run evaluation denies it.
    DryRunDeny,
    /// Path or host refused by normalization (400 when enforced).
    InvalidPath,
}

impl Verdict {
    /// The event's `decision` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Allow => "allow",
            Verdict::Deny => "deny",
            Verdict::DryRunDeny => "dry_run_deny",
            Verdict::InvalidPath => "invalid_path",
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
    /// Listener direction.
    pub direction: Option<&'static str>,
    /// Destination outside the mesh (None when no mesh section).
    pub internet: Option<bool>,
}

/// The decision on one request (borrows the engine and the request's attributes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision<'e> {
    /// What happens to the request.
    pub verdict: Verdict,
    /// HTTP status to reply with when the request is blocked (403 or 400); None when it passes.
    pub status: Option<u16>,
    /// Decision of the enforce-mode policies.
    pub effective: Outcome,
    /// Decision with every policy enforced.
    pub dry_run: Outcome,
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
}

#[derive(Serialize)]
struct Event<'a> {
    v: u8,
    policy: Option<&'a str>,
    rule: Option<usize>,
    action: Option<&'a str>,
    mode: Option<&'a str>,
    decision: &'a str,
    enforced: bool,
    effective: Outcome,
    dry_run: Outcome,
    reason: &'a str,
    principal: Option<&'a str>,
    namespace: Option<&'a str>,
    source: Option<&'a str>,
    remote_ip: Option<String>,
    destination: Option<&'a str>,
    host: Option<String>,
    method: &'a str,
    path_normalized: Option<&'a str>,
    direction: Option<&'a str>,
    internet: Option<bool>,
    audit: Vec<&'a str>,
}

impl Decision<'_> {
    /// Whether the request is blocked.
    pub fn blocked(&self) -> bool {
        self.status.is_some()
    }

    /// The one-line JSON evidence (without the log prefix).
    pub fn event_json(&self) -> String {
        let m = self.decided_by;
        let f = &self.facts;
        let e = Event {
            v: 1,
            policy: m.map(|m| m.policy),
            rule: m.map(|m| m.rule),
            action: m.map(|m| m.action.as_str()),
            mode: m.map(|m| m.mode.as_str()),
            decision: self.verdict.as_str(),
            enforced: self.blocked(),
            effective: self.effective,
            dry_run: self.dry_run,
            reason: &self.reason,
            principal: f.principal,
            namespace: f.namespace,
            source: f.source,
            remote_ip: f.remote_ip.map(|ip| ip.to_string()),
            destination: f.destination,
            host: f.host.as_ref().map(|h| match h.port {
                Some(p) => format!("{}:{p}", h.host),
                None => h.host.clone(),
            }),
            method: &f.method,
            path_normalized: f.path_normalized.as_deref(),
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
