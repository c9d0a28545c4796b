//! The run's report: `RESULTS.md` (machine, versions, date, the tables, the issue's targets) and
//! the chart it shows (`load-chart.svg`).

use std::fmt::Write as _;

use super::proxy::Configuration;
use super::stats::{Results, Sample};
use super::vm::VmFigures;
use super::workload::Workload;

/// File name of the chart, next to `RESULTS.md`.
pub const CHART_FILE: &str = "load-chart.svg";

/// What was measured on what: shown above the tables.
#[derive(Clone, Debug, Default)]
pub struct RunInfo {
    /// UTC date and time of the run.
    pub date: String,
    /// CPU model, core count, kernel.
    pub machine: String,
    /// Envoy, nginx, ModSecurity and CRS versions.
    pub versions: Vec<(String, String)>,
    /// The command and its settings.
    pub settings: String,
    /// Wall time of the whole run.
    pub took: String,
}

const BASE: Configuration = Configuration::EnvoyEmptyWasm;
const PEER: Configuration = Configuration::ModSecurity;

/// `RESULTS.md`.
pub fn results_markdown(info: &RunInfo, results: &Results) -> String {
    let mut out = String::new();
    out.push_str("# Load comparison\n\n");
    out.push_str(
        "Written by `cargo xtask load` (see `benches/README.md`); do not edit by hand. Every \
         configuration runs on 127.0.0.1 in front of the same upstream, under the same closed-loop \
         load; cells are interleaved and each figure is the median over the repetitions.\n\n",
    );
    let _ = writeln!(out, "- Date: {}", info.date);
    let _ = writeln!(out, "- Machine: {}", info.machine);
    for (what, version) in &info.versions {
        let _ = writeln!(out, "- {what}: {version}");
    }
    let _ = writeln!(out, "- Settings: {}", info.settings);
    let _ = writeln!(out, "- Run took: {}\n", info.took);
    let _ = writeln!(out, "![Throughput per workload]({CHART_FILE})\n");
    out.push_str("## Throughput and latency\n\n");
    let _ = writeln!(
        out,
        "Ratios are of median requests per second: to {} and to {}. *Unexpected* counts answers \
         other than 200 (403 for the SQLi GET where the configuration blocks it) and failed requests, \
         over all repetitions.\n",
        BASE.label(),
        PEER.label()
    );
    out.push_str(
        "| Workload | Configuration | req/s | p50 ms | p99 ms | × empty wasm | × ModSecurity | Unexpected |\n",
    );
    out.push_str("|---|---|---:|---:|---:|---:|---:|---:|\n");
    for workload in Workload::ALL {
        for (i, config) in Configuration::ALL.into_iter().enumerate() {
            let Some(cell) = results.cell(workload, config) else {
                continue;
            };
            let _ = writeln!(
                out,
                "| {} | {} | {:.0} | {:.2} | {:.2} | {} | {} | {} |",
                if i == 0 { workload.label() } else { "" },
                config.label(),
                cell.rps,
                cell.p50_ms,
                cell.p99_ms,
                ratio(results.ratio(workload, config, BASE)),
                ratio(results.ratio(workload, config, PEER)),
                unexpected(&cell),
            );
        }
    }
    out.push_str("\n## Memory\n\n");
    out.push_str(
        "Resident memory (`VmRSS`) of Envoy (`--concurrency 2`), and of nginx's master and two workers, \
         after the warm-up and after the last measurement.\n\n",
    );
    out.push_str("| Configuration | RSS after warm-up MiB | RSS at the end MiB | Δ to empty wasm MiB |\n");
    out.push_str("|---|---:|---:|---:|\n");
    let base_end = results.rss_kib.get(&BASE).map(|r| r.1);
    for config in Configuration::ALL {
        let Some(&(warm, end)) = results.rss_kib.get(&config) else {
            continue;
        };
        let delta = base_end.map_or("–".to_string(), |b| format!("{:+.0}", mib(end) - mib(b)));
        let _ = writeln!(
            out,
            "| {} | {:.0} | {:.0} | {delta} |",
            config.label(),
            mib(warm),
            mib(end)
        );
    }
    out.push_str("\n## WAF VMs in Envoy\n\n");
    out.push_str(
        "Envoy runs one VM per worker plus one on the main thread. Each WAF VM logs a line when its \
         rules are ready (time to load them, linear memory then); the gauge \
         `meshward_waf.wasm_memory_bytes`, read after the last measurement, is the linear memory a \
         VM last reported on growth.\n\n",
    );
    out.push_str("| Configuration | VMs | Rules ready, slowest VM ms | Memory after load, largest MiB | Memory at the end MiB |\n");
    out.push_str("|---|---:|---:|---:|---:|\n");
    for (config, vm) in &results.vms {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            config.label(),
            vm.loads.len(),
            vm.slowest_load_ms().map_or("–".into(), |ms| format!("{ms:.1}")),
            vm.largest_loaded_memory()
                .map_or("–".into(), |b| format!("{:.1}", bytes_mib(b))),
            vm.memory_end.map_or("–".into(), |b| format!("{:.1}", bytes_mib(b))),
        );
    }
    out.push_str("\n## Issue 12 targets\n\n");
    out.push_str("| Target | Measured | Met |\n|---|---:|:---:|\n");
    for target in targets(results) {
        let _ = writeln!(
            out,
            "| {} | {} | {} |",
            target.what,
            target.measured,
            match target.met {
                Some(true) => "yes",
                Some(false) => "no",
                None => "–",
            }
        );
    }
    out.push_str(
        "\n## Unit measurements\n\n\
         The criterion benches measure the engines without a proxy (see `benches/README.md`): \
         `cargo bench -p meshward-benches --bench seclang` (WAF exchange per request), \
         `--bench policy` (a decision against 1,000 rules), `--features host --bench host` \
         (the proxy-wasm host per stream), and `--bin seclang-memory` (heap after load and \
         after 10,000 exchanges).\n",
    );
    out
}

