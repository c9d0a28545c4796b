//! Runs one kind of benchmark traffic through the WAF filter's exchange a given number of
//! times, after loading, so a profiler (`cargo xtask profile`) can attribute one exchange's cost.
//!
//! `profile-driver WORKLOAD [EXCHANGES] [--rule-counts]` where WORKLOAD is a name printed by
//! `--list`. With `--rule-counts` (a build with the `rule-counts` feature) it also prints, per
//! rule id, how often the rule was evaluated and how many values its operators tested during
//! the exchanges: `rule-count ID EVALUATIONS OPERATOR_CALLS` lines.

use std::process::ExitCode;

use meshward_benches::{bench_requests, html_response, load_filter, run_transaction};

fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let rule_counts = args.iter().any(|a| a == "--rule-counts");
    args.retain(|a| a != "--rule-counts");
    let mut args = args.into_iter();
    let requests = bench_requests();
    let Some(name) = args.next() else {
        eprintln!("usage: profile-driver WORKLOAD [EXCHANGES] [--rule-counts] | --list");
        return ExitCode::from(2);
    };
    if name == "--list" {
        for (n, _) in &requests {
            println!("{n}");
        }
        return ExitCode::SUCCESS;
    }
    let count = match args.next().map(|a| a.parse::<usize>()) {
        None => 10,
        Some(Ok(n)) => n,
        Some(Err(e)) => {
            eprintln!("EXCHANGES: {e}");
            return ExitCode::from(2);
        }
    };
    let Some((_, request)) = requests.iter().find(|(n, _)| *n == name || n.contains(name.as_str())) else {
        eprintln!("no workload {name}; --list names them");
        return ExitCode::from(2);
    };
    if rule_counts && !cfg!(feature = "rule-counts") {
        eprintln!("--rule-counts needs a build with the `rule-counts` feature");
        return ExitCode::from(2);
    }
    let response = html_response();
    let rules = match load_filter() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    take_rule_counts();
    let mut blocked = 0usize;
    for _ in 0..count {
        let driven = run_transaction(&rules, request, &response);
        blocked += usize::from(driven.transaction.intervention().is_some());
    }
    if rule_counts {
        for (id, evaluations, calls) in take_rule_counts() {
            println!("rule-count {id} {evaluations} {calls}");
        }
    }
    println!("{count} exchanges of {name}, {blocked} blocked");
    ExitCode::SUCCESS
}

/// The engine's rule counts since the last call: (rule id, evaluations, operator calls).
#[cfg(feature = "rule-counts")]
fn take_rule_counts() -> Vec<(u64, u64, u64)> {
    meshward_seclang::rule_counts::take()
        .into_iter()
        .map(|(id, c)| (id, c.evaluations, c.operator_calls))
        .collect()
}

/// Without the `rule-counts` feature the engine counts nothing.
#[cfg(not(feature = "rule-counts"))]
fn take_rule_counts() -> Vec<(u64, u64, u64)> {
    Vec::new()
}
