//! Reading the policy filter's events: observation lines (`meshward.policy.observation {json}`,
//! aggregated per key and window) and decision lines (`meshward.policy.event {json}`, one per
//! request), bare or after any log prefix (Envoy's, kubectl's). Lines that are neither are
//! counted; a meshward line that cannot be read is kept with its file, line and reason.

use std::io::BufRead;
use std::net::SocketAddr;

use serde::Serialize;
use serde_json::{Map, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::caller::Caller;
use meshward_vocab::Decision;

/// The marker before an observation's JSON.
pub const OBSERVATION_MARKER: &str = "meshward.policy.observation ";
/// The marker before a decision event's JSON.
pub const DECISION_MARKER: &str = "meshward.policy.event ";

/// Which event a record came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// An aggregated observation line.
    Observation,
    /// A per-request decision event (count 1).
    Decision,
}

/// An RFC 3339 instant, kept with its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamp {
    /// The instant, for ordering.
    pub at: OffsetDateTime,
    /// As written in the event.
    pub text: String,
}

impl Stamp {
    /// Parses an RFC 3339 timestamp.
    pub fn parse(text: &str) -> Result<Stamp, String> {
        OffsetDateTime::parse(text, &Rfc3339)
            .map(|at| Stamp {
                at,
                text: text.to_owned(),
            })
            .map_err(|e| format!("`{text}` is not an RFC 3339 time: {e}"))
    }
}

/// The response shape of a key: status class and media type.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Shape {
    /// `1xx`..`5xx` or `none`; `None` when the event does not say (decision events).
    pub status_class: Option<String>,
    /// Response media type, lowercased, without parameters.
    pub content_type: Option<String>,
}

/// Requests per decision word (the observation event's `decisions`).
pub use meshward_vocab::DecisionCounts as Decisions;

/// Where a line was read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Origin {
    /// File name (`-` for stdin).
    pub file: String,
    /// 1-based line number.
    pub line: usize,
}

/// One event: who called what, how often, what the filter decided.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// Where it was read.
    pub origin: Origin,
    /// Observation or decision event.
    pub kind: Kind,
    /// The strongest caller identity, when any is known.
    pub caller: Option<Caller>,
    /// Normalized host.
    pub host: Option<String>,
    /// Uppercased method.
    pub method: Option<String>,
    /// Normalized path, no query; `None` when refused.
    pub path: Option<String>,
    /// Response shape.
    pub shape: Shape,
    /// Requests this record stands for.
    pub count: u64,
    /// Per decision word.
    pub decisions: Decisions,
    /// First request of the key in its window.
    pub first_seen: Option<Stamp>,
    /// Last request of the key in its window.
    pub last_seen: Option<Stamp>,
    /// A VM's overflow line: requests beyond `max_keys`, their key unknown.
    pub overflow: bool,
}

/// A meshward line that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Malformed {
    /// Where.
    #[serde(flatten)]
    pub origin: Origin,
    /// Why.
    pub reason: String,
}

/// What makes two records the same key: they are summed into one.
type Key = (
    Kind,
    Option<Caller>,
    Option<String>,
    Option<String>,
    Option<String>,
    Shape,
    bool,
);

/// Everything read from the inputs, summed per key (a day of decision events, one per request,
/// holds far fewer keys than lines).
#[derive(Debug, Clone, Default)]
pub struct Intake {
    /// Lines read.
    pub lines: u64,
    /// Lines that are no meshward policy event (other log lines, other JSON).
    pub skipped: u64,
    /// Observation lines read.
    pub observation_lines: u64,
    /// Decision event lines read.
    pub decision_lines: u64,
    /// The events read, one per key (kind, caller, host, method, path, response shape,
    /// overflow), in the order first seen; `origin` is where the key was first seen.
    pub records: Vec<Record>,
    /// The meshward lines that could not be read.
    pub malformed: Vec<Malformed>,
    index: std::collections::HashMap<Key, usize>,
}

