//! The netpolicy filter in two real Envoys joined by mTLS (certificates generated here):
//! principal-based allow and block end to end, detect then enforce, and an egress allow-list on
//! the client sidecar. The bypass corpus is in `policy_bypass.rs`, the RBAC comparison in
//! `policy_rbac.rs`. Missing Envoy or wasm files fail the tests with a message; nothing is skipped.

use meshward_envoy::mesh::{self, wasm_http_filter, Caller, Identities, Mesh, MeshSpec, PathHandling, SERVER_HOST};
use meshward_envoy::{locate, Request};
use serde_json::{json, Value};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(3);

fn netpolicy(document: &Value) -> Value {
    let wasm = locate::wasm_file("meshward-netpolicy").unwrap_or_else(|e| panic!("{e}"));
    wasm_http_filter("netpolicy", &wasm, &document.to_string())
}

/// Only the frontend may GET under /api/.
fn frontend_only(mode: &str) -> Value {
    json!({
        "mode": mode,
        "policies": [{
            "name": "frontend-api",
            "action": "ALLOW",
            "rules": [{
                "from": [{ "principals": ["spiffe://cluster.local/ns/web/sa/frontend"] }],
                "to": [{ "methods": ["GET"], "paths": ["/api/{**}"] }]
            }]
        }]
    })
}

fn start(ids: &Identities, server_policy: &Value) -> Mesh {
    let spec = MeshSpec {
        server_filters: vec![netpolicy(server_policy)],
        server_paths: PathHandling::EnvoyDefault,
        ..MeshSpec::new()
    };
    Mesh::start(ids, &spec).unwrap_or_else(|e| panic!("starting the mesh: {e}"))
}

fn get(path: &str) -> Request {
    Request::get(path).header("host", SERVER_HOST)
}

/// The filter's global decision counters, in this order (each request bumps exactly one).
const DECISIONS: [&str; 4] = ["allowed", "blocked", "would_block", "refused"];

/// The values of the [`DECISIONS`] counters (Envoy prefixes wasm metrics with `wasmcustom.`).
fn counters(envoy: &meshward_envoy::Envoy) -> [Option<u64>; 4] {
    let stats = envoy.stats().expect("stats");
    DECISIONS.map(|name| stats.get(&format!("wasmcustom.meshward_policy.{name}")).copied())
}

/// The event whose normalized path is `path` (panics with all events when missing).
fn event_for<'a>(events: &'a [Value], path: &str) -> &'a Value {
    events
        .iter()
        .find(|e| e["path_normalized"] == path)
        .unwrap_or_else(|| panic!("no event for {path} in {events:#?}"))
}

#[test]
fn detect_records_the_intruders_would_block_and_lets_it_through() {
    let _one = mesh::exclusive();
    let ids = Identities::generate().expect("identities");
    let mesh = start(&ids, &frontend_only("detect"));
    let ok = mesh.send(Caller::Frontend, &get("/api/users")).expect("frontend");
    assert_eq!(ok.status, 200, "{}", ok.text());
    let through = mesh.send(Caller::Intruder, &get("/api/secrets")).expect("intruder");
    assert_eq!(through.status, 200, "detect never blocks: {}", through.text());
    let seen = mesh.app.wait_for_requests(2, WAIT);
    assert_eq!(
        seen.iter().map(|r| r.target.as_str()).collect::<Vec<_>>(),
        ["/api/users", "/api/secrets"]
    );

    let events = mesh::wait_policy_events(&mesh.server, 1, WAIT);
    let event = event_for(&events, "/api/secrets");
    assert_eq!(event["decision"], "would_block", "{event}");
    assert_eq!(event["enforced"], json!(false), "{event}");
    assert_eq!(event["all_enforced"], "block", "{event}");
    assert_eq!(event["effective"], "allow", "{event}");
    assert_eq!(
        event["principal"], ids.intruder.spiffe_id,
        "the principal comes from the peer certificate: {event}"
    );
    assert_eq!(event["namespace"], "evil", "{event}");
    assert!(
        events
            .iter()
            .all(|e| e["principal"] != ids.frontend.spiffe_id || e["decision"] == "allow"),
        "{events:#?}"
    );
    assert_eq!(
        counters(&mesh.server),
        [Some(1), Some(0), Some(1), Some(0)],
        "{DECISIONS:?}"
    );
}

