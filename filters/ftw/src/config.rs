//! The engine configuration CRS's regression tests are written for: ModSecurity's recommended
//! base settings (as in the CRS test containers), `crs-setup.conf.example`, the test setup
//! from CRS's `tests/regression/README.md`, and `rules/*.conf`.

use meshward_seclang::RuleSet;
use std::path::{Path, PathBuf};

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

/// Loads CRS with the regression test configuration: the recommended base and the test
/// containers' overrides, `crs-setup.conf.example`, the test setup, then `rules/*.conf`.
pub fn load_crs(crs: &Path) -> anyhow::Result<RuleSet> {
    let files = meshward_seclang::crs::crs_files(crs)?;
    let (setup, rules) = files.split_first().expect("crs_files starts with the setup file");
    let mut builder = RuleSet::builder()
        .base_dir(crs)
        .add_str(meshward_seclang::crs::RECOMMENDED_CONF, "rules/recommended.conf")
        .add_str(TEST_BASE_OVERRIDES, "meshward-ftw/test-base.conf")
        .add_file(setup)
        .add_str(TEST_SETUP, "meshward-ftw/test-setup.conf");
    for file in rules {
        builder = builder.add_file(file);
    }
    Ok(builder.build()?)
}

/// The WAF filter's plugin configuration equivalent to [`load_crs`]: the embedded CRS and
/// recommended base, detection only (as CRS's test containers run), paranoia 4, JSON
/// responses inspected with a 1 MiB limit, and [`TEST_SETUP`] as an extra directive.
pub fn waf_filter_config() -> serde_json::Value {
    serde_json::json!({
        "mode": "detect",
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
    }
}
