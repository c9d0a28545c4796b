//! `crs-regression`: runs CRS's go-ftw regression suite against the WAF filter: its exchange
//! natively (in-process, no wasm), its `.wasm` in host-test, or the `.wasm` in a real Envoy.
//!
//! Prints one line per failed test, then `N skipped ...` and, last, `N passed, N failed`.

use anyhow::{bail, Context};
use meshward_ftw::envoy::{EnvoyDriver, EnvoySettings};
use meshward_ftw::http1::ProxyOptions;
use meshward_ftw::run::{self, Totals};
use meshward_ftw::wasm::WasmDriver;
use meshward_ftw::{config, load, skips::Skips};
use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "usage: crs-regression [--driver native|wasm|envoy] [--wasm FILE] [--crs DIR] \
[--include REGEX] [--fail-under PERCENT] [--results FILE] [--skips FILE] [--accept-http10] [--headers-as-sent]

  --driver NAME        native: the filter's exchange in-process (default); wasm: meshward_waf.wasm
                       in host-test; envoy: meshward_waf.wasm in a real Envoy ($MESHWARD_ENVOY)
  --wasm FILE          the WAF filter (default: $MESHWARD_WASM_DIR/meshward_waf.wasm)
  --crs DIR            CRS checkout whose tests run (default: $MESHWARD_CRS_DIR, else
                       <workspace>/../shared/crs/v4.28.0); the rules are the ones the filter
                       embedded at build time, from the same variable
  --include REGEX      run only tests whose id (e.g. 920100-4) matches
  --fail-under PCT     exit 1 when passed / (passed + failed) is below PCT
  --results FILE       per-test TSV (default: <workspace>/target/crs-regression/results.tsv)
  --skips FILE         skip list (default: filters/ftw/skips.toml)
  --accept-http10      model Envoy with accept_http_10 (default Envoy answers HTTP/1.0 with 426)
  --headers-as-sent    hand the engine target and headers as sent, without Envoy's edits (native only)";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Driver {
    Native,
    Wasm,
    Envoy,
}

struct Options {
    driver: Driver,
    wasm: Option<PathBuf>,
    crs: Option<PathBuf>,
    include: Option<regex::Regex>,
    fail_under: Option<f64>,
    results: PathBuf,
    skips: PathBuf,
    proxy: ProxyOptions,
}

fn parse_args() -> anyhow::Result<Options> {
    let mut options = Options {
        driver: Driver::Native,
        wasm: None,
        crs: None,
        include: None,
        fail_under: None,
        results: config::workspace_root().join("target/crs-regression/results.tsv"),
        skips: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("skips.toml"),
        proxy: ProxyOptions::default(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().with_context(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--driver" => {
                options.driver = match value("--driver")?.as_str() {
                    "native" => Driver::Native,
                    "wasm" => Driver::Wasm,
                    "envoy" => Driver::Envoy,
                    other => bail!("unknown driver {other:?} (native, wasm or envoy)"),
                }
            }
            "--wasm" => options.wasm = Some(PathBuf::from(value("--wasm")?)),
            "--crs" => options.crs = Some(PathBuf::from(value("--crs")?)),
            "--include" => {
                let text = value("--include")?;
                options.include = Some(regex::Regex::new(&text).with_context(|| format!("--include {text:?}"))?);
            }
            "--fail-under" => {
                let text = value("--fail-under")?;
                let pct: f64 = text.parse().with_context(|| format!("--fail-under {text:?}"))?;
                if !(0.0..=100.0).contains(&pct) {
                    bail!("--fail-under must be between 0 and 100");
                }
                options.fail_under = Some(pct);
            }
            "--results" => options.results = PathBuf::from(value("--results")?),
            "--skips" => options.skips = PathBuf::from(value("--skips")?),
            "--accept-http10" => options.proxy.accept_http_10 = true,
            "--headers-as-sent" => options.proxy.headers_as_sent = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => bail!("unknown argument {other:?}\n{USAGE}"),
        }
    }
    if options.proxy.headers_as_sent && options.driver != Driver::Native {
        bail!("--headers-as-sent only applies to the native driver");
    }
    Ok(options)
}

