//! `cargo xtask soak --duration D`: the soak run of issue 13. Installs Envoy, builds the filters,
//! then runs the `soak` binary of `meshward-benches` (optimised like the load comparison), which
//! starts and stops everything itself and exits non-zero when the run fails.

use std::path::Path;

use anyhow::Result;

/// Sets up, builds and runs the soak with `args` (`--duration D`, `--rate R`, ...).
pub fn soak(root: &Path, args: &[String]) -> Result<()> {
    let toolchain = crate::toolchain::WasmToolchain::detect_or_install(root)?;
    let envoy = crate::envoy::ensure_envoy(root)?;
    crate::wasm::build_all(root, &toolchain, crate::wasm::DEFAULT_TARGET)?;
    crate::load::run_benches_bin(root, &envoy, "soak", args, "the soak run")
}
