//! The upstream's answer, synthesized: albedo (CRS's test backend, implemented once in
//! `meshward_envoy::albedo` and also served by the real-Envoy test upstream) answering the
//! request the proxy forwards.

use crate::http1::Request;
use meshward_testkit::http1::{self, Headers};

pub use meshward_envoy::albedo::detect_content_type;
pub use meshward_testkit::http1::{reason_phrase, Response};

/// How albedo (behind the proxy) answers `request`: the request as the model says Envoy
/// forwards it, handed to albedo as the upstream parses it.
pub fn respond(request: &Request) -> Response {
    let forwarded = http1::Request {
        method: request.method.clone(),
        target: String::from_utf8_lossy(&request.path).into_owned(),
        version: request.version.clone(),
        headers: Headers::from_pairs(
            request
                .headers
                .iter()
                .map(|(name, value)| (String::from_utf8_lossy(name), value)),
        ),
        body: request.body.clone(),
        trailers: Headers::new(),
    };
    meshward_envoy::albedo::respond(&forwarded)
}
