//! `Include` path wildcards (`*`, `?`, `[...]`) in the file-name part, as Apache/ModSecurity expand them.

use std::path::{Path, PathBuf};

use crate::files::FileSource;

/// True when the path's file name holds a wildcard.
pub(crate) fn has_wildcards(path: &Path) -> bool {
    path.to_string_lossy().contains(['*', '?', '['])
}

/// Lists the files of `files` matching `pattern` in lexical order (wildcards only in the last component).
pub(crate) fn expand(files: &dyn FileSource, pattern: &Path) -> Result<Vec<PathBuf>, String> {
    let dir = pattern.parent().unwrap_or(Path::new("."));
    if has_wildcards(dir) {
        return Err("wildcards are supported in the file name only".into());
    }
    let name = pattern
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut out = Vec::new();
    for path in files.list(dir)? {
        let file_name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if file_name.starts_with('.') && !name.starts_with('.') {
            continue;
        }
        if wildcard_match(name.as_bytes(), file_name.as_bytes()) {
            out.push(dir.join(file_name));
        }
    }
    out.sort();
    Ok(out)
}

/// Shell-style match of `text` against `pattern`.
fn wildcard_match(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(b'*') => {
                star = Some((p, t));
                p += 1;
                continue;
            }
            Some(b'?') => {
                p += 1;
                t += 1;
                continue;
            }
            Some(b'[') => {
                if let Some((matched, next)) = class_match(&pattern[p..], text[t]) {
                    if matched {
                        p += next;
                        t += 1;
                        continue;
                    }
                } else if text[t] == b'[' {
                    p += 1;
                    t += 1;
                    continue;
                }
            }
            Some(&c) if c == text[t] => {
                p += 1;
                t += 1;
                continue;
            }
            _ => {}
        }
        match star {
            Some((sp, st)) => {
                p = sp + 1;
                t = st + 1;
                star = Some((sp, st + 1));
            }
            None => return false,
        }
    }
    pattern[p.min(pattern.len())..].iter().all(|&c| c == b'*')
}

/// Matches one byte against a `[...]` class; returns (matched, class length) or None if unterminated.
fn class_match(class: &[u8], c: u8) -> Option<(bool, usize)> {
    let end = class.iter().skip(2).position(|&b| b == b']')? + 2;
    let body = &class[1..end];
    let (negate, body) = match body.first() {
        Some(b'!') | Some(b'^') => (true, &body[1..]),
        _ => (false, body),
    };
    let mut i = 0;
    let mut found = false;
    while i < body.len() {
        if i + 2 < body.len() && body[i + 1] == b'-' {
            if body[i] <= c && c <= body[i + 2] {
                found = true;
            }
            i += 3;
        } else {
            if body[i] == c {
                found = true;
            }
            i += 1;
        }
    }
    Some((found != negate, end + 1))
}

#[cfg(test)]
mod tests {
    use super::wildcard_match;

    #[test]
    fn matches_like_a_shell() {
        assert!(wildcard_match(b"*.conf", b"REQUEST-901.conf"));
        assert!(!wildcard_match(b"*.conf", b"REQUEST-900.conf.example"));
        assert!(wildcard_match(b"R?Q*", b"REQ"));
        assert!(wildcard_match(b"[A-R]*.conf", b"REQUEST.conf"));
        assert!(!wildcard_match(b"[!A-R]*.conf", b"REQUEST.conf"));
    }
}
