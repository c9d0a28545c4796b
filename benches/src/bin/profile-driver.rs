//! Runs one kind of benchmark traffic through the WAF filter's exchange a given number of
//! times, after loading, so a profiler (`cargo xtask profile`) can attribute one exchange's cost.
//!
//! `profile-driver WORKLOAD [EXCHANGES]` where WORKLOAD is a name printed by `--list`.

use std::process::ExitCode;

use meshward_benches::{bench_requests, html_response, load_filter, run_transaction};

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let requests = bench_requests();
    let Some(name) = args.next() else {
        eprintln!("usage: profile-driver WORKLOAD [EXCHANGES] | --list");
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
    let response = html_response();
    let rules = match load_filter() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let mut blocked = 0usize;
    for _ in 0..count {
        let driven = run_transaction(&rules, request, &response);
        blocked += usize::from(driven.transaction.intervention().is_some());
    }
    println!("{count} exchanges of {name}, {blocked} blocked");
    ExitCode::SUCCESS
}
