//! The hello fixture in real Envoy: tags requests, answers /local with 418, rejects an empty
//! configuration.

mod common;

use meshward_envoy::{Envoy, EnvoyConfig, HarnessError, Request, Upstream, WasmFilter};

fn hello(config: &str) -> WasmFilter {
    WasmFilter::new(common::wasm("meshward-fixture-hello"), config)
        .name("hello")
        .root_id("hello_root")
        .vm_id("hello_vm")
}

#[test]
fn request_passes_with_x_hello_added_upstream() {
    let upstream = Upstream::start().unwrap();
    let envoy = Envoy::start(&EnvoyConfig::new(upstream.addr()).filter(hello("bonjour"))).unwrap();
    let response = envoy.send(&Request::get("/greet")).unwrap();
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(response.header("x-hello"), Some("bonjour"));
    let seen = upstream.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].target, "/greet");
    assert_eq!(seen[0].header("x-hello"), Some("bonjour"));
    assert_eq!(
        envoy.stat("wasmcustom.hello_streams").unwrap(),
        Some(1),
        "custom counter is exported as wasmcustom.<name>"
    );
}

#[test]
fn local_path_is_answered_with_418() {
    let upstream = Upstream::start().unwrap();
    let envoy = Envoy::start(&EnvoyConfig::new(upstream.addr()).filter(hello("hi"))).unwrap();
    let response = envoy.send(&Request::get("/local/x")).unwrap();
    assert_eq!(response.status, 418);
    assert_eq!(response.text(), "answered by the hello filter\n");
    // The local reply passes through the filter's own response-headers callback.
    assert_eq!(response.header_all("x-hello"), vec!["hi"]);
    assert!(
        upstream.requests().is_empty(),
        "the upstream must not see a locally answered request"
    );
}

#[test]
fn empty_configuration_makes_envoy_exit_at_startup() {
    let upstream = Upstream::start().unwrap();
    let err = match Envoy::start(&EnvoyConfig::new(upstream.addr()).filter(hello(""))) {
        Ok(_) => panic!("Envoy must not start with an empty hello configuration"),
        Err(e) => e,
    };
    let HarnessError::Exited { log_tail, .. } = &err else {
        panic!("expected Envoy to exit, got {err}")
    };
    assert!(log_tail.contains("hello: empty configuration"), "{log_tail}");
    assert!(log_tail.contains("Failed to configure base Wasm plugin"), "{log_tail}");
    assert!(
        log_tail.contains("Plugin configured to fail closed failed to load"),
        "{log_tail}"
    );
    assert!(log_tail.contains("Unable to create Wasm plugin hello"), "{log_tail}");
}

#[test]
fn two_wasm_filters_run_in_chain_order() {
    let upstream = Upstream::start().unwrap();
    let script = serde_json::json!({"on_http_request_headers": {"calls": [{"call": "get_map_value", "map": "request_headers", "key": "x-hello", "label": "seen"}]}});
    let config = EnvoyConfig::new(upstream.addr())
        .filter(hello("first"))
        .filter(common::probe(&script));
    let envoy = Envoy::start(&config).unwrap();
    assert_eq!(envoy.send(&Request::get("/chain")).unwrap().status, 200);
    let lines = envoy.wait_probe(std::time::Duration::from_secs(3), |l| {
        l.iter().any(|l| l.label.is_some())
    });
    let seen = lines
        .iter()
        .find(|l| l.label.as_ref().and_then(|v| v.as_str()) == Some("seen"))
        .expect("probe ran");
    assert_eq!(
        seen.value,
        Some(serde_json::json!("first")),
        "the probe runs after hello and sees its header"
    );
    // A /local request is answered by hello: the probe, later in the chain, never sees it.
    let before = envoy
        .probe_lines()
        .iter()
        .filter(|l| l.cb == "on_http_request_headers" && l.call == "enter")
        .count();
    assert_eq!(envoy.send(&Request::get("/local")).unwrap().status, 418);
    let after = envoy
        .probe_lines()
        .iter()
        .filter(|l| l.cb == "on_http_request_headers" && l.call == "enter")
        .count();
    assert_eq!(before, after);
}
