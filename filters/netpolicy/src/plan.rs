//! What the filter does with a ruling: log level, counters to bump, local reply; and what it
//! logs at configure time.
//!
//! Counters (all `meshward_policy.*`): each request bumps **exactly one** of `allowed`,
//! `blocked`, `would_block` or `refused` (the names of its decision); besides that,
//! `invalid_path` when normalization refused its path or host (whatever the mode: a cause, not
//! a decision), `ambiguous_path` when a loose backend reading of the path decided (a cause too),
//! and `audited` once per matching AUDIT policy. Per policy
//! (`meshward_policy.policy.<name>.*`): the policy that decided gets `allowed` (the ALLOW
//! policy that allowed it), `blocked` or `would_block`; each matching AUDIT policy gets
//! `audited`. `refused` has no per-policy counter: no policy decides it.
//! `observation_overflow` counts the requests an observation window folded into its overflow
//! line (`observe.max_keys` reached); the observation helpers below decode what the end of a
//! stream tells (status, sizes, duration) for `meshward_policy::observe`.

// The request path: a panic here traps the VM and fails every request it serves.
#![warn(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use meshward_abi::LogLevel;
use meshward_policy::{Engine, Ruling};
use meshward_vocab::{Decision, EvidenceLevel, Filter};

/// Body of the 403 reply (names no policy, rule or reason).
pub const DENY_BODY: &str = "access denied\n";
/// Body of the 400 reply for a refused path or host.
pub const INVALID_BODY: &str = "bad request\n";

/// Matching AUDIT policies (one per policy per request).
pub const AUDITED: &str = "audited";
/// Requests whose path or host normalization refused (enforced or not).
pub const INVALID_PATH: &str = "invalid_path";

/// Requests decided on the path as a loose backend reads it (`Facts::path_reading`).
pub const AMBIGUOUS_PATH: &str = "ambiguous_path";

/// Requests folded into an observation window's overflow line (`observe.max_keys` reached).
pub const OBSERVATION_OVERFLOW: &str = "observation_overflow";

/// Decisions a policy can make, which each have a per-policy counter.
const POLICY_DECISIONS: [Decision; 3] = [Decision::Allow, Decision::Block, Decision::WouldBlock];

/// Full name of a global counter, e.g. `meshward_policy.blocked`.
pub fn metric(name: &str) -> String {
    Filter::Policy.metric(name)
}

/// Name of a per-policy counter.
pub fn policy_metric(policy: &str, kind: &str) -> String {
    Filter::Policy.metric(format_args!("policy.{policy}.{kind}"))
}

/// Every counter name the filter defines for these policies.
pub fn metric_names<'a>(policies: impl Iterator<Item = &'a str>) -> Vec<String> {
    let global = Decision::ALL.map(Decision::counter).into_iter().chain([
        AUDITED,
        INVALID_PATH,
        AMBIGUOUS_PATH,
        OBSERVATION_OVERFLOW,
    ]);
    let mut names: Vec<String> = global.map(metric).collect();
    for p in policies {
        let kinds = POLICY_DECISIONS.map(Decision::counter).into_iter().chain([AUDITED]);
        names.extend(kinds.map(|k| policy_metric(p, k)));
    }
    names
}

/// The lines `on_configure` logs once the policy compiled: one warning per deprecated word,
/// then what was configured (at the evidence level, so a default Istio sidecar shows it).
pub fn configured_lines(engine: &Engine) -> Vec<(LogLevel, String)> {
    let warnings = engine
        .deprecations()
        .iter()
        .map(|d| (LogLevel::Warn, Filter::Policy.message(d)));
    let summary = Filter::Policy.message(format_args!(
        "configured {} policies ({} clauses), mode {}",
        engine.policy_count(),
        engine.clause_count(),
        engine.mode()
    ));
    warnings
        .chain([(engine.evidence_level().log_level(), summary)])
        .collect()
}

/// An integer attribute as Envoy serializes it (`response.code`, `request.size`,
/// `request.duration` in ns: int64 little-endian); `None` when absent or malformed.
pub fn int_attribute(bytes: Option<&[u8]>) -> Option<i64> {
    let b: [u8; 8] = bytes?.get(..8)?.try_into().ok()?;
    Some(i64::from_le_bytes(b))
}

