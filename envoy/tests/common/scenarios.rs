//! One scenario per row of host-test/ENVOY.md: a probe script, a request, and what the
//! upstream (and an optional call-out service) answer. The Envoy row tests and the
//! differential tests run the same scenarios.
#![allow(dead_code)]

use meshward_envoy::{Request, UpstreamResponse};
use serde_json::{json, Value};
use std::time::Duration;

/// A probe run: script, request, upstream behaviour.
#[derive(Clone)]
pub struct Scenario {
    pub name: &'static str,
    pub script: Value,
    pub vm_config: Option<Value>,
    pub request: Request,
    /// What the upstream answers (default: 200 "ok").
    pub upstream: Option<UpstreamResponse>,
    /// A cluster `svc` answering every call-out with this.
    pub callout: Option<UpstreamResponse>,
    /// A cluster `dead` whose address refuses connections.
    pub dead_cluster: bool,
    pub buffer_limit: Option<u32>,
    /// Environment variables given to the VM.
    pub env: Vec<(String, String)>,
    /// How long the client waits for the response.
    pub client_timeout: Duration,
    /// Callbacks that must have run before the lines are collected (they may come late).
    pub wait_for: Vec<&'static str>,
    /// The body is large: Envoy delivers it in socket-read-sized chunks that vary run to run.
    pub variable_chunks: bool,
}

impl Scenario {
    fn new(name: &'static str, script: Value, request: Request) -> Self {
        Scenario {
            name,
            script,
            vm_config: None,
            request,
            upstream: None,
            callout: None,
            dead_cluster: false,
            buffer_limit: None,
            env: Vec::new(),
            client_timeout: Duration::from_secs(5),
            wait_for: vec!["on_delete"],
            variable_chunks: false,
        }
    }
}

/// A call object: `call(name, {args})`.
pub fn call(name: &str, args: Value) -> Value {
    let mut v = args;
    v["call"] = json!(name);
    v
}

fn labelled(name: &str, label: &str, args: Value) -> Value {
    let mut v = call(name, args);
    v["label"] = json!(label);
    v
}

/// E01: Pause from request headers holds the body; a tick resumes the stream.
pub fn pause_in_request_headers() -> Scenario {
    Scenario::new(
        "pause_in_request_headers",
        json!({
            "on_http_request_headers": {"calls": [call("set_tick_period", json!({"ms": 200}))], "return": "pause"},
            "on_tick": {"calls": [
                call("set_tick_period", json!({"ms": 0})),
                labelled("set_effective_context", "to stream", json!({"context": "$http_ctx"})),
                labelled("continue_stream", "resume", json!({"stream": "request"})),
            ]},
            "on_http_request_body": {"calls": [labelled("get_buffer", "body", json!({"buffer": "request_body"}))]},
        }),
        Request::post("/pause", "hello body"),
    )
}

/// E02: a content-length body ends with an extra empty end-of-stream body callback.
pub fn content_length_body() -> Scenario {
    Scenario::new("content_length_body", json!({}), Request::post("/cl", "abcdefgh"))
}

/// E03: Pause from a body callback buffers; the next call reports the cumulative size.
pub fn pause_in_body() -> Scenario {
    Scenario::new(
        "pause_in_body",
        json!({"on_http_request_body": {"calls": [labelled("get_buffer", "body", json!({"buffer": "request_body"}))], "return": "pause", "return_eos": "continue"}}),
        Request::post("/buffered", "hello world").chunked(),
    )
}

/// E04a: buffering a request body beyond Envoy's default buffer limit (1 MiB).
pub fn request_over_buffer_limit() -> Scenario {
    Scenario {
        variable_chunks: true,
        ..Scenario::new(
            "request_over_buffer_limit",
            json!({"on_http_request_body": {"return": "pause", "return_eos": "continue"}}),
            Request::post("/big", vec![b'a'; 1_100_000]),
        )
    }
}

