//! `meshward learn policy`: runs the binary on a small recorded log and checks that the outputs
//! parse, compile with the policy engine (the Istio ones through `import-istio`'s converter),
//! and say what the log holds.

mod common;

use std::path::PathBuf;

use common::cli::{meshward, meshward_code};
use meshward_policy::{istio, Engine, Request};
use meshward_vocab::Decision;

fn fixture() -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/learn/observations.log")
        .to_string_lossy()
        .into_owned()
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("meshward-cli-learn-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn read(p: PathBuf) -> String {
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn learn_policy_writes_a_policy_that_compiles_istio_that_imports_and_a_report() {
    let out = scratch("out");
    let log = fixture();
    let (success, stdout, stderr) = meshward(&[
        "learn",
        "policy",
        &log,
        "--out-dir",
        out.to_str().unwrap(),
        "--literal",
        "/api/orders/99",
    ]);
    assert!(success, "{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    // The malformed line is named with its file and line, and the summary is printed.
    assert!(stderr.contains(&format!("{log}:15: warning: invalid JSON")), "{stderr}");
    assert!(stderr.contains("learned 1 services"), "{stderr}");

    let policy = read(out.join("policy.yaml"));
    let _: serde_yaml_ng::Value = serde_yaml_ng::from_str(&policy).unwrap();
    let engine = Engine::from_text(&policy).unwrap_or_else(|e| panic!("{e}\n{policy}"));
    assert_eq!(engine.mode().as_str(), "detect");
    for p in [
        "\"/api/orders/{*}\"",
        "\"/api/orders/me\"",
        "\"/api/orders/99\"",
        "\"/api/orders/{*}/items\"",
        "\"/health\"",
    ] {
        assert!(policy.contains(p), "{p} missing:\n{policy}");
    }
    assert!(
        !policy.contains("\"/admin\""),
        "blocked requests are not learned:\n{policy}"
    );
    let get = |san: Option<&'static str>, method: &'static str, path: &'static str| Request {
        method,
        path,
        authority: "orders.shop.svc.cluster.local",
        mtls: san.is_some(),
        peer_uri_san: san,
        source_address: Some("10.1.0.7:4000"),
        ..Request::default()
    };
    let frontend = Some("spiffe://cluster.local/ns/shop/sa/frontend");
    assert_eq!(
        engine.decide(&get(frontend, "GET", "/api/orders/5")).decision,
        Decision::Allow
    );
    assert_eq!(
        engine.decide(&get(frontend, "DELETE", "/api/orders/5")).decision,
        Decision::WouldBlock
    );
    assert_eq!(
        engine
            .decide(&get(Some("spiffe://cluster.local/ns/x/sa/y"), "GET", "/api/orders/5"))
            .decision,
        Decision::WouldBlock
    );

    let istio_yaml = read(out.join("istio.yaml"));
    let imported = istio::import(&istio_yaml).unwrap_or_else(|e| panic!("{e}\n{istio_yaml}"));
    Engine::compile(&imported.document).unwrap();
    assert!(
        istio_yaml.contains("\"cluster.local/ns/shop/sa/frontend\""),
        "{istio_yaml}"
    );
    assert!(istio_yaml.contains("ipBlocks:"), "{istio_yaml}");

    let report = read(out.join("report.md"));
    for want in [
        "| lines read | 16 |",
        "| malformed meshward lines | 1 |",
        "| decision events | 1 |",
        "| blocked by the recorded policy (not learned) | 3 |",
        "**1 requests the recorded policy stopped are allowed by the learned one**",
        "`orders.shop.svc.cluster.local` principal spiffe://cluster.local/ns/shop/sa/frontend `GET /api/orders/555` (1 requests)",
        "| in overflow lines (key unknown, not learned) | 7 |",
        "0 denied",
        "| `/api/orders/{*}` |",
    ] {
        assert!(report.contains(want), "{want} missing:\n{report}");
    }
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn learn_policy_reads_stdin_writes_enforce_and_json_and_refuses_bad_options() {
    let out = scratch("files");
    std::fs::create_dir_all(&out).unwrap();
    let report = out.join("report.json");
    let text = read(PathBuf::from(fixture()));
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_meshward"))
        .args([
            "learn",
            "policy",
            "-",
            "--mode",
            "enforce",
            "--json",
            "--report",
            report.to_str().unwrap(),
        ])
        .args(["--template", "/api/orders/{*}/items"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let done = child.wait_with_output().unwrap();
    assert!(done.status.success(), "{}", String::from_utf8_lossy(&done.stderr));
    let policy = String::from_utf8(done.stdout).unwrap();
    assert!(
        Engine::from_text(&policy).unwrap().mode().as_str() == "enforce",
        "{policy}"
    );
    let json: serde_json::Value = serde_json::from_str(&read(report)).unwrap();
    assert_eq!(json["learned"]["malformed"][0]["file"], "-");
    assert_eq!(json["learned"]["malformed"][0]["line"], 15);
    assert_eq!(json["replay"]["stopped_allowed"], 1);
    assert_eq!(json["replay"]["denied"], 0);

    let (code, _, stderr) = meshward_code(&["learn", "policy", &fixture(), "--template", "/a/{**}/b"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("--template /a/{**}/b: "), "{stderr}");
    let empty = out.join("empty.log");
    std::fs::write(&empty, "nothing here\n").unwrap();
    let (code, _, stderr) = meshward_code(&["learn", "policy", empty.to_str().unwrap()]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("no meshward policy event in 1 lines read"), "{stderr}");
    let (code, _, stderr) = meshward_code(&["learn", "policy", "/nonexistent/x.log"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("/nonexistent/x.log: "), "{stderr}");
    let _ = std::fs::remove_dir_all(&out);
}

fn spec_fixture() -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/learn/orders-openapi.yaml")
        .to_string_lossy()
        .into_owned()
}

#[test]
fn learn_api_writes_openapi_documents_and_the_drift_against_a_spec() {
    let log = fixture();
    // Documents on stdout: YAML, one per service.
    let (success, stdout, stderr) = meshward(&["learn", "api", &log]);
    assert!(success, "{stderr}");
    assert!(stderr.contains("learned 1 services"), "{stderr}");
    let doc: serde_json::Value = serde_yaml_ng::from_str(stdout.trim_start_matches("---\n")).unwrap();
    assert_eq!(doc["openapi"], "3.0.3");
    assert_eq!(doc["info"]["title"], "orders.shop.svc.cluster.local");
    let paths: Vec<&str> = doc["paths"].as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        paths,
        [
            "/api/orders",
            "/api/orders/me",
            "/api/orders/{orderId}",
            "/api/orders/{orderId}/items",
            "/health"
        ]
    );
    let get = &doc["paths"]["/api/orders/{orderId}"]["get"];
    assert_eq!(get["x-meshward-evidence"]["hits"], 25);
    assert!(get["responses"]["2XX"]["content"]["application/json"].is_object());
    assert_eq!(
        doc["paths"]["/api/orders/{orderId}"]["parameters"][0]["name"],
        "orderId"
    );
    // Blocked requests (GET /admin) are not part of the API.
    assert!(doc["paths"].get("/admin").is_none());

    // The drift report, Markdown on stdout.
    let spec = format!("orders.shop.svc.cluster.local={}", spec_fixture());
    let (success, stdout, stderr) = meshward(&["learn", "api", &log, "--spec", &spec]);
    assert!(success, "{stderr}");
    for line in [
        "| GET | `/health` | 6 | `/health` |",
        "| GET | `/api/orders` |",
        "| DELETE | `/api/orders/{orderId}` | 1 | `/api/orders/1002` |",
        "| POST | `/api/orders` | 2xx | 4 | `/api/orders` |",
    ] {
        assert!(stdout.contains(line), "{line} missing:\n{stdout}");
    }
    assert!(
        stderr.contains("1 undeclared, 1 never seen, 1 undeclared methods, 1 undeclared status classes"),
        "{stderr}"
    );

    // Both as JSON files.
    let out = scratch("api");
    let (success, stdout, stderr) = meshward(&[
        "learn",
        "api",
        &log,
        "--spec",
        &spec,
        "--json",
        "--out-dir",
        out.to_str().unwrap(),
    ]);
    assert!(success, "{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    let doc: serde_json::Value =
        serde_json::from_str(&read(out.join("orders.shop.svc.cluster.local.openapi.json"))).unwrap();
    assert_eq!(doc["paths"]["/health"]["get"]["x-meshward-evidence"]["hits"], 6);
    let drift: serde_json::Value = serde_json::from_str(&read(out.join("drift.json"))).unwrap();
    assert_eq!(drift[0]["undeclared"][0]["template"], "/health");
    assert_eq!(drift[0]["unused"][0]["path"], "/api/orders");
    assert_eq!(drift[0]["unused"][0]["method"], "GET");
    let _ = std::fs::remove_dir_all(&out);

    // A spec without `=`, or not OpenAPI 3: refused.
    let (code, _, stderr) = meshward_code(&["learn", "api", &log, "--spec", "orders.yaml"]);
    assert_eq!(code, Some(2), "{stderr}");
    let (code, _, stderr) = meshward_code(&["learn", "api", &log, "--spec", &format!("x={log}")]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("--spec x="), "{stderr}");
}
