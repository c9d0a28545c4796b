//! Property values and their byte encoding as Envoy serializes CEL values for
//! `proxy_get_property`: strings/bytes raw, integers and timestamps 8-byte little-endian,
//! booleans one byte, doubles 8-byte IEEE little-endian, maps and lists as pairs.

use crate::Headers;
use meshward_abi::pairs;
use std::collections::BTreeMap;

/// A typed property value, as set by a test or derived from the stream.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(untagged)]
pub enum Value {
    /// A string (`source.address`, `request.path`...).
    Str(String),
    /// Raw bytes (values a filter set with `proxy_set_property`).
    Bytes(Vec<u8>),
    /// A signed integer (`source.port`, `response.code`, `request.size`...).
    Int(i64),
    /// An unsigned integer (`connection.id`).
    Uint(u64),
    /// A boolean (`connection.mtls`).
    Bool(bool),
    /// A double.
    Double(f64),
    /// A string map (`request.headers`), encoded as pairs.
    Map(Vec<(String, String)>),
    /// A list of strings (`connection.uri_san_peer_certificate` is a string; lists are rare).
    List(Vec<String>),
}

impl Value {
    /// Bytes the filter receives, matching Envoy's `serializeValue`.
    pub fn encode(&self) -> Vec<u8> {
        match self {
            Value::Str(s) => s.as_bytes().to_vec(),
            Value::Bytes(b) => b.clone(),
            Value::Int(i) => i.to_le_bytes().to_vec(),
            Value::Uint(u) => u.to_le_bytes().to_vec(),
            Value::Bool(b) => vec![u8::from(*b)],
            Value::Double(d) => d.to_le_bytes().to_vec(),
            Value::Map(m) => pairs::encode(m),
            Value::List(l) => {
                let p: Vec<(&str, &str)> = l.iter().map(|s| (s.as_str(), "")).collect();
                pairs::encode(&p)
            }
        }
    }

    /// Parses a CLI/test value: `true`/`false` → Bool, integers → Int, else Str.
    pub fn guess(text: &str) -> Value {
        match text {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => match text.parse::<i64>() {
                Ok(i) => Value::Int(i),
                Err(_) => Value::Str(text.to_string()),
            },
        }
    }

    /// Value at one path segment below this one (map key or list index).
    fn child(&self, segment: &str) -> Option<Value> {
        match self {
            Value::Map(m) => m.iter().find(|(k, _)| k == segment).map(|(_, v)| Value::Str(v.clone())),
            Value::List(l) => segment
                .parse::<usize>()
                .ok()
                .and_then(|i| l.get(i))
                .map(|s| Value::Str(s.clone())),
            _ => None,
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Str(s.to_string())
    }
}
impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Str(s)
    }
}
impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Int(i)
    }
}
impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

/// Properties keyed by dotted path (`source.address`).
pub type PropertyMap = BTreeMap<String, Value>;

/// Splits a filter's NUL-separated property path into segments.
pub fn split_path(raw: &[u8]) -> Vec<String> {
    raw.split(|&b| b == 0)
        .filter(|s| !s.is_empty())
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .collect()
}

/// Looks up `segments` in `map`: the longest dotted prefix that is a key, then map/list
/// indexing for the remaining segments.
pub fn lookup(map: &PropertyMap, segments: &[String]) -> Option<Value> {
    for split in (1..=segments.len()).rev() {
        // Keys are dotted paths; a filter's path must name each segment separately, so the
        // single segment "request.path" does not match (Envoy: NotFound).
        let key = segments[..split].join(".");
        if segments[..split].iter().any(|s| s.contains('.')) {
            continue;
        }
        if let Some(v) = map.get(&key) {
            let mut value = v.clone();
            for seg in &segments[split..] {
                value = value.child(seg)?;
            }
            return Some(value);
        }
    }
    None
}