/// E04b: buffering a response body beyond Envoy's default buffer limit (1 MiB).
pub fn response_over_buffer_limit() -> Scenario {
    Scenario {
        upstream: Some(UpstreamResponse::ok(vec![b'z'; 1_100_000])),
        variable_chunks: true,
        ..Scenario::new(
            "response_over_buffer_limit",
            json!({"on_http_response_body": {"return": "pause", "return_eos": "continue"}}),
            Request::get("/bigresp"),
        )
    }
}

const MAPS: [&str; 5] = [
    "request_headers",
    "request_trailers",
    "response_headers",
    "response_trailers",
    "http_call_response_headers",
];

fn map_survey(phase: &str) -> Value {
    let calls: Vec<Value> = MAPS
        .iter()
        .flat_map(|m| {
            vec![
                labelled("get_map", &format!("{phase}:{m}:get_map"), json!({"map": m})),
                labelled(
                    "get_map_value",
                    &format!("{phase}:{m}:get_value"),
                    json!({"map": m, "key": "x-probe-missing"}),
                ),
                labelled(
                    "add_map_value",
                    &format!("{phase}:{m}:add"),
                    json!({"map": m, "key": format!("x-{phase}"), "value": "1"}),
                ),
            ]
        })
        .collect();
    json!({"calls": calls})
}

/// E05: which header map can be read or written in which callback.
pub fn header_maps_by_phase() -> Scenario {
    let mut script = json!({});
    for (cb, phase) in [
        ("on_http_request_headers", "rqh"),
        ("on_http_request_body", "rqb"),
        ("on_http_request_trailers", "rqt"),
        ("on_http_response_headers", "rsh"),
        ("on_http_response_body", "rsb"),
        ("on_http_response_trailers", "rst"),
        ("on_log", "log"),
    ] {
        script[cb] = map_survey(phase);
    }
    Scenario {
        upstream: Some(UpstreamResponse::ok("resp").trailer("x-up-trailer", "t")),
        ..Scenario::new(
            "header_maps_by_phase",
            script,
            Request::post("/maps", "abc").trailer("x-rq-trailer", "1"),
        )
    }
}

/// E06-E08, E37: multi-valued headers, name case, add/replace/remove, what the filter sees.
pub fn header_semantics() -> Scenario {
    let rh = |c: &str, label: &str, args: Value| {
        let mut a = args;
        a["map"] = json!("request_headers");
        labelled(c, label, a)
    };
    Scenario::new(
        "header_semantics",
        json!({"on_http_request_headers": {"calls": [
            rh("get_map", "initial", json!({})),
            rh("get_map_value", "multi", json!({"key": "x-multi"})),
            rh("get_map_value", "upper lookup", json!({"key": "X-Multi"})),
            rh("get_map_value", "missing", json!({"key": "x-missing"})),
            rh("get_map_value", "host", json!({"key": "host"})),
            rh("get_map_value", "authority", json!({"key": ":authority"})),
            rh("add_map_value", "add upper", json!({"key": "X-Upper", "value": "Val"})),
            rh("add_map_value", "add dup", json!({"key": "x-multi", "value": "c"})),
            rh("replace_map_value", "replace new", json!({"key": "x-rep", "value": "r1"})),
            rh("replace_map_value", "replace multi", json!({"key": "x-multi2", "value": "only"})),
            rh("remove_map_value", "remove absent", json!({"key": "x-nothere"})),
            rh("remove_map_value", "remove present", json!({"key": "x-gone"})),
            rh("add_map_value", "add empty", json!({"key": "x-empty", "value": ""})),
            rh("get_map_value", "get empty", json!({"key": "x-empty"})),
            labelled("get_map_value", "bad map type", json!({"map": 99, "key": "host"})),
            labelled("get_map", "bad map type pairs", json!({"map": 8})),
        ]}}),
        Request::get("/h?q=1")
            .header("Host", "h.example")
            .header("X-Multi", "a")
            .header("x-multi", "b")
            .header("x-multi2", "m1")
            .header("x-multi2", "m2")
            .header("x-gone", "bye"),
    )
}