/// The old mode word still works in Envoy (as `detect`), and the filter warns about it when
/// configured (once per VM), naming where it is.
#[test]
fn a_deprecated_mode_word_is_read_as_detect_and_logged_at_warn() {
    let _one = mesh::exclusive();
    let ids = Identities::generate().expect("identities");
    let mesh = start(&ids, &frontend_only("dry-run"));
    let through = mesh.send(Caller::Intruder, &get("/api/secrets")).expect("intruder");
    assert_eq!(through.status, 200, "read as detect, never blocks: {}", through.text());
    let events = mesh::wait_policy_events(&mesh.server, 1, WAIT);
    let event = event_for(&events, "/api/secrets");
    assert_eq!(
        (event["decision"].as_str(), event["reason"].as_str()),
        (Some("would_block"), Some("no ALLOW policy matched (detect)")),
        "{event}"
    );
    let mut warnings: Vec<(String, String)> = mesh
        .server
        .wasm_logs()
        .into_iter()
        .filter(|l| l.message.contains("deprecated"))
        .map(|l| (l.level, l.message))
        .collect();
    warnings.dedup();
    assert_eq!(
        warnings,
        [(
            "warning".to_string(),
            "meshward.policy: field `mode`: \"dry-run\" is deprecated and read as \"detect\"; write \"detect\""
                .to_string()
        )],
        "the same warning from each VM, at configure time"
    );
}

#[test]
fn enforce_blocks_the_intruder_and_the_app_never_sees_it() {
    let _one = mesh::exclusive();
    let ids = Identities::generate().expect("identities");
    let mesh = start(&ids, &frontend_only("enforce"));
    let ok = mesh.send(Caller::Frontend, &get("/api/users/7")).expect("frontend");
    assert_eq!(ok.status, 200, "{}", ok.text());
    let denied = [
        (Caller::Intruder, get("/api/users/7"), "another namespace"),
        (
            Caller::Foreign,
            get("/api/users/7"),
            "same ns/sa in another trust domain",
        ),
        (
            Caller::Frontend,
            Request::post("/api/users", "x").header("host", SERVER_HOST),
            "method not allowed",
        ),
        (
            Caller::Frontend,
            get("/admin/users"),
            "path outside the allowed template",
        ),
    ];
    for (caller, request, why) in &denied {
        let response = mesh.send(*caller, request).expect("request");
        assert_eq!(
            response.status, 403,
            "{caller:?} {} {}: {why}",
            request.method, request.path
        );
        let body = response.text();
        assert!(
            !body.contains("frontend-api") && !body.to_lowercase().contains("policy"),
            "403 body names no internal detail: {body:?}"
        );
    }
    let seen = mesh.app.wait_for_requests(1, WAIT);
    std::thread::sleep(Duration::from_millis(200));
    let seen_after = mesh.app.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(
        seen_after.iter().map(|r| r.target.as_str()).collect::<Vec<_>>(),
        ["/api/users/7"],
        "only the frontend's GET reached the app"
    );

    let events = mesh::wait_policy_events(&mesh.server, denied.len(), WAIT);
    let denies: Vec<&Value> = events.iter().filter(|e| e["decision"] == "block").collect();
    assert_eq!(denies.len(), denied.len(), "{events:#?}");
    assert!(denies.iter().all(|e| e["enforced"] == json!(true)), "{denies:#?}");
    let principals: Vec<&str> = denies.iter().filter_map(|e| e["principal"].as_str()).collect();
    assert_eq!(
        principals,
        [
            &ids.intruder.spiffe_id,
            &ids.foreign.spiffe_id,
            &ids.frontend.spiffe_id,
            &ids.frontend.spiffe_id
        ]
    );
    assert_eq!(
        counters(&mesh.server),
        [Some(1), Some(4), Some(0), Some(0)],
        "{DECISIONS:?}"
    );
}

