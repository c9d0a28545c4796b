//! The gates `cargo xtask test` runs before any test: formatting, and clippy with every warning
//! an error, on the host (every target of every crate) and on wasm32 (the filters as Envoy
//! loads them: their proxy-wasm adapters compile only there). The lints themselves are the
//! workspace's (`[workspace.lints]` in the root `Cargo.toml`).

use std::path::Path;
use std::process::Command;

use anyhow::Result;

use crate::toolchain::WasmToolchain;
use crate::wasm;

/// Runs every gate, stopping at the first that fails.
pub fn check_all(root: &Path, toolchain: &WasmToolchain) -> Result<()> {
    let mut fmt = Command::new(crate::cargo_bin());
    fmt.current_dir(root).args(["fmt", "--all", "--", "--check"]);
    crate::run_status(&mut fmt, "cargo fmt --check (run `cargo fmt --all`)")?;
    // The fuzz targets are their own workspace (`fuzz/`), which `--all` does not reach.
    let mut fuzz_fmt = Command::new(crate::cargo_bin());
    fuzz_fmt
        .current_dir(root)
        .args(["fmt", "--manifest-path", "fuzz/Cargo.toml", "--", "--check"]);
    crate::run_status(&mut fuzz_fmt, "cargo fmt --check of fuzz/")?;

    let mut host = Command::new(crate::cargo_bin());
    host.current_dir(root)
        .args(["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"]);
    crate::run_status(&mut host, "cargo clippy on the host")?;

    // The same target dir as the wasm builds: only the lint pass of the workspace's own crates
    // differs from a build, the std and dependencies built for wasm32 are shared.
    let target_dir = root.join("target/wasm");
    let mut filters = toolchain.cargo_clippy(root, wasm::DEFAULT_TARGET, &target_dir)?;
    for package in wasm::cdylib_packages(root)? {
        filters.args(["--package", &package]);
    }
    filters.args(["--", "-D", "warnings"]);
    crate::run_status(&mut filters, &format!("cargo clippy for {}", wasm::DEFAULT_TARGET))
}
