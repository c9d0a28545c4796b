//! Evaluation order, modes, identity, matchers and validation through the public API.

use meshward_policy::{Engine, Outcome, PolicyError, Request};
use meshward_vocab::{Decision, Mode};

const FRONTEND: &str = "spiffe://cluster.local/ns/web/sa/frontend";
const BATCH: &str = "spiffe://cluster.local/ns/jobs/sa/batch";

fn engine(doc: &str) -> Engine {
    Engine::from_text(doc).unwrap_or_else(|e| panic!("{e}\n{doc}"))
}

fn get(path: &str) -> Request<'_> {
    Request {
        method: "GET",
        path,
        authority: "app.example.com",
        source_address: Some("10.1.2.3:5555"),
        ..Request::default()
    }
}

fn mtls<'a>(path: &'a str, san: &'a str) -> Request<'a> {
    Request {
        mtls: true,
        peer_uri_san: Some(san),
        ..get(path)
    }
}

fn decision(e: &Engine, r: &Request) -> Decision {
    e.decide(r).decision
}

#[test]
fn no_policies_allow_and_default_deny_denies() {
    assert_eq!(decision(&engine("mode: enforce"), &get("/")), Decision::Allow);
    let e = engine("mode: enforce\ndefault: deny");
    let d = e.decide(&get("/"));
    assert_eq!(d.decision, Decision::Block);
    assert_eq!(d.status, Some(403));
    assert_eq!(d.reason, "default deny");
    // Default deny in detect mode is recorded, not enforced.
    let e = engine("default: deny");
    let d = e.decide(&get("/"));
    assert_eq!(
        (d.decision, d.status, d.effective, d.all_enforced),
        (Decision::WouldBlock, None, Outcome::Allow, Outcome::Block)
    );
}

#[test]
fn deny_wins_over_allow_and_allow_policies_deny_the_rest() {
    let e = engine(
        r#"
mode: enforce
policies:
  - name: allow-public
    action: ALLOW
    rules: [{ to: [{ paths: ["/public/*", "/admin/*"] }] }]
  - name: deny-admin
    action: DENY
    rules: [{ to: [{ paths: ["/admin/*"] }] }]
"#,
    );
    let d = e.decide(&get("/admin/x"));
    assert_eq!(d.decision, Decision::Block);
    assert_eq!(d.decided_by.unwrap().policy, "deny-admin");
    assert_eq!(decision(&e, &get("/public/x")), Decision::Allow);
    let d = e.decide(&get("/other"));
    assert_eq!(d.decision, Decision::Block);
    assert!(d.decided_by.is_none());
    assert_eq!(d.reason, "no ALLOW policy matched");
}

#[test]
fn allow_policy_without_rules_denies_everything_and_empty_rule_matches_all() {
    let e = engine("mode: enforce\npolicies: [{name: nothing, action: ALLOW}]");
    assert_eq!(decision(&e, &get("/")), Decision::Block);
    let e = engine("mode: enforce\npolicies: [{name: all, action: ALLOW, rules: [{}]}]");
    assert_eq!(decision(&e, &get("/")), Decision::Allow);
}

