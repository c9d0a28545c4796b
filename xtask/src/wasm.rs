//! Builds every cdylib filter crate in the workspace to `target/filters/<target>/<name>.wasm`.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

/// The target filters are built for unless asked otherwise (WASI gives std a random hash seed).
pub const DEFAULT_TARGET: &str = "wasm32-wasip1";
/// Every target the filters are built and tested for.
pub const ALL_TARGETS: [&str; 2] = ["wasm32-wasip1", "wasm32-unknown-unknown"];

/// Parses `[--target T]` (T may be `all`).
pub fn targets_from_args(args: &[String]) -> Result<Vec<&'static str>> {
    match args {
        [] => Ok(vec![DEFAULT_TARGET]),
        [flag, value] if flag == "--target" => match value.as_str() {
            "all" => Ok(ALL_TARGETS.to_vec()),
            v => match ALL_TARGETS.iter().find(|t| **t == v) {
                Some(t) => Ok(vec![*t]),
                None => bail!("unknown target `{v}` (expected one of {ALL_TARGETS:?} or all)"),
            },
        },
        _ => bail!("usage: cargo xtask wasm [--target wasm32-wasip1|wasm32-unknown-unknown|all]"),
    }
}

/// Where the named artifacts of `target` are collected.
pub fn artifact_dir(root: &Path, target: &str) -> PathBuf {
    root.join("target/filters").join(target)
}

/// Workspace packages that build a `cdylib` (the wasm filters), from `cargo metadata`.
pub fn cdylib_packages(root: &Path) -> Result<Vec<String>> {
    Ok(filter_packages(root)?.into_iter().map(|(name, _)| name).collect())
}

/// Workspace packages that build only a `cdylib`: they cannot link natively, so native tests skip
/// them. (A filter that is also an `rlib` keeps its adapter behind `cfg(target_arch = "wasm32")`
/// and its native tests run.)
pub fn cdylib_only_packages(root: &Path) -> Result<Vec<String>> {
    Ok(filter_packages(root)?
        .into_iter()
        .filter(|(_, only)| *only)
        .map(|(name, _)| name)
        .collect())
}

/// `(name, builds nothing but a cdylib)` for every package with a `cdylib` target.
fn filter_packages(root: &Path) -> Result<Vec<(String, bool)>> {
    let out = Command::new(crate::cargo_bin())
        .current_dir(root)
        .args(["metadata", "--no-deps", "--format-version", "1"])
        .output()
        .context("running cargo metadata")?;
    if !out.status.success() {
        bail!("cargo metadata failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).context("parsing cargo metadata")?;
    let mut names = Vec::new();
    for package in meta["packages"].as_array().into_iter().flatten() {
        let lib_types: Vec<&str> = package["targets"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|t| {
                let kinds = t["kind"].as_array();
                kinds
                    .into_iter()
                    .flatten()
                    .any(|k| matches!(k.as_str(), Some("lib" | "rlib" | "cdylib" | "dylib" | "staticlib")))
            })
            .flat_map(|t| {
                t["crate_types"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|c| c.as_str())
            })
            .collect();
        if let (true, Some(name)) = (lib_types.contains(&"cdylib"), package["name"].as_str()) {
            names.push((name.to_string(), lib_types.iter().all(|c| *c == "cdylib")));
        }
    }
    names.sort();
    Ok(names)
}

/// Builds all filters for `target` in the size/speed-tuned release profile and collects them.
pub fn build_all(root: &Path, toolchain: &crate::toolchain::WasmToolchain, target: &str) -> Result<()> {
    let packages = cdylib_packages(root)?;
    // A separate target dir: the wasm toolchain may be another rustc, whose host artifacts
    // (build scripts, proc macros) must not invalidate the native ones.
    let target_dir = root.join("target/wasm");
    let mut cmd = toolchain.cargo_build(root, target, &target_dir)?;
    for p in &packages {
        cmd.args(["--package", p]);
    }
    println!("xtask: building {} filter(s) for {target}", packages.len());
    let started = std::time::Instant::now();
    crate::run_status(&mut cmd, &format!("wasm build for {target}"))?;
    let built = target_dir.join(target).join("release");
    let dest = artifact_dir(root, target);
    std::fs::create_dir_all(&dest).with_context(|| format!("creating {}", dest.display()))?;
    for p in &packages {
        let file = format!("{}.wasm", p.replace('-', "_"));
        let from = built.join(&file);
        let to = dest.join(&file);
        std::fs::copy(&from, &to).with_context(|| format!("copying {} to {}", from.display(), to.display()))?;
        let size = std::fs::metadata(&to).map(|m| m.len()).unwrap_or(0);
        println!("xtask:   {} ({} KiB)", to.display(), size / 1024);
    }
    println!("xtask: {target} done in {:.1}s", started.elapsed().as_secs_f64());
    Ok(())
}