/// E09-E10: get/set buffer ranges on the request body.
pub fn buffer_ranges() -> Scenario {
    let b = |c: &str, label: &str, args: Value| {
        let mut a = args;
        a["buffer"] = json!("request_body");
        labelled(c, label, a)
    };
    Scenario::new(
        "buffer_ranges",
        json!({
            "on_http_request_headers": {"calls": [
                b("get_buffer", "headers:get", json!({"start": 0, "size": 100})),
                b("set_buffer", "headers:set", json!({"start": 0, "size": 0, "value": "H"})),
            ], "return": "continue"},
            "on_http_request_body": [{"calls": [
                b("get_buffer", "all", json!({})),
                b("get_buffer", "2+100", json!({"start": 2, "size": 100})),
                b("get_buffer", "100+5", json!({"start": 100, "size": 5})),
                b("get_buffer", "0+0", json!({"start": 0, "size": 0})),
                b("set_buffer", "prepend", json!({"start": 0, "size": 0, "value": "PRE-"})),
                b("set_buffer", "middle", json!({"start": 1, "size": 1, "value": "X"})),
                b("set_buffer", "append", json!({"start": 1000, "size": 0, "value": "-END"})),
                b("get_buffer", "after edits", json!({"start": 0, "size": 1000})),
                b("set_buffer", "replace head", json!({"start": 0, "size": 3, "value": "Y"})),
                b("get_buffer", "after head", json!({"start": 0, "size": 1000})),
                b("set_buffer", "replace all", json!({"start": 0, "size": 1000, "value": "whole"})),
                b("get_buffer", "after all", json!({"start": 0, "size": 1000})),
            ], "return": "pause"}, {"calls": [b("get_buffer", "final", json!({"start": 0, "size": 1000}))]}],
        }),
        Request::post("/b", "abcdefgh").chunked(),
    )
}

/// E11: a body rewrite does not update content-length.
pub fn body_rewrite_content_length() -> Scenario {
    Scenario::new(
        "body_rewrite_content_length",
        json!({
            "on_http_request_headers": {"calls": [labelled("get_map", "request headers", json!({"map": "request_headers"}))]},
            "on_http_request_body": [{"calls": [call("set_buffer", json!({"buffer": "request_body", "start": 0, "size": 0, "value": "PRE-"}))]}, {}],
        }),
        Request::post("/cl", "abcdefgh")
            .header("connection", "close")
            .header("keep-alive", "timeout=5"),
    )
}

/// E12: buffers outside their phase, unknown buffer types.
pub fn buffers_outside_phase() -> Scenario {
    Scenario::new(
        "buffers_outside_phase",
        json!({
            "on_configure": {"calls": [labelled("get_buffer", "configure:plugin_configuration", json!({"buffer": "plugin_configuration", "start": 0, "size": 2}))]},
            "on_http_request_headers": {"calls": [
                labelled("get_buffer", "plugin_configuration", json!({"buffer": "plugin_configuration", "start": 0, "size": 10})),
                labelled("get_buffer", "vm_configuration", json!({"buffer": "vm_configuration", "start": 0, "size": 10})),
                labelled("get_buffer", "http_call_response_body", json!({"buffer": "http_call_response_body", "start": 0, "size": 10})),
                labelled("get_buffer", "response_body", json!({"buffer": "response_body", "start": 0, "size": 10})),
                labelled("set_buffer", "set response_body", json!({"buffer": "response_body", "value": "x"})),
                labelled("set_buffer", "set plugin_configuration", json!({"buffer": "plugin_configuration", "value": "x"})),
                labelled("get_buffer", "type 99", json!({"buffer": 99, "start": 0, "size": 10})),
            ]},
        }),
        Request::get("/bufs"),
    )
}

const PROPERTIES: [&str; 26] = [
    "request.path",
    "request.url_path",
    "request.host",
    "request.method",
    "request.scheme",
    "request.protocol",
    "request.query",
    "request.useragent",
    "request.id",
    "request.size",
    "request.time",
    "request.duration",
    "request.headers",
    "response.code",
    "response.code_details",
    "response.size",
    "source.address",
    "source.port",
    "destination.port",
    "connection.mtls",
    "connection.id",
    "upstream.address",
    "xds.cluster_name",
    "plugin_name",
    "plugin_root_id",
    "plugin_vm_id",
];

