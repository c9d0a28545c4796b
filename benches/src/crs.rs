//! Locating and loading OWASP CRS with the zero-config setup the benchmarks measure.

use std::path::{Path, PathBuf};

use meshward_seclang::{LoadError, RuleSet};

/// Environment variable naming the CRS directory.
pub const CRS_DIR_ENV: &str = "MESHWARD_CRS_DIR";

/// ModSecurity's recommended base configuration (`modsecurity.conf-recommended`), with the
/// engine blocking instead of detecting: bodies inspected, JSON/XML processors selected by
/// Content-Type, body parsing errors and strict multipart failures refused.
pub const RECOMMENDED_CONF: &str = r#"
SecRuleEngine On
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
SecResponseBodyMimeType text/plain text/html text/xml
SecResponseBodyLimit 524288
SecResponseBodyLimitAction ProcessPartial
SecArgumentSeparator &
"#;

/// Why CRS could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum CrsError {
    /// The directory has no `crs-setup.conf.example` or `rules/`.
    #[error("CRS not found at {dir} (missing {missing}); set {CRS_DIR_ENV} to a CRS v4.28.0 release")]
    Missing {
        /// The directory that was searched.
        dir: PathBuf,
        /// The file or folder that is absent.
        missing: &'static str,
    },
    /// `rules/` could not be listed.
    #[error("cannot list {dir}: {source}")]
    List {
        /// The rules directory.
        dir: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The engine rejected the rules.
    #[error("CRS at {dir} failed to load: {source}")]
    Load {
        /// The CRS directory.
        dir: PathBuf,
        /// The engine's error (file, line, reason), boxed to keep `Result`s small.
        source: Box<LoadError>,
    },
}

/// The CRS directory: `$MESHWARD_CRS_DIR`, else `<workspace>/../shared/crs/v4.28.0`.
pub fn crs_dir() -> PathBuf {
    match std::env::var_os(CRS_DIR_ENV).filter(|d| !d.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/crs/v4.28.0"),
    }
}

/// The CRS files loaded after the base configuration: `crs-setup.conf.example`, then
/// `rules/*.conf` in name order (as `Include rules/*.conf` reads them).
pub fn crs_files(dir: &Path) -> Result<Vec<PathBuf>, CrsError> {
    let setup = dir.join("crs-setup.conf.example");
    if !setup.is_file() {
        return Err(CrsError::Missing {
            dir: dir.to_path_buf(),
            missing: "crs-setup.conf.example",
        });
    }
    let rules_dir = dir.join("rules");
    if !rules_dir.is_dir() {
        return Err(CrsError::Missing {
            dir: dir.to_path_buf(),
            missing: "rules/",
        });
    }
    let listing = std::fs::read_dir(&rules_dir).map_err(|source| CrsError::List {
        dir: rules_dir.clone(),
        source,
    })?;
    let mut rules: Vec<PathBuf> = listing
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "conf"))
        .collect();
    rules.sort();
    let mut files = vec![setup];
    files.extend(rules);
    Ok(files)
}

/// Loads CRS at paranoia level 1 (crs-setup defaults) on top of [`RECOMMENDED_CONF`].
pub fn load_crs(dir: &Path) -> Result<RuleSet, CrsError> {
    let files = crs_files(dir)?;
    let mut builder = RuleSet::builder()
        .base_dir(dir)
        .add_str(RECOMMENDED_CONF, "meshward-benches/recommended.conf");
    for file in &files {
        builder = builder.add_file(file);
    }
    builder.build().map_err(|source| CrsError::Load {
        dir: dir.to_path_buf(),
        source: Box::new(source),
    })
}
