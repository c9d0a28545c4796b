//! The WAF filter as the benchmarks measure it: the zero configuration, enforcing (OWASP CRS
//! embedded at build time, paranoia level 1, meshward's recommended base), loaded as the
//! filter's `on_configure` loads it.

use std::rc::Rc;

use meshward_waf::config::ConfigError;
use meshward_waf::loaded::Loaded;

/// The plugin configuration measured.
pub const FILTER_CONFIG: &str = r#"{"mode": "enforce"}"#;

/// Parses and compiles [`FILTER_CONFIG`], as `on_configure` does once per VM.
pub fn load_filter() -> Result<Rc<Loaded>, ConfigError> {
    Loaded::load(FILTER_CONFIG.as_bytes()).map(Rc::new)
}
