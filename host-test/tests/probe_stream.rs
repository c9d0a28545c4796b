//! Header maps, bodies and buffering, stream control and local responses — via the probe.

mod common;

use common::{probe, probe_call, probe_lines, status_of};
use meshward_host_test::{Headers, Request, Response, Step};
use serde_json::json;

fn calls_in(lines: &[serde_json::Value], cb: &str) -> Vec<serde_json::Value> {
    lines
        .iter()
        .filter(|l| l["cb"] == cb && l["call"] == "enter")
        .cloned()
        .collect()
}

#[test]
fn request_header_map_calls() {
    let script = json!({"on_http_request_headers": {"calls": [
        {"call": "get_map_value", "map": "request_headers", "key": ":PATH", "label": "path"},
        {"call": "get_map_value", "map": "request_headers", "key": "x-multi", "label": "multi"},
        {"call": "get_map_value", "map": "request_headers", "key": "absent", "label": "absent"},
        {"call": "add_map_value", "map": "request_headers", "key": "X-Added", "value": "1"},
        {"call": "replace_map_value", "map": "request_headers", "key": "x-multi", "value": "one"},
        {"call": "remove_map_value", "map": "request_headers", "key": "x-drop"},
        {"call": "get_map_value", "map": "response_headers", "key": ":status", "label": "resp_in_req"},
        {"call": "add_map_value", "map": "response_headers", "key": "a", "value": "b", "label": "add_resp_in_req"},
        {"call": "get_map", "map": "response_headers", "label": "pairs_resp_in_req"},
        {"call": "get_map_value", "map": 42, "key": "a", "label": "badmap"},
        {"call": "get_map", "map": "request_headers", "label": "pairs"}
    ]}});
    let mut p = probe(script).build().unwrap();
    let req = Request::get("/p?q=1")
        .header("x-multi", "a")
        .header("x-multi", "b")
        .header("x-drop", "z");
    let out = p.run(&req, &Response::ok()).unwrap();
    let lines = probe_lines(&out.logs);
    assert_eq!(probe_call(&lines, "path")["value"], json!("/p?q=1"));
    assert_eq!(
        probe_call(&lines, "multi")["value"],
        json!("a"),
        "Envoy returns the first value"
    );
    assert_eq!(status_of(&lines, "absent"), "NotFound");
    assert_eq!(status_of(&lines, "resp_in_req"), "BadArgument");
    assert_eq!(status_of(&lines, "add_resp_in_req"), "BadArgument");
    assert_eq!(status_of(&lines, "pairs_resp_in_req"), "Ok");
    assert_eq!(probe_call(&lines, "pairs_resp_in_req")["value"], json!([]));
    assert_eq!(status_of(&lines, "badmap"), "BadArgument");
    let up = out.upstream_request.unwrap();
    assert_eq!(up.headers.get("x-added").as_deref(), Some("1"));
    assert_eq!(up.headers.get_all("x-multi"), vec!["one"]);
    assert_eq!(up.headers.get("x-drop"), None);
}

#[test]
fn set_map_replaces_response_headers_and_trailers_can_be_added_at_end_of_stream() {
    let script = json!({
        "on_http_response_headers": {"calls": [
            {"call": "set_map", "map": "response_headers", "pairs": [[":status", "201"], ["X-New", "n"]]}
        ]},
        "on_http_response_body": {"calls": [
            {"call": "add_map_value", "map": "response_trailers", "key": "x-trailer", "value": "t", "label": "addtr", "if_eos": true}
        ]}
    });
    let mut p = probe(script).build().unwrap();
    let out = p
        .run(&Request::get("/"), &Response::ok().header("x-old", "o").body("body"))
        .unwrap();
    let down = out.downstream_response.unwrap();
    assert_eq!(down.headers.get(":status").as_deref(), Some("201"));
    assert_eq!(down.headers.get("x-new").as_deref(), Some("n"));
    assert_eq!(down.headers.get("x-old"), None);
    assert_eq!(down.trailers.unwrap().get("x-trailer").as_deref(), Some("t"));
    assert_eq!(status_of(&probe_lines(&out.logs), "addtr"), "Ok");
}

#[test]
fn request_headers_are_gone_after_continue() {
    let script = json!({"on_http_request_body": {"calls": [
        {"call": "get_map_value", "map": "request_headers", "key": ":path", "label": "late"},
        {"call": "get_buffer", "buffer": "request_body", "label": "body"}
    ]}});
    let mut p = probe(script).build().unwrap();
    let out = p.run(&Request::post("/", "abc"), &Response::ok()).unwrap();
    let lines = probe_lines(&out.logs);
    assert_eq!(status_of(&lines, "late"), "BadArgument");
    assert_eq!(probe_call(&lines, "body")["value"], json!("abc"));
}

