//! How a permissive backend may read a raw path differently from the canonical form.
//!
//! The canonical path (`normalize`) is what an RFC 3986 backend routes. Common frameworks read
//! some paths more loosely: they decode twice, drop `;` path parameters, fold Unicode to ASCII,
//! trim segments, take `//host/…` as a network-path reference, or match case-insensitively. Each [`Reading`] rewrites the raw path the way one
//! such behaviour does; the engine normalizes each rewritten path and decides on it too.
//!
//! Invariant: a reading only ever adds a path to decide on. The engine keeps the most
//! restrictive of the decisions, so a request is stopped whenever one of these backends would
//! route it to a path the policy protects, and an ordinary path, which every reading leaves as
//! it is (or maps to a path the policy treats the same), passes as before.

use std::borrow::Cow;

use unicode_normalization::UnicodeNormalization;

use crate::model::PolicyDocument;

/// One loose way of reading a path, named for the evidence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reading {
    /// `%25XX` decoded again (IIS CVE-2001-0333, applications that decode what the server
    /// already decoded).
    DoubleDecode,
    /// `;params` dropped from every segment (Tomcat, Spring, Jetty: `/admin;x=1`, `/..;/`).
    PathParameters,
    /// Percent-encoded UTF-8 decoded leniently (overlong forms) and NFKC-folded (fullwidth
    /// letters and slashes, `‥`), as IIS best-fit mapping and Unicode-normalizing code do.
    Unicode,
    /// Leading spaces and trailing spaces and dots dropped from segments (Windows/IIS,
    /// Spring's trimmed tokens).
    Trim,
    /// `//host/path` taken as a network-path reference to `/path` (Go `url.Parse`, Python
    /// `urlsplit`, WHATWG `new URL(path, base)`).
    NetworkPath,
    /// Case-insensitive routing (IIS, ASP.NET, Express by default): the lowercased path, decided
    /// with the document's path patterns lowercased too ([`case_folded`]).
    CaseFold,
    /// Every reading above, in that order: the loosest backend.
    All,
}

/// Every reading the `common` backend profile decides on.
pub const COMMON: [Reading; 7] = [
    Reading::DoubleDecode,
    Reading::PathParameters,
    Reading::Unicode,
    Reading::Trim,
    Reading::NetworkPath,
    Reading::CaseFold,
    Reading::All,
];

impl Reading {
    /// The name written in the evidence.
    pub fn as_str(self) -> &'static str {
        match self {
            Reading::DoubleDecode => "double_decode",
            Reading::PathParameters => "path_parameters",
            Reading::Unicode => "unicode",
            Reading::Trim => "trim",
            Reading::NetworkPath => "network_path",
            Reading::CaseFold => "case_fold",
            Reading::All => "all",
        }
    }

    /// Whether the reading lowercases the path, so it is decided with [`case_folded`] patterns.
    pub fn folds_case(self) -> bool {
        matches!(self, Reading::CaseFold | Reading::All)
    }

    /// The raw path as this reading sees it, when that differs from `raw` (the path part of
    /// the request-target: no query, no fragment).
    pub fn apply(self, raw: &str) -> Option<String> {
        let read = match self {
            Reading::DoubleDecode => double_decode(raw),
            Reading::PathParameters => per_segment(raw, strip_parameters),
            Reading::Unicode => unicode_fold(raw),
            Reading::Trim => per_segment(raw, trim_segment),
            Reading::NetworkPath => network_path(raw),
            Reading::CaseFold => case_fold(raw),
            Reading::All => {
                let mut path = Cow::Borrowed(raw);
                for r in &COMMON[..COMMON.len() - 1] {
                    if let Some(p) = r.apply(&path) {
                        path = Cow::Owned(p);
                    }
                }
                path
            }
        };
        match read {
            Cow::Owned(p) if p != raw => Some(p),
            _ => None,
        }
    }
}

