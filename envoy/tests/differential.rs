//! Differential tests: every scenario of ENVOY.md runs in real Envoy, in host-test (the stream
//! API, as a test drives it) and through `meshward-host serve` (host-test as an HTTP/1.1 proxy,
//! driven by the same raw client in front of the same recording upstream as Envoy); the
//! observable results must match: response status/body/headers, what the upstream saw, and the
//! probe's log lines (callback order, statuses, values), after masking values that are
//! legitimately different between two runs (times, ids, ports, Envoy router artefacts).
//!
//! Every scenario runs through serve; none needs the step-by-step stream API (a paused stream
//! waits there in real time for the tick or the client, as in Envoy).

mod common;

use common::scenarios::{self as sc, Scenario};
use common::{run_envoy, Observed};
use meshward_envoy::{client, Headers, RecordedRequest, Response, Upstream};
use meshward_host_test as ht;
use meshward_host_test::serve::{Server, ServerConfig};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

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

/// Status, body, headers and trailers the client got (all empty when it got no response).
type ClientSeen = (
    Option<u16>,
    Option<String>,
    Vec<(String, String)>,
    Vec<(String, String)>,
);

fn client_seen(response: &Result<Response, String>) -> ClientSeen {
    match response {
        Ok(r) => (
            Some(r.status),
            Some(r.text()),
            filtered(&r.headers),
            filtered(&r.trailers),
        ),
        Err(_) => (None, None, Vec::new(), Vec::new()),
    }
}

fn upstream_seen(requests: &[RecordedRequest]) -> Vec<UpstreamSeen> {
    requests
        .iter()
        .map(|r| UpstreamSeen {
            method: r.method.clone(),
            path: r.target.clone(),
            headers: filtered(&r.headers),
            body: String::from_utf8_lossy(&r.body).into_owned(),
            trailers: filtered(&r.trailers),
        })
        .collect()
}

fn envoy_seen(o: &Observed) -> Seen {
    let lines: Vec<Value> = o.lines.iter().map(|l| l.json.clone()).collect();
    let lines = from_last_configure(&lines);
    let root = lines.first().and_then(|l| l["ctx"].as_u64()).unwrap_or(1);
    let (status, body, response_headers, response_trailers) = client_seen(&o.response);
    Seen {
        status,
        body,
        response_headers,
        response_trailers,
        upstream: upstream_seen(&o.upstream),
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

/// The probe plugin of a scenario in host-test, configured as the harness configures it in
/// Envoy (call-out clusters answered as the scenario's services answer).
fn probe_plugin(s: &Scenario) -> ht::PluginBuilder {
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
    builder
}

/// The probe lines of host-test's log, parsed.
fn host_probe_lines(logs: &[ht::LogEntry]) -> Vec<Value> {
    logs.iter()
        .filter_map(|l| l.message.strip_prefix("probe "))
        .filter_map(|t| serde_json::from_str(t).ok())
        .collect()
}

/// The probe lines of host-test's log (normalized) and its other log lines.
fn host_logs_seen(logs: &[ht::LogEntry]) -> (Vec<Value>, Vec<(String, String)>) {
    let lines = from_last_configure(&host_probe_lines(logs));
    let root = lines.first().and_then(|l| l["ctx"].as_u64()).unwrap_or(1);
    let stream = lines
        .iter()
        .find(|l| l["cb"] == "on_context_create" && l["value"]["parent"] != json!(0))
        .and_then(|l| l["ctx"].as_u64());
    let raw_logs = logs
        .iter()
        .filter(|l| !l.message.starts_with("probe "))
        .map(|l| (level_name(l.level), l.message.clone()))
        .collect();
    (normalize(lines, root, stream), raw_logs)
}

/// Runs a scenario in host-test; `Err` (the reason) if the plugin failed to start.
fn host_test_seen(s: &Scenario) -> Result<Seen, String> {
    let mut plugin = probe_plugin(s).build().map_err(|e| e.to_string())?;
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

    let (lines, raw_logs) = host_logs_seen(plugin.logs());
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
        raw_logs,
        lines,
    })
}

