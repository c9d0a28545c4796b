//! `cargo xtask load`: the load comparison of issue 12. Installs what it needs (Envoy, nginx
//! with the ModSecurity v3 module), builds the filters, then runs the `load` binary of
//! `meshward-benches`, which starts and stops everything itself.

use std::path::Path;
use std::process::Command;

use anyhow::Result;

/// Debian packages of the comparison's peer: nginx and its ModSecurity v3 connector.
pub const NGINX_PACKAGES: [&str; 2] = ["nginx", "libnginx-mod-http-modsecurity"];
const NGINX: &str = "/usr/sbin/nginx";
const MODSECURITY_MODULE: &str = "/usr/lib/nginx/modules/ngx_http_modsecurity_module.so";

/// Sets up, builds and runs the comparison with `args` (`--quick`, `--reps N`, ...).
pub fn load(root: &Path, args: &[String]) -> Result<()> {
    let toolchain = crate::toolchain::WasmToolchain::detect_or_install(root)?;
    let envoy = crate::envoy::ensure_envoy(root)?;
    ensure_nginx()?;
    crate::wasm::build_all(root, &toolchain, crate::wasm::DEFAULT_TARGET)?;
    run_benches_bin(root, &envoy, "load", args, "the load comparison")
}

/// Runs the `bin` program of `meshward-benches` in the `load` profile with `args`, pointed at
/// `envoy`, the filters and CRS.
pub fn run_benches_bin(root: &Path, envoy: &Path, bin: &str, args: &[String], what: &str) -> Result<()> {
    let mut cargo = Command::new(crate::cargo_bin());
    cargo
        .current_dir(root)
        .args([
            "run",
            "--quiet",
            "--profile",
            "load",
            "--package",
            "meshward-benches",
            "--bin",
            bin,
            "--",
        ])
        .args(args);
    crate::load_env(envoy, &mut cargo);
    crate::run_status(&mut cargo, what)
}

/// Installs nginx and the ModSecurity module unless both are there.
fn ensure_nginx() -> Result<()> {
    if Path::new(NGINX).exists() && Path::new(MODSECURITY_MODULE).exists() {
        return Ok(());
    }
    crate::apt::install(
        &NGINX_PACKAGES,
        "nginx with the ModSecurity v3 module (the load comparison's peer)",
        "Install nginx and its ModSecurity v3 connector module (libmodsecurity 3).",
    )
}
