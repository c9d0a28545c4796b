//! Shared inputs for the criterion benchmarks: the WAF filter loaded with its zero
//! configuration, realistic requests and responses, the driver that runs them through the
//! filter's own exchange, and a counting allocator.
//!
//! The builders are plain data ([`HttpRequest`], [`HttpResponse`]) so the engine benches
//! and the WAF filter benches (through the proxy-wasm host, feature `host`) send the same
//! traffic.

pub mod alloc;
pub mod filter;
pub mod http;
pub mod load;
pub mod requests;
pub mod soak;

pub use filter::{load_filter, FILTER_CONFIG};
pub use http::{logged_rule_ids, run_request_phases, run_transaction, HttpRequest, HttpResponse};
#[cfg(feature = "host")]
pub use http::{to_host_request, to_host_response};
pub use requests::{
    bench_requests, browser_get, browser_get_attack, html_response, json_post, multipart_upload, urlencoded_post,
};
