//! The request's JWT identity as Istio defines it: read only from the payload that Envoy's
//! `jwt_authn` filter verified and stored in dynamic metadata, never from the request itself.
//!
//! Istio's RequestAuthentication configures `jwt_authn` with `payload_in_metadata: payload`, so
//! the verified claims are at `metadata.filter_metadata["envoy.filters.http.jwt_authn"].payload`.
//! A request without that metadata has no request identity: its `Authorization` header is never
//! parsed here.
//!
//! What the property holds (measured in Envoy 1.40 by `envoy/tests/policy_jwt.rs`): Envoy
//! serializes the CEL value without types. A map is the ABI's pair encoding (key, serialized
//! value); a list is the same with empty second halves; a string is its bytes; a number is an
//! 8-byte little-endian double; a boolean one byte. [`decode_payload`] reads the top level as a
//! map and each value by this rule, in this order:
//! 1. empty bytes: the empty string;
//! 2. a valid pair encoding whose second halves are all empty: a list, each element by this rule
//!    (a map whose values are all empty strings reads the same way);
//! 3. any other valid pair encoding: a map;
//! 4. UTF-8 without control characters: a string;
//! 5. anything else (numbers, booleans, strings with control characters): no value.
//!
//! A pair encoding starts with a little-endian count whose high byte is NUL, so no string of
//! rule 4 is ever a map or list. Policies only match strings, so numbers and booleans never match,
//! as in Istio. Envoy builds that serialize maps as a `google.protobuf.Struct` instead are read
//! too: when the top level is not a pair encoding it is decoded as one.

use meshward_abi::pairs;
use prost::Message;
use prost_types::value::Kind;
use serde_json::{Map, Number, Value};

use crate::pattern::StrPattern;

/// The dynamic-metadata namespace `jwt_authn` writes to.
pub const METADATA_NAMESPACE: &str = "envoy.filters.http.jwt_authn";
/// The key Istio sets as `payload_in_metadata` (plain Envoy configurations must use it too).
pub const PAYLOAD_KEY: &str = "payload";
/// The proxy-wasm property path of the verified payload.
pub const PAYLOAD_PROPERTY: [&str; 4] = ["metadata", "filter_metadata", METADATA_NAMESPACE, PAYLOAD_KEY];

/// Nesting deeper than this is not turned into claims (a bound for hostile metadata).
const MAX_DEPTH: usize = 32;

/// Decodes the bytes of the payload property into the claims (see the module's rule); `None`
/// when they are no map, which the caller treats as "no verified token".
pub fn decode_payload(bytes: &[u8]) -> Option<Map<String, Value>> {
    match pairs::decode(bytes) {
        Ok(entries) => entries
            .into_iter()
            .map(|(k, v)| Some((String::from_utf8(k).ok()?, cel_value(&v, 1))))
            .collect(),
        Err(_) => struct_to_json(prost_types::Struct::decode(bytes).ok()?, 0),
    }
}

/// One untyped CEL value from Envoy's property serializer, by the module's rule.
fn cel_value(bytes: &[u8], depth: usize) -> Value {
    if bytes.is_empty() {
        return Value::String(String::new());
    }
    if depth <= MAX_DEPTH {
        if let Ok(entries) = pairs::decode(bytes) {
            if entries.iter().all(|(_, v)| v.is_empty()) {
                return Value::Array(entries.iter().map(|(k, _)| cel_value(k, depth + 1)).collect());
            }
            return entries
                .into_iter()
                .map(|(k, v)| Some((String::from_utf8(k).ok()?, cel_value(&v, depth + 1))))
                .collect::<Option<Map<_, _>>>()
                .map_or(Value::Null, Value::Object);
        }
    }
    match std::str::from_utf8(bytes) {
        Ok(s) if !s.chars().any(char::is_control) => Value::String(s.to_string()),
        _ => Value::Null,
    }
}

