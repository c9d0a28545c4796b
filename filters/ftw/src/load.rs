//! Loading go-ftw YAML files into test cases with go-ftw's ids (`<rule_id>-<test_id>`).

use crate::format::{Stage, TestFile};
use std::path::{Path, PathBuf};
use thiserror::Error;

/// A test file that could not be read.
#[derive(Debug, Error)]
pub enum LoadError {
    /// Reading a file or directory failed.
    #[error("{path}: {source}")]
    Io {
        /// The path that failed.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A file is not valid go-ftw YAML.
    #[error("{path}: {source}")]
    Yaml {
        /// The file.
        path: PathBuf,
        /// The YAML error, with line and column.
        source: serde_yaml_ng::Error,
    },
    /// A file has no `rule_id` and no digits in its name.
    #[error("{path}: no rule_id and none in the file name")]
    NoRuleId {
        /// The file.
        path: PathBuf,
    },
}

/// One test case, ready to run.
#[derive(Debug, Clone)]
pub struct Case {
    /// The rule the file tests.
    pub rule_id: u64,
    /// The test number within the file.
    pub test_id: u64,
    /// The description, if any.
    pub desc: Option<String>,
    /// The stages.
    pub stages: Vec<Stage>,
    /// The file it came from.
    pub file: PathBuf,
}

impl Case {
    /// go-ftw's id string, e.g. `920100-4`.
    pub fn id(&self) -> String {
        format!("{}-{}", self.rule_id, self.test_id)
    }
}

/// Loads every `*.yaml` / `*.yml` file under `dir` (recursively, sorted by path).
pub fn load_dir(dir: &Path) -> Result<Vec<Case>, LoadError> {
    let mut files = Vec::new();
    collect_files(dir, &mut files)?;
    files.sort();
    let mut cases = Vec::new();
    for file in files {
        cases.extend(load_file(&file)?);
    }
    Ok(cases)
}

fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), LoadError> {
    let io = |source| LoadError::Io {
        path: dir.to_path_buf(),
        source,
    };
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        if path.is_dir() {
            collect_files(&path, out)?;
        } else if matches!(path.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")) {
            out.push(path);
        }
    }
    Ok(())
}

/// Loads one file; a file holding only comments yields no cases.
pub fn load_file(path: &Path) -> Result<Vec<Case>, LoadError> {
    let text = std::fs::read_to_string(path).map_err(|source| LoadError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse_file(&text, path)
}

/// Parses the text of one test file; `path` names it in errors and ids.
pub fn parse_file(text: &str, path: &Path) -> Result<Vec<Case>, LoadError> {
    let has_content = text
        .lines()
        .map(str::trim)
        .any(|l| !l.is_empty() && !l.starts_with('#') && l != "---" && l != "...");
    if !has_content {
        return Ok(Vec::new());
    }
    let file: TestFile = serde_yaml_ng::from_str(text).map_err(|source| LoadError::Yaml {
        path: path.to_path_buf(),
        source,
    })?;
    let rule_id = match file.rule_id {
        0 => rule_id_from_name(path).ok_or_else(|| LoadError::NoRuleId {
            path: path.to_path_buf(),
        })?,
        id => id,
    };
    Ok(file
        .tests
        .into_iter()
        .enumerate()
        .map(|(index, test)| Case {
            rule_id,
            test_id: if test.test_id == 0 {
                index as u64 + 1
            } else {
                test.test_id
            },
            desc: test.desc,
            stages: test.stages,
            file: path.to_path_buf(),
        })
        .collect())
}

/// The first run of digits in the file name, as go-ftw falls back to.
fn rule_id_from_name(path: &Path) -> Option<u64> {
    let name = path.file_name()?.to_str()?;
    let start = name.find(|c: char| c.is_ascii_digit())?;
    let digits: String = name[start..].chars().take_while(|c| c.is_ascii_digit()).collect();
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_default_to_position_and_file_name() {
        let text = "tests:\n  - stages: []\n  - test_id: 7\n    stages: []\n";
        let cases = parse_file(text, Path::new("dir/933100.yaml")).unwrap();
        assert_eq!(cases.iter().map(Case::id).collect::<Vec<_>>(), ["933100-1", "933100-7"]);
    }

    #[test]
    fn comment_only_file_has_no_cases() {
        let text = "# nothing here\n# ---\n# rule_id: 1\n";
        assert!(parse_file(text, Path::new("920539.yaml")).unwrap().is_empty());
    }

    #[test]
    fn errors_name_the_file() {
        let err = parse_file("tests: [", Path::new("bad.yaml")).unwrap_err();
        assert!(err.to_string().starts_with("bad.yaml:"), "{err}");
        let err = parse_file("tests: []", Path::new("no-digits.yaml")).unwrap_err();
        assert!(matches!(err, LoadError::NoRuleId { .. }));
    }
}
