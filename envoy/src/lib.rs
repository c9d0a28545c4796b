//! Real-Envoy harness: runs Envoy with meshward wasm filters in front of a recording test
//! upstream, sends raw HTTP/1.1 requests through it, and reads back its stats and log.
//!
//! ```no_run
//! use meshward_envoy::{locate, Envoy, EnvoyConfig, Request, Upstream, WasmFilter};
//! let upstream = Upstream::start()?;
//! let wasm = locate::wasm_file("meshward-fixture-hello")?;
//! let envoy = Envoy::start(&EnvoyConfig::new(upstream.addr()).filter(WasmFilter::new(wasm, "hi")))?;
//! let response = envoy.send(&Request::get("/"))?;
//! assert_eq!(response.status, 200);
//! assert_eq!(upstream.requests()[0].header("x-hello"), Some("hi"));
//! # Ok::<(), meshward_envoy::HarnessError>(())
//! ```

pub mod albedo;
pub mod bootstrap;
pub mod client;
mod error;
pub mod examples;
pub mod logs;
pub mod mesh;
mod process;
pub mod rbac;
pub mod upstream;
pub mod waf;

/// Where Envoy and the built filters are (`meshward_testkit::locate`).
pub use meshward_testkit::locate;

pub use bootstrap::{EnvoyConfig, WasmFilter};
pub use client::{Request, Response};
pub use error::HarnessError;
pub use logs::{ProbeLine, WasmLog};
pub use meshward_testkit::http1::Headers;
pub use process::Envoy;
pub use upstream::{RecordedRequest, Upstream, UpstreamResponse};
