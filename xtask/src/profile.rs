//! `cargo xtask profile [WORKLOAD] [--exchanges N]`: where one WAF exchange's instructions go.
//! Builds `profile-driver` (benches) in release, runs it under callgrind counting only inside
//! `run_transaction` (loading is left out), once for one exchange and once for N + 1, and
//! prints the difference per exchange by category (`callgrind.rs`): the steady state, without
//! the automata a VM's first exchange builds. Then runs a build with the engine's `rule-counts` feature and prints how
//! many rules each CRS file evaluated per exchange and how many values their operators tested.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use meshward_testkit::locate;

use crate::callgrind;

/// Exchanges per workload when `--exchanges` is not given: enough to average over, few
/// enough for callgrind (about 50 times slower than native).
const DEFAULT_EXCHANGES: usize = 20;

/// What to profile.
#[derive(Debug, PartialEq, Eq)]
struct Args {
    /// A workload name (or part of one); `None` for every workload.
    workload: Option<String>,
    exchanges: usize,
}

fn parse_args(args: &[String]) -> Result<Args> {
    let mut out = Args {
        workload: None,
        exchanges: DEFAULT_EXCHANGES,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--exchanges" => {
                let n = it.next().context("--exchanges needs a number")?;
                out.exchanges = n.parse().with_context(|| format!("--exchanges {n}"))?;
                if out.exchanges == 0 {
                    bail!("--exchanges must be at least 1");
                }
            }
            flag if flag.starts_with("--") => bail!("unknown option {flag}"),
            name if out.workload.is_none() => out.workload = Some(name.to_string()),
            extra => bail!("one workload at most (got `{extra}` too)"),
        }
    }
    Ok(out)
}

/// Runs the profile with `args` (see the module comment).
pub fn profile(root: &Path, args: &[String]) -> Result<()> {
    let args = parse_args(args)?;
    ensure_valgrind()?;
    let driver = build_driver(root, &["--release"], "release")?;
    let workloads = workloads(&driver, args.workload.as_deref())?;
    let out_dir = root.join("target").join("profile");
    std::fs::create_dir_all(&out_dir).with_context(|| format!("creating {}", out_dir.display()))?;
    for workload in &workloads {
        // A VM's first exchange builds the automata it reaches: a run of one exchange is taken
        // away from a run of N + 1, so the figures are those of the N exchanges after it.
        let first = out_dir.join(format!("{workload}.first.callgrind"));
        run_callgrind(&driver, workload, 1, &first)?;
        let file = out_dir.join(format!("{workload}.callgrind"));
        run_callgrind(&driver, workload, args.exchanges + 1, &file)?;
        let costs = steady_state(&attribute_file(&file)?, &attribute_file(&first)?);
        print_categories(workload, args.exchanges, &costs, &file);
    }
    // Counting is a separate build (dev profile, feature on) so the measured binary has no
    // counters in it; the counts do not depend on optimisation.
    let counting = build_driver(root, &["--features", "rule-counts"], "debug")?;
    let files = crs_files()?;
    for workload in &workloads {
        let counts = rule_counts(&counting, workload, args.exchanges)?;
        print_families(workload, args.exchanges, &families(&counts, &files));
    }
    Ok(())
}

/// Installs valgrind with apt-get unless it is on the PATH.
fn ensure_valgrind() -> Result<()> {
    let found = Command::new("valgrind")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if found {
        return Ok(());
    }
    crate::apt::install(
        &["valgrind"],
        "valgrind (callgrind counts the instructions of a profile)",
        "Install valgrind 3.x from your distribution.",
    )
}

/// Builds `profile-driver` with `flags`; returns the binary in `target/<dir>`.
fn build_driver(root: &Path, flags: &[&str], dir: &str) -> Result<PathBuf> {
    let mut cargo = Command::new(crate::cargo_bin());
    cargo
        .current_dir(root)
        .args([
            "build",
            "--quiet",
            "--package",
            "meshward-benches",
            "--bin",
            "profile-driver",
        ])
        .args(flags)
        // The binary is looked for there, whatever the environment says.
        .env("CARGO_TARGET_DIR", root.join("target"))
        .env(locate::CRS_DIR_ENV, locate::crs_dir());
    crate::run_status(&mut cargo, "building profile-driver")?;
    Ok(root.join("target").join(dir).join("profile-driver"))
}

