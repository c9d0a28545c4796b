//! The upstream's answer, synthesized: albedo (CRS's test backend, implemented once in
//! `meshward_envoy::albedo` and also served by the real-Envoy test upstream) answering the
//! request the proxy forwards.

use crate::http1::Request;

pub use meshward_envoy::albedo::{detect_content_type, reason_phrase, Response};

/// How albedo (behind the proxy) answers `request`.
pub fn respond(request: &Request) -> Response {
    meshward_envoy::albedo::respond(&request.method, &request.path, &request.body)
}