/// The document as a case-insensitive backend applies it: path patterns (and `request.path`
/// condition values) lowercased, path regexes case-insensitive. A gRPC allow-list
/// (`/helloworld.Greeter/*`) still allows `/helloworld.Greeter/SayHello` read as
/// `/helloworld.greeter/sayhello`, and a DENY on `/Admin` stops `/ADMIN`.
pub fn case_folded(doc: &PolicyDocument) -> PolicyDocument {
    let lower = |v: &mut Option<Vec<String>>| {
        for p in v.iter_mut().flatten() {
            *p = p.to_lowercase();
        }
    };
    // A regex whose letters are all lowercase already matches a lowercased path as a
    // case-insensitive regex would; only one with a capital (not an escape such as `\D`) needs
    // the flag, so a document without capitals in its path patterns folds to itself.
    let insensitive = |v: &mut Option<Vec<String>>| {
        for p in v.iter_mut().flatten().filter(|p| has_capital_literal(p)) {
            *p = format!("(?i:{p})");
        }
    };
    let mut doc = doc.clone();
    for rule in doc.policies.iter_mut().flat_map(|p| p.rules.iter_mut()) {
        for op in &mut rule.to {
            lower(&mut op.paths);
            lower(&mut op.not_paths);
            insensitive(&mut op.path_regex);
            insensitive(&mut op.not_path_regex);
        }
        for cond in rule.when.iter_mut().filter(|c| c.key == "request.path") {
            lower(&mut cond.values);
            lower(&mut cond.not_values);
        }
    }
    doc
}

/// Whether a regex holds an uppercase letter that is not the letter of an escape (`\D`, `\S`,
/// `\W`, `\B`, `\A`, `\Z`, `\P{..}`).
fn has_capital_literal(regex: &str) -> bool {
    let mut escaped = false;
    for c in regex.chars() {
        if escaped {
            escaped = false;
            continue;
        }
        if c == '\\' {
            escaped = true;
        } else if c.is_ascii_uppercase() {
            return true;
        }
    }
    false
}

/// Whether a raw path can read differently under any reading: the per-request fast path
/// (most paths hold none of these bytes and are decided once).
pub fn may_differ(raw: &str) -> bool {
    // A dot matters only at the end of a name (`/admin.`): file extensions and dot segments
    // (`/a/../b.html`) read the same to every reading.
    let b = raw.as_bytes();
    let ends_a_name = |i: usize| {
        let start = b
            .get(..i)
            .and_then(|head| head.iter().rposition(|&c| c == b'/'))
            .map_or(0, |p| p + 1);
        !matches!(b.get(start..=i), Some(b".") | Some(b".."))
    };
    raw.starts_with("//")
        || b.iter().enumerate().any(|(i, &c)| match c {
            b'%' | b';' | b'A'..=b'Z' => true,
            b'.' => matches!(b.get(i + 1), None | Some(b'/')) && ends_a_name(i),
            _ => false,
        })
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// The byte a `%XX` escape at `at` stands for.
fn escape_at(raw: &[u8], at: usize) -> Option<u8> {
    if raw.get(at) != Some(&b'%') {
        return None;
    }
    let hi = raw.get(at + 1).copied().and_then(hex)?;
    let lo = raw.get(at + 2).copied().and_then(hex)?;
    Some(hi << 4 | lo)
}

/// `%25XX` → `%XX`, repeated until no such escape is left (each pass shortens the path, so
/// the loop is bounded by its length).
fn double_decode(raw: &str) -> Cow<'_, str> {
    let mut path = Cow::Borrowed(raw);
    loop {
        let b = path.as_bytes();
        let mut out = String::with_capacity(b.len());
        let mut changed = false;
        let mut i = 0;
        while i < b.len() {
            let escaped_escape = escape_at(b, i) == Some(b'%')
                && b.get(i + 3).copied().and_then(hex).is_some()
                && b.get(i + 4).copied().and_then(hex).is_some();
            if escaped_escape {
                out.push('%');
                i += 3;
                changed = true;
            } else {
                let len = utf8_len(b, i);
                out.push_str(path.get(i..i + len).unwrap_or_default());
                i += len.max(1);
            }
        }
        if !changed {
            return path;
        }
        path = Cow::Owned(out);
    }
}

