//! The third-party tools the behaviour scenario runs as attackers (envoy/tests/behaviour.rs):
//! Debian's ffuf, gobuster, hydra, siege and wget, installed with apt-get when one is missing.

use anyhow::{bail, Result};
use meshward_testkit::locate;

/// Each tool's binary and the Debian package that provides it.
const TOOLS: [(&str, &str); 5] = [
    ("ffuf", "ffuf"),
    ("gobuster", "gobuster"),
    ("hydra", "hydra"),
    ("siege", "siege"),
    ("wget", "wget"),
];

/// Makes every tool available: present already, or installed with apt-get as root.
pub fn ensure_attack_tools() -> Result<()> {
    let missing: Vec<&str> = TOOLS
        .iter()
        .filter(|(binary, _)| locate::on_path(binary).is_none())
        .map(|(_, package)| *package)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    crate::apt::install(
        &missing,
        "the attack tools of the behaviour-analytics scenario (ffuf, gobuster, hydra, siege, wget)",
        "Install them from your distribution.",
    )?;
    let still: Vec<&str> = TOOLS
        .iter()
        .filter(|(binary, _)| locate::on_path(binary).is_none())
        .map(|(binary, _)| *binary)
        .collect();
    if !still.is_empty() {
        bail!(
            "apt-get install {} left {} missing",
            missing.join(" "),
            still.join(", ")
        );
    }
    Ok(())
}
