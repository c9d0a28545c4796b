//! go-ftw regression runner: reads CRS's go-ftw YAML tests and runs them three ways through the
//! WAF filter: its exchange natively (each stage turned into the request Envoy would hand a
//! filter, or Envoy's own refusal, with a synthesized albedo upstream), its `.wasm` in host-test
//! (`wasm`), and the `.wasm` in a real Envoy (`envoy`), the last two judged on the WAF's own
//! evidence events.

pub mod albedo;
pub mod check;
pub mod config;
pub mod drive;
pub mod envoy;
pub mod evidence;
pub mod format;
pub mod http1;
pub mod load;
pub mod run;
pub mod skips;
pub mod wasm;
pub mod wire;