fn struct_to_json(s: prost_types::Struct, depth: usize) -> Option<Map<String, Value>> {
    if depth > MAX_DEPTH {
        return None;
    }
    s.fields
        .into_iter()
        .map(|(k, v)| Some((k, value_to_json(v, depth + 1)?)))
        .collect()
}

fn value_to_json(v: prost_types::Value, depth: usize) -> Option<Value> {
    Some(match v.kind {
        None | Some(Kind::NullValue(_)) => Value::Null,
        Some(Kind::BoolValue(b)) => Value::Bool(b),
        Some(Kind::NumberValue(n)) => Number::from_f64(n).map_or(Value::Null, Value::Number),
        Some(Kind::StringValue(s)) => Value::String(s),
        Some(Kind::StructValue(s)) => Value::Object(struct_to_json(s, depth)?),
        Some(Kind::ListValue(l)) => {
            if depth > MAX_DEPTH {
                return None;
            }
            Value::Array(
                l.values
                    .into_iter()
                    .map(|v| value_to_json(v, depth + 1))
                    .collect::<Option<_>>()?,
            )
        }
    })
}

/// The strings a claim holds, as Istio's metadata matchers see them: a string claim is one
/// value, a list claim each of its string elements; numbers, booleans and objects are none.
pub fn claim_strings<'a>(payload: &'a Map<String, Value>, path: &[String]) -> Vec<&'a str> {
    let Some((first, rest)) = path.split_first() else {
        return Vec::new();
    };
    let mut v = payload.get(first);
    for key in rest {
        v = v.and_then(|x| x.get(key));
    }
    match v {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// A claim value pattern: Istio's string matcher, where `*` means any non-empty value.
pub fn claim_matches(p: &StrPattern, value: &str) -> bool {
    match p {
        StrPattern::Any => !value.is_empty(),
        _ => p.matches(value),
    }
}

/// The claim path of a `request.auth.claims[...]` key, split as Istio splits it: `[a][b]` is the
/// nested claim `b` of `a`; a name that is not a sequence of brackets is the text inside the outer
/// pair (`[a.b]` is the claim `a.b`). `None` when the key is not of that form.
pub fn parse_claim_key(key: &str) -> Option<Vec<String>> {
    let s = key.strip_prefix("request.auth.claims")?;
    let mut out = Vec::new();
    let mut rest = s;
    while !rest.is_empty() {
        let inner = rest.strip_prefix('[').and_then(|r| {
            let end = r.find(']')?;
            let name = r.get(..end)?;
            (!name.contains('[')).then_some((name, r.get(end + 1..)?))
        });
        match inner {
            Some((name, after)) => {
                out.push(name.to_string());
                rest = after;
            }
            None => {
                let whole = s.strip_prefix('[')?.strip_suffix(']')?;
                out = vec![whole.to_string()];
                break;
            }
        }
    }
    if out.is_empty() || out.iter().any(String::is_empty) {
        return None;
    }
    Some(out)
}

/// A `requestPrincipals` value, `<iss>/<sub>`, split at the last `/` as Istio does, each half
/// matched on its own claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrincipalPattern {
    /// Matcher of the `iss` claim.
    pub iss: StrPattern,
    /// Matcher of the `sub` claim.
    pub sub: StrPattern,
}

impl PrincipalPattern {
    /// Parses a value with Istio's wildcard rules: `*` is any issuer and subject; `*<x>` is a
    /// suffix of the issuer (with a `/`) or of the subject (without); `<x>*` a prefix of the
    /// subject (with a `/`) or of the issuer (without); anything else is exact.
    pub fn parse(value: &str) -> Result<PrincipalPattern, String> {
        if value.is_empty() {
            return Err("empty value".into());
        }
        let (iss, sub) = match value.rfind('/') {
            Some(i) => (value.get(..i).unwrap_or(""), Some(value.get(i + 1..).unwrap_or(""))),
            None => (value, None),
        };
        let exact = |s: &str| StrPattern::Exact(s.into());
        let (iss, sub) = if value == "*" {
            (StrPattern::Any, StrPattern::Any)
        } else if let Some(v) = value.strip_prefix('*') {
            match sub {
                Some(sub) if iss == "*" => (StrPattern::Any, exact(sub)),
                Some(sub) => (
                    StrPattern::Suffix(iss.strip_prefix('*').unwrap_or(iss).into()),
                    exact(sub),
                ),
                None => (StrPattern::Any, StrPattern::Suffix(v.into())),
            }
        } else if let Some(v) = value.strip_suffix('*') {
            match sub {
                Some("*") => (exact(iss), StrPattern::Any),
                Some(sub) => (
                    exact(iss),
                    StrPattern::Prefix(sub.strip_suffix('*').unwrap_or(sub).into()),
                ),
                None => (StrPattern::Prefix(v.into()), StrPattern::Any),
            }
        } else {
            (exact(iss), exact(sub.unwrap_or("")))
        };
        Ok(PrincipalPattern { iss, sub })
    }

