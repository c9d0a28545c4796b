//! http_call (scripted responses, timeouts, resets), gRPC (UNAVAILABLE), shared data with CAS,
//! shared queues and properties — via the probe fixture.

mod common;

use common::{probe, probe_call, probe_lines, status_of};
use meshward_host_test::{CallReply, Request, Response};
use serde_json::json;

fn auth_call() -> serde_json::Value {
    json!({"call": "http_call", "upstream": "auth", "label": "call", "save": "tok",
           "headers": [[":method", "POST"], [":path", "/check"], [":authority", "auth"]], "body": "q"})
}

#[test]
fn http_call_pauses_then_resumes_the_request() {
    let script = json!({
        "on_http_request_headers": {"calls": [auth_call()], "return": "pause"},
        "on_http_call_response": {"calls": [
            {"call": "get_map_value", "map": "http_call_response_headers", "key": ":status", "label": "st"},
            {"call": "get_map_value", "map": "http_call_response_headers", "key": "x-auth", "label": "hdr"},
            {"call": "get_buffer", "buffer": "http_call_response_body", "label": "body"},
            {"call": "set_effective_context", "context": "$http_ctx"},
            {"call": "add_map_value", "map": "request_headers", "key": "x-user", "value": "alice", "label": "add"},
            {"call": "continue_stream", "stream": "request"}
        ]}
    });
    let mut p = probe(script)
        .upstream("auth", |call| {
            assert_eq!(call.body, b"q");
            CallReply::status(200, "ok-body").header("x-auth", "yes")
        })
        .build()
        .unwrap();
    let out = p.run(&Request::get("/"), &Response::ok()).unwrap();
    let lines = probe_lines(p.logs());
    assert_eq!(status_of(&lines, "call"), "Ok");
    assert_eq!(probe_call(&lines, "st")["value"], json!("200"));
    assert_eq!(probe_call(&lines, "hdr")["value"], json!("yes"));
    assert_eq!(probe_call(&lines, "body")["value"], json!("ok-body"));
    assert_eq!(status_of(&lines, "add"), "Ok");
    assert_eq!(out.verdict, "continue");
    assert_eq!(out.upstream_header("x-user").as_deref(), Some("alice"));
    assert_eq!(out.http_calls.len(), 1);
    assert_eq!(out.http_calls[0].cluster, "auth");
    assert_eq!(out.http_calls[0].headers.get("content-length").as_deref(), Some("1"));
}

#[test]
fn http_call_rejections_timeout_and_reset() {
    let script = json!({"on_configure": {"calls": [
        {"call": "http_call", "upstream": "nowhere", "headers": [[":method", "GET"], [":path", "/"], [":authority", "x"]], "label": "unknown"},
        {"call": "http_call", "upstream": "slow", "headers": [[":method", "GET"]], "label": "noheaders"},
        {"call": "http_call", "upstream": "slow", "headers": [[":method", "GET"], [":path", "/"], [":authority", "x"]], "label": "slow"},
        {"call": "http_call", "upstream": "broken", "headers": [[":method", "GET"], [":path", "/"], [":authority", "x"]], "label": "broken"}
    ]},
    "on_http_call_response": {"calls": [
        {"call": "get_map_value", "map": "http_call_response_headers", "key": ":status", "label": "status"},
        {"call": "get_buffer", "buffer": "http_call_response_body", "label": "body"},
        {"call": "get_status", "label": "getstatus"}
    ]}});
    let p = probe(script)
        .upstream("slow", |_| CallReply::Timeout)
        .upstream("broken", |_| CallReply::Reset)
        .build()
        .unwrap();
    let lines = probe_lines(p.logs());
    assert_eq!(status_of(&lines, "unknown"), "BadArgument");
    assert_eq!(status_of(&lines, "noheaders"), "BadArgument");
    assert_eq!(status_of(&lines, "slow"), "Ok");
    let responses: Vec<_> = lines.iter().filter(|l| l["cb"] == "on_http_call_response").collect();
    let statuses: Vec<_> = responses
        .iter()
        .filter(|l| l["label"] == "status")
        .map(|l| (l["status"].clone(), l["value"].clone()))
        .collect();
    assert_eq!(
        statuses[0],
        (json!("Ok"), json!("504")),
        "timeout is a 504 from Envoy's async client"
    );
    let broken_status: Vec<_> = responses
        .iter()
        .filter(|l| l["label"] == "getstatus")
        .map(|l| l["value"].clone())
        .collect();
    assert_eq!(broken_status[1]["code"], json!(11), "reset: BrokenConnection");
    assert_eq!(broken_status[1]["message"], json!("reset"));
    let enter: Vec<_> = responses.iter().filter(|l| l["call"] == "enter").collect();
    assert_eq!(enter[1]["value"]["num_headers"], json!(0));
}

