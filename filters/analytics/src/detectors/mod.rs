//! The detectors: each watches one behaviour on one part of a record.
//!
//! A detector's `decay` brings its state up to `now` by elapsed time (called lazily on every
//! access and by the sweep, so an idle entity costs nothing); its `observe` folds one request in
//! and returns a [`Finding`] when the behaviour crosses its threshold. The engine turns a finding
//! into an alert (and, in enforce mode, a block).

use serde::Serialize;

pub mod brute_force;
pub mod crawling;
pub mod first_seen_endpoint;
pub mod new_caller;
pub mod new_egress;
pub mod novelty;
pub mod probing;
pub mod rate_spike;
pub mod response_size;

/// Number of detectors (the size of a record's `until` array).
pub const DETECTORS: usize = 8;

/// A detector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Detector {
    /// Many distinct 404/403 paths.
    Probing,
    /// Failed logins over many usernames (per source) or many sources (per username).
    BruteForce,
    /// Many distinct paths.
    Crawling,
    /// Request rate far above the entity's own baseline.
    RateSpike,
    /// An identity calls an endpoint it never called, after learning.
    FirstSeenEndpoint,
    /// A response far larger than the endpoint's baseline.
    ResponseSize,
    /// A workload is called by a principal it never saw, after learning.
    NewCaller,
    /// A workload calls a host it never called, after learning.
    NewEgress,
}

impl Detector {
    /// Every detector, in `until` index order.
    pub const ALL: [Detector; DETECTORS] = [
        Detector::Probing,
        Detector::BruteForce,
        Detector::Crawling,
        Detector::RateSpike,
        Detector::FirstSeenEndpoint,
        Detector::ResponseSize,
        Detector::NewCaller,
        Detector::NewEgress,
    ];

    /// Index in a record's `until` array.
    pub fn index(self) -> usize {
        self as usize
    }

    /// The detector's name in configuration and alerts.
    pub fn name(self) -> &'static str {
        match self {
            Detector::Probing => "probing",
            Detector::BruteForce => "brute_force",
            Detector::Crawling => "crawling",
            Detector::RateSpike => "rate_spike",
            Detector::FirstSeenEndpoint => "first_seen_endpoint",
            Detector::ResponseSize => "response_size",
            Detector::NewCaller => "new_caller",
            Detector::NewEgress => "new_egress",
        }
    }
}

/// What a detector saw when it fired.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Finding {
    /// The entity's usual value (mean, known items), when the detector has one.
    pub baseline: Option<f64>,
    /// The value that crossed the threshold.
    pub observed: Option<f64>,
    /// The threshold crossed.
    pub threshold: Option<f64>,
    /// The window the values cover, seconds.
    pub window_secs: Option<u32>,
    /// A novelty (one new item): alerted every time, not once per episode.
    pub novelty: bool,
}

impl Finding {
    /// A threshold crossing.
    pub fn crossing(baseline: Option<f64>, observed: f64, threshold: f64, window_secs: Option<u32>) -> Self {
        Self {
            baseline,
            observed: Some(observed),
            threshold: Some(threshold),
            window_secs,
            novelty: false,
        }
    }
}
