//! The engine configuration CRS's regression tests are written for: ModSecurity's recommended
//! base settings (as in the CRS test containers), `crs-setup.conf.example`, the test setup
//! from CRS's `tests/regression/README.md`, and `rules/*.conf`.

use meshward_seclang::RuleSet;
use std::path::{Path, PathBuf};

/// Environment variable naming the CRS directory.
pub const CRS_DIR_ENV: &str = "MESHWARD_CRS_DIR";

/// Base settings: ModSecurity's recommended configuration as CRS's test containers use it
/// (detection only, bodies inspected, the XML/JSON processor selection and body-error rules,
/// response bodies of the MIME types the containers list).
pub const BASE_CONFIG: &str = r#"
SecRuleEngine DetectionOnly
SecRequestBodyAccess On
SecRule REQUEST_HEADERS:Content-Type "^(?:application(?:/soap\+|/)|text/)xml" \
    "id:200000,phase:1,t:none,t:lowercase,pass,nolog,ctl:requestBodyProcessor=XML"
SecRule REQUEST_HEADERS:Content-Type "^application/json" \
    "id:200001,phase:1,t:none,t:lowercase,pass,nolog,ctl:requestBodyProcessor=JSON"
SecRequestBodyLimit 13107200
SecRequestBodyNoFilesLimit 131072
SecRequestBodyLimitAction Reject
SecRule REQBODY_ERROR "!@eq 0" \
    "id:200002,phase:2,t:none,log,deny,status:400,msg:'Failed to parse request body.',logdata:'%{reqbody_error_msg}',severity:2"
SecRule MULTIPART_STRICT_ERROR "!@eq 0" \
    "id:200003,phase:2,t:none,log,deny,status:400,msg:'Multipart request body failed strict validation.'"
SecRule MULTIPART_UNMATCHED_BOUNDARY "@eq 1" \
    "id:200004,phase:2,t:none,log,deny,msg:'Multipart parser detected a possible unmatched boundary.'"
SecResponseBodyAccess On
SecResponseBodyMimeType text/plain text/html text/xml application/json
SecResponseBodyLimit 1048576
SecArgumentSeparator &
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
    if let Some(dir) = explicit {
        return dir.to_path_buf();
    }
    if let Some(dir) = std::env::var_os(CRS_DIR_ENV).filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    workspace_root().join("../shared/crs/v4.28.0")
}

/// The workspace root (two levels above this crate).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The regression tests directory inside a CRS checkout.
pub fn tests_dir(crs: &Path) -> PathBuf {
    crs.join("tests/regression/tests")
}

/// The rule files to load, in order: setup, test setup, then `rules/*.conf` sorted.
pub fn rule_files(crs: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut rules: Vec<PathBuf> = std::fs::read_dir(crs.join("rules"))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "conf"))
        .collect();
    rules.sort();
    Ok(rules)
}

/// Loads CRS with the regression test configuration.
pub fn load_crs(crs: &Path) -> anyhow::Result<RuleSet> {
    let setup = crs.join("crs-setup.conf.example");
    anyhow::ensure!(
        setup.is_file(),
        "{} not found (set --crs or {CRS_DIR_ENV})",
        setup.display()
    );
    let mut builder = RuleSet::builder()
        .base_dir(crs)
        .add_str(BASE_CONFIG, "meshward-ftw/base.conf")
        .add_file(&setup)
        .add_str(TEST_SETUP, "meshward-ftw/test-setup.conf");
    for file in rule_files(crs)? {
        builder = builder.add_file(file);
    }
    Ok(builder.build()?)
}
