//! Alerts (the evidence event, `docs/schema/alert-event.schema.json`) and enforcements.

use serde::Serialize;

use crate::config::Mode;
use crate::detectors::Detector;
use crate::entity::EntityKind;

/// An alert: one detector fired for one entity. Serializes to the evidence event.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alert {
    /// Format version (1).
    pub v: u8,
    /// Always `"alert"`.
    #[serde(rename = "type")]
    pub event_type: &'static str,
    /// When it fired (RFC 3339 UTC).
    pub time: String,
    /// The detector.
    pub detector: Detector,
    /// The entity's kind.
    pub entity_kind: EntityKind,
    /// The entity (a username only as its keyed fingerprint `fp:…`).
    pub entity: String,
    /// The item involved: the new endpoint, caller or host; the caller of an outsized response;
    /// the source of a failed login on a username. Never a username.
    pub subject: Option<String>,
    /// The detector's mode.
    pub mode: Mode,
    /// True when the entity's requests are refused until `blocked_until` (enforce mode).
    pub enforced: bool,
    /// The refusal status (enforce mode).
    pub status: Option<u16>,
    /// End of the block (enforce) or of the alert's quiet period (detect), RFC 3339 UTC.
    pub blocked_until: Option<String>,
    /// The entity's usual value (mean rate or size, items known).
    pub baseline: Option<f64>,
    /// The value that crossed the threshold.
    pub observed: Option<f64>,
    /// The threshold.
    pub threshold: Option<f64>,
    /// The window the values cover, seconds (the learning period for novelties).
    pub window_secs: Option<u32>,
    /// The entity's first observation in its current record (RFC 3339 UTC).
    pub first_seen: String,
    /// The entity's last observation (RFC 3339 UTC).
    pub last_seen: String,
}

impl Alert {
    /// The event's JSON (what follows `meshward.analytics.alert ` in the log).
    pub fn to_json(&self) -> String {
        // Serializing plain strings, numbers and enums cannot fail; an empty object is the
        // harmless answer if it ever did.
        serde_json::to_string(self).unwrap_or_else(|_| "{}".into())
    }
}

/// A refusal at request start: an enforce-mode detector still blocks one of the entities.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Enforcement {
    /// The detector that blocked.
    pub detector: Detector,
    /// The blocked entity's kind.
    pub entity_kind: EntityKind,
    /// Response status (429 or 403).
    pub status: u16,
    /// Blocked until, ms since the epoch.
    pub until_ms: u64,
}

/// Rounds a reported value to 3 decimals (f32 state would otherwise show as 20.000000298).
pub(crate) fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}
