//! meshward's netpolicy filter against Envoy's native RBAC filter, in the same two-sidecar mTLS
//! mesh and with the same policies (translated by `meshward_envoy::rbac`). RBAC runs twice: behind
//! Envoy's safest path settings (`normalize_path`, `merge_slashes`, reject escaped slashes) and
//! behind Envoy's defaults.
//!
//! * Ordinary requests: all three give the same answer.
//! * The bypass corpus (`filters/policy/tests/data/bypass.yaml`, with its own policy): meshward
//!   stops every non-control case; each case RBAC lets through is listed in
//!   `rules/policy/RBAC-COMPARISON.md`, which must equal what this test generates. Regenerate with
//!   `MESHWARD_REGENERATE=1 cargo test -p meshward-envoy --test policy_rbac`.

mod policy_support;

use meshward_envoy::mesh::{
    self, rbac_http_filter, wasm_http_filter, Caller, Identities, Mesh, MeshSpec, PathHandling, SERVER_HOST,
};
use meshward_envoy::{locate, rbac, Request};
use policy_support::{Case, Expect, Outcome};
use serde_json::{json, Value};

/// The policies of the ordinary-request comparison (enforce mode, meshward's default normalization).
fn document() -> Value {
    json!({
        "mode": "enforce",
        "policies": [
            { "name": "deny-admin", "action": "DENY", "rules": [{ "to": [{ "paths": ["/admin", "/admin/{**}"] }] }] },
            { "name": "deny-blocked-user", "action": "DENY", "rules": [{ "to": [{ "headers": { "x-user": { "exact": "blocked" } } }] }] },
            { "name": "deny-debug", "action": "DENY", "rules": [{ "to": [{ "headers": { "x-debug": { "present": true } } }] }] },
            { "name": "frontend-api", "action": "ALLOW", "rules": [{
                "from": [{ "principals": ["cluster.local/ns/web/sa/frontend"] }],
                "to": [{ "methods": ["GET", "POST"], "paths": ["/api/{**}"] }]
            }] },
            { "name": "public", "action": "ALLOW", "rules": [{ "to": [{ "methods": ["GET"], "paths": ["/public/*", "/healthz"] }] }] },
            { "name": "ops", "action": "ALLOW", "rules": [{
                "from": [{ "namespaces": ["evil", "ops"] }],
                "to": [{ "paths": ["/ops/*"], "headers": { "x-role": { "exact": "ops" } } }]
            }] }
        ]
    })
}

/// Ordinary requests on which both filters must agree.
fn sample() -> Vec<Case> {
    let c = |id: &str, caller: Caller, method: &str, path: &str, headers: &[(&str, &str)]| {
        Case::new(id, caller, method, path, headers)
    };
    vec![
        c("api-get", Caller::Frontend, "GET", "/api/users", &[]),
        c("api-post", Caller::Frontend, "POST", "/api/users", &[]),
        c("api-query", Caller::Frontend, "GET", "/api/users?page=2", &[]),
        c("api-deep", Caller::Frontend, "GET", "/api/v1/users/7/orders", &[]),
        c("api-delete", Caller::Frontend, "DELETE", "/api/users/7", &[]),
        c("api-intruder", Caller::Intruder, "GET", "/api/users", &[]),
        c("api-foreign", Caller::Foreign, "GET", "/api/users", &[]),
        c("public", Caller::Intruder, "GET", "/public/index.html", &[]),
        c("public-post", Caller::Intruder, "POST", "/public/index.html", &[]),
        c("healthz", Caller::Foreign, "GET", "/healthz", &[]),
        c("admin", Caller::Frontend, "GET", "/admin", &[]),
        c("admin-sub", Caller::Frontend, "GET", "/admin/users", &[]),
        c("admin-lookalike", Caller::Frontend, "GET", "/administrator", &[]),
        c(
            "ops-role",
            Caller::Intruder,
            "GET",
            "/ops/restart",
            &[("x-role", "ops")],
        ),
        c("ops-no-role", Caller::Intruder, "GET", "/ops/restart", &[]),
        c(
            "ops-wrong-ns",
            Caller::Frontend,
            "GET",
            "/ops/restart",
            &[("x-role", "ops")],
        ),
        c(
            "blocked-user",
            Caller::Frontend,
            "GET",
            "/api/users",
            &[("x-user", "blocked")],
        ),
        c(
            "other-user",
            Caller::Frontend,
            "GET",
            "/api/users",
            &[("x-user", "alice")],
        ),
        c("debug", Caller::Frontend, "GET", "/api/users", &[("x-debug", "1")]),
        c("unlisted", Caller::Frontend, "GET", "/other", &[]),
    ]
}

/// Which server-side filter a run used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Server {
    Meshward,
    RbacSafest,
    RbacDefaults,
}

impl Server {
    const ALL: [Server; 3] = [Server::Meshward, Server::RbacSafest, Server::RbacDefaults];

