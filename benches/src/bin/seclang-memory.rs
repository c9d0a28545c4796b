//! Heap used by the WAF filter's exchange and the SecLang engine with OWASP CRS PL1 (the
//! filter's zero configuration, enforcing): after loading, and after 10,000 exchanges (the
//! benchmark traffic in turn), counted by a wrapping global allocator.
//!
//! `cargo run --release -p meshward-benches --bin seclang-memory [TRANSACTIONS]`

use std::process::ExitCode;

use meshward_benches::alloc::CountingAlloc;
use meshward_benches::{bench_requests, html_response, load_filter, run_transaction, FILTER_CONFIG};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc::new();

const DEFAULT_TRANSACTIONS: usize = 10_000;

fn mib(bytes: usize) -> String {
    format!("{:.2} MiB", bytes as f64 / (1024.0 * 1024.0))
}

fn main() -> ExitCode {
    let count = match std::env::args().nth(1).map(|a| a.parse::<usize>()) {
        None => DEFAULT_TRANSACTIONS,
        Some(Ok(n)) => n,
        Some(Err(e)) => {
            eprintln!("usage: seclang-memory [TRANSACTIONS] ({e})");
            return ExitCode::from(2);
        }
    };
    // Build the traffic first so it is not counted as engine memory.
    let requests = bench_requests();
    let response = html_response();

    let baseline = ALLOC.current();
    ALLOC.reset_peak();
    let started = std::time::Instant::now();
    let rules = match load_filter() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let load_time = started.elapsed();
    let after_load = ALLOC.current() - baseline;
    let load_peak = ALLOC.peak() - baseline;

    ALLOC.reset_peak();
    let mut tx_peak = 0usize;
    let mut blocked = 0usize;
    let mut half = after_load;
    let started = std::time::Instant::now();
    for i in 0..count {
        let (_, req) = &requests[i % requests.len()];
        let before = ALLOC.current();
        ALLOC.reset_peak();
        let tx = run_transaction(&rules, req, &response);
        if tx.reply.is_some() {
            blocked += 1;
        }
        // Working set of one transaction: what it held at its largest, above the rule set.
        tx_peak = tx_peak.max(ALLOC.peak() - before);
        drop(tx);
        if i + 1 == count / 2 {
            half = ALLOC.current() - baseline;
        }
    }
    let run_time = started.elapsed();
    let after_run = ALLOC.current() - baseline;

    println!("WAF filter heap, {FILTER_CONFIG} ({})", rules.ruleset);
    println!("{:<46} {:>14}", "measure", "heap");
    println!("{:<46} {:>14}", "after load (rule set retained)", mib(after_load));
    println!("{:<46} {:>14}", "peak during load", mib(load_peak));
    println!(
        "{:<46} {:>14}",
        format!("after {count} transactions (rule set retained)"),
        mib(after_run)
    );
    println!(
        "{:<46} {:>14}",
        "largest single transaction (peak above rules)",
        mib(tx_peak)
    );
    // Growth that stops after the first half is warm-up (regex lazy-DFA caches), not a leak.
    println!(
        "{:<46} {:>14}",
        "growth over the first half of the transactions",
        format!("{} B", half as i64 - after_load as i64)
    );
    println!(
        "{:<46} {:>14}",
        "growth over the second half",
        format!("{} B", after_run as i64 - half as i64)
    );
    println!(
        "load {:.0} ms; {count} transactions ({} kinds in turn, {blocked} blocked) in {:.0} ms",
        load_time.as_secs_f64() * 1e3,
        requests.len(),
        run_time.as_secs_f64() * 1e3
    );

    // Per kind: one transaction's allocation count and peak heap above the rule set.
    println!();
    println!("{:<26} {:>12} {:>14}", "transaction", "allocations", "peak heap");
    for (name, req) in &requests {
        let before = ALLOC.current();
        let allocations = ALLOC.allocations();
        ALLOC.reset_peak();
        let tx = run_transaction(&rules, req, &response);
        let peak = ALLOC.peak() - before;
        let made = ALLOC.allocations() - allocations;
        drop(tx);
        println!(
            "{name:<26} {made:>12} {:>14}",
            format!("{:.1} KiB", peak as f64 / 1024.0)
        );
    }
    drop(rules);
    ExitCode::SUCCESS
}