#[test]
fn audit_is_recorded_without_changing_the_decision() {
    let e = engine(
        "mode: enforce\npolicies: [{name: watch, action: AUDIT, rules: [{to: [{methods: [POST]}]}]}, {name: no-post, action: DENY, rules: [{to: [{paths: ['/x']}]}]}]",
    );
    let r = Request {
        method: "post",
        ..get("/y")
    };
    let d = e.decide(&r);
    assert_eq!(d.decision, Decision::Allow);
    assert_eq!(d.audits.iter().map(|a| a.policy).collect::<Vec<_>>(), vec!["watch"]);
    assert!(d.event_json().contains(r#""audit":["watch"]"#));
    let d = e.decide(&Request {
        method: "POST",
        ..get("/x")
    });
    assert_eq!((d.decision, d.audits.len()), (Decision::Block, 1));
}

#[test]
fn per_policy_detect_records_both_decisions() {
    let doc = r#"
mode: enforce
policies:
  - { name: new-deny, action: DENY, mode: detect, rules: [{ to: [{ paths: ["/beta/*"] }] }] }
  - { name: old-deny, action: DENY, rules: [{ to: [{ paths: ["/old"] }] }] }
"#;
    let e = engine(doc);
    let d = e.decide(&get("/beta/x"));
    assert_eq!((d.decision, d.status), (Decision::WouldBlock, None));
    assert_eq!((d.effective, d.all_enforced), (Outcome::Allow, Outcome::Block));
    let m = d.decided_by.unwrap();
    assert_eq!((m.policy, m.mode), ("new-deny", Mode::Detect));
    let ev: serde_json::Value = serde_json::from_str(&d.event_json()).unwrap();
    assert_eq!(ev["decision"], "would_block");
    assert_eq!(ev["enforced"], false);
    assert_eq!(ev["effective"], "allow");
    assert_eq!(ev["all_enforced"], "block");
    assert_eq!(ev["mode"], "detect");
    assert_eq!(decision(&e, &get("/old")), Decision::Block);
    // The same policy enforced blocks.
    let e = engine(&doc.replace("mode: detect, ", ""));
    assert_eq!(decision(&e, &get("/beta/x")), Decision::Block);
    // A filter-wide detect never blocks.
    let e = engine(
        &doc.replace("mode: enforce", "mode: detect")
            .replace("mode: detect, ", ""),
    );
    assert_eq!(decision(&e, &get("/old")), Decision::WouldBlock);
}

#[test]
fn detect_allow_policy_counts_only_in_the_all_enforced_outcome() {
    let e = engine("mode: enforce\npolicies: [{name: only-web, action: ALLOW, mode: detect, rules: [{from: [{namespaces: [web]}]}]}]");
    let d = e.decide(&get("/"));
    assert_eq!(
        (d.decision, d.effective, d.all_enforced),
        (Decision::WouldBlock, Outcome::Allow, Outcome::Block)
    );
    assert_eq!(d.reason, "no ALLOW policy matched (detect)");
    assert_eq!(decision(&e, &mtls("/", FRONTEND)), Decision::Allow);
}

#[test]
fn principals_namespaces_and_unauthenticated_callers() {
    let e = engine(
        r#"
mode: enforce
policies:
  - name: web-only
    action: ALLOW
    rules:
      - from: [{ principals: ["cluster.local/ns/web/*"] }]
      - from: [{ namespaces: ["jobs"], notPrincipals: ["spiffe://cluster.local/ns/jobs/sa/batch"] }]
"#,
    );
    assert_eq!(decision(&e, &mtls("/", FRONTEND)), Decision::Allow);
    assert_eq!(decision(&e, &mtls("/", BATCH)), Decision::Block);
    assert_eq!(
        decision(&e, &mtls("/", "spiffe://cluster.local/ns/jobs/sa/cron")),
        Decision::Allow
    );
    // No mTLS: the SAN is not trusted.
    let r = Request {
        peer_uri_san: Some(FRONTEND),
        ..get("/")
    };
    assert_eq!(decision(&e, &r), Decision::Block);
    // A SAN that is not a Kubernetes SPIFFE ID is no identity.
    assert_eq!(
        decision(&e, &mtls("/", "spiffe://cluster.local/ns/web")),
        Decision::Block
    );
    // `*` matches any authenticated caller and never an unauthenticated one.
    let e = engine("mode: enforce\npolicies: [{name: authn, action: ALLOW, rules: [{from: [{principals: ['*']}]}]}]");
    assert_eq!(decision(&e, &mtls("/", BATCH)), Decision::Allow);
    assert_eq!(decision(&e, &get("/")), Decision::Block);
    // notPrincipals ["*"] selects exactly the unauthenticated (Istio semantics).
    let e = engine("mode: enforce\npolicies: [{name: plain, action: DENY, rules: [{from: [{notPrincipals: ['*']}]}]}]");
    assert_eq!(decision(&e, &get("/")), Decision::Block);
    assert_eq!(decision(&e, &mtls("/", BATCH)), Decision::Allow);
}

#[test]
fn service_accounts_and_trust_domains() {
    let e = engine(
        "mode: enforce\npolicies: [{name: p, action: ALLOW, rules: [{from: [{serviceAccounts: ['web/frontend'], trustDomains: [cluster.local]}]}]}]",
    );
    assert_eq!(decision(&e, &mtls("/", FRONTEND)), Decision::Allow);
    assert_eq!(
        decision(&e, &mtls("/", "spiffe://other.td/ns/web/sa/frontend")),
        Decision::Block
    );
    assert_eq!(decision(&e, &mtls("/", BATCH)), Decision::Block);
}

#[test]
fn ip_blocks_and_remote_ip_blocks_with_trusted_hops() {
    let doc = r#"
mode: enforce
trusted_proxy_hops: 1
policies:
  - name: ips
    action: DENY
    rules:
      - from: [{ ipBlocks: [10.1.0.0/16], notIpBlocks: [10.1.9.0/24] }]
      - from: [{ remoteIpBlocks: [203.0.113.0/24] }]
"#;
    let e = engine(doc);
    assert_eq!(decision(&e, &get("/")), Decision::Block);
    assert_eq!(
        decision(
            &e,
            &Request {
                source_address: Some("10.1.9.1:1"),
                ..get("/")
            }
        ),
        Decision::Allow
    );
    assert_eq!(
        decision(
            &e,
            &Request {
                source_address: Some("10.2.0.1:1"),
                ..get("/")
            }
        ),
        Decision::Allow
    );
    let xff = vec![("x-forwarded-for".to_string(), "198.51.100.1, 203.0.113.7".to_string())];
    let r = Request {
        source_address: Some("10.2.0.1:1"),
        headers: &xff,
        ..get("/")
    };
    let d = e.decide(&r);
    assert_eq!(d.decision, Decision::Block);
    assert_eq!(d.facts.remote_ip, "203.0.113.7".parse().ok());
    // With zero trusted hops XFF is ignored: the peer is the client.
    let e = engine(&doc.replace("trusted_proxy_hops: 1", "trusted_proxy_hops: 0"));
    assert_eq!(decision(&e, &r), Decision::Allow);
}

#[test]
fn hosts_are_case_insensitive_and_port_aware() {
    let e = engine(
        "mode: enforce\npolicies: [{name: h, action: ALLOW, rules: [{to: [{hosts: ['api.example.com', '*.example.org', 'static.example.com:8443']}]}]}]",
    );
    let at = |authority: &'static str| Request { authority, ..get("/") };
    assert_eq!(decision(&e, &at("API.Example.com")), Decision::Allow);
    assert_eq!(decision(&e, &at("api.example.com.:9000")), Decision::Allow);
    assert_eq!(decision(&e, &at("x.y.EXAMPLE.org")), Decision::Allow);
    assert_eq!(decision(&e, &at("example.org")), Decision::Block);
    assert_eq!(decision(&e, &at("static.example.com:8443")), Decision::Allow);
    assert_eq!(decision(&e, &at("static.example.com:443")), Decision::Block);
    // No port in the authority: the destination port decides.
    let r = Request {
        authority: "static.example.com",
        destination_address: Some("10.0.0.9:8443"),
        ..get("/")
    };
    assert_eq!(decision(&e, &r), Decision::Allow);
    assert_eq!(decision(&e, &at("static.example.com")), Decision::Block);
    // A malformed authority is refused like a bad path.
    let d = e.decide(&at("a@api.example.com"));
    assert_eq!((d.decision, d.status), (Decision::Refused, Some(400)));
}

#[test]
fn ports_methods_and_not_forms() {
    let e = engine(
        "mode: enforce\npolicies: [{name: p, action: DENY, rules: [{to: [{ports: [8080], notMethods: [GET, head]}]}]}]",
    );
    let r = |method, dst| Request {
        method,
        destination_address: Some(dst),
        ..get("/")
    };
    assert_eq!(decision(&e, &r("POST", "10.0.0.1:8080")), Decision::Block);
    assert_eq!(decision(&e, &r("get", "10.0.0.1:8080")), Decision::Allow);
    assert_eq!(decision(&e, &r("HEAD", "10.0.0.1:8080")), Decision::Allow);
    assert_eq!(decision(&e, &r("POST", "10.0.0.1:9090")), Decision::Allow);
}

#[test]
fn path_forms() {
    let e = engine(
        // Pattern semantics on the canonical path only: a `common` backend would also read
        // `/tmpl/x.png` as `/tmpl/x` (Spring's suffix patterns), see `ambiguity.rs`.
        r#"
mode: enforce
normalization: { backend: strict }
policies:
  - name: paths
    action: DENY
    rules:
      - to: [{ paths: ["/exact", "/pre/*", "*.php", "/users/{*}/keys", "/files/{**}"] }]
      - to: [{ pathRegex: ["^/v[0-9]+/orders/[0-9]+$"] }]
      - to: [{ paths: ["/tmpl/*"], notPaths: ["/tmpl/ok/*"], notPathRegex: ["\\.png$"] }]
"#,
    );
    for (p, want) in [
        ("/exact", Decision::Block),
        ("/exact/", Decision::Allow),
        ("/pre/a/b", Decision::Block),
        ("/pre", Decision::Allow),
        ("/x/index.php", Decision::Block),
        ("/users/alice/keys", Decision::Block),
        ("/users/a/b/keys", Decision::Allow),
        ("/files/", Decision::Block),
        ("/files/a/b/c", Decision::Block),
        ("/files", Decision::Allow),
        ("/v2/orders/17", Decision::Block),
        ("/v2/orders/17/x", Decision::Allow),
        ("/tmpl/x", Decision::Block),
        ("/tmpl/ok/x", Decision::Allow),
        ("/tmpl/x.png", Decision::Allow),
        ("/users/../exact", Decision::Block),
    ] {
        assert_eq!(decision(&e, &get(p)), want, "{p}");
    }
}

fn with_headers<'a>(path: &'a str, h: &'a [(String, String)]) -> Request<'a> {
    Request {
        headers: h,
        ..get(path)
    }
}

fn hdrs(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect()
}

#[test]
fn header_matchers_value_by_value() {
    let e = engine(
        r#"
mode: enforce
policies:
  - name: h
    action: DENY
    rules:
      - to: [{ headers: { x-a: { exact: bad } } }]
      - to: [{ headers: { x-b: { prefix: "evil" } } }]
      - to: [{ headers: { x-c: { suffix: ".exe" } } }]
      - to: [{ headers: { x-d: { contains: "drop" } } }]
      - to: [{ headers: { x-e: { regex: "^[0-9]+$" } } }]
      - to: [{ headers: { x-f: { present: true } } }]
      - to: [{ paths: ["/needs-g"], headers: { x-g: { present: false } } }]
      - to: [{ paths: ["/not-h"], notHeaders: { x-h: { exact: ok } } }]
"#,
    );
    type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], Decision);
    let cases: &[Case] = &[
        ("/", &[("x-a", "good"), ("x-a", "bad")], Decision::Block),
        ("/", &[("x-a", "good,bad")], Decision::Allow),
        ("/", &[("x-b", "evilcorp")], Decision::Block),
        ("/", &[("x-c", "a.exe")], Decision::Block),
        ("/", &[("x-d", "a drop b")], Decision::Block),
        ("/", &[("x-e", "x"), ("x-e", "123")], Decision::Block),
        ("/", &[("x-f", "")], Decision::Block),
        ("/needs-g", &[], Decision::Block),
        ("/needs-g", &[("x-g", "1")], Decision::Allow),
        ("/not-h", &[("x-h", "ok")], Decision::Allow),
        ("/not-h", &[], Decision::Block),
        // DENY: one value that is not "ok" is enough for notHeaders.
        ("/not-h", &[("x-h", "ok"), ("x-h", "other")], Decision::Block),
    ];
    for (path, h, want) in cases {
        let h = hdrs(h);
        assert_eq!(decision(&e, &with_headers(path, &h)), *want, "{path} {h:?}");
    }
}

