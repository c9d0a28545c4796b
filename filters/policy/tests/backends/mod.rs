//! The oracle of the path-ambiguity corpus: how each backend reads a raw request path, written
//! from each one's documented (or CVE-documented) behaviour, independently of the filter's own
//! readings (`meshward_policy::reading`). A backend either routes a path or rejects the request.

#![allow(dead_code)]

use unicode_normalization::UnicodeNormalization;

/// What a backend does with a raw path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Read {
    /// Routed as this path.
    Route(String),
    /// Rejected (400) before any route.
    Reject,
}

/// One backend's reading of paths.
pub struct Backend {
    /// Name, for messages.
    pub name: &'static str,
    /// Whether its routes match case-insensitively.
    pub case_insensitive: bool,
    /// Raw path (request-target) → what it routes.
    pub read: fn(&str) -> Read,
}

/// Every backend of the oracle.
pub const BACKENDS: [Backend; 9] = [
    Backend {
        name: "rfc3986",
        case_insensitive: false,
        read: rfc3986,
    },
    Backend {
        name: "tomcat",
        case_insensitive: false,
        read: tomcat,
    },
    Backend {
        name: "spring-mvc",
        case_insensitive: false,
        read: spring,
    },
    Backend {
        name: "iis",
        case_insensitive: true,
        read: iis,
    },
    Backend {
        name: "express",
        case_insensitive: true,
        read: express,
    },
    Backend {
        name: "go",
        case_insensitive: false,
        read: go,
    },
    Backend {
        name: "python",
        case_insensitive: false,
        read: python,
    },
    Backend {
        name: "nfkc-app",
        case_insensitive: false,
        read: nfkc_app,
    },
    Backend {
        name: "c-string",
        case_insensitive: false,
        read: c_string,
    },
];

/// Whether `path` is one the corpus policy protects (`/admin`, `/admin/*`).
pub fn protected(path: &str, case_insensitive: bool) -> bool {
    let p = if case_insensitive {
        path.to_lowercase()
    } else {
        path.to_string()
    };
    p == "/admin" || p.starts_with("/admin/")
}

/// The backends that route `raw` to a protected path.
pub fn reaching(raw: &str) -> Vec<&'static str> {
    BACKENDS
        .iter()
        .filter(|b| matches!((b.read)(raw), Read::Route(p) if protected(&p, b.case_insensitive)))
        .map(|b| b.name)
        .collect()
}

fn path_part(raw: &str) -> &str {
    &raw[..raw.find(['?', '#']).unwrap_or(raw.len())]
}

/// `%XX` decoded; `None` on a broken escape.
fn decode_strict(s: &str) -> Option<Vec<u8>> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let h = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(h, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    Some(out)
}

/// `%XX` decoded where well-formed, the rest kept (Python's `unquote`).
fn decode_lenient(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let pair = b.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
        match pair.and_then(|h| u8::from_str_radix(h, 16).ok()) {
            Some(v) if b[i] == b'%' && pair.is_some_and(|h| h.bytes().all(|c| c.is_ascii_hexdigit())) => {
                out.push(v);
                i += 3;
            }
            _ => {
                out.push(b[i]);
                i += 1;
            }
        }
    }
    out
}

/// RFC 3986 §5.2.4 dot-segment removal on `/`-separated text; `None` above the root when
/// `strict_root`.
fn remove_dots(path: &str, strict_root: bool) -> Option<String> {
    let mut out: Vec<&str> = Vec::new();
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    for (i, s) in segs.iter().enumerate() {
        let last = i + 1 == segs.len();
        match *s {
            "." => {
                if last {
                    out.push("");
                }
            }
            ".." => {
                if out.pop().is_none() && strict_root {
                    return None;
                }
                if last {
                    out.push("");
                }
            }
            s => out.push(s),
        }
    }
    Some(format!("/{}", out.join("/")))
}

fn merge_slashes(p: &str) -> String {
    let mut out = String::new();
    for c in p.chars() {
        if !(c == '/' && out.ends_with('/')) {
            out.push(c);
        }
    }
    out
}

/// RFC 3986: decode unreserved only, remove dot segments (the canonical reading).
fn rfc3986(raw: &str) -> Read {
    let p = path_part(raw);
    let Some(bytes) = decode_strict(p) else {
        return Read::Reject;
    };
    if bytes.iter().any(|b| *b < 0x20 || *b == 0x7f) {
        return Read::Reject;
    }
    // Only unreserved characters are decoded: re-escape the others.
    let mut text = String::new();
    let mut i = 0;
    let pb = p.as_bytes();
    while i < pb.len() {
        if pb[i] == b'%' {
            let v = u8::from_str_radix(&p[i + 1..i + 3], 16).unwrap_or(0);
            if v.is_ascii_alphanumeric() || b"-._~".contains(&v) {
                text.push(v as char);
            } else {
                text.push_str(&p[i..i + 3].to_ascii_uppercase());
            }
            i += 3;
        } else {
            text.push(pb[i] as char);
            i += 1;
        }
    }
    match remove_dots(&text, false) {
        Some(p) => Read::Route(p),
        None => Read::Reject,
    }
}

