//! The time format of every event's timestamps: RFC 3339 in UTC, to the millisecond.

/// `2026-12-07T20:00:00.123Z` from nanoseconds since the Unix epoch.
pub fn rfc3339_millis(nanos: u64) -> String {
    let secs = nanos / 1_000_000_000;
    let millis = (nanos / 1_000_000) % 1000;
    let (year, month, day) = civil_date(secs / 86_400);
    let rem = secs % 86_400;
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60
    )
}

/// (year, month, day) of a day counted from 1970-01-01, by the days-from-civil inverse of the
/// proleptic Gregorian calendar (eras of 400 years, years starting in March so the leap day is
/// last).
pub fn civil_date(days: u64) -> (u64, u64, u64) {
    // Unsigned throughout: the epoch is after 0000-03-01, so every intermediate is non-negative.
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_leap_days_and_year_ends() {
        assert_eq!(rfc3339_millis(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339_millis(951_782_400_123_000_000), "2000-02-29T00:00:00.123Z");
        assert_eq!(rfc3339_millis(951_868_799_999_999_999), "2000-02-29T23:59:59.999Z");
        assert_eq!(rfc3339_millis(1_798_761_599_000_000_000), "2026-12-31T23:59:59.000Z");
        assert_eq!(rfc3339_millis(1_798_761_600_000_000_000), "2027-01-01T00:00:00.000Z");
        // 2100 is not a leap year: 28 February is followed by 1 March.
        assert_eq!(rfc3339_millis(4_107_542_400_000_000_000), "2100-03-01T00:00:00.000Z");
        assert_eq!(rfc3339_millis(u64::MAX), "2554-07-21T23:34:33.709Z");
    }
}