#[test]
fn a_detect_deny_policy_under_an_enforced_document_is_recorded_not_applied() {
    let _one = mesh::exclusive();
    let ids = Identities::generate().expect("identities");
    let document = json!({
        "mode": "enforce",
        "policies": [
            { "name": "no-evil", "action": "DENY", "rules": [{ "from": [{ "namespaces": ["evil"] }] }] },
            { "name": "no-beta", "action": "DENY", "mode": "detect", "rules": [{ "to": [{ "paths": ["/beta/*"] }] }] }
        ]
    });
    let mesh = start(&ids, &document);
    assert_eq!(
        mesh.send(Caller::Frontend, &get("/beta/new")).expect("beta").status,
        200,
        "detect-mode policy does not block"
    );
    assert_eq!(
        mesh.send(Caller::Intruder, &get("/public")).expect("evil").status,
        403,
        "enforced DENY blocks"
    );
    assert_eq!(
        mesh.send(Caller::Frontend, &get("/public")).expect("frontend").status,
        200
    );
    let events = mesh::wait_policy_events(&mesh.server, 2, WAIT);
    let beta = event_for(&events, "/beta/new");
    assert_eq!(
        (beta["decision"].as_str(), beta["policy"].as_str()),
        (Some("would_block"), Some("no-beta")),
        "{beta}"
    );
    let evil = events
        .iter()
        .find(|e| e["principal"] == ids.intruder.spiffe_id)
        .expect("intruder event");
    assert_eq!(
        (evil["decision"].as_str(), evil["policy"].as_str()),
        (Some("block"), Some("no-evil")),
        "{evil}"
    );
    let paths: Vec<String> = mesh
        .app
        .wait_for_requests(2, WAIT)
        .iter()
        .map(|r| r.target.clone())
        .collect();
    assert_eq!(paths, ["/beta/new", "/public"]);
}

/// "No pod talks to the Internet except api.github.com": the netpolicy filter on the client
/// sidecar's outbound listeners.
#[test]
fn egress_allow_list_on_the_client_sidecar() {
    let _one = mesh::exclusive();
    let ids = Identities::generate().expect("identities");
    let egress = json!({
        "direction": "egress",
        "mode": "enforce",
        // The outbound listener is on loopback: its own address is inside the mesh here, as the
        // pod's original destination would be in a cluster.
        "mesh": { "cidrs": ["10.0.0.0/8", "127.0.0.0/8"], "domains": [".svc.cluster.local"] },
        "policies": [{
            "name": "internet-allow-list",
            "action": "DENY",
            "rules": [{ "to": [{ "internet": true, "notHosts": ["api.github.com"] }] }]
        }]
    });
    let spec = MeshSpec {
        client_filters: vec![netpolicy(&egress)],
        ..MeshSpec::new()
    };
    let mesh = Mesh::start(&ids, &spec).unwrap_or_else(|e| panic!("starting the mesh: {e}"));
    let send = |host: &str| {
        mesh.send(Caller::Frontend, &Request::get("/x").header("host", host))
            .expect("request")
            .status
    };
    assert_eq!(send(SERVER_HOST), 200, "mesh destination");
    assert_eq!(send("api.github.com"), 200, "allow-listed Internet host");
    assert_eq!(send("API.GitHub.com"), 200, "hosts compare case-insensitively");
    for host in [
        "evil.example.com",
        "api.github.com.evil.example",
        "203.0.113.7",
        "github.com",
    ] {
        assert_eq!(send(host), 403, "{host} is on the Internet and not allow-listed");
    }
    let internet: Vec<String> = mesh
        .internet
        .wait_for_requests(2, WAIT)
        .iter()
        .filter_map(|r| r.header("host").map(str::to_string))
        .collect();
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(
        mesh.internet.requests().len(),
        2,
        "nothing else left for the Internet: {internet:?}"
    );
    assert_eq!(
        internet.iter().map(|h| h.to_lowercase()).collect::<Vec<_>>(),
        ["api.github.com", "api.github.com"]
    );
    assert_eq!(mesh.app.wait_for_requests(1, WAIT).len(), 1);

    let events = mesh::wait_policy_events(&mesh.client, 4, WAIT);
    let denied: Vec<&Value> = events.iter().filter(|e| e["decision"] == "block").collect();
    assert_eq!(denied.len(), 4, "{events:#?}");
    assert!(
        denied
            .iter()
            .all(|e| e["internet"] == json!(true) && e["direction"] == "egress"),
        "{denied:#?}"
    );
    assert_eq!(
        counters(&mesh.client),
        [Some(3), Some(4), Some(0), Some(0)],
        "{DECISIONS:?}"
    );
    assert_eq!(
        counters(&mesh.server),
        [None, None, None, None],
        "{DECISIONS:?}: no filter on the server here"
    );
}

