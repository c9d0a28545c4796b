//! The canonical request path and host every decision is made on.

use crate::model::{Backslash, EncodedSlash, Normalization};

/// Why a path was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    /// The path is empty or does not start with `/` (and is not `*` for OPTIONS).
    #[error("path is not in origin form")]
    NotOriginForm,
    /// A control character, space or non-ASCII byte appears literally.
    #[error("forbidden byte 0x{0:02x} in path")]
    ForbiddenByte(u8),
    /// `%` not followed by two hex digits.
    #[error("invalid percent-encoding")]
    InvalidEscape,
    /// `%00` or another encoded control character.
    #[error("encoded control character")]
    EncodedControl,
    /// `%2F` or `%5C` while `encoded_slash: reject`.
    #[error("encoded slash or backslash")]
    EncodedSlash,
    /// A literal `\` while `backslash: reject`.
    #[error("backslash in path")]
    Backslash,
}

/// Why an authority was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HostError {
    /// Userinfo, a bad character, unbalanced brackets or an empty name.
    #[error("malformed host")]
    Malformed,
    /// The port is not a number in 1..=65535.
    #[error("invalid port")]
    Port,
}

/// A normalized authority: lowercase name without trailing dot, and the port if given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPort {
    /// Lowercased host (IPv6 without brackets).
    pub host: String,
    /// Explicit port.
    pub port: Option<u16>,
}

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// Bytes RFC 3986 does not allow in a path and that no normalizer agrees on.
fn is_forbidden_literal(b: u8) -> bool {
    !(0x20..0x7f).contains(&b) || matches!(b, b' ' | b'"' | b'<' | b'>' | b'`' | b'{' | b'}' | b'|' | b'^')
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";

fn push_escape(out: &mut Vec<u8>, v: u8) {
    out.push(b'%');
    out.push(HEX_UPPER[(v >> 4) as usize]);
    out.push(HEX_UPPER[(v & 15) as usize]);
}

fn push_backslash(out: &mut Vec<u8>, cfg: &Normalization) -> Result<(), PathError> {
    match cfg.backslash {
        Backslash::Reject => Err(PathError::Backslash),
        Backslash::Keep => {
            out.push(b'\\');
            Ok(())
        }
        Backslash::Slash => {
            out.push(b'/');
            Ok(())
        }
    }
}

/// Normalizes a raw `:path` into the one canonical path used for every decision
/// (steps in rules/policy/README.md, "Normalization").
pub fn normalize_path(raw: &str, method: &str, cfg: &Normalization) -> Result<String, PathError> {
    if raw == "*" && method.eq_ignore_ascii_case("OPTIONS") {
        return Ok("*".to_string());
    }
    let end = raw.find(['?', '#']).unwrap_or(raw.len());
    let raw = &raw.as_bytes()[..end];
    if raw.first() != Some(&b'/') {
        return Err(PathError::NotOriginForm);
    }
    // Fast path: nothing to decode, no backslash, no empty or dot segment.
    let plain = |b: &u8| b.is_ascii_alphanumeric() || b"/-._~!$&'()*+,;=:@".contains(b);
    if raw.iter().all(plain) && !raw.windows(2).any(|w| w[0] == b'/' && (w[1] == b'/' || w[1] == b'.')) {
        // Only ASCII bytes passed the check.
        return Ok(String::from_utf8_lossy(raw).into_owned());
    }
    let mut decoded = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        let b = raw[i];
        if is_forbidden_literal(b) {
            return Err(PathError::ForbiddenByte(b));
        }
        match b {
            b'%' => {
                let (hi, lo) = match (
                    raw.get(i + 1).copied().and_then(hex),
                    raw.get(i + 2).copied().and_then(hex),
                ) {
                    (Some(h), Some(l)) => (h, l),
                    _ => return Err(PathError::InvalidEscape),
                };
                let v = hi << 4 | lo;
                i += 3;
                if v < 0x20 || v == 0x7f {
                    return Err(PathError::EncodedControl);
                }
                if is_unreserved(v) {
                    decoded.push(v);
                } else if v == b'/' || v == b'\\' {
                    match cfg.encoded_slash {
                        EncodedSlash::Reject => return Err(PathError::EncodedSlash),
                        EncodedSlash::Keep => push_escape(&mut decoded, v),
                        EncodedSlash::Decode if v == b'/' => decoded.push(b'/'),
                        EncodedSlash::Decode => push_backslash(&mut decoded, cfg)?,
                    }
                } else {
                    push_escape(&mut decoded, v);
                }
            }
            b'\\' => {
                push_backslash(&mut decoded, cfg)?;
                i += 1;
            }
            _ => {
                decoded.push(b);
                i += 1;
            }
        }
    }
    if cfg.merge_slashes {
        decoded.dedup_by(|a, b| *a == b'/' && *b == b'/');
    }
    // Every byte pushed is ASCII (non-ASCII was rejected or stayed escaped).
    let text = String::from_utf8(decoded).map_err(|_| PathError::InvalidEscape)?;
    Ok(remove_dot_segments(&text))
}

