//! meshward-waf: the WAF proxy-wasm filter, a thin adapter over `meshward-seclang` running the
//! embedded OWASP CRS. The pure parts (configuration, directive assembly, set selection,
//! evidence, metric names) are plain Rust tested natively; the proxy-wasm adapter is compiled
//! only for wasm32.

pub mod assembly;
pub mod config;
pub mod embedded;
pub mod evidence;
pub mod loaded;
pub mod metrics;
pub mod selector;

#[cfg(target_arch = "wasm32")]
mod adapter;
#[cfg(target_arch = "wasm32")]
use meshward_hostcalls as hostcall;
