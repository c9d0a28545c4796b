//! The replies Envoy makes up itself when an upstream does not answer — for a filter's
//! `proxy_http_call` (row E21) and for the proxied request alike (measured in Envoy 1.40):
//! `:status`, `content-length`, `content-type: text/plain` and one of these texts.

use crate::Headers;

/// The upstream did not answer within the timeout: 504.
pub(crate) const TIMEOUT: (u16, &str) = (504, "upstream request timeout");
/// The upstream refused the connection: 503.
pub(crate) const CONNECT_FAILURE: (u16, &str) = (
    503,
    "upstream connect error or disconnect/reset before headers. reset reason: remote connection failure",
);
/// The upstream closed the connection before a response head: 503.
pub(crate) const CONNECTION_TERMINATION: (u16, &str) = (
    503,
    "upstream connect error or disconnect/reset before headers. reset reason: connection termination",
);
/// The upstream's response head is not HTTP/1.1: 502.
pub(crate) const PROTOCOL_ERROR: (u16, &str) = (
    502,
    "upstream connect error or disconnect/reset before headers. reset reason: protocol error",
);

/// The headers and body of the reply `(status, text)`.
pub(crate) fn reply((status, text): (u16, &str)) -> (Headers, Vec<u8>) {
    let mut headers = Headers::new();
    headers.add(":status", status.to_string());
    headers.add("content-length", text.len().to_string());
    headers.add("content-type", "text/plain");
    (headers, text.as_bytes().to_vec())
}
