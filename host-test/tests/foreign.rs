//! A proxy-wasm filter written elsewhere: `as_header_gate` (host-test/foreign/as_header_gate),
//! AssemblyScript with the solo-io SDK, ABI 0.2.0, built by `cargo xtask wasm` with the
//! AssemblyScript compiler from npm, not our Rust toolchain. Run through the `meshward-host`
//! CLI and through the library API. envoy/tests/foreign.rs runs the same requests in Envoy.

use meshward_host_test::{Error, Host, Metric, Module, Request, Response, Step};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::Command;

const ROOT_ID: &str = "as_header_gate";
const CONFIG: &str = "# foreign filter test configuration\ntag=blue\nlocal_path=/foreign/local\nlocal_status=451\n\
local_body=blocked by the AssemblyScript filter\n";

/// The built foreign filter; a missing file fails the test with the build command.
fn foreign_wasm(name: &str) -> PathBuf {
    meshward_testkit::locate::foreign_wasm_file(name).unwrap_or_else(|e| panic!("{e}"))
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("meshward-host-foreign-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs `meshward-host replay` on the foreign filter; returns (success, JSON, stderr).
fn replay(name: &str, config: &str, request: &str, extra: &[&str]) -> (bool, Value, String) {
    let dir = temp_dir(name);
    let (cfg, req) = (dir.join("config.txt"), dir.join("request.http"));
    std::fs::write(&cfg, config).unwrap();
    std::fs::write(&req, request).unwrap();
    let filter = foreign_wasm("as_header_gate");
    let out = Command::new(env!("CARGO_BIN_EXE_meshward-host"))
        .arg("replay")
        .args([
            "--filter",
            filter.to_str().unwrap(),
            "--config",
            cfg.to_str().unwrap(),
            "--root-id",
            ROOT_ID,
        ])
        .args(["--request", req.to_str().unwrap()])
        .args(extra)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let json = serde_json::from_str(&stdout).unwrap_or(Value::Null);
    (
        out.status.success(),
        json,
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

fn has_pair(message: &Value, name: &str, value: &str) -> bool {
    message["headers"]
        .as_array()
        .is_some_and(|h| h.contains(&json!([name, value])))
}

fn count(message: &Value, name: &str) -> usize {
    message["headers"]
        .as_array()
        .map_or(0, |h| h.iter().filter(|p| p[0] == name).count())
}

fn module() -> (Host, Module) {
    let host = Host::new().unwrap();
    let module = host.load(foreign_wasm("as_header_gate")).unwrap();
    (host, module)
}

fn counter(plugin: &meshward_host_test::Plugin, name: &str) -> Option<u64> {
    match plugin.metric(name) {
        Some(Metric::Counter { value }) => Some(value),
        other => panic!("{name} should be a counter, got {other:?}"),
    }
}

#[test]
fn cli_replay_tags_the_request_and_the_response() {
    let request = "POST /orders?id=7 HTTP/1.1\r\nHost: shop.local\r\nContent-Length: 5\r\n\r\nhello";
    let dir = temp_dir("resp");
    let resp = dir.join("response.http");
    std::fs::write(&resp, "HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok").unwrap();
    let (ok, json, err) = replay("tagged", CONFIG, request, &["--response", resp.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert_eq!(json["verdict"], "continue", "{json:#}");
    assert_eq!(json["local_response"], Value::Null);
    assert_eq!(json["trap"], Value::Null);
    let up = &json["upstream_request"];
    assert!(has_pair(up, "x-foreign-tag", "blue"), "{up:#}");
    assert_eq!(count(up, "x-foreign-tag"), 1);
    assert!(has_pair(up, ":path", "/orders?id=7"));
    assert!(has_pair(up, ":authority", "shop.local"));
    assert_eq!(up["body"], "hello");
    let down = &json["downstream_response"];
    assert!(has_pair(down, ":status", "201"));
    assert!(has_pair(down, "x-foreign-seen", "blue"));
    assert_eq!(down["body"], "ok");
    assert_eq!(
        json["metrics"]["foreign_requests"],
        json!({"type": "counter", "value": 1})
    );
    let logs = json["logs"].as_array().unwrap();
    let configured = "as_header_gate: configured tag=blue local_path=/foreign/local";
    assert!(
        logs.contains(&json!({"context_id": 1, "level": "info", "message": configured})),
        "{logs:#?}"
    );
    assert!(
        logs.iter()
            .any(|l| l["level"] == "info" && l["message"] == "as_header_gate: tagged /orders?id=7"),
        "{logs:#?}"
    );
}

#[test]
fn cli_replay_reports_the_local_answer() {
    let (ok, json, err) = replay("local", CONFIG, "GET /foreign/local/x HTTP/1.1\r\nHost: a\r\n\r\n", &[]);
    assert!(ok, "{err}");
    assert_eq!(json["verdict"], "local_response", "{json:#}");
    assert_eq!(
        json["upstream_request"],
        Value::Null,
        "a locally answered request never goes upstream"
    );
    let local = &json["local_response"];
    assert_eq!(local["status"], 451);
    assert_eq!(local["body"], "blocked by the AssemblyScript filter\n");
    assert_eq!(local["details"], "as_header_gate");
    assert_eq!(local["headers"], json!([["x-foreign-local", "1"]]));
    let down = &json["downstream_response"];
    assert!(has_pair(down, ":status", "451"));
    assert!(has_pair(down, "x-foreign-local", "1"));
    // As in Envoy, the local reply passes back through the filter's response-headers callback.
    assert!(has_pair(down, "x-foreign-seen", "blue"), "{down:#}");
    assert_eq!(json["metrics"]["foreign_requests"]["value"], 1);
    assert!(json["logs"]
        .as_array()
        .unwrap()
        .iter()
        .any(|l| l["message"] == "as_header_gate: answered /foreign/local/x locally with 451"));
}

#[test]
fn cli_replay_fails_on_a_rejected_configuration() {
    let (ok, json, err) = replay(
        "bad",
        "tag=blue\ncolour=red\n",
        "GET / HTTP/1.1\r\nHost: a\r\n\r\n",
        &[],
    );
    assert!(!ok, "replay must fail, printed {json}");
    assert_eq!(json, Value::Null, "no JSON on failure");
    assert!(err.contains("configuration rejected"), "{err}");
    assert!(err.contains(ROOT_ID), "{err}");
}

#[test]
fn library_runs_requests_and_counts_them_in_one_plugin() {
    let (host, module) = module();
    let mut plugin = host
        .plugin(&module)
        .root(ROOT_ID, CONFIG)
        .name("as_header_gate")
        .build()
        .unwrap();
    assert_eq!(
        counter(&plugin, "foreign_requests"),
        Some(0),
        "defined at configure time"
    );

    let out = plugin
        .run_for(
            ROOT_ID,
            &Request::get("/a").header("x-client", "c1"),
            &Response::status(204),
        )
        .unwrap();
    assert_eq!(out.verdict, "continue");
    assert_eq!(out.upstream_header("x-foreign-tag").as_deref(), Some("blue"));
    assert_eq!(out.upstream_header("x-client").as_deref(), Some("c1"));
    assert_eq!(out.status(), Some(204));
    assert_eq!(out.downstream_header("x-foreign-seen").as_deref(), Some("blue"));
    assert!(out.logged("as_header_gate: tagged /a"));

    let out = plugin
        .run_for(ROOT_ID, &Request::get("/foreign/local"), &Response::ok())
        .unwrap();
    assert_eq!(out.verdict, "local_response");
    let local = out.local_response.as_ref().expect("local response");
    assert_eq!(local.status, 451);
    assert_eq!(local.body, b"blocked by the AssemblyScript filter\n");
    assert_eq!(local.headers.get("x-foreign-local").as_deref(), Some("1"));
    assert!(out.upstream_request.is_none());

    // A path that is only a prefix of local_path is not answered locally.
    let out = plugin
        .run_for(ROOT_ID, &Request::post("/foreign/loca", "x"), &Response::ok())
        .unwrap();
    assert_eq!(out.verdict, "continue");
    assert_eq!(out.upstream_header("x-foreign-tag").as_deref(), Some("blue"));

    assert_eq!(counter(&plugin, "foreign_requests"), Some(3));
    let infos: Vec<&str> = plugin
        .logs()
        .iter()
        .filter(|l| l.level == "info")
        .map(|l| l.message.as_str())
        .collect();
    assert_eq!(
        infos,
        [
            "as_header_gate: configured tag=blue local_path=/foreign/local",
            "as_header_gate: tagged /a",
            "as_header_gate: answered /foreign/local locally with 451",
            "as_header_gate: tagged /foreign/loca",
        ]
    );
}

#[test]
fn library_interleaves_streams_of_the_foreign_sdk() {
    let (host, module) = module();
    let mut plugin = host.plugin(&module).root(ROOT_ID, CONFIG).build().unwrap();
    let a = plugin.open_stream_for(ROOT_ID).unwrap();
    let b = plugin.open_stream_for(ROOT_ID).unwrap();
    let headers = |path: &str| {
        meshward_host_test::Headers::from_pairs([
            (":method", "GET"),
            (":path", path),
            (":scheme", "http"),
            (":authority", "x"),
        ])
    };
    assert_eq!(
        plugin.stream(a).send_request_headers(headers("/first"), true).unwrap(),
        Step::Continue
    );
    assert_eq!(
        plugin
            .stream(b)
            .send_request_headers(headers("/foreign/local/2"), true)
            .unwrap(),
        Step::Stopped
    );
    let resp = meshward_host_test::Headers::from_pairs([(":status", "200")]);
    assert_eq!(
        plugin.stream(a).send_response_headers(resp, true).unwrap(),
        Step::Continue
    );
    let out_b = plugin.stream(b).finish().unwrap();
    let out_a = plugin.stream(a).finish().unwrap();
    assert_eq!(out_a.upstream_header("x-foreign-tag").as_deref(), Some("blue"));
    assert_eq!(out_a.downstream_header("x-foreign-seen").as_deref(), Some("blue"));
    assert_eq!(out_b.local_response.as_ref().map(|l| l.status), Some(451));
    assert_eq!(out_b.status(), Some(451));
    assert_eq!(counter(&plugin, "foreign_requests"), Some(2));
}

#[test]
fn library_rejects_each_kind_of_bad_configuration() {
    let (host, module) = module();
    for bad in [
        "",
        "# only a comment\n",
        "tag=blue\nlocal_status=99",
        "tag=blue\nlocal_status=4xx",
        "tag=blue\nno equals sign",
        "tag=blue\ncolour=red",
        "=x\ntag=blue",
    ] {
        match host.plugin(&module).root(ROOT_ID, bad).build() {
            Err(Error::ConfigRejected { root_id, .. }) => assert_eq!(root_id, ROOT_ID),
            Err(other) => panic!("{bad:?}: expected a rejected configuration, got {other}"),
            Ok(_) => panic!("{bad:?}: configuration accepted"),
        }
    }
    // And a good one with only the required key is accepted, with the default local status.
    let mut plugin = host
        .plugin(&module)
        .root(ROOT_ID, "tag=t\nlocal_path=/x\n")
        .build()
        .unwrap();
    let out = plugin.run_for(ROOT_ID, &Request::get("/x/y"), &Response::ok()).unwrap();
    assert_eq!(
        out.local_response.as_ref().map(|l| (l.status, l.body.clone())),
        Some((403, b"\n".to_vec()))
    );
}
