//! go-ftw regression runner: reads CRS's go-ftw YAML tests, turns each stage into the request
//! Envoy would hand a filter (or Envoy's own refusal), runs it through the meshward SecLang
//! engine with a synthesized albedo upstream, and checks the expectations natively.

pub mod albedo;
pub mod check;
pub mod config;
pub mod drive;
pub mod format;
pub mod http1;
pub mod load;
pub mod run;
pub mod skips;
pub mod wire;
