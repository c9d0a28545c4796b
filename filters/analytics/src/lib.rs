//! Per-entity behaviour analytics: the pure engine behind the policy filter's anomaly
//! detectors (probing, brute force, crawling, rate spikes, first-seen endpoints, outsized
//! responses, new callers and new egress hosts).
//!
//! State is one fixed-layout record (≤256 bytes) per entity — a principal, client IP, user,
//! username, endpoint or workload — in a bounded table of slots (two candidate slots per
//! fingerprint; a new entity takes a free one or evicts the idler record). The table is a [`Store`] read and written with
//! compare-and-swap, so the filter can keep it in Envoy shared data across VMs; [`MemoryStore`]
//! holds it in process. No proxy-wasm dependency. See docs/analytics.md.

#![warn(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

pub mod alert;
pub mod bitmap;
pub mod bloom;
pub mod config;
pub mod detectors;
pub mod engine;
pub mod entity;
pub mod ewma;
pub mod observation;
pub mod placement;
pub mod record;
pub mod siphash;
pub mod store;
pub mod time;

pub use alert::{Alert, Enforcement};
pub use config::{Config, ConfigError, Mode};
pub use detectors::Detector;
pub use engine::{request_entities, Analytics, Stats};
pub use entity::{Entity, EntityKind};
pub use observation::Observation;
pub use record::{Record, RECORD_LEN};
pub use store::{Cas, MemoryStore, Store, StoreError};
