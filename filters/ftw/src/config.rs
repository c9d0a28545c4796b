//! The configuration CRS's regression tests are written for, as a WAF plugin configuration:
//! ModSecurity's recommended base settings (as in the CRS test containers),
//! `crs-setup.conf.example`, the test setup from CRS's `tests/regression/README.md`, and
//! `rules/*.conf` (all embedded in the filter).

use meshward_waf::loaded::Loaded;
use std::path::{Path, PathBuf};
use std::rc::Rc;

pub use meshward_testkit::locate::{workspace_root, CRS_DIR_ENV};

/// What CRS's test containers add to meshward's recommended base configuration: detection only,
/// JSON responses inspected too, and their 1 MiB response limit.
pub const TEST_BASE_OVERRIDES: &str = r#"
SecRuleEngine DetectionOnly
SecResponseBodyMimeType application/json
SecResponseBodyLimit 1048576
"#;

/// The test setup CRS documents for its regression suite (paranoia 4 and the limits the
/// length tests assume).
pub const TEST_SETUP: &str = r#"
SecAction "id:900005,phase:1,nolog,pass,t:none,\
    setvar:tx.blocking_paranoia_level=4,\
    setvar:tx.crs_validate_utf8_encoding=1,\
    setvar:tx.arg_name_length=100,\
    setvar:tx.arg_length=400,\
    setvar:tx.total_arg_length=64000,\
    setvar:tx.max_num_args=255,\
    setvar:tx.max_file_size=64100,\
    setvar:tx.combined_file_sizes=65535"
"#;

/// The CRS directory: `explicit`, else `$MESHWARD_CRS_DIR`, else `<workspace>/../shared/crs/v4.28.0`.
pub fn crs_dir(explicit: Option<&Path>) -> PathBuf {
    explicit
        .map(Path::to_path_buf)
        .unwrap_or_else(meshward_testkit::locate::crs_dir)
}

/// The regression tests directory inside a CRS checkout.
pub fn tests_dir(crs: &Path) -> PathBuf {
    crs.join("tests/regression/tests")
}

/// The WAF filter configured for the regression suite ([`waf_filter_config`]) with its embedded
/// CRS, as the native run drives it (the wasm and Envoy runs load the same configuration).
pub fn load_filter() -> anyhow::Result<Rc<Loaded>> {
    load_filter_with(&waf_filter_config())
}

/// The WAF filter loaded with another plugin configuration (JSON).
pub fn load_filter_with(config: &serde_json::Value) -> anyhow::Result<Rc<Loaded>> {
    Ok(Rc::new(Loaded::load(config.to_string().as_bytes())?))
}

/// The WAF filter's plugin configuration for the regression suite: the embedded CRS and
/// recommended base, detection only (as CRS's test containers run), paranoia 4, JSON
/// responses inspected with a 1 MiB limit, and [`TEST_SETUP`] as an extra directive. The
/// profile is CRS's own: the suite tests CRS's HTTP policy as shipped (e.g. 911100 expects
/// `PUT` and 920420 expects `application/vnd.api+json` to be flagged), which the default mesh
/// profile relaxes on purpose.
pub fn waf_filter_config() -> serde_json::Value {
    serde_json::json!({
        "mode": "detect",
        "profile": "crs",
        "paranoia_level": 4,
        "response_body": {
            "access": true,
            "limit": 1_048_576,
            "mime_types": ["text/plain", "text/html", "text/xml", "application/json"],
            "on_limit": "process_partial"
        },
        "directives": [one_line(TEST_SETUP)],
    })
}

/// A SecLang directive with its `\`-newline continuations joined into one line.
fn one_line(directive: &str) -> String {
    directive
        .trim()
        .split("\\\n")
        .map(str::trim)
        .collect::<Vec<_>>()
        .join("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_config_carries_the_test_setup_on_one_line() {
        let config = waf_filter_config();
        let directive = config["directives"][0].as_str().unwrap();
        assert!(
            directive
                .starts_with("SecAction \"id:900005,phase:1,nolog,pass,t:none,setvar:tx.blocking_paranoia_level=4,"),
            "{directive}"
        );
        assert!(
            !directive.contains('\n') && directive.ends_with("setvar:tx.combined_file_sizes=65535\""),
            "{directive}"
        );
        assert_eq!(config["paranoia_level"], 4);
        assert_eq!(config["profile"], "crs", "the suite tests CRS's own HTTP policy");
    }
}
