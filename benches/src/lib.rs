//! Shared inputs for the criterion benchmarks: CRS loading with the zero-config setup,
//! realistic requests and responses, the phase driver, and a counting allocator.
//!
//! The builders are plain data ([`HttpRequest`], [`HttpResponse`]) so the engine benches
//! and the WAF filter benches (through the proxy-wasm host, feature `host`) send the same
//! traffic.

pub mod alloc;
pub mod crs;
pub mod http;
pub mod requests;

pub use crs::{crs_dir, load_crs, LoadCrsError, ENGINE_CONF};
pub use http::{logged_rule_ids, run_request_phases, run_transaction, HttpRequest, HttpResponse};
#[cfg(feature = "host")]
pub use http::{to_host_request, to_host_response};
pub use requests::{
    bench_requests, browser_get, browser_get_attack, html_response, json_post, multipart_upload, urlencoded_post,
};
