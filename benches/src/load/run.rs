//! One load comparison run: start the upstream and every configuration, warm up, measure the
//! cells interleaved, write the report. Every process started here is stopped when the run
//! ends, by success or error (the guards' `Drop`).

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use meshward_envoy::Envoy;

use super::client::{self, Window};
use super::nginx::{Nginx, NginxLayout};
use super::options::Options;
use super::proxy::{envoy_bootstrap, expected_status, Configuration, UpstreamAddrs, WasmFiles};
use super::report::{self, RunInfo};
use super::rss;
use super::stats::{Outcome, Results};
use super::upstream::Upstream;
use super::vm::{self, VmFigures};
use super::workload::{Request, Workload};
use super::LoadError;

/// Envoy worker threads (`--concurrency`), as in the measurements.
pub const ENVOY_WORKERS: u32 = 2;
/// How long a configuration may take to become ready (the WAF compiles CRS in every VM).
pub const READY_TIMEOUT: Duration = Duration::from_secs(120);

/// Where the run finds what it does not build itself.
#[derive(Clone, Debug)]
pub struct Inputs {
    /// The CRS directory (`crs-setup.conf.example`, `rules/`).
    pub crs: PathBuf,
    /// meshward's `rules/recommended.conf`.
    pub recommended: PathBuf,
    /// The Envoy binary (for its version).
    pub envoy: PathBuf,
}

impl Inputs {
    /// The defaults of `meshward_testkit::locate` (environment variables win).
    pub fn locate() -> Result<Self, LoadError> {
        let envoy = meshward_envoy::locate::envoy_binary().map_err(|e| LoadError::Setup(format!("{e}")))?;
        let crs = meshward_envoy::locate::crs_dir();
        if !crs.join("rules").is_dir() {
            return Err(LoadError::Setup(format!(
                "no CRS rules in {} (set MESHWARD_CRS_DIR)",
                crs.display()
            )));
        }
        Ok(Inputs {
            crs,
            recommended: meshward_envoy::locate::workspace_root().join("rules/recommended.conf"),
            envoy,
        })
    }
}

/// A configuration, running.
struct Running {
    config: Configuration,
    http1: SocketAddr,
    h2c: SocketAddr,
    pid: u32,
    // Held for their `Drop`, which stops the process (and Envoy's, to read its log and stats).
    envoy: Option<Envoy>,
    _nginx: Option<Nginx>,
}

impl Running {
    fn target(&self, request: &Request) -> SocketAddr {
        match request {
            Request::Http1(_) => self.http1,
            Request::Grpc(_) => self.h2c,
        }
    }
}

/// Removes the run's scratch directory when dropped.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs the comparison and writes `RESULTS.md` and the chart into `options.out`.
pub fn run(options: &Options, inputs: &Inputs) -> Result<Results, LoadError> {
    let started = Instant::now();
    let cells = Workload::ALL.len() * Configuration::ALL.len();
    say(&format!(
        "{} cells × {} repetitions of {:?} (+{:?} warm-up): about {} min of load after start-up",
        cells,
        options.reps,
        options.duration,
        options.warmup,
        options.estimate(cells).as_secs().div_ceil(60) + 1
    ));
    let scratch = Scratch(std::env::temp_dir().join(format!("meshward-load-{}", std::process::id())));
    let wasm = WasmFiles::locate()?;
    let upstream = Upstream::start()?;
    let mut running = Vec::new();
    for config in Configuration::ALL {
        let t = Instant::now();
        running.push(start(config, upstream.addrs(), &wasm, inputs, &scratch.0)?);
        say(&format!(
            "started {} in {:.1} s",
            config.label(),
            t.elapsed().as_secs_f64()
        ));
    }
    let mut results = Results::default();
    let requests: Vec<(Workload, Request)> = Workload::ALL.into_iter().map(|w| (w, w.request())).collect();
    say("warm-up: every cell once");
    for r in &running {
        for (workload, request) in &requests {
            let window = Window::starting_now(Duration::ZERO, options.warmup.max(Duration::from_millis(200)));
            let outcome = client::run(r.target(request), request, options.connections, window)?;
            check(r.config, *workload, &outcome);
        }
    }
    let warm: Vec<u64> = running.iter().map(|r| rss::tree_rss_kib(r.pid)).collect();
    for rep in 0..options.reps {
        for (workload, request) in &requests {
            // Rotate the order every repetition, so no configuration always follows the same one.
            for i in 0..running.len() {
                let r = &running[(i + rep as usize) % running.len()];
                let window = Window::starting_now(options.warmup, options.duration);
                let outcome = client::run(r.target(request), request, options.connections, window)?;
                let sample = outcome.sample(expected_status(r.config, workload.is_attack()));
                say(&format!(
                    "rep {}/{} {:<22} {:<30} {:>8.0} req/s p50 {:.2} ms p99 {:.2} ms{}",
                    rep + 1,
                    options.reps,
                    workload.label(),
                    r.config.label(),
                    sample.rps,
                    sample.p50_ms,
                    sample.p99_ms,
                    if sample.unexpected > 0 {
                        format!(" ({} unexpected)", sample.unexpected)
                    } else {
                        String::new()
                    }
                ));
                results.add(*workload, r.config, sample);
            }
        }
    }
    for (r, warm) in running.iter().zip(warm) {
        results.rss_kib.insert(r.config, (warm, rss::tree_rss_kib(r.pid)));
        if let (Some(envoy), true) = (&r.envoy, r.config.is_waf()) {
            results.vms.insert(r.config, vm_figures(envoy));
        }
    }
    drop(running);
    drop(upstream);
    let info = run_info(options, inputs, started.elapsed());
    write_report(&options.out, &info, &results)?;
    Ok(results)
}

