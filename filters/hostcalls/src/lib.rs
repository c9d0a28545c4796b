//! The proxy-wasm host calls meshward's filters make on the request path, as raw imports whose
//! every status is returned to the caller as a [`Status`].
//!
//! The Rust SDK's wrappers panic on statuses they do not expect (Envoy answers BadArgument for a
//! header map read outside its callback, see `host-test/ENVOY.md` E05, and the SDK unwraps it),
//! and a panic aborts the VM, failing every request it serves. The filters keep the SDK for
//! context dispatch and use these for everything a request can reach.
//!
//! The ABI itself (statuses, enum codes, the header-map encoding) is `meshward-abi`'s; this crate
//! adds the calls. The imports exist only on wasm32; what turns host results into values
//! (`status`, `encoding`) is plain code, tested natively.

// The request path: a panic here traps the VM and fails every request it serves.
#![warn(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

// Plain code the wasm32 calls use (natively only their tests do).
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
mod encoding;
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
mod status;

#[cfg(target_arch = "wasm32")]
mod calls;
#[cfg(target_arch = "wasm32")]
mod imports;
#[cfg(target_arch = "wasm32")]
pub use calls::*;

pub use meshward_abi::pairs::Pair;
pub use meshward_abi::{BufferType, LogLevel, MapType, MetricType, Status};
