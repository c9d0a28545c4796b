//! The tracked list of tests the runner does not run (`skips.toml`), each with its reason.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

/// One skipped test.
#[derive(Debug, Clone, Deserialize)]
struct Entry {
    id: String,
    reason: String,
}

#[derive(Debug, Default, Deserialize)]
struct File {
    #[serde(default)]
    skip: Vec<Entry>,
}

/// Skipped test ids and why.
#[derive(Debug, Clone, Default)]
pub struct Skips {
    by_id: BTreeMap<String, String>,
}

impl Skips {
    /// Reads `path`; every entry needs an id and a non-empty reason.
    pub fn load(path: &Path) -> anyhow::Result<Skips> {
        let text = std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        Skips::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
    }

    /// Parses the TOML text of a skips file.
    pub fn parse(text: &str) -> anyhow::Result<Skips> {
        let file: File = toml::from_str(text)?;
        let mut by_id = BTreeMap::new();
        for entry in file.skip {
            anyhow::ensure!(!entry.reason.trim().is_empty(), "skip {} has no reason", entry.id);
            anyhow::ensure!(
                by_id.insert(entry.id.clone(), entry.reason).is_none(),
                "skip {} is listed twice",
                entry.id
            );
        }
        Ok(Skips { by_id })
    }

    /// The reason `id` is skipped, if it is.
    pub fn reason(&self, id: &str) -> Option<&str> {
        self.by_id.get(id).map(String::as_str)
    }

    /// How many tests are listed.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// True when nothing is skipped.
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_validates() {
        let s = Skips::parse("[[skip]]\nid = \"1-2\"\nreason = \"why\"\n").unwrap();
        assert_eq!(s.reason("1-2"), Some("why"));
        assert_eq!(s.reason("1-3"), None);
        assert!(Skips::parse("[[skip]]\nid = \"1-2\"\nreason = \" \"\n").is_err());
        assert!(Skips::parse("[[skip]]\nid = \"1\"\nreason = \"a\"\n[[skip]]\nid = \"1\"\nreason = \"b\"\n").is_err());
        assert!(Skips::parse("").unwrap().is_empty());
    }
}
