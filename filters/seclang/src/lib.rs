//! meshward-seclang: a ModSecurity SecLang engine that runs the OWASP Core Rule Set v4
//! unmodified. Plain Rust, no proxy-wasm dependency: filters are thin adapters over it.

pub mod body;
pub mod macros;
pub mod operator;
pub mod transform;