/// The response status from `response.code`: `None` when no response was sent (absent, or 0
/// as Envoy reports a stream reset before any response).
pub fn response_status(code: Option<i64>) -> Option<u16> {
    code.and_then(|c| u16::try_from(c).ok()).filter(|c| *c != 0)
}

/// The request's latency in milliseconds: Envoy's `request.duration` (ns) when it has one, else
/// the time since the filter saw the request headers (`started`, ns).
pub fn latency_ms(duration_ns: Option<i64>, started: Option<u64>, now: Option<u64>) -> u64 {
    let ns = match duration_ns.and_then(|d| u64::try_from(d).ok()) {
        Some(d) => d,
        None => match (started, now) {
            (Some(s), Some(n)) => n.saturating_sub(s),
            _ => 0,
        },
    };
    ns / 1_000_000
}

/// A byte count attribute (`request.size`, `response.size`); 0 when absent or negative.
pub fn byte_count(size: Option<i64>) -> u64 {
    size.and_then(|s| u64::try_from(s).ok()).unwrap_or(0)
}

/// The lines an observation flush logs, at the evidence level (as the decision events that
/// are not plain allows: a sidecar at Istio's `warning` shows them).
pub fn observation_lines(lines: Vec<String>, evidence: EvidenceLevel) -> Vec<(LogLevel, String)> {
    let level = evidence.log_level();
    lines.into_iter().map(|l| (level, l)).collect()
}

/// The filter's actions for one ruling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Level of the event line: debug for plain allows (every request has one), the evidence
    /// level (`evidence.log_level`, warn by default) for every other event.
    pub level: LogLevel,
    /// The event line (prefix + JSON).
    pub line: String,
    /// Counters to increment by one.
    pub counters: Vec<String>,
    /// Local reply (status, body) when the request is stopped.
    pub reply: Option<(u16, &'static str)>,
}

