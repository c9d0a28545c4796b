//! The OCI registry the image tests push to: Debian's `docker-registry` (CNCF distribution),
//! installed with apt-get when it is missing.

use std::path::PathBuf;

use anyhow::{bail, Result};
use meshward_testkit::locate;

/// The Debian package that provides `/usr/bin/docker-registry`.
const REGISTRY_PACKAGES: [&str; 1] = ["docker-registry"];

/// The registry binary the tests will start (`$MESHWARD_REGISTRY` or Debian's), installed if missing.
pub fn ensure_registry() -> Result<PathBuf> {
    match locate::registry_binary() {
        Ok(path) => return Ok(path),
        // A registry the user named is theirs to fix; installing Debian's would not help.
        Err(e) if locate::env_path(locate::REGISTRY_ENV).is_some() => bail!("{e}"),
        Err(_) => {}
    }
    crate::apt::install(
        &REGISTRY_PACKAGES,
        "the OCI registry the image tests push to (CNCF distribution)",
        "Install the CNCF distribution registry and set MESHWARD_REGISTRY to its binary.",
    )?;
    match locate::registry_binary() {
        Ok(path) => Ok(path),
        Err(e) => bail!("apt-get install {} left no registry: {e}", REGISTRY_PACKAGES.join(" ")),
    }
}
