//! The WAF filter's own exchange over the SecLang engine with OWASP CRS PL1 (the filter's zero
//! configuration, enforcing): the configure-time load, and the time of one exchange through
//! every phase, driven as Envoy calls the filter, for each kind of benchmark traffic.
//!
//! `cargo bench -p meshward-benches --bench seclang` (CRS is embedded in the filter at build
//! time, from `$MESHWARD_CRS_DIR`).

// criterion_group! defines public functions, which cannot carry a doc comment.
#![allow(missing_docs)]

use std::hint::black_box;
use std::rc::Rc;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use meshward_benches::{
    bench_requests, browser_get, html_response, load_filter, logged_rule_ids, run_request_phases, run_transaction,
    FILTER_CONFIG,
};
use meshward_testkit::http1::Frame;
use meshward_waf::loaded::Loaded;

/// Loads the filter or stops the bench with the reason (the engine's error names file, line
/// and rule).
fn filter_or_exit() -> Rc<Loaded> {
    match load_filter() {
        Ok(loaded) => loaded,
        Err(e) => panic!("cannot benchmark: {e}"),
    }
}

fn load(c: &mut Criterion) {
    // Fail before timing anything if the filter does not load.
    let loaded = filter_or_exit();
    let report = loaded.report();
    eprintln!(
        "{FILTER_CONFIG}: {} ({} rules, {} rule sets)",
        loaded.ruleset, report.rules, report.sets
    );
    drop(loaded);
    let mut g = c.benchmark_group("seclang_load");
    g.sample_size(10);
    g.bench_function("crs_pl1", |b| b.iter(|| load_filter().expect("loaded above")));
    g.finish();
}

fn transactions(c: &mut Criterion) {
    let rules = filter_or_exit();
    let response = html_response();
    let requests = bench_requests();
    // The figures only mean something if each request takes the path it stands for.
    for (name, req) in &requests {
        let driven = run_transaction(&rules, req, &response);
        let ids = logged_rule_ids(&driven.transaction);
        let blocked = driven.transaction.intervention().map(|i| i.rule_id);
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