    /// The mesh with this server filter configured from `doc` (`yaml`: the same document as the
    /// netpolicy filter's configuration text).
    fn spec(self, doc: &Value, yaml: &str) -> MeshSpec {
        let (filters, paths) = match self {
            Server::Meshward => {
                let wasm = locate::wasm_file("meshward-netpolicy").unwrap_or_else(|e| panic!("{e}"));
                (
                    vec![wasm_http_filter("netpolicy", &wasm, yaml)],
                    PathHandling::EnvoyDefault,
                )
            }
            Server::RbacSafest => (
                rbac::translate(doc).unwrap_or_else(|e| panic!("{e}")),
                PathHandling::Safest,
            ),
            Server::RbacDefaults => (
                rbac::translate(doc).unwrap_or_else(|e| panic!("{e}")),
                PathHandling::EnvoyDefault,
            ),
        };
        MeshSpec {
            server_filters: filters,
            server_paths: paths,
            all_hosts_to_server: true,
            ..MeshSpec::new()
        }
    }
}

/// Runs `cases` through a mesh per server kind; outcomes in `Server::ALL` order.
fn run_all(ids: &Identities, doc: &Value, yaml: &str, cases: &[Case]) -> Vec<Vec<Outcome>> {
    Server::ALL
        .iter()
        .map(|server| {
            let mesh = Mesh::start(ids, &server.spec(doc, yaml))
                .unwrap_or_else(|e| panic!("starting the {server:?} mesh: {e}"));
            cases.iter().map(|case| policy_support::send(&mesh, case)).collect()
        })
        .collect()
}

#[test]
fn translated_rbac_is_accepted_by_envoy_and_denies_with_403() {
    let _one = mesh::exclusive();
    let ids = Identities::generate().expect("identities");
    let deny_all = json!({ "action": "DENY", "policies": { "all": { "permissions": [{ "any": true }], "principals": [{ "any": true }] } } });
    let spec = MeshSpec {
        server_filters: vec![rbac_http_filter(deny_all)],
        ..MeshSpec::new()
    };
    let mesh = Mesh::start(&ids, &spec).expect("mesh");
    let response = mesh
        .send(Caller::Frontend, &Request::get("/x").header("host", SERVER_HOST))
        .expect("request");
    assert_eq!(response.status, 403);
    assert!(mesh.app.requests().is_empty());
}

#[test]
fn ordinary_requests_get_the_same_answers_from_meshward_and_rbac() {
    let _one = mesh::exclusive();
    let ids = Identities::generate().expect("identities");
    let doc = document();
    let sample = sample();
    let runs = run_all(&ids, &doc, &doc.to_string(), &sample);
    let mut disagreements = Vec::new();
    for (i, case) in sample.iter().enumerate() {
        let (m, s, d) = (&runs[0][i], &runs[1][i], &runs[2][i]);
        if m.passed() != s.passed() || m.passed() != d.passed() {
            disagreements.push(format!(
                "{} ({}): meshward {m}, RBAC safest {s}, RBAC defaults {d}",
                case.id,
                case.describe()
            ));
        }
    }
    assert!(
        disagreements.is_empty(),
        "ordinary requests answered differently:\n{}",
        disagreements.join("\n")
    );
    let passed = runs[0].iter().filter(|o| o.passed()).count();
    assert!(
        passed > 0 && passed < sample.len(),
        "the sample has allows and denies: {passed}/{}",
        sample.len()
    );
    // Denied requests are 403 from both filters (RBAC's and meshward's own replies).
    for run in &runs {
        for (case, outcome) in sample.iter().zip(run) {
            assert!(
                outcome.passed() == (outcome.status == Some(200)),
                "{}: {outcome}",
                case.id
            );
            assert!(
                outcome.passed() || outcome.status == Some(403),
                "{}: {outcome}",
                case.id
            );
        }
    }
}

#[test]
fn the_bypass_corpus_comparison_table_is_current() {
    let _one = mesh::exclusive();
    let ids = Identities::generate().expect("identities");
    let corpus = policy_support::load();
    let runs = run_all(&ids, &corpus.document, &corpus.policy_yaml, &corpus.cases);
    // meshward stops every non-control case, and never lets one reach the app.
    let wrong: Vec<String> = corpus
        .cases
        .iter()
        .zip(&runs[0])
        .filter(|(c, o)| o.passed() != (c.expect == Some(Expect::Allow)))
        .map(|(c, o)| format!("{} ({}): expected {:?}, got {o}", c.id, c.describe(), c.expect))
        .collect();
    assert!(
        wrong.is_empty(),
        "meshward decided corpus cases wrongly:\n{}",
        wrong.join("\n")
    );

    let table = policy_support::comparison_markdown(&corpus.cases, &runs[0], &runs[1], &runs[2]);
    let path = locate::workspace_root().join("rules/policy/RBAC-COMPARISON.md");
    if std::env::var_os("MESHWARD_REGENERATE").is_some() {
        std::fs::write(&path, &table).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
    }
    let committed = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}; regenerate with MESHWARD_REGENERATE=1", path.display()));
    assert_eq!(
        committed,
        table,
        "{} is out of date; regenerate with MESHWARD_REGENERATE=1",
        path.display()
    );
}
