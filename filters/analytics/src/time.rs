//! Timestamps: milliseconds since the Unix epoch, shown as RFC 3339 UTC in alerts.

/// Whole seconds of a millisecond timestamp, as records store them (u32: until 2106).
pub fn secs(ms: u64) -> u32 {
    u32::try_from(ms / 1000).unwrap_or(u32::MAX)
}

/// `ms` as `YYYY-MM-DDTHH:MM:SS.mmmZ` (the events' format, shared by every filter).
pub fn rfc3339(ms: u64) -> String {
    meshward_vocab::time::rfc3339_millis(ms.saturating_mul(1_000_000))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(rfc3339(1_796_672_788_123), "2026-12-07T19:46:28.123Z");
    }

    #[test]
    fn seconds_saturate() {
        assert_eq!(secs(1_999), 1);
        assert_eq!(secs(u64::MAX), u32::MAX);
    }
}
