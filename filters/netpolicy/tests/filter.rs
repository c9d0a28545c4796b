//! The built `meshward_netpolicy.wasm` in host-test, with Envoy attributes set as properties.

mod common;

use common::{counter, events, host, module, plugin};
use meshward_host_test::{Error, Request, Response};

const FRONTEND: &str = "spiffe://cluster.local/ns/web/sa/frontend";
const BATCH: &str = "spiffe://cluster.local/ns/jobs/sa/batch";

/// A request from an mTLS peer with this SPIFFE ID.
fn from_peer(req: Request, san: &str) -> Request {
    req.property("connection.mtls", true)
        .property("connection.uri_san_peer_certificate", san)
        .property("source.address", "10.1.0.5:40000")
        .property("destination.address", "10.1.0.9:8080")
}

/// A GET to `path` with `:authority` replaced by `host`.
fn at(path: &str, host: &str) -> Request {
    let mut r = Request::get(path);
    r.headers.set(":authority", host);
    r
}

const ALLOW_WEB: &str = r#"
mode: enforce
policies:
  - name: web-only
    action: ALLOW
    rules:
      - from: [{ principals: ["cluster.local/ns/web/sa/*"] }]
"#;

#[test]
fn allow_and_deny_by_principal() {
    let mut p = plugin(ALLOW_WEB);
    let out = p
        .run(&from_peer(Request::get("/orders"), FRONTEND), &Response::ok())
        .unwrap();
    assert_eq!(out.verdict, "continue");
    assert!(out.upstream_request.is_some());
    let out = p
        .run(&from_peer(Request::get("/orders"), BATCH), &Response::ok())
        .unwrap();
    assert_eq!(out.verdict, "local_response");
    let local = out.local_response.as_ref().unwrap();
    assert_eq!(local.status, 403);
    assert_eq!(local.body, b"access denied\n");
    assert!(out.upstream_request.is_none());
    // Without mTLS the SAN is not an identity.
    let plain = Request::get("/orders").property("connection.uri_san_peer_certificate", FRONTEND);
    assert_eq!(p.run(&plain, &Response::ok()).unwrap().status(), Some(403));
    assert_eq!(counter(&p, "meshward_policy.allowed"), 1);
    assert_eq!(counter(&p, "meshward_policy.blocked"), 2);
    assert_eq!(counter(&p, "meshward_policy.policy.web-only.allowed"), 1);
    let ev = events(p.logs());
    let deny = ev
        .iter()
        .find(|(_, e)| e["decision"] == "block" && e["principal"] == BATCH)
        .expect("block event");
    assert_eq!(deny.0, "warn");
    assert_eq!(deny.1["namespace"], "jobs");
    assert_eq!(deny.1["source"], "10.1.0.5:40000");
    assert_eq!(deny.1["destination"], "10.1.0.9:8080");
    assert_eq!(deny.1["reason"], "no ALLOW policy matched");
    assert_eq!(deny.1["path_normalized"], "/orders");
    let allow = ev.iter().find(|(_, e)| e["decision"] == "allow").expect("allow event");
    assert_eq!(
        (allow.0.as_str(), &allow.1["policy"]),
        ("debug", &serde_json::json!("web-only"))
    );
}

#[test]
fn namespace_and_ip_blocks() {
    let mut p = plugin(
        r#"
mode: enforce
policies:
  - name: deny-jobs
    action: DENY
    rules:
      - from: [{ namespaces: [jobs] }]
      - from: [{ ipBlocks: [192.168.0.0/16] }]
"#,
    );
    assert_eq!(
        p.run(&from_peer(Request::get("/"), BATCH), &Response::ok())
            .unwrap()
            .status(),
        Some(403)
    );
    assert_eq!(
        p.run(&from_peer(Request::get("/"), FRONTEND), &Response::ok())
            .unwrap()
            .status(),
        Some(200)
    );
    let r = Request::get("/").property("source.address", "192.168.3.4:1234");
    assert_eq!(p.run(&r, &Response::ok()).unwrap().status(), Some(403));
    let r = Request::get("/").property("source.address", "10.0.0.1:1234");
    assert_eq!(p.run(&r, &Response::ok()).unwrap().status(), Some(200));
    assert_eq!(counter(&p, "meshward_policy.policy.deny-jobs.blocked"), 2);
}

