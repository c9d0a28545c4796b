//! host-test: a proxy-wasm ABI 0.2.1 host on wasmtime that behaves like Envoy 1.40, so
//! filters are tested outside the proxy.
//!
//! ```no_run
//! use meshward_host_test::{Host, Request, Response};
//! let host = Host::new()?;
//! let module = host.load("target/filters/wasm32-wasip1/meshward_fixture_hello.wasm")?;
//! let mut plugin = host.plugin(&module).config("hi").build()?;
//! let outcome = plugin.run(&Request::get("/"), &Response::ok())?;
//! assert_eq!(outcome.upstream_header("x-hello").as_deref(), Some("hi"));
//! # Ok::<(), meshward_host_test::Error>(())
//! ```

#![warn(missing_docs)]

mod dir;
mod envoy_reply;
mod error;
mod exchange;
pub mod http1;
mod imports;
mod memory;
mod metrics;
mod outcome;
mod plugin;
pub mod plugin_args;
pub mod property;
pub mod replay;
pub mod serve;
mod shared;
mod state;
mod stats;
mod stream;
pub mod testing;
mod upstream;
mod wasi;

pub use error::Error;
pub use exchange::{Request, Response};
/// The status every host function returns, from `meshward-abi`.
pub use meshward_abi::Status;
pub use meshward_testkit::http1::Headers;
pub use metrics::Metric;
pub use outcome::{Message, Outcome};
pub use plugin::{Host, Module, Plugin, PluginBuilder};
pub use property::Value;
pub use shared::SharedStore;
pub use state::{LocalResponse, LogEntry};
pub use stats::{CallbackStats, CallbackTime};
pub use stream::{HttpStream, Step, StreamId, BUFFER_LIMIT};
pub use upstream::{CallReply, HttpCall};
pub use wasi::ProcExit;
