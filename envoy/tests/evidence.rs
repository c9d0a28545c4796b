//! Evidence in a real Envoy run the way Istio runs it: at log level `warning`, with the stats
//! matcher Istio writes for `proxyStatsMatcher.inclusionPrefixes` /
//! `sidecar.istio.io/statsInclusionPrefixes`. With zero evidence configuration both filters' load
//! lines and events show, no secret reaches the log, every event conforms to its JSON Schema, and
//! the Prometheus names docs/evidence.md documents (and the example alert uses) are the ones
//! Envoy's `/stats/prometheus` exposes.

mod common;

use meshward_envoy::{waf, Envoy, EnvoyConfig, Request, Upstream, WasmFilter, WasmLog};
use meshward_testkit::locate::workspace_root;
use meshward_testkit::schema::EventSchema;
use serde_json::{json, Value};
use std::time::Duration;

const POLICY: &str =
    "mode: detect\npolicies:\n  - name: deny-beta\n    action: DENY\n    rules: [{ to: [{ paths: [\"/beta/*\"] }] }]\n";

/// Istio's `inclusionPrefixes` become these stats matcher prefixes (the stat names Envoy gives
/// proxy-wasm metrics start with `wasmcustom.`).
const INCLUSION_PREFIXES: [&str; 2] = ["wasmcustom.meshward_waf", "wasmcustom.meshward_policy"];

fn start(prefixes: &[&str], with_waf: bool) -> (Upstream, Envoy) {
    let upstream = Upstream::start().expect("starting the upstream");
    let mut config = EnvoyConfig::new(upstream.addr()).hcm_option("preserve_external_request_id", true.into());
    if with_waf {
        config = config.filter(
            WasmFilter::new(common::wasm("meshward-waf"), "")
                .name("meshward_waf")
                .root_id("meshward_waf")
                .vm_id("meshward_waf"),
        );
    }
    config = config.filter(common::policy_filter(POLICY));
    let mut bootstrap = config.bootstrap();
    let patterns: Vec<Value> = prefixes
        .iter()
        .chain(&["server."])
        .map(|p| json!({ "prefix": p }))
        .collect();
    bootstrap["stats_config"] = json!({ "stats_matcher": { "inclusion_list": { "patterns": patterns } } });
    // Loading CRS into a V8 VM takes seconds, more on a busy machine.
    let envoy = Envoy::start_bootstrap(&bootstrap, "warning", Duration::from_secs(120))
        .unwrap_or_else(|e| panic!("Envoy at warning: {e}"));
    (upstream, envoy)
}

/// The wasm log lines whose message starts with `prefix`.
fn logged<'a>(logs: &'a [WasmLog], prefix: &str) -> Vec<&'a WasmLog> {
    logs.iter().filter(|l| l.message.starts_with(prefix)).collect()
}

/// The names in the Prometheus name column of docs/evidence.md's metrics tables (rows
/// `| \`name\` | \`prometheus_name\` | ...`), with `<policy>` read as `deny_beta`.
fn documented_prometheus_names() -> Vec<String> {
    let path = workspace_root().join("docs/evidence.md");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let names: Vec<String> = text
        .lines()
        .filter_map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            let name = cells.get(2)?.strip_prefix('`')?.strip_suffix('`')?;
            (name.starts_with("meshward_") && cells.get(1)?.starts_with("`wasmcustom."))
                .then(|| name.replace("<policy>", "deny_beta"))
        })
        .collect();
    assert!(names.len() >= 10, "metrics tables in {}: {names:?}", path.display());
    names
}

/// Metric names (before labels and value) in Prometheus text.
fn exposed(prometheus: &str) -> Vec<&str> {
    prometheus
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| l.split(['{', ' ']).next())
        .collect()
}

#[test]
fn istio_default_level_shows_evidence_and_prometheus_has_the_documented_names() {
    let (_upstream, envoy) = start(&INCLUSION_PREFIXES, true);
    let request = Request::get("/beta/login?password=hunter2%27%20or%201%3D1--&q=1%27%20or%201%3D1--")
        .header("x-request-id", "evidence-1");
    let response = envoy.send(&request).expect("request through Envoy");
    assert_eq!(response.status, 200, "detect mode never blocks");
    let event = waf::wait_event(&envoy, "evidence-1", Duration::from_secs(10))
        .unwrap_or_else(|| panic!("no WAF event at warning:\n{}", envoy.log_text()));
    EventSchema::Waf.assert_valid(&event);
    assert_eq!(event["decision"], "would_block");
    assert_eq!(event["path"], "/beta/login?password=[redacted]&q=1%27%20or%201%3D1--");

    let logs = envoy.wasm_logs();
    for prefix in [
        "meshward.waf: loaded ",
        "meshward.policy: configured ",
        "meshward.waf.event ",
        "meshward.policy.event ",
    ] {
        let lines = logged(&logs, prefix);
        assert!(
            !lines.is_empty(),
            "{prefix:?} not in the log at warning:\n{}",
            envoy.log_text()
        );
        assert!(lines.iter().all(|l| l.level == "warning"), "{prefix:?}: {lines:?}");
    }
    for line in logged(&logs, "meshward.policy.event ") {
        let json = line.message.trim_start_matches("meshward.policy.event ");
        let event: Value = serde_json::from_str(json).expect("policy event JSON");
        EventSchema::Policy.assert_valid(&event);
        assert_eq!(event["decision"], "would_block");
    }
    assert!(!envoy.log_text().contains("hunter2"), "a secret reached Envoy's log");

    let prometheus = envoy.prometheus().expect("/stats/prometheus");
    let names = exposed(&prometheus);
    for name in documented_prometheus_names() {
        assert!(names.contains(&name.as_str()), "{name} is not exposed:\n{prometheus}");
    }
    let alert_path = workspace_root().join("docs/alerts/meshward.rules.yaml");
    let alerts = std::fs::read_to_string(&alert_path).unwrap_or_else(|e| panic!("{}: {e}", alert_path.display()));
    let rules: serde_yaml_ng::Value = serde_yaml_ng::from_str(&alerts).expect("the alert is YAML");
    assert_eq!(rules["kind"].as_str(), Some("PrometheusRule"));
    let used: Vec<&str> = alerts
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| w.starts_with("meshward_waf_") || w.starts_with("meshward_policy_"))
        .collect();
    assert!(!used.is_empty(), "the alert uses meshward metrics");
    for name in used {
        assert!(
            names.contains(&name),
            "the alert uses {name}, which Envoy does not expose"
        );
    }
}

#[test]
fn without_the_inclusion_prefixes_the_metrics_are_not_exposed() {
    let (_upstream, envoy) = start(&[], false);
    let response = envoy.send(&Request::get("/beta/x")).expect("request through Envoy");
    assert_eq!(response.status, 200);
    let prometheus = envoy.prometheus().expect("/stats/prometheus");
    assert!(
        !exposed(&prometheus).iter().any(|n| n.starts_with("meshward_")),
        "Istio's default stats matcher drops them, so the prefixes are needed:\n{prometheus}"
    );
    assert!(
        exposed(&prometheus).iter().any(|n| n.starts_with("envoy_server_")),
        "{prometheus}"
    );
}
