//! Installing Debian packages for the set-up: one place that knows how (apt-get as root,
//! non-interactive, without recommends) and what to say when it cannot.

use std::path::Path;
use std::process::Command;

use anyhow::{bail, Context, Result};

/// True when this machine can install packages itself: Debian's apt-get, run as root.
pub fn can_install() -> bool {
    Path::new("/usr/bin/apt-get").exists() && is_root()
}

/// Installs `packages` with apt-get; `what` says what they are for in the messages. When this
/// machine cannot install, the error names the packages and `manual` (other ways to get them).
pub fn install(packages: &[&str], what: &str, manual: &str) -> Result<()> {
    let list = packages.join(" ");
    if !can_install() {
        bail!("{what} are missing. {manual}\n  on Debian (as root): apt-get install {list}");
    }
    println!("xtask: installing {list} with apt-get ({what})");
    let update = Command::new("apt-get")
        .args(["update", "-qq"])
        .status()
        .context("running apt-get update")?;
    if !update.success() {
        bail!("apt-get update failed ({update})");
    }
    let install = Command::new("apt-get")
        .args(["install", "-y", "-qq", "--no-install-recommends"])
        .args(packages)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .status()
        .context("running apt-get install")?;
    if !install.success() {
        bail!("apt-get install {list} failed ({install})");
    }
    Ok(())
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}
