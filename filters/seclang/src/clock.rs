//! Wall-clock values for the TIME* variables, computed in UTC, from a clock the embedder can set.
//!
//! A filter sets the proxy's clock with [`set_source`]: `wasm32-unknown-unknown` has no system
//! clock (std's `SystemTime::now` panics there), and in a proxy the host's time is the right one.

use std::sync::OnceLock;
use std::time::Duration;

static SOURCE: OnceLock<fn() -> Duration> = OnceLock::new();

/// Uses `source` (time since the unix epoch) for every later reading; the first call wins.
pub fn set_source(source: fn() -> Duration) {
    let _ = SOURCE.set(source);
}

/// Time since the unix epoch from the configured source, else the system clock (zero where the
/// target has none).
pub fn now() -> Duration {
    if let Some(source) = SOURCE.get() {
        return source();
    }
    system_now()
}

#[cfg(not(all(target_family = "wasm", target_os = "unknown")))]
fn system_now() -> Duration {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
}

#[cfg(all(target_family = "wasm", target_os = "unknown"))]
fn system_now() -> Duration {
    Duration::ZERO
}

/// Calendar fields of a unix time, in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CivilTime {
    /// Year, e.g. 2026.
    pub(crate) year: i64,
    /// Month 1-12.
    pub(crate) month: u32,
    /// Day of month 1-31.
    pub(crate) day: u32,
    /// Hour 0-23.
    pub(crate) hour: u32,
    /// Minute 0-59.
    pub(crate) minute: u32,
    /// Second 0-59.
    pub(crate) second: u32,
    /// Day of week, 0 = Sunday.
    pub(crate) weekday: u32,
}

/// Seconds since the unix epoch (0 if the clock is before it).
pub(crate) fn now_unix() -> u64 {
    now().as_secs()
}

/// Splits a unix time into UTC calendar fields (proleptic Gregorian calendar).
pub(crate) fn civil(unix: u64) -> CivilTime {
    let days = (unix / 86_400) as i64;
    let secs = unix % 86_400;
    let (year, month, day) = meshward_vocab::time::civil_date(unix / 86_400);
    CivilTime {
        year: year as i64,
        month: month as u32,
        day: day as u32,
        hour: (secs / 3600) as u32,
        minute: ((secs % 3600) / 60) as u32,
        second: (secs % 60) as u32,
        weekday: ((days + 4).rem_euclid(7)) as u32,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_dates() {
        let t = civil(0);
        assert_eq!((t.year, t.month, t.day, t.weekday), (1970, 1, 1, 4));
        // 2024-02-29T12:34:56Z, a Thursday.
        let t = civil(1_709_210_096);
        assert_eq!(
            (t.year, t.month, t.day, t.hour, t.minute, t.second, t.weekday),
            (2024, 2, 29, 12, 34, 56, 4)
        );
    }
}
