//! Redaction of secrets in evidence events, done once where an event is built.
//!
//! A parameter, header or cookie is *sensitive* when its name contains (ASCII case-insensitively)
//! one of [`SENSITIVE_NAMES`] or one of the names a configuration adds (`evidence.redact`). Its
//! value becomes [`REDACTED`] wherever the event carries it: a matched value whose variable is
//! sensitive ([`Redactor::is_secret_variable`]), and `name=value`, `name: value` or
//! `"name":"value"` pairs inside free text such as a path's query string or a rule's `logdata`
//! ([`Redactor::text`]). Cookies are secrets whatever their name.
//!
//! It allocates only when it replaces something: clean text is returned borrowed.

// The request path: a panic here traps the VM and fails every request it serves.
#![warn(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::borrow::Cow;

/// What a secret value is replaced with.
pub const REDACTED: &str = "[redacted]";

/// Built-in sensitive words: a name containing any of them (any case) is sensitive. This covers
/// `password`, `passwd`, `pwd`, `token` (`access_token`, `id_token`, `X-Auth-Token`...), `secret`
/// (`client_secret`), API keys (`api_key`, `apikey`, `api-key`, `X-API-Key`), `Authorization` and
/// `Proxy-Authorization`, `Cookie` and `Set-Cookie`, credentials and session ids.
pub const SENSITIVE_NAMES: [&str; 13] = [
    "password",
    "passwd",
    "pwd",
    "token",
    "secret",
    "api_key",
    "apikey",
    "api-key",
    "authorization",
    "cookie",
    "credential",
    "session",
    "sessid",
];

/// The sensitive names in force: the built-in list and a configuration's additions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Redactor {
    /// Names added by the configuration (matched like the built-in ones).
    extra: Vec<String>,
}

impl Redactor {
    /// The built-in list alone.
    pub const EMPTY: Redactor = Redactor { extra: Vec::new() };

    /// The built-in list plus `extra` (empty entries are ignored).
    pub fn new(extra: &[String]) -> Redactor {
        Redactor {
            extra: extra
                .iter()
                .filter(|n| !n.is_empty())
                .map(|n| n.to_ascii_lowercase())
                .collect(),
        }
    }

    /// Whether values named `name` are secrets.
    pub fn is_sensitive(&self, name: &str) -> bool {
        let name = name.as_bytes();
        SENSITIVE_NAMES
            .iter()
            .copied()
            .chain(self.extra.iter().map(String::as_str))
            .any(|word| contains_ignore_case(name, word.as_bytes()))
    }

    /// Whether the values of a SecLang variable (`COLLECTION:key`) are secrets: every cookie, and
    /// any member whose key is sensitive (`ARGS:password`, `REQUEST_HEADERS:Authorization`).
    /// Names (`*_NAMES` collections) are not secrets, except cookie names.
    pub fn is_secret_variable(&self, variable: &str) -> bool {
        let (collection, key) = variable.split_once(':').unwrap_or((variable, ""));
        let collection = collection.as_bytes();
        if starts_with_ignore_case(collection, b"request_cookies") {
            return true;
        }
        !ends_with_ignore_case(collection, b"_names") && !key.is_empty() && self.is_sensitive(key)
    }

    /// `text` with the value of every sensitive `name=value`, `name: value` or `"name":"value"`
    /// pair replaced by [`REDACTED`]; borrowed when nothing was replaced.
    pub fn text<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let bytes = text.as_bytes();
        let mut out: Option<String> = None;
        let mut copied = 0;
        let mut i = 0;
        while i < bytes.len() {
            let Some(value) = self.secret_value_at(bytes, i) else {
                i += 1;
                continue;
            };
            let (start, end) = value;
            let out = out.get_or_insert_with(|| String::with_capacity(text.len()));
            out.push_str(text.get(copied..start).unwrap_or_default());
            out.push_str(REDACTED);
            copied = end;
            i = end.max(i + 1);
        }
        match out {
            None => Cow::Borrowed(text),
            Some(mut out) => {
                out.push_str(text.get(copied..).unwrap_or_default());
                Cow::Owned(out)
            }
        }
    }

    /// When `bytes[at]` is the `=` or `:` of a pair with a sensitive name and a non-empty value,
    /// the byte range of the value.
    fn secret_value_at(&self, bytes: &[u8], at: usize) -> Option<(usize, usize)> {
        let sep = *bytes.get(at)?;
        if sep != b'=' && sep != b':' {
            return None;
        }
        // A JSON key is quoted: `"password":`.
        let quoted_key = sep == b':' && at > 0 && matches!(bytes.get(at - 1), Some(b'"' | b'\''));
        let key_end = if quoted_key { at - 1 } else { at };
        let key_start = bytes
            .get(..key_end)?
            .iter()
            .rposition(|b| !is_name_byte(*b))
            .map_or(0, |p| p + 1);
        let key = std::str::from_utf8(bytes.get(key_start..key_end)?).ok()?;
        if key.is_empty() || !self.is_sensitive(key) {
            return None;
        }
        let mut start = at + 1;
        if sep == b':' {
            start += bytes.get(start..)?.iter().take_while(|b| **b == b' ').count();
        }
        let rest = bytes.get(start..)?;
        let (start, len) = match rest.first() {
            Some(q @ (b'"' | b'\'')) => (start + 1, quoted_len(rest.get(1..)?, *q)),
            _ => {
                let stops: &[u8] = match (sep, quoted_key) {
                    (b'=', _) => b"&;#\"' \t\r\n",
                    (_, true) => b",}] \t\r\n",
                    // `Authorization: Bearer abc`: the rest of the line.
                    _ => b"\"'\r\n",
                };
                (start, rest.iter().position(|b| stops.contains(b)).unwrap_or(rest.len()))
            }
        };
        (len > 0).then_some((start, start + len))
    }
}

