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
pub use meshward_testkit::http1::Request as HttpRequest;
/// An upstream response: status, headers in wire order, body.
pub use meshward_testkit::http1::Response as HttpResponse;

/// The request as Envoy hands it to a filter (HTTP/2-style lowercase names, `Host` as
/// `:authority`, hop-by-hop `Connection` dropped; the body in [`BODY_CHUNK`] pieces).
pub fn filter_request(request: &HttpRequest) -> drive::Request {
    drive::Request::from_http1(
        &request.method,
        &request.target,
        request.headers.iter(),
        &request.body,
        BODY_CHUNK,
    )
}

/// The response as Envoy hands it to a filter (`:status` plus lowercase names, the body in
/// [`BODY_CHUNK`] pieces).
pub fn filter_response(response: &HttpResponse) -> drive::Response {
    let mut headers: Vec<Header> = vec![(b":status".to_vec(), response.status.to_string().into_bytes())];
    headers.extend(
        response
            .headers
            .iter()
            .map(|(k, v)| (k.to_ascii_lowercase().into_bytes(), v.to_vec())),
    );
    drive::Response {
        headers,
        body: response.body.chunks(BODY_CHUNK).map(<[u8]>::to_vec).collect(),
        trailers: None,
    }
}

/// The request as the proxy-wasm host delivers it (as [`filter_request`]).
#[cfg(feature = "host")]
pub fn to_host_request(request: &HttpRequest) -> meshward_host_test::Request {
    let request = filter_request(request);
    meshward_host_test::Request {
        headers: meshward_host_test::Headers::from_pairs(
            request.headers.iter().map(|(k, v)| (String::from_utf8_lossy(k), v)),
        ),
        chunks: request.body,
        trailers: None,
        properties: Vec::new(),
    }
}

/// The response as the proxy-wasm host delivers it (as [`filter_response`]).
#[cfg(feature = "host")]
pub fn to_host_response(response: &HttpResponse) -> meshward_host_test::Response {
    let filter = filter_response(response);
    let mut r = meshward_host_test::Response::status(response.status);
    for (k, v) in filter.headers.iter().filter(|(k, _)| !k.starts_with(b":")) {
        r.headers.add(&String::from_utf8_lossy(k), v);
    }
    r.chunks = filter.body;
    r
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
    let upstream = || filter_response(response);
    drive::drive(loaded.clone(), attributes(), &filter_request(request), upstream, 0)
        .expect("the default directive set always applies")
}

/// Runs the request side with a minimal upstream answer (204, no body, so phase 4 has nothing
/// to read): with [`run_transaction`], it splits the cost between request and response.
pub fn run_request_phases(loaded: &Rc<Loaded>, request: &HttpRequest) -> Driven {
    let upstream = || drive::Response::new(204, Vec::new(), Vec::new());
    drive::drive(loaded.clone(), attributes(), &filter_request(request), upstream, 0)
        .expect("the default directive set always applies")
}

/// Ids of the rules that matched and would be logged (CRS's `nolog` bookkeeping excluded).
pub fn logged_rule_ids(tx: &Transaction) -> Vec<u64> {
    tx.matched_rules().iter().filter(|m| m.logged).map(|m| m.id).collect()
}