#[test]
fn allow_header_matchers_need_every_value() {
    let e = engine(
        "mode: enforce\npolicies: [{name: a, action: ALLOW, rules: [{to: [{headers: {x-env: {exact: prod}}}]}]}]",
    );
    let ok = hdrs(&[("x-env", "prod"), ("x-env", "prod")]);
    let mixed = hdrs(&[("x-env", "prod"), ("x-env", "dev")]);
    assert_eq!(decision(&e, &with_headers("/", &ok)), Decision::Allow);
    assert_eq!(decision(&e, &with_headers("/", &mixed)), Decision::Block);
}

#[test]
fn when_conditions() {
    let e = engine(
        r#"
mode: enforce
policies:
  - name: w
    action: DENY
    rules:
      - when:
          - { key: "request.headers[x-tenant]", values: ["beta-*"] }
          - { key: source.ip, notValues: [10.9.0.0/16] }
      - when: [{ key: xds.route_name, values: [admin-route] }]
      - when: [{ key: connection.mtls, values: ["false"] }, { key: request.path, values: ["/secure/*"] }]
      - when: [{ key: source.namespace, values: [jobs] }]
"#,
    );
    let t = hdrs(&[("x-tenant", "beta-1")]);
    assert_eq!(decision(&e, &with_headers("/", &t)), Decision::Block);
    let r = Request {
        source_address: Some("10.9.1.1:3"),
        ..with_headers("/", &t)
    };
    assert_eq!(decision(&e, &r), Decision::Allow);
    assert_eq!(
        decision(
            &e,
            &Request {
                route_name: Some("admin-route"),
                ..get("/")
            }
        ),
        Decision::Block
    );
    assert_eq!(decision(&e, &get("/secure/x")), Decision::Block);
    assert_eq!(decision(&e, &mtls("/secure/x", FRONTEND)), Decision::Allow);
    assert_eq!(decision(&e, &mtls("/", BATCH)), Decision::Block);
    assert_eq!(decision(&e, &get("/")), Decision::Allow);
}

