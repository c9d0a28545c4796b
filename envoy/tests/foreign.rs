//! A proxy-wasm filter written elsewhere — `as_header_gate`, AssemblyScript with the solo-io SDK
//! (ABI 0.2.0), built by `cargo xtask wasm` from host-test/foreign — runs in real Envoy with the
//! same observable result as `meshward-host replay` (the same code the CLI runs): status, headers
//! the upstream saw, local response status/body, log lines and the filter's counter.

use meshward_envoy::{locate, Envoy, EnvoyConfig, HarnessError, Request, Upstream, WasmFilter};
use meshward_host_test::plugin_args::PluginArgs;
use meshward_host_test::replay::{replay, ReplayArgs};
use serde_json::Value;
use std::path::PathBuf;

const ROOT_ID: &str = "as_header_gate";
const CONFIG: &str = "# foreign filter test configuration\ntag=blue\nlocal_path=/foreign/local\nlocal_status=451\n\
local_body=blocked by the AssemblyScript filter\n";
/// Headers the upstream sees that Envoy (or its HTTP/1.1 codec) sets, not the filter.
const NOT_COMPARED: [&str; 6] = [
    "host",
    "x-request-id",
    "x-forwarded-proto",
    "x-envoy-expected-rq-timeout-ms",
    "content-length",
    "transfer-encoding",
];

/// The built foreign filter; a missing file fails the test with the build command.
fn foreign_wasm(name: &str) -> PathBuf {
    locate::foreign_wasm_file(name).unwrap_or_else(|e| panic!("{e}"))
}

fn gate(config: &str) -> WasmFilter {
    WasmFilter::new(foreign_wasm("as_header_gate"), config)
        .name("as_header_gate")
        .root_id(ROOT_ID)
        .vm_id("foreign_vm")
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("meshward-envoy-foreign-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs `raw` (an HTTP/1.1 request) through `meshward-host replay` with `config`.
fn replay_json(name: &str, config: &str, raw: &str) -> Value {
    let dir = temp_dir(name);
    let (cfg, req) = (dir.join("config.txt"), dir.join("request.http"));
    std::fs::write(&cfg, config).unwrap();
    std::fs::write(&req, raw).unwrap();
    let args = ReplayArgs {
        plugin: PluginArgs {
            filter: foreign_wasm("as_header_gate"),
            config: Some(cfg),
            root_id: ROOT_ID.into(),
            ..Default::default()
        },
        request: req,
        ..Default::default()
    };
    replay(&args).unwrap_or_else(|e| panic!("meshward-host replay failed: {e}"))
}

/// Header pairs of a replay JSON message, lowercased, pseudo-headers and Envoy's own dropped.
fn json_headers(message: &Value) -> Vec<(String, String)> {
    let pairs = message["headers"].as_array().cloned().unwrap_or_default();
    let list = pairs.iter().map(|p| {
        (
            p[0].as_str().unwrap_or_default().to_string(),
            p[1].as_str().unwrap_or_default().to_string(),
        )
    });
    compared(list)
}

fn compared(headers: impl IntoIterator<Item = (String, String)>) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = headers
        .into_iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v))
        .filter(|(k, _)| !k.starts_with(':') && !NOT_COMPARED.contains(&k.as_str()))
        .collect();
    // Stable by name: the order of one header's values is compared too.
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn json_header(message: &Value, name: &str) -> Option<String> {
    message["headers"]
        .as_array()?
        .iter()
        .find(|p| p[0] == name)
        .and_then(|p| p[1].as_str())
        .map(str::to_string)
}

fn json_logged(json: &Value, message: &str) -> bool {
    json["logs"]
        .as_array()
        .is_some_and(|logs| logs.iter().any(|l| l["level"] == "info" && l["message"] == message))
}

fn envoy_logged(envoy: &Envoy, message: &str) -> bool {
    envoy
        .wasm_logs()
        .iter()
        .any(|l| l.level == "info" && l.message == message)
}

