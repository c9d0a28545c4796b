//! The evidence event: one JSON line per transaction that matched anything, with bounded,
//! redacted excerpts of what matched.

// The request path: a panic here traps the VM and fails every request it serves.
#![warn(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use serde::Serialize;

use meshward_redact::{Redactor, REDACTED};
use meshward_seclang::{Intervention, InterventionAction, MatchedRule, Transaction};
use meshward_vocab::{Decision, Filter, Mode};

/// Prefix of every evidence log line (log pipelines pick the events out by it).
pub const LOG_PREFIX: &str = Filter::Waf.event_prefix();

/// Rules that refuse what could not be inspected: those of rules/recommended.conf refusing a
/// body the parsers could not read, and meshward's refusal of arguments past `arguments_limit`.
const REFUSAL_RULES: [u64; 4] = [200002, 200003, 200004, crate::assembly::ARGUMENTS_RULE_ID];

/// Classifies a transaction from its enforced intervention and its first disruptive decision:
/// `refused` when a body was over its limit or could not be parsed, `block` for any other
/// enforced intervention, `would_block` when a rule decided but nothing was enforced (detect
/// mode), else `allow`.
pub fn classify(enforced: Option<&Intervention>, decided: Option<&Intervention>) -> Decision {
    match (enforced, decided) {
        (Some(i), _) if i.action == InterventionAction::BodyLimit || REFUSAL_RULES.contains(&i.rule_id) => {
            Decision::Refused
        }
        (Some(_), _) => Decision::Block,
        (None, Some(_)) => Decision::WouldBlock,
        (None, None) => Decision::Allow,
    }
}

/// Who made the request and where it went (filled by the filter from Envoy's attributes).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RequestInfo {
    /// `x-request-id` (or Envoy's `request.id`).
    pub request_id: String,
    /// Client `ip:port`.
    pub client: String,
    /// `:authority`.
    pub authority: String,
    /// `:method`.
    pub method: String,
    /// `:path` (with query; in an event, sensitive query values are redacted).
    pub path: String,
    /// Envoy `xds.route_name`.
    pub route: Option<String>,
    /// The directive set in force.
    pub directive_set: String,
}

/// Anomaly scores CRS computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Scores {
    /// Inbound (request) score.
    pub inbound: i64,
    /// Outbound (response) score.
    pub outbound: i64,
}

/// One matched rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleEvidence {
    /// Rule id.
    pub id: u64,
    /// Expanded `msg`.
    pub msg: String,
    /// Severity name (`CRITICAL`...), when set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub severity: Option<&'static str>,
    /// Tags.
    pub tags: Vec<String>,
    /// The variable that matched (`ARGS:id`).
    pub variable: String,
    /// A bounded, redacted excerpt of the matched (transformed) value.
    pub data: String,
    /// The rule's expanded `logdata` (CRS: "Matched Data: ... found within ..."), bounded to
    /// [`LOGDATA_EXCERPTS`] excerpts and redacted like `data`; absent when the rule has none.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub logdata: String,
}

/// `logdata` may hold as many bytes as this many excerpts: it quotes the matched value and names
/// the variable, so it needs more room than `data`.
pub const LOGDATA_EXCERPTS: usize = 4;

/// The event written as `meshward.waf.event {json}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Event {
    /// Format version.
    pub v: u8,
    /// RFC 3339 UTC time with milliseconds.
    pub time: String,
    /// Who made the request, where it went, and the directive set in force.
    #[serde(flatten)]
    pub request: RequestInfo,
    /// `detect` or `enforce`.
    pub mode: &'static str,
    /// `allow`, `block`, `would_block` or `refused`.
    pub decision: Decision,
    /// Status sent (block/refused) or that would have been sent (would_block).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Phase of the decision.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phase: Option<u8>,
    /// Anomaly scores.
    pub scores: Scores,
    /// Matched rules (those ModSecurity would log).
    pub rules: Vec<RuleEvidence>,
    /// Rule set version, e.g. `crs-4.28.0`.
    pub ruleset: String,
    /// Hash of the effective configuration.
    pub config_hash: String,
    /// Limits that applied (`request_body_truncated`...).
    pub limits: Vec<String>,
    /// The gRPC message (1 = the first) this event is about, for a stream inspected message by
    /// message; absent for the stream's own event.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<usize>,
}