    /// Whether the verified payload's `iss` and `sub` (strings) match.
    pub fn matches(&self, payload: &Map<String, Value>) -> bool {
        let claim = |k: &str| payload.get(k).and_then(Value::as_str);
        match (claim("iss"), claim("sub")) {
            (Some(iss), Some(sub)) => claim_matches(&self.iss, iss) && claim_matches(&self.sub, sub),
            _ => false,
        }
    }
}

/// `<iss>/<sub>` of a verified payload, for evidence; `None` unless both are strings.
pub fn request_principal(payload: &Map<String, Value>) -> Option<String> {
    let iss = payload.get("iss")?.as_str()?;
    let sub = payload.get("sub")?.as_str()?;
    Some(format!("{iss}/{sub}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn payload(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => unreachable!("test payloads are objects"),
        }
    }

    #[test]
    fn claim_keys_split_as_istio() {
        let k = |s: &str| parse_claim_key(s);
        assert_eq!(k("request.auth.claims[iss]"), Some(vec!["iss".to_string()]));
        assert_eq!(
            k("request.auth.claims[a][b]"),
            Some(vec!["a".to_string(), "b".to_string()])
        );
        assert_eq!(k("request.auth.claims[a.b]"), Some(vec!["a.b".to_string()]));
        assert_eq!(k("request.auth.claims[a[b]"), Some(vec!["a[b".to_string()]));
        assert_eq!(k("request.auth.claims[]"), None);
        assert_eq!(k("request.auth.claims"), None);
        assert_eq!(k("request.auth.claims.iss"), None);
        assert_eq!(k("request.headers[x]"), None);
    }

    #[test]
    fn claims_are_strings_or_lists_of_strings() {
        let p = payload(json!({
            "iss": "https://issuer.example",
            "groups": ["admin", 7, "dev"],
            "n": 3,
            "nested": { "role": "ops", "deep": { "x": ["y"] } }
        }));
        let path = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(claim_strings(&p, &path(&["iss"])), ["https://issuer.example"]);
        assert_eq!(claim_strings(&p, &path(&["groups"])), ["admin", "dev"]);
        assert!(claim_strings(&p, &path(&["n"])).is_empty());
        assert_eq!(claim_strings(&p, &path(&["nested", "role"])), ["ops"]);
        assert_eq!(claim_strings(&p, &path(&["nested", "deep", "x"])), ["y"]);
        assert!(claim_strings(&p, &path(&["nested"])).is_empty());
        assert!(claim_strings(&p, &path(&["missing", "x"])).is_empty());
    }

    #[test]
    fn request_principals_follow_istio_wildcards() {
        let p = payload(json!({"iss": "https://accounts.example.com", "sub": "user-42"}));
        let m = |pat: &str| PrincipalPattern::parse(pat).unwrap().matches(&p);
        assert!(m("https://accounts.example.com/user-42"));
        assert!(!m("https://accounts.example.com/user-4"));
        assert!(m("*"));
        assert!(m("https://accounts.example.com/*"));
        assert!(m("https://accounts.example.com/user-*"));
        assert!(!m("https://other.example.com/*"));
        assert!(m("*/user-42"));
        assert!(m("*.example.com/user-42"));
        assert!(!m("*.example.org/user-42"));
        assert!(m("*-42"), "no `/`: a suffix of the subject");
        assert!(m("https:*"), "no `/`: a prefix of the issuer");
        assert!(!m("accounts*"));
        assert!(
            !m("https://accounts.example.com"),
            "split at the last `/`: issuer `https:/`, subject `accounts.example.com`"
        );
        let no_sub = payload(json!({"iss": "https://accounts.example.com"}));
        assert!(!PrincipalPattern::parse("*").unwrap().matches(&no_sub));
        let empty = payload(json!({"iss": "", "sub": "x"}));
        assert!(
            !PrincipalPattern::parse("*").unwrap().matches(&empty),
            "`*` is non-empty"
        );
        assert_eq!(
            request_principal(&p).as_deref(),
            Some("https://accounts.example.com/user-42")
        );
    }

    /// The payload property as Envoy 1.40 returned it for `{"iss": ISSUER, "sub": "alice",
    /// "exp": 4102444800, "scope": "read write" (normalized to a list), "org": {"team": "payments"}}`
    /// (recorded from `envoy/tests/policy_jwt.rs`).
    const ENVOY_1_40_PAYLOAD: &str = "05000000030000001a00000005000000210000000300000005000000030000001c00000003000000\
        080000006f7267000100000004000000080000007465616d007061796d656e7473000073636f706500020000000400\
        0000000000000500000000000000726561640000777269746500000073756200616c696365006973730068747470733a\
        2f2f6973737565722e6d657368776172642e746573740065787000000000e0ca90ee4100";

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn envoy_pair_encoded_payload_is_read_by_the_rule() {
        let claims = decode_payload(&unhex(ENVOY_1_40_PAYLOAD)).unwrap();
        assert_eq!(
            Value::Object(claims),
            json!({
                "iss": "https://issuer.meshward.test",
                "sub": "alice",
                "scope": ["read", "write"],
                "org": {"team": "payments"},
                "exp": null
            })
        );
        let enc = |p: &[(&[u8], &[u8])]| pairs::encode(p);
        let nested_list = enc(&[(b"a", b""), (&enc(&[(b"x", b"1")]), b"")]);
        let payload = enc(&[
            (b"empty", b""),
            (b"bool", &[1]),
            (b"ctl", b"a\tb"),
            (b"list", &nested_list),
        ]);
        assert_eq!(
            Value::Object(decode_payload(&payload).unwrap()),
            json!({"empty": "", "bool": null, "ctl": null, "list": ["a", {"x": "1"}]})
        );
    }

    #[test]
    fn payload_struct_round_trips_and_garbage_is_none() {
        use prost_types::{ListValue, Struct, Value as PValue};
        let s = |k: Kind| PValue { kind: Some(k) };
        let mut inner = Struct::default();
        inner.fields.insert("role".into(), s(Kind::StringValue("ops".into())));
        let mut st = Struct::default();
        st.fields.insert("iss".into(), s(Kind::StringValue("https://i".into())));
        st.fields.insert("exp".into(), s(Kind::NumberValue(1.5e9)));
        st.fields.insert("ok".into(), s(Kind::BoolValue(true)));
        st.fields.insert("nested".into(), s(Kind::StructValue(inner)));
        st.fields.insert(
            "groups".into(),
            s(Kind::ListValue(ListValue {
                values: vec![s(Kind::StringValue("a".into())), s(Kind::NullValue(0))],
            })),
        );
        let decoded = decode_payload(&st.encode_to_vec()).unwrap();
        assert_eq!(
            Value::Object(decoded),
            json!({"iss": "https://i", "exp": 1.5e9, "ok": true, "nested": {"role": "ops"}, "groups": ["a", null]})
        );
        assert_eq!(decode_payload(&[]), Some(Map::new()), "an empty map has no claims");
        assert_eq!(decode_payload(b"https://issuer.example"), None);
        assert_eq!(decode_payload(&[0x0a, 0xff]), None);
    }
}