#[test]
fn egress_internet_allow_list() {
    let e = engine(
        r#"
mode: enforce
direction: egress
mesh: { cidrs: [10.0.0.0/8], domains: [.svc.cluster.local] }
policies:
  - name: internet-allow-list
    action: DENY
    rules:
      - to: [{ direction: egress, internet: true, notHosts: ["api.github.com", "*.stripe.com:443"] }]
"#,
    );
    let out = |authority: &'static str, dst: &'static str| Request {
        authority,
        destination_address: Some(dst),
        ..get("/")
    };
    assert_eq!(
        decision(&e, &out("orders.shop.svc.cluster.local", "10.0.3.4:80")),
        Decision::Allow
    );
    assert_eq!(decision(&e, &out("orders", "10.0.3.4:80")), Decision::Allow);
    let d = e.decide(&out("evil.example.net", "93.184.216.34:80"));
    assert_eq!(d.decision, Decision::Block);
    assert_eq!(d.facts.internet, Some(true));
    assert_eq!(
        decision(&e, &out("api.github.com", "140.82.112.5:443")),
        Decision::Allow
    );
    assert_eq!(decision(&e, &out("pay.stripe.com:443", "1.2.3.4:443")), Decision::Allow);
    assert_eq!(decision(&e, &out("pay.stripe.com:80", "1.2.3.4:80")), Decision::Block);
    // A mesh name pointing outside the mesh CIDRs is the Internet.
    assert_eq!(
        decision(&e, &out("orders.shop.svc.cluster.local", "8.8.8.8:80")),
        Decision::Block
    );
    // SNI names the destination for TLS.
    let r = Request {
        sni: Some("evil.example.net"),
        ..out("orders.shop.svc.cluster.local", "10.0.0.1:443")
    };
    assert_eq!(decision(&e, &r), Decision::Block);
    // The listener direction from Envoy overrides the document's.
    let r = Request {
        direction: Some(meshward_policy::Direction::Ingress),
        ..out("evil.example.net", "93.184.216.34:80")
    };
    assert_eq!(decision(&e, &r), Decision::Allow);
}

