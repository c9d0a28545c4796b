//! The analytics configuration: table size, hash key, and each detector's thresholds and mode.

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Whether a detector only reports, or also refuses the entity's requests for a while.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Alert only.
    #[default]
    Detect,
    /// Alert, and refuse the entity's requests until the block expires.
    Enforce,
}

/// What enforce mode does to a flagged entity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields, default)]
pub struct Action {
    /// Response status: 429 or 403.
    pub status: u16,
    /// How long the entity stays blocked (and, in detect mode, how long a repeat is not re-alerted).
    pub duration_secs: u32,
}

impl Default for Action {
    fn default() -> Self {
        Self {
            status: 429,
            duration_secs: 300,
        }
    }
}

/// Settings every detector has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields, default)]
pub struct Common {
    /// Whether the detector runs.
    pub enabled: bool,
    /// Detect or enforce.
    pub mode: Mode,
    /// The enforce action.
    pub action: Action,
}

impl Default for Common {
    fn default() -> Self {
        Self {
            enabled: true,
            mode: Mode::Detect,
            action: Action::default(),
        }
    }
}

/// `probing`: a leaky bucket of distinct error paths per entity.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields, default)]
pub struct Probing {
    /// Mode and action.
    pub common: Common,
    /// Statuses that count as a probe.
    pub statuses: Vec<u16>,
    /// Level at which the detector fires.
    pub capacity: f32,
    /// Drain per minute.
    pub leak_per_min: f32,
}

impl Default for Probing {
    fn default() -> Self {
        Self {
            common: Common::default(),
            statuses: vec![403, 404],
            capacity: 20.0,
            leak_per_min: 6.0,
        }
    }
}

/// `brute_force`: failed authentications over distinct usernames or sources.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields, default)]
pub struct BruteForce {
    /// Mode and action.
    pub common: Common,
    /// Path templates of the authentication endpoints (any method).
    pub endpoints: Vec<String>,
    /// Statuses that mean a failed attempt.
    pub statuses: Vec<u16>,
    /// Window, seconds.
    pub window_secs: u32,
    /// Distinct usernames one source may fail on per window.
    pub usernames_per_source: f32,
    /// Distinct sources that may fail on one username per window.
    pub sources_per_username: f32,
}

impl Default for BruteForce {
    fn default() -> Self {
        Self {
            common: Common::default(),
            endpoints: vec!["/login".into()],
            statuses: vec![401, 403],
            window_secs: 300,
            usernames_per_source: 10.0,
            sources_per_username: 10.0,
        }
    }
}

/// `crawling`: distinct paths per entity per window.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields, default)]
pub struct Crawling {
    /// Mode and action.
    pub common: Common,
    /// Window, seconds.
    pub window_secs: u32,
    /// Distinct paths per window at which it fires (the sketch tops out near 600).
    pub distinct_paths: f32,
}

impl Default for Crawling {
    fn default() -> Self {
        Self {
            common: Common::default(),
            window_secs: 60,
            distinct_paths: 60.0,
        }
    }
}

/// `rate_spike`: the request rate per bucket against its EWMA.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields, default)]
pub struct RateSpike {
    /// Mode and action.
    pub common: Common,
    /// Bucket, seconds.
    pub bucket_secs: u32,
    /// EWMA weight of a bucket.
    pub alpha: f32,
    /// Standard deviations above the mean at which it fires.
    pub z: f32,
    /// Closed buckets before it may fire.
    pub warmup_buckets: u32,
    /// Requests in a bucket below which it never fires.
    pub min_count: u32,
}

impl Default for RateSpike {
    fn default() -> Self {
        Self {
            common: Common::default(),
            bucket_secs: 10,
            alpha: 0.1,
            z: 6.0,
            warmup_buckets: 30,
            min_count: 30,
        }
    }
}

/// Novelty detectors (`first_seen_endpoint`, `new_caller`, `new_egress`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields, default)]
pub struct Novelty {
    /// Mode and action.
    pub common: Common,
    /// Learning period from the entity's first observation, seconds.
    pub learning_secs: u32,
}

