//! The example configurations in `envoy/examples/`: each is filled in the way docs/envoy.md
//! says, passes `envoy --mode validate`, then runs with traffic through it. Ports are 0 (Envoy
//! picks free ones; the harness reads them back), certificates come from the mesh test CA.
//! Missing Envoy or wasm files fail the tests with a message; nothing is skipped.

use meshward_envoy::examples;
use meshward_envoy::mesh::{exclusive, Identities, Sidecar};
use meshward_envoy::{locate, waf, Envoy, Request, Upstream, UpstreamResponse};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

const READY: Duration = Duration::from_secs(90);

/// A scratch directory removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("meshward-examples-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch directory");
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn wasm_dir() -> PathBuf {
    for name in ["meshward-waf", "meshward-netpolicy"] {
        locate::wasm_file(name).unwrap_or_else(|e| panic!("{e}"));
    }
    std::fs::canonicalize(locate::wasm_dir()).expect("wasm directory")
}

/// Placeholder values: the wasm directory, admin port 0, and `more`.
fn values(more: &[(&'static str, String)]) -> BTreeMap<&'static str, String> {
    let mut all = BTreeMap::from([
        ("MESHWARD_WASM_DIR", wasm_dir().display().to_string()),
        ("ADMIN_PORT", "0".to_string()),
    ]);
    all.extend(more.iter().cloned());
    all
}

/// Fills in example `name`, checks it with `envoy --mode validate`, and returns it as a
/// bootstrap document.
fn render_and_validate(name: &str, values: &BTreeMap<&str, String>, scratch: &Path) -> Value {
    let text = examples::read(name).expect("example");
    let rendered = examples::render(&text, values).unwrap_or_else(|e| panic!("{name}: {e}"));
    let validation = examples::validate(&rendered, scratch, name).expect("envoy --mode validate ran");
    assert!(validation.ok, "{name} failed validation:\n{}", validation.output);
    serde_yaml_ng::from_str(&rendered).unwrap_or_else(|e| panic!("{name} is YAML: {e}"))
}

/// Polls `find` for up to five seconds.
fn wait_for<T>(find: impl Fn() -> Option<T>) -> Option<T> {
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        if let Some(found) = find() {
            return Some(found);
        }
        if std::time::Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn with_host(path: &str, host: &str) -> Request {
    Request::get(path).header("host", host)
}

#[test]
fn every_example_is_tested_here() {
    let mut names: Vec<String> = std::fs::read_dir(examples::dir())
        .expect("examples directory")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["edge-gateway.yaml", "egress-sidecar.yaml", "sidecar-inbound-mtls.yaml"]
    );
}

#[test]
fn sidecar_inbound_mtls_admits_the_mesh_and_runs_both_filters() {
    let _one = exclusive();
    let ids = Identities::generate().expect("identities");
    let scratch = Scratch::new("sidecar");
    for (file, pem) in [
        ("cert.pem", &ids.server.cert_pem),
        ("key.pem", &ids.server.key_pem),
        ("ca.pem", &ids.ca.cert_pem()),
    ] {
        std::fs::write(scratch.0.join(file), pem).expect("writing a PEM file");
    }
    let app = Upstream::start().expect("app");
    let values = values(&[
        ("INBOUND_PORT", "0".to_string()),
        ("APP_PORT", app.addr().port().to_string()),
        ("CERT_DIR", scratch.0.display().to_string()),
    ]);
    let doc = render_and_validate("sidecar-inbound-mtls.yaml", &values, &scratch.0);
    let server = Envoy::start_bootstrap(&doc, "info", READY).expect("the example runs");
    // Callers reach it the way a client sidecar does: mTLS with their own identity.
    let mut client = Sidecar::new();
    for (caller, svid) in [("frontend", &ids.frontend), ("intruder", &ids.intruder)] {
        let cluster = format!("to-{caller}");
        client = client
            .outbound(&format!("as-{caller}"), Vec::new(), &[("*", &cluster)])
            .mtls_cluster(&cluster, server.addr(), Some(svid), &ids.ca, &ids.server.spiffe_id);
    }
    let client = Envoy::start_bootstrap(&client.bootstrap(), "info", READY).expect("client sidecar");
    let send = |listener: &str, request: &Request| {
        meshward_envoy::client::send(client.listener(listener).expect("listener"), request).expect("response")
    };
    let ok = send("as-frontend", &with_host("/orders/17", "api"));
    assert_eq!(ok.status, 200, "{}", ok.text());
    assert_eq!(send("as-frontend", &with_host("/admin/users", "api")).status, 403);
    assert_eq!(send("as-intruder", &with_host("/orders/17", "api")).status, 403);
    // The WAF is in detect mode: the attack passes and is recorded.
    let attack = with_host("/orders?id=1%27%20or%201%3D1--", "api").header("x-request-id", "sidecar-sqli");
    assert_eq!(send("as-frontend", &attack).status, 200);
    let event = waf::wait_event(&server, "sidecar-sqli", Duration::from_secs(5)).expect("WAF event");
    assert_eq!(event["decision"], "would_block", "{event}");
    let paths: Vec<String> = app.requests().iter().map(|r| r.target.clone()).collect();
    assert_eq!(paths, ["/orders/17", "/orders?id=1%27%20or%201%3D1--"]);
    let peer = app.requests()[0]
        .header("x-forwarded-client-cert")
        .unwrap_or("")
        .to_string();
    assert!(
        peer.contains(&ids.frontend.spiffe_id),
        "the app learns the caller: {peer}"
    );
}

#[test]
fn edge_gateway_fetches_the_waf_remotely_by_sha256_and_blocks() {
    let _one = exclusive();
    let scratch = Scratch::new("edge");
    let dir = wasm_dir();
    let module = std::fs::read(dir.join("meshward_waf.wasm")).expect("reading the WAF module");
    let sha256: String = Sha256::digest(&module).iter().map(|b| format!("{b:02x}")).collect();
    let wasm_server = Upstream::start().expect("wasm server");
    wasm_server.set_response(UpstreamResponse::ok(module).header("content-type", "application/wasm"));
    let backend = Upstream::start().expect("backend");
    let edge_values = |sha: &str| {
        values(&[
            ("GATEWAY_PORT", "0".to_string()),
            ("BACKEND_PORT", backend.addr().port().to_string()),
            ("WASM_SERVER_PORT", wasm_server.addr().port().to_string()),
            ("WAF_SHA256", sha.to_string()),
        ])
    };
    let doc = render_and_validate("edge-gateway.yaml", &edge_values(&sha256), &scratch.0);
    let gateway = Envoy::start_bootstrap(&doc, "info", READY).expect("the example runs");
    let fetched: Vec<String> = wasm_server.requests().iter().map(|r| r.target.clone()).collect();
    assert_eq!(fetched, ["/meshward_waf.wasm"], "Envoy fetched the module once");
    assert_eq!(gateway.send(&Request::get("/shop/items")).expect("clean").status, 200);
    let sqli = gateway
        .send(&Request::get("/shop/items?id=1%27%20or%201%3D1--"))
        .expect("attack");
    assert_eq!(sqli.status, 403, "the WAF enforces");
    // At the edge (`use_remote_address`) Envoy makes its own x-request-id: find the event by path.
    let event = wait_for(|| {
        waf::events(&gateway)
            .into_iter()
            .find(|e| e["path"].as_str().is_some_and(|p| p.starts_with("/shop/items?id=")))
    })
    .expect("WAF event");
    assert_eq!(event["decision"], "block", "{event}");
    assert_eq!(
        gateway.send(&Request::get("/admin")).expect("admin").status,
        403,
        "policy"
    );
    // A REST call is ordinary traffic for the default mesh profile, also enforced.
    let put =
        Request::new("PUT", "/shop/items/3", br#"{"count":2}"#.to_vec()).header("content-type", "application/json");
    assert_eq!(gateway.send(&put).expect("put").status, 200);
    let seen: Vec<String> = backend.requests().iter().map(|r| r.target.clone()).collect();
    assert_eq!(
        seen,
        ["/shop/items", "/shop/items/3"],
        "nothing blocked reached the backend"
    );
    drop(gateway);

    // A module whose digest differs from the configured sha256 is never run: Envoy refuses it
    // and the fail-closed filter answers 503 instead of passing traffic unfiltered.
    let wrong = "0".repeat(64);
    let doc = render_and_validate("edge-gateway.yaml", &edge_values(&wrong), &scratch.0);
    let gateway = Envoy::start_bootstrap(&doc, "info", READY).expect("Envoy starts without the module");
    let response = gateway.send(&Request::get("/shop/items")).expect("response");
    assert_eq!(response.status, 503, "{}", response.text());
    // A digest mismatch is a failed fetch to Envoy: it retries (`retry_policy`), then gives up.
    let log = gateway.log_text();
    for line in [
        "Retry limit exceeded for fetching data from remote data source",
        "Plugin meshward_waf failed to load",
    ] {
        assert!(log.contains(line), "the log says {line:?}:\n{log}");
    }
    assert_eq!(backend.requests().len(), 2, "nothing passed unfiltered");
}

#[test]
fn egress_sidecar_lets_out_the_mesh_and_the_allow_list_only() {
    let _one = exclusive();
    let scratch = Scratch::new("egress");
    let next_hop = Upstream::start().expect("egress next hop");
    let values = values(&[
        ("OUTBOUND_PORT", "0".to_string()),
        ("EGRESS_PORT", next_hop.addr().port().to_string()),
    ]);
    let doc = render_and_validate("egress-sidecar.yaml", &values, &scratch.0);
    let sidecar = Envoy::start_bootstrap(&doc, "info", READY).expect("the example runs");
    let cases = [
        ("api.github.com", 200),
        ("checkout.stripe.com", 200),
        ("orders.shop.svc.cluster.local", 200),
        ("exfil.example", 403),
        ("pastebin.com", 403),
    ];
    for (host, status) in cases {
        let response = sidecar.send(&with_host("/v1/x", host)).expect("response");
        assert_eq!(response.status, status, "{host}: {}", response.text());
    }
    let hosts: Vec<String> = next_hop
        .requests()
        .iter()
        .map(|r| r.header("host").unwrap_or("").to_string())
        .collect();
    assert_eq!(
        hosts,
        ["api.github.com", "checkout.stripe.com", "orders.shop.svc.cluster.local"]
    );
}