#[test]
fn sni_matchers() {
    let e = engine("mode: enforce\npolicies: [{name: s, action: ALLOW, rules: [{to: [{sni: ['*.example.com'], notSni: ['bad.example.com']}]}]}]");
    let r = |sni| Request {
        sni: Some(sni),
        ..get("/")
    };
    assert_eq!(decision(&e, &r("A.example.com")), Decision::Allow);
    assert_eq!(decision(&e, &r("bad.example.com")), Decision::Block);
    assert_eq!(decision(&e, &get("/")), Decision::Block);
}

#[test]
fn event_names_identity_and_normalized_path() {
    let e =
        engine("mode: enforce\npolicies: [{name: deny-admin, action: DENY, rules: [{to: [{paths: ['/admin/*']}]}]}]");
    let r = Request {
        method: "post",
        destination_address: Some("10.0.0.9:8080"),
        ..mtls("/x/../admin/%61", FRONTEND)
    };
    let d = e.decide(&r);
    let line = d.event_line();
    let json = line.strip_prefix(meshward_policy::EVENT_PREFIX).unwrap();
    let ev: serde_json::Value = serde_json::from_str(json).unwrap();
    assert_eq!(ev["v"], 1);
    assert_eq!(ev["policy"], "deny-admin");
    assert_eq!(ev["rule"], 0);
    assert_eq!(ev["action"], "DENY");
    assert_eq!(ev["mode"], "enforce");
    assert_eq!(ev["decision"], "block");
    assert_eq!(ev["enforced"], true);
    assert_eq!(ev["principal"], FRONTEND);
    assert_eq!(ev["namespace"], "web");
    assert_eq!(ev["source"], "10.1.2.3:5555");
    assert_eq!(ev["destination"], "10.0.0.9:8080");
    assert_eq!(ev["host"], "app.example.com");
    assert_eq!(ev["method"], "POST");
    assert_eq!(ev["path_normalized"], "/admin/a");
    assert!(!line.contains('\n'));
}

