//! The per-VM state wasmtime hands to every host function (`Store<HostState>` data). The host
//! functions' Envoy behaviour is in `imports/`, one `impl HostState` per ABI area.

use crate::dir::PerDir;
use crate::metrics::Metrics;
use crate::property::PropertyMap;
use crate::shared::SharedStore;
use crate::stats::CallbackStats;
use crate::upstream::{HttpCall, Upstreams};
use crate::Headers;
use meshward_abi::LogLevel;
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

/// What the filter can see and change of one direction of a stream.
#[derive(Debug, Default)]
pub(crate) struct DirData {
    /// The header map, kept after its callback (`on_log` reads it).
    pub headers: Headers,
    /// The body of the current body callback (all of it while the filter buffers).
    pub body: Vec<u8>,
    /// The trailer map, once the peer sent one or the filter added one.
    pub trailers: Option<Headers>,
    /// The parts the filter may use now.
    pub live: Live,
    /// The filter asked to resume this direction (`proxy_continue_stream`).
    pub resume: bool,
}

/// Which parts of a direction the filter may use: each from its callback until the direction
/// goes on, as Envoy hands out and takes back its pointers to them.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Live {
    pub headers: bool,
    pub body: bool,
    pub trailers: bool,
}

/// What the filter can see and change of one HTTP stream, as Envoy's `Context` holds it.
#[derive(Debug, Default)]
pub(crate) struct StreamData {
    pub root: u32,
    /// Request and response.
    pub dirs: PerDir<DirData>,
    /// `end_of_stream` of the last headers or body callback.
    pub end_of_stream: bool,
    /// `proxy_on_log` is running: maps are readable, not writable.
    pub access_log_phase: bool,
    pub local_response: Option<LocalResponse>,
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

/// A gRPC call waiting to be closed with a gRPC status.
#[derive(Debug, Clone)]
pub(crate) struct PendingGrpc {
    pub root: u32,
    pub token: u32,
    /// gRPC status code `proxy_on_grpc_close` gets.
    pub status: u32,
    /// Message `proxy_get_status` returns in that callback.
    pub message: &'static [u8],
}

/// An http call's response while `proxy_on_http_call_response` handles it.
#[derive(Debug, Default)]
pub(crate) struct CallResponse {
    pub headers: Headers,
    pub body: Vec<u8>,
    pub trailers: Option<Headers>,
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
    pub(crate) call_response: Option<CallResponse>,
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
    /// A VM with no module attached yet, no contexts, and Envoy's default log level (info).
    pub(crate) fn new(shared: SharedStore) -> HostState {
        HostState {
            memory: None,
            malloc: None,
            plugin_uid: 0,
            vm_id: String::new(),
            plugin_name: String::new(),
            current: 0,
            effective: 0,
            roots: BTreeMap::new(),
            streams: HashMap::new(),
            vm_config: Vec::new(),
            configuring: None,
            properties: PropertyMap::new(),
            logs: Vec::new(),
            log_level: LogLevel::Info.code(),
            metrics: Metrics::default(),
            shared,
            upstreams: Upstreams::default(),
            pending_http: Vec::new(),
            pending_grpc: Vec::new(),
            http_calls: Vec::new(),
            call_response: None,
            status: (0, Vec::new()),
            next_http_token: 1,
            next_grpc_token: 1,
            now_ns: 0,
            rng: 0x5EED,
            stop_next_iteration: false,
            done: Vec::new(),
            released: Vec::new(),
            exit_code: None,
            stats: CallbackStats::default(),
            env: Vec::new(),
        }
    }

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

    /// The stream host calls act on, if the acting context is a stream.
    pub(crate) fn stream(&self) -> Option<&StreamData> {
        self.streams.get(&self.context())
    }

    /// The stream host calls act on, to change it.
    pub(crate) fn stream_mut(&mut self) -> Option<&mut StreamData> {
        let ctx = self.context();
        self.streams.get_mut(&ctx)
    }

    /// Next pseudo-random u64 (splitmix64; seeded per plugin so runs are reproducible).
    pub(crate) fn next_random(&mut self) -> u64 {
        self.rng = self.rng.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// A VM state for unit tests of the host functions' behaviour, without wasm.
#[cfg(test)]
pub(crate) mod testing {
    use super::*;

    /// The root context id of [`with_stream`].
    pub const ROOT: u32 = 1;
    /// The stream context id of [`with_stream`].
    pub const STREAM: u32 = 2;

    /// A VM with root context 1 (root_id "") and stream context 2, acting as the stream.
    pub fn with_stream() -> HostState {
        let mut s = HostState::new(SharedStore::default());
        s.roots.insert(
            ROOT,
            RootData {
                root_id: String::new(),
                tick_ms: 0,
                next_tick_ns: 0,
            },
        );
        s.streams.insert(
            STREAM,
            StreamData {
                root: ROOT,
                ..Default::default()
            },
        );
        s.current = STREAM;
        s
    }

    /// Headers from `(name, value)` pairs.
    pub fn headers(pairs: &[(&str, &str)]) -> Headers {
        Headers::from_pairs(pairs.iter().copied())
    }
}