/// Turns a ruling into log, counters and reply; `evidence` is the level of its event unless it
/// is a plain allow.
pub fn plan(r: &Ruling<'_>, evidence: EvidenceLevel) -> Plan {
    let mut counters = vec![metric(r.decision.counter())];
    let by = match r.decision {
        Decision::Allow => r.allowed_by,
        Decision::Block | Decision::WouldBlock => r.decided_by,
        Decision::Refused => None,
    };
    counters.extend(by.map(|m| policy_metric(m.policy, r.decision.counter())));
    if r.decided_by.is_none() && r.facts.path_normalized.is_none() {
        counters.push(metric(INVALID_PATH));
    }
    if r.facts.path_reading.is_some() {
        counters.push(metric(AMBIGUOUS_PATH));
    }
    for a in &r.audits {
        counters.push(metric(AUDITED));
        counters.push(policy_metric(a.policy, AUDITED));
    }
    let level = match r.decision {
        Decision::Allow if r.audits.is_empty() => LogLevel::Debug,
        _ => evidence.log_level(),
    };
    let reply = r.status.map(|s| {
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
        line: r.event_line(),
        counters,
        reply,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use meshward_policy::Request;

    fn decide(doc: &str, path: &str) -> Plan {
        let e = Engine::from_text(doc).unwrap();
        let r = e.decide(&Request {
            method: "GET",
            path,
            authority: "a.example",
            ..Request::default()
        });
        plan(&r, e.evidence_level())
    }

    const DENY_X: &str = "policies: [{name: d, action: DENY, rules: [{to: [{paths: ['/x']}]}]}]";

    #[test]
    fn block_counts_and_replies_403() {
        let p = decide(&format!("mode: enforce\n{DENY_X}"), "/x");
        assert_eq!(p.reply, Some((403, DENY_BODY)));
        assert_eq!(
            p.counters,
            vec!["meshward_policy.blocked", "meshward_policy.policy.d.blocked"]
        );
        assert_eq!(p.level, LogLevel::Warn);
        assert!(p.line.starts_with("meshward.policy.event {"));
        assert!(p.line.contains(r#""decision":"block""#), "{}", p.line);
    }

    #[test]
    fn detect_and_invalid_path() {
        let p = decide(DENY_X, "/x");
        assert_eq!(p.reply, None);
        assert_eq!(
            p.counters,
            vec!["meshward_policy.would_block", "meshward_policy.policy.d.would_block"]
        );
        let p = decide("mode: enforce", "/a%2fb");
        assert_eq!(p.reply, Some((400, INVALID_BODY)));
        assert_eq!(
            p.counters,
            vec!["meshward_policy.refused", "meshward_policy.invalid_path"]
        );
        assert!(p.line.contains(r#""decision":"refused""#), "{}", p.line);
        let p = decide("mode: detect", "/a%2fb");
        assert_eq!(p.reply, None);
        assert_eq!(
            p.counters,
            vec!["meshward_policy.would_block", "meshward_policy.invalid_path"]
        );
        assert!(p.line.contains(r#""decision":"would_block""#), "{}", p.line);
    }

    #[test]
    fn a_loose_reading_that_decides_is_counted_and_named() {
        let p = decide(&format!("mode: enforce\n{DENY_X}"), "/x;jsessionid=1");
        assert_eq!(p.reply, Some((403, DENY_BODY)));
        assert_eq!(
            p.counters,
            vec![
                "meshward_policy.blocked",
                "meshward_policy.policy.d.blocked",
                "meshward_policy.ambiguous_path"
            ]
        );
        assert!(p.line.contains(r#""path_reading":"path_parameters""#), "{}", p.line);
        assert!(p.line.contains(r#""path_read_as":"/x""#), "{}", p.line);
        // A reading that cannot be normalized is a refusal, counted as both causes.
        let p = decide("mode: enforce", "/a%252fb");
        assert_eq!(p.reply, Some((400, INVALID_BODY)));
        assert_eq!(
            p.counters,
            vec![
                "meshward_policy.refused",
                "meshward_policy.invalid_path",
                "meshward_policy.ambiguous_path"
            ]
        );
        // Strict backends: the canonical path only.
        let p = decide(
            &format!("mode: enforce\nnormalization: {{backend: strict}}\n{DENY_X}"),
            "/x;jsessionid=1",
        );
        assert_eq!(p.reply, None);
    }

    #[test]
    fn allow_with_audit() {
        let p = decide(
            "policies: [{name: a, action: AUDIT, rules: [{}]}, {name: ok, action: ALLOW, rules: [{}]}]",
            "/",
        );
        assert_eq!(p.reply, None);
        assert_eq!(p.level, LogLevel::Warn, "an audit match is evidence");
        assert_eq!(
            p.counters,
            vec![
                "meshward_policy.allowed",
                "meshward_policy.policy.ok.allowed",
                "meshward_policy.audited",
                "meshward_policy.policy.a.audited"
            ]
        );
        assert_eq!(
            metric_names(["a"].into_iter()),
            [
                "meshward_policy.allowed",
                "meshward_policy.blocked",
                "meshward_policy.would_block",
                "meshward_policy.refused",
                "meshward_policy.audited",
                "meshward_policy.invalid_path",
                "meshward_policy.ambiguous_path",
                "meshward_policy.observation_overflow",
                "meshward_policy.policy.a.allowed",
                "meshward_policy.policy.a.blocked",
                "meshward_policy.policy.a.would_block",
                "meshward_policy.policy.a.audited",
            ]
        );
    }

    #[test]
    fn evidence_level_is_configurable_and_plain_allows_stay_debug() {
        assert_eq!(decide("", "/").level, LogLevel::Debug);
        for (word, level) in [
            ("trace", LogLevel::Trace),
            ("debug", LogLevel::Debug),
            ("info", LogLevel::Info),
            ("warn", LogLevel::Warn),
            ("error", LogLevel::Error),
        ] {
            let doc = format!("evidence: {{log_level: {word}}}\n{DENY_X}");
            assert_eq!(decide(&doc, "/x").level, level, "{word}");
            assert_eq!(decide(&doc, "/y").level, LogLevel::Debug, "{word}");
            let lines = configured_lines(&Engine::from_text(&doc).unwrap());
            assert_eq!(lines.last().map(|l| l.0), Some(level), "{word}");
        }
        let err = Engine::from_text("evidence: {log_level: warning}")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("unknown variant `warning`, expected one of `trace`, `debug`, `info`, `warn`, `error`"),
            "{err}"
        );
        let err = Engine::from_text("evidence: {redact: ['']}").unwrap_err().to_string();
        assert!(
            err.contains("evidence.redact[0]") && err.contains("must not be empty"),
            "{err}"
        );
    }

    #[test]
    fn path_parameters_are_redacted_in_the_event() {
        let p = decide(DENY_X, "/x;jsessionid=ABC123?password=hunter2");
        assert!(!p.line.contains("ABC123") && !p.line.contains("hunter2"), "{}", p.line);
        let e = Engine::from_text(&format!("evidence: {{redact: [tenant]}}\n{DENY_X}")).unwrap();
        let r = e.decide(&Request {
            method: "GET",
            path: "/y;tenant=acme",
            ..Request::default()
        });
        assert!(
            r.event_json().contains(r#""path_normalized":"/y;tenant=[redacted]""#),
            "{}",
            r.event_json()
        );
    }

    #[test]
    fn each_request_bumps_exactly_one_decision_counter() {
        let decision_counters: Vec<String> = Decision::ALL.iter().map(|d| metric(d.counter())).collect();
        let mixed = "policies:\n  - {name: d, action: DENY, rules: [{to: [{paths: ['/x']}]}]}\n  \
                     - {name: a, action: AUDIT, rules: [{}]}\n  - {name: ok, action: ALLOW, rules: [{}]}";
        let cases = [
            ("", "/", Decision::Allow),
            (mixed, "/y", Decision::Allow),
            (mixed, "/x", Decision::WouldBlock),
            (DENY_X, "/x", Decision::WouldBlock),
            ("mode: detect", "/a%2fb", Decision::WouldBlock),
            ("mode: enforce\ndefault: deny", "/", Decision::Block),
            ("mode: enforce\ndefault: deny", "/a%2fb", Decision::Refused),
        ];
        let mut seen = Vec::new();
        for (doc, path, want) in cases {
            let p = decide(doc, path);
            let bumped: Vec<&String> = p.counters.iter().filter(|c| decision_counters.contains(c)).collect();
            assert_eq!(bumped, [&metric(want.counter())], "{doc:?} {path}: {:?}", p.counters);
            seen.push(want);
        }
        for d in Decision::ALL {
            assert!(seen.contains(&d), "the cases cover {d}");
        }
    }

    #[test]
    fn end_of_stream_attributes_decode_defensively() {
        let b = 404i64.to_le_bytes();
        assert_eq!(int_attribute(Some(&b)), Some(404));
        assert_eq!(int_attribute(Some(&b[..7])), None, "short");
        assert_eq!(int_attribute(None), None);
        assert_eq!(response_status(Some(503)), Some(503));
        assert_eq!(response_status(Some(0)), None, "a reset before any response");
        assert_eq!(response_status(Some(-1)), None);
        assert_eq!(response_status(None), None);
        assert_eq!(
            latency_ms(Some(2_500_000), Some(0), Some(99_000_000)),
            2,
            "Envoy's duration wins"
        );
        assert_eq!(latency_ms(None, Some(1_000_000), Some(8_000_000)), 7);
        assert_eq!(latency_ms(None, Some(9), Some(1)), 0, "a clock going back");
        assert_eq!(latency_ms(Some(-5), None, None), 0);
        assert_eq!(byte_count(Some(12)), 12);
        assert_eq!(byte_count(Some(-1)), 0);
        let lines = observation_lines(vec!["a".into()], EvidenceLevel::default());
        assert_eq!(lines, [(LogLevel::Warn, "a".to_string())]);
    }

    #[test]
    fn configure_warns_about_each_deprecated_mode_word() {
        let e = Engine::from_text(
            "mode: dry-run\npolicies:\n  - name: d\n    action: DENY\n    mode: dry_run\n    rules: [{}]\n",
        )
        .unwrap();
        let lines = configured_lines(&e);
        assert_eq!(
            lines,
            [
                (
                    LogLevel::Warn,
                    "meshward.policy: line 1, field `mode`: \"dry-run\" is deprecated and read as \"detect\"; write \"detect\"".to_string()
                ),
                (
                    LogLevel::Warn,
                    "meshward.policy: line 3, policy `d`, field `mode`: \"dry_run\" is deprecated and read as \"detect\"; write \"detect\"".to_string()
                ),
                (
                    LogLevel::Warn,
                    "meshward.policy: configured 1 policies (1 clauses), mode detect".to_string()
                ),
            ]
        );
        let quiet = configured_lines(&Engine::from_text("mode: detect").unwrap());
        assert_eq!(quiet.len(), 1, "{quiet:?}");
    }
}
