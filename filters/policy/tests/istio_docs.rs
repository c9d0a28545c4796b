//! Istio's documented AuthorizationPolicy examples, imported and decided as Istio decides them.

use meshward_policy::istio::import;
use meshward_policy::model::Action;
use meshward_policy::{Engine, PolicyDocument, Request};
use meshward_vocab::{Decision, WrittenMode};
use serde_json::{json, Map, Value};

const DOCS: &str = include_str!("data/istio-docs.yaml");

fn claims(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        other => panic!("claims are an object: {other}"),
    }
}

/// The policies of `doc` named `names`, enforced.
fn enforced(doc: &PolicyDocument, names: &[&str]) -> Engine {
    let mut d = doc.clone();
    d.policies.retain(|p| names.contains(&p.name.as_str()));
    assert_eq!(d.policies.len(), names.len(), "{names:?}");
    d.mode = WrittenMode::from(meshward_vocab::Mode::Enforce);
    Engine::compile(&d).unwrap()
}

fn decide(e: &Engine, method: &str, path: &str, peer: Option<&str>, jwt: Option<&Map<String, Value>>) -> Decision {
    e.decide(&Request {
        method,
        path,
        authority: "httpbin.foo",
        mtls: peer.is_some(),
        peer_uri_san: peer,
        jwt_payload: jwt,
        ..Request::default()
    })
    .decision
}

const SLEEP: &str = "spiffe://cluster.local/ns/default/sa/sleep";
const TEST_NS: &str = "spiffe://cluster.local/ns/test/sa/any";
const OTHER: &str = "spiffe://cluster.local/ns/other/sa/any";

#[test]
fn every_documented_example_imports_without_a_warning_about_rules() {
    let out = import(DOCS).unwrap();
    let names: Vec<&str> = out.document.policies.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "foo.httpbin",
            "foo.httpbin-deny",
            "foo.require-jwt",
            "foo.waypoint-gets"
        ]
    );
    for p in &out.document.policies {
        assert_eq!(p.rules.len(), 1, "{}: no rule dropped", p.name);
    }
    let rule_warnings: Vec<String> = out
        .warnings
        .iter()
        .filter(|w| w.field.starts_with("spec.rules"))
        .map(|w| w.to_string())
        .collect();
    assert!(rule_warnings.is_empty(), "{rule_warnings:?}");
}

#[test]
fn canonical_allow_needs_identity_operation_and_issuer() {
    let out = import(DOCS).unwrap();
    let e = enforced(&out.document, &["foo.httpbin"]);
    let google = claims(json!({"iss": "https://accounts.google.com", "sub": "u1"}));
    let other_iss = claims(json!({"iss": "https://evil.example", "sub": "u1"}));
    assert_eq!(
        decide(&e, "GET", "/info/x", Some(SLEEP), Some(&google)),
        Decision::Allow
    );
    assert_eq!(
        decide(&e, "POST", "/data", Some(TEST_NS), Some(&google)),
        Decision::Allow
    );
    assert_eq!(
        decide(&e, "GET", "/info", Some(OTHER), Some(&google)),
        Decision::Block,
        "wrong peer"
    );
    assert_eq!(
        decide(&e, "POST", "/info", Some(SLEEP), Some(&google)),
        Decision::Block,
        "wrong method"
    );
    assert_eq!(
        decide(&e, "GET", "/data", Some(SLEEP), Some(&google)),
        Decision::Block,
        "GET /data"
    );
    assert_eq!(
        decide(&e, "GET", "/info", Some(SLEEP), Some(&other_iss)),
        Decision::Block,
        "wrong iss"
    );
    assert_eq!(
        decide(&e, "GET", "/info", Some(SLEEP), None),
        Decision::Block,
        "no verified token"
    );
}

#[test]
fn not_request_principals_denies_requests_without_a_verified_token() {
    let out = import(DOCS).unwrap();
    let e = enforced(&out.document, &["foo.httpbin-deny"]);
    let any = claims(json!({"iss": "i", "sub": "s"}));
    assert_eq!(decide(&e, "GET", "/", None, None), Decision::Block);
    assert_eq!(decide(&e, "GET", "/", None, Some(&any)), Decision::Allow);
    let no_sub = claims(json!({"iss": "i"}));
    assert_eq!(
        decide(&e, "GET", "/", None, Some(&no_sub)),
        Decision::Block,
        "`*` needs iss and sub"
    );
}

#[test]
fn request_principal_and_list_claim() {
    let out = import(DOCS).unwrap();
    let e = enforced(&out.document, &["foo.require-jwt"]);
    let token = |groups: Value| {
        claims(json!({"iss": "testing@secure.istio.io", "sub": "testing@secure.istio.io", "groups": groups}))
    };
    assert_eq!(
        decide(&e, "GET", "/headers", None, Some(&token(json!(["group1", "group2"])))),
        Decision::Allow
    );
    assert_eq!(
        decide(&e, "GET", "/headers", None, Some(&token(json!("group1")))),
        Decision::Allow
    );
    assert_eq!(
        decide(&e, "GET", "/headers", None, Some(&token(json!(["group2"])))),
        Decision::Block
    );
    let other = claims(json!({"iss": "testing@secure.istio.io", "sub": "someone", "groups": ["group1"]}));
    assert_eq!(decide(&e, "GET", "/headers", None, Some(&other)), Decision::Block);
    assert_eq!(decide(&e, "GET", "/headers", None, None), Decision::Block);
}

#[test]
fn selectors_and_target_refs_get_their_own_wasm_plugin() {
    let out = import(DOCS).unwrap();
    let plugins: Vec<Value> = out
        .carriers
        .iter()
        .map(|c| c.wasm_plugin("oci://registry.example/meshward/netpolicy:0.1.0"))
        .collect();
    let summary: Vec<(String, Value, Value, Vec<String>)> = plugins
        .iter()
        .map(|p| {
            let names = p["spec"]["pluginConfig"]["policies"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x["name"].as_str().unwrap().to_string())
                .collect();
            (
                p["metadata"]["name"].as_str().unwrap().to_string(),
                p["spec"]["selector"].clone(),
                p["spec"]["targetRefs"].clone(),
                names,
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (
                "meshward-authz".into(),
                Value::Null,
                Value::Null,
                vec!["foo.httpbin".into()]
            ),
            (
                "meshward-authz-httpbin-deny".into(),
                json!({"matchLabels": {"app": "httpbin", "version": "v1"}}),
                Value::Null,
                vec!["foo.httpbin-deny".into()]
            ),
            (
                "meshward-authz-require-jwt".into(),
                json!({"matchLabels": {"app": "httpbin"}}),
                Value::Null,
                vec!["foo.require-jwt".into()]
            ),
            (
                "meshward-authz-waypoint-gets".into(),
                Value::Null,
                json!([{"kind": "Gateway", "group": "gateway.networking.k8s.io", "name": "waypoint"}]),
                vec!["foo.waypoint-gets".into()]
            ),
        ]
    );
    for p in &plugins {
        assert_eq!(p["metadata"]["namespace"], "foo");
        assert_eq!(p["spec"]["phase"], "AUTHZ");
        // The carried configuration is a valid policy document.
        Engine::from_text(&p["spec"]["pluginConfig"].to_string()).unwrap();
    }
    let spread = out.warnings.iter().find(|w| w.message.contains("several WasmPlugins"));
    assert!(
        spread.is_some(),
        "ALLOW policies in several carriers are reported: {:?}",
        out.warnings
    );
    assert!(out.document.policies.iter().all(|p| p.action != Action::Audit));
}
