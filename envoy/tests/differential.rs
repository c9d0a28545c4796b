//! Differential tests: every scenario of ENVOY.md runs in real Envoy and in host-test; the
//! observable results must match: response status/body/headers, what the upstream saw, and the
//! probe's log lines (callback order, statuses, values), after masking values that are
//! legitimately different between two runs (times, ids, ports, Envoy router artefacts).

mod common;

use common::scenarios::{self as sc, Scenario};
use common::{run_envoy, Observed};
use meshward_envoy::Headers;
use meshward_host_test as ht;
use serde_json::{json, Value};
use std::time::Duration;

/// Response headers Envoy's router/codec adds that a filter host cannot know.
const ROUTER_HEADERS: [&str; 3] = ["x-envoy-upstream-service-time", "date", "server"];
/// Framing and proxy headers compared elsewhere or not at all.
const NOT_COMPARED: [&str; 8] = [
    "host",
    "x-request-id",
    "x-forwarded-proto",
    "x-envoy-expected-rq-timeout-ms",
    "content-length",
    "transfer-encoding",
    "connection",
    "date",
];
/// Labels (prefix match after the phase) whose values differ between runs.
const VOLATILE_LABELS: [&str; 10] = [
    "request.id",
    "request.time",
    "request.duration",
    "request.headers",
    "source.address",
    "source.port",
    "destination.port",
    "connection.id",
    "upstream.address",
    "time",
];

/// What both hosts are compared on.
#[derive(Debug, PartialEq)]
struct Seen {
    status: Option<u16>,
    body: Option<String>,
    response_headers: Vec<(String, String)>,
    response_trailers: Vec<(String, String)>,
    upstream: Vec<UpstreamSeen>,
    raw_logs: Vec<(String, String)>,
    lines: Vec<Value>,
}

/// One request as the upstream got it: method, path, compared headers, body, trailers.
#[derive(Debug, PartialEq)]
struct UpstreamSeen {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: String,
    trailers: Vec<(String, String)>,
}

fn keep(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    !n.starts_with(':') && !NOT_COMPARED.contains(&n.as_str()) && !ROUTER_HEADERS.contains(&n.as_str())
}

fn filtered(headers: &Headers) -> Vec<(String, String)> {
    headers
        .iter()
        .filter(|(k, _)| keep(k))
        .map(|(k, v)| (k.to_ascii_lowercase(), String::from_utf8_lossy(v).into_owned()))
        .collect()
}

fn level_name(level: &str) -> String {
    if level == "warning" {
        "warn".into()
    } else {
        level.into()
    }
}

/// Masks what legitimately differs between runs, and names contexts by role.
fn normalize(lines: Vec<Value>, root: u64, stream: Option<u64>) -> Vec<Value> {
    lines
        .into_iter()
        .filter(|l| !(l["cb"] == "on_context_create" && l["value"]["parent"] == json!(0)) && l["cb"] != "on_vm_start")
        .map(|mut l| {
            let ctx = l["ctx"].as_u64();
            l["ctx"] = json!(if ctx == Some(root) {
                "root"
            } else if ctx == stream {
                "stream"
            } else {
                "other"
            });
            let call = l["call"].as_str().unwrap_or_default().to_string();
            let label = l.get("label").and_then(Value::as_str).unwrap_or_default().to_string();
            let volatile = VOLATILE_LABELS
                .iter()
                .any(|v| label == *v || label.ends_with(&format!(":{v}")));
            let masked = volatile || call == "get_current_time" || call == "http_call" || call == "grpc_call";
            if masked && l.get("value").is_some_and(|v| !v.is_null()) {
                l["value"] = json!("*");
            }
            if call == "enter" {
                if let Some(v) = l.get_mut("value") {
                    for k in ["token", "parent"] {
                        if v.get(k).is_some() {
                            v[k] = json!("*");
                        }
                    }
                    // Envoy reads large bodies from the socket in chunks whose sizes vary run to run.
                    if v.get("size").and_then(Value::as_u64).is_some_and(|n| n >= 65536) {
                        v["size"] = json!("large");
                    }
                    if l["cb"] == "on_http_response_headers" || l["cb"] == "on_http_call_response" {
                        l["value"]["num_headers"] = json!("*");
                    }
                }
            }
            if let Some(list) = l.get_mut("value").and_then(Value::as_array_mut) {
                // Header lists: drop router artefacts, mask the request id.
                list.retain(|p| !p[0].as_str().is_some_and(|k| ROUTER_HEADERS.contains(&k)));
                for p in list.iter_mut() {
                    if p[0] == "x-request-id" {
                        p[1] = json!("*");
                    }
                }
            }
            l
        })
        .collect()
}

