//! Finds (or installs) a toolchain that can build wasm32 filters.
//!
//! Two paths, tried in this order for each target:
//! 1. the active rustup toolchain already has the target's std (`rustup target add ...`);
//! 2. Debian's `rustc-web` with `rust-web-src`: std is rebuilt with `-Zbuild-std`, which
//!    needs `RUSTC_BOOTSTRAP=1`. On Debian, as root, the packages are installed on demand.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Result};

/// Debian packages that provide a wasm-capable compiler and the std sources.
// `rust-web-llvm` provides `rust-lld`, the linker rustc-web uses for wasm (a recommended, not
// a required, package of rustc-web: without it the link fails with "linker `rust-lld` not found").
const DEBIAN_PACKAGES: &[&str] = &[
    "rustc-web",
    "cargo-web",
    "rust-web-src",
    "rust-web-llvm",
    "rust-web-clippy",
    "lld-22",
    "wasi-libc",
];
const DEBIAN_CARGO: &str = "/usr/bin/cargo";
const DEBIAN_RUSTC: &str = "/usr/bin/rustc";
const DEBIAN_STD_SRC: &str = "/usr/lib/rustlib/src/rust/library";
/// The linker rustc-web uses for wasm targets (package `rust-web-llvm`).
const DEBIAN_LINKER: &str = "/usr/bin/rust-lld";
/// Clippy for rustc-web (package `rust-web-clippy`): lints the filters as compiled for wasm32.
const DEBIAN_CLIPPY: &str = "/usr/bin/cargo-clippy";
const DEBIAN_WASI_LIBC: &str = "/usr/lib/wasm32-wasi";

/// Each file the Debian path needs, with the package that provides it (so a missing one is
/// named by what to install).
const DEBIAN_FILES: &[(&str, &str)] = &[
    (DEBIAN_CARGO, "cargo-web"),
    (DEBIAN_RUSTC, "rustc-web"),
    (DEBIAN_STD_SRC, "rust-web-src"),
    (DEBIAN_LINKER, "rust-web-llvm"),
    (DEBIAN_CLIPPY, "rust-web-clippy"),
    (DEBIAN_WASI_LIBC, "wasi-libc"),
];

/// How wasm artifacts get built on this machine.
pub struct WasmToolchain {
    rustup_sysroot: Option<PathBuf>,
    debian: bool,
}

impl WasmToolchain {
    /// Detects the toolchain, installing Debian's packages when nothing else can build wasm.
    pub fn detect_or_install(_root: &Path) -> Result<WasmToolchain> {
        let mut toolchain = WasmToolchain {
            rustup_sysroot: rustup_sysroot(),
            debian: debian_ready(),
        };
        let all_rustup = crate::wasm::ALL_TARGETS.iter().all(|t| toolchain.rustup_has(t));
        if !all_rustup && !toolchain.debian {
            install_debian_packages()?;
            toolchain.debian = debian_ready();
            if !toolchain.debian {
                bail!(
                    "installed {} but these are still missing: {}",
                    DEBIAN_PACKAGES.join(" "),
                    debian_missing().join(", ")
                );
            }
        }
        Ok(toolchain)
    }

    /// Proves the toolchain can build and link a wasm module using std for every target, by
    /// building a probe crate; on failure the error names the missing piece.
    pub fn prove(&self, root: &Path) -> Result<()> {
        for target in crate::wasm::ALL_TARGETS {
            crate::probe::build(self, root, target)?;
        }
        Ok(())
    }

    /// True when `target` is built with Debian's rustc-web (not rustup's std).
    pub fn uses_debian(&self, target: &str) -> bool {
        !self.rustup_has(target) && self.debian
    }