/// Length of a quoted value up to its closing `quote` (a backslash escapes the next byte).
fn quoted_len(rest: &[u8], quote: u8) -> usize {
    let mut i = 0;
    while let Some(b) = rest.get(i) {
        match *b {
            b'\\' => i += 2,
            b if b == quote => return i,
            _ => i += 1,
        }
    }
    rest.len()
}

/// Bytes of a parameter, header or JSON key name.
fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'[' | b']')
}

fn contains_ignore_case(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w.eq_ignore_ascii_case(needle))
}

fn starts_with_ignore_case(s: &[u8], prefix: &[u8]) -> bool {
    s.get(..prefix.len()).is_some_and(|p| p.eq_ignore_ascii_case(prefix))
}

fn ends_with_ignore_case(s: &[u8], suffix: &[u8]) -> bool {
    s.len() >= suffix.len()
        && s.get(s.len() - suffix.len()..)
            .is_some_and(|p| p.eq_ignore_ascii_case(suffix))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_case_insensitively_and_by_containment() {
        let r = Redactor::default();
        for name in [
            "password",
            "PassWord",
            "new_password",
            "passwd",
            "pwd",
            "token",
            "access_token",
            "X-Auth-Token",
            "client_secret",
            "api_key",
            "apikey",
            "API-Key",
            "X-API-Key",
            "Authorization",
            "Proxy-Authorization",
            "Cookie",
            "Set-Cookie",
            "JSESSIONID",
        ] {
            assert!(r.is_sensitive(name), "{name}");
        }
        for name in ["q", "id", "user", "Content-Type", "author", "ssn"] {
            assert!(!r.is_sensitive(name), "{name}");
        }
        let extended = Redactor::new(&["SSN".into(), String::new()]);
        assert!(extended.is_sensitive("ssn") && extended.is_sensitive("user_ssn"));
        assert!(!extended.is_sensitive("q"), "an empty addition matches nothing");
    }

    #[test]
    fn secret_variables() {
        let r = Redactor::default();
        for v in [
            "REQUEST_COOKIES:lang",
            "REQUEST_COOKIES_NAMES:lang",
            "REQUEST_HEADERS:Authorization",
            "REQUEST_HEADERS:cookie",
            "RESPONSE_HEADERS:Set-Cookie",
            "ARGS:password",
            "ARGS_GET:access_token",
            "ARGS_POST:json.user.pwd",
        ] {
            assert!(r.is_secret_variable(v), "{v}");
        }
        for v in [
            "ARGS:q",
            "ARGS_NAMES:password",
            "REQUEST_HEADERS:User-Agent",
            "REQUEST_URI",
            "ARGS",
        ] {
            assert!(!r.is_secret_variable(v), "{v}");
        }
    }

    #[test]
    fn text_pairs_are_redacted_and_clean_text_is_borrowed() {
        let r = Redactor::default();
        let cases = [
            (
                "/login?user=bob&password=hunter2&x=1",
                "/login?user=bob&password=[redacted]&x=1",
            ),
            ("/a?PASSWORD=x#frag", "/a?PASSWORD=[redacted]#frag"),
            // A value runs to the next `&`, `;` or `#`: a `/` may be part of it (base64).
            ("/a;jsessionid=AB/C", "/a;jsessionid=[redacted]"),
            ("/a?api_key=k&token=t", "/a?api_key=[redacted]&token=[redacted]"),
            (
                r#"{"user":"bob","password":"hu\"n","n":1}"#,
                r#"{"user":"bob","password":"[redacted]","n":1}"#,
            ),
            (r#"{"token": 12345, "a": 1}"#, r#"{"token": [redacted], "a": 1}"#),
            (
                "Matched Data: x found within ARGS:q: a=1&secret=s3",
                "Matched Data: x found within ARGS:q: a=1&secret=[redacted]",
            ),
            (
                "Authorization: Bearer abc.def\r\nHost: h",
                "Authorization: [redacted]\r\nHost: h",
            ),
            ("/a?password=&q=1", "/a?password=&q=1"),
        ];
        for (text, want) in cases {
            assert_eq!(r.text(text), want, "{text}");
        }
        assert!(matches!(r.text("/search?q=1&page=2"), Cow::Borrowed(_)));
        assert!(matches!(r.text("ARGS:q"), Cow::Borrowed(_)));
        assert_eq!(Redactor::new(&["ssn".into()]).text("/p?SSN=1"), "/p?SSN=[redacted]");
    }

    #[test]
    fn multibyte_text_stays_valid() {
        let r = Redactor::default();
        assert_eq!(r.text("/é?token=ü&q=ß"), "/é?token=[redacted]&q=ß");
        assert_eq!(r.text("token=é"), "token=[redacted]");
    }
}