fn error(doc: &str) -> PolicyError {
    match Engine::from_text(doc) {
        Ok(_) => panic!("accepted: {doc}"),
        Err(e) => e,
    }
}

#[test]
fn invalid_documents_name_policy_rule_field_and_line() {
    let doc = "mode: enforce\npolicies:\n  - name: ok\n    action: DENY\n  - name: broken\n    action: DENY\n    rules:\n      - {}\n      - to: [{ paths: ['/a/{**}/b'] }]\n";
    let e = error(doc);
    let msg = e.to_string();
    assert!(
        msg.contains("policy `broken`") && msg.contains("rule 1") && msg.contains("to[0].paths[0]"),
        "{msg}"
    );
    assert_eq!(e.line(), Some(5), "{msg}");
    let e = error("policies:\n  - name: x\n    action: DENY\n    rules: [{to: [{notPath: ['/a']}]}]\n");
    assert_eq!(e.line(), Some(4), "{e}");
    assert!(e.to_string().contains("notPath"), "{e}");
    for (doc, needle) in [
        ("mode: maybe", "mode"),
        ("policies: [{name: a, action: PERMIT}]", "PERMIT"),
        ("policies: [{name: 'a b', action: DENY}]", "name"),
        (
            "policies: [{name: a, action: DENY}, {name: a, action: ALLOW}]",
            "duplicate",
        ),
        (
            "policies: [{name: a, action: DENY, rules: [{from: [{ipBlocks: [10.0.0.0/40]}]}]}]",
            "ipBlocks[0]",
        ),
        (
            "policies: [{name: a, action: DENY, rules: [{from: [{principals: []}]}]}]",
            "empty list",
        ),
        (
            "policies: [{name: a, action: DENY, rules: [{from: [{}]}]}]",
            "empty source",
        ),
        (
            "policies: [{name: a, action: DENY, rules: [{to: [{pathRegex: ['(']}]}]}]",
            "invalid regex",
        ),
        (
            "policies: [{name: a, action: DENY, rules: [{to: [{ports: [70000]}]}]}]",
            "ports[0]",
        ),
        (
            "policies: [{name: a, action: DENY, rules: [{to: [{headers: {x: {exact: a, prefix: b}}}]}]}]",
            "exactly one",
        ),
        (
            "policies: [{name: a, action: DENY, rules: [{to: [{internet: true}]}]}]",
            "mesh",
        ),
        (
            "policies: [{name: a, action: DENY, rules: [{when: [{key: request.auth.claims, values: [x]}]}]}]",
            "unknown key",
        ),
        (
            "policies: [{name: a, action: DENY, rules: [{when: [{key: source.ip}]}]}]",
            "values",
        ),
        (
            "policies: [{name: a, action: DENY, rules: [{from: [{serviceAccounts: [frontend]}]}]}]",
            "namespace",
        ),
        (
            "policies: [{name: a, action: DENY, rules: [{to: [{paths: ['/a*b']}]}]}]",
            "first or last",
        ),
        ("mesh: {cidrs: [nope]}", "mesh.cidrs[0]"),
        ("normalization: {encoded_slash: maybe}", "encoded_slash"),
        ("[1, 2", "line"),
    ] {
        let msg = error(doc).to_string();
        assert!(msg.contains(needle), "{doc}: {msg}");
    }
}

