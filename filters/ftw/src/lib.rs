//! go-ftw regression runner: reads CRS's go-ftw YAML tests and runs them three ways: the
//! meshward SecLang engine natively (each stage turned into the request Envoy would hand a
//! filter, or Envoy's own refusal, with a synthesized albedo upstream), the WAF filter's
//! `.wasm` in host-test (`wasm`), and the `.wasm` in a real Envoy (`envoy`), judged on the
//! WAF's own evidence events.

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