impl Default for Novelty {
    fn default() -> Self {
        Self {
            common: Common::default(),
            learning_secs: 86_400,
        }
    }
}

/// `response_size`: per endpoint, response size z-score.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields, default)]
pub struct ResponseSize {
    /// Mode and action.
    pub common: Common,
    /// EWMA weight of a response.
    pub alpha: f32,
    /// Standard deviations above the mean at which it fires.
    pub z: f32,
    /// Responses before it may fire.
    pub warmup: u32,
    /// Responses smaller than this never fire.
    pub min_bytes: u64,
}

impl Default for ResponseSize {
    fn default() -> Self {
        Self {
            common: Common::default(),
            alpha: 0.05,
            z: 6.0,
            warmup: 50,
            min_bytes: 65_536,
        }
    }
}

/// The analytics configuration.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Slots in the table (one entity each).
    pub slots: u32,
    /// Fingerprint key: 32 hex digits. Every VM sharing the table needs the same one; keep it
    /// secret (a known key lets clients aim at one slot).
    pub key: String,
    /// Store attempts per entity when compare-and-swap conflicts.
    pub max_retries: u8,
    /// A record idle this long is cleared by the sweep, seconds.
    pub idle_secs: u32,
    /// Probing.
    pub probing: Probing,
    /// Brute force.
    pub brute_force: BruteForce,
    /// Crawling.
    pub crawling: Crawling,
    /// Rate spikes.
    pub rate_spike: RateSpike,
    /// First-seen endpoint per identity.
    pub first_seen_endpoint: Novelty,
    /// Response size outliers per endpoint.
    pub response_size: ResponseSize,
    /// New callers per workload.
    pub new_caller: Novelty,
    /// New egress hosts per workload.
    pub new_egress: Novelty,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            slots: 10_000,
            key: String::new(),
            max_retries: 3,
            idle_secs: 3_600,
            probing: Probing::default(),
            brute_force: BruteForce::default(),
            crawling: Crawling::default(),
            rate_spike: RateSpike::default(),
            first_seen_endpoint: Novelty::default(),
            response_size: ResponseSize::default(),
            new_caller: Novelty::default(),
            new_egress: Novelty::default(),
        }
    }
}

/// A configuration the engine refuses.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum ConfigError {
    /// `key` is not 32 hex digits.
    #[error("key: expected 32 hex digits (128 bits), got {len} characters")]
    Key {
        /// Characters given.
        len: usize,
    },
    /// `key` is all zeros.
    #[error("key: must not be all zeros")]
    ZeroKey,
    /// `slots` is 0.
    #[error("slots: must be at least 1")]
    Slots,
    /// A detector's setting is out of range.
    #[error("{detector}.{field}: {why}")]
    Setting {
        /// The detector.
        detector: &'static str,
        /// The setting.
        field: &'static str,
        /// What is wrong.
        why: &'static str,
    },
}

