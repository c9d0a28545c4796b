//! The requests a corpus value becomes: the same value in each place a service reads input
//! from (query parameter, form field, JSON field, cookie, path segment).

use meshward_testkit::http1::Request;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// Where a value is placed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Shape {
    /// `GET /api/v1/items?q=<value>&page=1`.
    Query,
    /// `POST` form body `q=<value>&page=1`.
    Form,
    /// `POST` JSON body `{"q": <value>, "page": 1}`.
    Json,
    /// `Cookie: session=...; q=<value>`.
    Cookie,
    /// `GET /api/v1/items/<value>`.
    Path,
    /// A raw request from the corpus, run as it is.
    Raw,
}

impl Shape {
    /// Every shape a value is placed into.
    pub const VALUE_SHAPES: [Shape; 5] = [Shape::Query, Shape::Form, Shape::Json, Shape::Cookie, Shape::Path];

    /// Its name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Shape::Query => "query",
            Shape::Form => "form",
            Shape::Json => "json",
            Shape::Cookie => "cookie",
            Shape::Path => "path",
            Shape::Raw => "raw",
        }
    }
}

/// Percent-encodes all but RFC 3986's unreserved characters.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');
/// A parameter name in bracket syntax keeps its brackets and `$` (`user[$ne]`, as PHP, Rails and
/// Express's qs parse it).
const BRACKET_NAME: &AsciiSet = &COMPONENT.remove(b'[').remove(b']').remove(b'$');

const HOST: &str = "api.default.svc.cluster.local";

/// The request of `value` in `shape` (`Raw` is not a value shape: `None`).
pub fn request(shape: Shape, value: &str) -> Option<Request> {
    let mut r = match shape {
        Shape::Query => Request::new("GET", &format!("/api/v1/items?{}&page=1", parameter(value))),
        Shape::Form => {
            let mut r = Request::new("POST", "/api/v1/items");
            r.headers.add("content-type", "application/x-www-form-urlencoded");
            r.body = format!("{}&page=1", parameter(value)).into_bytes();
            r
        }
        Shape::Json => {
            let mut r = Request::new("POST", "/api/v1/items");
            r.headers.add("content-type", "application/json");
            r.body = serde_json::json!({ "q": json_value(value), "page": 1 })
                .to_string()
                .into_bytes();
            r
        }
        Shape::Cookie => {
            let mut r = Request::new("GET", "/api/v1/items");
            // Cookie values are URL-encoded by the frameworks that write them (and decoded by
            // those that read them); `;` and `,` would end the value.
            r.headers.add(
                "cookie",
                format!(
                    "session=6d1f0c3a; q={}",
                    uri_part(value).replace(';', "%3B").replace(',', "%2C")
                ),
            );
            r
        }
        Shape::Path => Request::new("GET", &format!("/api/v1/items/{}", uri_part(value))),
        Shape::Raw => return None,
    };
    r.headers.add("host", HOST);
    r.headers.add("accept", "application/json");
    r.headers.add("user-agent", "meshward-detection/1");
    if !r.body.is_empty() {
        r.headers.add("content-length", r.body.len().to_string());
    }
    Some(r)
}

/// `q=<value>`, or `user[$op]...=<value>` for a value in bracket syntax (`[$ne]=1`).
fn parameter(value: &str) -> String {
    if value.starts_with('[') {
        let (name, rest) = value.split_once('=').unwrap_or((value, ""));
        return format!(
            "user{}={}",
            utf8_percent_encode(name, BRACKET_NAME),
            utf8_percent_encode(rest, COMPONENT)
        );
    }
    format!("q={}", uri_part(value))
}

/// A value already percent-encoded (the encoding is the attack, as in `%2e%2e%2f`) goes on
/// the wire as it is; anything else is encoded once, as a client library does.
fn uri_part(value: &str) -> String {
    let uri_safe = value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-._~:/?#[]@!$&'()*+,;=%".contains(&b));
    let encoded = value
        .as_bytes()
        .windows(3)
        .any(|w| w[0] == b'%' && w[1].is_ascii_hexdigit() && w[2].is_ascii_hexdigit());
    if uri_safe && encoded {
        value.replace(['&', '#', '?'], "")
    } else {
        utf8_percent_encode(value, COMPONENT).to_string()
    }
}

/// The value as a JSON object or array when it is one (`{"$ne": null}`), else as a string.
fn json_value(value: &str) -> serde_json::Value {
    match serde_json::from_str::<serde_json::Value>(value) {
        Ok(v @ (serde_json::Value::Object(_) | serde_json::Value::Array(_))) => v,
        _ => serde_json::Value::String(value.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_land_in_each_shape() {
        let q = request(Shape::Query, "a b'").unwrap();
        assert_eq!(q.target, "/api/v1/items?q=a%20b%27&page=1");
        let n = request(Shape::Form, "[$ne]=1").unwrap();
        assert_eq!(n.body, b"user[$ne]=1&page=1");
        let j = request(Shape::Json, r#"{"$gt": ""}"#).unwrap();
        assert_eq!(j.body, br#"{"page":1,"q":{"$gt":""}}"#);
        let s = request(Shape::Json, "O'Brien").unwrap();
        assert_eq!(s.body, br#"{"page":1,"q":"O'Brien"}"#);
        let p = request(Shape::Path, "%2e%2e%2fetc%2fpasswd").unwrap();
        assert_eq!(
            p.target, "/api/v1/items/%2e%2e%2fetc%2fpasswd",
            "encoded variants stay as they are"
        );
        let c = request(Shape::Cookie, "a;b").unwrap();
        assert_eq!(c.headers.get("cookie").as_deref(), Some("session=6d1f0c3a; q=a%3Bb"));
        let e = request(Shape::Cookie, "%0Aid;").unwrap();
        assert_eq!(e.headers.get("cookie").as_deref(), Some("session=6d1f0c3a; q=%0Aid%3B"));
        assert_eq!(c.headers.get("host").as_deref(), Some(HOST));
        assert!(request(Shape::Raw, "x").is_none());
    }
}