#[test]
fn paused_body_accumulates_until_continue() {
    let script = json!({"on_http_request_body": {
        "calls": [{"call": "get_buffer", "buffer": "request_body", "label": "seen"}],
        "return": "pause", "return_eos": "continue"
    }});
    let mut p = probe(script).build().unwrap();
    let out = p
        .run(&Request::post("/", "").chunks(["ab", "cd", "ef"]), &Response::ok())
        .unwrap();
    let lines = probe_lines(&out.logs);
    let sizes: Vec<_> = calls_in(&lines, "on_http_request_body")
        .iter()
        .map(|l| l["value"]["size"].clone())
        .collect();
    // HTTP/1 delivery: three chunks, then Envoy's empty end_of_stream call (E02, E03).
    assert_eq!(
        sizes,
        vec![json!(2), json!(4), json!(6), json!(6)],
        "each callback sees the accumulated buffer"
    );
    let seen: Vec<_> = lines
        .iter()
        .filter(|l| l["label"] == "seen")
        .map(|l| l["value"].clone())
        .collect();
    assert_eq!(seen, vec![json!("ab"), json!("abcd"), json!("abcdef"), json!("abcdef")]);
    assert_eq!(out.upstream_request.unwrap().body, b"abcdef");
    assert_eq!(out.verdict, "continue");
}

#[test]
fn set_buffer_ranges_follow_envoy() {
    let script = json!({"on_http_request_body": {"calls": [
        {"call": "set_buffer", "buffer": "request_body", "start": 0, "size": 2, "value": "XY", "label": "prefix", "if_eos": false},
        {"call": "set_buffer", "buffer": "request_body", "start": 1000, "size": 0, "value": "!", "label": "append", "if_eos": false},
        {"call": "set_buffer", "buffer": "request_body", "start": 2, "size": 1, "value": "?", "label": "middle", "if_eos": false},
        {"call": "get_buffer", "buffer": "request_body", "start": 1, "size": 100, "label": "tail", "if_eos": false}
    ]}});
    let mut p = probe(script).build().unwrap();
    let out = p.run(&Request::post("/", "abcdef"), &Response::ok()).unwrap();
    let lines = probe_lines(&out.logs);
    assert_eq!(status_of(&lines, "prefix"), "Ok");
    assert_eq!(status_of(&lines, "append"), "Ok");
    assert_eq!(status_of(&lines, "middle"), "BadArgument");
    assert_eq!(probe_call(&lines, "tail")["value"], json!("Ycdef!"));
    assert_eq!(out.upstream_request.unwrap().body, b"XYcdef!");
}

#[test]
fn response_body_replacement() {
    let script = json!({"on_http_response_body": {"calls": [
        {"call": "set_buffer", "buffer": "response_body", "start": 0, "size": 100000, "value": "replaced", "if_eos": false}
    ]}});
    let mut p = probe(script).build().unwrap();
    let out = p.run(&Request::get("/"), &Response::ok().body("original")).unwrap();
    assert_eq!(out.downstream_response.unwrap().body, b"replaced");
}

#[test]
fn paused_headers_hold_the_body_until_continue_stream() {
    // Envoy turns a headers Pause into StopAllIterationAndWatermark: no body callback until
    // the filter continues; then one body callback with everything buffered.
    let script = json!({
        "on_http_request_headers": {"return": "pause"},
        "on_tick": {"calls": [
            {"call": "set_effective_context", "context": "$http_ctx"},
            {"call": "continue_stream", "stream": "request", "label": "cont"}
        ]}
    });
    let mut p = probe(script).build().unwrap();
    let id = p.open_stream().unwrap();
    let mut s = p.stream(id);
    let mut h = Request::post("/", "").headers;
    h.add("x", "1");
    assert_eq!(s.send_request_headers(h, false).unwrap(), Step::Stopped);
    assert_eq!(s.send_request_body(b"12", false).unwrap(), Step::Held);
    assert_eq!(s.send_request_body(b"34", true).unwrap(), Step::Held);
    assert_eq!(s.outcome().verdict, "paused");
    assert_eq!(s.outcome().paused_at, Some("request_headers"));
    assert!(s.outcome().upstream_request.is_none());
    p.tick("").unwrap();
    let mut s = p.stream(id);
    let o = s.outcome();
    assert_eq!(o.verdict, "continue");
    let up = o.upstream_request.unwrap();
    assert_eq!(up.body, b"1234");
    assert!(up.complete);
    let lines = probe_lines(p.logs());
    let bodies = calls_in(&lines, "on_http_request_body");
    assert_eq!(bodies.len(), 1);
    assert_eq!(bodies[0]["value"]["size"], json!(4));
    assert_eq!(bodies[0]["value"]["end_of_stream"], json!(true));
}