/// Tomcat (CoyoteAdapter): `;` path parameters removed per segment, then decoded; `%2F`, `%5C`,
/// `\` and `%00` rejected (ALLOW_ENCODED_SLASH / ALLOW_BACKSLASH off); `//` merged; dot
/// segments removed, above the root rejected.
fn tomcat(raw: &str) -> Read {
    let p = path_part(raw);
    if p.contains('\\') {
        return Read::Reject;
    }
    let stripped: Vec<&str> = p.split('/').map(|s| s.split(';').next().unwrap_or("")).collect();
    let stripped = stripped.join("/");
    let Some(bytes) = decode_strict(&stripped) else {
        return Read::Reject;
    };
    if bytes.iter().any(|b| matches!(b, 0 | b'\\')) {
        return Read::Reject;
    }
    let lower = stripped.to_ascii_lowercase();
    if lower.contains("%2f") || lower.contains("%5c") {
        return Read::Reject;
    }
    let text = String::from_utf8_lossy(&bytes).into_owned();
    match remove_dots(&merge_slashes(&text), true) {
        Some(p) => Read::Route(p),
        None => Read::Reject,
    }
}

/// Spring MVC on Tomcat as before 4.3.1 (CVE-2016-5007): Tomcat's reading, then `trimTokens`
/// (whitespace around each segment, empty segments dropped). Suffix pattern matching
/// (`/admin.json` routed to `/admin`, on by default before 5.3) is not modelled: see the corpus.
fn spring(raw: &str) -> Read {
    let Read::Route(p) = tomcat(raw) else {
        return Read::Reject;
    };
    let segs: Vec<&str> = p.split('/').map(str::trim).filter(|s| !s.is_empty()).collect();
    Read::Route(format!("/{}", segs.join("/")))
}

/// Old IIS with its documented decoders: `%uXXXX`, decoding until no escape is left (CVE-2001-0333),
/// overlong UTF-8 (CVE-2000-0884), best-fit fullwidth forms, `\` as `/`, trailing dots and spaces
/// dropped from names (Windows), dot segments; case-insensitive.
fn iis(raw: &str) -> Read {
    let mut p = path_part(raw).to_string();
    // %uXXXX
    while let Some(at) = p.to_ascii_lowercase().find("%u") {
        let Some(code) = p.get(at + 2..at + 6).and_then(|h| u32::from_str_radix(h, 16).ok()) else {
            return Read::Reject;
        };
        let c = char::from_u32(code).unwrap_or('\u{fffd}');
        p.replace_range(at..at + 6, &c.to_string());
    }
    let mut bytes = p.into_bytes();
    for _ in 0..8 {
        let next = decode_lenient(&bytes);
        if next == bytes {
            break;
        }
        bytes = next;
    }
    let mut text: String = overlong_utf8(&bytes)
        .chars()
        .map(|c| match c as u32 {
            0xff01..=0xff5e => char::from_u32(c as u32 - 0xff01 + 0x21).unwrap_or(c),
            _ => c,
        })
        .collect::<String>()
        .replace('\u{2025}', "..")
        .replace('\u{2024}', ".");
    text = text.replace('\\', "/");
    if text.contains('\0') {
        return Read::Reject;
    }
    let trimmed: Vec<String> = text
        .split('/')
        .map(|s| {
            if s == "." || s == ".." {
                s.to_string()
            } else {
                s.trim_end_matches(['.', ' ']).to_string()
            }
        })
        .collect();
    match remove_dots(&merge_slashes(&trimmed.join("/")), false) {
        Some(p) => Read::Route(p),
        None => Read::Reject,
    }
}

/// UTF-8 as lenient decoders read it: overlong forms accepted.
fn overlong_utf8(b: &[u8]) -> String {
    let mut out = String::new();
    let mut i = 0;
    while i < b.len() {
        let lead = b[i];
        let n = match lead {
            0xc0..=0xdf => 2,
            0xe0..=0xef => 3,
            0xf0..=0xf7 => 4,
            _ => 1,
        };
        if n == 1 || i + n > b.len() || !b[i + 1..i + n].iter().all(|c| c & 0xc0 == 0x80) {
            out.push(if lead < 0x80 { lead as char } else { '\u{fffd}' });
            i += 1;
            continue;
        }
        let mut v = u32::from(lead) & (0x7f >> n);
        for c in &b[i + 1..i + n] {
            v = v << 6 | u32::from(c & 0x3f);
        }
        out.push(char::from_u32(v).unwrap_or('\u{fffd}'));
        i += n;
    }
    out
}

