//! One soak run: the load comparison's upstream, Envoy with the policy filter and the WAF (both
//! enforcing) in front of it, the paced client for the whole duration, a sample every interval,
//! then the CSV, the chart and the verdict. Every process started here is stopped when the run
//! ends (the guards' `Drop`).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use meshward_envoy::{Envoy, EnvoyConfig, WasmFilter};
use serde_json::Value;

use super::chart::{self, CHART_FILE};
use super::driver::{Driver, Tally};
use super::options::Options;
use super::series::{self, Row, Verdict};
use super::traffic::{self, policy_document};
use super::SoakError;
use crate::load::proxy::{route_grpc_to_h2c, UpstreamAddrs};
use crate::load::rss;
use crate::load::upstream::Upstream;
use crate::load::workload::GRPC_PATH;
use crate::load::LoadError;

/// The WAF's VM memory gauge as Envoy names it.
pub const VM_MEMORY_STAT: &str = "wasmcustom.meshward_waf.wasm_memory_bytes";
/// File name of the CSV.
pub const CSV_FILE: &str = "soak.csv";
/// Envoy worker threads (`--concurrency`), as in the load comparison.
pub const ENVOY_WORKERS: u32 = 2;
/// How long Envoy may take to become ready (every VM compiles CRS).
pub const READY_TIMEOUT: Duration = Duration::from_secs(120);