fn main() -> ExitCode {
    match real_main() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("crs-regression: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn real_main() -> anyhow::Result<ExitCode> {
    let options = parse_args()?;
    let crs = config::crs_dir(options.crs.as_deref());
    let crs = crs.canonicalize().unwrap_or(crs);
    let skips = Skips::load(&options.skips)?;
    let mut cases =
        load::load_dir(&config::tests_dir(&crs)).with_context(|| format!("loading tests from {}", crs.display()))?;
    if let Some(include) = &options.include {
        cases.retain(|c| include.is_match(&c.id()));
    }
    let started = std::time::Instant::now();
    let results = match options.driver {
        Driver::Native => {
            let loaded = config::load_filter().context("loading the WAF filter's configuration")?;
            eprintln!(
                "loaded the WAF filter ({}, embedded at build time) in {:.2?}; running {} tests",
                loaded.ruleset,
                started.elapsed(),
                cases.len()
            );
            cases
                .iter()
                .map(|case| run::run_case(&loaded, case, &skips, &options.proxy))
                .collect::<Vec<_>>()
        }
        Driver::Wasm => {
            let wasm = options.wasm.clone().unwrap_or_else(meshward_ftw::wasm::default_wasm);
            let config = config::waf_filter_config().to_string();
            let mut driver = WasmDriver::new(&wasm, &config, options.proxy)
                .with_context(|| format!("loading {}", wasm.display()))?;
            eprintln!(
                "loaded {} in {:.2?}; running {} tests",
                wasm.display(),
                started.elapsed(),
                cases.len()
            );
            let results: Vec<_> = cases.iter().map(|case| driver.run_case(case, &skips)).collect();
            eprintln!(
                "filter VM linear memory after the run: {:.1} MiB",
                driver.plugin().memory_bytes() as f64 / (1 << 20) as f64
            );
            if driver.restarts > 0 {
                eprintln!("the filter's VM failed and was restarted {} times", driver.restarts);
            }
            results
        }
        Driver::Envoy => {
            let wasm = options.wasm.clone().unwrap_or_else(meshward_ftw::wasm::default_wasm);
            let mut settings = EnvoySettings::new(wasm, config::waf_filter_config().to_string());
            settings.proxy = options.proxy;
            let mut driver = EnvoyDriver::start(settings)?;
            eprintln!(
                "Envoy with the WAF ready in {:.2?}; running {} tests",
                started.elapsed(),
                cases.len()
            );
            driver.run(&cases, &skips)?
        }
    };
    for result in &results {
        match &result.outcome {
            run::Outcome::Failed(reason) => println!("FAIL {}: {reason}", result.id),
            run::Outcome::ProxyRejected(reason) => println!("PROXY {}: {reason}", result.id),
            run::Outcome::Passed | run::Outcome::Skipped(_) => {}
        }
    }
    run::write_results(&options.results, &results).with_context(|| format!("writing {}", options.results.display()))?;
    let totals = Totals::of(&results);
    let results_path = options.results.canonicalize().unwrap_or(options.results.clone());
    eprintln!(
        "ran in {:.2?}; pass rate {:.2}% of the {} cases judged on the engine, {:.2}% of all {}; results in {}",
        started.elapsed(),
        totals.pass_rate(),
        totals.passed + totals.failed,
        totals.pass_rate_of_all(),
        results.len(),
        results_path.display()
    );
    let count = |needle: &str| {
        results
            .iter()
            .filter(|r| matches!(&r.outcome, run::Outcome::Failed(reason) if reason.contains(needle)))
            .count()
    };
    let (edited, origin) = (
        count(run::ENVOY_EDITS_MARK),
        count(meshward_ftw::check::ORIGIN_REFUSAL_NOTE),
    );
    let judged_unchanged = totals.passed + totals.failed - edited - origin;
    println!(
        "{edited} of the failures follow Envoy's edits of the request before any filter runs, {origin} expect the \
         origin server to refuse; of the {judged_unchanged} cases Envoy passes unchanged, {:.2}% passed",
        if judged_unchanged == 0 {
            0.0
        } else {
            totals.passed as f64 * 100.0 / judged_unchanged as f64
        }
    );
    println!("{}", run::summary(&totals));
    match options.fail_under {
        Some(pct) if totals.pass_rate() < pct => Ok(ExitCode::from(1)),
        _ => Ok(ExitCode::SUCCESS),
    }
}
