//! The soak run (`cargo xtask soak --duration D`, issue 13): real Envoy with the policy filter
//! and the WAF in enforce mode in front of the load comparison's upstream, mixed benign and
//! attack traffic over HTTP/1.1 and h2c at a fixed rate, a sample every interval (requests,
//! errors, latency, WAF VM memory, Envoy RSS) into a CSV and a chart, and a verdict: errors, a
//! crash or memory growth ([`series`] states the rule) fail the run.
//!
//! The pure parts (options, the mix, the series, the verdict, the chart) are unit-tested;
//! processes and traffic run only in [`run::run`].

pub mod chart;
pub mod driver;
pub mod error;
pub mod options;
pub mod run;
pub mod series;
pub mod traffic;

pub use error::SoakError;
