//! The wasm driver: `meshward_waf.wasm` in host-test (the proxy-wasm host that behaves like
//! Envoy), each request handed over as the proxy model says Envoy hands it to the filter, and
//! the upstream's answer synthesized by albedo.

use crate::albedo;
use crate::drive::{self, Served};
use crate::evidence::Event;
use crate::http1::{ProxyOptions, Request};
use crate::load::Case;
use crate::run::{self, CaseResult};
use crate::skips::Skips;
use meshward_host_test::{Headers, Host, Module, Outcome, Plugin};
use meshward_testkit::http1::{self, Frame};
use meshward_testkit::locate;
use std::path::{Path, PathBuf};

/// The WAF filter loaded once, with one plugin (one VM) serving every test request.
pub struct WasmDriver {
    host: Host,
    module: Module,
    config: String,
    plugin: Plugin,
    proxy: ProxyOptions,
    /// Times the plugin had to be rebuilt after the VM failed.
    pub restarts: usize,
}

impl WasmDriver {
    /// Loads `wasm` and configures it with `config` (the plugin configuration JSON).
    pub fn new(wasm: &Path, config: &str, proxy: ProxyOptions) -> anyhow::Result<WasmDriver> {
        locate::wasm_file_at(wasm)?;
        let host = Host::new()?;
        let module = host.load(wasm)?;
        let plugin = build(&host, &module, config)?;
        Ok(WasmDriver {
            host,
            module,
            config: config.to_string(),
            plugin,
            proxy,
            restarts: 0,
        })
    }

    /// The plugin (for memory and timing figures).
    pub fn plugin(&self) -> &Plugin {
        &self.plugin
    }

    /// Runs every stage of `case`.
    pub fn run_case(&mut self, case: &Case, skips: &Skips) -> CaseResult {
        let proxy = self.proxy;
        run::run_case_with(case, skips, |_, stage| {
            run::run_stage_with(stage, &proxy, |request| self.serve(request))
        })
    }

    /// Runs `request` through the filter, then (if it went upstream) albedo's answer.
    pub fn serve(&mut self, request: &Request) -> Result<Served, String> {
        let result = self.exchange(request);
        self.plugin.take_logs();
        if self.plugin.is_failed() {
            self.restarts += 1;
            self.plugin = build(&self.host, &self.module, &self.config).map_err(|e| e.to_string())?;
        }
        result
    }

    fn exchange(&mut self, request: &Request) -> Result<Served, String> {
        let headers = request_headers(request);
        let outcome = if request.body_complete {
            let mut host_request = meshward_host_test::Request {
                headers,
                ..Default::default()
            };
            if !request.body.is_empty() {
                host_request.chunks = vec![request.body.clone()];
            }
            let response = response_of(&albedo::respond(request));
            self.plugin.run(&host_request, &response).map_err(|e| e.to_string())?
        } else {
            // The body never completes: headers (and what arrived of the body) reach the
            // filter, then Envoy ends the stream itself (`drive::proxy_answer`).
            let id = self.plugin.open_stream().map_err(|e| e.to_string())?;
            let mut stream = self.plugin.stream(id);
            stream.send_request_headers(headers, false).map_err(|e| e.to_string())?;
            if !request.body.is_empty() && !stream.answered() {
                stream
                    .send_request_body(&request.body, false)
                    .map_err(|e| e.to_string())?;
            }
            stream.finish().map_err(|e| e.to_string())?
        };
        if let Some(trap) = &outcome.trap {
            return Err(format!("the filter trapped: {trap}"));
        }
        served(request, &outcome)
    }
}

fn build(host: &Host, module: &Module, config: &str) -> anyhow::Result<Plugin> {
    // go-ftw's connection: client 127.0.0.1:40000 to 127.0.0.1:80, as in the native run.
    Ok(host
        .plugin(module)
        .config(config)
        .property("destination.address", "127.0.0.1:80")
        .property("destination.port", meshward_host_test::Value::Int(80))
        .build()?)
}

/// The request headers as Envoy's HTTP/1 codec hands them to a filter.
fn request_headers(request: &Request) -> Headers {
    let mut headers = Headers::new();
    for (name, value) in drive::filter_headers(request) {
        headers.add(&String::from_utf8_lossy(&name), value);
    }
    headers
}

/// albedo's response as Envoy's codec hands it to a filter (names lower-cased).
fn response_of(response: &albedo::Response) -> meshward_host_test::Response {
    let upstream = drive::upstream_response(response);
    let mut out = meshward_host_test::Response::status(upstream.status());
    for (name, value) in upstream.headers.iter().filter(|(n, _)| !n.starts_with(b":")) {
        out.headers.add(&String::from_utf8_lossy(name), value);
    }
    out.chunks = upstream.body;
    out
}

/// What the client and the WAF's evidence show for one stream.
fn served(request: &Request, outcome: &Outcome) -> Result<Served, String> {
    // A stream that never got a response got Envoy's own answer.
    let status = match outcome.status().or_else(|| drive::proxy_answer(request)) {
        Some(status) => status,
        None => {
            return Err(format!(
                "no response (verdict {}, paused at {:?})",
                outcome.verdict, outcome.paused_at
            ))
        }
    };
    let response = match &outcome.downstream_response {
        Some(message) => http1::Response {
            headers: message.headers.iter().filter(|(n, _)| !n.starts_with(':')).collect(),
            body: message.body.clone(),
            ..http1::Response::new(status)
        }
        .to_bytes(Frame::Bare),
        None => format!("HTTP/1.1 {status} {}\r\n", albedo::reason_phrase(status)).into_bytes(),
    };
    let events: Vec<Event> = outcome.logs.iter().filter_map(|l| Event::parse(&l.message)).collect();
    if events.len() > 1 {
        return Err(format!("{} evidence events for one stream", events.len()));
    }
    let event = events.into_iter().next().unwrap_or_default();
    let ids = event.ids();
    Ok(Served {
        status,
        response,
        logged_ids: ids.clone(),
        matched_ids: ids,
        log: event.log_lines(),
    })
}

/// `$MESHWARD_WASM_DIR/meshward_waf.wasm`, else the workspace's
/// `target/filters/wasm32-wasip1/meshward_waf.wasm` (whether it exists or not: the driver
/// says so when it does not).
pub fn default_wasm() -> PathBuf {
    locate::wasm_dir().join("meshward_waf.wasm")
}
