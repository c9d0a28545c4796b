//! The proxy-wasm ABI 0.2.1 as plain data, shared by both sides of the boundary: the filters'
//! host calls (`meshward-hostcalls`), the host that runs them (`meshward-host-test`) and the
//! fixture filters.
//!
//! - [`Status`]: what every host function returns;
//! - [`BufferType`], [`MapType`], [`StreamType`], [`MetricType`], [`LogLevel`]: the enum codes
//!   host functions take, with the names the probe scripts and the CLI use;
//! - [`pairs`]: the header-map encoding, with a strict decoder (a filter reading what the host
//!   sent) and a lenient one (a host reading what a filter sent, as proxy-wasm-cpp-host does).
//!
//! Numbering follows proxy-wasm-cpp-host, which is what Envoy runs.

// The request path: a panic here traps the VM and fails every request it serves.
#![warn(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

pub mod pairs;
mod status;
mod types;

pub use status::Status;
pub use types::{BufferType, LogLevel, MapType, MetricType, StreamType};
