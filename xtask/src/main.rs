//! `cargo xtask`: set-up, wasm builds, tests and the demo, the same on a laptop and in CI.

mod apt;
mod attack_tools;
mod callgrind;
mod envoy;
mod foreign;
mod fuzz;
mod fuzz_seeds;
mod lint;
mod load;
mod probe;
mod profile;
mod registry;
mod soak;
mod toolchain;
mod wasm;

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use meshward_testkit::locate;

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  setup               install what builds and tests need (wasm toolchain, Envoy, OCI registry,
                      the attack tools of the behaviour scenario)
  wasm [--target T]   build every filter to target/filters/<T>/*.wasm, and the filters
                      written with other SDKs (host-test/foreign) to target/filters/foreign
                      (T: wasm32-wasip1 (default), wasm32-unknown-unknown, all)
  lint                cargo fmt --check, clippy -D warnings on the host and on wasm32
  docs                regenerate docs/config.md from the configuration types
  test                setup, lint, build the wasm filters for both targets, run every test,
                      then every fuzz target for a few seconds
  demo                setup, build, then run Envoy with the filters in front of a demo upstream
  load [--quick] [--reps N] [--duration S] [--warmup S] [--connections N] [--out DIR]
                      the load comparison (issue 12): Envoy bare / + empty wasm / + WAF detect,
                      enforce / + policy and RBAC (1,000 rules), nginx + ModSecurity; writes
                      benches/RESULTS.md and benches/load-chart.svg (see benches/README.md)
  soak --duration D [--rate R] [--interval S] [--out DIR]
                      Envoy + policy + WAF (enforce) under mixed HTTP/1.1 and h2c traffic for D
                      (90s, 10m, 1h); writes target/soak/soak.csv and soak.svg; fails on errors,
                      a crash or memory growth (see docs/soak.md)
  profile [WORKLOAD] [--exchanges N]
                      callgrind of the WAF exchange (profile-driver, release): instructions
                      per exchange by category, then rule evaluations by CRS file
  fuzz [--time S] [--runs N] [TARGET...]
                      build the libFuzzer targets of fuzz/ (nightly + cargo-fuzz, installed
                      when missing), write seed corpora from CRS's tests, run each target for
                      S seconds (default 10) and/or N executions; fails on any crash
                      (fuzz/README.md)
";

fn main() {
    if let Err(err) = run() {
        eprintln!("xtask: error: {err:#}");
        std::process::exit(1);
    }
}

fn run() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = workspace_root();
    match args.first().map(String::as_str) {
        Some("setup") => setup(&root).map(|_| ()),
        Some("wasm") => {
            let targets = wasm::targets_from_args(&args[1..])?;
            let toolchain = toolchain::WasmToolchain::detect_or_install(&root)?;
            for target in targets {
                wasm::build_all(&root, &toolchain, target)?;
            }
            foreign::build_foreign(&root).map(|_| ())
        }
        Some("lint") => {
            let toolchain = toolchain::WasmToolchain::detect_or_install(&root)?;
            lint::check_all(&root, &toolchain)
        }
        Some("docs") => {
            let mut cargo = Command::new(cargo_bin());
            cargo
                .current_dir(&root)
                .args(["run", "--quiet", "--package", "meshward-configref"]);
            run_status(&mut cargo, "meshward-configref")
        }
        Some("test") => test(&root),
        Some("demo") => demo(&root),
        Some("load") => load::load(&root, &args[1..]),
        Some("soak") => soak::soak(&root, &args[1..]),
        Some("profile") => profile::profile(&root, &args[1..]),
        Some("fuzz") => fuzz::fuzz_command(&root, &args[1..]),
        Some("help" | "--help" | "-h") | None => {
            print!("{USAGE}");
            Ok(())
        }
        Some(other) => bail!("unknown command `{other}`\n{USAGE}"),
    }
}

/// Everything set-up produces that later steps need.
struct Setup {
    toolchain: toolchain::WasmToolchain,
    envoy: PathBuf,
    registry: PathBuf,
}

fn setup(root: &Path) -> Result<Setup> {
    let toolchain = toolchain::WasmToolchain::detect_or_install(root)?;
    toolchain.prove(root)?;
    println!(
        "xtask: wasm toolchain: {} (built and linked a probe)",
        toolchain.describe()
    );
    let envoy = envoy::ensure_envoy(root)?;
    println!("xtask: envoy: {}", envoy.display());
    let registry = registry::ensure_registry()?;
    println!("xtask: OCI registry: {}", registry.display());
    attack_tools::ensure_attack_tools()?;
    println!("xtask: attack tools: ffuf, gobuster, hydra, siege, wget");
    Ok(Setup {
        toolchain,
        envoy,
        registry,
    })
}

fn test(root: &Path) -> Result<()> {
    let setup = setup(root)?;
    lint::check_all(root, &setup.toolchain)?;
    for target in wasm::ALL_TARGETS {
        wasm::build_all(root, &setup.toolchain, target)?;
    }
    foreign::build_foreign(root)?;
    let mut cargo = Command::new(cargo_bin());
    cargo.current_dir(root).args(["test", "--workspace", "--no-fail-fast"]);
    for excluded in wasm::cdylib_only_packages(root)? {
        cargo.args(["--exclude", &excluded]);
    }
    test_env(&setup, &mut cargo);
    run_status(&mut cargo, "cargo test")?;
    // Every fuzz target briefly, from the seed corpora: a crash fails the run.
    let targets: Vec<String> = fuzz::TARGETS.iter().map(|t| t.to_string()).collect();
    let budget = fuzz::Budget {
        seconds: Some(fuzz::TEST_SECONDS),
        runs: None,
        trace_compares: true,
    };
    fuzz::run(root, &targets, budget)
}

fn demo(root: &Path) -> Result<()> {
    let setup = setup(root)?;
    wasm::build_all(root, &setup.toolchain, wasm::DEFAULT_TARGET)?;
    let mut cargo = Command::new(cargo_bin());
    cargo.current_dir(root).args([
        "run",
        "--quiet",
        "--package",
        "meshward-envoy",
        "--bin",
        "meshward-demo",
    ]);
    test_env(&setup, &mut cargo);
    run_status(&mut cargo, "meshward-demo")
}

/// Points tests and tools at the wasm artifacts, Envoy and CRS: what the environment names
/// (a set, non-empty variable wins), else the defaults; resolved once by `meshward_testkit`.
fn test_env(setup: &Setup, cmd: &mut Command) {
    load_env(&setup.envoy, cmd);
    cmd.env(locate::REGISTRY_ENV, &setup.registry);
}

/// Points a tool at the wasm artifacts, `envoy` and CRS (what [`test_env`] sets but the registry).
fn load_env(envoy: &Path, cmd: &mut Command) {
    cmd.env(locate::WASM_DIR_ENV, locate::wasm_dir());
    cmd.env(locate::ENVOY_ENV, envoy);
    cmd.env(locate::CRS_DIR_ENV, locate::crs_dir());
}

/// The workspace root: xtask lives one level below it.
fn workspace_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(Path::to_path_buf).unwrap_or(manifest)
}

/// The cargo that runs xtask (rustup's), for native builds.
fn cargo_bin() -> PathBuf {
    std::env::var_os("CARGO")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("cargo"))
}

/// Runs `cmd`, failing with `what` when it exits non-zero.
fn run_status(cmd: &mut Command, what: &str) -> Result<()> {
    let status = cmd.status().with_context(|| format!("could not start {what}"))?;
    if !status.success() {
        bail!("{what} failed ({status})");
    }
    Ok(())
}