#[test]
fn hosts_and_path_templates() {
    let mut p = plugin(
        r#"
mode: enforce
policies:
  - name: deny-keys
    action: DENY
    rules:
      - to: [{ hosts: ["api.example.com"], paths: ["/users/{*}/keys", "/admin/{**}"] }]
"#,
    );
    for (path, host, status) in [
        ("/users/alice/keys", "api.example.com", 403),
        ("/users/alice/keys", "API.Example.COM.:8080", 403),
        ("/users/alice/x/keys", "api.example.com", 200),
        ("/users/alice/keys", "other.example.com", 200),
        ("/admin/a/b", "api.example.com", 403),
        ("/public/../admin/x", "api.example.com", 403),
        ("//admin/x", "api.example.com", 403),
        ("/admin%2fx", "api.example.com", 400),
    ] {
        let out = p.run(&at(path, host), &Response::ok()).unwrap();
        assert_eq!(out.status(), Some(status), "{path} {host}");
    }
    let bad = p.run(&at("/admin%2fx", "api.example.com"), &Response::ok()).unwrap();
    assert_eq!(bad.local_response.as_ref().unwrap().body, b"bad request\n");
    assert_eq!(counter(&p, "meshward_policy.invalid_path"), 2);
    // Each request bumps exactly one decision counter: 9 requests.
    assert_eq!(
        ["allowed", "blocked", "would_block", "refused"].map(|c| counter(&p, &format!("meshward_policy.{c}"))),
        [2, 5, 0, 2]
    );
}

#[test]
fn multi_value_headers_are_matched_one_by_one() {
    let mut p = plugin(
        r#"
mode: enforce
policies:
  - name: no-debug
    action: DENY
    rules: [{ to: [{ headers: { x-debug: { exact: "1" } } }] }]
"#,
    );
    let r = Request::get("/").header("x-debug", "0").header("x-debug", "1");
    assert_eq!(p.run(&r, &Response::ok()).unwrap().status(), Some(403));
    let r = Request::get("/").header("x-debug", "0").header("x-debug", "2");
    assert_eq!(p.run(&r, &Response::ok()).unwrap().status(), Some(200));
}

const DENY_BETA: &str = r#"
mode: MODE
policies:
  - name: deny-beta
    action: DENY
    rules: [{ to: [{ paths: ["/beta/*"] }] }]
"#;

#[test]
fn detect_records_then_enforce_blocks() {
    let mut detect = plugin(&DENY_BETA.replace("MODE", "detect"));
    let out = detect.run(&Request::get("/beta/x"), &Response::ok()).unwrap();
    assert_eq!(out.verdict, "continue");
    assert!(out.upstream_request.is_some());
    let ev = events(detect.logs());
    let (level, e) = ev
        .iter()
        .find(|(_, e)| e["decision"] == "would_block")
        .expect("would_block event");
    assert_eq!(level, "warn");
    assert_eq!(e["enforced"], false);
    assert_eq!(e["mode"], "detect");
    assert_eq!(e["effective"], "allow");
    assert_eq!(e["all_enforced"], "block");
    assert_eq!(e["policy"], "deny-beta");
    assert_eq!(counter(&detect, "meshward_policy.would_block"), 1);
    assert_eq!(counter(&detect, "meshward_policy.policy.deny-beta.would_block"), 1);
    assert_eq!(counter(&detect, "meshward_policy.blocked"), 0);
    assert!(
        !detect.logs().iter().any(|l| l.message.contains("deprecated")),
        "the current words raise no warning"
    );

    let mut enforce = plugin(&DENY_BETA.replace("MODE", "enforce"));
    let out = enforce.run(&Request::get("/beta/x"), &Response::ok()).unwrap();
    assert_eq!(out.status(), Some(403));
    assert_eq!(counter(&enforce, "meshward_policy.blocked"), 1);
    assert_eq!(counter(&enforce, "meshward_policy.policy.deny-beta.blocked"), 1);
    assert_eq!(counter(&enforce, "meshward_policy.would_block"), 0);
    // A per-policy detect inside an enforcing filter.
    let mut mixed = plugin(
        &DENY_BETA
            .replace("MODE", "enforce")
            .replace("action: DENY", "action: DENY\n    mode: detect"),
    );
    assert_eq!(
        mixed.run(&Request::get("/beta/x"), &Response::ok()).unwrap().status(),
        Some(200)
    );
    assert_eq!(counter(&mixed, "meshward_policy.would_block"), 1);
}