#[test]
fn local_response_passes_through_response_callbacks() {
    let script = json!({
        "on_http_request_headers": {"calls": [
            {"call": "send_local_response", "status": 403, "details": "denied by probe", "body": "no",
             "headers": [["x-reason", "test"]], "label": "slr"}
        ]},
        "on_http_response_headers": {"calls": [
            {"call": "get_map_value", "map": "response_headers", "key": ":status", "label": "seen_status"},
            {"call": "add_map_value", "map": "response_headers", "key": "x-from-filter", "value": "1"}
        ]},
        "on_http_request_body": {"calls": [{"call": "log", "message": "body must not be seen"}]}
    });
    let mut p = probe(script).build().unwrap();
    let out = p.run(&Request::post("/", "data"), &Response::ok()).unwrap();
    let lines = probe_lines(&out.logs);
    assert_eq!(status_of(&lines, "slr"), "Ok");
    assert_eq!(probe_call(&lines, "seen_status")["value"], json!("403"));
    assert_eq!(out.verdict, "local_response");
    let l = out.local_response.as_ref().unwrap();
    assert_eq!(l.details, "denied_by_probe");
    assert_eq!(l.grpc_status, None);
    let down = out.downstream_response.as_ref().unwrap();
    assert_eq!(down.headers.get("x-reason").as_deref(), Some("test"));
    assert_eq!(down.headers.get("x-from-filter").as_deref(), Some("1"));
    assert_eq!(down.body, b"no");
    assert!(!out.logged("body must not be seen"));
    assert!(out.upstream_request.is_none());
}

#[test]
fn close_stream_resets() {
    let script = json!({"on_http_response_headers": {"calls": [{"call": "close_stream", "stream": "response"}]}});
    let mut p = probe(script).build().unwrap();
    let out = p.run(&Request::get("/"), &Response::ok()).unwrap();
    assert!(out.reset);
    assert_eq!(out.verdict, "reset");
}