/// The length of the UTF-8 character starting at `i` (1 for ASCII).
fn utf8_len(b: &[u8], i: usize) -> usize {
    match b.get(i) {
        Some(&c) if c >= 0xf0 => 4,
        Some(&c) if c >= 0xe0 => 3,
        Some(&c) if c >= 0xc0 => 2,
        _ => 1,
    }
}

/// Rewrites every segment with `f` (the leading `/` kept).
fn per_segment<'a>(raw: &'a str, f: fn(&str) -> Cow<'_, str>) -> Cow<'a, str> {
    let mut out = String::with_capacity(raw.len());
    let mut changed = false;
    for (i, seg) in raw.split('/').enumerate() {
        if i > 0 {
            out.push('/');
        }
        let s = f(seg);
        changed |= matches!(s, Cow::Owned(_));
        out.push_str(&s);
    }
    if changed {
        Cow::Owned(out)
    } else {
        Cow::Borrowed(raw)
    }
}

/// A segment up to its first `;` (or `%3B`, which some containers decode before splitting).
fn strip_parameters(seg: &str) -> Cow<'_, str> {
    let lower = seg.to_ascii_lowercase();
    let cut = [seg.find(';'), lower.find("%3b")].into_iter().flatten().min();
    match cut {
        Some(at) => Cow::Owned(seg.get(..at).unwrap_or_default().to_string()),
        None => Cow::Borrowed(seg),
    }
}

/// A segment without leading spaces and without trailing spaces and dots (`.` and `..` stay:
/// they are dot segments, not names).
fn trim_segment(seg: &str) -> Cow<'_, str> {
    let decoded = unreserved_decoded(seg);
    if decoded == "." || decoded == ".." {
        return Cow::Borrowed(seg);
    }
    let mut s = seg;
    loop {
        let before = s.len();
        s = s.strip_prefix("%20").unwrap_or(s);
        if s.len() == before {
            break;
        }
    }
    loop {
        let before = s.len();
        for tail in [".", "%20", "%2e", "%2E"] {
            s = s.strip_suffix(tail).unwrap_or(s);
        }
        if s.len() == before {
            break;
        }
    }
    if s.len() == seg.len() {
        Cow::Borrowed(seg)
    } else {
        Cow::Owned(s.to_string())
    }
}

/// `//authority/rest` → `/rest`.
fn network_path(raw: &str) -> Cow<'_, str> {
    let Some(after) = raw.strip_prefix("//") else {
        return Cow::Borrowed(raw);
    };
    if after.starts_with('/') {
        return Cow::Borrowed(raw);
    }
    match after.find('/') {
        Some(at) => Cow::Owned(after.get(at..).unwrap_or("/").to_string()),
        None => Cow::Owned("/".to_string()),
    }
}

/// Lowercase, after decoding escaped letters (`/%41DMIN` → `/admin`).
fn case_fold(raw: &str) -> Cow<'_, str> {
    let decoded = unreserved_decoded(raw);
    if decoded.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(decoded.to_ascii_lowercase())
    } else {
        decoded
    }
}

/// Escapes of unreserved characters decoded (`%2e` → `.`), the rest kept.
fn unreserved_decoded(seg: &str) -> Cow<'_, str> {
    if !seg.bytes().any(|b| b == b'%') {
        return Cow::Borrowed(seg);
    }
    let b = seg.as_bytes();
    let mut out = String::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match escape_at(b, i) {
            Some(v) if v.is_ascii_alphanumeric() || matches!(v, b'-' | b'.' | b'_' | b'~') => {
                out.push(v as char);
                i += 3;
            }
            _ => {
                let len = utf8_len(b, i);
                out.push_str(seg.get(i..i + len).unwrap_or_default());
                i += len.max(1);
            }
        }
    }
    Cow::Owned(out)
}

