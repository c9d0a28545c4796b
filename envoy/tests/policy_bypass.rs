//! The authorization-bypass corpus (`filters/policy/tests/data/bypass.yaml`, derived from the
//! Istio/Envoy RBAC path, host and header CVEs) sent verbatim through the client sidecar and mTLS
//! to the server sidecar running the netpolicy filter in enforce mode. Every non-control case is
//! stopped (`block`: 403 by a policy; `refused`: 400, normalization) and never reaches the app;
//! controls pass. The path-ambiguity corpus (`ambiguity.yaml`: paths that Tomcat, Spring, IIS,
//! Express, Go or Python applications read as a protected path) goes the same way: no attack
//! reaches the app, every ordinary path does.

mod policy_support;

use meshward_envoy::locate;
use meshward_envoy::mesh::{self, wasm_http_filter, Identities, Mesh, MeshSpec};
use policy_support::Expect;
use std::time::Duration;

/// A mesh whose server sidecar runs the netpolicy filter with `policy` (both sidecars' hosts
/// routed to the server).
fn enforcing_mesh(policy: &str) -> Mesh {
    let ids = Identities::generate().expect("identities");
    let wasm = locate::wasm_file("meshward-netpolicy").unwrap_or_else(|e| panic!("{e}"));
    let spec = MeshSpec {
        server_filters: vec![wasm_http_filter("netpolicy", &wasm, policy)],
        all_hosts_to_server: true,
        ..MeshSpec::new()
    };
    Mesh::start(&ids, &spec).unwrap_or_else(|e| panic!("starting the mesh: {e}"))
}

#[test]
fn every_bypass_case_is_stopped_in_enforce_mode_and_never_reaches_the_app() {
    let _one = mesh::exclusive();
    let corpus = policy_support::load();
    assert!(corpus.cases.len() >= 30, "the corpus has {} cases", corpus.cases.len());
    let mesh = enforcing_mesh(&corpus.policy_yaml);

    let mut problems = Vec::new();
    let mut rejected_by_client_sidecar = Vec::new();
    for case in &corpus.cases {
        let events_before = mesh::policy_events(&mesh.server).len();
        let outcome = policy_support::send(&mesh, case);
        let expect = case.expect.expect("corpus cases say what to expect");
        // Stopped requests are logged at warn level: wait for the event, and read what meshward
        // decided.
        let decision = if expect == Expect::Allow {
            None
        } else {
            let events = mesh::wait_policy_events(&mesh.server, events_before + 1, Duration::from_secs(2));
            events
                .get(events_before)
                .and_then(|e| e["decision"].as_str().map(str::to_string))
        };
        // Envoy's own HTTP handling may reject a request (e.g. a fragment in the path) before any
        // filter: then it never reaches the server sidecar, and that rejection is all we can observe.
        let rejected_before_meshward = !outcome.reached_server && outcome.status == Some(400) && !outcome.passed();
        if rejected_before_meshward {
            rejected_by_client_sidecar.push(case.id.clone());
        }
        let ok = match expect {
            Expect::Allow => outcome.passed() && outcome.status == Some(200),
            Expect::Block => {
                rejected_before_meshward
                    || (!outcome.passed() && outcome.status == Some(403) && decision.as_deref() == Some("block"))
            }
            Expect::Refused => {
                rejected_before_meshward
                    || (!outcome.passed() && outcome.status == Some(400) && decision.as_deref() == Some("refused"))
            }
        };
        if !ok {
            problems.push(format!(
                "{} [{}] {}: expected {expect:?}, got {outcome} (meshward decision {decision:?})",
                case.id,
                case.about,
                case.describe()
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "{} of {} corpus cases wrong:\n{}",
        problems.len(),
        corpus.cases.len(),
        problems.join("\n")
    );
    // Most of the corpus must really be decided by meshward, not by the client sidecar.
    assert!(
        rejected_by_client_sidecar.len() * 4 < corpus.cases.len(),
        "rejected before meshward: {rejected_by_client_sidecar:?}"
    );
    eprintln!("rejected by Envoy before reaching the server sidecar: {rejected_by_client_sidecar:?}");

    // No forbidden request reached the app: everything it received is a control's path.
    let controls: Vec<&str> = corpus
        .cases
        .iter()
        .filter(|c| c.expect == Some(Expect::Allow))
        .map(|c| c.path.as_str())
        .collect();
    let received = mesh.app.requests();
    assert_eq!(received.len(), controls.len(), "the app received only the controls");
    for request in &received {
        assert!(
            controls.contains(&request.target.as_str()),
            "the app received {:?}",
            request.target
        );
    }
}

#[test]
fn no_ambiguous_path_reaches_the_app_and_ordinary_paths_do() {
    let _one = mesh::exclusive();
    let corpus = policy_support::load_ambiguity();
    let mesh = enforcing_mesh(&corpus.policy_yaml);
    let case = |path: &str| policy_support::Case::new(path, mesh::Caller::Frontend, "GET", path, &[]);

    let mut problems = Vec::new();
    let mut stopped_by = std::collections::BTreeMap::<String, usize>::new();
    for path in &corpus.attacks {
        let outcome = policy_support::send(&mesh, &case(path));
        if outcome.reached_app() {
            problems.push(format!("attack {path:?} reached the app: {outcome}"));
        }
        let who = match (outcome.reached_server, outcome.status) {
            (false, _) => "client sidecar (Envoy)".to_string(),
            (true, Some(s)) => format!("server sidecar {s}"),
            (true, None) => "server sidecar (connection closed)".to_string(),
        };
        *stopped_by.entry(who).or_default() += 1;
    }
    for path in &corpus.ordinary {
        let outcome = policy_support::send(&mesh, &case(path));
        if !(outcome.passed() && outcome.status == Some(200)) {
            problems.push(format!("ordinary {path:?} did not pass: {outcome}"));
        }
    }
    eprintln!("attacks stopped by: {stopped_by:?}");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    // meshward, not only Envoy's own request parsing, stops most of them.
    let by_meshward: usize = stopped_by
        .iter()
        .filter(|(k, _)| k.starts_with("server sidecar 4"))
        .map(|(_, n)| n)
        .sum();
    assert!(by_meshward * 2 > corpus.attacks.len(), "{stopped_by:?}");
}
