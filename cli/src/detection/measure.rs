//! Runs corpus entries through the WAF filter's own exchange (`meshward_waf::drive`, the way
//! Envoy calls the filter) in enforce mode and counts the requests it stops.

use std::collections::BTreeMap;
use std::rc::Rc;

use meshward_testkit::http1::Request;
use meshward_waf::drive;
use meshward_waf::exchange::Attributes;
use meshward_waf::loaded::Loaded;

use super::corpus::{Entry, Kind, Payload};
use super::shape::{self, Shape};

/// Body chunk size handed to the engine (Envoy's HTTP/1 codec reads at most 16 KiB at a time).
const BODY_CHUNK: usize = 16 * 1024;

/// Cases and how many were stopped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Count {
    /// Requests run.
    pub cases: usize,
    /// Requests the WAF stopped (they did not reach the upstream).
    pub stopped: usize,
}

impl Count {
    /// Adds another count.
    pub fn add(&mut self, other: Count) {
        self.cases += other.cases;
        self.stopped += other.stopped;
    }
}

/// Counts per split and kind (attack family or benign).
pub type Tally = BTreeMap<(String, Kind), Count>;

/// One request that was stopped or passed, for listing the misses.
#[derive(Debug, Clone)]
pub struct Case<'a> {
    /// Its entry.
    pub entry: &'a Entry,
    /// Where the value was placed.
    pub shape: Shape,
    /// The WAF stopped it.
    pub stopped: bool,
    /// Ids of the rules that matched and log (CRS's bookkeeping excluded).
    pub rules: Vec<u64>,
}

/// What the WAF did with one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// It did not reach the upstream.
    pub stopped: bool,
    /// Ids of the rules that matched and log.
    pub rules: Vec<u64>,
}

/// The requests an entry becomes: one per value shape, or its raw request.
pub fn requests(entry: &Entry) -> Vec<(Shape, Request)> {
    match &entry.payload {
        Payload::Value(v) => Shape::VALUE_SHAPES
            .iter()
            .filter_map(|&s| shape::request(s, v).map(|r| (s, r)))
            .collect(),
        Payload::Request(r) => vec![(Shape::Raw, (**r).clone())],
    }
}

/// What the WAF does with `request`: whether it stops it (it does not reach the upstream),
/// and the rules that matched.
pub fn verdict(loaded: &Rc<Loaded>, request: &Request) -> Verdict {
    let request = drive::Request::from_http1(
        &request.method,
        &request.target,
        request.headers.iter(),
        &request.body,
        BODY_CHUNK,
    );
    let attributes = Attributes {
        client: "192.0.2.10:51234".into(),
        server: "10.0.0.5:8080".into(),
        protocol: Some("HTTP/1.1".into()),
        ..Attributes::default()
    };
    let upstream = || drive::Response::new(204, Vec::new(), Vec::new());
    match drive::drive(loaded.clone(), attributes, &request, upstream, 0) {
        Some(d) => Verdict {
            stopped: !d.upstream_reached,
            rules: d
                .transaction
                .matched_rules()
                .iter()
                .filter(|m| m.logged)
                .map(|m| m.id)
                .collect(),
        },
        None => Verdict {
            stopped: false,
            rules: Vec::new(),
        },
    }
}

/// Runs every entry's requests through `judge` (the engine: [`verdict`]; real Envoy:
/// [`super::envoy::EnvoyRun::verdict`]); calls `each` with every case.
pub fn run<'a, E>(
    entries: &'a [Entry],
    mut judge: impl FnMut(&Request) -> Result<Verdict, E>,
    mut each: impl FnMut(Case<'a>),
) -> Result<Tally, E> {
    let mut tally = Tally::new();
    for entry in entries {
        for (shape, request) in requests(entry) {
            let Verdict { stopped, rules } = judge(&request)?;
            let count = tally.entry((entry.split.clone(), entry.kind.clone())).or_default();
            count.add(Count {
                cases: 1,
                stopped: usize::from(stopped),
            });
            each(Case {
                entry,
                shape,
                stopped,
                rules,
            });
        }
    }
    Ok(tally)
}