#[test]
fn grpc_calls_close_with_unavailable() {
    let script = json!({"on_configure": {"calls": [
        {"call": "grpc_call", "upstream": "grpc_cluster", "service": "svc", "method": "M", "label": "g"},
        {"call": "grpc_call", "upstream": "unknown_cluster", "service": "svc", "method": "M", "label": "bad"}
    ]},
    "on_grpc_close": {"calls": [{"call": "get_status", "label": "gs"}]}});
    let p = probe(script.clone()).grpc_upstream("grpc_cluster").build().unwrap();
    let lines = probe_lines(p.logs());
    assert_eq!(status_of(&lines, "g"), "Ok");
    assert_eq!(status_of(&lines, "bad"), "ParseFailure");
    let close = lines
        .iter()
        .find(|l| l["cb"] == "on_grpc_close" && l["call"] == "enter")
        .unwrap();
    assert_eq!(close["value"]["status_code"], json!(14));
    assert_eq!(probe_call(&lines, "gs")["value"]["code"], json!(14));
    assert_eq!(close["ctx"], json!(1), "delivered to the root context");
    // A plain HTTP cluster: Envoy closes the call with 13 INTERNAL (E23).
    let p = probe(script)
        .upstream("grpc_cluster", |_| CallReply::Reset)
        .build()
        .unwrap();
    let lines = probe_lines(p.logs());
    let close = lines
        .iter()
        .find(|l| l["cb"] == "on_grpc_close" && l["call"] == "enter")
        .unwrap();
    assert_eq!(close["value"]["status_code"], json!(13));
}

#[test]
fn shared_data_with_cas_across_plugins() {
    let script = json!({"on_configure": {"calls": [
        {"call": "get_shared_data", "key": "k", "label": "missing"},
        {"call": "set_shared_data", "key": "k", "value": "v1", "label": "set1"},
        {"call": "get_shared_data", "key": "k", "label": "get1"},
        {"call": "set_shared_data", "key": "k", "value": "v2", "cas": 999999, "label": "badcas"}
    ]}});
    let p = probe(script).vm_id("shared-test").build().unwrap();
    let lines = probe_lines(p.logs());
    assert_eq!(status_of(&lines, "missing"), "NotFound");
    assert_eq!(status_of(&lines, "set1"), "Ok");
    assert_eq!(probe_call(&lines, "get1")["value"]["value"], json!("v1"));
    let cas = probe_call(&lines, "get1")["value"]["cas"].as_u64().unwrap();
    assert_eq!(status_of(&lines, "badcas"), "CasMismatch");
    assert_eq!(p.shared_data("k"), Some(b"v1".to_vec()));
    // A second plugin on the same VM id sees and CAS-updates the same data.
    let script2 = json!({"on_configure": {"calls": [
        {"call": "set_shared_data", "key": "k", "value": "v3", "cas": cas, "label": "goodcas"}
    ]}});
    let p2 = probe(script2).vm_id("shared-test").build().unwrap();
    assert_eq!(status_of(&probe_lines(p2.logs()), "goodcas"), "Ok");
    assert_eq!(p.shared_data("k"), Some(b"v3".to_vec()));
}