/// Express on Node: the WHATWG URL parser resolves the request target against a base (`\` is
/// `/`, `%2e` is a dot in dot segments, `//host/…` is a network-path reference), and routes
/// match the still-encoded pathname case-insensitively with an optional trailing slash.
fn express(raw: &str) -> Read {
    let p = path_part(raw).replace('\\', "/");
    let p = match p.strip_prefix("//") {
        Some(rest) => rest.find('/').map_or("/".to_string(), |i| rest[i..].to_string()),
        None => p,
    };
    let segs: Vec<String> = p
        .split('/')
        .map(|s| match s.to_ascii_lowercase().as_str() {
            "%2e" => ".".to_string(),
            ".%2e" | "%2e." | "%2e%2e" => "..".to_string(),
            _ => s.to_string(),
        })
        .collect();
    match remove_dots(&segs.join("/"), false) {
        Some(p) => Read::Route(p),
        None => Read::Reject,
    }
}

/// Go: an application that parses `r.RequestURI` with `url.Parse` (a `//host/…` target has a
/// host), `URL.Path` decoded (`%2F` too), then `path.Clean`.
fn go(raw: &str) -> Read {
    let p = path_part(raw);
    let p = match p.strip_prefix("//") {
        Some(rest) => rest.find('/').map_or("/", |i| &rest[i..]),
        None => p,
    };
    let Some(bytes) = decode_strict(p) else {
        return Read::Reject;
    };
    let text = String::from_utf8_lossy(&bytes).into_owned();
    match remove_dots(&merge_slashes(&text), false) {
        Some(mut p) => {
            if p.len() > 1 && p.ends_with('/') {
                p.pop();
            }
            Read::Route(p)
        }
        None => Read::Reject,
    }
}

/// Python (Werkzeug/Flask, or code using `urllib.parse.urlsplit`): a `//host/…` target has a
/// netloc, the path is `unquote`d (broken escapes kept), slashes merged; dot segments are not
/// resolved.
fn python(raw: &str) -> Read {
    let p = path_part(raw);
    let p = match p.strip_prefix("//") {
        Some(rest) => rest.find('/').map_or("/", |i| &rest[i..]),
        None => p,
    };
    let text = String::from_utf8_lossy(&decode_lenient(p.as_bytes())).into_owned();
    Read::Route(merge_slashes(&text))
}

/// An application that NFKC-normalizes the decoded path before routing or comparing it
/// (Python `unicodedata.normalize`, Java `Normalizer`, .NET `Normalize`), then resolves dots.
fn nfkc_app(raw: &str) -> Read {
    let Some(bytes) = decode_strict(path_part(raw)) else {
        return Read::Reject;
    };
    let text: String = String::from_utf8_lossy(&bytes).nfkc().collect();
    match remove_dots(&merge_slashes(&text), false) {
        Some(p) => Read::Route(p),
        None => Read::Reject,
    }
}

/// C code behind the server (CGI programs, file-system calls) that receives the decoded path as a
/// NUL-terminated string: it ends at the first NUL.
fn c_string(raw: &str) -> Read {
    let Some(bytes) = decode_strict(path_part(raw)) else {
        return Read::Reject;
    };
    let end = bytes.iter().position(|b| *b == 0).unwrap_or(bytes.len());
    let text = String::from_utf8_lossy(&bytes[..end]).into_owned();
    match remove_dots(&merge_slashes(&text), false) {
        Some(p) => Read::Route(p),
        None => Read::Reject,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_backend_reads_its_documented_bypass() {
        assert_eq!(tomcat("/public/..;/admin"), Read::Route("/admin".into()));
        assert_eq!(tomcat("/a%2Fb"), Read::Reject);
        assert_eq!(spring("/admin%20"), Read::Route("/admin".into()));
        assert_eq!(iis("/%252e%252e/admin"), Read::Route("/admin".into()));
        assert_eq!(iis("/%C0%AE%C0%AE/admin"), Read::Route("/admin".into()));
        assert_eq!(iis("/%u0061dmin"), Read::Route("/admin".into()));
        assert_eq!(iis("/admin."), Read::Route("/admin".into()));
        assert_eq!(express("//x/admin"), Read::Route("/admin".into()));
        assert_eq!(go("/public%2F..%2Fadmin"), Read::Route("/admin".into()));
        assert_eq!(python("//evil/admin"), Read::Route("/admin".into()));
        assert_eq!(nfkc_app("/%EF%BD%81dmin"), Read::Route("/admin".into()));
        assert_eq!(rfc3986("/%61dmin"), Read::Route("/admin".into()));
        assert_eq!(c_string("/admin%00.html"), Read::Route("/admin".into()));
        assert!(reaching("/public/index.html").is_empty());
    }
}
