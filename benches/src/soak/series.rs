//! The soak's time series (one row per interval), its CSV, and the verdict: errors, a crash,
//! or memory growth fail the run.
//!
//! # Growth rule
//!
//! For the WAF VM memory (the `meshward_waf.wasm_memory_bytes` gauge) and for Envoy's resident
//! memory, the value at the end of the run is compared with the value at the end of the first
//! quarter (the last sample at or before a quarter of the duration). The run fails when the end
//! is above that reference by more than the margin:
//!
//! * WAF VM memory: [`VM_MARGIN_BYTES`] (2 MiB, 32 wasm pages, an eighth of a VM's 16 MiB);
//! * Envoy RSS: [`RSS_MARGIN_KIB`] (32 MiB) or [`RSS_MARGIN_SHARE`] (10 %) of the reference,
//!   whichever is larger.
//!
//! Why: the first quarter absorbs the warm-up, where memory legitimately grows (the allocator
//! reaches its working set, V8 tiers up code, connection pools and stats fill). After it, the
//! traffic mix is constant, so a process that does not leak stays flat. Wasm linear memory
//! never shrinks, so a leak inside a VM can only show as growth; RSS is noisier (malloc arenas,
//! buffers), hence its larger, proportional margin. The end is compared with one reference
//! rather than fitting a slope so the rule is easy to check by hand from the CSV. Over a
//! one-hour run at 100 requests/s (270,000 requests after the first quarter) the margins catch
//! a leak of about 8 bytes per request in the VM and 125 bytes per request in RSS; the
//! one-minute CI run catches crashes, errors and only gross leaks.

use std::fmt::Write as _;
use std::time::Duration;

use crate::load::stats::percentile;

use super::driver::Tally;

/// Allowed growth of the WAF VM memory after the first quarter, in bytes.
pub const VM_MARGIN_BYTES: u64 = 2 << 20;
/// Allowed growth of Envoy's RSS after the first quarter, in KiB (at least).
pub const RSS_MARGIN_KIB: u64 = 32 << 10;
/// Allowed growth of Envoy's RSS after the first quarter, as a share of it (at least).
pub const RSS_MARGIN_SHARE: f64 = 0.10;

/// One interval's figures.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Row {
    /// Seconds since traffic started, at the end of the interval.
    pub elapsed_s: f64,
    /// Requests sent in the interval.
    pub requests: u64,
    /// Unexpected answers and failed requests in the interval.
    pub errors: u64,
    /// Median latency of the interval's answers, ms.
    pub p50_ms: f64,
    /// 99th percentile latency of the interval's answers, ms.
    pub p99_ms: f64,
    /// The WAF VM memory gauge, bytes (`None`: not readable).
    pub vm_memory_bytes: Option<u64>,
    /// Envoy's `VmRSS`, KiB (`None`: not readable).
    pub rss_kib: Option<u64>,
}

impl Row {
    /// The row of an interval ending at `elapsed`, from what the client tallied and the gauges.
    pub fn from_tally(elapsed: Duration, mut tally: Tally, vm_memory_bytes: Option<u64>, rss_kib: Option<u64>) -> Row {
        tally.latencies_us.sort_unstable();
        Row {
            elapsed_s: elapsed.as_secs_f64(),
            requests: tally.requests,
            errors: tally.errors,
            p50_ms: percentile(&tally.latencies_us, 0.50) / 1000.0,
            p99_ms: percentile(&tally.latencies_us, 0.99) / 1000.0,
            vm_memory_bytes,
            rss_kib,
        }
    }
}

/// Header of the CSV.
pub const CSV_HEADER: &str = "elapsed_s,requests,errors,p50_ms,p99_ms,waf_vm_memory_bytes,envoy_rss_kib";

/// One CSV line (no newline); an unreadable gauge is an empty field.
pub fn csv_line(row: &Row) -> String {
    let opt = |v: Option<u64>| v.map_or(String::new(), |v| v.to_string());
    format!(
        "{:.1},{},{},{:.2},{:.2},{},{}",
        row.elapsed_s,
        row.requests,
        row.errors,
        row.p50_ms,
        row.p99_ms,
        opt(row.vm_memory_bytes),
        opt(row.rss_kib)
    )
}

/// The whole CSV.
pub fn csv(rows: &[Row]) -> String {
    let mut out = String::from(CSV_HEADER);
    out.push('\n');
    for row in rows {
        let _ = writeln!(out, "{}", csv_line(row));
    }
    out
}

