//! Filters written elsewhere: proxy-wasm filters in host-test/foreign/<name>/, built with another
//! language's toolchain from a package registry (not our Rust SDK), to prove host-test and Envoy
//! run any proxy-wasm filter alike.
//!
//! Each `host-test/foreign/<name>/` with a `package.json` is an AssemblyScript filter
//! (`assembly/index.ts`, toolchain pinned in `package-lock.json`); it is built to
//! `target/filters/foreign/<name>.wasm`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

use anyhow::{bail, Context, Result};

/// Debian packages that provide `node` and `npm` when they are missing.
const NODE_PACKAGES: [&str; 2] = ["nodejs", "npm"];

/// Sources of the foreign filters, relative to the workspace root.
pub fn source_dir(root: &Path) -> PathBuf {
    root.join("host-test/foreign")
}

/// Where the foreign filters are written (the tests' `MESHWARD_FOREIGN_WASM_DIR` default).
pub fn artifact_dir(root: &Path) -> PathBuf {
    root.join("target/filters/foreign")
}

/// Installs each foreign filter's toolchain when missing and builds the filters; returns the
/// `.wasm` files.
pub fn build_foreign(root: &Path) -> Result<Vec<PathBuf>> {
    let filters = filter_dirs(root)?;
    if filters.is_empty() {
        return Ok(Vec::new());
    }
    ensure_node()?;
    let dest = artifact_dir(root);
    std::fs::create_dir_all(&dest).with_context(|| format!("creating {}", dest.display()))?;
    let mut built = Vec::new();
    for dir in filters {
        let name = dir
            .file_name()
            .and_then(|n| n.to_str())
            .with_context(|| format!("foreign filter directory {} has no UTF-8 name", dir.display()))?
            .to_string();
        npm_ci_if_needed(&dir)?;
        let out = dest.join(format!("{name}.wasm"));
        if is_stale(&dir, &out)? {
            compile(&dir, &out)?;
            println!("xtask: built foreign filter {}", out.display());
        }
        built.push(out);
    }
    Ok(built)
}

/// Subdirectories of host-test/foreign holding a `package.json`, sorted.
fn filter_dirs(root: &Path) -> Result<Vec<PathBuf>> {
    let base = source_dir(root);
    let entries = match std::fs::read_dir(&base) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("reading {}", base.display())),
    };
    let mut dirs = Vec::new();
    for entry in entries {
        let path = entry.with_context(|| format!("reading {}", base.display()))?.path();
        if path.join("package.json").is_file() {
            dirs.push(path);
        }
    }
    dirs.sort();
    Ok(dirs)
}

fn has(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// Makes `node` and `npm` available: present already, or installed with apt-get as root.
fn ensure_node() -> Result<()> {
    if has("node") && has("npm") {
        return Ok(());
    }
    crate::apt::install(
        &NODE_PACKAGES,
        "node and npm (the foreign AssemblyScript filters need Node.js >= 18 with npm)",
        "Install Node.js >= 18 with npm.",
    )?;
    if !(has("node") && has("npm")) {
        bail!(
            "node and npm are still missing after apt-get install {}",
            NODE_PACKAGES.join(" ")
        );
    }
    Ok(())
}

fn mtime(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// Runs `npm ci` (exact versions of package-lock.json, no install scripts) unless
/// node_modules already matches the lock file.
fn npm_ci_if_needed(dir: &Path) -> Result<()> {
    let lock = dir.join("package-lock.json");
    if !lock.is_file() {
        bail!(
            "{} is missing: foreign filters must pin their toolchain",
            lock.display()
        );
    }
    // npm writes node_modules/.package-lock.json after a successful install.
    let installed = dir.join("node_modules/.package-lock.json");
    let fresh = matches!((mtime(&installed), mtime(&lock)), (Some(i), Some(l)) if i >= l);
    if fresh && dir.join("node_modules/assemblyscript/bin/asc").is_file() {
        return Ok(());
    }
    println!("xtask: npm ci in {}", dir.display());
    let status = Command::new("npm")
        .current_dir(dir)
        .args(["ci", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error"])
        .status()
        .context("running npm ci")?;
    if !status.success() {
        bail!("npm ci in {} failed ({status})", dir.display());
    }
    Ok(())
}

/// True when `out` is missing or older than any source, manifest or installed toolchain file.
fn is_stale(dir: &Path, out: &Path) -> Result<bool> {
    let Some(built) = mtime(out) else { return Ok(true) };
    let mut inputs = vec![
        dir.join("package.json"),
        dir.join("package-lock.json"),
        dir.join("node_modules/.package-lock.json"),
    ];
    let assembly = dir.join("assembly");
    for entry in std::fs::read_dir(&assembly).with_context(|| format!("reading {}", assembly.display()))? {
        inputs.push(entry.with_context(|| format!("reading {}", assembly.display()))?.path());
    }
    Ok(inputs.iter().any(|p| mtime(p).is_none_or(|t| t > built)))
}

/// Compiles `assembly/index.ts` with the pinned AssemblyScript compiler.
fn compile(dir: &Path, out: &Path) -> Result<()> {
    let status = Command::new("node")
        .current_dir(dir)
        .arg("node_modules/assemblyscript/bin/asc")
        .arg("assembly/index.ts")
        .arg("--binaryFile")
        .arg(out)
        // The SDK routes AssemblyScript's abort() to proxy_log + proc_exit.
        .args(["--use", "abort=abort_proc_exit", "--optimize"])
        .status()
        .context("running the AssemblyScript compiler (node node_modules/assemblyscript/bin/asc)")?;
    if !status.success() {
        bail!("asc failed for {} ({status})", dir.display());
    }
    if !out.is_file() {
        bail!("asc succeeded but wrote no {}", out.display());
    }
    Ok(())
}