impl Config {
    /// The parsed fingerprint key.
    pub fn parse_key(&self) -> Result<[u64; 2], ConfigError> {
        let k = self.key.trim();
        if k.len() != 32 || !k.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(ConfigError::Key { len: k.len() });
        }
        let hi = u64::from_str_radix(k.get(..16).unwrap_or(""), 16).map_err(|_| ConfigError::Key { len: k.len() })?;
        let lo = u64::from_str_radix(k.get(16..).unwrap_or(""), 16).map_err(|_| ConfigError::Key { len: k.len() })?;
        if hi == 0 && lo == 0 {
            return Err(ConfigError::ZeroKey);
        }
        Ok([hi, lo])
    }

    /// Checks every setting (configure time).
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.parse_key()?;
        if self.slots == 0 {
            return Err(ConfigError::Slots);
        }
        let commons = [
            ("probing", &self.probing.common),
            ("brute_force", &self.brute_force.common),
            ("crawling", &self.crawling.common),
            ("rate_spike", &self.rate_spike.common),
            ("first_seen_endpoint", &self.first_seen_endpoint.common),
            ("response_size", &self.response_size.common),
            ("new_caller", &self.new_caller.common),
            ("new_egress", &self.new_egress.common),
        ];
        for (detector, c) in commons {
            if !matches!(c.action.status, 403 | 429) {
                return Err(ConfigError::Setting {
                    detector,
                    field: "action.status",
                    why: "must be 403 or 429",
                });
            }
        }
        let positive = [
            ("probing", "capacity", self.probing.capacity),
            ("probing", "leak_per_min", self.probing.leak_per_min),
            (
                "brute_force",
                "usernames_per_source",
                self.brute_force.usernames_per_source,
            ),
            (
                "brute_force",
                "sources_per_username",
                self.brute_force.sources_per_username,
            ),
            ("crawling", "distinct_paths", self.crawling.distinct_paths),
            ("rate_spike", "z", self.rate_spike.z),
            ("response_size", "z", self.response_size.z),
        ];
        for (detector, field, v) in positive {
            if !(v.is_finite() && v > 0.0) {
                return Err(ConfigError::Setting {
                    detector,
                    field,
                    why: "must be a positive number",
                });
            }
        }
        for (detector, alpha) in [
            ("rate_spike", self.rate_spike.alpha),
            ("response_size", self.response_size.alpha),
        ] {
            if !(alpha > 0.0 && alpha <= 1.0) {
                return Err(ConfigError::Setting {
                    detector,
                    field: "alpha",
                    why: "must be in (0, 1]",
                });
            }
        }
        let windows = [
            ("brute_force", "window_secs", self.brute_force.window_secs),
            ("crawling", "window_secs", self.crawling.window_secs),
            ("rate_spike", "bucket_secs", self.rate_spike.bucket_secs),
        ];
        for (detector, field, v) in windows {
            if v == 0 {
                return Err(ConfigError::Setting {
                    detector,
                    field,
                    why: "must be at least 1",
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_key() -> Config {
        Config {
            key: "00112233445566778899aabbccddeeff".into(),
            ..Config::default()
        }
    }

    #[test]
    fn parses_a_document_with_defaults_for_the_rest() {
        let c: Config = serde_json::from_str(
            r#"{"key": "00112233445566778899aabbccddeeff", "slots": 100000,
                "probing": {"common": {"mode": "enforce", "action": {"status": 403}}}}"#,
        )
        .unwrap();
        assert_eq!(c.slots, 100_000);
        assert_eq!(c.probing.common.mode, Mode::Enforce);
        assert_eq!(
            c.probing.common.action,
            Action {
                status: 403,
                duration_secs: 300
            }
        );
        assert_eq!(c.crawling, Crawling::default());
        assert_eq!(c.parse_key().unwrap(), [0x0011_2233_4455_6677, 0x8899_aabb_ccdd_eeff]);
        c.validate().unwrap();
        assert!(serde_json::from_str::<Config>(r#"{"surprise": 1}"#).is_err());
    }

    #[test]
    fn refuses_missing_or_weak_keys_and_bad_settings() {
        assert_eq!(Config::default().validate(), Err(ConfigError::Key { len: 0 }));
        let zero = Config {
            key: "0".repeat(32),
            ..Config::default()
        };
        assert_eq!(zero.validate(), Err(ConfigError::ZeroKey));
        let mut c = with_key();
        c.slots = 0;
        assert_eq!(c.validate(), Err(ConfigError::Slots));
        let mut c = with_key();
        c.crawling.common.action.status = 500;
        assert!(c
            .validate()
            .unwrap_err()
            .to_string()
            .starts_with("crawling.action.status"));
        let mut c = with_key();
        c.rate_spike.alpha = 0.0;
        assert!(c.validate().is_err());
        let mut c = with_key();
        c.probing.capacity = f32::NAN;
        assert!(c.validate().is_err());
        let mut c = with_key();
        c.crawling.window_secs = 0;
        assert!(c.validate().is_err());
    }
}
