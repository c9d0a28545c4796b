//! Policies on the verified JWT: request principals and `request.auth.*` conditions.

use meshward_policy::{Engine, Request};
use meshward_vocab::Decision;
use serde_json::{json, Map, Value};

fn claims(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        other => panic!("claims are an object: {other}"),
    }
}

fn decide(doc: &str, jwt: Option<&Map<String, Value>>) -> Decision {
    let e = Engine::from_text(doc).unwrap_or_else(|e| panic!("{e}\n{doc}"));
    e.decide(&Request {
        method: "GET",
        path: "/",
        authority: "a.example",
        jwt_payload: jwt,
        ..Request::default()
    })
    .decision
}

fn allow_when(key: &str, field: &str, values: &str) -> String {
    format!("mode: enforce\npolicies: [{{name: a, action: ALLOW, rules: [{{when: [{{key: '{key}', {field}: {values}}}]}}]}}]")
}

fn token() -> Map<String, Value> {
    claims(json!({
        "iss": "https://issuer.example",
        "sub": "alice",
        "aud": ["api", "web"],
        "azp": "frontend-client",
        "scope": ["read", "write"],
        "org": { "team": { "name": "payments" }, "tier": 2 },
        "a.b": "dotted"
    }))
}

#[test]
fn auth_keys_read_the_verified_payload() {
    let t = token();
    let cases = [
        ("request.auth.principal", "[https://issuer.example/alice]", true),
        ("request.auth.principal", "['https://issuer.example/*']", true),
        ("request.auth.principal", "[https://issuer.example/bob]", false),
        ("request.auth.audiences", "[web]", true),
        ("request.auth.audiences", "[mobile]", false),
        ("request.auth.presenter", "['frontend-*']", true),
        ("request.auth.presenter", "[backend-client]", false),
        ("request.auth.claims[scope]", "[write]", true),
        ("request.auth.claims[org][team][name]", "[payments]", true),
        ("request.auth.claims[org][team][name]", "[billing]", false),
        ("request.auth.claims[org][tier]", "['2']", false),
        ("request.auth.claims[org]", "['*']", false),
        ("request.auth.claims[a.b]", "[dotted]", true),
        ("request.auth.claims[missing]", "['*']", false),
    ];
    for (key, values, want) in cases {
        let allowed = decide(&allow_when(key, "values", values), Some(&t)) == Decision::Allow;
        assert_eq!(allowed, want, "{key} {values}");
        let not_allowed = decide(&allow_when(key, "notValues", values), Some(&t)) == Decision::Allow;
        assert_eq!(not_allowed, !want, "{key} notValues {values}");
    }
}

#[test]
fn without_a_verified_token_values_fail_and_not_values_hold() {
    for key in [
        "request.auth.principal",
        "request.auth.audiences",
        "request.auth.presenter",
        "request.auth.claims[iss]",
    ] {
        assert_eq!(
            decide(&allow_when(key, "values", "['*']"), None),
            Decision::Block,
            "{key}"
        );
        assert_eq!(
            decide(&allow_when(key, "notValues", "[x]"), None),
            Decision::Allow,
            "{key}"
        );
    }
}

#[test]
fn request_principals_in_from() {
    let doc = "mode: enforce\npolicies: [{name: a, action: ALLOW, rules: [{from: [{requestPrincipals: ['https://issuer.example/*']}]}]}]";
    assert_eq!(decide(doc, Some(&token())), Decision::Allow);
    assert_eq!(decide(doc, None), Decision::Block);
    let other = claims(json!({"iss": "https://other.example", "sub": "alice"}));
    assert_eq!(decide(doc, Some(&other)), Decision::Block);
    let deny = "mode: enforce\npolicies: [{name: d, action: DENY, rules: [{from: [{notRequestPrincipals: ['*']}]}]}]";
    assert_eq!(decide(deny, None), Decision::Block);
    assert_eq!(decide(deny, Some(&token())), Decision::Allow);
}

#[test]
fn the_engine_says_when_it_needs_the_token_and_the_event_names_it() {
    let plain = Engine::from_text("policies: [{name: a, action: DENY, rules: [{to: [{paths: ['/x']}]}]}]").unwrap();
    assert!(!plain.uses_jwt());
    let e = Engine::from_text(&allow_when("request.auth.claims[iss]", "values", "[x]")).unwrap();
    assert!(e.uses_jwt());
    let t = token();
    let r = e.decide(&Request {
        method: "GET",
        path: "/",
        authority: "a",
        jwt_payload: Some(&t),
        ..Request::default()
    });
    assert!(
        r.event_json()
            .contains(r#""request_principal":"https://issuer.example/alice""#),
        "{}",
        r.event_json()
    );
    let bad = "policies: [{name: a, action: ALLOW, rules: [{when: [{key: 'request.auth.claims[]', values: [x]}]}]}]";
    assert!(Engine::from_text(bad).is_err());
}
