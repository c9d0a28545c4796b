//! Per-callback timing counters for benchmarks.

use std::collections::BTreeMap;
use std::time::Duration;

/// Cumulative time and count of one callback kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct CallbackTime {
    /// Number of calls.
    pub count: u64,
    /// Total wall time inside the module, in nanoseconds.
    pub total_ns: u64,
}

impl CallbackTime {
    /// Mean time per call.
    pub fn mean(&self) -> Duration {
        Duration::from_nanos(self.total_ns.checked_div(self.count).unwrap_or(0))
    }
}

/// Timing of every callback kind (`proxy_on_request_headers`...) a plugin ran.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct CallbackStats {
    /// Per export name.
    pub callbacks: BTreeMap<&'static str, CallbackTime>,
}

impl CallbackStats {
    /// Adds one call of `name` that took `elapsed`.
    pub fn record(&mut self, name: &'static str, elapsed: Duration) {
        let e = self.callbacks.entry(name).or_default();
        e.count += 1;
        e.total_ns += elapsed.as_nanos() as u64;
    }

    /// Timing of one callback kind.
    pub fn get(&self, name: &str) -> CallbackTime {
        self.callbacks.get(name).copied().unwrap_or_default()
    }
}