/// A memory series' reference (end of the first quarter), end, and limit.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Growth {
    /// Value at the end of the first quarter.
    pub reference: u64,
    /// Value at the end.
    pub end: u64,
    /// The largest end that passes.
    pub limit: u64,
}

impl Growth {
    /// Whether the end is above the limit.
    pub fn exceeded(&self) -> bool {
        self.end > self.limit
    }
}

/// The index of the row ending the first quarter of a run of `duration`: the last row at or
/// before a quarter of it (the first row if none is).
pub fn quarter_index(rows: &[Row], duration: Duration) -> usize {
    let quarter = duration.as_secs_f64() / 4.0;
    rows.iter().rposition(|r| r.elapsed_s <= quarter + 1e-9).unwrap_or(0)
}

/// The growth of the WAF VM memory (see the module's rule); `None` without both readings.
pub fn vm_growth(rows: &[Row], duration: Duration) -> Option<Growth> {
    let reference = rows.get(quarter_index(rows, duration))?.vm_memory_bytes?;
    let end = rows.last()?.vm_memory_bytes?;
    Some(Growth {
        reference,
        end,
        limit: reference + VM_MARGIN_BYTES,
    })
}

/// The growth of Envoy's RSS (see the module's rule); `None` without both readings.
pub fn rss_growth(rows: &[Row], duration: Duration) -> Option<Growth> {
    let reference = rows.get(quarter_index(rows, duration))?.rss_kib?;
    let end = rows.last()?.rss_kib?;
    let share = (reference as f64 * RSS_MARGIN_SHARE).ceil() as u64;
    Some(Growth {
        reference,
        end,
        limit: reference + RSS_MARGIN_KIB.max(share),
    })
}

/// The run's outcome: passed when `failures` is empty.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Verdict {
    /// Why the run failed, one line each.
    pub failures: Vec<String>,
    /// Requests sent.
    pub requests: u64,
    /// Unexpected answers and failed requests.
    pub errors: u64,
    /// The WAF VM memory growth.
    pub vm: Option<Growth>,
    /// Envoy's RSS growth.
    pub rss: Option<Growth>,
    /// The largest interval p99, ms.
    pub worst_p99_ms: f64,
}

impl Verdict {
    /// Whether the run passed.
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }
}