/// Runs a scenario through `serve`: the same raw request from a real client, in front of the
/// same recording upstream as Envoy. `Err` (the reason) if the server did not start.
fn serve_seen(s: &Scenario) -> Result<Seen, String> {
    let upstream = Upstream::start().expect("starting the upstream");
    if let Some(r) = &s.upstream {
        upstream.set_response(r.clone());
    }
    let config = ServerConfig {
        root_id: "probe_root".into(),
        ..ServerConfig::new(upstream.addr())
    };
    let server = Server::start(config, probe_plugin(s)).map_err(|e| e.to_string())?;
    let response = client::send_raw(
        server.addr(),
        &s.request.to_bytes(),
        s.request.method == "HEAD",
        s.client_timeout,
    )
    .map_err(|e| e.to_string());
    // As in Envoy, the stream's last callbacks may run after the client has its answer (or
    // gave up waiting for one).
    let deadline = Instant::now() + Duration::from_secs(3);
    let logs = loop {
        let logs = server.plugin(|p| p.logs().to_vec());
        let cbs: Vec<Value> = logs
            .iter()
            .filter_map(|l| l.message.strip_prefix("probe "))
            .filter_map(|t| serde_json::from_str::<Value>(t).ok())
            .map(|l| l["cb"].clone())
            .collect();
        if s.wait_for.iter().all(|cb| cbs.contains(&json!(cb))) || Instant::now() > deadline {
            break logs;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    drop(server);
    let (lines, raw_logs) = host_logs_seen(&logs);
    let (status, body, response_headers, response_trailers) = client_seen(&response);
    Ok(Seen {
        status,
        body,
        response_headers,
        response_trailers,
        upstream: upstream_seen(&upstream.requests()),
        raw_logs,
        lines,
    })
}

/// Runs `s` in Envoy, in host-test and through serve, and compares each with Envoy; on
/// mismatch, names the first differing line.
fn compare(s: Scenario) {
    let envoy = envoy_seen(&run_envoy(&s));
    let host = host_test_seen(&s).unwrap_or_else(|e| {
        panic!(
            "{}: host-test failed to start the plugin, Envoy started it: {e}",
            s.name
        )
    });
    let served = serve_seen(&s)
        .unwrap_or_else(|e| panic!("{}: serve failed to start the plugin, Envoy started it: {e}", s.name));
    let mut problems = Vec::new();
    for (side, seen) in [("host-test", &host), ("serve", &served)] {
        let differ = differences(&s, &envoy, seen);
        if !differ.is_empty() {
            problems.push(format!(
                "scenario {} differs between Envoy and {side}:\n{}",
                s.name,
                differ.join("\n")
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// What differs between what Envoy and another host (`other`) showed for `s`.
fn differences(s: &Scenario, envoy: &Seen, other: &Seen) -> Vec<String> {
    let mut problems = Vec::new();
    macro_rules! field {
        ($f:ident) => {
            if envoy.$f != other.$f {
                problems.push(format!(
                    "{}:\n  envoy: {:?}\n  other: {:?}",
                    stringify!($f),
                    envoy.$f,
                    other.$f
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
        let (e, h) = (pick(&envoy.lines), pick(&other.lines));
        if e != h {
            problems.push(format!(
                "{role} probe lines differ (envoy {} lines, other {}):\n{}",
                e.len(),
                h.len(),
                line_diff(&e, &h)
            ));
        }
    }
    problems
}

/// The differing lines of two probe-line lists, aligned by position.
fn line_diff(e: &[Value], h: &[Value]) -> String {
    let mut out = Vec::new();
    for i in 0..e.len().max(h.len()) {
        let (a, b) = (e.get(i), h.get(i));
        if a != b {
            out.push(format!(
                "  #{i}\n    envoy: {}\n    other: {}",
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
        assert!(
            serve_seen(&s).is_err(),
            "{}: serve must refuse to start like Envoy",
            s.name
        );
    }
}

/// The hello fixture (an SDK-based filter): same status, upstream headers and local reply, in
/// Envoy, in host-test and through serve.
#[test]
fn hello_fixture_matches() {
    use meshward_envoy::{Envoy, EnvoyConfig, Request, WasmFilter};
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
    let serve_upstream = Upstream::start().unwrap();
    let served = Server::start(
        ServerConfig {
            root_id: "hello_root".into(),
            ..ServerConfig::new(serve_upstream.addr())
        },
        host.plugin(&module)
            .name("hello")
            .vm_id("hello_vm")
            .root("hello_root", "bonjour"),
    )
    .unwrap();
    for path in ["/greet", "/local/x"] {
        let request = Request::get(path);
        let e = envoy.send(&request).unwrap();
        let sv = client::send(served.addr(), &request).unwrap();
        assert_eq!(
            (e.status, e.text(), e.header("x-hello")),
            (sv.status, sv.text(), sv.header("x-hello")),
            "{path}: status, body and x-hello from Envoy and from serve"
        );
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
    let (via_envoy, via_serve) = (upstream.requests(), serve_upstream.requests());
    assert_eq!(via_serve.len(), 1, "serve forwarded only /greet");
    assert_eq!(
        upstream_seen(&via_envoy),
        upstream_seen(&via_serve),
        "the upstream saw the same request"
    );
    assert_eq!(envoy.stat("wasmcustom.hello_streams").unwrap(), Some(2));
    assert_eq!(plugin.metric("hello_streams"), Some(ht::Metric::Counter { value: 2 }));
    assert_eq!(
        served.plugin(|p| p.metric("hello_streams")),
        Some(ht::Metric::Counter { value: 2 })
    );
}

/// Requests Envoy's codec answers itself, before any filter callback: serve answers each as
/// Envoy does (status, body, the connection closes), and the filter sees the same: its stream
/// context is created and ends with no header callback, the access log reading the reply.
#[test]
fn serve_refuses_malformed_requests_as_envoy_does() {
    let log = |label: &str, call: Value| {
        let mut c = call;
        c["label"] = json!(label);
        c
    };
    let on_log = json!({"calls": [
        log("request headers", sc::call("get_map", json!({"map": "request_headers"}))),
        log("response headers", sc::call("get_map", json!({"map": "response_headers"}))),
        log("code", sc::call("get_property", json!({"path": ["response", "code"]}))),
        log("details", sc::call("get_property", json!({"path": ["response", "code_details"]}))),
        log("size", sc::call("get_property", json!({"path": ["response", "size"]}))),
    ]});
    let s = Scenario {
        name: "codec_refusals",
        script: json!({"on_log": on_log}),
        ..sc::content_length_body()
    };
    let (upstream, _, envoy) = common::start(&s).expect("Envoy starts the probe");
    let serve_upstream = Upstream::start().unwrap();
    let config = ServerConfig {
        root_id: "probe_root".into(),
        ..ServerConfig::new(serve_upstream.addr())
    };
    let served = Server::start(config, probe_plugin(&s)).expect("serve starts the probe");
    let big = "x".repeat(61 * 1024);
    let many: String = (0..101).map(|i| format!("x-h{i}: v\r\n")).collect();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("not a request line", b"GARBAGE\r\n\r\n".to_vec()),
        (
            "header without colon",
            b"GET / HTTP/1.1\r\nHost: a\r\nno-colon\r\n\r\n".to_vec(),
        ),
        ("no host", b"GET / HTTP/1.1\r\n\r\n".to_vec()),
        ("no host, a header", b"GET /p?q HTTP/1.1\r\nX-Case: Up\r\n\r\n".to_vec()),
        (
            "space in a header name",
            b"GET / HTTP/1.1\r\nHost: a\r\nBad Name: 1\r\n\r\n".to_vec(),
        ),
        (
            "NUL in a header value",
            b"GET / HTTP/1.1\r\nHost: a\r\nX-A: a\0b\r\n\r\n".to_vec(),
        ),
        (
            "two Content-Lengths",
            b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab".to_vec(),
        ),
        ("HTTP/1.0", b"GET / HTTP/1.0\r\nHost: a\r\n\r\n".to_vec()),
        (
            "61 KiB header",
            format!("GET / HTTP/1.1\r\nHost: a\r\nx-big: {big}\r\n\r\n").into_bytes(),
        ),
        (
            "61 KiB target",
            format!("GET /{big} HTTP/1.1\r\nHost: a\r\n\r\n").into_bytes(),
        ),
        (
            "101 headers",
            format!("GET / HTTP/1.1\r\nHost: a\r\n{many}\r\n").into_bytes(),
        ),
        (
            "Content-Length and Transfer-Encoding",
            b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n".to_vec(),
        ),
        (
            "invalid Content-Length",
            b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: x\r\n\r\n".to_vec(),
        ),
        (
            "gzip transfer coding",
            b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n".to_vec(),
        ),
    ];
    let timeout = Duration::from_secs(5);
    let mut problems = Vec::new();
    // What the filter saw of each request: the lines of each stream context, in order.
    let ended = |lines: &[Value]| {
        lines
            .iter()
            .filter(|l| l["cb"] == "on_delete" && l["call"] == "enter")
            .count()
    };
    let envoy_lines = |n: usize| -> Vec<Value> {
        envoy
            .wait_probe(Duration::from_secs(5), |lines| {
                let json: Vec<Value> = lines.iter().map(|l| l.json.clone()).collect();
                ended(&json) >= n
            })
            .iter()
            .map(|l| l.json.clone())
            .collect()
    };
    let serve_lines = |n: usize| -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let lines = served.plugin(|p| host_probe_lines(p.logs()));
            if ended(&lines) >= n || Instant::now() > deadline {
                break lines;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    };
    for (i, (what, raw)) in cases.iter().enumerate() {
        let e = client::send_raw(envoy.addr(), raw, false, timeout).unwrap();
        let sv = client::send_raw(served.addr(), raw, false, timeout).unwrap();
        let (e, sv) = (
            (
                e.status,
                e.text(),
                filtered(&e.headers),
                e.header("connection").map(str::to_string),
            ),
            (
                sv.status,
                sv.text(),
                filtered(&sv.headers),
                sv.header("connection").map(str::to_string),
            ),
        );
        if e != sv {
            problems.push(format!("{what}:\n  envoy: {e:?}\n  serve: {sv:?}"));
        }
        // Both log a refused request when its connection closes, which can come after the
        // next request's stream has started: wait for it, so streams pair with cases in order.
        envoy_lines(i + 1);
        serve_lines(i + 1);
    }
    let (e, sv) = (
        per_stream(&envoy_lines(cases.len())),
        per_stream(&serve_lines(cases.len())),
    );
    assert_eq!(e.len(), cases.len(), "Envoy created a stream context per request");
    for ((what, _), (e, sv)) in cases.iter().zip(e.iter().zip(&sv)) {
        if e != sv {
            problems.push(format!("{what}: what the filter saw differs:\n{}", line_diff(e, sv)));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(upstream.requests().is_empty() && serve_upstream.requests().is_empty());
}

/// The lines of each stream context (from the last configure on), in the order the streams
/// started, normalized with their context ids masked.
fn per_stream(lines: &[Value]) -> Vec<Vec<Value>> {
    let lines = from_last_configure(lines);
    let root = lines.first().and_then(|l| l["ctx"].as_u64());
    let mut streams: Vec<(u64, Vec<Value>)> = Vec::new();
    for line in lines {
        let Some(ctx) = line["ctx"].as_u64().filter(|&c| Some(c) != root) else {
            continue;
        };
        match streams.iter_mut().find(|(c, _)| *c == ctx) {
            Some((_, group)) => group.push(line),
            None => streams.push((ctx, vec![line])),
        }
    }
    streams
        .into_iter()
        .map(|(ctx, group)| normalize(group, root.unwrap_or(1), Some(ctx)))
        .collect()
}

/// An upstream that refuses, closes without answering or answers garbage: serve sends Envoy's
/// router reply, through the filter's response callbacks, as Envoy does.
#[test]
fn serve_replies_to_upstream_failures_as_envoy_does() {
    use meshward_envoy::{Envoy, EnvoyConfig, WasmFilter};
    use std::io::{Read, Write};
    use std::net::TcpListener;
    /// An upstream that reads a request, writes `reply` and closes, once per connection.
    fn broken_upstream(reply: &'static [u8]) -> std::net::SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            for mut conn in listener.incoming().flatten() {
                let mut buf = [0u8; 4096];
                let _ = conn.read(&mut buf);
                let _ = conn.write_all(reply);
            }
        });
        addr
    }
    let wasm = common::wasm("meshward-fixture-hello");
    let host = ht::Host::new().unwrap();
    let module = host.load(&wasm).unwrap();
    let refused = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).unwrap();
    for (what, addr) in [
        ("refused", refused),
        ("closed without a response", broken_upstream(b"")),
        ("not HTTP", broken_upstream(b"NOT HTTP\r\n\r\n")),
    ] {
        let envoy = Envoy::start(&EnvoyConfig::new(addr).filter(WasmFilter::new(&wasm, "hi"))).unwrap();
        let served = Server::start(ServerConfig::new(addr), host.plugin(&module).config("hi")).unwrap();
        let request = meshward_envoy::Request::get("/x");
        let e = envoy.send(&request).unwrap();
        let sv = client::send(served.addr(), &request).unwrap();
        assert_eq!(
            (e.status, e.text(), filtered(&e.headers)),
            (sv.status, sv.text(), filtered(&sv.headers)),
            "{what}: Envoy and serve"
        );
        assert_eq!(sv.header("x-hello"), Some("hi"), "{what}: through the filter");
    }
}