#[test]
fn tagged_request_is_the_same_in_envoy_and_replay() {
    let raw = "GET /tagged?q=1 HTTP/1.1\r\nHost: app.local\r\nX-Client: c1\r\nX-Foreign-Tag: from-client\r\n\r\n";
    let json = replay_json("tagged", CONFIG, raw);

    let upstream = Upstream::start().unwrap();
    let envoy = Envoy::start(&EnvoyConfig::new(upstream.addr()).filter(gate(CONFIG))).unwrap();
    let response = envoy
        .send(
            &Request::get("/tagged?q=1")
                .header("X-Client", "c1")
                .header("X-Foreign-Tag", "from-client"),
        )
        .unwrap();

    // Absolute expectations, so that two equally wrong hosts cannot agree.
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(response.header("x-foreign-seen"), Some("blue"));
    let seen = upstream.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].target, "/tagged?q=1");
    // proxy_add_header_map_value appends: the client's value stays, the filter's follows.
    assert_eq!(seen[0].header_all("x-foreign-tag"), vec!["from-client", "blue"]);
    assert_eq!(envoy.stat("wasmcustom.foreign_requests").unwrap(), Some(1));
    assert!(
        envoy_logged(&envoy, "as_header_gate: tagged /tagged?q=1"),
        "{:?}",
        envoy.wasm_logs()
    );
    assert!(
        envoy_logged(&envoy, "as_header_gate: configured tag=blue local_path=/foreign/local"),
        "{:?}",
        envoy.wasm_logs()
    );

    // The replay JSON says the same.
    assert_eq!(json["verdict"], "continue", "{json:#}");
    assert_eq!(json["local_response"], Value::Null);
    let up = &json["upstream_request"];
    assert_eq!(json_header(up, ":path").as_deref(), Some(seen[0].target.as_str()));
    assert_eq!(json_header(up, ":method").as_deref(), Some(seen[0].method.as_str()));
    assert_eq!(
        json_headers(up),
        compared(
            seen[0]
                .headers
                .iter()
                .map(|(k, v)| (k.to_string(), String::from_utf8_lossy(v).into_owned()))
        ),
        "headers the upstream saw"
    );
    let down = &json["downstream_response"];
    assert_eq!(json_header(down, ":status"), Some(response.status.to_string()));
    assert_eq!(
        json_header(down, "x-foreign-seen").as_deref(),
        response.header("x-foreign-seen")
    );
    assert_eq!(json["metrics"]["foreign_requests"]["value"], 1);
    assert!(json_logged(&json, "as_header_gate: tagged /tagged?q=1"), "{json:#}");
    assert!(
        json_logged(&json, "as_header_gate: configured tag=blue local_path=/foreign/local"),
        "{json:#}"
    );
}

#[test]
fn local_answer_is_the_same_in_envoy_and_replay() {
    let raw = "GET /foreign/local/x HTTP/1.1\r\nHost: app.local\r\n\r\n";
    let json = replay_json("local", CONFIG, raw);

    let upstream = Upstream::start().unwrap();
    let envoy = Envoy::start(&EnvoyConfig::new(upstream.addr()).filter(gate(CONFIG))).unwrap();
    let response = envoy.send(&Request::get("/foreign/local/x")).unwrap();

    assert_eq!(response.status, 451);
    assert_eq!(response.text(), "blocked by the AssemblyScript filter\n");
    assert_eq!(response.header("x-foreign-local"), Some("1"));
    // Envoy passes the local reply back through the filter's response-headers callback.
    assert_eq!(response.header_all("x-foreign-seen"), vec!["blue"]);
    assert!(
        upstream.requests().is_empty(),
        "a locally answered request must not reach the upstream"
    );
    assert_eq!(envoy.stat("wasmcustom.foreign_requests").unwrap(), Some(1));
    assert!(
        envoy_logged(&envoy, "as_header_gate: answered /foreign/local/x locally with 451"),
        "{:?}",
        envoy.wasm_logs()
    );

    assert_eq!(json["verdict"], "local_response", "{json:#}");
    assert_eq!(json["upstream_request"], Value::Null);
    let local = &json["local_response"];
    assert_eq!(local["status"], u64::from(response.status));
    assert_eq!(local["body"].as_str(), Some(response.text().as_str()));
    let down = &json["downstream_response"];
    assert_eq!(json_header(down, ":status"), Some(response.status.to_string()));
    assert_eq!(down["body"].as_str(), Some(response.text().as_str()));
    for name in ["x-foreign-local", "x-foreign-seen", "content-type"] {
        assert_eq!(
            json_header(down, name).as_deref(),
            response.header(name),
            "response header {name}"
        );
    }
    assert_eq!(json["metrics"]["foreign_requests"]["value"], 1);
    assert!(
        json_logged(&json, "as_header_gate: answered /foreign/local/x locally with 451"),
        "{json:#}"
    );
}

#[test]
fn bad_configuration_is_rejected_by_envoy_and_replay() {
    let bad = "tag=blue\nlocal_status=99\n";
    let upstream = Upstream::start().unwrap();
    let err = match Envoy::start(&EnvoyConfig::new(upstream.addr()).filter(gate(bad))) {
        Ok(_) => panic!("Envoy must not start with local_status=99"),
        Err(e) => e,
    };
    let HarnessError::Exited { log_tail, .. } = &err else {
        panic!("expected Envoy to exit, got {err}")
    };
    assert!(
        log_tail.contains("as_header_gate: config line 2: local_status must be 200..599, got '99'"),
        "{log_tail}"
    );
    assert!(log_tail.contains("Failed to configure base Wasm plugin"), "{log_tail}");

    let dir = temp_dir("bad");
    let (cfg, req) = (dir.join("config.txt"), dir.join("request.http"));
    std::fs::write(&cfg, bad).unwrap();
    std::fs::write(&req, "GET / HTTP/1.1\r\nHost: a\r\n\r\n").unwrap();
    let args = ReplayArgs {
        plugin: PluginArgs {
            filter: foreign_wasm("as_header_gate"),
            config: Some(cfg),
            root_id: ROOT_ID.into(),
            ..Default::default()
        },
        request: req,
        ..Default::default()
    };
    let err = replay(&args).expect_err("replay must reject local_status=99");
    assert!(
        matches!(err, meshward_host_test::Error::ConfigRejected { ref root_id, .. } if root_id == ROOT_ID),
        "{err}"
    );
}