/// Judges a run of `duration`: `crash` is Envoy's exit (with its log tail) if it stopped,
/// `unexpected` the errors by kind.
pub fn verdict(
    rows: &[Row],
    duration: Duration,
    crash: Option<&str>,
    unexpected: &std::collections::BTreeMap<String, u64>,
) -> Verdict {
    let mut v = Verdict {
        requests: rows.iter().map(|r| r.requests).sum(),
        errors: rows.iter().map(|r| r.errors).sum(),
        vm: vm_growth(rows, duration),
        rss: rss_growth(rows, duration),
        worst_p99_ms: rows.iter().map(|r| r.p99_ms).fold(0.0, f64::max),
        ..Verdict::default()
    };
    if let Some(crash) = crash {
        v.failures.push(format!("Envoy stopped during the run: {crash}"));
    }
    if v.requests == 0 {
        v.failures.push("no request was sent".into());
    }
    if v.errors > 0 {
        let detail: Vec<String> = unexpected.iter().map(|(what, n)| format!("{what} ×{n}")).collect();
        v.failures.push(format!(
            "{} of {} requests failed or had an unexpected status: {}",
            v.errors,
            v.requests,
            detail.join("; ")
        ));
    }
    match v.vm {
        Some(g) if g.exceeded() => v.failures.push(format!(
            "WAF VM memory grew from {} bytes at the end of the first quarter to {} at the end (limit {}: +{} MiB)",
            g.reference,
            g.end,
            g.limit,
            VM_MARGIN_BYTES >> 20
        )),
        Some(_) => {}
        // After a crash the gauges are gone: the crash is the failure to report.
        None if crash.is_some() => {}
        None => v.failures.push("the WAF VM memory gauge was not readable".into()),
    }
    match v.rss {
        Some(g) if g.exceeded() => v.failures.push(format!(
            "Envoy RSS grew from {} KiB at the end of the first quarter to {} KiB at the end (limit {} KiB)",
            g.reference, g.end, g.limit
        )),
        Some(_) => {}
        None if crash.is_some() => {}
        None => v.failures.push("Envoy's RSS was not readable".into()),
    }
    v
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn row(elapsed_s: f64, vm: u64, rss: u64) -> Row {
        Row {
            elapsed_s,
            requests: 500,
            p99_ms: 4.0,
            vm_memory_bytes: Some(vm),
            rss_kib: Some(rss),
            ..Row::default()
        }
    }

    const MIB: u64 = 1 << 20;

    /// Twelve 5-second rows of a 60 s run: warm-up growth in the first quarter, then flat.
    fn steady() -> Vec<Row> {
        (1..=12u32)
            .map(|i| {
                let warm = u64::from(i.min(3));
                row(f64::from(i) * 5.0, 10 * MIB + warm * MIB, 200 * 1024 + warm * 10 * 1024)
            })
            .collect()
    }

    #[test]
    fn the_reference_is_the_last_row_of_the_first_quarter() {
        assert_eq!(quarter_index(&steady(), Duration::from_secs(60)), 2, "15 s");
        assert_eq!(
            quarter_index(&steady(), Duration::from_secs(8)),
            0,
            "none before: the first"
        );
    }

    #[test]
    fn a_flat_run_after_warm_up_passes() {
        let v = verdict(&steady(), Duration::from_secs(60), None, &BTreeMap::new());
        assert!(v.passed(), "{:?}", v.failures);
        assert_eq!((v.requests, v.errors), (6000, 0));
        assert_eq!(v.vm.unwrap().reference, 13 * MIB);
        assert_eq!(v.rss.unwrap().limit, 230 * 1024 + 32 * 1024);
    }

    #[test]
    fn growth_past_the_margin_fails() {
        let mut rows = steady();
        let last = rows.last_mut().unwrap();
        last.vm_memory_bytes = Some(13 * MIB + VM_MARGIN_BYTES + 1);
        let v = verdict(&rows, Duration::from_secs(60), None, &BTreeMap::new());
        assert_eq!(v.failures.len(), 1, "{:?}", v.failures);
        assert!(v.failures[0].starts_with("WAF VM memory grew"));
        // Exactly at the limit passes; RSS above 10 % of a large reference fails.
        let mut rows = steady();
        rows.last_mut().unwrap().vm_memory_bytes = Some(13 * MIB + VM_MARGIN_BYTES);
        for r in &mut rows {
            r.rss_kib = Some(r.rss_kib.unwrap() * 2);
        }
        rows.last_mut().unwrap().rss_kib = Some(460 * 1024 + 47 * 1024);
        let v = verdict(&rows, Duration::from_secs(60), None, &BTreeMap::new());
        assert_eq!(v.failures.len(), 1, "{:?}", v.failures);
        assert!(v.failures[0].starts_with("Envoy RSS grew"), "{:?}", v.failures);
    }

    #[test]
    fn errors_a_crash_and_missing_gauges_fail() {
        let mut rows = steady();
        rows[5].errors = 3;
        rows[7].vm_memory_bytes = None;
        let unexpected = BTreeMap::from([("GET with SQLi (h1): got 200".to_string(), 3)]);
        let v = verdict(&rows, Duration::from_secs(60), Some("exit status: 139"), &unexpected);
        assert_eq!(v.failures.len(), 2, "{:?}", v.failures);
        assert!(v.failures[0].contains("139"));
        assert!(v.failures[1].contains("GET with SQLi (h1): got 200 ×3"));
        rows.last_mut().unwrap().vm_memory_bytes = None;
        let v = verdict(&rows, Duration::from_secs(60), None, &BTreeMap::new());
        assert!(v.failures.iter().any(|f| f.contains("not readable")));
        // After a crash only the crash (and the errors) are reported.
        let v = verdict(&rows, Duration::from_secs(60), Some("gone"), &BTreeMap::new());
        assert_eq!(v.failures.len(), 2, "{:?}", v.failures);
    }

    #[test]
    fn rows_come_from_the_tally_and_print_as_csv() {
        let tally = Tally {
            latencies_us: (1..=100).rev().map(|i| i * 100).collect(),
            requests: 101,
            errors: 1,
            unexpected: BTreeMap::new(),
        };
        let r = Row::from_tally(Duration::from_secs(5), tally, Some(123), None);
        assert_eq!((r.p50_ms, r.p99_ms), (5.0, 9.9));
        assert_eq!(csv_line(&r), "5.0,101,1,5.00,9.90,123,");
        let text = csv(&[r]);
        assert!(text.starts_with(CSV_HEADER));
        assert_eq!(text.lines().count(), 2);
    }
}
