//! Demo: the meshward WAF (CRS v4 at paranoia 1 inside `meshward_waf.wasm`) in a real Envoy.
//! Detect mode first: a clean request and two attacks (SQLi, XSS) all reach the upstream, and
//! the WAF's evidence event for each attack is printed. Then Envoy restarts in enforce mode and
//! the same attack is answered 403 without reaching the upstream.
//! Then the L7 policy filter (`meshward_netpolicy.wasm`): a policy denying `/admin/**` in detect
//! mode records `would_block` and lets the request through (also a path-trick variant), then the
//! same policy enforced answers 403 (`block`) and the upstream sees nothing. Everything listens on
//! 127.0.0.1; the run is bounded (each request times out after 10 s). Exits non-zero on any
//! unexpected result.

use meshward_envoy::{locate, mesh, waf, Envoy, EnvoyConfig, Request, Upstream, WasmFilter};
use std::process::ExitCode;
use std::time::Duration;

const SQLI: &str = "/products?id=1%27%20UNION%20SELECT%20username,password%20FROM%20users--";
/// How long to look for the event of a request no rule should match (none is written).
const QUIET: Duration = Duration::from_millis(300);
/// How long an attack's event may take to appear in Envoy's log.
const EVENT: Duration = Duration::from_secs(5);
const XSS: &str = "/search?q=%3Cscript%3Ealert(document.cookie)%3C/script%3E";
/// A policy that keeps callers out of `/admin` (`{MODE}` is replaced by the mode).
const POLICY: &str = r#"{"mode":"{MODE}","policies":[{"name":"deny-admin","action":"DENY","rules":[{"to":[{"paths":["/admin/{**}"]}]}]}]}"#;
/// Requests for the policy part: the plain path and a normalization trick that means the same.
const ADMIN_PATHS: [&str; 2] = ["/admin/users", "/public/..//admin/./users"];

fn main() -> ExitCode {
    match run() {
        Ok(()) => {
            println!("\ndemo: OK");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("demo: FAILED: {message}");
            ExitCode::FAILURE
        }
    }
}

fn start(upstream: &Upstream, config: &str) -> Result<Envoy, String> {
    let wasm = locate::wasm_file("meshward-waf").map_err(|e| e.to_string())?;
    let filter = WasmFilter::new(&wasm, config)
        .name("meshward_waf")
        .root_id("meshward_waf")
        .vm_id("meshward_waf");
    let envoy_config = EnvoyConfig::new(upstream.addr())
        .filter(filter)
        .hcm_option("preserve_external_request_id", true.into());
    let envoy = Envoy::start(&envoy_config).map_err(|e| e.to_string())?;
    println!(
        "envoy ready on {} with {} and plugin configuration {config}",
        envoy.addr(),
        wasm.display()
    );
    Ok(envoy)
}

/// Sends `GET path` with a known request id; prints the status and, if any, the WAF's event.
fn send(
    envoy: &Envoy,
    upstream: &Upstream,
    path: &str,
    id: &str,
    wait: Duration,
) -> Result<(u16, Option<serde_json::Value>), String> {
    let before = upstream.requests().len();
    let response = envoy
        .send(&Request::get(path).header("x-request-id", id))
        .map_err(|e| e.to_string())?;
    let reached = upstream.requests().len() > before;
    println!("\n> GET {path}");
    println!(
        "< {} {} (upstream reached: {})",
        response.status,
        response.reason,
        if reached { "yes" } else { "no" }
    );
    let event = waf::wait_event(envoy, id, wait);
    match &event {
        Some(e) => println!(
            "  evidence:\n{}",
            indent(&serde_json::to_string_pretty(e).unwrap_or_default())
        ),
        None => println!("  evidence: none (no rule matched)"),
    }
    Ok((response.status, event))
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("    {l}")).collect::<Vec<_>>().join("\n")
}

fn rule_ids(event: &Option<serde_json::Value>) -> Vec<u64> {
    event
        .as_ref()
        .and_then(|e| e["rules"].as_array().cloned())
        .unwrap_or_default()
        .iter()
        .filter_map(|r| r["id"].as_u64())
        .collect()
}