    /// One line saying which path each target takes.
    pub fn describe(&self) -> String {
        crate::wasm::ALL_TARGETS
            .iter()
            .map(|t| {
                let how = if self.rustup_has(t) {
                    "rustup std"
                } else {
                    "Debian rustc-web + build-std"
                };
                format!("{t}: {how}")
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn rustup_has(&self, target: &str) -> bool {
        self.rustup_sysroot
            .as_ref()
            .is_some_and(|sysroot| sysroot.join("lib/rustlib").join(target).join("lib").is_dir())
    }

    /// A `cargo build --release --target T` command for `target`, with the environment the
    /// chosen path needs. Artifacts land in `target_dir/<target>/release`.
    pub fn cargo_build(&self, root: &Path, target: &str, target_dir: &Path) -> Result<Command> {
        self.cargo(root, Subcommand::Build, target, target_dir)
    }

    /// A `cargo clippy --target T` command for `target` (lint what only compiles for wasm32:
    /// the proxy-wasm adapters), with the environment the chosen path needs.
    pub fn cargo_clippy(&self, root: &Path, target: &str, target_dir: &Path) -> Result<Command> {
        self.cargo(root, Subcommand::Clippy, target, target_dir)
    }

    fn cargo(&self, root: &Path, subcommand: Subcommand, target: &str, target_dir: &Path) -> Result<Command> {
        let mut cmd;
        if self.rustup_has(target) {
            cmd = Command::new(crate::cargo_bin());
            cmd.args(subcommand.args()).args(["--target", target]);
        } else if self.debian {
            cmd = match subcommand {
                Subcommand::Build => Command::new(DEBIAN_CARGO),
                // cargo-clippy runs `$CARGO check` with clippy-driver as the workspace wrapper.
                Subcommand::Clippy => Command::new(DEBIAN_CLIPPY),
            };
            // xtask runs under rustup's cargo: its variables must not leak into Debian's.
            for var in [
                "RUSTUP_TOOLCHAIN",
                "RUSTC_WRAPPER",
                "RUSTC_WORKSPACE_WRAPPER",
                "CARGO_ENCODED_RUSTFLAGS",
            ] {
                cmd.env_remove(var);
            }
            cmd.env("CARGO", DEBIAN_CARGO)
                .env("RUSTC", DEBIAN_RUSTC)
                .env("RUSTDOC", "/usr/bin/rustdoc")
                .env("RUSTC_BOOTSTRAP", "1")
                .args(subcommand.args())
                .args(["--target", target, "-Zbuild-std=std,panic_abort"]);
            if target == "wasm32-wasip1" {
                cmd.env("RUSTFLAGS", format!("-L {DEBIAN_WASI_LIBC}"));
            } else {
                cmd.env("RUSTFLAGS", "");
            }
        } else {
            bail!(
                "no toolchain can build {target}. Install one of:\n  \
                 rustup target add {target}\n  \
                 apt-get install {}   (Debian/Ubuntu; xtask then uses -Zbuild-std)",
                DEBIAN_PACKAGES.join(" ")
            );
        }
        cmd.current_dir(root).env("CARGO_TARGET_DIR", target_dir);
        Ok(cmd)
    }
}

/// What a wasm cargo command does.
#[derive(Clone, Copy)]
enum Subcommand {
    /// `build --release`: the artifacts.
    Build,
    /// `clippy`: lint, no artifacts.
    Clippy,
}

impl Subcommand {
    fn args(self) -> &'static [&'static str] {
        match self {
            Subcommand::Build => &["build", "--release"],
            Subcommand::Clippy => &["clippy"],
        }
    }
}

/// The active rustup toolchain's sysroot, if `rustc` runs.
fn rustup_sysroot() -> Option<PathBuf> {
    let out = Command::new("rustc").args(["--print", "sysroot"]).output().ok()?;
    out.status
        .success()
        .then(|| PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
}

fn debian_ready() -> bool {
    debian_missing().is_empty()
}

/// The Debian path's files that are absent, each as `path (package)`.
fn debian_missing() -> Vec<String> {
    DEBIAN_FILES
        .iter()
        .filter(|(path, _)| !Path::new(path).exists())
        .map(|(path, package)| format!("{path} (package {package})"))
        .collect()
}

fn install_debian_packages() -> Result<()> {
    crate::apt::install(
        DEBIAN_PACKAGES,
        "a wasm32 std for the active toolchain and Debian's wasm toolchain",
        "Install either with rustup: rustup target add wasm32-wasip1 wasm32-unknown-unknown",
    )
}