/// Runs of escapes of non-ASCII bytes decoded leniently, NFKC-folded, and written back:
/// ASCII results literally where a path may hold them, everything else escaped again.
fn unicode_fold(raw: &str) -> Cow<'_, str> {
    let b = raw.as_bytes();
    let mut out = String::with_capacity(b.len());
    let mut changed = false;
    let mut i = 0;
    while i < b.len() {
        let mut run = Vec::new();
        let mut j = i;
        while let Some(v) = escape_at(b, j).filter(|v| *v >= 0x80) {
            run.push(v);
            j += 3;
        }
        if run.is_empty() {
            let len = utf8_len(b, i);
            out.push_str(raw.get(i..i + len).unwrap_or_default());
            i += len.max(1);
            continue;
        }
        let text: String = lenient_utf8(&run).nfkc().collect();
        let mut again = String::with_capacity(run.len() * 3);
        for c in text.chars() {
            push_path_char(&mut again, c);
        }
        changed |= !again.eq_ignore_ascii_case(raw.get(i..j).unwrap_or_default());
        out.push_str(&again);
        i = j;
    }
    if changed {
        Cow::Owned(out)
    } else {
        Cow::Borrowed(raw)
    }
}

/// A decoded character written into a raw path: as itself where the normalizer reads it as
/// itself, else escaped (so `\` and controls meet the normalizer's own rules).
fn push_path_char(out: &mut String, c: char) {
    let literal = c.is_ascii_alphanumeric() || "/-._~!$&'()*+,;=:@".contains(c);
    if literal {
        out.push(c);
        return;
    }
    let mut buf = [0u8; 4];
    for byte in c.encode_utf8(&mut buf).bytes() {
        out.push('%');
        out.push(char::from(b"0123456789ABCDEF"[usize::from(byte >> 4)]));
        out.push(char::from(b"0123456789ABCDEF"[usize::from(byte & 15)]));
    }
}

