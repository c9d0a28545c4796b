//! What a filter did to one stream, in a form tests and the CLI can inspect.

use crate::metrics::Metric;
use crate::state::{LocalResponse, LogEntry};
use crate::upstream::HttpCall;
use crate::Headers;
use serde::Serializer;
use std::collections::BTreeMap;

/// Serializes bytes as text (lossy UTF-8), which keeps the CLI's JSON readable.
pub fn ser_body<S: Serializer>(body: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&String::from_utf8_lossy(body))
}

/// One direction of a stream as it left the filter (towards the upstream or the client).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Message {
    /// Headers after the filter's changes.
    pub headers: Headers,
    /// Body after the filter's changes.
    #[serde(serialize_with = "ser_body")]
    pub body: Vec<u8>,
    /// Trailers after the filter's changes (also ones the filter added).
    pub trailers: Option<Headers>,
    /// True once end of stream went through the filter.
    pub complete: bool,
}

impl Message {
    /// Body as text (lossy UTF-8).
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// The result of one HTTP stream.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Outcome {
    /// `continue`, `local_response`, `paused`, `reset`, `failed` (or `finished` for a closed stream).
    pub verdict: &'static str,
    /// The local response the filter sent, if any.
    pub local_response: Option<LocalResponse>,
    /// What the upstream received (None if the request never passed the filter).
    pub upstream_request: Option<Message>,
    /// What the client received (upstream response or local reply, after the filter).
    pub downstream_response: Option<Message>,
    /// Where the stream waits, if the filter paused it and never resumed it.
    pub paused_at: Option<&'static str>,
    /// The stream was reset (`proxy_close_stream`, or a local reply after response headers).
    pub reset: bool,
    /// Trap message if the module crashed in this stream (Envoy answers 503).
    pub trap: Option<String>,
    /// Log lines emitted by this stream's context.
    pub logs: Vec<LogEntry>,
    /// Http calls this stream's context made.
    pub http_calls: Vec<HttpCall>,
    /// Every metric of the plugin after the stream.
    pub metrics: BTreeMap<String, Metric>,
}

impl Outcome {
    /// Status code the client got, if any response was sent.
    pub fn status(&self) -> Option<u16> {
        self.downstream_response.as_ref()?.headers.get(":status")?.parse().ok()
    }

    /// Request header as the upstream got it.
    pub fn upstream_header(&self, name: &str) -> Option<String> {
        self.upstream_request.as_ref()?.headers.get(name)
    }

    /// Response header as the client got it.
    pub fn downstream_header(&self, name: &str) -> Option<String> {
        self.downstream_response.as_ref()?.headers.get(name)
    }

    /// True if some log line contains `needle`.
    pub fn logged(&self, needle: &str) -> bool {
        self.logs.iter().any(|l| l.message.contains(needle))
    }
}
