//! Observation: who called what, aggregated per VM and logged once per window, so a policy can
//! be learned from real traffic (`meshward.policy.observation {json}`, schema
//! docs/schema/observation-event.schema.json).
//!
//! Each request is recorded, in every mode, under its [`RequestKey`] (caller and call) plus its
//! status class and response media type; [`Aggregator::flush`] turns the window's table into
//! one line per key and starts the next window.
//!
//! Invariant: a window yields at most `max_keys + 1` lines per VM — one per key it kept, plus
//! one `"overflow": true` line (key fields null) that folds every request whose key arrived
//! once the table was full. The learner sees that it missed some, and the log volume is bounded
//! whatever the traffic's cardinality.
//!
//! Why per VM and in memory: Envoy runs one VM per worker thread and each stream stays on its
//! worker, so a VM's table needs no locking and recording costs a hash lookup — no per-request
//! shared-data round trip through the host. The root context's tick (every
//! `observe.interval_seconds`) flushes it; each worker logs its own lines, which the learner
//! sums.

mod key;

use serde::Serialize;
use std::collections::HashMap;

use meshward_vocab::{Decision, DecisionCounts, Mode};

use crate::model::Observe;

pub use key::{media_type, normalize_sni, RequestKey, StatusClass};
pub use meshward_vocab::time::rfc3339_millis;

use key::Key;

/// Prefix of every observation log line.
pub const OBSERVATION_PREFIX: &str = "meshward.policy.observation ";

/// What the end of one stream tells about it, besides its key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exchange<'a> {
    /// The response status (`None`: no response was sent, e.g. a reset).
    pub status: Option<u16>,
    /// The response `content-type` as sent.
    pub content_type: Option<&'a str>,
    /// Request body bytes.
    pub request_bytes: u64,
    /// Response body bytes.
    pub response_bytes: u64,
    /// From the first request byte to the end of the stream, in milliseconds.
    pub latency_ms: u64,
    /// The policy's decision on the request.
    pub decision: Decision,
}

/// Whether a request got its own key or was folded into the overflow line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    /// Counted under its key.
    Kept,
    /// The table was full: counted in the window's overflow line.
    Overflow,
}

/// Sum and maximum of one quantity over a key's requests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SumMax {
    /// Saturating sum.
    pub sum: u64,
    /// Largest value.
    pub max: u64,
}

impl SumMax {
    fn add(&mut self, v: u64) {
        self.sum = self.sum.saturating_add(v);
        self.max = self.max.max(v);
    }
}

/// What a window holds for one key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stats {
    first_seen: u64,
    last_seen: u64,
    count: u64,
    decisions: DecisionCounts,
    request_bytes: SumMax,
    response_bytes: SumMax,
    latency_ms: SumMax,
}

impl Stats {
    fn new(now: u64) -> Stats {
        Stats {
            first_seen: now,
            last_seen: now,
            count: 0,
            decisions: DecisionCounts::default(),
            request_bytes: SumMax::default(),
            response_bytes: SumMax::default(),
            latency_ms: SumMax::default(),
        }
    }

    fn add(&mut self, x: &Exchange<'_>, now: u64) {
        self.first_seen = self.first_seen.min(now);
        self.last_seen = self.last_seen.max(now);
        self.count = self.count.saturating_add(1);
        self.decisions.record(x.decision);
        self.request_bytes.add(x.request_bytes);
        self.response_bytes.add(x.response_bytes);
        self.latency_ms.add(x.latency_ms);
    }
}

/// One window's table of one VM. Not thread-safe by design: a VM is single-threaded.
#[derive(Debug)]
pub struct Aggregator {
    mode: Mode,
    max_keys: usize,
    window_start: u64,
    /// std's keyed hasher, not Fx: the keys are attacker-chosen paths (HashDoS), and wasip1's
    /// RandomState is seeded from the host's random source.
    table: HashMap<Key, Stats>,
    overflow: Option<Stats>,
}

impl Aggregator {
    /// An empty table whose first window starts at `now` (ns since the epoch); `mode` is the
    /// filter's, written in every line.
    pub fn new(config: &Observe, mode: Mode, now: u64) -> Aggregator {
        Aggregator {
            mode,
            max_keys: usize::try_from(config.max_keys).unwrap_or(usize::MAX).max(1),
            window_start: now,
            table: HashMap::default(),
            overflow: None,
        }
    }

