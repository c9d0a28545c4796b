//! The per-VM state wasmtime hands to every host function (`Store<HostState>` data).

use crate::metrics::Metrics;
use crate::property::{PropertyMap, Value};
use crate::shared::SharedStore;
use crate::stats::CallbackStats;
use crate::upstream::{HttpCall, Upstreams};
use crate::Headers;
use std::collections::{BTreeMap, HashMap};
use wasmtime::{Memory, TypedFunc};

/// One line a filter logged (via `proxy_log` or WASI stdout/stderr).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LogEntry {
    /// Level name: trace, debug, info, warn, error, critical.
    pub level: &'static str,
    /// The message, as UTF-8 (lossy).
    pub message: String,
    /// Context id that was current (or effective) when it was logged.
    pub context_id: u32,
}

/// Name of a proxy-wasm log level.
pub fn level_name(level: u32) -> &'static str {
    match level {
        0 => "trace",
        1 => "debug",
        2 => "info",
        3 => "warn",
        4 => "error",
        _ => "critical",
    }
}

/// A local response a filter asked for with `proxy_send_local_response`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LocalResponse {
    /// HTTP status code.
    pub status: u32,
    /// Headers the filter added (before Envoy adds :status/content-length/content-type).
    pub headers: Headers,
    /// Body text.
    #[serde(serialize_with = "crate::outcome::ser_body")]
    pub body: Vec<u8>,
    /// Response code details (spaces replaced by `_`, as Envoy does).
    pub details: String,
    /// gRPC status, if a valid one (0..=16) was given.
    pub grpc_status: Option<u32>,
}

/// Data of one root context.
#[derive(Debug, Clone)]
pub(crate) struct RootData {
    pub root_id: String,
    pub tick_ms: u32,
    pub next_tick_ns: u64,
}

/// What the filter can see and change of one HTTP stream, as Envoy's `Context` holds it.
#[derive(Debug, Default)]
pub(crate) struct StreamData {
    pub root: u32,
    pub req_headers: Headers,
    pub req_headers_live: bool,
    pub req_body: Vec<u8>,
    pub req_body_live: bool,
    pub req_trailers: Option<Headers>,
    pub req_trailers_live: bool,
    pub resp_headers: Headers,
    pub resp_headers_live: bool,
    pub resp_body: Vec<u8>,
    pub resp_body_live: bool,
    pub resp_trailers: Option<Headers>,
    pub resp_trailers_live: bool,
    pub end_of_stream: bool,
    pub access_log_phase: bool,
    pub local_response: Option<LocalResponse>,
    pub continue_request: bool,
    pub continue_response: bool,
    pub close: bool,
    pub properties: PropertyMap,
    pub filter_state: HashMap<Vec<u8>, Vec<u8>>,
    pub start_ns: u64,
    pub request_bytes: u64,
    pub response_bytes: u64,
    pub code_details: Option<String>,
    pub upstream_contacted: bool,
    pub connection_id: u64,
}

/// A gRPC call waiting to be answered with UNAVAILABLE.
#[derive(Debug, Clone)]
pub(crate) struct PendingGrpc {
    pub root: u32,
    pub token: u32,
    pub status: u32,
}

/// The whole VM state.
pub struct HostState {
    pub(crate) memory: Option<Memory>,
    pub(crate) malloc: Option<TypedFunc<i32, i32>>,
    pub(crate) plugin_uid: u64,
    pub(crate) vm_id: String,
    pub(crate) plugin_name: String,
    pub(crate) current: u32,
    pub(crate) effective: u32,
    pub(crate) roots: BTreeMap<u32, RootData>,
    pub(crate) streams: HashMap<u32, StreamData>,
    pub(crate) vm_config: Vec<u8>,
    pub(crate) configuring: Option<Vec<u8>>,
    pub(crate) properties: PropertyMap,
    pub(crate) logs: Vec<LogEntry>,
    pub(crate) log_level: u32,
    pub(crate) metrics: Metrics,
    pub(crate) shared: SharedStore,
    pub(crate) upstreams: Upstreams,
    pub(crate) pending_http: Vec<u32>,
    pub(crate) pending_grpc: Vec<PendingGrpc>,
    pub(crate) http_calls: Vec<HttpCall>,
    pub(crate) call_response: Option<(Headers, Vec<u8>, Option<Headers>)>,
    pub(crate) status: (u32, Vec<u8>),
    pub(crate) next_http_token: u32,
    pub(crate) next_grpc_token: u32,
    pub(crate) now_ns: u64,
    pub(crate) rng: u64,
    pub(crate) stop_next_iteration: bool,
    pub(crate) done: Vec<u32>,
    pub(crate) released: Vec<u32>,
    pub(crate) exit_code: Option<i32>,
    pub(crate) stats: CallbackStats,
    pub(crate) env: Vec<(String, String)>,
}

