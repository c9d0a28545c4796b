//! Locating and loading OWASP CRS with the zero-config setup the benchmarks measure.

use std::path::{Path, PathBuf};

use meshward_seclang::{LoadError, RuleSet};

pub use meshward_seclang::crs::{crs_files, CrsError, CRS_DIR_ENV};
pub use meshward_testkit::locate::crs_dir;

/// The zero-config setup measured: meshward's recommended base with the engine blocking.
pub const ENGINE_CONF: &str = "SecRuleEngine On\n";

/// Why the benchmark rule set could not be built.
#[derive(Debug, thiserror::Error)]
pub enum LoadCrsError {
    /// The CRS release is missing or unreadable.
    #[error(transparent)]
    Crs(#[from] CrsError),
    /// The engine rejected the rules.
    #[error("CRS at {dir} failed to load: {source}")]
    Load {
        /// The CRS directory.
        dir: PathBuf,
        /// The engine's error (file, line, reason), boxed to keep `Result`s small.
        source: Box<LoadError>,
    },
}

/// Loads CRS at paranoia level 1 (crs-setup defaults) on top of [`ENGINE_CONF`] and
/// meshward's recommended base configuration.
pub fn load_crs(dir: &Path) -> Result<RuleSet, LoadCrsError> {
    let files = crs_files(dir)?;
    let mut builder = RuleSet::builder()
        .base_dir(dir)
        .add_str(ENGINE_CONF, "meshward-benches/engine.conf")
        .add_str(meshward_seclang::crs::RECOMMENDED_CONF, "rules/recommended.conf");
    for file in &files {
        builder = builder.add_file(file);
    }
    builder.build().map_err(|source| LoadCrsError::Load {
        dir: dir.to_path_buf(),
        source: Box::new(source),
    })
}