impl Intake {
    /// Reads every line of `input`, named `file` in messages.
    pub fn read(&mut self, file: &str, input: impl BufRead) -> std::io::Result<()> {
        for (i, line) in input.lines().enumerate() {
            let line = line?;
            self.lines += 1;
            let origin = Origin {
                file: file.to_owned(),
                line: i + 1,
            };
            match parse_line(&line, origin.clone()) {
                Line::Other => self.skipped += 1,
                Line::Event(r) => self.add(*r),
                Line::Malformed(reason) => self.malformed.push(Malformed { origin, reason }),
            }
        }
        Ok(())
    }
}

impl Intake {
    /// Sums a record into the one of its key.
    fn add(&mut self, r: Record) {
        match r.kind {
            Kind::Observation => self.observation_lines += 1,
            Kind::Decision => self.decision_lines += 1,
        }
        let key: Key = (
            r.kind,
            r.caller.clone(),
            r.host.clone(),
            r.method.clone(),
            r.path.clone(),
            r.shape.clone(),
            r.overflow,
        );
        let Some(into) = self.index.get(&key).and_then(|i| self.records.get_mut(*i)) else {
            self.index.insert(key, self.records.len());
            self.records.push(r);
            return;
        };
        into.count = into.count.saturating_add(r.count);
        into.decisions.add(&r.decisions);
        if let Some(f) = r.first_seen {
            if into.first_seen.as_ref().is_none_or(|x| f.at < x.at) {
                into.first_seen = Some(f);
            }
        }
        if let Some(l) = r.last_seen {
            if into.last_seen.as_ref().is_none_or(|x| l.at > x.at) {
                into.last_seen = Some(l);
            }
        }
    }
}

/// What one line holds.
#[derive(Debug)]
pub enum Line {
    /// No meshward policy event.
    Other,
    /// An event.
    Event(Box<Record>),
    /// A meshward event that cannot be read, and why.
    Malformed(String),
}

/// Reads one line.
pub fn parse_line(line: &str, origin: Origin) -> Line {
    for (marker, kind) in [
        (OBSERVATION_MARKER, Kind::Observation),
        (DECISION_MARKER, Kind::Decision),
    ] {
        if let Some(at) = line.find(marker) {
            let json = &line[at + marker.len()..];
            return match object(json) {
                Ok(obj) => record(&obj, kind, origin),
                Err(reason) => Line::Malformed(reason),
            };
        }
    }
    // A bare JSON line is an event when it says it is one; any other JSON is someone else's.
    let trimmed = line.trim();
    if !trimmed.starts_with('{') {
        return Line::Other;
    }
    let Ok(obj) = object(trimmed) else {
        return Line::Other;
    };
    if obj.get("type").and_then(Value::as_str) == Some("observation") {
        record(&obj, Kind::Observation, origin)
    } else if obj.contains_key("decision") && obj.contains_key("path_normalized") && obj.contains_key("all_enforced") {
        record(&obj, Kind::Decision, origin)
    } else {
        Line::Other
    }
}

/// The JSON object at the start of `text`; only whitespace may follow it.
fn object(text: &str) -> Result<Map<String, Value>, String> {
    let mut stream = serde_json::Deserializer::from_str(text).into_iter::<Value>();
    let value = match stream.next() {
        None => return Err("no JSON after the marker".into()),
        Some(Err(e)) => return Err(format!("invalid JSON: {e}")),
        Some(Ok(v)) => v,
    };
    let rest = text.get(stream.byte_offset()..).unwrap_or("");
    if !rest.trim().is_empty() {
        return Err("text after the JSON object".into());
    }
    match value {
        Value::Object(m) => Ok(m),
        _ => Err("the JSON is not an object".into()),
    }
}

fn record(obj: &Map<String, Value>, kind: Kind, origin: Origin) -> Line {
    let read = match kind {
        Kind::Observation => observation(obj, origin),
        Kind::Decision => decision(obj, origin),
    };
    match read {
        Ok(r) => Line::Event(Box::new(r)),
        Err(reason) => Line::Malformed(reason),
    }
}