/// One of the issue's targets, checked against the run.
#[derive(Clone, Debug, PartialEq)]
pub struct Target {
    /// The target, in words.
    pub what: String,
    /// The figure measured.
    pub measured: String,
    /// Whether it is met (`None`: not measured).
    pub met: Option<bool>,
}

/// The load comparison's targets from issue 12.
pub fn targets(results: &Results) -> Vec<Target> {
    let mut out = Vec::new();
    let share = |what: &str, workload: Workload, config: Configuration, base: Configuration, min: f64| {
        let r = results.ratio(workload, config, base);
        Target {
            what: what.to_string(),
            measured: r.map_or("–".into(), |r| format!("{:.0}%", r * 100.0)),
            met: r.map(|r| r >= min),
        }
    };
    let waf = Configuration::WafEnforce;
    out.push(share(
        "WAF enforce ≥ 70% of empty wasm, GET",
        Workload::BrowserGet,
        waf,
        BASE,
        0.70,
    ));
    out.push(share(
        "WAF enforce ≥ 50% of empty wasm, 2 KB form",
        Workload::FormPost2k,
        waf,
        BASE,
        0.50,
    ));
    out.push(share(
        "WAF enforce ≥ 25% of empty wasm, 16 KB JSON",
        Workload::JsonPost16k,
        waf,
        BASE,
        0.25,
    ));
    for workload in Workload::ALL {
        let r = results.ratio(workload, waf, PEER);
        out.push(Target {
            what: format!("WAF enforce ≥ 10× ModSecurity, {}", workload.label()),
            measured: ratio(r),
            met: r.map(|r| r >= 10.0),
        });
    }
    let rss = |c| results.rss_kib.get(&c).map(|r| r.1);
    let delta = rss(waf).zip(rss(BASE)).map(|(w, b)| mib(w) - mib(b));
    out.push(Target {
        what: "Envoy RSS with the WAF ≤ 48 MiB above empty wasm".into(),
        measured: delta.map_or("–".into(), |d| format!("{d:+.0} MiB")),
        met: delta.map(|d| d <= 48.0),
    });
    let vm = results.vms.get(&waf);
    let memory = |what: &str, bytes: Option<u64>| Target {
        what: what.into(),
        measured: bytes.map_or("–".into(), |b| format!("{:.1} MiB", bytes_mib(b))),
        met: bytes.map(|b| bytes_mib(b) <= 16.0),
    };
    out.push(memory(
        "Wasm linear memory per VM after load ≤ 16 MiB",
        vm.and_then(VmFigures::largest_loaded_memory),
    ));
    out.push(memory(
        "Wasm linear memory per VM after the run (≥ 10k requests) ≤ 16 MiB",
        vm.and_then(|v| v.memory_end),
    ));
    let ready = vm.and_then(VmFigures::slowest_load_ms);
    out.push(Target {
        what: "Rules ready ≤ 100 ms per VM in Envoy".into(),
        measured: ready.map_or("–".into(), |ms| format!("{ms:.1} ms")),
        met: ready.map(|ms| ms <= 100.0),
    });
    let policy = Configuration::Policy1000;
    out.push(share(
        "Policy (1,000 rules) ≥ 90% of RBAC, GET",
        Workload::BrowserGet,
        policy,
        Configuration::Rbac1000,
        0.90,
    ));
    out
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn bytes_mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn ratio(r: Option<f64>) -> String {
    match r {
        Some(r) if r >= 10.0 => format!("{r:.0}×"),
        // The WAF on large bodies is a few thousandths of the baseline: keep a figure to read.
        Some(r) if r < 0.1 => format!("{r:.3}×"),
        Some(r) => format!("{r:.2}×"),
        None => "–".into(),
    }
}

fn unexpected(cell: &Sample) -> String {
    if cell.unexpected == 0 {
        "0".into()
    } else {
        format!("{} of {}", cell.unexpected, cell.requests)
    }
}

const COLORS: [&str; 8] = [
    "#9e9e9e", "#616161", "#64b5f6", "#1565c0", "#81c784", "#a5d6a7", "#2e7d32", "#e65100",
];

/// The chart: per workload, a bar per configuration, its length the median req/s relative to
/// the fastest configuration of that workload, labelled with req/s and the ratio to empty wasm.
pub fn chart_svg(results: &Results) -> String {
    const WIDTH: f64 = 960.0;
    const LABEL: f64 = 230.0;
    const BAR: f64 = 16.0;
    const GAP: f64 = 26.0;
    const TOP: f64 = 60.0;
    let bar_room = WIDTH - LABEL - 190.0;
    let rows: Vec<(Workload, Vec<(Configuration, Sample)>)> = Workload::ALL
        .into_iter()
        .map(|w| {
            let cells = Configuration::ALL
                .into_iter()
                .filter_map(|c| results.cell(w, c).map(|s| (c, s)))
                .collect();
            (w, cells)
        })
        .filter(|(_, cells): &(Workload, Vec<_>)| !cells.is_empty())
        .collect();
    let height = TOP + rows.iter().map(|(_, c)| GAP + BAR * c.len() as f64).sum::<f64>() + 20.0;
    let mut svg = svg_start(
        WIDTH,
        height,
        "Requests per second (median), relative to the fastest per workload",
    );
    for (i, config) in Configuration::ALL.into_iter().enumerate() {
        let x = 10.0 + (i % 4) as f64 * 235.0;
        let y = 34.0 + (i / 4) as f64 * 14.0;
        let _ = writeln!(
            svg,
            r#"<rect x="{x}" y="{y}" width="10" height="10" fill="{}"/><text x="{}" y="{}">{}</text>"#,
            COLORS[i],
            x + 14.0,
            y + 9.0,
            escape(config.label())
        );
    }
    let mut y = TOP;
    for (workload, cells) in rows {
        y += GAP;
        let _ = writeln!(
            svg,
            r#"<text x="10" y="{}" font-weight="bold">{}</text>"#,
            y - 6.0,
            escape(workload.label())
        );
        let max = cells.iter().map(|(_, s)| s.rps).fold(0.0, f64::max);
        for (config, sample) in cells {
            let index = Configuration::ALL.iter().position(|c| *c == config).unwrap_or(0);
            let len = if max > 0.0 { bar_room * sample.rps / max } else { 0.0 };
            let vs = results
                .ratio(workload, config, BASE)
                .map_or(String::new(), |r| format!(" ({:.0}% of empty wasm)", r * 100.0));
            let _ = writeln!(
                svg,
                r#"<text x="{}" y="{}" text-anchor="end">{}</text><rect x="{LABEL}" y="{y}" width="{len:.1}" height="{}" fill="{}"/><text x="{:.1}" y="{}">{:.0}{}</text>"#,
                LABEL - 6.0,
                y + 12.0,
                escape(config.label()),
                BAR - 3.0,
                COLORS[index],
                LABEL + len + 4.0,
                y + 12.0,
                sample.rps,
                escape(&vs)
            );
            y += BAR;
        }
    }
    svg.push_str("</svg>\n");
    svg
}

/// Text escaped for SVG/XML content.
pub(crate) fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// The opening of an SVG chart: the root element, a white background and the title.
pub(crate) fn svg_start(width: f64, height: f64, title: &str) -> String {
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(svg, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        svg,
        r#"<text x="10" y="22" font-size="16" font-weight="bold">{}</text>"#,
        escape(title)
    );
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    fn results() -> Results {
        let mut r = Results::default();
        let rates = [
            (Configuration::EnvoyBare, 12000.0),
            (Configuration::EnvoyEmptyWasm, 10000.0),
            (Configuration::WafDetect, 3000.0),
            (Configuration::WafEnforce, 8000.0),
            (Configuration::Policy1000, 9500.0),
            (Configuration::Policy1000NoAnalytics, 9800.0),
            (Configuration::Rbac1000, 10000.0),
            (Configuration::ModSecurity, 500.0),
        ];
        for (config, rps) in rates {
            for rep in 0..3 {
                let sample = Sample {
                    rps: rps + f64::from(rep) * 10.0 - 10.0,
                    p50_ms: 1.0,
                    p99_ms: 2.5,
                    requests: 100,
                    unexpected: u64::from(config == Configuration::WafDetect),
                };
                r.add(Workload::BrowserGet, config, sample);
            }
        }
        r.rss_kib.insert(Configuration::EnvoyEmptyWasm, (90 * 1024, 100 * 1024));
        r.rss_kib.insert(Configuration::WafEnforce, (300 * 1024, 160 * 1024));
        r.vms.insert(
            Configuration::WafEnforce,
            VmFigures {
                loads: vec![(14.5, 8 << 20), (120.25, 7 << 20), (13.0, 8 << 20)],
                memory_end: Some(20 << 20),
            },
        );
        r
    }

    #[test]
    fn vm_figures_have_a_row_and_targets() {
        let md = results_markdown(&RunInfo::default(), &results());
        assert!(md.contains("| Envoy + WAF enforce | 3 | 120.2 | 8.0 | 20.0 |"), "{md}");
        let t = targets(&results());
        let find = |what: &str| t.iter().find(|t| t.what.contains(what)).unwrap().clone();
        let after_load = find("after load");
        assert_eq!((after_load.measured.as_str(), after_load.met), ("8.0 MiB", Some(true)));
        let after_run = find("after the run");
        assert_eq!((after_run.measured.as_str(), after_run.met), ("20.0 MiB", Some(false)));
        let ready = find("Rules ready");
        assert_eq!((ready.measured.as_str(), ready.met), ("120.2 ms", Some(false)));
    }

    #[test]
    fn table_rows_carry_medians_and_ratios() {
        let md = results_markdown(&RunInfo::default(), &results());
        assert!(
            md.contains("| GET (browser) | Envoy | 12000 | 1.00 | 2.50 | 1.20× | 24× | 0 |"),
            "{md}"
        );
        assert!(
            md.contains("|  | Envoy + WAF enforce | 8000 | 1.00 | 2.50 | 0.80× | 16× | 0 |"),
            "{md}"
        );
        assert!(
            md.contains("|  | nginx + ModSecurity | 500 | 1.00 | 2.50 | 0.050× | 1.00× | 0 |"),
            "{md}"
        );
        assert!(
            md.contains("|  | Envoy + WAF detect | 3000 | 1.00 | 2.50 | 0.30× | 6.00× | 3 of 300 |"),
            "{md}"
        );
        assert!(!md.contains("| POST 2 KB form | "), "unmeasured workloads have no rows");
        assert!(md.contains("| Envoy + WAF enforce | 300 | 160 | +60 |"), "{md}");
        assert!(md.contains(&format!("]({CHART_FILE})")));
        assert!(md.contains("--bench policy"));
    }

    #[test]
    fn targets_are_checked_against_the_ratios() {
        let t = targets(&results());
        let get = t.iter().find(|t| t.what.contains("70%")).unwrap();
        assert_eq!((get.measured.as_str(), get.met), ("80%", Some(true)));
        let form = t.iter().find(|t| t.what.contains("2 KB form")).unwrap();
        assert_eq!(form.met, None);
        let peer = t.iter().find(|t| t.what.contains("10× ModSecurity, GET")).unwrap();
        assert_eq!((peer.measured.as_str(), peer.met), ("16×", Some(true)));
        let rss = t.iter().find(|t| t.what.contains("RSS")).unwrap();
        assert_eq!((rss.measured.as_str(), rss.met), ("+60 MiB", Some(false)));
        let policy = t.iter().find(|t| t.what.contains("RBAC")).unwrap();
        assert_eq!((policy.measured.as_str(), policy.met), ("95%", Some(true)));
    }

    #[test]
    fn chart_has_a_bar_per_cell_scaled_to_the_fastest() {
        let svg = chart_svg(&results());
        assert!(svg.starts_with("<svg "));
        assert!(svg.trim_end().ends_with("</svg>"));
        // Legend squares plus one bar per measured cell (and the background).
        assert_eq!(svg.matches("<rect ").count(), 1 + 8 + 8);
        // Envoy bare is the fastest: the full bar room (960 - 230 - 190).
        assert!(svg.contains(r#"width="540.0""#), "{svg}");
        assert!(svg.contains("8000 (80% of empty wasm)"));
        assert!(svg.contains("nginx + ModSecurity"));
    }
}
