//! The soak's traffic: benign requests and attacks over HTTP/1.1 and HTTP/2 (h2c), each with the
//! status the WAF and the policy filter in enforce mode must give it.

use meshward_testkit::http1::Frame;

use crate::load::workload::{grpc_frame, search_message, GRPC_PATH};
use crate::requests::{self, HOST};
use crate::HttpRequest;

/// The path prefix the soak's policy document denies.
pub const DENIED_PREFIX: &str = "/admin/";

/// How a request travels to Envoy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// HTTP/1.1 keep-alive.
    Http1,
    /// HTTP/2 with prior knowledge (h2c).
    Http2,
}

/// One kind of request in the mix.
#[derive(Clone, Debug)]
pub struct Kind {
    /// Name in failure messages.
    pub name: &'static str,
    /// How it is sent.
    pub protocol: Protocol,
    /// The request (for HTTP/2: method, target, headers and body of the same message).
    pub request: HttpRequest,
    /// The whole HTTP/1.1 request, built once.
    pub wire: Vec<u8>,
    /// A gRPC call (its answer is good only with `grpc-status: 0`).
    pub grpc: bool,
    /// The status the filters in enforce mode give it.
    pub expected: u16,
}

impl Kind {
    fn new(name: &'static str, protocol: Protocol, request: HttpRequest, expected: u16) -> Self {
        let wire = request.to_bytes(Frame::Length);
        Kind {
            name,
            protocol,
            request,
            wire,
            grpc: false,
            expected,
        }
    }
}

/// The policy document of the soak: enforce, deny everything under [`DENIED_PREFIX`].
pub fn policy_document() -> serde_json::Value {
    serde_json::json!({
        "mode": "enforce",
        "policies": [{
            "name": "no-admin",
            "action": "DENY",
            "rules": [{ "to": [{ "paths": [format!("{DENIED_PREFIX}*")] }] }]
        }]
    })
}

/// The HTTP/1.1 kinds, in the order a connection cycles through them.
pub fn http1_kinds() -> Vec<Kind> {
    use Protocol::Http1;
    vec![
        Kind::new("GET page (h1)", Http1, requests::browser_get(), 200),
        Kind::new("GET with SQLi (h1)", Http1, requests::browser_get_attack(), 403),
        Kind::new(
            "POST 2 KB form (h1)",
            Http1,
            requests::urlencoded_post(requests::URLENCODED_LEN),
            200,
        ),
        Kind::new("POST form with XSS (h1)", Http1, xss_form(), 403),
        Kind::new("POST 4 KB JSON (h1)", Http1, requests::json_post(4096), 200),
        Kind::new("GET denied path (h1)", Http1, denied_get(), 403),
    ]
}

/// The HTTP/2 kinds, in the order a connection cycles through them.
pub fn http2_kinds() -> Vec<Kind> {
    use Protocol::Http2;
    let mut grpc = Kind::new("gRPC unary (h2c)", Http2, grpc_call(), 200);
    grpc.grpc = true;
    vec![
        Kind::new("GET page (h2c)", Http2, requests::browser_get(), 200),
        grpc,
        Kind::new("GET with SQLi (h2c)", Http2, requests::browser_get_attack(), 403),
        Kind::new("POST 4 KB JSON (h2c)", Http2, requests::json_post(4096), 200),
        Kind::new("GET denied path (h2c)", Http2, denied_get(), 403),
    ]
}

/// A review form whose comment is a script tag (CRS 941 XSS rules).
fn xss_form() -> HttpRequest {
    let body = b"product=trail-shoe-42&rating=5&comment=%3Cscript%3Ealert%28document.cookie%29%3C%2Fscript%3E".to_vec();
    let mut r = HttpRequest::new("POST", "/shop/reviews");
    r.headers.add("Host", HOST);
    r.headers.add("Content-Type", "application/x-www-form-urlencoded");
    r.headers.add("Content-Length", body.len().to_string());
    r.body = body;
    r
}

/// The browser GET, to a path the policy denies.
fn denied_get() -> HttpRequest {
    let mut r = requests::browser_get();
    r.target = format!("{DENIED_PREFIX}users?page=2");
    r
}

/// The load comparison's gRPC unary call.
fn grpc_call() -> HttpRequest {
    let body = grpc_frame(&search_message());
    let mut r = HttpRequest::new("POST", GRPC_PATH);
    r.headers.add("Host", HOST);
    for (name, value) in crate::load::workload::grpc_headers() {
        r.headers.add(name, value);
    }
    r.body = body;
    r
}

/// Headers an HTTP/2 request may carry: the message's, without those HTTP/2 forbids
/// (connection-specific ones) and without `Host` (it becomes `:authority`).
pub fn http2_headers(request: &HttpRequest) -> Vec<(String, Vec<u8>)> {
    const DROPPED: [&str; 6] = [
        "host",
        "connection",
        "keep-alive",
        "proxy-connection",
        "transfer-encoding",
        "upgrade",
    ];
    request
        .headers
        .iter()
        .filter(|(name, _)| !DROPPED.iter().any(|d| name.eq_ignore_ascii_case(d)))
        .map(|(name, value)| (name.to_ascii_lowercase(), value.to_vec()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mix_has_benign_requests_and_attacks_on_both_protocols() {
        for kinds in [http1_kinds(), http2_kinds()] {
            assert!(kinds.iter().any(|k| k.expected == 200));
            assert!(kinds.iter().any(|k| k.expected == 403));
            let protocol = kinds[0].protocol;
            assert!(kinds.iter().all(|k| k.protocol == protocol));
        }
        assert!(http2_kinds().iter().any(|k| k.grpc));
        let xss = xss_form();
        assert_eq!(xss.header("content-length"), Some(xss.body.len().to_string().as_str()));
        assert!(denied_get().target.starts_with(DENIED_PREFIX));
    }

    #[test]
    fn http2_headers_drop_connection_specific_ones() {
        let names: Vec<String> = http2_headers(&requests::browser_get())
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        assert!(!names.iter().any(|n| n == "host" || n == "connection"), "{names:?}");
        assert!(names.iter().any(|n| n == "user-agent"));
        assert!(names.iter().all(|n| *n == n.to_ascii_lowercase()));
    }

    #[test]
    fn the_policy_denies_only_the_admin_prefix() {
        let engine = meshward_policy::Engine::from_text(&policy_document().to_string()).unwrap();
        assert_eq!(engine.clause_count(), 1);
    }
}
