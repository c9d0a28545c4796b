//! `cargo xtask fuzz`: builds the libFuzzer targets of `fuzz/` with the nightly toolchain and
//! cargo-fuzz (both installed here when missing), writes their seed corpora, then runs each
//! target for a while and fails on any crash, printing the executions each one reached.
//!
//! Every run is appended to `fuzz/runs.csv` (machine-local, not committed), so that executions
//! reached over several runs on the same, growing corpus can be summed: a target whose runs
//! add up to 10⁷ was fuzzed as long as one 10⁷ run, less the corpus re-read at each start.

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
/// stops it), and how much of its comparisons libFuzzer follows.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    /// `-max_total_time`.
    pub seconds: Option<u64>,
    /// `-runs`.
    pub runs: Option<u64>,
    /// Build with `sanitizer-coverage-trace-compares` (the default). Without it the CRS
    /// targets run about twice as fast, at the cost of libFuzzer's comparison-guided mutations.
    pub trace_compares: bool,
}

/// The ledger of runs, one CSV line per target run.
const LEDGER: &str = "runs.csv";

/// The ledger's header line.
const LEDGER_HEADER: &str = "finished_unix,commit,target,executions,seconds,result,trace_compares";

/// What one target reached.
struct Figures {
    target: String,
    executions: u64,
    seconds: f64,
    outcome: Outcome,
}

/// How a target's run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// It reached its budget.
    Ok,
    /// It crashed (a panic, a timeout, out of memory): a finding.
    Crash,
    /// Its fuzzer was sent SIGINT (`pkill -INT -f release/TARGET`): a campaign stopped early,
    /// whose executions still count.
    Interrupted,
}

impl Outcome {
    /// The word in the table and the ledger.
    fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Crash => "crash",
            Outcome::Interrupted => "interrupted",
        }
    }
}

/// `cargo xtask fuzz [--time S] [--runs N] [--no-trace-compares] [TARGET...]`.
pub fn fuzz_command(root: &Path, args: &[String]) -> Result<()> {
    let mut budget = Budget {
        seconds: None,
        runs: None,
        trace_compares: true,
    };
    let mut targets = Vec::new();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--time" => budget.seconds = Some(number(args.next(), "--time")?),
            "--runs" => budget.runs = Some(number(args.next(), "--runs")?),
            "--no-trace-compares" => budget.trace_compares = false,
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
    // The commit the targets are built from (the tree may move on during a long run).
    let commit = head_commit(root);
    let started = Instant::now();
    let mut build = cargo_fuzz(root);
    build
        .args(["build", "--sanitizer", "none"])
        .args(trace_flags(root, budget));
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
        let result = f.outcome.as_str();
        println!(
            "{:<18} {:>13} {:>10.0} {:>9.1}  {result}",
            f.target, f.executions, rate, f.seconds
        );
    }
    let ledger = fuzz_dir.join(LEDGER);
    record(&ledger, &commit, &all, budget)?;
    println!("\nexecutions summed over every run in {}:", ledger.display());
    let totals = ledger_totals(&std::fs::read_to_string(&ledger).unwrap_or_default());
    for f in &all {
        let (executions, runs) = totals.get(&f.target).copied().unwrap_or_default();
        println!("{:<18} {executions:>13} in {runs} runs", f.target);
    }
    let crashed: Vec<&str> = all
        .iter()
        .filter(|f| f.outcome == Outcome::Crash)
        .map(|f| f.target.as_str())
        .collect();
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
    cmd.args(["run", "--sanitizer", "none"])
        .args(trace_flags(root, budget))
        .arg(target)
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
    let outcome = if output.status.success() {
        Outcome::Ok
    } else if log.contains("libFuzzer: run interrupted") {
        Outcome::Interrupted
    } else {
        Outcome::Crash
    };
    if outcome == Outcome::Crash {
        // The whole libFuzzer log: the panic message and the input that caused it.
        eprintln!("{log}");
    }
    let executions = final_stat(&log, "stat::number_of_executed_units:").unwrap_or(0);
    Ok(Figures {
        target: target.to_string(),
        executions,
        seconds,
        outcome,
    })
}

/// cargo-fuzz options for `budget.trace_compares`; builds without it get their own target
/// directory so that switching does not rebuild the other.
fn trace_flags(root: &Path, budget: Budget) -> Vec<String> {
    if budget.trace_compares {
        return Vec::new();
    }
    let dir = root.join("fuzz").join("target").join("no-trace-compares");
    vec![
        "--no-trace-compares".to_string(),
        "--target-dir".to_string(),
        dir.display().to_string(),
    ]
}

/// The checked-out commit (short), or an empty string outside a git checkout.
fn head_commit(root: &Path) -> String {
    Command::new("git")
        .current_dir(root)
        .args(["rev-parse", "--short", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

/// Appends `figures`, fuzzed at `commit`, to the ledger, writing its header first when it is new.
fn record(ledger: &Path, commit: &str, figures: &[Figures], budget: Budget) -> Result<()> {
    use std::io::Write;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    let new = !ledger.exists();
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(ledger)
        .with_context(|| format!("opening {}", ledger.display()))?;
    let mut text = String::new();
    if new {
        text.push_str(LEDGER_HEADER);
        text.push('\n');
    }
    for f in figures {
        let result = f.outcome.as_str();
        text.push_str(&format!(
            "{now},{commit},{},{},{:.1},{result},{}\n",
            f.target, f.executions, f.seconds, budget.trace_compares
        ));
    }
    file.write_all(text.as_bytes())
        .with_context(|| format!("appending to {}", ledger.display()))
}

/// Executions and runs per target in a ledger's text; lines that do not parse are skipped
/// (the ledger is a local record, hand edits included).
fn ledger_totals(text: &str) -> std::collections::BTreeMap<String, (u64, u64)> {
    let mut totals = std::collections::BTreeMap::new();
    for line in text.lines() {
        let fields: Vec<&str> = line.split(',').collect();
        let (Some(target), Some(Ok(executions))) = (fields.get(2), fields.get(3).map(|e| e.parse::<u64>())) else {
            continue;
        };
        let entry: &mut (u64, u64) = totals.entry(target.to_string()).or_default();
        entry.0 += executions;
        entry.1 += 1;
    }
    totals
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ledger_totals_sum_each_targets_runs_and_skip_what_does_not_parse() {
        let text = format!(
            "{LEDGER_HEADER}\n1,abc,transaction,600000,600.0,ok,true\n\
             2,abd,transaction,400000,300.0,ok,false\n3,abd,http1,10000000,120.0,ok,true\n\
             garbage\n4,abd,http1,many,1.0,ok,true\n"
        );
        let totals = ledger_totals(&text);
        assert_eq!(totals.get("transaction"), Some(&(1_000_000, 2)));
        assert_eq!(totals.get("http1"), Some(&(10_000_000, 1)));
        assert_eq!(totals.len(), 2);
    }
}