/// A string field that may be null or absent; any other type is an error.
fn opt_str<'a>(obj: &'a Map<String, Value>, field: &str) -> Result<Option<&'a str>, String> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(format!("`{field}` is {other}, not a string or null")),
    }
}

fn version(obj: &Map<String, Value>) -> Result<(), String> {
    match obj.get("v") {
        Some(v) if v.as_u64() == Some(1) => Ok(()),
        Some(v) => Err(format!("unsupported version `v`: {v}")),
        None => Err("missing `v`".into()),
    }
}

fn count(v: &Value, field: &str) -> Result<u64, String> {
    v.as_u64()
        .ok_or_else(|| format!("`{field}` is {v}, not a non-negative integer"))
}

fn stamp(obj: &Map<String, Value>, field: &str) -> Result<Option<Stamp>, String> {
    opt_str(obj, field)?.map(Stamp::parse).transpose()
}

fn observation(obj: &Map<String, Value>, origin: Origin) -> Result<Record, String> {
    version(obj)?;
    match obj.get("type").and_then(Value::as_str) {
        Some("observation") => {}
        _ => return Err("`type` is not \"observation\"".into()),
    }
    let total = count(obj.get("count").ok_or("missing `count`")?, "count")?;
    let decisions = match obj.get("decisions") {
        None | Some(Value::Null) => Decisions {
            allow: total,
            ..Decisions::default()
        },
        Some(Value::Object(m)) => {
            let mut d = Decisions::default();
            for (word, n) in m {
                let n = count(n, &format!("decisions.{word}"))?;
                let decision = Decision::from_wire(word).ok_or(format!("unknown decision `{word}` in `decisions`"))?;
                *d.get_mut(decision) = n;
            }
            d
        }
        Some(other) => return Err(format!("`decisions` is {other}, not an object")),
    };
    let overflow = match obj.get("overflow") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(other) => return Err(format!("`overflow` is {other}, not a boolean")),
    };
    let caller = Caller::strongest(
        opt_str(obj, "principal")?,
        opt_str(obj, "namespace")?,
        opt_str(obj, "source_ip")?,
        opt_str(obj, "remote_ip")?,
    );
    Ok(Record {
        origin,
        kind: Kind::Observation,
        caller,
        host: opt_str(obj, "host")?.map(str::to_owned),
        method: opt_str(obj, "method")?.map(str::to_ascii_uppercase),
        path: opt_str(obj, "path")?.map(str::to_owned),
        shape: Shape {
            status_class: opt_str(obj, "status_class")?.map(str::to_owned),
            content_type: opt_str(obj, "content_type")?.map(str::to_ascii_lowercase),
        },
        count: total,
        decisions,
        first_seen: stamp(obj, "first_seen")?,
        last_seen: stamp(obj, "last_seen")?,
        overflow,
    })
}

