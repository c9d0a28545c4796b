//! host-test follows the measured Envoy 1.40 behaviour listed in host-test/ENVOY.md (row ids).

mod common;

use common::{probe, probe_call, probe_lines, status_of};
use meshward_host_test::{CallReply, Request, Response, BUFFER_LIMIT};
use serde_json::json;

#[test]
fn e02_e37_http1_delivery_and_connection_manager_headers() {
    let script = json!({"on_http_request_headers": {"calls": [{"call": "get_map", "map": "request_headers", "label": "pairs"}]}});
    let mut p = probe(script).build().unwrap();
    let out = p
        .run(&Request::post("/", "12345678"), &Response::ok().body("r"))
        .unwrap();
    let lines = probe_lines(&out.logs);
    let names: Vec<String> = probe_call(&lines, "pairs")["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p[0].as_str().unwrap().to_string())
        .collect();
    assert_eq!(&names[..4], &[":authority", ":path", ":method", ":scheme"]);
    assert_eq!(&names[names.len() - 2..], &["x-forwarded-proto", "x-request-id"]);
    let bodies: Vec<_> = lines
        .iter()
        .filter(|l| l["cb"] == "on_http_request_body" && l["call"] == "enter")
        .map(|l| (l["value"]["size"].clone(), l["value"]["end_of_stream"].clone()))
        .collect();
    assert_eq!(bodies, vec![(json!(8), json!(false)), (json!(0), json!(true))]);
    assert_eq!(
        out.upstream_header("x-envoy-expected-rq-timeout-ms").as_deref(),
        Some("15000")
    );
}

#[test]
fn e04_request_over_buffer_limit_gets_413_through_response_callbacks() {
    let script = json!({"on_http_request_body": {"return": "pause"}});
    let mut p = probe(script).build().unwrap();
    let big = vec![b'a'; BUFFER_LIMIT / 2 + 1];
    let out = p
        .run(&Request::post("/", "").chunks([big.clone(), big]), &Response::ok())
        .unwrap();
    assert_eq!(out.status(), Some(413));
    assert_eq!(
        out.downstream_response.as_ref().unwrap().body_text(),
        "Payload Too Large"
    );
    assert_eq!(out.downstream_header("connection").as_deref(), Some("close"));
    assert!(out.upstream_request.is_none());
    let lines = probe_lines(&out.logs);
    assert!(
        lines
            .iter()
            .any(|l| l["cb"] == "on_http_response_body" && l["call"] == "enter" && l["value"]["size"] == json!(17)),
        "{lines:#?}"
    );
}

#[test]
fn e07_host_is_looked_up_as_authority() {
    let script = json!({"on_http_request_headers": {"calls": [{"call": "get_map_value", "map": "request_headers", "key": "Host", "label": "host"}]}});
    let mut p = probe(script).build().unwrap();
    let out = p
        .run(&Request::get("/").header(":authority", "ignored"), &Response::ok())
        .unwrap();
    assert_eq!(
        probe_call(&probe_lines(&out.logs), "host")["value"],
        json!("example.com")
    );
}

#[test]
fn e11_rewritten_body_keeps_content_length() {
    let script = json!({"on_http_request_body": {"calls": [
        {"call": "set_buffer", "buffer": "request_body", "start": 0, "size": 100, "value": "a much longer body", "if_eos": false}
    ]}});
    let mut p = probe(script).build().unwrap();
    let out = p
        .run(
            &Request::post("/", "12345678").header("content-length", "8"),
            &Response::ok(),
        )
        .unwrap();
    assert_eq!(out.upstream_request.unwrap().body, b"a much l");
}

#[test]
fn e13_e14_property_paths_and_availability() {
    let script = json!({
        "on_configure": {"calls": [
            {"call": "get_property", "path": ["source", "address"], "label": "cfg_src"},
            {"call": "get_property", "path": ["plugin_vm_id"], "label": "cfg_vm"}
        ]},
        "on_http_request_headers": {"calls": [
            {"call": "get_property", "path": "request.path", "label": "dotted"},
            {"call": "get_property", "path": ["response", "code"], "label": "early_code"}
        ]},
        "on_log": {"calls": [{"call": "get_property", "path": ["response", "code"], "label": "log_code"}]}
    });
    let mut p = probe(script).vm_id("vm1").build().unwrap();
    let cfg = probe_lines(p.logs());
    assert_eq!(status_of(&cfg, "cfg_src"), "NotFound");
    assert_eq!(probe_call(&cfg, "cfg_vm")["value"], json!("vm1"));
    let out = p.run(&Request::get("/"), &Response::status(404)).unwrap();
    let lines = probe_lines(&out.logs);
    assert_eq!(status_of(&lines, "dotted"), "NotFound");
    assert_eq!(status_of(&lines, "early_code"), "NotFound");
    let hex: String = 404i64.to_le_bytes().iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(probe_call(&lines, "log_code")["value"], json!({"hex": hex}));
}

#[test]
fn e17_local_reply_from_response_headers_replaces_the_response() {
    let script = json!({"on_http_response_headers": {"calls": [
        {"call": "send_local_response", "status": 502, "body": "replaced"}
    ]}});
    let mut p = probe(script).build().unwrap();
    let out = p.run(&Request::get("/"), &Response::ok().body("upstream")).unwrap();
    assert_eq!(out.status(), Some(502));
    assert_eq!(out.downstream_response.as_ref().unwrap().body_text(), "replaced");
    let lines = probe_lines(&out.logs);
    let entries = lines
        .iter()
        .filter(|l| l["cb"] == "on_http_response_headers" && l["call"] == "enter")
        .count();
    assert_eq!(entries, 1, "response callbacks are not re-entered");
}

#[test]
fn e18_first_local_reply_wins_and_continue_does_not_forward() {
    let script = json!({"on_http_request_headers": {"calls": [
        {"call": "send_local_response", "status": 401, "body": "first"},
        {"call": "send_local_response", "status": 500, "body": "second", "label": "second"}
    ], "return": "continue"}});
    let mut p = probe(script).build().unwrap();
    let out = p.run(&Request::get("/"), &Response::ok()).unwrap();
    assert_eq!(status_of(&probe_lines(&out.logs), "second"), "Ok");
    assert_eq!(out.status(), Some(401));
    assert!(out.upstream_request.is_none());
}

#[test]
fn e19_continue_from_root_context_without_switch_does_nothing() {
    let script = json!({
        "on_http_request_headers": {"calls": [
            {"call": "http_call", "upstream": "c", "headers": [[":method", "GET"], [":path", "/"], [":authority", "c"]]}
        ], "return": "pause"},
        "on_http_call_response": {"calls": [{"call": "continue_stream", "stream": "request", "label": "cont"}]}
    });
    let mut p = probe(script)
        .upstream("c", |_| CallReply::status(200, ""))
        .build()
        .unwrap();
    let out = p.run(&Request::get("/"), &Response::ok()).unwrap();
    assert_eq!(status_of(&probe_lines(p.logs()), "cont"), "Ok");
    assert_eq!(out.verdict, "paused");
    assert_eq!(out.paused_at, Some("request_headers"));
}

#[test]
fn e21_refused_upstream_is_a_synthetic_503() {
    let script = json!({
        "on_configure": {"calls": [{"call": "http_call", "upstream": "down", "headers": [[":method", "GET"], [":path", "/"], [":authority", "d"]]}]},
        "on_http_call_response": {"calls": [
            {"call": "get_map_value", "map": "http_call_response_headers", "key": ":status", "label": "st"},
            {"call": "get_buffer", "buffer": "http_call_response_body", "label": "body"}
        ]}
    });
    let p = probe(script).upstream("down", |_| CallReply::Refused).build().unwrap();
    let lines = probe_lines(p.logs());
    assert_eq!(probe_call(&lines, "st")["value"], json!("503"));
    assert!(probe_call(&lines, "body")["value"]
        .as_str()
        .unwrap()
        .starts_with("upstream connect error"));
}

#[test]
fn e25_cas_counts_successful_writes_only() {
    let script = json!({"on_configure": {"calls": [
        {"call": "set_shared_data", "key": "a", "value": "1"},
        {"call": "get_shared_data", "key": "a", "label": "a1"},
        {"call": "set_shared_data", "key": "a", "value": "2", "cas": 77777, "label": "fail"},
        {"call": "set_shared_data", "key": "b", "value": ""},
        {"call": "get_shared_data", "key": "b", "label": "b1"}
    ]}});
    let p = probe(script).vm_id("e25").build().unwrap();
    let lines = probe_lines(p.logs());
    let a = probe_call(&lines, "a1")["value"]["cas"].as_u64().unwrap();
    let b = probe_call(&lines, "b1")["value"]["cas"].as_u64().unwrap();
    assert_eq!(status_of(&lines, "fail"), "CasMismatch");
    assert_eq!(b, a + 1);
    assert_eq!(probe_call(&lines, "b1")["value"]["value"], json!(""));
}

#[test]
fn e27_eprintln_gives_an_extra_empty_error_line() {
    let script = json!({"on_configure": {"calls": [{"call": "eprintln", "text": "oops"}]}});
    let p = probe(script).build().unwrap();
    let errors: Vec<_> = p
        .logs()
        .iter()
        .filter(|l| l.level == "error")
        .map(|l| l.message.clone())
        .collect();
    assert_eq!(errors, vec!["oops".to_string(), String::new()]);
}

#[test]
fn e33_close_request_resets_without_contacting_upstream() {
    let script = json!({"on_http_request_headers": {"calls": [{"call": "close_stream", "stream": "request"}]}});
    let mut p = probe(script).build().unwrap();
    let out = p.run(&Request::get("/"), &Response::ok()).unwrap();
    assert!(out.reset);
    assert!(out.upstream_request.is_none());
    assert!(out.downstream_response.is_none());
}

#[test]
fn unknown_unknown_target_loads_too() {
    let dir = meshward_testkit::locate::wasm_dir().join("../wasm32-unknown-unknown");
    let path = dir.join("meshward_fixture_hello.wasm");
    assert!(
        path.exists(),
        "{} missing: run `cargo xtask wasm --target all` first",
        path.display()
    );
    let module = common::host().load(&path).unwrap();
    let mut p = common::host().plugin(&module).config("uu").build().unwrap();
    let out = p.run(&Request::get("/"), &Response::ok()).unwrap();
    assert_eq!(out.upstream_header("x-hello").as_deref(), Some("uu"));
}
