//! Helpers shared by the Envoy e2e tests. Missing Envoy or wasm files fail the test with a
//! message saying what to run; nothing is skipped.
#![allow(dead_code)]

pub mod scenarios;

use meshward_envoy::{locate, Envoy, EnvoyConfig, ProbeLine, RecordedRequest, Response, Upstream, WasmFilter, WasmLog};
use scenarios::Scenario;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// A built fixture's wasm path, or a panic that names the build command.
pub fn wasm(crate_name: &str) -> PathBuf {
    match locate::wasm_file(crate_name) {
        Ok(path) => path,
        Err(e) => panic!("{e}"),
    }
}

/// The policy filter with `config` as its policy document, under the names Istio examples use.
pub fn policy_filter(config: &str) -> WasmFilter {
    WasmFilter::new(wasm("meshward-netpolicy"), config)
        .name("meshward_policy")
        .root_id("meshward_policy")
        .vm_id("meshward_policy")
}

/// The probe fixture as a filter with `script` as its plugin configuration.
pub fn probe(script: &Value) -> WasmFilter {
    let config = match script {
        Value::String(raw) => raw.clone(),
        other => other.to_string(),
    };
    WasmFilter::new(wasm("meshward-fixture-probe"), config)
        .name("probe")
        .root_id("probe_root")
        .vm_id("probe_vm")
}

/// What one scenario produced in Envoy.
pub struct Observed {
    pub response: Result<Response, String>,
    pub upstream: Vec<RecordedRequest>,
    /// All probe lines (root and stream contexts).
    pub lines: Vec<ProbeLine>,
    /// Every wasm log message (probe lines included).
    pub wasm_logs: Vec<WasmLog>,
    pub stats: BTreeMap<String, u64>,
    /// Envoy's whole log.
    pub log: String,
    /// The context id of the (first) stream.
    pub stream_ctx: Option<u64>,
}

impl Observed {
    /// The line with `label`; panics with all lines when missing.
    pub fn label(&self, label: &str) -> &ProbeLine {
        self.lines
            .iter()
            .find(|l| l.label.as_ref().and_then(Value::as_str) == Some(label))
            .unwrap_or_else(|| panic!("no line labelled {label:?} in:\n{}", dump(&self.lines)))
    }

    /// Status of the line with `label`.
    pub fn status(&self, label: &str) -> &str {
        self.label(label).status.as_deref().unwrap_or("<none>")
    }

    /// Value of the line with `label`.
    pub fn value(&self, label: &str) -> Value {
        self.label(label).value.clone().unwrap_or(Value::Null)
    }

    /// Lines of the stream context (callbacks and calls), in order.
    pub fn stream_lines(&self) -> Vec<&ProbeLine> {
        self.lines
            .iter()
            .filter(|l| Some(l.ctx) == self.stream_ctx && l.cb != "on_context_create")
            .collect()
    }

    /// `cb` of every `enter` line of the stream context, in order.
    pub fn stream_callbacks(&self) -> Vec<String> {
        self.stream_lines()
            .iter()
            .filter(|l| l.call == "enter")
            .map(|l| l.cb.clone())
            .collect()
    }

    /// The `enter` lines of callback `cb` (any context).
    pub fn entries(&self, cb: &str) -> Vec<&ProbeLine> {
        self.lines.iter().filter(|l| l.cb == cb && l.call == "enter").collect()
    }

    /// The response, or a panic with the log tail.
    pub fn ok_response(&self) -> &Response {
        match &self.response {
            Ok(r) => r,
            Err(e) => panic!("no response: {e}\nprobe lines:\n{}", dump(&self.lines)),
        }
    }
}

/// Starts Envoy (and servers) for a scenario; `Err` if Envoy did not start.
pub fn start(s: &Scenario) -> Result<(Upstream, Option<Upstream>, Envoy), meshward_envoy::HarnessError> {
    let upstream = Upstream::start().expect("starting the upstream");
    if let Some(r) = &s.upstream {
        upstream.set_response(r.clone());
    }
    let mut filter = probe(&s.script);
    if let Some(vm) = &s.vm_config {
        filter = filter.vm_configuration(vm.to_string());
    }
    for (k, v) in &s.env {
        filter = filter.env(k, v);
    }
    let mut config = EnvoyConfig::new(upstream.addr()).filter(filter);
    let callout = s.callout.as_ref().map(|r| {
        let svc = Upstream::start().expect("starting the call-out service");
        svc.set_response(r.clone());
        svc
    });
    if let Some(svc) = &callout {
        config = config.cluster("svc", svc.addr());
    }
    if s.dead_cluster {
        // Bind then drop: nothing listens there afterwards.
        let dead = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port");
        config = config.cluster("dead", dead);
    }
    if let Some(limit) = s.buffer_limit {
        config = config.buffer_limit(limit);
    }
    let envoy = Envoy::start(&config)?;
    Ok((upstream, callout, envoy))
}

/// Runs a scenario in Envoy: one request, then waits for the stream's `on_delete`.
pub fn run_envoy(s: &Scenario) -> Observed {
    let (upstream, _callout, envoy) = match start(s) {
        Ok(started) => started,
        Err(e) => panic!("scenario {}: {e}", s.name),
    };
    let response = envoy
        .send_with_timeout(&s.request, s.client_timeout)
        .map_err(|e| e.to_string());
    let lines = envoy.wait_probe(Duration::from_secs(3), |lines| {
        s.wait_for.iter().all(|cb| lines.iter().any(|l| l.cb == *cb))
    });
    let stream_ctx = lines
        .iter()
        .find(|l| {
            l.cb == "on_context_create"
                && l.value.as_ref().and_then(|v| v.get("parent")).and_then(Value::as_u64) != Some(0)
        })
        .map(|l| l.ctx);
    let stats = envoy.stats().unwrap_or_default();
    Observed {
        response,
        upstream: upstream.requests(),
        lines,
        wasm_logs: envoy.wasm_logs(),
        stats,
        log: envoy.log_text(),
        stream_ctx,
    }
}

/// Lines as text, for failure messages.
pub fn dump(lines: &[ProbeLine]) -> String {
    lines
        .iter()
        .map(|l| format!("{} {}", l.level, l.json))
        .collect::<Vec<_>>()
        .join("\n")
}
