//! SecLang engine with OWASP CRS PL1 (zero-config setup): rule set load time, and the time of
//! one transaction through every phase for each kind of benchmark traffic.
//!
//! `cargo bench -p meshward-benches --bench seclang` (CRS from `$MESHWARD_CRS_DIR`, default
//! `<workspace>/../shared/crs/v4.28.0`).

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use meshward_benches::{
    bench_requests, browser_get, crs_dir, html_response, load_crs, logged_rule_ids, run_request_phases, run_transaction,
};
use meshward_seclang::RuleSet;
use meshward_testkit::http1::Frame;

/// Loads CRS or stops the bench with the reason (missing directory, or the engine's error
/// with file, line and rule).
fn crs_or_exit() -> RuleSet {
    let dir = crs_dir();
    match load_crs(&dir) {
        Ok(rules) => rules,
        Err(e) => panic!("cannot benchmark: {e}"),
    }
}

fn load(c: &mut Criterion) {
    let dir = crs_dir();
    // Fail before timing anything if CRS does not load.
    let rules = crs_or_exit();
    let stats = rules.stats();
    eprintln!(
        "CRS loaded from {}: {} SecRule, {} SecAction, {} ids, {} chains",
        dir.display(),
        stats.sec_rules,
        stats.sec_actions,
        stats.ids,
        stats.chains
    );
    drop(rules);
    let mut g = c.benchmark_group("seclang_load");
    g.sample_size(10);
    g.bench_function("crs_pl1", |b| {
        b.iter(|| load_crs(black_box(&dir)).expect("loaded above"))
    });
    g.finish();
}

fn transactions(c: &mut Criterion) {
    let rules = crs_or_exit();
    let response = html_response();
    let requests = bench_requests();
    // The figures only mean something if each request takes the path it stands for.
    for (name, req) in &requests {
        let tx = run_transaction(&rules, req, &response);
        let ids = logged_rule_ids(&tx);
        let blocked = tx.intervention().map(|i| i.rule_id);
        eprintln!(
            "{name}: {} bytes, matched {ids:?}, intervention {blocked:?}",
            req.to_bytes(Frame::Bare).len()
        );
        if name.ends_with("_sqli") {
            assert_eq!(blocked, Some(949110), "{name} must be blocked by CRS (matched {ids:?})");
        } else {
            assert!(
                ids.is_empty() && blocked.is_none(),
                "{name} must pass CRS cleanly (matched {ids:?})"
            );
        }
    }
    let mut g = c.benchmark_group("seclang_transaction");
    for (name, req) in &requests {
        g.throughput(Throughput::Bytes(req.to_bytes(Frame::Bare).len() as u64));
        g.bench_with_input(BenchmarkId::from_parameter(name), req, |b, req| {
            b.iter(|| run_transaction(black_box(&rules), black_box(req), black_box(&response)))
        });
    }
    g.finish();

    // The request side alone, to split (a)'s cost between request and response inspection.
    let get = browser_get();
    let mut g = c.benchmark_group("seclang_request_only");
    g.bench_function("a_browser_get", |b| {
        b.iter(|| run_request_phases(black_box(&rules), black_box(&get)))
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    targets = load, transactions
}
criterion_main!(benches);
