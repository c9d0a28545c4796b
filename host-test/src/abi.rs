//! Numeric values of the proxy-wasm ABI 0.2.1 (statuses, enum codes) as Envoy uses them.

/// Status codes returned by host functions (`WasmResult` in proxy-wasm-cpp-host).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[repr(i32)]
pub enum Status {
    /// The call succeeded.
    Ok = 0,
    /// The key, token or object does not exist.
    NotFound = 1,
    /// An argument is invalid, or the object is not available in this phase.
    BadArgument = 2,
    /// A value could not be serialized.
    SerializationFailure = 3,
    /// A value could not be parsed.
    ParseFailure = 4,
    /// An expression is invalid.
    BadExpression = 5,
    /// A pointer or length points outside linear memory.
    InvalidMemoryAccess = 6,
    /// The queue is empty.
    Empty = 7,
    /// The compare-and-swap value did not match.
    CasMismatch = 8,
    /// The result type did not match.
    ResultMismatch = 9,
    /// The host failed internally.
    InternalFailure = 10,
    /// The connection broke (http_call failure).
    BrokenConnection = 11,
    /// The function is not implemented.
    Unimplemented = 12,
}

impl Status {
    /// Raw value as returned to the wasm module.
    pub fn code(self) -> i32 {
        self as i32
    }
}

/// Buffer types (`proxy_get_buffer_bytes` first argument); names are the ABI's.
#[allow(missing_docs)]
pub mod buffer {
    pub const HTTP_REQUEST_BODY: u32 = 0;
    pub const HTTP_RESPONSE_BODY: u32 = 1;
    pub const DOWNSTREAM_DATA: u32 = 2;
    pub const UPSTREAM_DATA: u32 = 3;
    pub const HTTP_CALL_RESPONSE_BODY: u32 = 4;
    pub const GRPC_RECEIVE_BUFFER: u32 = 5;
    pub const VM_CONFIGURATION: u32 = 6;
    pub const PLUGIN_CONFIGURATION: u32 = 7;
    pub const CALL_DATA: u32 = 8;
    pub const MAX: u32 = 8;
}

/// Header map types (`proxy_*_header_map_*` first argument); names are the ABI's.
#[allow(missing_docs)]
pub mod map {
    pub const REQUEST_HEADERS: u32 = 0;
    pub const REQUEST_TRAILERS: u32 = 1;
    pub const RESPONSE_HEADERS: u32 = 2;
    pub const RESPONSE_TRAILERS: u32 = 3;
    pub const GRPC_INITIAL_METADATA: u32 = 4;
    pub const GRPC_TRAILING_METADATA: u32 = 5;
    pub const HTTP_CALL_RESPONSE_HEADERS: u32 = 6;
    pub const HTTP_CALL_RESPONSE_TRAILERS: u32 = 7;
    pub const MAX: u32 = 7;
}

/// Stream types (`proxy_continue_stream` / `proxy_close_stream`); names are the ABI's.
#[allow(missing_docs)]
pub mod stream {
    pub const REQUEST: u32 = 0;
    pub const RESPONSE: u32 = 1;
    pub const DOWNSTREAM: u32 = 2;
    pub const UPSTREAM: u32 = 3;
    pub const MAX: u32 = 3;
}

/// Metric types (`proxy_define_metric`); names are the ABI's.
#[allow(missing_docs)]
pub mod metric {
    pub const COUNTER: u32 = 0;
    pub const GAUGE: u32 = 1;
    pub const HISTOGRAM: u32 = 2;
    pub const MAX: u32 = 2;
}

/// Log levels (`proxy_log`), spdlog numbering.
#[allow(missing_docs)]
pub mod log {
    pub const TRACE: u32 = 0;
    pub const DEBUG: u32 = 1;
    pub const INFO: u32 = 2;
    pub const WARN: u32 = 3;
    pub const ERROR: u32 = 4;
    pub const CRITICAL: u32 = 5;
    pub const MAX: u32 = 5;
}

/// WASI errno values used by the stubs Envoy provides.
#[allow(missing_docs)]
pub mod errno {
    pub const SUCCESS: i32 = 0;
    pub const BADF: i32 = 8;
    pub const FAULT: i32 = 21;
    pub const NOSYS: i32 = 52;
    pub const NOTSUP: i32 = 58;
}

/// gRPC status `UNAVAILABLE`, used to answer every gRPC call.
pub const GRPC_UNAVAILABLE: u32 = 14;