fn property_calls(phase: &str) -> Value {
    let mut calls: Vec<Value> = PROPERTIES
        .iter()
        .map(|p| {
            labelled(
                "get_property",
                &format!("{phase}:{p}"),
                json!({"path": p.split('.').collect::<Vec<_>>()}),
            )
        })
        .collect();
    calls.push(labelled(
        "get_property",
        &format!("{phase}:dotted string"),
        json!({"path": "request.path"}),
    ));
    calls.push(labelled(
        "get_property",
        &format!("{phase}:unknown"),
        json!({"path": ["no_such_thing"]}),
    ));
    json!({"calls": calls})
}

/// E13-E15: property encodings, availability per phase, set_property.
pub fn properties() -> Scenario {
    let mut request_calls = property_calls("rqh");
    let extra = request_calls["calls"].as_array_mut().expect("calls array");
    extra.push(labelled(
        "set_property",
        "set custom",
        json!({"path": ["probe_custom"], "value": "v1"}),
    ));
    extra.push(labelled(
        "get_property",
        "get custom",
        json!({"path": ["probe_custom"]}),
    ));
    extra.push(labelled(
        "set_property",
        "set request.path",
        json!({"path": ["request", "path"], "value": "/changed"}),
    ));
    Scenario::new(
        "properties",
        json!({"on_configure": property_calls("cfg"), "on_http_request_headers": request_calls, "on_log": property_calls("log")}),
        Request::get("/props?a=b").header("user-agent", "probe-ua/1"),
    )
}

/// E16: a local reply from request headers passes through the filter's response callbacks.
pub fn local_reply_from_request() -> Scenario {
    Scenario::new(
        "local_reply_from_request",
        json!({
            "on_http_request_headers": {"calls": [call("send_local_response", json!({"status": 403, "body": "denied", "details": "probe_denied", "headers": [["x-why", "probe"], ["X-Case", "Up"]]}))], "return": "pause"},
            "on_http_response_headers": {"calls": [labelled("get_map", "reply headers", json!({"map": "response_headers"})), call("add_map_value", json!({"map": "response_headers", "key": "x-seen", "value": "yes"}))]},
            "on_http_response_body": {"calls": [labelled("get_buffer", "reply body", json!({"buffer": "response_body"}))]},
            "on_log": {"calls": [labelled("get_property", "details", json!({"path": ["response", "code_details"]})), labelled("get_property", "code", json!({"path": ["response", "code"]}))]},
        }),
        Request::get("/deny"),
    )
}

/// E17: a local reply from response headers replaces the upstream response.
pub fn local_reply_from_response() -> Scenario {
    Scenario::new(
        "local_reply_from_response",
        json!({"on_http_response_headers": {"calls": [call("send_local_response", json!({"status": 502, "body": "from response"}))], "return": "pause"}}),
        Request::get("/replace"),
    )
}

/// E18: two local replies in one callback, and Continue after a local reply.
pub fn local_reply_twice_then_continue() -> Scenario {
    Scenario::new(
        "local_reply_twice_then_continue",
        json!({"on_http_request_headers": {"calls": [
            labelled("send_local_response", "first", json!({"status": 403, "body": "one"})),
            labelled("send_local_response", "second", json!({"status": 401, "body": "two"})),
        ], "return": "continue"}}),
        Request::get("/twice"),
    )
}

fn callout_response_step(resume: bool) -> Value {
    let mut calls = vec![
        labelled(
            "get_map",
            "callout headers",
            json!({"map": "http_call_response_headers"}),
        ),
        labelled(
            "get_buffer",
            "callout body",
            json!({"buffer": "http_call_response_body"}),
        ),
        labelled(
            "get_map",
            "callout trailers",
            json!({"map": "http_call_response_trailers"}),
        ),
        labelled(
            "get_map",
            "request headers in callout",
            json!({"map": "request_headers"}),
        ),
        labelled(
            "continue_stream",
            "continue without switching",
            json!({"stream": "request"}),
        ),
    ];
    if resume {
        calls.push(labelled(
            "set_effective_context",
            "switch",
            json!({"context": "$http_ctx"}),
        ));
        calls.push(labelled(
            "add_map_value",
            "add after switch",
            json!({"map": "request_headers", "key": "x-callout", "value": "done"}),
        ));
        calls.push(labelled(
            "continue_stream",
            "continue after switch",
            json!({"stream": "request"}),
        ));
    }
    json!({"calls": calls})
}