impl Event {
    /// The log line: prefix then one-line JSON.
    pub fn log_line(&self) -> String {
        format!("{LOG_PREFIX}{}", self.to_json())
    }

    /// One-line JSON.
    pub fn to_json(&self) -> String {
        // Serializing plain strings and numbers cannot fail; an empty object is a safe fallback.
        serde_json::to_string(self).unwrap_or_else(|_| "{}".into())
    }
}

/// What the event needs besides the transaction.
#[derive(Debug, Clone)]
pub struct EventContext<'a> {
    /// Request identity.
    pub info: &'a RequestInfo,
    /// Mode configured for the filter.
    pub mode: Mode,
    /// Status sent when a rule blocks with the engine default.
    pub status: Option<u16>,
    /// The filter carried out the engine's intervention (sent its local reply). False when
    /// it could not: a response that started before the request ended is only recorded.
    pub enforced: bool,
    /// Wall-clock time, ns since the Unix epoch.
    pub now_nanos: u64,
    /// Maximum excerpt length.
    pub excerpt_bytes: usize,
    /// `crs-4.28.0`.
    pub ruleset: &'a str,
    /// Configuration hash.
    pub config_hash: &'a str,
    /// Limits that applied.
    pub limits: &'a [String],
    /// The sensitive names whose values the event must not carry.
    pub redactor: &'a Redactor,
}

/// The decision on `tx`: an intervention the filter did not carry out is a `would_block`.
pub fn decision_of(tx: &Transaction, enforced: bool) -> Decision {
    classify(tx.intervention().filter(|_| enforced), tx.decision())
}

/// Whether a limit only notes what a body processor skipped as ordinary content (the `bytes`
/// fields of a protobuf message): it is listed in an event that exists for another reason but
/// makes none by itself, or every gRPC call carrying a `bytes` field would write a line.
pub fn is_note(limit: &str) -> bool {
    limit.ends_with("_binary_fields")
}

/// Builds the event of `tx`, or `None` for clean traffic (no logged rule matched, nothing
/// decided, no limit applied but notes). Every field that can carry a request value is redacted here,
/// once: the path's query, each rule's message, variable, data and logdata.
pub fn event(tx: &Transaction, ctx: &EventContext<'_>) -> Option<Event> {
    let redactor = ctx.redactor;
    // `has_logged_match` first: clean traffic then builds no matched-rule list at all.
    let logged = if tx.has_logged_match() { tx.matched_rules() } else { &[] };
    let rules: Vec<RuleEvidence> = logged
        .iter()
        .filter(|m| m.logged)
        .map(|m| RuleEvidence {
            id: m.id,
            msg: scrub(redactor, m, &m.msg),
            severity: m.severity.map(severity_name),
            tags: m.tags.clone(),
            variable: redactor.text(&m.variable).into_owned(),
            data: excerpt(redactor, &m.variable, &m.value, ctx.excerpt_bytes),
            logdata: excerpt(
                redactor,
                &m.variable,
                scrub(redactor, m, &m.logdata).as_bytes(),
                ctx.excerpt_bytes * LOGDATA_EXCERPTS,
            ),
        })
        .collect();
    let decision = decision_of(tx, ctx.enforced);
    // Bytes that went uninspected (a limit applied) are worth an event even without a match.
    if rules.is_empty() && decision == Decision::Allow && ctx.limits.iter().all(|l| is_note(l)) {
        return None;
    }
    let decided = tx.intervention().or(tx.decision());
    let request = RequestInfo {
        path: redactor.text(&ctx.info.path).into_owned(),
        ..ctx.info.clone()
    };
    Some(Event {
        v: 1,
        time: rfc3339_millis(ctx.now_nanos),
        request,
        mode: ctx.mode.as_str(),
        decision,
        status: ctx.status.or(decided.map(|d| d.status)),
        phase: decided.map(|d| d.phase.number()),
        scores: Scores {
            inbound: tx.inbound_anomaly_score(),
            outbound: tx.outbound_anomaly_score(),
        },
        rules,
        ruleset: ctx.ruleset.to_string(),
        config_hash: ctx.config_hash.to_string(),
        limits: ctx.limits.to_vec(),
        message: None,
    })
}

