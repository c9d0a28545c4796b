//! What the filter does with a decision: log level, counters to bump, local reply.

use meshward_abi::LogLevel;
use meshward_policy::{Decision, Verdict};

/// Body of the 403 reply (names no policy, rule or reason).
pub const DENY_BODY: &str = "access denied\n";
/// Body of the 400 reply for a refused path or host.
pub const INVALID_BODY: &str = "bad request\n";

/// Global counter names.
pub const ALLOWED: &str = "meshward_policy.allowed";
/// Requests blocked by an enforced deny.
pub const DENIED: &str = "meshward_policy.denied";
/// Requests that passed but the dry-run evaluation denies.
pub const DRY_RUN_DENIED: &str = "meshward_policy.dry_run_denied";
/// Matching AUDIT policies (one per policy per request).
pub const AUDITED: &str = "meshward_policy.audited";
/// Requests whose path or host normalization refused (enforced or not).
pub const INVALID_PATH: &str = "meshward_policy.invalid_path";

/// Per-policy counter kinds.
pub const POLICY_KINDS: [&str; 4] = ["allowed", "denied", "dry_run_denied", "audited"];

/// Name of a per-policy counter.
pub fn policy_metric(policy: &str, kind: &str) -> String {
    format!("meshward_policy.policy.{policy}.{kind}")
}

/// Every counter name the filter defines for these policies.
pub fn metric_names<'a>(policies: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut names: Vec<String> = [ALLOWED, DENIED, DRY_RUN_DENIED, AUDITED, INVALID_PATH]
        .iter()
        .map(|s| s.to_string())
        .collect();
    for p in policies {
        names.extend(POLICY_KINDS.iter().map(|k| policy_metric(p, k)));
    }
    names
}

/// The filter's actions for one decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Level of the event line: debug for plain allows, info for allows with audit matches,
    /// warn for denies, dry-run denies and refused paths.
    pub level: LogLevel,
    /// The event line (prefix + JSON).
    pub line: String,
    /// Counters to increment by one.
    pub counters: Vec<String>,
    /// Local reply (status, body) when the request is blocked.
    pub reply: Option<(u16, &'static str)>,
}

/// Turns a decision into log, counters and reply.
pub fn plan(d: &Decision<'_>) -> Plan {
    let mut counters = Vec::new();
    match d.verdict {
        Verdict::Allow => {
            counters.push(ALLOWED.to_string());
            if let Some(m) = d.allowed_by {
                counters.push(policy_metric(m.policy, "allowed"));
            }
        }
        Verdict::Deny => {
            counters.push(DENIED.to_string());
            if let Some(m) = d.decided_by {
                counters.push(policy_metric(m.policy, "denied"));
            }
        }
        Verdict::DryRunDeny => {
            counters.push(DRY_RUN_DENIED.to_string());
            if let Some(m) = d.decided_by {
                counters.push(policy_metric(m.policy, "dry_run_denied"));
            }
        }
        Verdict::InvalidPath => counters.push(DENIED.to_string()),
    }
    if d.decided_by.is_none() && d.facts.path_normalized.is_none() {
        counters.push(INVALID_PATH.to_string());
    }
    for a in &d.audits {
        counters.push(AUDITED.to_string());
        counters.push(policy_metric(a.policy, "audited"));
    }
    let level = match d.verdict {
        Verdict::Allow if d.audits.is_empty() => LogLevel::Debug,
        Verdict::Allow => LogLevel::Info,
        _ => LogLevel::Warn,
    };
    let reply = d.status.map(|s| {
        (
            s,
            if s == meshward_policy::INVALID_STATUS {
                INVALID_BODY
            } else {
                DENY_BODY
            },
        )
    });
    Plan {
        level,
        line: d.event_line(),
        counters,
        reply,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use meshward_policy::{Engine, Request};

    fn decide(doc: &str, path: &str) -> Plan {
        let e = Engine::from_text(doc).unwrap();
        let d = e.decide(&Request {
            method: "GET",
            path,
            authority: "a.example",
            ..Request::default()
        });
        plan(&d)
    }

    #[test]
    fn deny_counts_and_replies_403() {
        let p = decide(
            "mode: enforce\npolicies: [{name: d, action: DENY, rules: [{to: [{paths: ['/x']}]}]}]",
            "/x",
        );
        assert_eq!(p.reply, Some((403, DENY_BODY)));
        assert_eq!(p.counters, vec![DENIED, "meshward_policy.policy.d.denied"]);
        assert_eq!(p.level, LogLevel::Warn);
        assert!(p.line.starts_with("meshward.policy.event {"));
    }

    #[test]
    fn dry_run_and_invalid_path() {
        let p = decide(
            "policies: [{name: d, action: DENY, rules: [{to: [{paths: ['/x']}]}]}]",
            "/x",
        );
        assert_eq!(p.reply, None);
        assert_eq!(
            p.counters,
            vec![DRY_RUN_DENIED, "meshward_policy.policy.d.dry_run_denied"]
        );
        let p = decide("mode: enforce", "/a%2fb");
        assert_eq!(p.reply, Some((400, INVALID_BODY)));
        assert_eq!(p.counters, vec![DENIED, INVALID_PATH]);
        let p = decide("mode: dry-run", "/a%2fb");
        assert_eq!(p.reply, None);
        assert_eq!(p.counters, vec![DRY_RUN_DENIED, INVALID_PATH]);
    }

    #[test]
    fn allow_with_audit() {
        let p = decide(
            "policies: [{name: a, action: AUDIT, rules: [{}]}, {name: ok, action: ALLOW, rules: [{}]}]",
            "/",
        );
        assert_eq!(p.reply, None);
        assert_eq!(p.level, LogLevel::Info);
        assert_eq!(
            p.counters,
            vec![
                ALLOWED,
                "meshward_policy.policy.ok.allowed",
                AUDITED,
                "meshward_policy.policy.a.audited"
            ]
        );
        assert_eq!(metric_names(["a"].into_iter()).len(), 9);
    }
}