/// What the WAF's VMs in `envoy` logged when their rules were ready, and its memory gauge.
fn vm_figures(envoy: &Envoy) -> VmFigures {
    VmFigures {
        loads: envoy
            .wasm_logs()
            .iter()
            .filter_map(|l| vm::parse_load_line(&l.message))
            .collect(),
        memory_end: envoy.stat("wasmcustom.meshward_waf.wasm_memory_bytes").ok().flatten(),
    }
}

fn start(
    config: Configuration,
    upstream: UpstreamAddrs,
    wasm: &WasmFiles,
    inputs: &Inputs,
    scratch: &Path,
) -> Result<Running, LoadError> {
    if let Some(doc) = envoy_bootstrap(config, upstream, wasm)? {
        let envoy =
            Envoy::start_bootstrap_with_workers(&doc, "warning", READY_TIMEOUT, ENVOY_WORKERS).map_err(|source| {
                LoadError::Envoy {
                    what: format!("starting {}", config.label()),
                    source,
                }
            })?;
        return Ok(Running {
            config,
            http1: envoy.addr(),
            h2c: envoy.addr(),
            pid: envoy.pid(),
            envoy: Some(envoy),
            _nginx: None,
        });
    }
    let layout = NginxLayout {
        dir: scratch.join("nginx"),
        http1: free_port()?,
        h2c: free_port()?,
    };
    let nginx = Nginx::start(layout, upstream, &inputs.recommended, &inputs.crs)?;
    Ok(Running {
        config,
        http1: nginx.http1(),
        h2c: nginx.h2c(),
        pid: nginx.pid(),
        envoy: None,
        _nginx: Some(nginx),
    })
}

/// A 127.0.0.1 port free right now (for nginx, which cannot report the port it picked).
fn free_port() -> Result<SocketAddr, LoadError> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| LoadError::io("finding a free port", e))?;
    listener
        .local_addr()
        .map_err(|e| LoadError::io("finding a free port", e))
}

/// Says what a warm-up cell answered when it is not what the configuration should answer.
fn check(config: Configuration, workload: Workload, outcome: &Outcome) {
    let expected = expected_status(config, workload.is_attack());
    let other = outcome.statuses.iter().any(|(s, _)| *s != expected);
    if other || outcome.errors > 0 || outcome.statuses.is_empty() {
        say(&format!(
            "warning: {} / {}: expected {expected}, got {:?} and {} failed requests",
            config.label(),
            workload.label(),
            outcome.statuses,
            outcome.errors
        ));
    }
}

fn write_report(out: &Path, info: &RunInfo, results: &Results) -> Result<(), LoadError> {
    std::fs::create_dir_all(out).map_err(|e| LoadError::io(format!("creating {}", out.display()), e))?;
    let md = out.join("RESULTS.md");
    std::fs::write(&md, report::results_markdown(info, results))
        .map_err(|e| LoadError::io(format!("writing {}", md.display()), e))?;
    let svg = out.join(report::CHART_FILE);
    std::fs::write(&svg, report::chart_svg(results))
        .map_err(|e| LoadError::io(format!("writing {}", svg.display()), e))?;
    say(&format!("wrote {} and {}", md.display(), svg.display()));
    Ok(())
}

fn run_info(options: &Options, inputs: &Inputs, took: Duration) -> RunInfo {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let envoy = output(Command::new(&inputs.envoy).arg("--version"));
    let envoy = envoy
        .split_once("version:")
        .map_or(envoy.as_str(), |(_, v)| v)
        .trim()
        .to_string();
    let crs = inputs.crs.file_name().map_or_else(
        || inputs.crs.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    RunInfo {
        date: output(Command::new("date").args(["-u", "+%Y-%m-%d %H:%M UTC"])),
        machine: format!("{cpu}, {cores} cores (shared), Linux {}", kernel.trim()),
        versions: vec![
            ("Envoy".into(), envoy),
            ("nginx".into(), output(Command::new(super::nginx::NGINX).arg("-v"))),
            (
                "ModSecurity".into(),
                format!(
                    "libmodsecurity3 {}, connector libnginx-mod-http-modsecurity {}",
                    output(Command::new("dpkg-query").args(["-W", "-f", "${Version}", "libmodsecurity3"])),
                    output(Command::new("dpkg-query").args(["-W", "-f", "${Version}", "libnginx-mod-http-modsecurity"]))
                ),
            ),
            ("CRS".into(), format!("{crs}, paranoia level 1, anomaly threshold 5")),
        ],
        settings: format!(
            "`cargo xtask load --reps {} --duration {} --warmup {} --connections {}`; Envoy `--concurrency {ENVOY_WORKERS}`, nginx {} workers; closed loop, one request in flight per connection",
            options.reps,
            options.duration.as_secs_f64(),
            options.warmup.as_secs_f64(),
            options.connections,
            super::nginx::WORKERS
        ),
        took: format!("{:.1} min", took.as_secs_f64() / 60.0),
    }
}

/// A command's stdout and stderr, trimmed, joined (nginx prints its version on stderr).
fn output(cmd: &mut Command) -> String {
    cmd.output().map_or_else(
        |e| format!("unknown ({e})"),
        |o| {
            format!(
                "{}{}",
                String::from_utf8_lossy(&o.stdout).trim(),
                String::from_utf8_lossy(&o.stderr).trim()
            )
        },
    )
}

fn say(line: &str) {
    eprintln!("load: {line}");
}
