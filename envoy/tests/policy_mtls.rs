//! The mTLS mesh fixture in real Envoy: certificates generated here carry SPIFFE URI SANs, the
//! server sidecar requires and verifies client certificates, and a wasm filter on its inbound
//! listener reads the caller's identity from `connection.uri_san_peer_certificate`.
//! Missing Envoy or wasm files fail the tests with a message; nothing is skipped.

use meshward_envoy::mesh::{wasm_http_filter, Caller, Identities, Mesh, MeshSpec, SERVER_HOST};
use meshward_envoy::{client, locate, Request};
use serde_json::{json, Value};
use std::time::Duration;

fn probe_wasm() -> std::path::PathBuf {
    locate::wasm_file("meshward-fixture-probe").unwrap_or_else(|e| panic!("{e}"))
}

/// A probe that logs the identity properties on every request.
fn identity_probe() -> Value {
    let script = json!({
        "on_http_request_headers": { "calls": [
            { "call": "get_property", "path": ["connection", "uri_san_peer_certificate"], "label": "san" },
            { "call": "get_property", "path": ["connection", "mtls"], "label": "mtls" },
            { "call": "get_property", "path": ["request", "path"], "label": "path" }
        ]}
    });
    wasm_http_filter("probe", &probe_wasm(), &script.to_string())
}

#[test]
fn the_server_sidecar_sees_each_callers_spiffe_id_over_mtls() {
    let _one = meshward_envoy::mesh::exclusive();
    let ids = Identities::generate().expect("identities");
    let spec = MeshSpec {
        server_filters: vec![identity_probe()],
        ..MeshSpec::new()
    };
    let mesh = Mesh::start(&ids, &spec).expect("mesh");
    for (i, caller) in Caller::ALL.into_iter().enumerate() {
        let path = format!("/api/who/{i}");
        let response = mesh
            .send(caller, &Request::get(&path).header("host", SERVER_HOST))
            .expect("request");
        assert_eq!(response.status, 200, "{caller:?}: {}", response.text());
        let seen = mesh.server.wait_probe(Duration::from_secs(3), |l| {
            l.iter()
                .any(|l| l.label == Some(json!("path")) && l.value == Some(json!(path)))
        });
        let stream = seen
            .iter()
            .find(|l| l.label == Some(json!("path")) && l.value == Some(json!(path)))
            .expect("probe ran")
            .ctx;
        let value = |label: &str| {
            seen.iter()
                .find(|l| l.ctx == stream && l.label == Some(json!(label)))
                .and_then(|l| l.value.clone())
                .unwrap_or(Value::Null)
        };
        assert_eq!(
            value("san"),
            json!(caller.svid(&ids).expect("has an identity").spiffe_id),
            "{caller:?}"
        );
        assert_eq!(
            value("mtls"),
            json!({ "hex": "01" }),
            "{caller:?}: connection.mtls is true"
        );
    }
    let received = mesh.app.wait_for_requests(3, Duration::from_secs(3));
    assert_eq!(received.len(), 3);
    assert!(
        mesh.internet.requests().is_empty(),
        "mesh traffic never leaves for the internet upstream"
    );
}

#[test]
fn the_server_sidecar_refuses_callers_without_a_client_certificate() {
    let _one = meshward_envoy::mesh::exclusive();
    let ids = Identities::generate().expect("identities");
    let mesh = Mesh::start(&ids, &MeshSpec::new()).expect("mesh");
    // Plain HTTP straight to the TLS listener: no handshake, no certificate, no answer.
    let plain = client::send(mesh.server.addr(), &Request::get("/api/x"));
    assert!(
        plain.is_err(),
        "plaintext to the mTLS listener must fail, got {:?}",
        plain.map(|r| r.status)
    );
    // TLS without a client certificate: the handshake fails, the client sidecar answers 503.
    let anonymous = mesh
        .send(Caller::Anonymous, &Request::get("/api/x").header("host", SERVER_HOST))
        .expect("request");
    assert_eq!(anonymous.status, 503, "{}", anonymous.text());
    // Through the client sidecar with a certificate the same request works.
    let via_mesh = mesh
        .send(Caller::Frontend, &Request::get("/api/x").header("host", SERVER_HOST))
        .expect("request");
    assert_eq!(via_mesh.status, 200);
    let received = mesh.app.wait_for_requests(1, Duration::from_secs(3));
    assert_eq!(received.len(), 1, "only the mTLS request reached the app");
}

#[test]
fn hosts_outside_the_mesh_domain_go_to_the_internet_upstream() {
    let _one = meshward_envoy::mesh::exclusive();
    let ids = Identities::generate().expect("identities");
    let mesh = Mesh::start(&ids, &MeshSpec::new()).expect("mesh");
    let response = mesh
        .send(Caller::Frontend, &Request::get("/x").header("host", "api.github.com"))
        .expect("request");
    assert_eq!(response.status, 200);
    let received = mesh.internet.wait_for_requests(1, Duration::from_secs(3));
    assert_eq!(received.first().and_then(|r| r.header("host")), Some("api.github.com"));
    assert!(mesh.app.requests().is_empty());
}
