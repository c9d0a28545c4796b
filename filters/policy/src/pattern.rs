//! Value patterns of the policy format: strings with `*`, path templates, hosts, IP blocks.

use std::net::IpAddr;

use ipnet::IpNet;
use regex::Regex;

/// `*`, `prefix*`, `*suffix` or an exact value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StrPattern {
    /// `*`: any present value.
    Any,
    /// Equal.
    Exact(Box<str>),
    /// Starts with.
    Prefix(Box<str>),
    /// Ends with.
    Suffix(Box<str>),
}

impl StrPattern {
    /// Parses a value; `*` may only be the whole value, its first or its last character.
    pub fn parse(text: &str) -> Result<StrPattern, String> {
        if text.is_empty() {
            return Err("empty value".into());
        }
        if text == "*" {
            return Ok(StrPattern::Any);
        }
        let p = if let Some(rest) = text.strip_prefix('*') {
            StrPattern::Suffix(rest.into())
        } else if let Some(rest) = text.strip_suffix('*') {
            StrPattern::Prefix(rest.into())
        } else {
            StrPattern::Exact(text.into())
        };
        let inner = match &p {
            StrPattern::Exact(s) | StrPattern::Prefix(s) | StrPattern::Suffix(s) => s,
            StrPattern::Any => "",
        };
        if inner.contains('*') {
            return Err(format!("`{text}`: `*` is only allowed as the first or last character"));
        }
        Ok(p)
    }

    /// Whether `value` matches.
    pub fn matches(&self, value: &str) -> bool {
        match self {
            StrPattern::Any => true,
            StrPattern::Exact(s) => value == &**s,
            StrPattern::Prefix(s) => value.starts_with(&**s),
            StrPattern::Suffix(s) => value.ends_with(&**s),
        }
    }
}

/// A `paths` value: a string pattern or a `{*}`/`{**}` template compiled to an anchored regex.
#[derive(Debug, Clone)]
pub enum PathPattern {
    /// Exact, prefix, suffix or any.
    Str(StrPattern),
    /// A template, with the literal text before its first and after its last `{...}`.
    Template {
        /// The anchored regex.
        regex: Regex,
        /// Literal prefix (starts with `/`).
        prefix: Box<str>,
        /// Literal suffix (may be empty).
        suffix: Box<str>,
    },
}

impl PathPattern {
    /// Parses a `paths` value.
    pub fn parse(text: &str) -> Result<PathPattern, String> {
        if !text.contains('{') && !text.contains('}') {
            let p = StrPattern::parse(text)?;
            if let StrPattern::Exact(s) | StrPattern::Prefix(s) = &p {
                if !s.starts_with('/') {
                    return Err(format!("`{text}`: a path starts with `/` (or `*` for a suffix)"));
                }
            }
            return Ok(PathPattern::Str(p));
        }
        let regex = Regex::new(&template_regex(text)?).map_err(|e| e.to_string())?;
        let prefix = &text[..text.find('{').unwrap_or(text.len())];
        let suffix = &text[text.rfind('}').map_or(text.len(), |i| i + 1)..];
        Ok(PathPattern::Template {
            regex,
            prefix: prefix.into(),
            suffix: suffix.into(),
        })
    }

    /// Whether the normalized path matches.
    pub fn matches(&self, path: &str) -> bool {
        match self {
            PathPattern::Str(p) => p.matches(path),
            PathPattern::Template { regex, .. } => regex.is_match(path),
        }
    }
}

/// The anchored regex of a path template: `{*}` is one non-empty segment, `{**}` the rest.
pub fn template_regex(text: &str) -> Result<String, String> {
    if !text.starts_with('/') {
        return Err(format!("`{text}`: a path template starts with `/`"));
    }
    let segments: Vec<&str> = text[1..].split('/').collect();
    let mut re = String::from("^");
    for (i, seg) in segments.iter().enumerate() {
        re.push('/');
        match *seg {
            "{*}" => re.push_str("[^/]+"),
            "{**}" => {
                if i + 1 != segments.len() {
                    return Err(format!("`{text}`: `{{**}}` must be the last segment"));
                }
                re.push_str(".*");
            }
            s if s.contains(['{', '}', '*']) => {
                return Err(format!(
                    "`{text}`: `{{*}}` and `{{**}}` must be whole segments; `*` is not allowed in a template"
                ))
            }
            s => re.push_str(&regex::escape(s)),
        }
    }
    re.push('$');
    Ok(re)
}

/// A literal every match of `pattern` starts with, when the regex is anchored with `^` and
/// has no alternation (used only to narrow candidates; the regex is still checked).
pub fn regex_literal_prefix(pattern: &str) -> Option<String> {
    let body = pattern.strip_prefix('^')?;
    if pattern.contains('|') {
        return None;
    }
    let mut out = String::new();
    let mut chars = body.chars().peekable();
    while let Some(c) = chars.next() {
        let lit = match c {
            '\\' => match chars.peek() {
                Some(&n) if "./-_~:@=&%!,;#".contains(n) => {
                    chars.next();
                    n
                }
                _ => break,
            },
            c if c.is_ascii_alphanumeric() || "/-_~:@=&%!,;'#".contains(c) => c,
            '?' | '*' | '{' => {
                // The quantifier applies to the last literal character.
                out.pop();
                break;
            }
            _ => break,
        };
        out.push(lit);
    }
    // A quantifier right after the run also makes its last character optional.
    if matches!(chars.peek(), Some('?' | '*' | '{')) {
        out.pop();
    }
    (!out.is_empty()).then_some(out)
}