/// A caller over TLS without a client certificate has no principal: `principals: ["*"]` never
/// matches it, `notPrincipals: ["*"]` selects exactly it.
#[test]
fn unauthenticated_callers_never_match_a_principal_rule() {
    let _one = mesh::exclusive();
    let ids = Identities::generate().expect("identities");
    let document = json!({
        "mode": "enforce",
        "policies": [
            { "name": "no-anonymous-writes", "action": "DENY", "rules": [{ "from": [{ "notPrincipals": ["*"] }], "to": [{ "methods": ["POST"] }] }] },
            { "name": "any-workload", "action": "ALLOW", "rules": [{ "from": [{ "principals": ["*"] }] }] }
        ]
    });
    let spec = MeshSpec {
        server_filters: vec![netpolicy(&document)],
        optional_client_cert: true,
        ..MeshSpec::new()
    };
    let mesh = Mesh::start(&ids, &spec).unwrap_or_else(|e| panic!("starting the mesh: {e}"));
    let post = |caller| {
        mesh.send(caller, &Request::post("/api/items", "x").header("host", SERVER_HOST))
            .expect("request")
            .status
    };
    assert_eq!(
        mesh.send(Caller::Frontend, &get("/api/items")).expect("request").status,
        200
    );
    assert_eq!(
        post(Caller::Intruder),
        200,
        "an authenticated caller is not matched by notPrincipals: [*]"
    );
    assert_eq!(
        mesh.send(Caller::Anonymous, &get("/api/items"))
            .expect("request")
            .status,
        403,
        "principals: [*] never matches the unauthenticated"
    );
    assert_eq!(post(Caller::Anonymous), 403);
    assert_eq!(mesh.app.wait_for_requests(2, WAIT).len(), 2);

    let events = mesh::wait_policy_events(&mesh.server, 2, WAIT);
    let denied: Vec<&Value> = events.iter().filter(|e| e["decision"] == "block").collect();
    assert_eq!(denied.len(), 2, "{events:#?}");
    assert!(
        denied.iter().all(|e| e["principal"].is_null()),
        "no principal without a certificate: {denied:#?}"
    );
    assert_eq!(
        denied[0]["policy"],
        Value::Null,
        "no ALLOW policy matched: {}",
        denied[0]
    );
    assert_eq!(denied[1]["policy"], "no-anonymous-writes", "{}", denied[1]);
    assert_eq!(
        mesh.app.requests().len(),
        2,
        "the app saw only the authenticated callers"
    );
}
