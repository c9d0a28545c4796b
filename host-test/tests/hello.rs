//! The `hello` fixture (Rust SDK, wasm32-wasip1) through the whole lifecycle.

mod common;

use common::{host, module};
use meshward_host_test::{Error, Metric, Request, Response};

#[test]
fn adds_header_to_request_and_response() {
    let mut plugin = host()
        .plugin(&module("meshward_fixture_hello"))
        .config("hi")
        .build()
        .unwrap();
    let out = plugin
        .run(&Request::get("/x"), &Response::ok().body("upstream"))
        .unwrap();
    assert_eq!(out.verdict, "continue");
    assert_eq!(out.upstream_header("x-hello").as_deref(), Some("hi"));
    assert_eq!(out.downstream_header("x-hello").as_deref(), Some("hi"));
    assert_eq!(out.downstream_response.as_ref().unwrap().body_text(), "upstream");
    assert_eq!(out.status(), Some(200));
    assert!(plugin
        .logs()
        .iter()
        .any(|l| l.message == "hello configured: hi" && l.level == "info"));
}

#[test]
fn local_path_is_answered_and_passes_response_callbacks() {
    let mut plugin = host()
        .plugin(&module("meshward_fixture_hello"))
        .config("yo")
        .build()
        .unwrap();
    let out = plugin.run(&Request::get("/local/thing"), &Response::ok()).unwrap();
    assert_eq!(out.verdict, "local_response");
    let local = out.local_response.as_ref().unwrap();
    assert_eq!(local.status, 418);
    assert_eq!(local.body, b"answered by the hello filter\n");
    assert_eq!(out.status(), Some(418));
    assert!(out.upstream_request.is_none(), "request must not reach upstream");
    let resp = out.downstream_response.as_ref().unwrap();
    assert_eq!(resp.headers.get("content-type").as_deref(), Some("text/plain"));
    assert_eq!(resp.headers.get("content-length").as_deref(), Some("29"));
    // The local reply went through on_response_headers, which replaced x-hello (one value).
    assert_eq!(resp.headers.get_all("x-hello"), vec!["yo"]);
}

#[test]
fn empty_config_is_rejected() {
    let err = host()
        .plugin(&module("meshward_fixture_hello"))
        .config("")
        .build()
        .err()
        .unwrap();
    assert!(matches!(err, Error::ConfigRejected { .. }), "{err}");
}

#[test]
fn counter_counts_streams_and_callback_stats_accumulate() {
    let mut plugin = host()
        .plugin(&module("meshward_fixture_hello"))
        .config("hi")
        .build()
        .unwrap();
    for _ in 0..3 {
        plugin.run(&Request::get("/"), &Response::ok()).unwrap();
    }
    assert_eq!(plugin.metric("hello_streams"), Some(Metric::Counter { value: 3 }));
    let t = plugin.stats().get("proxy_on_request_headers");
    assert_eq!(t.count, 3);
    assert!(t.total_ns > 0);
    assert!(plugin.memory_bytes() >= 65536);
}