/// The bootstrap: the policy filter first (it is the cheaper refusal), then the WAF, both in
/// enforce mode; gRPC to the upstream's h2c port, everything else to its HTTP/1.1 port.
pub fn bootstrap(upstream: UpstreamAddrs) -> Result<Value, SoakError> {
    let find = |name: &str| meshward_envoy::locate::wasm_file(name).map_err(|e| LoadError::Setup(format!("{e}")));
    let policy = WasmFilter::new(find("meshward-netpolicy")?, policy_document().to_string())
        .name("meshward_policy")
        .root_id("meshward_policy")
        .vm_id("meshward_policy");
    let waf = WasmFilter::new(find("meshward-waf")?, r#"{"mode":"enforce"}"#)
        .name("meshward_waf")
        .root_id("meshward_waf")
        .vm_id("meshward_waf");
    let mut doc = EnvoyConfig::new(upstream.http1)
        .route("grpc", GRPC_PATH)
        .filter(policy)
        .filter(waf)
        .bootstrap();
    route_grpc_to_h2c(&mut doc, upstream.h2c)?;
    Ok(doc)
}

/// Runs the soak with `options`, writes `soak.csv` and `soak.svg` into `options.out`, and
/// returns the verdict (a run that fails its checks is `Ok` with failures; `Err` is a run that
/// could not happen).
pub fn run(options: &Options) -> Result<Verdict, SoakError> {
    let upstream = Upstream::start()?;
    say(&format!(
        "starting Envoy (--concurrency {ENVOY_WORKERS}) with the policy filter and the WAF, enforcing"
    ));
    // Errors only: the filters still build their evidence lines, but Envoy's log does not grow
    // by hundreds of MB over an hour (and a crash's backtrace is logged at critical).
    let mut envoy =
        Envoy::start_bootstrap_with_workers(&bootstrap(upstream.addrs())?, "error", READY_TIMEOUT, ENVOY_WORKERS)?;
    let pid = envoy.pid();
    say(&format!(
        "{} of traffic at {} requests/s, a sample every {} s",
        human(options.duration),
        options.rate,
        options.interval.as_secs_f64()
    ));
    let driver = Driver::start(
        envoy.addr(),
        options.rate,
        traffic::http1_kinds(),
        traffic::http2_kinds(),
    )?;
    let started = Instant::now();
    let intervals = (options.duration.as_secs_f64() / options.interval.as_secs_f64()).floor() as u32;
    let mut driver = Some(driver);
    let mut rows = Vec::new();
    let mut unexpected = BTreeMap::new();
    let mut crash = None;
    for i in 1..=intervals {
        let at = started + options.interval * i;
        std::thread::sleep(at.saturating_duration_since(Instant::now()));
        // The last interval stops the client first, so no request is left uncounted.
        let tally = if i == intervals {
            driver.take().map(Driver::stop)
        } else {
            driver.as_ref().map(Driver::take)
        };
        let tally = tally.unwrap_or_default();
        for (what, n) in &tally.unexpected {
            *unexpected.entry(what.clone()).or_insert(0) += n;
        }
        let running = envoy.is_running();
        let row = sample(&envoy, at - started, pid, tally);
        say(&progress(&row));
        rows.push(row);
        if !running {
            crash = Some(exit_summary(&envoy));
            break;
        }
    }
    drop(driver);
    drop(envoy);
    drop(upstream);
    let verdict = series::verdict(&rows, options.interval * intervals, crash.as_deref(), &unexpected);
    write_outputs(options, &rows, &verdict)?;
    Ok(verdict)
}

/// The row of an interval: the client's tally, the VM memory gauge and Envoy's RSS now.
fn sample(envoy: &Envoy, elapsed: Duration, pid: u32, tally: Tally) -> Row {
    let vm = envoy.stat(VM_MEMORY_STAT).ok().flatten();
    Row::from_tally(elapsed, tally, vm, rss::vm_rss_kib(pid))
}

/// Envoy's last log lines, to say why it stopped.
fn exit_summary(envoy: &Envoy) -> String {
    let lines = envoy.log_lines();
    let tail = lines.get(lines.len().saturating_sub(20)..).unwrap_or_default();
    format!("its log ends with:\n{}", tail.join("\n"))
}

fn progress(row: &Row) -> String {
    let mib = |b: u64| format!("{:.1} MiB", b as f64 / f64::from(1 << 20));
    format!(
        "{:>7.0} s {:>6} requests {:>3} errors p50 {:>6.2} ms p99 {:>7.2} ms WAF VM {} Envoy RSS {}",
        row.elapsed_s,
        row.requests,
        row.errors,
        row.p50_ms,
        row.p99_ms,
        row.vm_memory_bytes.map_or("?".into(), mib),
        row.rss_kib.map_or("?".into(), |k| mib(k * 1024)),
    )
}

fn write_outputs(options: &Options, rows: &[Row], verdict: &Verdict) -> Result<(), SoakError> {
    let out = &options.out;
    std::fs::create_dir_all(out).map_err(|e| SoakError::io(format!("creating {}", out.display()), e))?;
    let csv = out.join(CSV_FILE);
    std::fs::write(&csv, series::csv(rows)).map_err(|e| SoakError::io(format!("writing {}", csv.display()), e))?;
    let title = format!(
        "Soak: Envoy + policy + WAF (enforce), {} at {} req/s, HTTP/1.1 and h2c",
        human(options.duration),
        options.rate
    );
    let svg = out.join(CHART_FILE);
    std::fs::write(&svg, chart::chart_svg(&title, rows, verdict.vm, verdict.rss))
        .map_err(|e| SoakError::io(format!("writing {}", svg.display()), e))?;
    say(&format!("wrote {} and {}", csv.display(), svg.display()));
    Ok(())
}

/// `90 s`, `10 min`, `1.5 h`.
pub fn human(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s >= 3600.0 {
        format!("{:.3} h", s / 3600.0)
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_string()
    } else if s >= 60.0 {
        format!("{:.2} min", s / 60.0).replace(".00 ", " ")
    } else {
        format!("{s:.0} s")
    }
}

/// The one-paragraph summary printed at the end.
pub fn summary(verdict: &Verdict) -> String {
    let mib = |b: u64| b as f64 / f64::from(1 << 20);
    let vm = verdict.vm.map_or("unreadable".into(), |g| {
        format!(
            "{:.2} MiB at the end of the first quarter, {:.2} MiB at the end (limit {:.2})",
            mib(g.reference),
            mib(g.end),
            mib(g.limit)
        )
    });
    let rss = verdict.rss.map_or("unreadable".into(), |g| {
        format!(
            "{:.1} MiB at the end of the first quarter, {:.1} MiB at the end (limit {:.1})",
            mib(g.reference * 1024),
            mib(g.end * 1024),
            mib(g.limit * 1024)
        )
    });
    format!(
        "{} requests, {} errors; worst interval p99 {:.2} ms; WAF VM memory {vm}; Envoy RSS {rss}",
        verdict.requests, verdict.errors, verdict.worst_p99_ms
    )
}

fn say(line: &str) {
    eprintln!("soak: {line}");
}