/// The part of the lines that both hosts produce: the last configure onwards (Envoy runs three
/// VMs, host-test one).
fn from_last_configure(lines: &[Value]) -> Vec<Value> {
    let start = lines
        .iter()
        .rposition(|l| l["cb"] == "on_configure" && l["call"] == "enter")
        .unwrap_or(0);
    lines[start..].to_vec()
}

fn envoy_seen(o: &Observed) -> Seen {
    let lines: Vec<Value> = o.lines.iter().map(|l| l.json.clone()).collect();
    let lines = from_last_configure(&lines);
    let root = lines.first().and_then(|l| l["ctx"].as_u64()).unwrap_or(1);
    let (status, body, response_headers, response_trailers) = match &o.response {
        Ok(r) => (
            Some(r.status),
            Some(r.text()),
            filtered(&r.headers),
            filtered(&r.trailers),
        ),
        Err(_) => (None, None, Vec::new(), Vec::new()),
    };
    Seen {
        status,
        body,
        response_headers,
        response_trailers,
        upstream: o
            .upstream
            .iter()
            .map(|r| UpstreamSeen {
                method: r.method.clone(),
                path: r.target.clone(),
                headers: filtered(&r.headers),
                body: String::from_utf8_lossy(&r.body).into_owned(),
                trailers: filtered(&r.trailers),
            })
            .collect(),
        raw_logs: o
            .wasm_logs
            .iter()
            .filter(|w| !w.message.starts_with("probe "))
            .map(|w| (level_name(&w.level), w.message.clone()))
            .collect(),
        lines: normalize(lines, root, o.stream_ctx),
    }
}

fn probe_module() -> (ht::Host, ht::Module) {
    let host = ht::Host::new().expect("host-test host");
    let module = host
        .load(common::wasm("meshward-fixture-probe"))
        .expect("loading the probe in host-test");
    (host, module)
}

fn call_reply(r: &meshward_envoy::UpstreamResponse) -> ht::CallReply {
    if !r.delay.is_zero() {
        return ht::CallReply::Timeout;
    }
    let parsed = ht::Response::from_http1(&r.to_bytes()).expect("parsing the call-out response");
    ht::CallReply::Response {
        headers: parsed.headers,
        body: parsed.chunks.concat(),
        trailers: parsed.trailers,
    }
}

