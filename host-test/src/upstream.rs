//! Clusters a filter can call with `proxy_http_call`, answered by closures the test provides.

use crate::Headers;
use std::collections::HashMap;
use std::sync::Arc;

/// An outgoing `proxy_http_call` as the filter made it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct HttpCall {
    /// Token returned to the filter.
    pub token: u32,
    /// Cluster (upstream) name.
    pub cluster: String,
    /// Request headers (`:method`, `:path`, `:authority` required by Envoy).
    pub headers: Headers,
    /// Request body.
    #[serde(serialize_with = "crate::outcome::ser_body")]
    pub body: Vec<u8>,
    /// Request trailers.
    pub trailers: Headers,
    /// Timeout in milliseconds (0 = none).
    pub timeout_ms: u32,
    /// Context that made the call.
    pub context_id: u32,
}

/// How a scripted upstream answers a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallReply {
    /// A response (headers must include `:status`).
    Response {
        /// Response headers.
        headers: Headers,
        /// Response body.
        body: Vec<u8>,
        /// Response trailers.
        trailers: Option<Headers>,
    },
    /// The call times out: Envoy's async client answers 504 "upstream request timeout".
    Timeout,
    /// The connection is reset: the filter sees 0 headers/body and status BrokenConnection "reset".
    Reset,
    /// The upstream refuses connections: Envoy's async client answers a synthetic 503.
    Refused,
}

impl CallReply {
    /// A response with a status code and body.
    pub fn status(code: u16, body: impl Into<Vec<u8>>) -> Self {
        let mut headers = Headers::new();
        headers.add(":status", code.to_string());
        CallReply::Response {
            headers,
            body: body.into(),
            trailers: None,
        }
    }

    /// Adds a header to a `Response` reply.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        if let CallReply::Response { headers, .. } = &mut self {
            headers.add(&name.to_ascii_lowercase(), value);
        }
        self
    }

    /// Adds a trailer to a `Response` reply.
    pub fn trailer(mut self, name: &str, value: &str) -> Self {
        if let CallReply::Response { trailers, .. } = &mut self {
            trailers
                .get_or_insert_with(Headers::new)
                .add(&name.to_ascii_lowercase(), value);
        }
        self
    }
}

/// A scripted upstream: answers each call.
pub type Responder = Arc<dyn Fn(&HttpCall) -> CallReply + Send + Sync>;

/// Known clusters; calls to any other cluster fail with BadArgument as in Envoy.
#[derive(Clone, Default)]
pub struct Upstreams {
    pub(crate) clusters: HashMap<String, Responder>,
    /// Clusters declared as gRPC services: calls close with UNAVAILABLE (host-test runs no gRPC).
    pub(crate) grpc: std::collections::HashSet<String>,
}

impl std::fmt::Debug for Upstreams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.clusters.keys()).finish()
    }
}
