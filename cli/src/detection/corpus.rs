//! The detection corpus on disk (format in corpus/README.md):
//! `<split>/attack/<family>/<source>.txt`, `<split>/benign/<source>.txt` (one payload or value a
//! line; `#` starts a comment line; `esc:` starts a line with `\r` `\n` `\t` `\\` escapes) and
//! raw HTTP/1.1 requests `<split>/{attack/<family>,benign}/requests/*.http`.

use std::path::{Path, PathBuf};

use meshward_testkit::http1::{parse_request, Request};

/// Why a corpus could not be read.
#[derive(Debug, thiserror::Error)]
pub enum CorpusError {
    /// A file or directory could not be read.
    #[error("{}: {source}", path.display())]
    Read {
        /// The file or directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A raw request is not HTTP/1.1.
    #[error("{}: not an HTTP/1.1 request: {reason}", path.display())]
    Request {
        /// The `.http` file.
        path: PathBuf,
        /// The parser's reason.
        reason: String,
    },
    /// A line has a bad `esc:` escape.
    #[error("{}:{line}: bad escape in {text:?} (`esc:` lines know \\r \\n \\t \\\\)", path.display())]
    Escape {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// The line.
        text: String,
    },
    /// The directory holds no case at all.
    #[error("{}: no corpus (expected <split>/attack/<family>/*.txt or <split>/benign/*.txt)", path.display())]
    Empty {
        /// The corpus directory.
        path: PathBuf,
    },
}

/// What a corpus entry is.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// An attack of this family (`sqli`, `nosql`...).
    Attack(String),
    /// Ordinary traffic.
    Benign,
}

/// What an entry holds: a value to place into request shapes, or a whole request.
#[derive(Debug, Clone)]
pub enum Payload {
    /// A payload or value.
    Value(String),
    /// A raw request, run as it is.
    Request(Box<Request>),
}

/// One corpus entry.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The split: a directory such as `tune` or `heldout`.
    pub split: String,
    /// Attack family or benign.
    pub kind: Kind,
    /// The source file's stem (`payloadsallthethings`, `requests`...).
    pub source: String,
    /// The payload.
    pub payload: Payload,
}

/// Every entry under `dir`, in a stable order.
pub fn load(dir: &Path) -> Result<Vec<Entry>, CorpusError> {
    let mut out = Vec::new();
    for split in subdirs(dir)? {
        let name = file_name(&split);
        let attack = split.join("attack");
        if attack.is_dir() {
            for family in subdirs(&attack)? {
                load_dir(&family, &name, &Kind::Attack(file_name(&family)), &mut out)?;
            }
        }
        let benign = split.join("benign");
        if benign.is_dir() {
            load_dir(&benign, &name, &Kind::Benign, &mut out)?;
        }
    }
    if out.is_empty() {
        return Err(CorpusError::Empty {
            path: dir.to_path_buf(),
        });
    }
    Ok(out)
}

/// The `*.txt` lines and `requests/*.http` of one directory.
fn load_dir(dir: &Path, split: &str, kind: &Kind, out: &mut Vec<Entry>) -> Result<(), CorpusError> {
    let entry = |source: &str, payload| Entry {
        split: split.to_string(),
        kind: kind.clone(),
        source: source.to_string(),
        payload,
    };
    for file in files(dir, "txt")? {
        let source = file_stem(&file);
        for value in read_lines(&file)? {
            out.push(entry(&source, Payload::Value(value)));
        }
    }
    let requests = dir.join("requests");
    if requests.is_dir() {
        for file in files(&requests, "http")? {
            out.push(entry("requests", Payload::Request(Box::new(read_request(&file)?))));
        }
    }
    Ok(())
}

/// The payload lines of a `.txt` file.
pub fn read_lines(path: &Path) -> Result<Vec<String>, CorpusError> {
    let text = std::fs::read_to_string(path).map_err(|source| CorpusError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match line.strip_prefix("esc:") {
            Some(escaped) => out.push(unescape(escaped).ok_or_else(|| CorpusError::Escape {
                path: path.to_path_buf(),
                line: i + 1,
                text: line.to_string(),
            })?),
            None => out.push(line.to_string()),
        }
    }
    Ok(out)
}

/// `\r` `\n` `\t` `\\` resolved; `None` for any other escape.
fn unescape(s: &str) -> Option<String> {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        out.push(match chars.next()? {
            'r' => '\r',
            'n' => '\n',
            't' => '\t',
            '\\' => '\\',
            _ => return None,
        });
    }
    Some(out)
}

/// A raw request file: the head may end lines with LF alone, and the body (after the blank
/// line, its final line end dropped) gets its `Content-Length`.
fn read_request(path: &Path) -> Result<Request, CorpusError> {
    let text = std::fs::read_to_string(path).map_err(|source| CorpusError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let text = text.replace("\r\n", "\n");
    let (head, body) = text.split_once("\n\n").unwrap_or((text.as_str(), ""));
    let body = body.strip_suffix('\n').unwrap_or(body);
    let mut wire = head.replace('\n', "\r\n");
    if !body.is_empty() {
        wire.push_str(&format!("\r\nContent-Length: {}", body.len()));
    }
    wire.push_str("\r\n\r\n");
    wire.push_str(body);
    parse_request(wire.as_bytes())
        .map(|(r, _)| r)
        .map_err(|e| CorpusError::Request {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })
}

fn subdirs(dir: &Path) -> Result<Vec<PathBuf>, CorpusError> {
    let mut out: Vec<PathBuf> = listing(dir)?.into_iter().filter(|p| p.is_dir()).collect();
    out.sort();
    Ok(out)
}

fn files(dir: &Path, ext: &str) -> Result<Vec<PathBuf>, CorpusError> {
    let mut out: Vec<PathBuf> = listing(dir)?
        .into_iter()
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == ext))
        .collect();
    out.sort();
    Ok(out)
}

fn listing(dir: &Path) -> Result<Vec<PathBuf>, CorpusError> {
    let read = |source| CorpusError::Read {
        path: dir.to_path_buf(),
        source,
    };
    std::fs::read_dir(dir)
        .map_err(read)?
        .map(|e| e.map(|e| e.path()).map_err(read))
        .collect()
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn file_stem(p: &Path) -> String {
    p.file_stem()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_resolve_and_unknown_ones_fail() {
        assert_eq!(unescape(r"a\r\nBcc: x\\y\t").as_deref(), Some("a\r\nBcc: x\\y\t"));
        assert_eq!(unescape(r"a\q"), None);
        assert_eq!(unescape(r"a\"), None);
    }
}
