//! `cargo xtask fuzz`: builds the libFuzzer targets of `fuzz/` with the nightly toolchain and
//! cargo-fuzz (both installed here when missing), writes their seed corpora, then runs each
//! target for a while and fails on any crash, printing the executions each one reached.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{bail, Context, Result};

use crate::fuzz_seeds;

/// Every target in `fuzz/Cargo.toml`, in the order they run.
pub const TARGETS: &[&str] = &[
    "seclang_parse",
    "transform",
    "body_urlencoded",
    "body_multipart",
    "body_json",
    "body_xml",
    "libinjection",
    "policy_document",
    "policy_path",
    "abi_pairs",
    "http1",
    "ftw_http1",
    "transaction",
];

/// Seconds per target when `--time` is not given.
const DEFAULT_SECONDS: u64 = 10;

/// Seconds per target in `cargo xtask test`: 13 targets, about 3 minutes with the build.
pub const TEST_SECONDS: u64 = 12;

/// The toolchain cargo-fuzz needs (`-Zsanitizer` and sanitizer-coverage flags are nightly-only).
const NIGHTLY: &str = "nightly";

/// Variables cargo sets for xtask that would point the nightly build at stable's tools.
const CARGO_VARIABLES: &[&str] = &[
    "CARGO",
    "RUSTC",
    "RUSTDOC",
    "RUSTUP_TOOLCHAIN",
    "RUSTC_WRAPPER",
    "RUSTC_WORKSPACE_WRAPPER",
    "CARGO_ENCODED_RUSTFLAGS",
    "CARGO_TARGET_DIR",
];

/// How long, and how many executions at most, each target runs (the first limit reached
/// stops it).
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    /// `-max_total_time`.
    pub seconds: Option<u64>,
    /// `-runs`.
    pub runs: Option<u64>,
}

/// What one target reached.
struct Figures {
    target: String,
    executions: u64,
    seconds: f64,
    crashed: bool,
}

/// `cargo xtask fuzz [--time S] [--runs N] [TARGET...]`.
pub fn fuzz_command(root: &Path, args: &[String]) -> Result<()> {
    let mut budget = Budget {
        seconds: None,
        runs: None,
    };
    let mut targets = Vec::new();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--time" => budget.seconds = Some(number(args.next(), "--time")?),
            "--runs" => budget.runs = Some(number(args.next(), "--runs")?),
            name if TARGETS.contains(&name) => targets.push(name.to_string()),
            other => bail!(
                "unknown fuzz target or option `{other}` (targets: {})",
                TARGETS.join(", ")
            ),
        }
    }
    if targets.is_empty() {
        targets = TARGETS.iter().map(|t| t.to_string()).collect();
    }
    if budget.seconds.is_none() && budget.runs.is_none() {
        budget.seconds = Some(DEFAULT_SECONDS);
    }
    run(root, &targets, budget)
}

fn number(value: Option<&String>, option: &str) -> Result<u64> {
    let value = value.with_context(|| format!("{option} needs a number"))?;
    value
        .parse()
        .with_context(|| format!("{option} {value}: not a whole number"))
}

/// Builds every target, writes the seed corpora and runs `targets` within `budget` each, one
/// at a time; fails when any target crashed.
pub fn run(root: &Path, targets: &[String], budget: Budget) -> Result<()> {
    ensure_tools()?;
    let fuzz_dir = root.join("fuzz");
    let corpus = fuzz_dir.join("corpus");
    let written = fuzz_seeds::write_all(root, &corpus)?;
    println!("xtask: fuzz seed corpora: {written} inputs in {}", corpus.display());
    let started = Instant::now();
    let mut build = cargo_fuzz(root);
    build.args(["build", "--sanitizer", "none"]);
    crate::run_status(&mut build, "cargo fuzz build")?;
    println!("xtask: fuzz targets built in {:.0} s", started.elapsed().as_secs_f64());
    let mut all = Vec::new();
    for target in targets {
        all.push(run_target(root, &corpus, target, budget)?);
    }
    println!(
        "\n{:<18} {:>13} {:>10} {:>9}  result",
        "target", "executions", "exec/s", "seconds"
    );
    for f in &all {
        let rate = if f.seconds > 0.0 {
            f.executions as f64 / f.seconds
        } else {
            0.0
        };
        let result = if f.crashed { "CRASH" } else { "ok" };
        println!(
            "{:<18} {:>13} {:>10.0} {:>9.1}  {result}",
            f.target, f.executions, rate, f.seconds
        );
    }
    let crashed: Vec<&str> = all.iter().filter(|f| f.crashed).map(|f| f.target.as_str()).collect();
    if !crashed.is_empty() {
        bail!(
            "fuzz targets crashed: {} (inputs in {}; reproduce with `cargo +nightly fuzz run -s none TARGET FILE` in fuzz/)",
            crashed.join(", "),
            fuzz_dir.join("artifacts").display()
        );
    }
    Ok(())
}