#[test]
fn evidence_is_visible_at_istios_default_level_and_configurable() {
    let summary = "meshward.policy: configured 1 policies (1 clauses), mode detect";
    // Istio runs Envoy at `warning`: the load line and the would_block event show unconfigured.
    let mut p = host()
        .plugin(&module())
        .config(DENY_BETA.replace("MODE", "detect"))
        .log_level(3)
        .build()
        .unwrap();
    let loaded: Vec<&str> = p
        .logs()
        .iter()
        .filter(|l| l.message == summary)
        .map(|l| l.level)
        .collect();
    assert_eq!(loaded, ["warn"], "{:?}", p.logs());
    p.run(&Request::get("/beta/x"), &Response::ok()).unwrap();
    p.run(&Request::get("/alpha"), &Response::ok()).unwrap();
    let ev = events(p.logs());
    assert_eq!(ev.len(), 1, "plain allows stay at debug: {ev:?}");
    assert_eq!(
        (ev[0].0.as_str(), &ev[0].1["decision"]),
        ("warn", &"would_block".into())
    );
    // `evidence.log_level: info` is invisible at `warning` and shows at `info`.
    let doc = format!("evidence: {{log_level: info}}\n{}", DENY_BETA.replace("MODE", "detect"));
    for (host_level, shown) in [(3, false), (2, true)] {
        let mut p = host()
            .plugin(&module())
            .config(doc.as_str())
            .log_level(host_level)
            .build()
            .unwrap();
        p.run(&Request::get("/beta/x"), &Response::ok()).unwrap();
        let ev = events(p.logs());
        let load: Vec<&str> = p
            .logs()
            .iter()
            .filter(|l| l.message == summary)
            .map(|l| l.level)
            .collect();
        if shown {
            assert_eq!(load, ["info"]);
            assert_eq!(ev.len(), 1);
            assert_eq!(ev[0].0, "info");
        } else {
            assert!(load.is_empty() && ev.is_empty(), "{:?}", p.logs());
        }
        assert_eq!(counter(&p, "meshward_policy.would_block"), 1);
    }
}

#[test]
fn path_parameters_never_reach_the_log() {
    let doc = format!(
        "evidence: {{redact: [tenant]}}\n{}",
        DENY_BETA.replace("MODE", "detect")
    );
    let mut p = plugin(&doc);
    p.run(
        &Request::get("/beta/x;jsessionid=S3SS10N;tenant=acme?token=T0K3N"),
        &Response::ok(),
    )
    .unwrap();
    let ev = events(p.logs());
    assert_eq!(ev[0].1["decision"], "would_block");
    assert_eq!(
        ev[0].1["path_normalized"],
        "/beta/x;jsessionid=[redacted];tenant=[redacted]"
    );
    for l in p.logs() {
        for secret in ["S3SS10N", "acme", "T0K3N"] {
            assert!(!l.message.contains(secret), "{secret} leaked: {}", l.message);
        }
    }
}

#[test]
fn deprecated_mode_words_work_as_detect_and_are_logged_at_configure() {
    let mut old = plugin(
        &DENY_BETA
            .replace("MODE", "dry-run")
            .replace("action: DENY", "action: DENY\n    mode: dry_run"),
    );
    let warnings: Vec<(String, &str)> = old
        .logs()
        .iter()
        .filter(|l| l.message.contains("deprecated"))
        .map(|l| (l.level.to_string(), l.message.as_str()))
        .collect();
    assert_eq!(
        warnings,
        [
            (
                "warn".to_string(),
                "meshward.policy: line 2, field `mode`: \"dry-run\" is deprecated and read as \"detect\"; write \"detect\""
            ),
            (
                "warn".to_string(),
                "meshward.policy: line 4, policy `deny-beta`, field `mode`: \"dry_run\" is deprecated and read as \"detect\"; write \"detect\""
            ),
        ]
    );
    assert!(
        old.logs()
            .iter()
            .any(|l| l.message == "meshward.policy: configured 1 policies (1 clauses), mode detect"),
        "{:?}",
        old.logs()
    );
    let out = old.run(&Request::get("/beta/x"), &Response::ok()).unwrap();
    assert_eq!(out.status(), Some(200));
    let ev = events(old.logs());
    assert_eq!(
        (&ev[0].1["decision"], &ev[0].1["mode"]),
        (&"would_block".into(), &"detect".into())
    );
    assert_eq!(counter(&old, "meshward_policy.would_block"), 1);
}

