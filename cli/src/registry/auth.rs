//! Registry authentication: the credentials a user gives, and the `WWW-Authenticate`
//! challenges a registry answers with (RFC 7235; `Basic realm=...` or the distribution spec's
//! `Bearer realm="...",service="...",scope="..."`).

use std::collections::BTreeMap;

use base64::Engine as _;

/// What the user gave to authenticate with.
#[derive(Clone, PartialEq, Eq)]
pub enum Credentials {
    /// Nothing: anonymous access (a bearer token service may still give a token).
    Anonymous,
    /// A user name and password: sent as basic authentication, to the registry or to its token service.
    Basic {
        /// The user name.
        username: String,
        /// The password.
        password: String,
    },
    /// A bearer token sent as is with every request.
    Token(String),
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::Anonymous => f.write_str("Anonymous"),
            Credentials::Basic { username, .. } => write!(f, "Basic({username}, <password>)"),
            Credentials::Token(_) => f.write_str("Token(<token>)"),
        }
    }
}

impl Credentials {
    /// The `Authorization` value for basic authentication, when a user name was given.
    pub fn basic_header(&self) -> Option<String> {
        match self {
            Credentials::Basic { username, password } => {
                let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"));
                Some(format!("Basic {encoded}"))
            }
            _ => None,
        }
    }
}

/// One authentication challenge: a scheme and its parameters (names lowercased).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// `Basic`, `Bearer`, ... as sent.
    pub scheme: String,
    /// `realm`, `service`, `scope`, ...
    pub params: BTreeMap<String, String>,
}

impl Challenge {
    /// Whether the scheme is `name` (schemes are case-insensitive).
    pub fn is(&self, name: &str) -> bool {
        self.scheme.eq_ignore_ascii_case(name)
    }

    /// A parameter's value.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.get(name).map(String::as_str)
    }
}

/// Parses a `WWW-Authenticate` header value into its challenges. Parameter values may be
/// tokens or quoted strings (with `\` escapes, and commas inside, as in `scope="...:pull,push"`).
pub fn parse_challenges(header: &str) -> Vec<Challenge> {
    let mut challenges: Vec<Challenge> = Vec::new();
    let mut rest = header.trim_start();
    while !rest.is_empty() {
        rest = rest.trim_start_matches([',', ' ', '\t']);
        let token_end = rest
            .find(|c: char| c == '=' || c == ',' || c.is_whitespace())
            .unwrap_or(rest.len());
        let (token, after) = rest.split_at(token_end);
        if token.is_empty() {
            break;
        }
        let after_ws = after.trim_start();
        if let Some(value_start) = after_ws.strip_prefix('=').filter(|_| !challenges.is_empty()) {
            let (value, remaining) = parse_value(value_start.trim_start());
            if let Some(current) = challenges.last_mut() {
                current.params.insert(token.to_ascii_lowercase(), value);
            }
            rest = remaining;
        } else {
            challenges.push(Challenge {
                scheme: token.to_string(),
                params: BTreeMap::new(),
            });
            rest = after;
        }
    }
    challenges
}

/// A parameter value (quoted string or token) and what follows it.
fn parse_value(text: &str) -> (String, &str) {
    if let Some(quoted) = text.strip_prefix('"') {
        let mut value = String::new();
        let mut chars = quoted.char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => {
                    if let Some((_, escaped)) = chars.next() {
                        value.push(escaped);
                    }
                }
                '"' => return (value, &quoted[i + 1..]),
                _ => value.push(c),
            }
        }
        (value, "")
    } else {
        let end = text.find([',', ' ', '\t']).unwrap_or(text.len());
        (text[..end].to_string(), &text[end..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_challenges_keep_commas_inside_quotes() {
        let c = parse_challenges(
            r#"Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:meshward/waf:pull,push""#,
        );
        assert_eq!(c.len(), 1);
        assert!(c[0].is("bearer"));
        assert_eq!(c[0].param("realm"), Some("https://auth.example.com/token"));
        assert_eq!(c[0].param("service"), Some("registry.example.com"));
        assert_eq!(c[0].param("scope"), Some("repository:meshward/waf:pull,push"));
    }

    #[test]
    fn several_challenges_tokens_and_escapes() {
        let c =
            parse_challenges(r#"Basic realm="Registry \"Realm\"", Bearer realm=https://a/t, error=insufficient_scope"#);
        assert_eq!(c.len(), 2, "{c:?}");
        assert!(c[0].is("Basic"));
        assert_eq!(c[0].param("realm"), Some(r#"Registry "Realm""#));
        assert!(c[1].is("Bearer"));
        assert_eq!(c[1].param("realm"), Some("https://a/t"));
        assert_eq!(c[1].param("error"), Some("insufficient_scope"));
        assert!(parse_challenges("").is_empty());
    }

    #[test]
    fn basic_header_and_no_secret_in_debug() {
        let c = Credentials::Basic {
            username: "alice".into(),
            password: "s3cret".into(),
        };
        assert_eq!(c.basic_header().as_deref(), Some("Basic YWxpY2U6czNjcmV0"));
        assert!(!format!("{c:?}").contains("s3cret"));
        assert!(!format!("{:?}", Credentials::Token("t0k".into())).contains("t0k"));
        assert_eq!(Credentials::Anonymous.basic_header(), None);
    }
}