fn http_call(path: &str, cluster: &str, timeout_ms: u64) -> Value {
    labelled(
        "http_call",
        "call",
        json!({"upstream": cluster, "headers": [[":method", "GET"], [":path", path], [":authority", "svc"]], "body": "", "timeout_ms": timeout_ms}),
    )
}

/// E19, E22: an http_call answered; the answer goes to the root context.
pub fn http_call_ok() -> Scenario {
    Scenario {
        callout: Some(
            UpstreamResponse::ok("svc body")
                .header("x-svc", "1")
                .header("x-svc", "2")
                .trailer("x-svc-trailer", "t"),
        ),
        ..Scenario::new(
            "http_call_ok",
            json!({"on_http_request_headers": {"calls": [http_call("/ok", "svc", 2000)], "return": "pause"}, "on_http_call_response": callout_response_step(true)}),
            Request::get("/hc"),
        )
    }
}

/// E19: without switching context, continue_stream in the callback does not resume the stream.
pub fn http_call_no_switch() -> Scenario {
    Scenario {
        callout: Some(UpstreamResponse::ok("svc")),
        client_timeout: Duration::from_secs(2),
        ..Scenario::new(
            "http_call_no_switch",
            json!({"on_http_request_headers": {"calls": [http_call("/ok", "svc", 2000)], "return": "pause"}, "on_http_call_response": callout_response_step(false)}),
            Request::get("/hc-stuck"),
        )
    }
}

/// E20: http_call argument errors.
pub fn http_call_bad_arguments() -> Scenario {
    Scenario {
        callout: Some(UpstreamResponse::ok("svc")),
        ..Scenario::new(
            "http_call_bad_arguments",
            json!({"on_http_request_headers": {"calls": [
                labelled("http_call", "unknown cluster", json!({"upstream": "nocluster", "headers": [[":method", "GET"], [":path", "/"], [":authority", "x"]]})),
                labelled("http_call", "no method", json!({"upstream": "svc", "headers": [[":path", "/"], [":authority", "x"]]})),
                labelled("http_call", "no path", json!({"upstream": "svc", "headers": [[":method", "GET"], [":authority", "x"]]})),
                labelled("http_call", "no authority", json!({"upstream": "svc", "headers": [[":method", "GET"], [":path", "/"]]})),
            ]}}),
            Request::get("/hc-bad"),
        )
    }
}

/// E21a: an http_call that times out.
pub fn http_call_timeout() -> Scenario {
    Scenario {
        callout: Some(UpstreamResponse::ok("late").delayed(Duration::from_secs(3))),
        ..Scenario::new(
            "http_call_timeout",
            json!({"on_http_request_headers": {"calls": [http_call("/slow", "svc", 300)], "return": "pause"}, "on_http_call_response": callout_response_step(true)}),
            Request::get("/hc-timeout"),
        )
    }
}

/// E21b: an http_call whose cluster refuses the connection.
pub fn http_call_refused() -> Scenario {
    Scenario {
        dead_cluster: true,
        ..Scenario::new(
            "http_call_refused",
            json!({"on_http_request_headers": {"calls": [http_call("/x", "dead", 2000)], "return": "pause"}, "on_http_call_response": callout_response_step(true)}),
            Request::get("/hc-refused"),
        )
    }
}

/// E23: a gRPC call to a plain HTTP/1 cluster.
pub fn grpc_call_plain_cluster() -> Scenario {
    Scenario {
        callout: Some(UpstreamResponse::ok("not grpc")),
        wait_for: vec!["on_delete", "on_grpc_close"],
        ..Scenario::new(
            "grpc_call_plain_cluster",
            json!({"on_http_request_headers": {"calls": [
                labelled("grpc_call", "grpc", json!({"upstream": "svc", "service": "pkg.Svc", "method": "Do", "timeout_ms": 1000})),
                labelled("grpc_call", "grpc unknown cluster", json!({"upstream": "nocluster", "service": "pkg.Svc", "method": "Do"})),
            ]}}),
            Request::get("/grpc"),
        )
    }
}