    /// Counts one finished request at `now`.
    pub fn record(&mut self, request: RequestKey, x: &Exchange<'_>, now: u64) -> Recorded {
        let key = Key {
            request,
            status_class: StatusClass::of(x.status),
            content_type: x.content_type.and_then(media_type),
        };
        if let Some(stats) = self.table.get_mut(&key) {
            stats.add(x, now);
            return Recorded::Kept;
        }
        if self.table.len() < self.max_keys {
            let mut stats = Stats::new(now);
            stats.add(x, now);
            self.table.insert(key, stats);
            Recorded::Kept
        } else {
            self.overflow.get_or_insert_with(|| Stats::new(now)).add(x, now);
            Recorded::Overflow
        }
    }

    /// Keys held in the current window.
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// Whether the current window has seen no request.
    pub fn is_empty(&self) -> bool {
        self.table.is_empty() && self.overflow.is_none()
    }

    /// Ends the window at `now`: its lines (prefix and JSON; sorted, the overflow line last;
    /// none for a window without requests), and an empty table for the next window.
    pub fn flush(&mut self, now: u64) -> Vec<String> {
        let window = (rfc3339_millis(self.window_start), rfc3339_millis(now));
        self.window_start = now;
        let mut lines: Vec<String> = self
            .table
            .drain()
            .map(|(key, stats)| line(self.mode, &window, Some(&key), &stats))
            .collect();
        lines.sort_unstable();
        if let Some(stats) = self.overflow.take() {
            lines.push(line(self.mode, &window, None, &stats));
        }
        lines
    }
}

/// The JSON of one line (field order as docs/schema/observation-event.schema.json lists them).
#[derive(Serialize)]
struct Event<'a> {
    v: u8,
    #[serde(rename = "type")]
    kind: &'static str,
    window_start: &'a str,
    window_end: &'a str,
    first_seen: String,
    last_seen: String,
    mode: Mode,
    principal: Option<&'a str>,
    namespace: Option<&'a str>,
    source_ip: Option<String>,
    remote_ip: Option<String>,
    request_principal: Option<&'a str>,
    host: Option<&'a str>,
    destination: Option<&'a str>,
    sni: Option<&'a str>,
    direction: Option<&'static str>,
    internet: Option<bool>,
    method: Option<&'a str>,
    path: Option<&'a str>,
    status_class: Option<&'static str>,
    content_type: Option<&'a str>,
    count: u64,
    decisions: DecisionCounts,
    request_bytes: SumMax,
    response_bytes: SumMax,
    latency_ms: SumMax,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    overflow: bool,
}

/// One line; `key` is `None` for the overflow line (every key field null).
fn line(mode: Mode, window: &(String, String), key: Option<&Key>, s: &Stats) -> String {
    let r = key.map(|k| &k.request);
    let e = Event {
        v: 1,
        kind: "observation",
        window_start: &window.0,
        window_end: &window.1,
        first_seen: rfc3339_millis(s.first_seen),
        last_seen: rfc3339_millis(s.last_seen),
        mode,
        principal: r.and_then(|r| r.principal.as_deref()),
        namespace: r.and_then(|r| r.namespace.as_deref()),
        source_ip: r.and_then(|r| r.source_ip).map(|ip| ip.to_string()),
        remote_ip: r.and_then(|r| r.remote_ip).map(|ip| ip.to_string()),
        request_principal: r.and_then(|r| r.request_principal.as_deref()),
        host: r.and_then(|r| r.host.as_deref()),
        destination: r.and_then(|r| r.destination.as_deref()),
        sni: r.and_then(|r| r.sni.as_deref()),
        direction: r.and_then(|r| r.direction),
        internet: r.and_then(|r| r.internet),
        method: r.and_then(|r| r.method.as_deref()),
        path: r.and_then(|r| r.path.as_deref()),
        status_class: key.map(|k| k.status_class.as_str()),
        content_type: key.and_then(|k| k.content_type.as_deref()),
        count: s.count,
        decisions: s.decisions,
        request_bytes: s.request_bytes,
        response_bytes: s.response_bytes,
        latency_ms: s.latency_ms,
        overflow: key.is_none(),
    };
    // Serializing plain strings, numbers and options cannot fail.
    format!("{OBSERVATION_PREFIX}{}", serde_json::to_string(&e).unwrap_or_default())
}

#[cfg(test)]
mod tests;