impl HostState {
    /// Context id host calls act on: the effective one if set and alive, else the current one.
    pub(crate) fn context(&self) -> u32 {
        if self.effective != 0
            && (self.streams.contains_key(&self.effective) || self.roots.contains_key(&self.effective))
        {
            self.effective
        } else {
            self.current
        }
    }

    /// Root context of `ctx` (itself for a root context).
    pub(crate) fn root_of(&self, ctx: u32) -> u32 {
        self.streams.get(&ctx).map(|s| s.root).unwrap_or(ctx)
    }

    /// Records a log line.
    pub(crate) fn log(&mut self, level: u32, message: &[u8]) {
        let context_id = self.context();
        self.logs.push(LogEntry {
            level: level_name(level),
            message: String::from_utf8_lossy(message).into_owned(),
            context_id,
        });
    }

    /// Next pseudo-random u64 (splitmix64; seeded per plugin so runs are reproducible).
    pub(crate) fn next_random(&mut self) -> u64 {
        self.rng = self.rng.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Property lookup as Envoy resolves it for the acting context.
    pub(crate) fn property(&self, segments: &[String]) -> Option<Value> {
        let ctx = self.context();
        let root = self.root_of(ctx);
        match segments.first().map(String::as_str) {
            Some("plugin_name") if segments.len() == 1 => return Some(Value::Str(self.plugin_name.clone())),
            Some("plugin_root_id") if segments.len() == 1 => {
                return self.roots.get(&root).map(|r| Value::Str(r.root_id.clone()))
            }
            Some("plugin_vm_id") if segments.len() == 1 => return Some(Value::Str(self.vm_id.clone())),
            _ => {}
        }
        if let Some(s) = self.streams.get(&ctx) {
            if segments.len() == 1 {
                if let Some(v) = s.filter_state.get(segments[0].as_bytes()) {
                    return Some(Value::Bytes(v.clone()));
                }
            }
            let mut derived = PropertyMap::new();
            if s.req_headers_live || s.access_log_phase {
                crate::property::from_request_headers(&s.req_headers, &mut derived);
            }
            if s.resp_headers_live || s.access_log_phase {
                crate::property::from_response_headers(&s.resp_headers, &mut derived);
            }
            // Stream-info values Envoy derives (rows E13/E14).
            let content_length = (s.req_headers_live || s.access_log_phase)
                .then(|| s.req_headers.get("content-length").and_then(|v| v.parse::<i64>().ok()))
                .flatten();
            derived.insert(
                "request.size".into(),
                Value::Int(content_length.unwrap_or(s.request_bytes as i64)),
            );
            derived.insert("request.time".into(), Value::Int(s.start_ns as i64));
            if s.access_log_phase {
                derived.insert(
                    "request.duration".into(),
                    Value::Int(self.now_ns.saturating_sub(s.start_ns) as i64),
                );
            }
            derived.insert("response.size".into(), Value::Int(s.response_bytes as i64));
            if let Some(d) = &s.code_details {
                derived.insert("response.code_details".into(), Value::Str(d.clone()));
            }
            derived.insert("connection.id".into(), Value::Uint(s.connection_id));
            if let Some(v) = crate::property::lookup(&derived, segments) {
                return Some(v);
            }
            if let Some(v) = crate::property::lookup(&s.properties, segments) {
                return Some(v);
            }
            if segments.first().map(String::as_str) == Some("upstream") && !s.upstream_contacted {
                return None;
            }
        }
        // Root contexts have no stream info: only node properties are visible (Envoy row E14).
        if !self.streams.contains_key(&ctx)
            && !matches!(segments.first().map(String::as_str), Some("node") | Some("xds"))
        {
            return None;
        }
        if !self.streams.contains_key(&ctx)
            && segments.first().map(String::as_str) == Some("xds")
            && segments.get(1).map(String::as_str) != Some("node")
        {
            return None;
        }
        crate::property::lookup(&self.properties, segments)
    }
}