/// The workloads to run: every one `profile-driver --list` prints, or those matching `only`.
fn workloads(driver: &Path, only: Option<&str>) -> Result<Vec<String>> {
    let out = Command::new(driver)
        .arg("--list")
        .output()
        .with_context(|| format!("running {} --list", driver.display()))?;
    let all: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    let chosen: Vec<String> = match only {
        None => all.clone(),
        Some(name) => all
            .iter()
            .find(|w| w.as_str() == name)
            .or_else(|| all.iter().find(|w| w.contains(name)))
            .cloned()
            .into_iter()
            .collect(),
    };
    if chosen.is_empty() {
        bail!(
            "no workload matches `{}`; there are: {}",
            only.unwrap_or(""),
            all.join(", ")
        );
    }
    Ok(chosen)
}

fn run_callgrind(driver: &Path, workload: &str, exchanges: usize, file: &Path) -> Result<()> {
    println!("xtask: callgrind: {workload}, {exchanges} exchanges (loading is not counted)");
    let mut cmd = Command::new("valgrind");
    cmd.args(["--tool=callgrind", "--toggle-collect=*run_transaction*"])
        .arg(format!("--callgrind-out-file={}", file.display()))
        .arg(driver)
        .arg(workload)
        .arg(exchanges.to_string())
        .env(locate::CRS_DIR_ENV, locate::crs_dir());
    let out = cmd.output().context("running valgrind")?;
    if !out.status.success() {
        bail!(
            "callgrind of {workload} failed ({}):\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

/// Instructions per category of a callgrind file.
fn attribute_file(file: &Path) -> Result<Vec<(&'static str, u64)>> {
    let text = std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let profile = callgrind::parse(&text).with_context(|| format!("parsing {}", file.display()))?;
    Ok(callgrind::attribute(&profile))
}

/// `all` less `first`, category by category (a category `first` spent more on counts zero).
fn steady_state(all: &[(&'static str, u64)], first: &[(&'static str, u64)]) -> Vec<(&'static str, u64)> {
    all.iter()
        .map(|&(category, v)| {
            let before = first.iter().find(|(c, _)| *c == category).map_or(0, |(_, b)| *b);
            (category, v.saturating_sub(before))
        })
        .collect()
}

fn print_categories(workload: &str, exchanges: usize, costs: &[(&str, u64)], file: &Path) {
    let total = costs.iter().find(|(c, _)| *c == "total").map_or(0, |(_, v)| *v);
    println!(
        "\n{workload}: instructions per exchange ({exchanges} exchanges after a first one; {})",
        file.display()
    );
    println!("  {:<38} {:>14} {:>7}", "category", "instr/exchange", "share");
    for (category, v) in costs {
        let share = if total == 0 {
            0.0
        } else {
            *v as f64 * 100.0 / total as f64
        };
        println!(
            "  {category:<38} {:>14} {share:>6.1}%",
            thousands(*v / exchanges as u64)
        );
    }
}

/// `1234567` as `1,234,567`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Counts of one rule: (evaluations, operator calls).
type Counts = BTreeMap<u64, (u64, u64)>;

fn rule_counts(driver: &Path, workload: &str, exchanges: usize) -> Result<Counts> {
    let out = Command::new(driver)
        .args([workload, &exchanges.to_string(), "--rule-counts"])
        .env(locate::CRS_DIR_ENV, locate::crs_dir())
        .output()
        .with_context(|| format!("running {}", driver.display()))?;
    if !out.status.success() {
        bail!(
            "{} --rule-counts failed: {}",
            driver.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    parse_rule_counts(&String::from_utf8_lossy(&out.stdout))
}

/// Reads `rule-count ID EVALUATIONS OPERATOR_CALLS` lines (others are ignored).
fn parse_rule_counts(text: &str) -> Result<Counts> {
    let mut out = Counts::new();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("rule-count ") else {
            continue;
        };
        let nums: Vec<u64> = rest
            .split_whitespace()
            .map(str::parse)
            .collect::<Result<_, _>>()
            .with_context(|| format!("bad line `{line}`"))?;
        let [id, evaluations, calls] = nums[..] else {
            bail!("bad line `{line}`");
        };
        out.insert(id, (evaluations, calls));
    }
    Ok(out)
}

/// CRS's rule files by family number: `REQUEST-942-APPLICATION-ATTACK-SQLI` under 942.
fn crs_files() -> Result<BTreeMap<u64, String>> {
    let dir = locate::crs_dir().join("rules");
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(&dir).with_context(|| format!("reading {}", dir.display()))? {
        let name = entry?.file_name().to_string_lossy().into_owned();
        let Some(stem) = name.strip_suffix(".conf") else {
            continue;
        };
        if let Some(n) = stem.split('-').nth(1).and_then(|n| n.parse().ok()) {
            out.insert(n, stem.to_string());
        }
    }
    Ok(out)
}

/// Sums rule counts by family: CRS numbers rule ids after their file (942100 is in the
/// 942 file), so a family is `id / 1000`, named by its file (900: `crs-setup.conf`; others
/// are ids outside CRS, meshward's own base configuration).
fn families(counts: &Counts, files: &BTreeMap<u64, String>) -> Vec<(String, u64, u64)> {
    let mut sums: BTreeMap<u64, (u64, u64)> = BTreeMap::new();
    for (id, (evaluations, calls)) in counts {
        let s = sums.entry(id / 1000).or_default();
        s.0 += evaluations;
        s.1 += calls;
    }
    sums.into_iter()
        .map(|(family, (e, c))| {
            let name = match files.get(&family) {
                Some(file) => file.clone(),
                None if family == 900 => "crs-setup.conf".to_string(),
                None => format!("ids {family}000-{family}999 (not CRS)"),
            };
            (name, e, c)
        })
        .collect()
}

fn print_families(workload: &str, exchanges: usize, rows: &[(String, u64, u64)]) {
    println!("\n{workload}: rule evaluations per exchange by CRS file ({exchanges} exchanges)");
    println!("  {:<48} {:>16} {:>16}", "file", "rules evaluated", "values tested");
    let n = exchanges as f64;
    let (mut te, mut tc) = (0u64, 0u64);
    for (name, e, c) in rows {
        te += e;
        tc += c;
        println!("  {name:<48} {:>16.1} {:>16.1}", *e as f64 / n, *c as f64 / n);
    }
    println!("  {:<48} {:>16.1} {:>16.1}", "total", te as f64 / n, tc as f64 / n);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn steady_state_takes_the_first_exchange_away() {
        let all = [("total", 1100), ("prefilter", 300), ("rest", 5)];
        let first = [("total", 700), ("prefilter", 250), ("rest", 9)];
        assert_eq!(
            steady_state(&all, &first),
            vec![("total", 400), ("prefilter", 50), ("rest", 0)]
        );
    }

    #[test]
    fn arguments() {
        assert_eq!(
            parse_args(&strings(&["json", "--exchanges", "5"])).expect("ok"),
            Args {
                workload: Some("json".into()),
                exchanges: 5
            }
        );
        assert_eq!(parse_args(&[]).expect("ok").exchanges, DEFAULT_EXCHANGES);
        assert!(parse_args(&strings(&["--exchanges", "0"])).is_err());
        assert!(parse_args(&strings(&["a", "b"])).is_err());
        assert!(parse_args(&strings(&["--fast"])).is_err());
    }

    #[test]
    fn rule_counts_sum_by_family() {
        let counts =
            parse_rule_counts("rule-count 942100 2 10\nrule-count 942200 3 0\nrule-count 920350 1 1\n20 exchanges\n")
                .expect("ok");
        let files = BTreeMap::from([(942, "REQUEST-942-APPLICATION-ATTACK-SQLI".to_string())]);
        assert_eq!(
            families(&counts, &files),
            vec![
                ("ids 920000-920999 (not CRS)".to_string(), 1, 1),
                ("REQUEST-942-APPLICATION-ATTACK-SQLI".to_string(), 5, 10)
            ]
        );
        assert!(parse_rule_counts("rule-count 1 2\n").is_err());
    }

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }
}