/// `text` (a rule's expanded `msg` or `logdata`) with sensitive pairs redacted, and every quote
/// of a value that matched a secret variable (in any chain link) replaced: `msg` and `logdata`
/// may expand `%{MATCHED_VAR}`.
pub fn scrub(redactor: &Redactor, rule: &MatchedRule, text: &str) -> String {
    let matched = std::iter::once((&rule.variable, &rule.value)).chain(rule.matches.iter().map(|(v, x)| (v, x)));
    let mut text = if matched.clone().any(|(variable, _)| carries_pairs(variable)) {
        redactor.text(text).into_owned()
    } else {
        text.to_string()
    };
    for (variable, value) in matched {
        let value = String::from_utf8_lossy(value);
        if !value.is_empty() && redactor.is_secret_variable(variable) && text.contains(value.as_ref()) {
            text = text.replace(value.as_ref(), REDACTED);
        }
    }
    text
}

/// The excerpt of a matched value: [`REDACTED`] when `variable` holds secrets, else at most
/// `max` bytes cut on a character boundary, with sensitive pairs inside redacted when the
/// variable carries parameters (see [`carries_pairs`]).
pub fn excerpt(redactor: &Redactor, variable: &str, value: &[u8], max: usize) -> String {
    if redactor.is_secret_variable(variable) {
        return REDACTED.to_string();
    }
    let text = String::from_utf8_lossy(value);
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let cut = text.get(..end).unwrap_or_default();
    if carries_pairs(variable) {
        redactor.text(cut).into_owned()
    } else {
        cut.to_string()
    }
}

/// Variables whose values are whole request or response texts holding other parameters
/// (`password=...` in a query string or a body): pairs inside them are redacted. The value of
/// one parameter or header is not: `session.referer_check=t` in `ARGS:var` is the payload a
/// rule caught, the evidence a developer needs, and a secret there is covered by its own name
/// (`ARGS:password` is redacted whole).
pub fn carries_pairs(variable: &str) -> bool {
    const WHOLE_TEXTS: [&str; 10] = [
        "REQUEST_URI",
        "REQUEST_URI_RAW",
        "REQUEST_LINE",
        "QUERY_STRING",
        "REQUEST_BODY",
        "FULL_REQUEST",
        "XML",
        "RESPONSE_BODY",
        "REQUEST_HEADERS",
        "RESPONSE_HEADERS",
    ];
    let collection = variable.split_once(':').map_or(variable, |(c, _)| c);
    WHOLE_TEXTS.iter().any(|w| w.eq_ignore_ascii_case(collection))
}

/// ModSecurity's severity names by number.
pub fn severity_name(s: u8) -> &'static str {
    match s {
        0 => "EMERGENCY",
        1 => "ALERT",
        2 => "CRITICAL",
        3 => "ERROR",
        4 => "WARNING",
        5 => "NOTICE",
        6 => "INFO",
        _ => "DEBUG",
    }
}

