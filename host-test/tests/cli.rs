//! `meshward-host replay` on raw HTTP/1.1 files.

mod common;

use std::path::PathBuf;
use std::process::Command;

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("meshward-host-cli-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn replay(args: &[&str]) -> (bool, serde_json::Value, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_meshward-host"))
        .arg("replay")
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let json = serde_json::from_str(&stdout).unwrap_or(serde_json::Value::Null);
    (
        out.status.success(),
        json,
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

#[test]
fn replay_chunked_request_through_hello() {
    let dir = temp_dir("hello");
    let req = dir.join("req.http");
    std::fs::write(
        &req,
        "POST /submit HTTP/1.1\r\nHost: app.local\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
    )
    .unwrap();
    let resp = dir.join("resp.http");
    std::fs::write(&resp, "HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok").unwrap();
    let cfg = dir.join("cfg.txt");
    std::fs::write(&cfg, "from-cli").unwrap();
    let filter = common::fixture_path("meshward_fixture_hello");
    let (ok, json, err) = replay(&[
        "--filter",
        filter.to_str().unwrap(),
        "--config",
        cfg.to_str().unwrap(),
        "--request",
        req.to_str().unwrap(),
        "--response",
        resp.to_str().unwrap(),
        "--property",
        "source.address=10.0.0.1:1",
    ]);
    assert!(ok, "{err}");
    assert_eq!(json["verdict"], "continue");
    let up = &json["upstream_request"];
    assert_eq!(up["body"], "abc");
    let headers = up["headers"].as_array().unwrap();
    assert!(headers.contains(&serde_json::json!(["x-hello", "from-cli"])));
    assert!(headers.contains(&serde_json::json!([":authority", "app.local"])));
    assert_eq!(json["downstream_response"]["body"], "ok");
    assert!(json["downstream_response"]["headers"]
        .as_array()
        .unwrap()
        .contains(&serde_json::json!([":status", "201"])));
    assert_eq!(json["metrics"]["hello_streams"]["value"], 1);
    assert!(json["logs"]
        .as_array()
        .unwrap()
        .iter()
        .any(|l| l["message"] == "hello configured: from-cli"));
    assert!(json["memory_bytes"].as_u64().unwrap() > 0);
    assert!(
        json["stats"]["callbacks"]["proxy_on_request_headers"]["count"]
            .as_u64()
            .unwrap()
            == 1
    );
}

#[test]
fn replay_reports_local_response() {
    let dir = temp_dir("local");
    let req = dir.join("req.http");
    std::fs::write(&req, "GET /local HTTP/1.1\nHost: x\n\n").unwrap();
    let cfg = dir.join("cfg.txt");
    std::fs::write(&cfg, "hey").unwrap();
    let filter = common::fixture_path("meshward_fixture_hello");
    let (ok, json, err) = replay(&[
        "--filter",
        filter.to_str().unwrap(),
        "--config",
        cfg.to_str().unwrap(),
        "--request",
        req.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    assert_eq!(json["verdict"], "local_response");
    assert_eq!(json["local_response"]["status"], 418);
    assert_eq!(json["upstream_request"], serde_json::Value::Null);
}

#[test]
fn replay_errors_are_clear() {
    let (ok, _, err) = replay(&["--filter", "/nonexistent.wasm", "--request", "/nonexistent.http"]);
    assert!(!ok);
    assert!(err.contains("/nonexistent"), "{err}");
    let (ok, _, err) = replay(&["--request", "x"]);
    assert!(!ok);
    assert!(err.contains("--filter is required"), "{err}");
    let dir = temp_dir("rejected");
    let req = dir.join("req.http");
    std::fs::write(&req, "GET / HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let filter = common::fixture_path("meshward_fixture_hello");
    let (ok, _, err) = replay(&["--filter", filter.to_str().unwrap(), "--request", req.to_str().unwrap()]);
    assert!(!ok, "empty config must be rejected by hello");
    assert!(err.contains("configuration rejected"), "{err}");
}
