//! The policy filter after Envoy's own `jwt_authn` filter, as Istio's RequestAuthentication
//! configures it (`payload_in_metadata: payload`), with an inline JWKS and tokens signed here
//! (keys in `tests/data/jwt/`). The filter reads the claims only from the payload `jwt_authn`
//! verified: a forged token that `jwt_authn` lets through unverified carries no identity.

mod common;

use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use meshward_envoy::{Envoy, EnvoyConfig, Request, Upstream, WasmFilter};
use serde_json::{json, Value};

const ISSUER: &str = "https://issuer.meshward.test";
const JWKS: &str = include_str!("data/jwt/jwks.json");
const SIGNING_KEY: &[u8] = include_bytes!("data/jwt/signing.pem");
const FORGER_KEY: &[u8] = include_bytes!("data/jwt/forger.pem");

/// Envoy's `jwt_authn` with one provider. A missing or failed token passes on (without
/// metadata) so that the policy filter, not `jwt_authn`, has to refuse it.
fn jwt_authn() -> Value {
    json!({
        "name": "envoy.filters.http.jwt_authn",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication",
            "providers": {
                "test": {
                    "issuer": ISSUER,
                    "local_jwks": { "inline_string": JWKS },
                    "payload_in_metadata": meshward_policy::jwt::PAYLOAD_KEY,
                    "normalize_payload_in_metadata": { "space_delimited_claims": ["scope"] },
                    "forward": true
                }
            },
            "rules": [{ "match": { "prefix": "/" }, "requires": { "allow_missing_or_failed": {} } }]
        }
    })
}

/// Envoy with `jwt_authn`, then `filter`, in front of a fresh upstream.
fn behind_jwt_authn(filter: WasmFilter, log_level: &str) -> (Upstream, Envoy) {
    let upstream = Upstream::start().unwrap();
    let config = EnvoyConfig::new(upstream.addr())
        .native_filter(jwt_authn())
        .filter(filter)
        .log_level(log_level);
    let envoy = Envoy::start(&config).unwrap();
    (upstream, envoy)
}

/// A token for `sub` with `claims` added, signed with `key` (PKCS#8 PEM).
fn token(key: &[u8], sub: &str, claims: Value) -> String {
    let mut body = json!({ "iss": ISSUER, "sub": sub, "exp": 4_102_444_800u64 });
    if let (Some(b), Value::Object(extra)) = (body.as_object_mut(), claims) {
        b.extend(extra);
    }
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some("meshward-test".into());
    let key = EncodingKey::from_ec_pem(key).unwrap();
    encode(&header, &body, &key).unwrap()
}

fn get(path: &str, token: Option<&str>) -> Request {
    let r = Request::get(path);
    match token {
        Some(t) => r.header("authorization", &format!("Bearer {t}")),
        None => r,
    }
}

#[test]
fn envoy_hands_the_verified_payload_in_the_pair_encoding() {
    let script = json!({
        "on_http_request_headers": { "calls": [
            { "call": "get_property", "path": meshward_policy::jwt::PAYLOAD_PROPERTY, "label": "payload" }
        ]}
    });
    let (_upstream, envoy) = behind_jwt_authn(common::probe(&script), "info");
    let t = token(
        SIGNING_KEY,
        "alice",
        json!({ "scope": "read write", "org": { "team": "payments" } }),
    );
    assert_eq!(envoy.send(&get("/", Some(&t))).unwrap().status, 200);
    assert_eq!(envoy.send(&get("/", None)).unwrap().status, 200);
    let lines = envoy.probe_lines();
    let values: Vec<(Option<String>, Option<Value>)> = lines
        .iter()
        .filter(|l| l.label.as_ref().and_then(Value::as_str) == Some("payload"))
        .map(|l| (l.status.clone(), l.value.clone()))
        .collect();
    assert_eq!(values.len(), 2, "{values:?}");
    let hex = values[0].1.as_ref().and_then(|v| v["hex"].as_str()).unwrap_or_else(|| {
        panic!("the payload is binary (pair-encoded): {values:?}");
    });
    let bytes: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect();
    // Envoy 1.40 writes a map as the ABI's pairs (the recorded bytes are a unit test of the decoder).
    assert!(meshward_abi_pairs_count(&bytes) == Some(5), "{hex}");
    let claims = meshward_policy::jwt::decode_payload(&bytes).expect("a pair-encoded map");
    assert_eq!(claims["sub"], "alice");
    assert_eq!(claims["iss"], ISSUER);
    assert_eq!(
        claims["scope"],
        json!(["read", "write"]),
        "space-delimited claims arrive as lists"
    );
    assert_eq!(claims["org"]["team"], "payments");
    assert_ne!(
        values[1].0.as_deref(),
        Some("ok"),
        "no token, no payload: {:?}",
        values[1]
    );
}

