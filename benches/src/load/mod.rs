//! The load comparison (`cargo xtask load`, issue 12): Envoy bare, with an empty wasm filter, with
//! the meshward WAF (detect, enforce), with meshward policy and with Envoy's native RBAC (the same
//! 1,000 rules), and nginx + ModSecurity v3 with the same CRS, all on 127.0.0.1 in front of one
//! upstream, under the same closed-loop load; interleaved repetitions, medians, a Markdown table
//! and an SVG chart.
//!
//! The pure parts (configuration rendering, aggregation, the report) are unit-tested; starting
//! processes and generating load happen only in [`run::run`].

pub mod client;
pub mod error;
pub mod nginx;
pub mod options;
pub mod policy_doc;
pub mod proxy;
pub mod report;
pub mod rss;
pub mod run;
pub mod stats;
pub mod upstream;
pub mod vm;
pub mod workload;

pub use error::LoadError;