/// `2026-11-26T20:00:00.123Z` from nanoseconds since the Unix epoch.
pub fn rfc3339_millis(nanos: u64) -> String {
    let secs = nanos / 1_000_000_000;
    let millis = (nanos / 1_000_000) % 1000;
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use meshward_seclang::RuleSet;

    #[test]
    fn time_format() {
        assert_eq!(rfc3339_millis(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339_millis(951_782_400_123_000_000), "2000-02-29T00:00:00.123Z");
        assert_eq!(rfc3339_millis(1_795_723_200_000_000_000), "2026-11-26T20:00:00.000Z");
    }

    #[test]
    fn excerpts_are_bounded_on_char_boundaries_and_secrets_redacted() {
        let r = &Redactor::default();
        assert_eq!(excerpt(r, "ARGS:q", "héllo".as_bytes(), 2), "h");
        assert_eq!(excerpt(r, "ARGS:q", b"abc", 64), "abc");
        assert_eq!(excerpt(r, "REQUEST_COOKIES:session", b"secret", 64), REDACTED);
        assert_eq!(excerpt(r, "REQUEST_COOKIES_NAMES:session", b"session", 64), REDACTED);
        assert_eq!(excerpt(r, "REQUEST_HEADERS:Authorization", b"Bearer x", 64), REDACTED);
        assert_eq!(excerpt(r, "REQUEST_HEADERS:cookie", b"a=b", 64), REDACTED);
        assert_eq!(excerpt(r, "RESPONSE_HEADERS:Set-Cookie", b"a=b", 64), REDACTED);
        assert_eq!(excerpt(r, "REQUEST_HEADERS:User-Agent", b"curl", 64), "curl");
        assert_eq!(excerpt(r, "ARGS:password", b"' or 1=1--", 64), REDACTED);
        assert_eq!(excerpt(r, "REQUEST_HEADERS:X-API-Key", b"k", 64), REDACTED);
        assert_eq!(
            excerpt(r, "REQUEST_URI", b"/a?token=t0k&q=1", 64),
            "/a?token=[redacted]&q=1"
        );
        assert_eq!(excerpt(&Redactor::new(&["ssn".into()]), "ARGS:ssn", b"1", 64), REDACTED);
    }

    fn run(rules: &str, uri: &[u8]) -> Transaction {
        let rules = RuleSet::from_str(rules, "t").unwrap();
        let mut tx = rules.transaction();
        tx.process_uri(uri, "GET", "1.1");
        tx.process_request_headers();
        tx.process_request_body();
        tx
    }

    static NO_EXTRA: Redactor = Redactor::EMPTY;

    fn ctx<'a>(info: &'a RequestInfo, mode: Mode) -> EventContext<'a> {
        EventContext {
            info,
            mode,
            status: None,
            enforced: true,
            now_nanos: 0,
            excerpt_bytes: 4,
            ruleset: "crs-test",
            config_hash: "abc",
            limits: &[],
            redactor: &NO_EXTRA,
        }
    }

    #[test]
    fn detect_mode_event_says_would_block() {
        let tx = run(
            "SecRuleEngine DetectionOnly\nSecRule ARGS \"@contains evil\" \"id:5,phase:1,deny,status:403,msg:'m',severity:CRITICAL,tag:'paranoia-level/1'\"",
            b"/?q=evilness",
        );
        let info = RequestInfo {
            method: "GET".into(),
            path: "/?q=evilness".into(),
            ..RequestInfo::default()
        };
        let e = event(&tx, &ctx(&info, Mode::Detect)).expect("matched");
        assert_eq!(e.decision, Decision::WouldBlock);
        assert_eq!(e.status, Some(403));
        assert_eq!(e.phase, Some(1));
        assert_eq!(e.rules[0].id, 5);
        assert_eq!(e.rules[0].severity, Some("CRITICAL"));
        assert_eq!(e.rules[0].variable, "ARGS:q");
        assert_eq!(e.rules[0].data, "evil", "bounded to 4 bytes");
        let line = e.log_line();
        assert!(line.starts_with(LOG_PREFIX));
        let json: serde_json::Value = serde_json::from_str(&line[LOG_PREFIX.len()..]).unwrap();
        assert_eq!(json["decision"], "would_block");
        assert_eq!(json["mode"], "detect");
    }

    #[test]
    fn every_field_carrying_request_values_is_redacted() {
        // Rules matching the whole URI, a secret argument, and a message and logdata that
        // quote the matched value.
        let tx = run(
            "SecRuleEngine DetectionOnly\n\
             SecRule REQUEST_URI \"@contains evil\" \"id:1,phase:1,pass,log,msg:'uri %{MATCHED_VAR}',logdata:'Matched Data: %{MATCHED_VAR}'\"\n\
             SecRule ARGS \"@contains evil\" \"id:2,phase:1,pass,log,msg:'arg %{MATCHED_VAR}',logdata:'%{MATCHED_VAR_NAME}: %{MATCHED_VAR}'\"",
            b"/login?password=evil1&q=x&api_key=evil2",
        );
        let info = RequestInfo {
            path: "/login?password=evil1&q=x&api_key=evil2".into(),
            ..RequestInfo::default()
        };
        let extra = Redactor::new(&["q".into()]);
        let c = EventContext {
            excerpt_bytes: 200,
            redactor: &extra,
            ..ctx(&info, Mode::Detect)
        };
        let e = event(&tx, &c).expect("matched");
        assert_eq!(
            e.request.path,
            "/login?password=[redacted]&q=[redacted]&api_key=[redacted]"
        );
        let json = e.to_json();
        for secret in ["evil1", "evil2"] {
            assert!(!json.contains(secret), "{secret} leaked: {json}");
        }
        let uri = e.rules.iter().find(|r| r.id == 1).expect("rule 1");
        assert_eq!(uri.variable, "REQUEST_URI");
        assert_eq!(uri.data, "/login?password=[redacted]&q=[redacted]&api_key=[redacted]");
        assert!(uri.msg.starts_with("uri /login?password=[redacted]"), "{}", uri.msg);
        assert!(uri.logdata.contains("password=[redacted]"), "{}", uri.logdata);
        // One record per rule: the first match's variable; its msg expands the last match
        // (`api_key`), which is a secret too.
        let arg = e.rules.iter().find(|r| r.id == 2).expect("rule 2");
        assert_eq!(arg.variable, "ARGS:password");
        assert_eq!(arg.data, REDACTED);
        assert_eq!(arg.logdata, REDACTED);
        assert_eq!(arg.msg, "arg [redacted]");
    }

    #[test]
    fn a_payload_in_one_parameter_is_kept_as_evidence() {
        // CRS 933120's own test: the PHP directive is the attack, not a session id.
        let tx = run(
            "SecRuleEngine DetectionOnly\n\
             SecRule ARGS \"@contains referer_check\" \"id:3,phase:1,pass,log,msg:'php %{MATCHED_VAR}',logdata:'Matched Data: %{MATCHED_VAR} found within %{MATCHED_VAR_NAME}'\"",
            b"/?var=session.referer_check=t",
        );
        let info = RequestInfo {
            path: "/?var=session.referer_check=t".into(),
            ..RequestInfo::default()
        };
        let c = EventContext {
            excerpt_bytes: 200,
            ..ctx(&info, Mode::Detect)
        };
        let e = event(&tx, &c).expect("matched");
        let rule = e.rules.iter().find(|r| r.id == 3).expect("rule 3");
        assert_eq!(rule.data, "session.referer_check=t");
        assert!(
            rule.logdata.contains("session.referer_check=t found within ARGS:var"),
            "{}",
            rule.logdata
        );
        assert_eq!(rule.msg, "php session.referer_check=t");
        // The path is a query string: the pair is redacted there.
        assert_eq!(e.request.path, "/?var=session.referer_check=[redacted]");
        assert!(carries_pairs("REQUEST_URI") && carries_pairs("request_headers:x"));
        assert!(!carries_pairs("ARGS:var") && !carries_pairs("TX:0"));
    }

    #[test]
    fn enforce_block_and_clean_traffic() {
        let rules = "SecRuleEngine On\nSecRule ARGS \"@contains evil\" \"id:5,phase:1,deny\"";
        let info = RequestInfo::default();
        let e = event(&run(rules, b"/?q=evil"), &ctx(&info, Mode::Enforce)).unwrap();
        assert_eq!(e.decision, Decision::Block);
        assert!(event(&run(rules, b"/?q=fine"), &ctx(&info, Mode::Enforce)).is_none());
    }

    #[test]
    fn a_limit_makes_an_event_a_note_only_joins_one() {
        let rules = "SecRuleEngine On\nSecRule ARGS \"@contains evil\" \"id:5,phase:1,deny\"";
        let info = RequestInfo::default();
        let notes = ["grpc_binary_fields".to_string()];
        let with_notes = EventContext {
            limits: &notes,
            ..ctx(&info, Mode::Enforce)
        };
        assert!(event(&run(rules, b"/?q=fine"), &with_notes).is_none());
        let e = event(&run(rules, b"/?q=evil"), &with_notes).unwrap();
        assert_eq!(e.limits, notes);
        let cut = ["request_body_truncated".to_string(), "grpc_binary_fields".to_string()];
        let with_limit = EventContext {
            limits: &cut,
            ..ctx(&info, Mode::Enforce)
        };
        let e = event(&run(rules, b"/?q=fine"), &with_limit).unwrap();
        assert_eq!(e.decision, Decision::Allow);
        assert_eq!(e.limits, cut);
    }
}
