//! The OWASP Core Rule Set release on disk: where it is, which of its files make a rule set, and
//! meshward's base configuration that goes under it.
//!
//! CRS is not part of this repository: tools and tests find it through `MESHWARD_CRS_DIR`,
//! defaulting to `../shared/crs/v4.28.0` beside the workspace (`meshward_testkit::locate::crs_dir`;
//! what CI uses; `rules/README.md` says how to get it).

use std::path::{Path, PathBuf};

/// Environment variable naming the CRS release directory.
pub const CRS_DIR_ENV: &str = "MESHWARD_CRS_DIR";

/// ModSecurity's recommended settings CRS expects (body access and limits, JSON/XML processor
/// selection, body-error rules), without an engine mode: `rules/recommended.conf`.
pub const RECOMMENDED_CONF: &str = include_str!("../../../rules/recommended.conf");

/// Why a CRS release could not be read.
#[derive(Debug, thiserror::Error)]
pub enum CrsError {
    /// The directory lacks `crs-setup.conf.example` or `rules/`.
    #[error("CRS not found at {dir} (missing {missing}); set {CRS_DIR_ENV} to a CRS v4.28.0 release")]
    Missing {
        /// The directory searched.
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
}

/// The files of a CRS release that make the rule set, in load order:
/// `crs-setup.conf.example`, then `rules/*.conf` by name (as `Include rules/*.conf` reads them).
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_release_names_what_is_missing() {
        let dir = std::env::temp_dir().join("meshward-no-crs-here");
        let err = crs_files(&dir).unwrap_err();
        assert!(err.to_string().contains("crs-setup.conf.example"), "{err}");
        assert!(err.to_string().contains(CRS_DIR_ENV), "{err}");
    }

    #[test]
    fn recommended_conf_loads_and_sets_no_engine_mode() {
        let rules = crate::RuleSet::from_str(RECOMMENDED_CONF, "recommended.conf").expect("loads");
        assert!(!RECOMMENDED_CONF
            .lines()
            .any(|l| l.trim_start().starts_with("SecRuleEngine")));
        assert_eq!(rules.stats().sec_rules, 5, "{:?}", rules.stats());
    }
}