#[test]
fn shared_queue_register_enqueue_ready_dequeue() {
    let script = json!({
        "on_configure": {"calls": [
            {"call": "register_queue", "name": "events", "save": "q", "label": "reg"},
            {"call": "resolve_queue", "name": "events", "label": "res"},
            {"call": "resolve_queue", "name": "nope", "label": "nores"},
            {"call": "dequeue", "queue": "$q", "label": "empty"},
            {"call": "dequeue", "queue": 12345, "label": "unknownq"}
        ]},
        "on_http_request_headers": {"calls": [
            {"call": "resolve_queue", "name": "events", "save": "q2"},
            {"call": "enqueue", "queue": "$q2", "value": "hello", "label": "enq"}
        ]},
        "on_queue_ready": {"calls": [{"call": "dequeue", "queue": "$queue", "label": "deq"}]}
    });
    let mut p = probe(script).vm_id("queue-test").build().unwrap();
    p.run(&Request::get("/"), &Response::ok()).unwrap();
    let lines = probe_lines(p.logs());
    assert_eq!(status_of(&lines, "reg"), "Ok");
    assert_eq!(probe_call(&lines, "res")["value"], probe_call(&lines, "reg")["value"]);
    assert_eq!(status_of(&lines, "nores"), "NotFound");
    assert_eq!(status_of(&lines, "empty"), "Empty");
    assert_eq!(status_of(&lines, "unknownq"), "NotFound");
    assert_eq!(status_of(&lines, "enq"), "Ok");
    assert_eq!(probe_call(&lines, "deq")["value"], json!("hello"));
}

#[test]
fn properties_are_encoded_as_envoy_does() {
    let script = json!({"on_http_request_headers": {"calls": [
        {"call": "get_property", "path": ["source", "address"], "label": "src"},
        {"call": "get_property", "path": ["source", "port"], "label": "port"},
        {"call": "get_property", "path": ["connection", "mtls"], "label": "mtls"},
        {"call": "get_property", "path": ["connection", "uri_san_peer_certificate"], "label": "san"},
        {"call": "get_property", "path": ["request", "path"], "label": "path"},
        {"call": "get_property", "path": ["request", "headers", "x-a"], "label": "hdr"},
        {"call": "get_property", "path": ["xds", "route_name"], "label": "route"},
        {"call": "get_property", "path": ["plugin_name"], "label": "name"},
        {"call": "get_property", "path": ["plugin_root_id"], "label": "rootid"},
        {"call": "get_property", "path": ["no", "such"], "label": "missing"},
        {"call": "set_property", "path": ["my_state"], "value": "s1", "label": "set"},
        {"call": "get_property", "path": ["my_state"], "label": "get_set"}
    ]}});
    let mut p = probe(script)
        .name("probe-plugin")
        .property("xds.route_name", "r1")
        .build()
        .unwrap();
    let req = Request::get("/pp?x=1")
        .header("x-a", "A")
        .property("source.address", "10.1.2.3:4444")
        .property("source.port", 4444i64)
        .property("connection.mtls", true)
        .property(
            "connection.uri_san_peer_certificate",
            "spiffe://cluster.local/ns/a/sa/b",
        );
    let out = p.run(&req, &Response::ok()).unwrap();
    let lines = probe_lines(&out.logs);
    assert_eq!(probe_call(&lines, "src")["value"], json!("10.1.2.3:4444"));
    let port_hex: String = 4444i64.to_le_bytes().iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(probe_call(&lines, "port")["value"], json!({"hex": port_hex}));
    assert_eq!(probe_call(&lines, "mtls")["value"], json!({"hex": "01"}));
    assert_eq!(
        probe_call(&lines, "san")["value"],
        json!("spiffe://cluster.local/ns/a/sa/b")
    );
    assert_eq!(probe_call(&lines, "path")["value"], json!("/pp?x=1"));
    assert_eq!(probe_call(&lines, "hdr")["value"], json!("A"));
    assert_eq!(probe_call(&lines, "route")["value"], json!("r1"));
    assert_eq!(probe_call(&lines, "name")["value"], json!("probe-plugin"));
    assert_eq!(probe_call(&lines, "rootid")["value"], json!(""));
    assert_eq!(status_of(&lines, "missing"), "NotFound");
    assert_eq!(status_of(&lines, "set"), "Ok");
    assert_eq!(probe_call(&lines, "get_set")["value"], json!("s1"));
}