fn run() -> Result<(), String> {
    let upstream = Upstream::start().map_err(|e| e.to_string())?;
    println!("upstream listening on {}", upstream.addr());

    println!("\n=== detect mode (the default, `{{}}`): record, never block ===");
    let envoy = start(&upstream, "{}")?;
    let (clean, clean_event) = send(&envoy, &upstream, "/products?id=42", "demo-clean-1", QUIET)?;
    let (sqli, sqli_event) = send(&envoy, &upstream, SQLI, "demo-sqli-1", EVENT)?;
    let (xss, xss_event) = send(&envoy, &upstream, XSS, "demo-xss-1", EVENT)?;
    if (clean, sqli, xss) != (200, 200, 200) || clean_event.is_some() {
        return Err(format!(
            "detect mode: expected 200 x3 and no event for the clean request, got {clean}/{sqli}/{xss}"
        ));
    }
    for (name, event) in [("SQLi", &sqli_event), ("XSS", &xss_event)] {
        let decision = event.as_ref().map(|e| e["decision"].clone());
        if decision != Some("would_block".into()) {
            return Err(format!(
                "detect mode: the {name} event should say would_block, got {decision:?}"
            ));
        }
    }
    let counters = waf::counters(&envoy).map_err(|e| e.to_string())?;
    println!(
        "\nWAF counters: {}",
        counters
            .iter()
            .filter(|(_, v)| **v > 0)
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    drop(envoy);

    println!("\n=== enforce mode (`{{\"mode\":\"enforce\"}}`): block ===");
    let envoy = start(&upstream, r#"{"mode":"enforce"}"#)?;
    let seen_before = upstream.requests().len();
    let (blocked, event) = send(&envoy, &upstream, SQLI, "demo-sqli-2", EVENT)?;
    let reached = upstream.requests().len() > seen_before;
    if blocked != 403 || reached {
        return Err(format!(
            "enforce mode: expected 403 and no upstream request, got {blocked} (upstream reached: {reached})"
        ));
    }
    let decision = event.as_ref().map(|e| e["decision"].clone());
    if decision != Some("block".into()) {
        return Err(format!("enforce mode: the event should say block, got {decision:?}"));
    }
    println!(
        "\nSQLi rules matched in detect mode: {:?}; in enforce mode: {:?}",
        rule_ids(&sqli_event),
        rule_ids(&event)
    );
    drop(envoy);
    policy(&upstream)
}

fn start_policy(upstream: &Upstream, mode: &str) -> Result<Envoy, String> {
    let wasm = locate::wasm_file("meshward-netpolicy").map_err(|e| e.to_string())?;
    let config = POLICY.replace("{MODE}", mode);
    let filter = WasmFilter::new(&wasm, &config)
        .name("meshward_netpolicy")
        .root_id("meshward_netpolicy")
        .vm_id("meshward_netpolicy");
    let envoy = Envoy::start(&EnvoyConfig::new(upstream.addr()).filter(filter)).map_err(|e| e.to_string())?;
    println!(
        "envoy ready on {} with {} and policy {config}",
        envoy.addr(),
        wasm.display()
    );
    Ok(envoy)
}

/// Sends each admin path; returns the statuses, whether the upstream saw any, and the events.
fn send_admin(envoy: &Envoy, upstream: &Upstream) -> Result<(Vec<u16>, bool, Vec<serde_json::Value>), String> {
    let before = upstream.requests().len();
    let mut statuses = Vec::new();
    for path in ADMIN_PATHS {
        let response = envoy.send(&Request::get(path)).map_err(|e| e.to_string())?;
        println!("\n> GET {path}\n< {} {}", response.status, response.reason);
        statuses.push(response.status);
    }
    let reached = upstream.requests().len() > before;
    let events = mesh::wait_policy_events(envoy, ADMIN_PATHS.len(), EVENT);
    for e in &events {
        println!(
            "  decision event:\n{}",
            indent(&serde_json::to_string_pretty(e).unwrap_or_default())
        );
    }
    Ok((statuses, reached, events))
}

fn policy(upstream: &Upstream) -> Result<(), String> {
    println!("\n=== L7 policy, detect mode (the default): record would_block, let it through ===");
    let envoy = start_policy(upstream, "detect")?;
    let (statuses, reached, events) = send_admin(&envoy, upstream)?;
    let decisions: Vec<_> = events.iter().map(|e| e["decision"].clone()).collect();
    if statuses != [200, 200] || !reached || decisions != ["would_block", "would_block"] {
        return Err(format!(
            "policy detect: expected 200 x2 recorded as would_block, got {statuses:?} {decisions:?}"
        ));
    }
    drop(envoy);

    println!("\n=== L7 policy, the same policy enforced ===");
    let envoy = start_policy(upstream, "enforce")?;
    let (statuses, reached, events) = send_admin(&envoy, upstream)?;
    let decisions: Vec<_> = events.iter().map(|e| e["decision"].clone()).collect();
    if statuses != [403, 403] || reached || decisions != ["block", "block"] {
        return Err(format!(
            "policy enforce: expected 403 x2, upstream untouched, decisions block, got {statuses:?} (upstream reached: {reached}) {decisions:?}"
        ));
    }
    Ok(())
}