/// Properties Envoy derives from request headers (`request.*`).
pub fn from_request_headers(h: &Headers, into: &mut PropertyMap) {
    let text = |n: &str| h.get(n).unwrap_or_default();
    let path = text(":path");
    let url_path = path.split('?').next().unwrap_or("").to_string();
    let query = path.split_once('?').map(|(_, q)| q.to_string()).unwrap_or_default();
    into.insert("request.path".into(), Value::Str(path));
    into.insert("request.url_path".into(), Value::Str(url_path));
    into.insert("request.query".into(), Value::Str(query));
    into.insert("request.host".into(), Value::Str(text(":authority")));
    into.insert("request.method".into(), Value::Str(text(":method")));
    into.insert("request.scheme".into(), Value::Str(text(":scheme")));
    for (prop, header) in [
        ("request.referer", "referer"),
        ("request.useragent", "user-agent"),
        ("request.id", "x-request-id"),
    ] {
        if let Some(v) = h.get(header) {
            into.insert(prop.into(), Value::Str(v));
        }
    }
    into.insert("request.headers".into(), Value::Map(headers_map(h)));
}

/// Properties Envoy derives from response headers (`response.*`).
pub fn from_response_headers(h: &Headers, into: &mut PropertyMap) {
    if let Some(code) = h.get(":status").and_then(|s| s.parse::<i64>().ok()) {
        into.insert("response.code".into(), Value::Int(code));
    }
    into.insert("response.headers".into(), Value::Map(headers_map(h)));
}

fn headers_map(h: &Headers) -> Vec<(String, String)> {
    // CEL header maps join repeated values with "," as Envoy does for header lookups.
    let mut out: Vec<(String, String)> = Vec::new();
    for (k, v) in h.iter() {
        let v = String::from_utf8_lossy(v).into_owned();
        match out.iter_mut().find(|(ek, _)| ek == k) {
            Some((_, ev)) => {
                ev.push(',');
                ev.push_str(&v);
            }
            None => out.push((k.to_string(), v)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings_match_envoy() {
        assert_eq!(Value::Int(443).encode(), 443i64.to_le_bytes().to_vec());
        assert_eq!(Value::Int(443).encode().len(), 8);
        assert_eq!(Value::Bool(true).encode(), vec![1]);
        assert_eq!(Value::Bool(false).encode(), vec![0]);
        assert_eq!(Value::from("10.0.0.1:1234").encode(), b"10.0.0.1:1234".to_vec());
        assert_eq!(Value::Uint(7).encode(), 7u64.to_le_bytes().to_vec());
        let m = Value::Map(vec![("a".into(), "b".into())]).encode();
        assert_eq!(pairs::decode(&m), Ok(vec![(b"a".to_vec(), b"b".to_vec())]));
    }

    #[test]
    fn guess_types() {
        assert_eq!(Value::guess("true"), Value::Bool(true));
        assert_eq!(Value::guess("8080"), Value::Int(8080));
        assert_eq!(Value::guess("1.2.3.4:5"), Value::from("1.2.3.4:5"));
    }

    #[test]
    fn lookup_by_segments() {
        let mut m = PropertyMap::new();
        m.insert("source.address".into(), Value::from("1.2.3.4:5"));
        let mut h = Headers::new();
        h.add(":path", "/x?q=1");
        h.add("user-agent", "ua");
        from_request_headers(&h, &mut m);
        assert_eq!(split_path(b"source\0address"), vec!["source", "address"]);
        assert_eq!(
            lookup(&m, &split_path(b"source\0address")),
            Some(Value::from("1.2.3.4:5"))
        );
        assert_eq!(lookup(&m, &split_path(b"request\0url_path")), Some(Value::from("/x")));
        assert_eq!(
            lookup(&m, &split_path(b"request\0headers\0user-agent")),
            Some(Value::from("ua"))
        );
        assert_eq!(lookup(&m, &split_path(b"request\0headers\0missing")), None);
        assert_eq!(lookup(&m, &split_path(b"nope")), None);
        assert_eq!(
            lookup(&m, &split_path(b"source.address")),
            None,
            "dotted single segment"
        );
    }
}