/// A `hosts` value: a lowercase name pattern and an optional port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPattern {
    /// Name part, lowercased, trailing dot removed.
    pub name: StrPattern,
    /// Port, when written `host:port`.
    pub port: Option<u16>,
}

impl HostPattern {
    /// Parses a `hosts`/`sni` value (`sni` values never have a port).
    pub fn parse(text: &str) -> Result<HostPattern, String> {
        let lower = text.to_ascii_lowercase();
        let (name, port) = match lower.rsplit_once(':') {
            Some((n, p)) if !n.contains(':') || n.ends_with(']') => {
                let port = p
                    .parse::<u16>()
                    .ok()
                    .filter(|p| *p > 0)
                    .ok_or_else(|| format!("`{text}`: invalid port"))?;
                (n.to_string(), Some(port))
            }
            _ => (lower, None),
        };
        let name = name.trim_start_matches('[').trim_end_matches(']');
        let name = name.strip_suffix('.').unwrap_or(name);
        Ok(HostPattern {
            name: StrPattern::parse(name)?,
            port,
        })
    }

    /// Whether a normalized host and effective port match.
    pub fn matches(&self, host: &str, port: Option<u16>) -> bool {
        self.name.matches(host) && self.port.is_none_or(|p| Some(p) == port)
    }
}

/// Parses an address or CIDR (`10.0.0.0/8`, `192.168.1.7`, `fd00::/8`).
pub fn parse_block(text: &str) -> Result<IpNet, String> {
    if let Ok(net) = text.parse::<IpNet>() {
        return Ok(net.trunc());
    }
    text.parse::<IpAddr>()
        .map(IpNet::from)
        .map_err(|_| format!("`{text}` is not an IP address or CIDR"))
}

/// Whether `ip` is in any of `blocks` (IPv4-mapped IPv6 addresses count as IPv4).
pub fn in_blocks(blocks: &[IpNet], ip: IpAddr) -> bool {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    };
    blocks.iter().any(|b| b.contains(&ip))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates() {
        let t = PathPattern::parse("/users/{*}/profile").unwrap();
        assert!(t.matches("/users/alice/profile"));
        assert!(!t.matches("/users//profile"));
        assert!(!t.matches("/users/a/b/profile"));
        let t = PathPattern::parse("/files/{**}").unwrap();
        assert!(t.matches("/files/"));
        assert!(t.matches("/files/a/b"));
        assert!(!t.matches("/files"));
        assert!(!t.matches("/filesx/a"));
        assert!(PathPattern::parse("/a/{**}/b").is_err());
        assert!(PathPattern::parse("/a{*}").is_err());
        assert!(PathPattern::parse("/a/{x}").is_err());
        assert!(PathPattern::parse("a/b").is_err());
        assert!(PathPattern::parse("/a*b").is_err());
        assert!(PathPattern::parse("*.png").unwrap().matches("/x/y.png"));
        match PathPattern::parse("/users/{*}/keys").unwrap() {
            PathPattern::Template { prefix, suffix, .. } => assert_eq!((&*prefix, &*suffix), ("/users/", "/keys")),
            _ => panic!("not a template"),
        }
    }

    #[test]
    fn regex_prefixes() {
        assert_eq!(
            regex_literal_prefix("^/v1/orders/[0-9]+$").as_deref(),
            Some("/v1/orders/")
        );
        assert_eq!(regex_literal_prefix(r"^/a\.b/x").as_deref(), Some("/a.b/x"));
        assert_eq!(regex_literal_prefix("^/ab?c").as_deref(), Some("/a"));
        assert_eq!(regex_literal_prefix("^/ab*").as_deref(), Some("/a"));
        assert_eq!(regex_literal_prefix("^/ab{2}").as_deref(), Some("/a"));
        assert_eq!(regex_literal_prefix("^/a(b)").as_deref(), Some("/a"));
        assert_eq!(regex_literal_prefix("^/a|^/b"), None);
        assert_eq!(regex_literal_prefix("/a"), None);
        assert_eq!(regex_literal_prefix("^(?i)/admin"), None);
        assert_eq!(regex_literal_prefix(r"^\d"), None);
    }

    #[test]
    fn hosts() {
        let h = HostPattern::parse("API.example.com.").unwrap();
        assert!(h.matches("api.example.com", Some(443)));
        let h = HostPattern::parse("*.example.com:8443").unwrap();
        assert!(h.matches("a.example.com", Some(8443)));
        assert!(!h.matches("a.example.com", Some(443)));
        assert!(!h.matches("a.example.com", None));
        assert!(HostPattern::parse("a:x").is_err());
        assert_eq!(HostPattern::parse("[::1]:80").unwrap().port, Some(80));
    }

    #[test]
    fn blocks() {
        let b = vec![parse_block("10.0.0.0/8").unwrap(), parse_block("192.168.1.7").unwrap()];
        assert!(in_blocks(&b, "10.2.3.4".parse().unwrap()));
        assert!(in_blocks(&b, "::ffff:10.2.3.4".parse().unwrap()));
        assert!(!in_blocks(&b, "192.168.1.8".parse().unwrap()));
        assert!(parse_block("10.0.0.0/33").is_err());
        assert!(parse_block("nope").is_err());
    }
}
