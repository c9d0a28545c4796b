//! Runs test cases and reports: one line per failure, a per-test result file, and the
//! closing `N passed, N failed` line.

use crate::check::{check, Mismatch, Observed};
use crate::drive::{self, Served};
use crate::format::Stage;
use crate::http1::{self, ProxyOptions};
use crate::load::Case;
use crate::skips::Skips;
use crate::wire;
use meshward_waf::loaded::Loaded;
use std::io::Write;
use std::path::Path;
use std::rc::Rc;

/// The outcome of one test case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Every stage met its expectations.
    Passed,
    /// A stage did not; the reason names the stage and what was wrong.
    Failed(String),
    /// Not run; the reason comes from skips.toml.
    Skipped(String),
    /// The proxy answers the request itself (verified against Envoy), so the WAF never sees
    /// it and the test's expectations about the WAF cannot be checked.
    ProxyRejected(String),
}

/// One case's id and outcome.
#[derive(Debug, Clone)]
pub struct CaseResult {
    /// go-ftw id, e.g. `920100-4`.
    pub id: String,
    /// What happened.
    pub outcome: Outcome,
}

/// Totals of a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    /// Cases that passed.
    pub passed: usize,
    /// Cases that failed.
    pub failed: usize,
    /// Cases skipped by skips.toml.
    pub skipped: usize,
    /// Cases the proxy answers itself.
    pub proxy_rejected: usize,
}

impl Totals {
    /// Adds up `results`.
    pub fn of(results: &[CaseResult]) -> Totals {
        let mut t = Totals::default();
        for r in results {
            match r.outcome {
                Outcome::Passed => t.passed += 1,
                Outcome::Failed(_) => t.failed += 1,
                Outcome::Skipped(_) => t.skipped += 1,
                Outcome::ProxyRejected(_) => t.proxy_rejected += 1,
            }
        }
        t
    }

    /// Passed cases as a percentage of all cases, skipped and proxy-rejected included.
    pub fn pass_rate_of_all(&self) -> f64 {
        let all = self.passed + self.failed + self.skipped + self.proxy_rejected;
        if all == 0 {
            0.0
        } else {
            self.passed as f64 * 100.0 / all as f64
        }
    }

    /// Passed cases as a percentage of the cases the engine was judged on (passed + failed).
    pub fn pass_rate(&self) -> f64 {
        let run = self.passed + self.failed;
        if run == 0 {
            0.0
        } else {
            self.passed as f64 * 100.0 / run as f64
        }
    }
}

/// Runs one stage natively through the filter's exchange and checks it.
pub fn run_stage(loaded: &Rc<Loaded>, stage: &Stage, proxy: &ProxyOptions) -> Result<(), Mismatch> {
    run_stage_with(stage, proxy, |request| drive::serve(loaded, request))
}

/// Runs one stage with `serve` standing for the filter behind the proxy model: a request
/// the model says Envoy answers itself is checked as such; any other is handed to `serve`,
/// whose error (the driver itself failed) fails the stage.
pub fn run_stage_with(
    stage: &Stage,
    proxy: &ProxyOptions,
    serve: impl FnOnce(&http1::Request) -> Result<Served, String>,
) -> Result<(), Mismatch> {
    let raw = wire::request_bytes(&stage.input).map_err(|e| Mismatch::Failed(format!("bad test input: {e}")))?;
    match http1::parse_with(&raw, proxy) {
        Err(rejection) => check(&stage.output, &Observed::ProxyRejected(rejection)),
        Ok(request) => {
            let served = serve(&request).map_err(|e| Mismatch::Failed(format!("driver error: {e}")))?;
            check_served(stage, &request, served)
        }
    }
}

/// Checks what a filter did with `request` (which the proxy model lets through) against the
/// stage; a failure names the edits Envoy made before the filter ran, if any.
pub fn check_served(stage: &Stage, request: &http1::Request, served: Served) -> Result<(), Mismatch> {
    match check(&stage.output, &Observed::Served(served)) {
        Err(Mismatch::Failed(reason)) if !request.edits.is_empty() => Err(Mismatch::Failed(format!(
            "{reason} {ENVOY_EDITS_MARK}{}]",
            request.edits.join("; ")
        ))),
        other => other,
    }
}

/// Starts the note a failure reason gets when Envoy changed the request before the filter.
pub const ENVOY_EDITS_MARK: &str = "[Envoy edits before the filter: ";