/// The pair count at the head of a pair-encoded map.
fn meshward_abi_pairs_count(bytes: &[u8]) -> Option<u32> {
    Some(u32::from_le_bytes(bytes.get(..4)?.try_into().ok()?))
}

/// Only tokens of this issuer whose `org.team` is `payments` and `scope` has `write` may POST.
fn policy(mode: &str) -> String {
    json!({
        "mode": mode,
        "policies": [{
            "name": "payments-writers",
            "action": "ALLOW",
            "rules": [{
                "from": [{ "requestPrincipals": [format!("{ISSUER}/*")] }],
                "when": [
                    { "key": "request.auth.claims[org][team]", "values": ["payments"] },
                    { "key": "request.auth.claims[scope]", "values": ["write"] }
                ]
            }]
        }]
    })
    .to_string()
}

fn netpolicy(mode: &str) -> WasmFilter {
    WasmFilter::new(common::wasm("meshward-netpolicy"), policy(mode))
}

#[test]
fn enforce_allows_the_right_claims_only_from_a_verified_token() {
    // Allow events are logged at debug.
    let (upstream, envoy) = behind_jwt_authn(netpolicy("enforce"), "debug");
    let claims = json!({ "scope": "read write", "org": { "team": "payments" } });
    let good = token(SIGNING_KEY, "alice", claims.clone());
    let wrong_team = token(
        SIGNING_KEY,
        "bob",
        json!({ "scope": "write", "org": { "team": "billing" } }),
    );
    let read_only = token(
        SIGNING_KEY,
        "carol",
        json!({ "scope": "read", "org": { "team": "payments" } }),
    );
    let forged = token(FORGER_KEY, "mallory", claims);
    let cases = [
        ("/good", Some(good.as_str()), 200),
        ("/wrong-team", Some(wrong_team.as_str()), 403),
        ("/read-only", Some(read_only.as_str()), 403),
        ("/no-token", None, 403),
        ("/forged", Some(forged.as_str()), 403),
    ];
    for (path, t, want) in cases {
        let r = envoy.send(&get(path, t)).unwrap();
        assert_eq!(r.status, want, "{path}: {}", r.text());
    }
    let seen: Vec<String> = upstream.requests().iter().map(|r| r.target.clone()).collect();
    assert_eq!(seen, ["/good"]);
    let events: Vec<Value> = envoy
        .wasm_logs()
        .iter()
        .filter_map(|l| l.message.strip_prefix(meshward_policy::EVENT_PREFIX))
        .map(|j| serde_json::from_str(j).unwrap())
        .collect();
    let principal_of = |path: &str| {
        events
            .iter()
            .find(|e| e["path_normalized"] == path)
            .map(|e| e["request_principal"].clone())
    };
    assert_eq!(principal_of("/good"), Some(json!(format!("{ISSUER}/alice"))));
    assert_eq!(principal_of("/wrong-team"), Some(json!(format!("{ISSUER}/bob"))));
    assert_eq!(
        principal_of("/forged"),
        Some(Value::Null),
        "a forged token is no identity"
    );
}

#[test]
fn detect_records_would_block_and_passes_everything() {
    let (_upstream, envoy) = behind_jwt_authn(netpolicy("detect"), "info");
    let forged = token(
        FORGER_KEY,
        "mallory",
        json!({ "scope": "write", "org": { "team": "payments" } }),
    );
    assert_eq!(envoy.send(&get("/forged", Some(&forged))).unwrap().status, 200);
    assert_eq!(envoy.stat("wasmcustom.meshward_policy.would_block").unwrap(), Some(1));
}