/// UTF-8 decoded the way lenient decoders do: overlong forms accepted (`C0 AF` is `/`), a byte
/// that starts no sequence kept as U+FFFD.
fn lenient_utf8(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&lead) = bytes.get(i) {
        let (len, init) = match lead {
            0xc0..=0xdf => (2, u32::from(lead & 0x1f)),
            0xe0..=0xef => (3, u32::from(lead & 0x0f)),
            0xf0..=0xf7 => (4, u32::from(lead & 0x07)),
            _ => (1, 0xfffd),
        };
        let tail = bytes.get(i + 1..i + len).filter(|t| t.iter().all(|c| c & 0xc0 == 0x80));
        let (value, used) = match tail {
            Some(t) if len > 1 => (t.iter().fold(init, |v, c| v << 6 | u32::from(c & 0x3f)), len),
            _ => (0xfffd, 1),
        };
        out.push(char::from_u32(value).unwrap_or('\u{fffd}'));
        i += used;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(r: Reading, raw: &str) -> String {
        r.apply(raw).unwrap_or_else(|| raw.to_string())
    }

    #[test]
    fn double_decode_until_no_encoded_escape_is_left() {
        assert_eq!(read(Reading::DoubleDecode, "/%252e%252E/admin"), "/%2e%2E/admin");
        assert_eq!(read(Reading::DoubleDecode, "/%2525252e"), "/%2e");
        assert_eq!(read(Reading::DoubleDecode, "/50%25off"), "/50%25off");
        assert_eq!(Reading::DoubleDecode.apply("/a%25"), None);
    }

    #[test]
    fn path_parameters_go_from_every_segment() {
        assert_eq!(read(Reading::PathParameters, "/admin;jsessionid=1"), "/admin");
        assert_eq!(read(Reading::PathParameters, "/public/..;/admin"), "/public/../admin");
        assert_eq!(read(Reading::PathParameters, "/a;x=1/b%3Bc"), "/a/b");
        assert_eq!(Reading::PathParameters.apply("/plain/path"), None);
    }

    #[test]
    fn unicode_folds_fullwidth_overlong_and_compatibility_forms() {
        assert_eq!(read(Reading::Unicode, "/%EF%BD%81dmin"), "/admin");
        assert_eq!(read(Reading::Unicode, "/a%EF%BC%8Fb"), "/a/b");
        assert_eq!(read(Reading::Unicode, "/%C0%AE%C0%AE/x"), "/../x");
        assert_eq!(read(Reading::Unicode, "/%E0%80%AE/x"), "/./x");
        assert_eq!(read(Reading::Unicode, "/%E2%80%A5/x"), "/../x");
        assert_eq!(read(Reading::Unicode, "/%EF%BC%BC"), "/%5C");
        // Characters that stay non-ASCII are written back as they came.
        assert_eq!(Reading::Unicode.apply("/caf%C3%A9"), None);
        assert_eq!(Reading::Unicode.apply("/caf%c3%a9"), None);
        assert_eq!(Reading::Unicode.apply("/%F0%9F%98%80"), None);
        // A broken sequence decodes to U+FFFD, never panics.
        assert_eq!(read(Reading::Unicode, "/%FF%C3"), "/%EF%BF%BD%EF%BF%BD");
    }

    #[test]
    fn trim_drops_spaces_and_trailing_dots_but_not_dot_segments() {
        assert_eq!(read(Reading::Trim, "/admin%20"), "/admin");
        assert_eq!(read(Reading::Trim, "/%20admin/x"), "/admin/x");
        assert_eq!(read(Reading::Trim, "/admin.../x"), "/admin/x");
        assert_eq!(read(Reading::Trim, "/admin%2E"), "/admin");
        assert_eq!(Reading::Trim.apply("/a/../b/./c"), None);
        assert_eq!(Reading::Trim.apply("/a/%2e%2e/b"), None);
    }

    #[test]
    fn network_path_drops_the_authority() {
        assert_eq!(read(Reading::NetworkPath, "//evil.example/admin"), "/admin");
        assert_eq!(read(Reading::NetworkPath, "//evil"), "/");
        assert_eq!(Reading::NetworkPath.apply("///admin"), None);
        assert_eq!(Reading::NetworkPath.apply("/a//b"), None);
    }

    #[test]
    fn all_composes_every_reading() {
        assert_eq!(read(Reading::All, "//x/%2541DMIN;s=1"), "/admin");
        assert_eq!(read(Reading::All, "/admin.json"), "/admin.json");
        assert_eq!(read(Reading::All, "/ADMIN%EF%BC%8F"), "/admin/");
    }

    #[test]
    fn only_capitals_make_a_folded_copy_of_a_document() {
        let doc = |paths: &str, regex: &str| {
            crate::engine::parse_document(&format!(
                "policies: [{{name: p, action: DENY, rules: [{{to: [{{paths: [{paths}], pathRegex: [{regex:?}]}}]}}]}}]"
            ))
            .unwrap()
        };
        let plain = doc("/api/*", r"^/r[0-9]+/\D\S$");
        assert_eq!(case_folded(&plain), plain);
        let capital_path = doc("/Api/*", "^/r$");
        assert_ne!(case_folded(&capital_path), capital_path);
        let capital_regex = doc("/api/*", "^/R$");
        let folded = case_folded(&capital_regex);
        assert_eq!(
            folded.policies[0].rules[0].to[0].path_regex.as_deref(),
            Some(&["(?i:^/R$)".to_string()][..])
        );
    }

    #[test]
    fn the_fast_path_sees_every_trigger() {
        for raw in ["/a%2e", "/a;b", "/a.", "/a../b", "//a/b", "/A"] {
            assert!(may_differ(raw), "{raw}");
        }
        assert!(!may_differ("/api/v1/users/123"));
        assert!(!may_differ("/static/../app.min.js"));
        // Whatever may_differ passes, no reading changes.
        for raw in [
            "/api/v1/users/123",
            "/a/b-c_d~e/",
            "/",
            "/static/../app.min.js",
            "/./x",
            "/.well-known/a",
        ] {
            for r in COMMON {
                assert_eq!(r.apply(raw), None, "{raw} {r:?}");
            }
        }
    }
}
