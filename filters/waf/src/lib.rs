//! The WAF proxy-wasm filter (package `meshward-waf`), a thin adapter over `meshward-seclang` running the
//! embedded OWASP CRS. Everything but the host calls is plain Rust tested natively: the
//! configuration, directive assembly and set selection ([`loaded`]), what each callback does
//! ([`exchange`]), the evidence and the metric names. The proxy-wasm adapter, compiled only for
//! wasm32, carries out what the exchange returns; [`drive`] runs the same exchange natively the
//! way Envoy calls the filter (the native CRS run and the benches use it).

pub mod assembly;
pub mod config;
pub mod decode;
pub mod drive;
pub mod embedded;
pub mod evidence;
pub mod exchange;
pub mod loaded;
pub mod messages;
pub mod metrics;
pub mod profile;
pub mod selector;
pub mod tail;

#[cfg(target_arch = "wasm32")]
mod adapter;
#[cfg(target_arch = "wasm32")]
use meshward_hostcalls as hostcall;
