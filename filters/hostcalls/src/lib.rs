//! The proxy-wasm host calls meshward's filters make on the request path, as raw imports whose
//! every status is returned to the caller.
//!
//! The Rust SDK's wrappers panic on statuses they do not expect (Envoy answers BadArgument for a
//! header map read outside its callback, see `host-test/ENVOY.md` E05), and a panic aborts the
//! VM, failing every request it serves. The filters keep the SDK for context dispatch and use
//! these for everything a request can reach. The imports exist only on wasm32; the pair
//! encoding is plain code, tested natively.

pub mod pairs;

#[cfg(target_arch = "wasm32")]
mod abi;
#[cfg(target_arch = "wasm32")]
pub use abi::*;

/// `proxy_log` level: debug.
pub const LOG_DEBUG: u32 = 1;
/// `proxy_log` level: info.
pub const LOG_INFO: u32 = 2;
/// `proxy_log` level: warn.
pub const LOG_WARN: u32 = 3;
/// `proxy_log` level: error.
pub const LOG_ERROR: u32 = 4;

/// Header map: request headers.
pub const REQUEST_HEADERS: u32 = 0;
/// Header map: response headers.
pub const RESPONSE_HEADERS: u32 = 2;

/// Buffer: request body.
pub const REQUEST_BODY: u32 = 0;
/// Buffer: response body.
pub const RESPONSE_BODY: u32 = 1;
/// Buffer: plugin configuration.
pub const PLUGIN_CONFIGURATION: u32 = 7;