/// Runs every stage of `case` natively; an engine panic is reported as a failure of that case.
pub fn run_case(loaded: &Rc<Loaded>, case: &Case, skips: &Skips, proxy: &ProxyOptions) -> CaseResult {
    run_case_with(case, skips, |_, stage| run_stage(loaded, stage, proxy))
}

/// Runs every stage of `case` with `stage_fn` (given the stage's index), stopping at the first
/// that fails; a panic is reported as a failure of the case.
pub fn run_case_with(
    case: &Case,
    skips: &Skips,
    mut stage_fn: impl FnMut(usize, &Stage) -> Result<(), Mismatch>,
) -> CaseResult {
    let id = case.id();
    if let Some(reason) = skips.reason(&id) {
        return CaseResult {
            id,
            outcome: Outcome::Skipped(reason.to_string()),
        };
    }
    let stages = case.stages.len();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        for (index, stage) in case.stages.iter().enumerate() {
            if let Err(mismatch) = stage_fn(index, stage) {
                let reason = if stages > 1 {
                    format!("stage {}: {}", index + 1, mismatch.reason())
                } else {
                    mismatch.reason().to_string()
                };
                return Err(match mismatch {
                    Mismatch::Failed(_) => Outcome::Failed(reason),
                    Mismatch::ProxyRejected(_) => Outcome::ProxyRejected(reason),
                });
            }
        }
        Ok(())
    }));
    let outcome = match result {
        Ok(Ok(())) => Outcome::Passed,
        Ok(Err(outcome)) => outcome,
        Err(panic) => {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            Outcome::Failed(format!("panicked: {message}"))
        }
    };
    CaseResult { id, outcome }
}

/// Writes `results` as TSV: `test_id<TAB>result<TAB>reason`.
pub fn write_results(path: &Path, results: &[CaseResult]) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    writeln!(out, "test_id\tresult\treason")?;
    for r in results {
        let (result, reason) = match &r.outcome {
            Outcome::Passed => ("passed", ""),
            Outcome::Failed(reason) => ("failed", reason.as_str()),
            Outcome::Skipped(reason) => ("skipped", reason.as_str()),
            Outcome::ProxyRejected(reason) => ("proxy-rejected", reason.as_str()),
        };
        writeln!(out, "{}\t{result}\t{}", r.id, one_line(reason))?;
    }
    out.flush()
}

/// Makes a reason safe for a TSV cell.
fn one_line(text: &str) -> String {
    text.replace(['\t', '\n', '\r'], " ")
}

/// The summary lines printed last: skips, proxy refusals, then exactly `N passed, N failed`.
pub fn summary(totals: &Totals) -> String {
    format!(
        "{} skipped (reasons in filters/ftw/skips.toml)\n\
         {} proxy-rejected (Envoy answers these itself; the WAF never sees them)\n\
         {} passed, {} failed",
        totals.skipped, totals.proxy_rejected, totals.passed, totals.failed
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(id: &str, outcome: Outcome) -> CaseResult {
        CaseResult { id: id.into(), outcome }
    }

    #[test]
    fn totals_and_summary() {
        let results = [
            result("1-1", Outcome::Passed),
            result("1-2", Outcome::Failed("x".into())),
            result("1-3", Outcome::Passed),
            result("1-4", Outcome::Skipped("y".into())),
            result("1-5", Outcome::ProxyRejected("z".into())),
        ];
        let t = Totals::of(&results);
        assert_eq!(
            t,
            Totals {
                passed: 2,
                failed: 1,
                skipped: 1,
                proxy_rejected: 1
            }
        );
        assert!((t.pass_rate() - 66.666).abs() < 0.01);
        assert!((t.pass_rate_of_all() - 40.0).abs() < 0.01);
        let s = summary(&t);
        assert_eq!(s.lines().last(), Some("2 passed, 1 failed"));
        assert!(s.contains("1 proxy-rejected"));
        assert_eq!(Totals::default().pass_rate(), 0.0);
    }

    #[test]
    fn results_file_is_tsv() {
        let dir = std::env::temp_dir().join(format!("meshward-ftw-test-{}", std::process::id()));
        let path = dir.join("sub/results.tsv");
        write_results(&path, &[result("1-1", Outcome::Failed("a\tb\nc".into()))]).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text, "test_id\tresult\treason\n1-1\tfailed\ta b c\n");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