#[test]
fn trailers_callbacks_and_lifecycle_order() {
    let script = json!({
        "on_http_request_trailers": {"calls": [
            {"call": "get_map_value", "map": "request_trailers", "key": "x-t", "label": "rt"},
            {"call": "add_map_value", "map": "request_trailers", "key": "x-t2", "value": "2"}
        ]},
        "on_log": {"calls": [
            {"call": "get_map_value", "map": "request_headers", "key": ":path", "label": "log_path"},
            {"call": "get_map_value", "map": "response_headers", "key": ":status", "label": "log_status"},
            {"call": "get_map_value", "map": "request_trailers", "key": "x-t", "label": "log_trailers"}
        ]}
    });
    let mut p = probe(script).build().unwrap();
    let req = Request::post("/t", "b").trailer("x-t", "1");
    let out = p.run(&req, &Response::ok().body("r").trailer("x-rt", "9")).unwrap();
    let lines = probe_lines(&out.logs);
    assert_eq!(probe_call(&lines, "rt")["value"], json!("1"));
    assert_eq!(probe_call(&lines, "log_path")["value"], json!("/t"));
    assert_eq!(probe_call(&lines, "log_status")["value"], json!("200"));
    assert_eq!(status_of(&lines, "log_trailers"), "NotFound");
    let up = out.upstream_request.unwrap();
    assert_eq!(up.trailers.unwrap().get("x-t2").as_deref(), Some("2"));
    let order: Vec<String> = lines
        .iter()
        .filter(|l| l["call"] == "enter")
        .map(|l| l["cb"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        order,
        vec![
            "on_context_create",
            "on_http_request_headers",
            "on_http_request_body",
            "on_http_request_trailers",
            "on_http_response_headers",
            "on_http_response_body",
            "on_http_response_trailers",
            "on_log",
            "on_done",
            "on_delete"
        ]
    );
}

#[test]
fn many_streams_interleaved_on_two_roots() {
    let mut p = common::host()
        .plugin(&common::module("meshward_fixture_probe"))
        .root("a", json!({"on_http_request_headers": {"calls": [{"call": "add_map_value", "map": "request_headers", "key": "x-root", "value": "a"}]}}).to_string())
        .root("b", json!({"on_http_request_headers": {"calls": [{"call": "add_map_value", "map": "request_headers", "key": "x-root", "value": "b"}]}}).to_string())
        .build()
        .unwrap();
    let ids: Vec<_> = (0..10)
        .map(|i| p.open_stream_for(if i % 2 == 0 { "a" } else { "b" }).unwrap())
        .collect();
    for &id in &ids {
        p.stream(id)
            .send_request_headers(Request::get("/").headers, false)
            .unwrap();
    }
    for &id in ids.iter().rev() {
        p.stream(id).send_request_body(b"x", true).unwrap();
    }
    for (i, &id) in ids.iter().enumerate() {
        let out = p.stream(id).finish().unwrap();
        let want = if i % 2 == 0 { "a" } else { "b" };
        assert_eq!(out.upstream_header("x-root").as_deref(), Some(want));
        assert_eq!(out.upstream_request.unwrap().body, b"x");
    }
}

#[test]
fn plugins_run_in_parallel_threads() {
    let handles: Vec<_> = (0..4)
        .map(|i| {
            std::thread::spawn(move || {
                let mut p = common::host()
                    .plugin(&common::module("meshward_fixture_hello"))
                    .config(format!("t{i}"))
                    .build()
                    .unwrap();
                (0..20).all(|_| {
                    p.run(&Request::get("/"), &Response::ok())
                        .unwrap()
                        .upstream_header("x-hello")
                        == Some(format!("t{i}"))
                })
            })
        })
        .collect();
    for h in handles {
        assert!(h.join().unwrap());
    }
    let _ = Headers::new();
}

#[test]
fn finished_streams_refuse_more_events() {
    let mut p = probe(json!({})).build().unwrap();
    let id = p.open_stream().unwrap();
    p.stream(id)
        .send_request_headers(Request::get("/").headers, true)
        .unwrap();
    p.stream(id).finish().unwrap();
    assert!(matches!(
        p.stream(id).send_request_body(b"x", true),
        Err(meshward_host_test::Error::Misuse(_))
    ));
    assert_eq!(p.stream(id).outcome().verdict, "finished");
    assert!(matches!(
        p.stream(id).finish(),
        Err(meshward_host_test::Error::Misuse(_))
    ));
}

#[test]
fn root_on_done_false_waits_for_proxy_done() {
    let script = json!({
        "on_root_done": {"return": false},
        "on_tick": {"calls": [{"call": "done", "label": "done"}]},
        "on_delete": {"calls": [{"call": "log", "message": "root deleted"}]}
    });
    let mut p = probe(script).build().unwrap();
    assert_eq!(p.shutdown().unwrap(), vec![String::new()]);
    assert!(!p.logs().iter().any(|l| l.message == "root deleted"));
    p.tick("").unwrap();
    assert_eq!(status_of(&probe_lines(p.logs()), "done"), "Ok");
    assert!(
        p.logs().iter().any(|l| l.message == "root deleted"),
        "proxy_done releases the root: on_delete"
    );
}

#[test]
fn held_body_and_trailers_are_replayed_in_order_after_continue() {
    let script = json!({
        "on_http_response_headers": {"return": "pause"},
        "on_tick": {"calls": [
            {"call": "set_effective_context", "context": "$http_ctx"},
            {"call": "continue_stream", "stream": "response"}
        ]}
    });
    let mut p = probe(script).build().unwrap();
    let id = p.open_stream().unwrap();
    let mut s = p.stream(id);
    s.send_request(&Request::get("/")).unwrap();
    assert!(s.request_complete());
    assert_eq!(
        s.send_response_headers(Response::ok().headers, false).unwrap(),
        Step::Stopped
    );
    assert_eq!(s.send_response_body(b"ab", false).unwrap(), Step::Held);
    assert_eq!(s.send_response_body(b"cd", false).unwrap(), Step::Held);
    let mut t = Headers::new();
    t.add("x-t", "1");
    assert_eq!(s.send_response_trailers(t).unwrap(), Step::Held);
    assert_eq!(s.outcome().paused_at, Some("response_headers"));
    p.tick("").unwrap();
    let out = p.stream(id).finish().unwrap();
    let down = out.downstream_response.unwrap();
    assert_eq!(down.body, b"abcd");
    assert_eq!(down.trailers.unwrap().get("x-t").as_deref(), Some("1"));
    assert!(down.complete);
    let lines = probe_lines(p.logs());
    let order: Vec<_> = lines
        .iter()
        .filter(|l| l["call"] == "enter" && l["cb"].as_str().unwrap().starts_with("on_http_response"))
        .map(|l| (l["cb"].as_str().unwrap().to_string(), l["value"]["size"].clone()))
        .collect();
    assert_eq!(
        order,
        vec![
            ("on_http_response_headers".to_string(), json!(null)),
            ("on_http_response_body".to_string(), json!(4)),
            ("on_http_response_trailers".to_string(), json!(null))
        ]
    );
}