fn decision(obj: &Map<String, Value>, origin: Origin) -> Result<Record, String> {
    version(obj)?;
    let word = opt_str(obj, "decision")?.ok_or("missing `decision`")?;
    let mut decisions = Decisions::default();
    decisions.record(Decision::from_wire(word).ok_or(format!("unknown decision `{word}`"))?);
    let method = opt_str(obj, "method")?.ok_or("missing `method`")?;
    // `source` is the peer's `ip:port`; the policy names the IP.
    let source_ip = opt_str(obj, "source")?.map(|s| {
        s.parse::<SocketAddr>()
            .map(|a| a.ip().to_string())
            .unwrap_or_else(|_| s.to_owned())
    });
    let caller = Caller::strongest(
        opt_str(obj, "principal")?,
        opt_str(obj, "namespace")?,
        source_ip.as_deref(),
        opt_str(obj, "remote_ip")?,
    );
    Ok(Record {
        origin,
        kind: Kind::Decision,
        caller,
        host: opt_str(obj, "host")?.map(str::to_owned),
        method: Some(method.to_ascii_uppercase()),
        path: opt_str(obj, "path_normalized")?.map(str::to_owned),
        shape: Shape::default(),
        count: 1,
        decisions,
        first_seen: None,
        last_seen: None,
        overflow: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at() -> Origin {
        Origin {
            file: "f".into(),
            line: 7,
        }
    }

    const OBS: &str = r#"{"v":1,"type":"observation","window_start":"2026-12-07T10:00:00Z","window_end":"2026-12-07T10:01:00Z","first_seen":"2026-12-07T10:00:05.25Z","last_seen":"2026-12-07T10:00:59Z","mode":"detect","principal":"spiffe://cluster.local/ns/web/sa/fe","namespace":"web","source_ip":"10.0.0.9","remote_ip":"10.0.0.9","request_principal":null,"host":"orders","destination":"10.0.1.1:8080","sni":null,"direction":"ingress","internet":false,"method":"get","path":"/api/orders/42","status_class":"2xx","content_type":"Application/JSON","count":5,"decisions":{"allow":4,"would_block":1},"request_bytes":{"sum":0,"max":0},"response_bytes":{"sum":500,"max":100},"latency_ms":{"sum":10,"max":3}}"#;

    fn event(line: &str) -> Record {
        match parse_line(line, at()) {
            Line::Event(r) => *r,
            other => panic!("{other:?}"),
        }
    }

    fn malformed(line: &str) -> String {
        match parse_line(line, at()) {
            Line::Malformed(reason) => reason,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_observation_is_read_bare_and_after_an_envoy_prefix() {
        let bare = event(OBS);
        let prefixed = event(&format!(
            "[2026-12-07 10:01:00.001][12][warning][wasm] [source/extensions/common/wasm/context.cc:1192] wasm log meshward-netpolicy: meshward.policy.observation {OBS}"
        ));
        assert_eq!(bare, prefixed);
        assert_eq!(bare.kind, Kind::Observation);
        assert_eq!(
            bare.caller,
            Some(Caller::Principal("spiffe://cluster.local/ns/web/sa/fe".into()))
        );
        assert_eq!(
            (bare.method.as_deref(), bare.path.as_deref()),
            (Some("GET"), Some("/api/orders/42"))
        );
        assert_eq!(bare.shape.content_type.as_deref(), Some("application/json"));
        assert_eq!(
            (bare.count, bare.decisions.passed(), bare.decisions.stopped()),
            (5, 5, 0)
        );
        assert_eq!(
            bare.first_seen.map(|s| s.text).as_deref(),
            Some("2026-12-07T10:00:05.25Z")
        );
    }

    #[test]
    fn the_filter_s_documented_example_is_read() {
        // docs/evidence.md's example line (the observation contract), milliseconds and all.
        let r = event(
            r#"{"v":1,"type":"observation","window_start":"2026-12-07T19:40:00.000Z","window_end":"2026-12-07T19:41:00.000Z","first_seen":"2026-12-07T19:40:01.000Z","last_seen":"2026-12-07T19:40:58.120Z","mode":"detect","principal":"spiffe://cluster.local/ns/web/sa/frontend","namespace":"web","source_ip":"10.0.0.1","remote_ip":"10.0.0.1","request_principal":null,"host":"orders.svc:8080","destination":"10.0.0.9:8080","sni":null,"direction":"ingress","internet":null,"method":"GET","path":"/orders","status_class":"2xx","content_type":"application/json","count":42,"decisions":{"allow":42,"block":0,"would_block":0,"refused":0},"request_bytes":{"sum":0,"max":0},"response_bytes":{"sum":8120,"max":410},"latency_ms":{"sum":97,"max":12}}"#,
        );
        assert_eq!((r.count, r.decisions.passed()), (42, 42));
        assert_eq!(r.host.as_deref(), Some("orders.svc:8080"));
        assert!(r.first_seen.zip(r.last_seen).is_some_and(|(f, l)| f.at < l.at));
    }

    #[test]
    fn a_decision_event_counts_once_and_names_the_peer_ip_without_port() {
        let r = event(
            r#"x meshward.policy.event {"v":1,"policy":null,"rule":null,"action":null,"mode":null,"decision":"refused","enforced":true,"effective":"block","all_enforced":"block","reason":"path refused","principal":null,"namespace":null,"source":"[fd00::1]:4000","remote_ip":"fd00::1","destination":null,"host":"a","method":"GET","path_normalized":null,"direction":null,"internet":null,"audit":[]}"#,
        );
        assert_eq!(r.kind, Kind::Decision);
        assert_eq!(r.caller, Some(Caller::SourceIp("fd00::1".into())));
        assert_eq!((r.count, r.decisions.refused, r.path), (1, 1, None));
    }

    #[test]
    fn other_lines_are_skipped_and_broken_meshward_lines_are_reported() {
        for other in ["", "GET / 200", "{\"level\":\"info\"}", "{not json", "[1,2]"] {
            assert!(matches!(parse_line(other, at()), Line::Other), "{other}");
        }
        assert!(malformed("meshward.policy.observation {\"v\":1,").starts_with("invalid JSON"));
        assert_eq!(malformed("meshward.policy.observation "), "no JSON after the marker");
        assert_eq!(
            malformed("meshward.policy.observation {} trailing"),
            "text after the JSON object"
        );
        assert_eq!(
            malformed("meshward.policy.observation [1]"),
            "the JSON is not an object"
        );
        assert_eq!(
            malformed("meshward.policy.observation {\"v\":2}"),
            "unsupported version `v`: 2"
        );
        assert_eq!(
            malformed(&OBS.replace("\"count\":5", "\"count\":-1")),
            "`count` is -1, not a non-negative integer"
        );
        assert_eq!(
            malformed(&OBS.replace("\"allow\":4", "\"maybe\":4")),
            "unknown decision `maybe` in `decisions`"
        );
        assert!(malformed(&OBS.replace("10:00:59Z", "yesterday")).contains("not an RFC 3339 time"));
        assert_eq!(
            malformed(&OBS.replace("\"host\":\"orders\"", "\"host\":3")),
            "`host` is 3, not a string or null"
        );
    }

    #[test]
    fn intake_sums_lines_of_one_key() {
        let later = OBS
            .replace("10:00:05.25Z", "10:05:00Z")
            .replace("10:00:59Z", "10:05:30Z")
            .replace("\"count\":5", "\"count\":2")
            .replace("\"allow\":4,\"would_block\":1", "\"block\":2");
        let other_path = OBS.replace("/api/orders/42", "/api/orders/43");
        let text = format!("{later}\n{OBS}\n{other_path}\n");
        let mut intake = Intake::default();
        intake.read("log", text.as_bytes()).unwrap();
        assert_eq!((intake.observation_lines, intake.records.len()), (3, 2));
        let r = &intake.records[0];
        assert_eq!(
            (r.count, r.decisions.allow, r.decisions.block, r.origin.line),
            (7, 4, 2, 1)
        );
        assert_eq!(
            r.first_seen.as_ref().map(|s| s.text.as_str()),
            Some("2026-12-07T10:00:05.25Z")
        );
        assert_eq!(
            r.last_seen.as_ref().map(|s| s.text.as_str()),
            Some("2026-12-07T10:05:30Z")
        );
    }

    #[test]
    fn intake_counts_lines_and_keeps_file_and_line_of_malformed_ones() {
        let text = format!("hello\n{OBS}\nmeshward.policy.event {{\"v\":1}}\n");
        let mut intake = Intake::default();
        intake.read("log.txt", text.as_bytes()).unwrap();
        assert_eq!((intake.lines, intake.skipped, intake.records.len()), (3, 1, 1));
        assert_eq!(
            intake.malformed,
            vec![Malformed {
                origin: Origin {
                    file: "log.txt".into(),
                    line: 3
                },
                reason: "missing `decision`".into()
            }]
        );
    }
}