/// E24: metric definitions and operations.
pub fn metrics() -> Scenario {
    Scenario::new(
        "metrics",
        json!({"on_http_request_headers": {"calls": [
            labelled("define_metric", "counter", json!({"type": "counter", "name": "probe_c", "save": "c"})),
            labelled("define_metric", "counter again", json!({"type": "counter", "name": "probe_c", "save": "c2"})),
            labelled("define_metric", "gauge", json!({"type": "gauge", "name": "probe_g", "save": "g"})),
            labelled("define_metric", "histogram", json!({"type": "histogram", "name": "probe_h", "save": "h"})),
            labelled("define_metric", "bad type", json!({"type": 7, "name": "probe_bad"})),
            labelled("increment_metric", "counter +5", json!({"id": "$c", "offset": 5})),
            labelled("increment_metric", "counter -2", json!({"id": "$c", "offset": -2})),
            labelled("increment_metric", "counter again +1", json!({"id": "$c2", "offset": 1})),
            labelled("get_metric", "counter value", json!({"id": "$c"})),
            labelled("record_metric", "counter record 100", json!({"id": "$c", "value": 100})),
            labelled("get_metric", "counter after record", json!({"id": "$c"})),
            labelled("increment_metric", "gauge -3", json!({"id": "$g", "offset": -3})),
            labelled("get_metric", "gauge value", json!({"id": "$g"})),
            labelled("record_metric", "gauge record 42", json!({"id": "$g", "value": 42})),
            labelled("get_metric", "gauge after record", json!({"id": "$g"})),
            labelled("record_metric", "histogram record", json!({"id": "$h", "value": 7})),
            labelled("increment_metric", "histogram increment", json!({"id": "$h", "offset": 1})),
            labelled("get_metric", "histogram get", json!({"id": "$h"})),
            labelled("get_metric", "unknown get", json!({"id": 12345})),
            labelled("increment_metric", "unknown increment", json!({"id": 12345})),
            labelled("record_metric", "unknown record", json!({"id": 12345, "value": 1})),
        ]}}),
        Request::get("/metrics"),
    )
}

/// E25: shared data and CAS.
pub fn shared_data() -> Scenario {
    Scenario::new(
        "shared_data",
        json!({"on_http_request_headers": {"calls": [
            labelled("get_shared_data", "missing", json!({"key": "k1"})),
            labelled("set_shared_data", "first set", json!({"key": "k1", "value": "v1", "cas": 0})),
            labelled("get_shared_data", "after first", json!({"key": "k1", "save": "cas"})),
            labelled("set_shared_data", "cas current", json!({"key": "k1", "value": "v2", "cas": "$cas"})),
            labelled("set_shared_data", "cas stale", json!({"key": "k1", "value": "v3", "cas": "$cas"})),
            labelled("set_shared_data", "cas unknown", json!({"key": "k1", "value": "v4", "cas": 12345})),
            labelled("set_shared_data", "cas zero", json!({"key": "k1", "value": "v5", "cas": 0})),
            labelled("get_shared_data", "final", json!({"key": "k1"})),
            labelled("set_shared_data", "empty value", json!({"key": "k2", "value": ""})),
            labelled("get_shared_data", "empty get", json!({"key": "k2"})),
        ]}}),
        Request::get("/shared"),
    )
}

