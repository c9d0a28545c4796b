//! Proves a wasm toolchain works before anything else is built: a tiny crate that uses std
//! (a `HashMap`, whose seed comes from the host on wasip1) is compiled and linked for a target.
//! Files being present is not enough: a machine can have the compiler and miss the linker, the
//! std sources or wasi-libc, and each shows up only when linking. On failure the error names the
//! missing piece and what provides it.

use std::path::Path;
use std::process::Stdio;

use anyhow::{bail, Context, Result};

use crate::toolchain::WasmToolchain;

/// The probe's package name (and so its artifact's file name).
const NAME: &str = "meshward_toolchain_probe";

const MANIFEST: &str = r#"[package]
name = "meshward_toolchain_probe"
version = "0.0.0"
edition = "2021"
publish = false

[lib]
crate-type = ["cdylib"]
path = "lib.rs"

# Its own workspace: it lives under the project's target directory.
[workspace]

[profile.release]
panic = "abort"
"#;

const SOURCE: &str = r#"use std::collections::HashMap;

/// Uses std's allocator, formatting and a randomly seeded HashMap.
#[no_mangle]
pub extern "C" fn meshward_probe(n: i32) -> i32 {
    let mut map = HashMap::new();
    map.insert(format!("k{n}"), n);
    map.len() as i32 + map.values().sum::<i32>()
}
"#;

/// Builds and links the probe for `target`; Ok when a wasm module came out.
pub fn build(toolchain: &WasmToolchain, root: &Path, target: &str) -> Result<()> {
    let dir = root.join("target/xtask/toolchain-probe");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    std::fs::write(dir.join("Cargo.toml"), MANIFEST).context("writing the probe's Cargo.toml")?;
    std::fs::write(dir.join("lib.rs"), SOURCE).context("writing the probe's lib.rs")?;
    let target_dir = dir.join("target");
    let mut cmd = toolchain.cargo_build(&dir, target, &target_dir)?;
    cmd.arg("--quiet").stdout(Stdio::piped()).stderr(Stdio::piped());
    let out = cmd
        .output()
        .with_context(|| format!("starting the toolchain probe for {target}"))?;
    let artifact = target_dir.join(target).join("release").join(format!("{NAME}.wasm"));
    if out.status.success() && is_wasm(&artifact) {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let how = if toolchain.uses_debian(target) {
        "Debian rustc-web + build-std"
    } else {
        "rustup std"
    };
    let cause = diagnose(&stderr).unwrap_or("the toolchain could not build a wasm module (output below)");
    bail!(
        "the wasm toolchain for {target} ({how}) does not work: {cause}\n\
         probe: {}\n--- last lines of cargo's output ---\n{}",
        dir.display(),
        tail(&stderr, 15)
    )
}

/// True when `path` is a file starting with the wasm magic number.
fn is_wasm(path: &Path) -> bool {
    std::fs::read(path).is_ok_and(|bytes| bytes.starts_with(b"\0asm"))
}

/// Names the missing piece from cargo's error output, when it is one we know.
fn diagnose(stderr: &str) -> Option<&'static str> {
    const KNOWN: &[(&str, &str)] = &[
        (
            "linker `rust-lld` not found",
            "no linker: `rust-lld` is missing (Debian package rust-web-llvm)",
        ),
        (
            "error: could not find `std` in",
            "no std sources for -Zbuild-std (Debian package rust-web-src)",
        ),
        (
            "library/Cargo.lock",
            "no std sources for -Zbuild-std (Debian package rust-web-src)",
        ),
        (
            "can't find crate for `std`",
            "no std for this target (rustup target add <target>, or Debian's rust-web-src)",
        ),
        (
            "can't find crate for `core`",
            "no std for this target (rustup target add <target>, or Debian's rust-web-src)",
        ),
        (
            "unable to find library -lc",
            "no wasi-libc to link against (Debian package wasi-libc)",
        ),
        (
            "cannot find -lc",
            "no wasi-libc to link against (Debian package wasi-libc)",
        ),
        (
            "the option `Z` is only accepted on the nightly compiler",
            "build-std needs RUSTC_BOOTSTRAP=1 and a rustc that has the std sources (rustc-web)",
        ),
    ];
    KNOWN
        .iter()
        .find(|(needle, _)| stderr.contains(needle))
        .map(|(_, cause)| *cause)
}

/// The last `n` lines of `text`.
fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_linker_names_its_package() {
        let out = "error: linker `rust-lld` not found\n  |\n  = note: No such file or directory (os error 2)";
        assert_eq!(
            diagnose(out),
            Some("no linker: `rust-lld` is missing (Debian package rust-web-llvm)")
        );
    }

    #[test]
    fn missing_std_sources_and_libc_are_told_apart() {
        let src = "error: \"/usr/lib/rustlib/src/rust/library/Cargo.lock\" does not exist, unable to build with the standard library";
        assert!(diagnose(src).is_some_and(|c| c.contains("rust-web-src")));
        let libc = "rust-lld: error: unable to find library -lc";
        assert!(diagnose(libc).is_some_and(|c| c.contains("wasi-libc")));
    }

    #[test]
    fn unknown_failures_are_not_guessed() {
        assert_eq!(diagnose("error[E0308]: mismatched types"), None);
    }

    #[test]
    fn tail_keeps_the_last_lines() {
        assert_eq!(tail("a\nb\nc", 2), "b\nc");
        assert_eq!(tail("a", 5), "a");
    }
}
