//! Plain HTTP/1.1 messages the benchmarks send, and how they are fed to the engine.

use meshward_seclang::{RuleSet, Transaction};

/// Body chunk size handed to the engine, as a proxy delivers a buffered body (Envoy's
/// HTTP/1 codec reads at most 16 KiB at a time).
pub const BODY_CHUNK: usize = 16 * 1024;

/// A client request: request line, headers in wire order, body.
pub use meshward_testkit::http1::Request as HttpRequest;
/// An upstream response: status, headers in wire order, body.
pub use meshward_testkit::http1::Response as HttpResponse;

/// The request as the proxy-wasm host delivers it (HTTP/2-style lowercase names, `Host` as
/// `:authority`, hop-by-hop `Connection` dropped, as Envoy does; the body in
/// [`BODY_CHUNK`] pieces).
#[cfg(feature = "host")]
pub fn to_host_request(request: &HttpRequest) -> meshward_host_test::Request {
    let mut headers = meshward_host_test::Headers::new();
    headers.add(":authority", request.header("host").unwrap_or("localhost"));
    headers.add(":path", &request.target);
    headers.add(":method", &request.method);
    headers.add(":scheme", "https");
    for (k, v) in &request.headers {
        if k.eq_ignore_ascii_case("host") || k.eq_ignore_ascii_case("connection") {
            continue;
        }
        headers.add(&k.to_ascii_lowercase(), v);
    }
    let chunks: Vec<Vec<u8>> = request.body.chunks(BODY_CHUNK).map(<[u8]>::to_vec).collect();
    meshward_host_test::Request {
        headers,
        chunks,
        trailers: None,
        properties: Vec::new(),
    }
}

/// The response as the proxy-wasm host delivers it (`:status` plus lowercase names).
#[cfg(feature = "host")]
pub fn to_host_response(response: &HttpResponse) -> meshward_host_test::Response {
    let mut r = meshward_host_test::Response::status(response.status);
    for (k, v) in &response.headers {
        r.headers.add(&k.to_ascii_lowercase(), v);
    }
    if !response.body.is_empty() {
        r.chunks = response.body.chunks(BODY_CHUNK).map(<[u8]>::to_vec).collect();
    }
    r
}

/// Client and server addresses every benchmark transaction uses.
const CLIENT: (&str, u16) = ("192.0.2.10", 51234);
const SERVER: (&str, u16) = ("10.0.0.5", 8080);

/// Runs one exchange through every phase the way a proxy filter drives the engine:
/// connection and URI, request headers (phase 1), request body in [`BODY_CHUNK`] pieces
/// (phase 2), then, unless the request was refused, response headers (3) and body (4);
/// logging (5) always runs.
pub fn run_transaction(rules: &RuleSet, request: &HttpRequest, response: &HttpResponse) -> Transaction {
    let mut tx = rules.transaction();
    tx.process_connection(CLIENT.0, CLIENT.1, SERVER.0, SERVER.1);
    tx.process_uri(request.target.as_bytes(), &request.method, &request.version);
    for (k, v) in &request.headers {
        tx.add_request_header(k.as_bytes(), v);
    }
    tx.process_request_headers();
    if tx.intervention().is_none() {
        for chunk in request.body.chunks(BODY_CHUNK) {
            tx.append_request_body(chunk);
        }
        tx.process_request_body();
    }
    if tx.intervention().is_none() {
        for (k, v) in &response.headers {
            tx.add_response_header(k.as_bytes(), v);
        }
        tx.process_response_headers(response.status, "HTTP/1.1");
        if tx.intervention().is_none() {
            for chunk in response.body.chunks(BODY_CHUNK) {
                tx.append_response_body(chunk);
            }
            tx.process_response_body();
        }
    }
    tx.process_logging();
    tx
}

/// Runs only the request side (phases 1 and 2) and logging, as for a request that gets no
/// response: with [`run_transaction`], it splits the cost between request and response.
pub fn run_request_phases(rules: &RuleSet, request: &HttpRequest) -> Transaction {
    let mut tx = rules.transaction();
    tx.process_connection(CLIENT.0, CLIENT.1, SERVER.0, SERVER.1);
    tx.process_uri(request.target.as_bytes(), &request.method, &request.version);
    for (k, v) in &request.headers {
        tx.add_request_header(k.as_bytes(), v);
    }
    tx.process_request_headers();
    if tx.intervention().is_none() {
        for chunk in request.body.chunks(BODY_CHUNK) {
            tx.append_request_body(chunk);
        }
        tx.process_request_body();
    }
    tx.process_logging();
    tx
}

/// Ids of the rules that matched and would be logged (CRS's `nolog` bookkeeping excluded).
pub fn logged_rule_ids(tx: &Transaction) -> Vec<u64> {
    tx.matched_rules().iter().filter(|m| m.logged).map(|m| m.id).collect()
}