#[test]
fn default_deny_posture() {
    let mut p = plugin("mode: enforce\ndefault: deny\npolicies: [{name: audit-all, action: AUDIT, rules: [{}]}]");
    let out = p.run(&Request::get("/"), &Response::ok()).unwrap();
    assert_eq!(out.status(), Some(403));
    let ev = events(p.logs());
    assert_eq!(ev[0].1["reason"], "default deny");
    assert_eq!(ev[0].1["audit"], serde_json::json!(["audit-all"]));
    assert_eq!(counter(&p, "meshward_policy.audited"), 1);
    assert_eq!(counter(&p, "meshward_policy.policy.audit-all.audited"), 1);
}

#[test]
fn egress_internet_allow_list() {
    let policy = r#"
mode: enforce
mesh: { cidrs: [10.0.0.0/8], domains: [.svc.cluster.local] }
policies:
  - name: internet-allow-list
    action: DENY
    rules:
      - to: [{ direction: egress, internet: true, notHosts: ["api.github.com"] }]
"#;
    let mut p = host()
        .plugin(&module())
        .config(policy)
        .property("listener_direction", 2i64)
        .build()
        .unwrap();
    let out_to = |authority: &str, dst: &str| at("/", authority).property("destination.address", dst);
    assert_eq!(
        p.run(&out_to("evil.example.net", "93.184.216.34:80"), &Response::ok())
            .unwrap()
            .status(),
        Some(403)
    );
    assert_eq!(
        p.run(&out_to("api.github.com", "140.82.112.5:443"), &Response::ok())
            .unwrap()
            .status(),
        Some(200)
    );
    assert_eq!(
        p.run(&out_to("orders.shop.svc.cluster.local", "10.3.0.1:80"), &Response::ok())
            .unwrap()
            .status(),
        Some(200)
    );
    let sni = out_to("orders.shop.svc.cluster.local", "10.3.0.1:443")
        .property("connection.requested_server_name", "evil.example.net");
    assert_eq!(p.run(&sni, &Response::ok()).unwrap().status(), Some(403));
    let ev = events(p.logs());
    let deny = ev.iter().find(|(_, e)| e["decision"] == "block").unwrap();
    assert_eq!(deny.1["internet"], true);
    assert_eq!(deny.1["direction"], "egress");
    // On an inbound listener the egress rule does not apply.
    let mut inbound = host()
        .plugin(&module())
        .config(policy)
        .property("listener_direction", 1i64)
        .build()
        .unwrap();
    assert_eq!(
        inbound
            .run(&out_to("evil.example.net", "93.184.216.34:80"), &Response::ok())
            .unwrap()
            .status(),
        Some(200)
    );
}

#[test]
fn configure_errors_reject_the_plugin() {
    for bad in [
        "mode: maybe",
        "policies: [{name: a, action: DENY, rules: [{to: [{paths: ['/a/{**}/b']}]}]}]",
        "policies: [{name: a, action: DENY, rules: [{to: [{notPath: ['/a']}]}]}]",
        "[unclosed",
        "evidence: {log_level: loud}",
    ] {
        let err = host()
            .plugin(&module())
            .config(bad)
            .build()
            .err()
            .unwrap_or_else(|| panic!("accepted: {bad}"));
        assert!(matches!(err, Error::ConfigRejected { .. }), "{bad}: {err}");
    }
    // An empty configuration is the zero-config document: detect, allow.
    let mut p = host().plugin(&module()).config("").build().unwrap();
    assert_eq!(p.run(&Request::get("/"), &Response::ok()).unwrap().status(), Some(200));
}

#[derive(serde::Deserialize)]
struct Corpus {
    policy: String,
    cases: Vec<Case>,
}

#[derive(serde::Deserialize)]
struct Case {
    id: String,
    path: String,
    host: Option<String>,
    #[serde(default)]
    headers: Vec<(String, String)>,
    expect: String,
}

#[test]
fn bypass_corpus_through_the_filter() {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../policy/tests/data/bypass.yaml")).unwrap();
    let corpus: Corpus = serde_yaml_ng::from_str(&text).unwrap();
    let mut p = plugin(&corpus.policy);
    for c in &corpus.cases {
        let mut r = at(&c.path, c.host.as_deref().unwrap_or("app.example.com"));
        for (n, v) in &c.headers {
            r = r.header(n, v);
        }
        let want = match c.expect.as_str() {
            "block" => 403,
            "refused" => 400,
            "allow" => 200,
            other => panic!("{}: unknown expectation {other}", c.id),
        };
        assert_eq!(
            p.run(&r, &Response::ok()).unwrap().status(),
            Some(want),
            "case {}",
            c.id
        );
    }
}
