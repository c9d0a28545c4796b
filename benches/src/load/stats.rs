//! From requests to figures: one measurement's rate and latency percentiles, the median over
//! repetitions, and ratios between configurations.

use std::collections::BTreeMap;
use std::time::Duration;

use super::proxy::Configuration;
use super::vm::VmFigures;
use super::workload::Workload;

/// What the client saw during one measured interval.
#[derive(Clone, Debug, Default)]
pub struct Outcome {
    /// Latency of each completed request, in microseconds.
    pub latencies_us: Vec<u32>,
    /// Completed requests by status (gRPC calls with a non-zero `grpc-status` count as 502).
    pub statuses: BTreeMap<u16, u64>,
    /// Requests that failed (connection errors, malformed answers).
    pub errors: u64,
    /// The measured interval.
    pub elapsed: Duration,
}

impl Outcome {
    /// Adds another connection's outcome over the same interval.
    pub fn merge(&mut self, other: Outcome) {
        self.latencies_us.extend(other.latencies_us);
        for (status, n) in other.statuses {
            *self.statuses.entry(status).or_default() += n;
        }
        self.errors += other.errors;
        self.elapsed = self.elapsed.max(other.elapsed);
    }

    /// The figures of this interval; requests without the `expected` status count as unexpected.
    pub fn sample(mut self, expected: u16) -> Sample {
        self.latencies_us.sort_unstable();
        let completed = self.latencies_us.len() as u64;
        let secs = self.elapsed.as_secs_f64();
        let matching = self.statuses.get(&expected).copied().unwrap_or(0);
        Sample {
            rps: if secs > 0.0 { completed as f64 / secs } else { 0.0 },
            p50_ms: percentile(&self.latencies_us, 0.50) / 1000.0,
            p99_ms: percentile(&self.latencies_us, 0.99) / 1000.0,
            requests: completed,
            unexpected: completed - matching.min(completed) + self.errors,
        }
    }
}

/// The nearest-rank `q` quantile of sorted values (0 for none).
pub fn percentile(sorted: &[u32], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    f64::from(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// One measurement of one (workload, configuration) cell.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Sample {
    /// Completed requests per second.
    pub rps: f64,
    /// Median latency, ms.
    pub p50_ms: f64,
    /// 99th percentile latency, ms.
    pub p99_ms: f64,
    /// Completed requests.
    pub requests: u64,
    /// Requests with another status than expected, plus failed ones.
    pub unexpected: u64,
}

/// The median of `values` (the mean of the middle two for an even count; 0 for none).
pub fn median(values: &[f64]) -> f64 {
    let mut v: Vec<f64> = values.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => 0.0,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// The figures of a cell over its repetitions: the median of each, unexpected answers summed.
pub fn summarize(samples: &[Sample]) -> Sample {
    let of = |f: fn(&Sample) -> f64| median(&samples.iter().map(f).collect::<Vec<_>>());
    Sample {
        rps: of(|s| s.rps),
        p50_ms: of(|s| s.p50_ms),
        p99_ms: of(|s| s.p99_ms),
        requests: samples.iter().map(|s| s.requests).sum(),
        unexpected: samples.iter().map(|s| s.unexpected).sum(),
    }
}

/// Every measurement of a run, by cell, with the memory of each configuration.
#[derive(Clone, Debug, Default)]
pub struct Results {
    /// Measurements in repetition order.
    pub samples: BTreeMap<(Workload, Configuration), Vec<Sample>>,
    /// Resident memory of each configuration's processes, KiB: after warm-up and at the end.
    pub rss_kib: BTreeMap<Configuration, (u64, u64)>,
    /// What each WAF configuration's VMs reported (load time, linear memory).
    pub vms: BTreeMap<Configuration, VmFigures>,
}

impl Results {
    /// Records one measurement.
    pub fn add(&mut self, workload: Workload, config: Configuration, sample: Sample) {
        self.samples.entry((workload, config)).or_default().push(sample);
    }

    /// The median figures of a cell, if it was measured.
    pub fn cell(&self, workload: Workload, config: Configuration) -> Option<Sample> {
        self.samples.get(&(workload, config)).map(|s| summarize(s))
    }

    /// Median throughput of `config` over that of `baseline` on `workload`.
    pub fn ratio(&self, workload: Workload, config: Configuration, baseline: Configuration) -> Option<f64> {
        let a = self.cell(workload, config)?.rps;
        let b = self.cell(workload, baseline)?.rps;
        (b > 0.0).then_some(a / b)
    }

    /// The largest number of repetitions of any cell.
    pub fn reps(&self) -> usize {
        self.samples.values().map(Vec::len).max().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let v: Vec<u32> = (1..=100).collect();
        assert_eq!(percentile(&v, 0.50), 50.0);
        assert_eq!(percentile(&v, 0.99), 99.0);
        assert_eq!(percentile(&[7], 0.99), 7.0);
        assert_eq!(percentile(&[], 0.5), 0.0);
    }

    #[test]
    fn medians_of_odd_and_even_counts() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
        assert_eq!(median(&[]), 0.0);
    }

    #[test]
    fn outcome_becomes_rate_percentiles_and_unexpected() {
        let mut a = Outcome {
            latencies_us: vec![1000, 3000],
            statuses: BTreeMap::from([(200, 2)]),
            errors: 0,
            elapsed: Duration::from_secs(2),
        };
        a.merge(Outcome {
            latencies_us: vec![2000, 4000],
            statuses: BTreeMap::from([(200, 1), (403, 1)]),
            errors: 1,
            elapsed: Duration::from_secs(2),
        });
        let s = a.sample(200);
        assert_eq!(s.rps, 2.0);
        assert_eq!(s.p50_ms, 2.0);
        assert_eq!(s.p99_ms, 4.0);
        assert_eq!((s.requests, s.unexpected), (4, 2));
    }

    #[test]
    fn cells_are_medians_and_ratios_divide_them() {
        let mut r = Results::default();
        for rps in [100.0, 300.0, 200.0] {
            r.add(
                Workload::BrowserGet,
                Configuration::EnvoyEmptyWasm,
                Sample {
                    rps,
                    ..Sample::default()
                },
            );
        }
        for (rps, unexpected) in [(50.0, 1), (40.0, 0), (60.0, 2)] {
            r.add(
                Workload::BrowserGet,
                Configuration::WafEnforce,
                Sample {
                    rps,
                    unexpected,
                    ..Sample::default()
                },
            );
        }
        assert_eq!(
            r.cell(Workload::BrowserGet, Configuration::EnvoyEmptyWasm).unwrap().rps,
            200.0
        );
        let waf = r.cell(Workload::BrowserGet, Configuration::WafEnforce).unwrap();
        assert_eq!((waf.rps, waf.unexpected), (50.0, 3));
        assert_eq!(
            r.ratio(
                Workload::BrowserGet,
                Configuration::WafEnforce,
                Configuration::EnvoyEmptyWasm
            ),
            Some(0.25)
        );
        assert_eq!(
            r.ratio(
                Workload::BrowserGet,
                Configuration::WafEnforce,
                Configuration::ModSecurity
            ),
            None
        );
        assert_eq!(r.reps(), 3);
    }
}
