//! Runs the whole CRS v4.28.0 regression suite through the WAF filter's exchange natively and holds it to
//! `KNOWN-FAILURES.md`: a case that fails and is not listed there, or a listed case that now
//! passes, fails this test, so the tracked list always matches what the engine does.

use std::collections::BTreeSet;

use meshward_ftw::http1::ProxyOptions;
use meshward_ftw::run::{self, Outcome, Totals};
use meshward_ftw::{config, load, skips::Skips};

/// The issue's floor for the native run: share of all cases (proxy-rejected ones count as not passed).
const MIN_PASS_RATE_OF_ALL: f64 = 98.6;

/// Test ids (`920100-4`) listed under `## Failed` in KNOWN-FAILURES.md.
fn known_failures() -> BTreeSet<String> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/KNOWN-FAILURES.md");
    let text = std::fs::read_to_string(path).expect("KNOWN-FAILURES.md is readable");
    let failed = text
        .split("\n## ")
        .find(|s| s.starts_with("Failed"))
        .expect("a `## Failed` section");
    let id = regex::Regex::new(r"\b\d{6}-\d+\b").expect("valid regex");
    id.find_iter(failed).map(|m| m.as_str().to_string()).collect()
}

#[test]
fn crs_suite_matches_the_known_failures() {
    let crs = config::crs_dir(None);
    let cases = load::load_dir(&config::tests_dir(&crs))
        .unwrap_or_else(|e| panic!("CRS tests at {} (set {}): {e}", crs.display(), config::CRS_DIR_ENV));
    let rules = config::load_filter().expect("the WAF filter loads");
    let skips = Skips::load(concat!(env!("CARGO_MANIFEST_DIR"), "/skips.toml").as_ref()).expect("skips.toml");
    let proxy = ProxyOptions::default();
    let results: Vec<_> = cases
        .iter()
        .map(|case| run::run_case(&rules, case, &skips, &proxy))
        .collect();

    let failed: BTreeSet<String> = results
        .iter()
        .filter(|r| matches!(r.outcome, Outcome::Failed(_)))
        .map(|r| r.id.clone())
        .collect();
    let known = known_failures();
    let new: Vec<_> = results
        .iter()
        .filter_map(|r| match &r.outcome {
            Outcome::Failed(reason) if !known.contains(&r.id) => Some(format!("{}: {reason}", r.id)),
            _ => None,
        })
        .collect();
    let fixed: Vec<_> = known.difference(&failed).collect();
    assert!(new.is_empty(), "failures not in KNOWN-FAILURES.md:\n{}", new.join("\n"));
    assert!(
        fixed.is_empty(),
        "listed in KNOWN-FAILURES.md but no longer failing: {fixed:?}"
    );

    let totals = Totals::of(&results);
    println!("{}", run::summary(&totals));
    assert!(
        totals.pass_rate_of_all() >= MIN_PASS_RATE_OF_ALL,
        "{:.2}% of all cases passed, below {MIN_PASS_RATE_OF_ALL}%",
        totals.pass_rate_of_all()
    );
}