#[test]
fn json_documents_are_accepted() {
    let e =
        engine(r#"{"mode":"enforce","policies":[{"name":"d","action":"DENY","rules":[{"to":[{"paths":["/x"]}]}]}]}"#);
    assert_eq!(decision(&e, &get("/x")), Decision::Block);
}

#[test]
fn many_rules_use_the_indexes_and_stay_correct() {
    let mut doc = String::from("mode: enforce\npolicies:\n");
    for i in 0..300 {
        doc.push_str(&format!(
            "  - name: p{i}\n    action: DENY\n    rules:\n      - to: [{{ hosts: ['svc{i}.example.com'], paths: ['/v{i}/*'], methods: [POST] }}]\n"
        ));
    }
    let e = engine(&doc);
    assert_eq!(e.clause_count(), 300);
    let r = Request {
        method: "POST",
        authority: "svc123.example.com",
        ..get("/v123/x")
    };
    let d = e.decide(&r);
    assert_eq!(d.decision, Decision::Block);
    assert_eq!(d.decided_by.unwrap().policy, "p123");
    let r = Request {
        method: "POST",
        authority: "svc123.example.com",
        ..get("/v124/x")
    };
    assert_eq!(decision(&e, &r), Decision::Allow);
}

#[test]
fn deprecated_mode_words_are_read_as_detect_and_reported_where_found() {
    let doc = "mode: dryrun\npolicies:\n  - name: beta\n    action: DENY\n    mode: dry-run\n    rules: [{to: [{paths: ['/beta']}]}]\n  - name: now\n    action: DENY\n    mode: enforce\n    rules: [{to: [{paths: ['/now']}]}]\n";
    let e = engine(doc);
    assert_eq!(e.mode(), Mode::Detect);
    let d = e.decide(&get("/beta"));
    assert_eq!((d.decision, d.status), (Decision::WouldBlock, None));
    assert_eq!(d.decided_by.unwrap().mode, Mode::Detect);
    assert_eq!(decision(&e, &get("/now")), Decision::Block);
    let warnings: Vec<String> = e.deprecations().iter().map(|w| w.to_string()).collect();
    assert_eq!(
        warnings,
        [
            "line 1, field `mode`: \"dryrun\" is deprecated and read as \"detect\"; write \"detect\"",
            "line 3, policy `beta`, field `mode`: \"dry-run\" is deprecated and read as \"detect\"; write \"detect\"",
        ]
    );
    // JSON: the alias is read the same way; the document keeps no line for its own `mode`.
    let e = engine(r#"{"mode":"dry_run","policies":[]}"#);
    assert_eq!(e.mode(), Mode::Detect);
    let warnings: Vec<String> = e.deprecations().iter().map(|w| w.to_string()).collect();
    assert_eq!(
        warnings,
        ["field `mode`: \"dry_run\" is deprecated and read as \"detect\"; write \"detect\""]
    );
    // A parsed document writes the current word back.
    let parsed = meshward_policy::parse_document(doc).unwrap();
    let yaml = serde_yaml_ng::to_string(&parsed).unwrap();
    assert!(yaml.starts_with("mode: detect\n"), "{yaml}");
    assert!(yaml.contains("  mode: detect\n") && !yaml.contains("dry"), "{yaml}");
    // The current words raise nothing; an unknown word is an error naming the current words.
    assert!(engine("mode: detect").deprecations().is_empty());
    let err = Engine::from_text("mode: dry").unwrap_err().to_string();
    assert!(
        err.contains("unknown variant `dry`, expected `detect` or `enforce`"),
        "{err}"
    );
}

/// Found by the policy_document fuzz target: a JSON document (as Istio's WasmPlugin hands it
/// over) whose string holds a raw U+2028 followed by a space was read by the YAML 1.1 parser,
/// which folds the line separator and the space after it, so the rule was not the one written.
#[test]
fn json_documents_are_read_as_json_and_yaml_flow_mappings_still_parse() {
    let regex = "^/a\u{2028} b$";
    let json = serde_json::json!({
        "policies": [{ "name": "p", "action": "DENY", "rules": [{ "to": [{ "pathRegex": [regex] }] }] }]
    })
    .to_string();
    assert!(json.contains('\u{2028}'), "serde_json writes U+2028 raw: {json}");
    let doc = meshward_policy::parse_document(&json).unwrap();
    let again = meshward_policy::parse_document(&serde_json::to_string(&doc).unwrap()).unwrap();
    assert_eq!(doc, again);
    let written = serde_json::to_value(&doc).unwrap();
    assert_eq!(written["policies"][0]["rules"][0]["to"][0]["pathRegex"][0], regex);
    // A YAML flow mapping is not JSON and stays YAML.
    let flow = meshward_policy::parse_document("{mode: enforce}").unwrap();
    assert_eq!(serde_json::to_value(&flow).unwrap()["mode"], "enforce");
    // JSON with a wrong field is refused with its line.
    let err = meshward_policy::parse_document("{\n\"mode\": \"enforce\",\n\"bogus\": 1}").unwrap_err();
    assert!(
        err.to_string().contains("line 3") || err.to_string().contains("bogus"),
        "{err}"
    );
}