/// RFC 3986 §5.2.4 on an absolute path: `.` and `..` segments removed, never above the root.
pub fn remove_dot_segments(path: &str) -> String {
    let body = path.strip_prefix('/').unwrap_or(path);
    let mut out: Vec<&str> = Vec::new();
    let mut segments = body.split('/').peekable();
    while let Some(seg) = segments.next() {
        let last = segments.peek().is_none();
        match seg {
            "." => {
                if last {
                    out.push("");
                }
            }
            ".." => {
                out.pop();
                if last {
                    out.push("");
                }
            }
            s => out.push(s),
        }
    }
    let mut result = String::with_capacity(path.len());
    result.push('/');
    result.push_str(&out.join("/"));
    result
}

fn is_host_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_')
}

fn parse_port(text: &str) -> Result<Option<u16>, HostError> {
    if text.is_empty() {
        return Ok(None);
    }
    if !text.bytes().all(|b| b.is_ascii_digit()) || text.len() > 5 {
        return Err(HostError::Port);
    }
    match text.parse::<u16>() {
        Ok(0) | Err(_) => Err(HostError::Port),
        Ok(p) => Ok(Some(p)),
    }
}

/// Normalizes `:authority`/`Host`: lowercase, one trailing dot removed, port split and checked.
/// An empty authority is `None`.
pub fn normalize_authority(raw: &str) -> Result<Option<HostPort>, HostError> {
    let raw = raw.trim_matches([' ', '\t']);
    if raw.is_empty() {
        return Ok(None);
    }
    let (host, port) = if let Some(rest) = raw.strip_prefix('[') {
        let (inside, after) = rest.split_once(']').ok_or(HostError::Malformed)?;
        if inside.is_empty()
            || !inside
                .bytes()
                .all(|b| b.is_ascii_hexdigit() || matches!(b, b':' | b'.'))
        {
            return Err(HostError::Malformed);
        }
        let port = match after {
            "" => None,
            a => parse_port(a.strip_prefix(':').ok_or(HostError::Malformed)?)?,
        };
        (inside.to_ascii_lowercase(), port)
    } else {
        let (name, port) = match raw.split_once(':') {
            Some((n, p)) => (n, parse_port(p)?),
            None => (raw, None),
        };
        let name = name.strip_suffix('.').unwrap_or(name);
        if name.is_empty() || !name.bytes().all(is_host_byte) {
            return Err(HostError::Malformed);
        }
        (name.to_ascii_lowercase(), port)
    };
    Ok(Some(HostPort { host, port }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(p: &str) -> Result<String, PathError> {
        normalize_path(p, "GET", &Normalization::default())
    }

    #[test]
    fn dot_segments_follow_rfc3986() {
        assert_eq!(n("/a/b/c/./../../g").unwrap(), "/a/g");
        assert_eq!(n("/public/../admin").unwrap(), "/admin");
        assert_eq!(n("/../../admin").unwrap(), "/admin");
        assert_eq!(n("/a/..").unwrap(), "/");
        assert_eq!(n("/a/.").unwrap(), "/a/");
        assert_eq!(n("/a/%2e%2E/b").unwrap(), "/b");
        assert_eq!(n("/a/.%2e/b").unwrap(), "/b");
        assert_eq!(n("/..a/b").unwrap(), "/..a/b");
    }

    #[test]
    fn slashes_merge_before_dot_removal() {
        assert_eq!(n("//admin").unwrap(), "/admin");
        assert_eq!(n("/a//../b").unwrap(), "/b");
        let keep = Normalization {
            merge_slashes: false,
            ..Normalization::default()
        };
        assert_eq!(normalize_path("/a//../b", "GET", &keep).unwrap(), "/a/b");
        assert_eq!(normalize_path("//admin", "GET", &keep).unwrap(), "//admin");
    }

    #[test]
    fn query_and_fragment_are_stripped() {
        assert_eq!(n("/user?x=/admin").unwrap(), "/user");
        assert_eq!(n("/admin#/public").unwrap(), "/admin");
        assert_eq!(n("/a#?b").unwrap(), "/a");
    }

    #[test]
    fn escapes() {
        assert_eq!(n("/%61dmin").unwrap(), "/admin");
        assert_eq!(n("/a%20b").unwrap(), "/a%20b");
        assert_eq!(n("/a%3bb").unwrap(), "/a%3Bb");
        assert_eq!(n("/%C3%A9").unwrap(), "/%C3%A9");
        assert_eq!(n("/a%2Fb"), Err(PathError::EncodedSlash));
        assert_eq!(n("/a%2fb"), Err(PathError::EncodedSlash));
        assert_eq!(n("/a%5Cb"), Err(PathError::EncodedSlash));
        assert_eq!(n("/a%"), Err(PathError::InvalidEscape));
        assert_eq!(n("/a%4"), Err(PathError::InvalidEscape));
        assert_eq!(n("/a%zz"), Err(PathError::InvalidEscape));
        assert_eq!(n("/a%00"), Err(PathError::EncodedControl));
        assert_eq!(n("/a%0d%0a"), Err(PathError::EncodedControl));
        assert_eq!(n("/a\0"), Err(PathError::ForbiddenByte(0)));
        assert_eq!(n("/a b"), Err(PathError::ForbiddenByte(b' ')));
        assert_eq!(n("/é"), Err(PathError::ForbiddenByte(0xc3)));
        assert_eq!(n("/a\\b"), Err(PathError::Backslash));
        assert_eq!(n("admin"), Err(PathError::NotOriginForm));
        assert_eq!(n(""), Err(PathError::NotOriginForm));
        assert_eq!(n("*"), Err(PathError::NotOriginForm));
        assert_eq!(normalize_path("*", "OPTIONS", &Normalization::default()).unwrap(), "*");
    }

    #[test]
    fn configurable_slash_handling() {
        let keep = Normalization {
            encoded_slash: EncodedSlash::Keep,
            backslash: Backslash::Keep,
            merge_slashes: true,
            ..Normalization::default()
        };
        assert_eq!(normalize_path("/a%2fb%5c", "GET", &keep).unwrap(), "/a%2Fb%5C");
        assert_eq!(normalize_path("/a\\b", "GET", &keep).unwrap(), "/a\\b");
        let decode = Normalization {
            encoded_slash: EncodedSlash::Decode,
            backslash: Backslash::Slash,
            merge_slashes: true,
            ..Normalization::default()
        };
        assert_eq!(normalize_path("/a%2F..%2Fadmin", "GET", &decode).unwrap(), "/admin");
        assert_eq!(normalize_path("/a\\..\\admin", "GET", &decode).unwrap(), "/admin");
        assert_eq!(normalize_path("/a%5C..%5Cadmin", "GET", &decode).unwrap(), "/admin");
        let decode_reject_bs = Normalization {
            encoded_slash: EncodedSlash::Decode,
            ..Normalization::default()
        };
        assert_eq!(
            normalize_path("/a%5Cb", "GET", &decode_reject_bs),
            Err(PathError::Backslash)
        );
    }

    #[test]
    fn authority() {
        let h = |s| normalize_authority(s);
        assert_eq!(
            h("Example.COM").unwrap().unwrap(),
            HostPort {
                host: "example.com".into(),
                port: None
            }
        );
        assert_eq!(
            h("example.com.:8080").unwrap().unwrap(),
            HostPort {
                host: "example.com".into(),
                port: Some(8080)
            }
        );
        assert_eq!(
            h("[::1]:443").unwrap().unwrap(),
            HostPort {
                host: "::1".into(),
                port: Some(443)
            }
        );
        assert_eq!(h("[FE80::1]").unwrap().unwrap().host, "fe80::1");
        assert_eq!(h("").unwrap(), None);
        assert_eq!(h("a@b"), Err(HostError::Malformed));
        assert_eq!(h("a:99999"), Err(HostError::Port));
        assert_eq!(h("a:0"), Err(HostError::Port));
        assert_eq!(h("a:b:c"), Err(HostError::Port));
        assert_eq!(h("."), Err(HostError::Malformed));
        assert_eq!(h("a b"), Err(HostError::Malformed));
    }
}