/// Advances the VM clock (ticks) and delivers pending events until `done` holds (2 s at most).
fn settle(plugin: &mut ht::Plugin, id: ht::StreamId, done: impl Fn(&mut ht::HttpStream<'_>) -> bool) {
    for _ in 0..20 {
        if done(&mut plugin.stream(id)) {
            return;
        }
        plugin.advance(Duration::from_millis(100)).expect("advancing the clock");
        plugin.deliver_pending().expect("delivering pending events");
    }
}

/// Runs a scenario in host-test; `Err` (the reason) if the plugin failed to start.
fn host_test_seen(s: &Scenario) -> Result<Seen, String> {
    let (host, module) = probe_module();
    let config = match &s.script {
        Value::String(raw) => raw.clone(),
        other => other.to_string(),
    };
    let mut builder = host
        .plugin(&module)
        .name("probe")
        .vm_id("probe_vm")
        .root("probe_root", config);
    if let Some(vm) = &s.vm_config {
        builder = builder.vm_config(vm.to_string());
    }
    for (k, v) in &s.env {
        builder = builder.env(k, v);
    }
    if let Some(r) = &s.callout {
        let reply = call_reply(r);
        builder = builder.upstream("svc", move |_| reply.clone());
    }
    if s.dead_cluster {
        // host-test has no "connection refused" reply; give the synthetic 503 Envoy answers with.
        let body = "upstream connect error or disconnect/reset before headers. reset reason: remote connection failure";
        let reply = ht::CallReply::status(503, body)
            .header("content-length", &body.len().to_string())
            .header("content-type", "text/plain");
        builder = builder.upstream("dead", move |_| reply.clone());
    }
    let mut plugin = builder.build().map_err(|e| e.to_string())?;
    let request = ht::Request::from_http1(&s.request.to_bytes()).expect("parsing the scenario request");
    let response_bytes = s
        .upstream
        .clone()
        .unwrap_or_else(|| meshward_envoy::UpstreamResponse::ok("ok").header("content-type", "text/plain"))
        .to_bytes();
    let response = ht::Response::from_http1(&response_bytes).expect("parsing the scenario response");
    let id = plugin.open_stream().expect("opening a stream");
    plugin.stream(id).send_request(&request).expect("sending the request");
    // Let ticks and call-outs resume a paused request, as time passes in Envoy.
    settle(&mut plugin, id, |st| st.request_complete() || st.answered());
    {
        let mut st = plugin.stream(id);
        if st.request_complete() && !st.answered() {
            st.send_response(&response).expect("sending the response");
        }
    }
    // ... and a paused response.
    settle(&mut plugin, id, |st| st.outcome().paused_at.is_none());
    let mut st = plugin.stream(id);
    let outcome = st.finish().expect("finishing the stream");
    plugin.deliver_pending().expect("delivering pending events");

    let logs = plugin.logs().to_vec();
    let lines: Vec<Value> = logs
        .iter()
        .filter_map(|l| l.message.strip_prefix("probe "))
        .filter_map(|t| serde_json::from_str(t).ok())
        .collect();
    let lines = from_last_configure(&lines);
    let root = lines.first().and_then(|l| l["ctx"].as_u64()).unwrap_or(1);
    let stream = lines
        .iter()
        .find(|l| l["cb"] == "on_context_create" && l["value"]["parent"] != json!(0))
        .and_then(|l| l["ctx"].as_u64());
    let paused_or_reset = outcome.reset || outcome.paused_at.is_some();
    let (status, body, response_headers, response_trailers) = match (&outcome.downstream_response, paused_or_reset) {
        (Some(m), false) => (
            outcome.status(),
            Some(m.body_text()),
            filtered(&m.headers),
            m.trailers.as_ref().map(filtered).unwrap_or_default(),
        ),
        _ => (None, None, Vec::new(), Vec::new()),
    };
    let upstream = outcome
        .upstream_request
        .iter()
        .map(|m| UpstreamSeen {
            method: m.headers.get(":method").unwrap_or_default(),
            path: m.headers.get(":path").unwrap_or_default(),
            headers: filtered(&m.headers),
            body: m.body_text(),
            trailers: m.trailers.as_ref().map(filtered).unwrap_or_default(),
        })
        .collect();
    Ok(Seen {
        status,
        body,
        response_headers,
        response_trailers,
        upstream,
        raw_logs: logs
            .iter()
            .filter(|l| !l.message.starts_with("probe "))
            .map(|l| (level_name(l.level), l.message.clone()))
            .collect(),
        lines: normalize(lines, root, stream),
    })
}

/// Runs `s` in both hosts and compares everything; on mismatch, names the first differing line.
fn compare(s: Scenario) {
    let envoy = envoy_seen(&run_envoy(&s));
    let host = host_test_seen(&s).unwrap_or_else(|e| {
        panic!(
            "{}: host-test failed to start the plugin, Envoy started it: {e}",
            s.name
        )
    });
    let mut problems = Vec::new();
    macro_rules! field {
        ($f:ident) => {
            if envoy.$f != host.$f {
                problems.push(format!(
                    "{}:\n  envoy:     {:?}\n  host-test: {:?}",
                    stringify!($f),
                    envoy.$f,
                    host.$f
                ));
            }
        };
    }
    field!(status);
    field!(body);
    field!(response_headers);
    field!(response_trailers);
    field!(upstream);
    field!(raw_logs);
    // Stream lines in order; root-context lines in order on their own, because Envoy delivers
    // call-out results and queue notifications asynchronously, interleaved by timing.
    // With variable chunking only the number and sizes of body calls may differ: leave them out.
    let chunked_body =
        |l: &Value| s.variable_chunks && (l["cb"] == "on_http_request_body" || l["cb"] == "on_http_response_body");
    for role in ["stream", "root"] {
        let pick = |lines: &[Value]| -> Vec<Value> {
            lines
                .iter()
                .filter(|l| l["ctx"] == role && !chunked_body(l))
                .cloned()
                .collect()
        };
        let (e, h) = (pick(&envoy.lines), pick(&host.lines));
        if e != h {
            problems.push(format!(
                "{role} probe lines differ (envoy {} lines, host-test {}):\n{}",
                e.len(),
                h.len(),
                line_diff(&e, &h)
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "scenario {} differs between Envoy and host-test:\n{}",
        s.name,
        problems.join("\n")
    );
}

/// The differing lines of two probe-line lists, aligned by position.
fn line_diff(e: &[Value], h: &[Value]) -> String {
    let mut out = Vec::new();
    for i in 0..e.len().max(h.len()) {
        let (a, b) = (e.get(i), h.get(i));
        if a != b {
            out.push(format!(
                "  #{i}\n    envoy:     {}\n    host-test: {}",
                a.map_or("-".into(), Value::to_string),
                b.map_or("-".into(), Value::to_string)
            ));
        }
        if out.len() >= 12 {
            out.push("  ...".into());
            break;
        }
    }
    out.join("\n")
}

macro_rules! differential {
    ($($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                compare(sc::$name());
            }
        )*
    };
}

differential!(
    pause_in_request_headers,
    content_length_body,
    pause_in_body,
    request_over_buffer_limit,
    response_over_buffer_limit,
    header_maps_by_phase,
    header_semantics,
    buffer_ranges,
    body_rewrite_content_length,
    buffers_outside_phase,
    properties,
    local_reply_from_request,
    local_reply_from_response,
    local_reply_twice_then_continue,
    http_call_ok,
    http_call_no_switch,
    http_call_bad_arguments,
    http_call_timeout,
    http_call_refused,
    grpc_call_plain_cluster,
    metrics,
    shared_data,
    queues,
    wasi_and_logging,
    wasi_environment,
    lifecycle,
    trap_in_request,
    close_stream,
    trailers,
    pause_in_response_headers,
    local_reply_from_response_body,
    local_reply_from_request_body,
);

#[test]
fn configure_false() {
    for s in [sc::configure_false(), sc::configure_unparsable()] {
        assert!(common::start(&s).is_err(), "{}: Envoy must refuse the plugin", s.name);
        assert!(
            host_test_seen(&s).is_err(),
            "{}: host-test must refuse the plugin like Envoy",
            s.name
        );
    }
}

/// The hello fixture (an SDK-based filter): same status, upstream headers and local reply.
#[test]
fn hello_fixture_matches() {
    use meshward_envoy::{Envoy, EnvoyConfig, Request, Upstream, WasmFilter};
    let wasm = common::wasm("meshward-fixture-hello");
    let upstream = Upstream::start().unwrap();
    let filter = WasmFilter::new(&wasm, "bonjour")
        .name("hello")
        .root_id("hello_root")
        .vm_id("hello_vm");
    let envoy = Envoy::start(&EnvoyConfig::new(upstream.addr()).filter(filter)).unwrap();
    let host = ht::Host::new().unwrap();
    let module = host.load(&wasm).unwrap();
    let mut plugin = host
        .plugin(&module)
        .name("hello")
        .vm_id("hello_vm")
        .root("hello_root", "bonjour")
        .build()
        .unwrap();
    for path in ["/greet", "/local/x"] {
        let request = Request::get(path);
        let e = envoy.send(&request).unwrap();
        let ok = ht::Response::from_http1(
            &meshward_envoy::UpstreamResponse::ok("ok")
                .header("content-type", "text/plain")
                .to_bytes(),
        )
        .unwrap();
        let h = plugin
            .run_for(
                "hello_root",
                &ht::Request::from_http1(&request.to_bytes()).unwrap(),
                &ok,
            )
            .unwrap();
        assert_eq!(Some(e.status), h.status(), "{path}: status");
        assert_eq!(
            e.header("x-hello").map(str::to_string),
            h.downstream_header("x-hello"),
            "{path}: x-hello to the client"
        );
        if path == "/greet" {
            assert_eq!(
                upstream
                    .requests()
                    .last()
                    .and_then(|r| r.header("x-hello"))
                    .map(str::to_string),
                h.upstream_header("x-hello")
            );
            assert_eq!(e.text(), h.downstream_response.as_ref().unwrap().body_text());
        } else {
            assert_eq!(
                e.text(),
                h.local_response
                    .as_ref()
                    .map(|l| String::from_utf8_lossy(&l.body).into_owned())
                    .unwrap_or_default()
            );
            assert_eq!(h.verdict, "local_response");
        }
    }
    assert_eq!(upstream.requests().len(), 1, "Envoy forwarded only /greet");
    assert_eq!(envoy.stat("wasmcustom.hello_streams").unwrap(), Some(2));
    assert_eq!(plugin.metric("hello_streams"), Some(ht::Metric::Counter { value: 2 }));
}
