//! Plain HTTP/1.1 messages the benchmarks send, and how they run through the WAF filter's own
//! exchange (`meshward_waf::drive`, the way Envoy calls the filter).

use std::rc::Rc;

use meshward_seclang::Transaction;
use meshward_waf::drive::{self, Driven};
use meshward_waf::exchange::{Attributes, Header};
use meshward_waf::loaded::Loaded;

/// Body chunk size handed to the engine, as a proxy delivers a buffered body (Envoy's
/// HTTP/1 codec reads at most 16 KiB at a time).
pub const BODY_CHUNK: usize = 16 * 1024;

/// A client request: request line, headers in wire order, body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    /// Method (`GET`, `POST`...).
    pub method: String,
    /// Request target in origin form (`/path?query`), as sent (percent-encoded).
    pub uri: String,
    /// HTTP version without the `HTTP/` prefix.
    pub version: String,
    /// Header fields in the order the client sends them.
    pub headers: Vec<(String, String)>,
    /// Body bytes (empty for GET).
    pub body: Vec<u8>,
}

impl HttpRequest {
    /// The value of the first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Size on the wire: request line, headers, blank line and body.
    pub fn wire_len(&self) -> usize {
        let line = self.method.len() + 1 + self.uri.len() + 1 + 5 + self.version.len() + 2;
        let headers: usize = self.headers.iter().map(|(k, v)| k.len() + 2 + v.len() + 2).sum();
        line + headers + 2 + self.body.len()
    }

    /// The same request as Envoy hands it to a filter (HTTP/2-style lowercase names, `Host`
    /// as `:authority`, hop-by-hop `Connection` dropped, the body in [`BODY_CHUNK`] pieces).
    pub fn to_filter_request(&self) -> drive::Request {
        let mut headers: Vec<Header> = vec![
            (
                b":authority".to_vec(),
                self.header("host").unwrap_or("localhost").into(),
            ),
            (b":path".to_vec(), self.uri.clone().into_bytes()),
            (b":method".to_vec(), self.method.clone().into_bytes()),
            (b":scheme".to_vec(), b"https".to_vec()),
        ];
        for (k, v) in &self.headers {
            if k.eq_ignore_ascii_case("host") || k.eq_ignore_ascii_case("connection") {
                continue;
            }
            headers.push((k.to_ascii_lowercase().into_bytes(), v.clone().into_bytes()));
        }
        drive::Request {
            headers,
            body: self.body.chunks(BODY_CHUNK).map(<[u8]>::to_vec).collect(),
            trailers: None,
            proxy_answers: None,
        }
    }

    /// The same request as the proxy-wasm host delivers it (as [`HttpRequest::to_filter_request`]).
    #[cfg(feature = "host")]
    pub fn to_host_request(&self) -> meshward_host_test::Request {
        let request = self.to_filter_request();
        let mut headers = meshward_host_test::Headers::new();
        for (k, v) in &request.headers {
            headers.add(&String::from_utf8_lossy(k), v);
        }
        meshward_host_test::Request {
            headers,
            chunks: request.body,
            trailers: None,
            properties: Vec::new(),
        }
    }
}

/// An upstream response: status, headers, body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Header fields in wire order.
    pub headers: Vec<(String, String)>,
    /// Body bytes.
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// The same response as the proxy-wasm host delivers it (as [`HttpResponse::to_filter_response`]).
    #[cfg(feature = "host")]
    pub fn to_host_response(&self) -> meshward_host_test::Response {
        let mut r = meshward_host_test::Response::status(self.status);
        for (k, v) in &self.headers {
            r.headers.add(&k.to_ascii_lowercase(), v);
        }
        r.chunks = self.to_filter_response().body;
        r
    }

    /// The same response as Envoy hands it to a filter (`:status` plus lowercase names, the
    /// body in [`BODY_CHUNK`] pieces).
    pub fn to_filter_response(&self) -> drive::Response {
        let mut headers: Vec<Header> = vec![(b":status".to_vec(), self.status.to_string().into_bytes())];
        headers.extend(
            self.headers
                .iter()
                .map(|(k, v)| (k.to_ascii_lowercase().into_bytes(), v.clone().into_bytes())),
        );
        drive::Response {
            headers,
            body: self.body.chunks(BODY_CHUNK).map(<[u8]>::to_vec).collect(),
            trailers: None,
        }
    }
}

/// Client and server addresses every benchmark exchange uses.
fn attributes() -> Attributes {
    Attributes {
        client: "192.0.2.10:51234".into(),
        server: "10.0.0.5:8080".into(),
        protocol: Some("HTTP/1.1".into()),
        ..Attributes::default()
    }
}

/// Runs one exchange through the WAF filter's own logic, as Envoy calls it: request headers
/// (phase 1), the body in [`BODY_CHUNK`] callbacks (phase 2), then, unless the request was
/// refused, the response headers (3) and body (4); logging (5) and the evidence always run.
pub fn run_transaction(loaded: &Rc<Loaded>, request: &HttpRequest, response: &HttpResponse) -> Driven {
    let upstream = || response.to_filter_response();
    drive::drive(loaded.clone(), attributes(), &request.to_filter_request(), upstream, 0)
        .expect("the default directive set always applies")
}

/// Runs the request side with a minimal upstream answer (204, no body, so phase 4 has nothing
/// to read): with [`run_transaction`], it splits the cost between request and response.
pub fn run_request_phases(loaded: &Rc<Loaded>, request: &HttpRequest) -> Driven {
    let upstream = || drive::Response::new(204, Vec::new(), Vec::new());
    drive::drive(loaded.clone(), attributes(), &request.to_filter_request(), upstream, 0)
        .expect("the default directive set always applies")
}

/// Ids of the rules that matched and would be logged (CRS's `nolog` bookkeeping excluded).
pub fn logged_rule_ids(tx: &Transaction) -> Vec<u64> {
    tx.matched_rules().iter().filter(|m| m.logged).map(|m| m.id).collect()
}