/// E26: shared queues.
pub fn queues() -> Scenario {
    Scenario {
        wait_for: vec!["on_delete", "on_queue_ready"],
        ..Scenario::new(
            "queues",
            json!({
                "on_http_request_headers": {"calls": [
                    labelled("register_queue", "register", json!({"name": "q1", "save": "q"})),
                    labelled("register_queue", "register again", json!({"name": "q1"})),
                    labelled("resolve_queue", "resolve own vm", json!({"vm_id": "probe_vm", "name": "q1"})),
                    labelled("resolve_queue", "resolve empty vm", json!({"vm_id": "", "name": "q1"})),
                    labelled("resolve_queue", "resolve missing", json!({"vm_id": "probe_vm", "name": "nope"})),
                    labelled("dequeue", "dequeue empty", json!({"queue": "$q"})),
                    labelled("enqueue", "enqueue m1", json!({"queue": "$q", "value": "m1"})),
                    labelled("enqueue", "enqueue m2", json!({"queue": "$q", "value": "m2"})),
                    labelled("dequeue", "dequeue m1", json!({"queue": "$q"})),
                    labelled("enqueue", "enqueue unknown", json!({"queue": 9999, "value": "x"})),
                    labelled("dequeue", "dequeue unknown", json!({"queue": 9999})),
                ]},
                "on_queue_ready": {"calls": [labelled("dequeue", "ready dequeue", json!({"queue": "$queue"}))]},
            }),
            Request::get("/queues"),
        )
    }
}

/// E27-E28, E30: WASI output, log levels, misc statuses.
pub fn wasi_and_logging() -> Scenario {
    Scenario::new(
        "wasi_and_logging",
        json!({"on_http_request_headers": {"calls": [
            call("println", json!({"text": "to stdout"})),
            call("eprintln", json!({"text": "to stderr"})),
            labelled("wasi_args", "args", json!({})),
            labelled("wasi_environ", "environ", json!({})),
            labelled("wasi_clock", "clock", json!({})),
            labelled("get_log_level", "level", json!({})),
            labelled("log", "trace", json!({"level": "trace", "message": "msg at trace"})),
            labelled("log", "debug", json!({"level": "debug", "message": "msg at debug"})),
            labelled("log", "info", json!({"level": "info", "message": "msg at info"})),
            labelled("log", "warn", json!({"level": "warn", "message": "msg at warn"})),
            labelled("log", "error", json!({"level": "error", "message": "msg at error"})),
            labelled("log", "critical", json!({"level": "critical", "message": "msg at critical"})),
            labelled("log", "level 9", json!({"level": 9, "message": "msg at 9"})),
            labelled("done", "done in stream", json!({})),
            labelled("foreign_function", "unknown foreign", json!({"name": "no_such_function", "value": "x"})),
            labelled("set_effective_context", "unknown context", json!({"context": 999})),
            labelled("set_effective_context", "root context", json!({"context": "$root"})),
            labelled("get_current_time", "time", json!({})),
        ]}}),
        Request::get("/wasi"),
    )
}

/// E27: WASI environment from the VM configuration.
pub fn wasi_environment() -> Scenario {
    Scenario {
        env: vec![("PROBE_ENV".into(), "42".into())],
        ..Scenario::new(
            "wasi_environment",
            json!({"on_http_request_headers": {"calls": [labelled("wasi_environ", "environ", json!({}))]}}),
            Request::get("/env"),
        )
    }
}

/// E29: the order of stream callbacks.
pub fn lifecycle() -> Scenario {
    Scenario {
        upstream: Some(UpstreamResponse::ok("body").trailer("x-t", "1")),
        ..Scenario::new(
            "lifecycle",
            json!({}),
            Request::post("/life", "abc").trailer("x-rq-t", "2"),
        )
    }
}

/// E31: on_configure returning false.
pub fn configure_false() -> Scenario {
    Scenario::new(
        "configure_false",
        json!({"on_configure": {"return": false}}),
        Request::get("/never"),
    )
}

/// E31: a plugin configuration that is not JSON (the probe rejects it).
pub fn configure_unparsable() -> Scenario {
    Scenario::new("configure_unparsable", json!("not a script"), Request::get("/never"))
}

/// E32: a trap in a request callback.
pub fn trap_in_request() -> Scenario {
    Scenario::new(
        "trap_in_request",
        json!({"on_http_request_headers": {"calls": [call("trap", json!({}))]}}),
        Request::get("/trap"),
    )
}

