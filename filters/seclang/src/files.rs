//! Where rule files, `Include`d files and operator data files are read from: the disk by
//! default, or an in-memory map when there is no filesystem (a wasm filter embeds its files).

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

/// A read-only tree of files the loader reads rules and data from.
pub trait FileSource: Send + Sync {
    /// The whole content of the file at `path`.
    fn read(&self, path: &Path) -> Result<Vec<u8>, String>;
    /// Paths of the files directly inside `dir`, in any order.
    fn list(&self, dir: &Path) -> Result<Vec<PathBuf>, String>;
    /// True when `path` names a readable file.
    fn is_file(&self, path: &Path) -> bool;
}

/// The local filesystem.
#[derive(Debug, Clone, Copy, Default)]
pub struct DiskFiles;

impl FileSource for DiskFiles {
    fn read(&self, path: &Path) -> Result<Vec<u8>, String> {
        std::fs::read(path).map_err(|e| e.to_string())
    }

    fn list(&self, dir: &Path) -> Result<Vec<PathBuf>, String> {
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        let mut out = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(|e| e.to_string())? {
            let path = entry.map_err(|e| e.to_string())?.path();
            if path.is_file() {
                out.push(path);
            }
        }
        Ok(out)
    }

    fn is_file(&self, path: &Path) -> bool {
        path.is_file()
    }
}

/// Files held in memory, keyed by path (`.` and `..` are resolved lexically on lookup).
#[derive(Debug, Clone, Default)]
pub struct MemoryFiles {
    files: BTreeMap<PathBuf, Cow<'static, [u8]>>,
}

impl MemoryFiles {
    /// An empty tree.
    pub fn new() -> MemoryFiles {
        MemoryFiles::default()
    }

    /// Adds (or replaces) the file at `path`.
    pub fn insert(&mut self, path: impl AsRef<Path>, content: impl Into<Cow<'static, [u8]>>) {
        self.files.insert(normalize(path.as_ref()), content.into());
    }

    /// Number of files held.
    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// True when no file is held.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }
}

impl FileSource for MemoryFiles {
    fn read(&self, path: &Path) -> Result<Vec<u8>, String> {
        self.files
            .get(&normalize(path))
            .map(|c| c.to_vec())
            .ok_or_else(|| "no such embedded file".to_string())
    }

    fn list(&self, dir: &Path) -> Result<Vec<PathBuf>, String> {
        let dir = normalize(dir);
        Ok(self
            .files
            .keys()
            .filter(|p| p.parent() == Some(dir.as_path()))
            .cloned()
            .collect())
    }

    fn is_file(&self, path: &Path) -> bool {
        self.files.contains_key(&normalize(path))
    }
}

/// Resolves `.` and `..` without touching a filesystem (embedded trees have no links).
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// A shared handle on a [`FileSource`], carried by directives so data files resolve where
/// their rule file came from.
#[derive(Clone)]
pub struct Files(Arc<dyn FileSource>);

impl Files {
    /// Wraps a file source.
    pub fn new(source: impl FileSource + 'static) -> Files {
        Files(Arc::new(source))
    }

    /// The local filesystem.
    pub fn disk() -> Files {
        Files::new(DiskFiles)
    }
}

impl Default for Files {
    fn default() -> Files {
        Files::disk()
    }
}

impl std::ops::Deref for Files {
    type Target = dyn FileSource;
    fn deref(&self) -> &Self::Target {
        &*self.0
    }
}

impl fmt::Debug for Files {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Files")
    }
}

impl PartialEq for Files {
    /// Two handles are equal when they share the same source.
    fn eq(&self, other: &Files) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for Files {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_files_list_and_resolve_dot_dot() {
        let mut m = MemoryFiles::new();
        m.insert("@crs-rules/a.conf", &b"x"[..]);
        m.insert("@crs-rules/b.data", b"y".to_vec());
        m.insert("@crs-rules/sub/c.conf", &b"z"[..]);
        let mut listed = m.list(Path::new("@crs-rules")).unwrap();
        listed.sort();
        assert_eq!(
            listed,
            vec![PathBuf::from("@crs-rules/a.conf"), PathBuf::from("@crs-rules/b.data")]
        );
        assert_eq!(m.read(Path::new("@crs-rules/sub/../b.data")).unwrap(), b"y");
        assert!(m.is_file(Path::new("./@crs-rules/a.conf")));
        assert!(m.read(Path::new("nope")).is_err());
    }

    #[test]
    fn rule_set_loads_includes_and_data_files_from_memory() {
        let mut m = MemoryFiles::new();
        m.insert(
            "@rules/a.conf",
            &b"SecRule ARGS \"@pmFromFile words.data\" \"id:1,phase:1,deny\"\n"[..],
        );
        m.insert(
            "@rules/b.conf",
            &b"SecRule ARGS \"@ipMatchFromFile ../ips.data\" \"id:2,phase:1,pass\"\n"[..],
        );
        m.insert("@rules/words.data", &b"evil\n"[..]);
        m.insert("ips.data", &b"10.0.0.0/8\n"[..]);
        m.insert("@all", &b"Include @rules/*.conf\n"[..]);
        let rules = crate::RuleSet::builder()
            .files(Files::new(m))
            .add_str("SecRuleEngine On\nInclude @all", "inline")
            .build()
            .expect("loads from memory");
        assert_eq!(rules.stats().sec_rules, 2);
        let mut tx = rules.transaction();
        tx.process_uri(b"/?q=so+evil", "GET", "1.1");
        tx.process_request_headers();
        assert_eq!(tx.intervention().map(|i| i.rule_id), Some(1));
    }

    #[test]
    fn missing_memory_include_names_the_path() {
        let err = crate::RuleSet::builder()
            .files(Files::new(MemoryFiles::new()))
            .add_str("Include @nothing", "directives[0]")
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("directives[0]:1"), "{err}");
        assert!(err.to_string().contains("@nothing"), "{err}");
    }
}