fn run_target(root: &Path, corpus: &Path, target: &str, budget: Budget) -> Result<Figures> {
    let dir = corpus.join(target);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut limits = Vec::new();
    if let Some(s) = budget.seconds {
        limits.push(format!("-max_total_time={s}"));
    }
    if let Some(n) = budget.runs {
        limits.push(format!("-runs={n}"));
    }
    println!("xtask: fuzzing {target} ({})", limits.join(" "));
    let mut cmd = cargo_fuzz(root);
    cmd.args(["run", "--sanitizer", "none", target])
        .arg(&dir)
        .arg("--")
        .args(&limits)
        .args(["-print_final_stats=1", "-timeout=30", "-rss_limit_mb=2048"])
        .stdout(Stdio::inherit())
        .stderr(Stdio::piped());
    let started = Instant::now();
    let output = cmd
        .output()
        .with_context(|| format!("could not start cargo fuzz run {target}"))?;
    let seconds = started.elapsed().as_secs_f64();
    let log = String::from_utf8_lossy(&output.stderr);
    let crashed = !output.status.success();
    if crashed {
        // The whole libFuzzer log: the panic message and the input that caused it.
        eprintln!("{log}");
    }
    let executions = final_stat(&log, "stat::number_of_executed_units:").unwrap_or(0);
    Ok(Figures {
        target: target.to_string(),
        executions,
        seconds,
        crashed,
    })
}

/// A `stat::` line of `-print_final_stats=1`.
fn final_stat(log: &str, name: &str) -> Option<u64> {
    log.lines()
        .rev()
        .find_map(|l| l.trim().strip_prefix(name))
        .and_then(|v| v.trim().parse().ok())
}

/// `cargo fuzz ...` under the nightly toolchain, in `fuzz/`, with CRS located for the
/// transaction target.
fn cargo_fuzz(root: &Path) -> Command {
    let mut cmd = Command::new("rustup");
    cmd.current_dir(root.join("fuzz"))
        .args(["run", NIGHTLY, "cargo", "fuzz"]);
    for var in CARGO_VARIABLES {
        cmd.env_remove(var);
    }
    cmd.env(
        meshward_testkit::locate::CRS_DIR_ENV,
        meshward_testkit::locate::crs_dir(),
    );
    cmd
}

/// Installs what the fuzz build needs and is missing: rustup's nightly toolchain and
/// cargo-fuzz (from crates.io, with its lock file).
fn ensure_tools() -> Result<()> {
    let has_nightly = Command::new("rustup")
        .args(["run", NIGHTLY, "rustc", "--version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .context("rustup is needed for the fuzz targets (they build with the nightly toolchain)")?;
    if !has_nightly {
        println!("xtask: installing the nightly toolchain (rustup, minimal profile)");
        let mut install = Command::new("rustup");
        install.args(["toolchain", "install", NIGHTLY, "--profile", "minimal"]);
        crate::run_status(&mut install, "rustup toolchain install nightly")?;
    }
    if cargo_fuzz_version().is_none() {
        println!("xtask: installing cargo-fuzz (cargo install --locked)");
        let mut install = Command::new(crate::cargo_bin());
        install.args(["install", "cargo-fuzz", "--locked"]);
        crate::run_status(&mut install, "cargo install cargo-fuzz")?;
    }
    let version = cargo_fuzz_version().context("cargo-fuzz was installed but `cargo fuzz` does not run")?;
    println!("xtask: {version} on {NIGHTLY}");
    Ok(())
}

fn cargo_fuzz_version() -> Option<String> {
    let out = Command::new("rustup")
        .args(["run", NIGHTLY, "cargo", "fuzz", "--version"])
        .stderr(Stdio::null())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// The directory of one target's corpus.
pub fn corpus_dir(corpus: &Path, target: &str) -> PathBuf {
    corpus.join(target)
}