/// E33: close_stream in request headers.
pub fn close_stream() -> Scenario {
    Scenario {
        client_timeout: Duration::from_secs(3),
        ..Scenario::new(
            "close_stream",
            json!({"on_http_request_headers": {"calls": [labelled("close_stream", "close", json!({"stream": "request"}))], "return": "pause"}}),
            Request::get("/close"),
        )
    }
}

/// E35-E36: trailers both ways.
pub fn trailers() -> Scenario {
    Scenario {
        upstream: Some(UpstreamResponse::ok("body").trailer("x-up-t", "u")),
        ..Scenario::new(
            "trailers",
            json!({
                "on_http_request_trailers": {"calls": [labelled("get_map", "request trailers", json!({"map": "request_trailers"})), labelled("add_map_value", "add request trailer", json!({"map": "request_trailers", "key": "x-added-rq-t", "value": "1"}))]},
                "on_http_response_trailers": {"calls": [labelled("get_map", "response trailers", json!({"map": "response_trailers"})), labelled("add_map_value", "add response trailer", json!({"map": "response_trailers", "key": "x-added-rs-t", "value": "2"}))]},
            }),
            Request::post("/trailers", "abc").trailer("x-rq-t", "r"),
        )
    }
}

/// Every scenario, for suites that run them all.
pub fn all() -> Vec<Scenario> {
    vec![
        pause_in_request_headers(),
        content_length_body(),
        pause_in_body(),
        request_over_buffer_limit(),
        response_over_buffer_limit(),
        header_maps_by_phase(),
        header_semantics(),
        buffer_ranges(),
        body_rewrite_content_length(),
        buffers_outside_phase(),
        properties(),
        local_reply_from_request(),
        local_reply_from_response(),
        local_reply_twice_then_continue(),
        http_call_ok(),
        http_call_no_switch(),
        http_call_bad_arguments(),
        http_call_timeout(),
        http_call_refused(),
        grpc_call_plain_cluster(),
        metrics(),
        shared_data(),
        queues(),
        wasi_and_logging(),
        wasi_environment(),
        lifecycle(),
        trap_in_request(),
        close_stream(),
        trailers(),
        pause_in_response_headers(),
        local_reply_from_response_body(),
        local_reply_from_request_body(),
    ]
}

/// E39: Pause from response headers holds the response body until continue.
pub fn pause_in_response_headers() -> Scenario {
    Scenario {
        upstream: Some(UpstreamResponse::ok("response body")),
        ..Scenario::new(
            "pause_in_response_headers",
            json!({
                "on_http_response_headers": {"calls": [call("set_tick_period", json!({"ms": 200}))], "return": "pause"},
                "on_tick": {"calls": [
                    call("set_tick_period", json!({"ms": 0})),
                    labelled("set_effective_context", "to stream", json!({"context": "$http_ctx"})),
                    labelled("continue_stream", "resume", json!({"stream": "response"})),
                ]},
                "on_http_response_body": {"calls": [labelled("get_buffer", "body", json!({"buffer": "response_body"}))]},
            }),
            Request::get("/pause-response"),
        )
    }
}

/// E40: a local reply from a response body callback, after the response headers went on.
pub fn local_reply_from_response_body() -> Scenario {
    Scenario {
        upstream: Some(UpstreamResponse::ok("secret response body")),
        client_timeout: Duration::from_secs(3),
        ..Scenario::new(
            "local_reply_from_response_body",
            json!({"on_http_response_body": {"calls": [labelled("send_local_response", "reply", json!({"status": 403, "body": "blocked late"}))], "return": "pause"}}),
            Request::get("/late"),
        )
    }
}

/// E41: a local reply from a request body callback, after the request headers went upstream.
pub fn local_reply_from_request_body() -> Scenario {
    Scenario {
        client_timeout: Duration::from_secs(3),
        ..Scenario::new(
            "local_reply_from_request_body",
            json!({"on_http_request_body": {"calls": [labelled("send_local_response", "reply", json!({"status": 403, "body": "blocked body"}))], "return": "pause"}}),
            Request::post("/upload", "attack payload"),
        )
    }
}
