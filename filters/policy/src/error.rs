//! Errors for loading, validating and importing policy documents.

use std::fmt;

/// Where in a document a problem is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Location {
    /// Policy name, when inside a policy.
    pub policy: Option<String>,
    /// Rule index within the policy.
    pub rule: Option<usize>,
    /// Field path, e.g. `to[0].paths[2]`.
    pub field: String,
    /// 1-based line in the source text, when known.
    pub line: Option<usize>,
}

impl Location {
    /// Fills in the line from the source text when unknown: the line of the policy's `name:`
    /// inside a policy, else the line of a top-level YAML key named by `field`.
    pub fn locate_in(&mut self, text: &str) {
        if self.line.is_some() {
            return;
        }
        self.line = match &self.policy {
            Some(name) => find_name_line(text, name),
            // `observe.max_keys` is located at its top-level key, `observe:`.
            None => find_top_level_key_line(text, top_level_key(&self.field)),
        };
    }
}

fn find_name_line(text: &str, name: &str) -> Option<usize> {
    text.lines()
        .position(|l| {
            let l = l.trim_start().trim_start_matches(['-', ' ', '{']);
            let Some(rest) = l.strip_prefix("name:").or_else(|| l.strip_prefix("\"name\":")) else {
                return false;
            };
            let v = rest
                .trim()
                .trim_end_matches([',', '}'])
                .trim()
                .trim_matches(['"', '\'']);
            v == name || rest.contains(&format!("\"{name}\""))
        })
        .map(|i| i + 1)
}

/// The first key of a field path (`observe` of `observe.max_keys`, `evidence` of
/// `evidence.redact[0]`).
fn top_level_key(field: &str) -> &str {
    field.split(['.', '[']).next().unwrap_or(field)
}

/// A YAML top-level `key:` (no indentation); JSON documents keep no line.
fn find_top_level_key_line(text: &str, key: &str) -> Option<usize> {
    if key.is_empty() {
        return None;
    }
    text.lines()
        .position(|l| l.strip_prefix(key).is_some_and(|rest| rest.starts_with(':')))
        .map(|i| i + 1)
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if let Some(line) = self.line {
            parts.push(format!("line {line}"));
        }
        if let Some(p) = &self.policy {
            parts.push(format!("policy `{p}`"));
        }
        if let Some(r) = self.rule {
            parts.push(format!("rule {r}"));
        }
        if !self.field.is_empty() {
            parts.push(format!("field `{}`", self.field));
        }
        if parts.is_empty() {
            write!(f, "document")
        } else {
            write!(f, "{}", parts.join(", "))
        }
    }
}

/// A policy document that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// The text is not valid YAML/JSON or does not have the document's shape.
    #[error("{}: {message}", line.map(|l| format!("line {l}")).unwrap_or_else(|| "document".into()))]
    Syntax {
        /// 1-based line, when the parser knows it.
        line: Option<usize>,
        /// The parser's message.
        message: String,
    },
    /// A field has a value that cannot be honoured.
    #[error("{location}: {reason}")]
    Invalid {
        /// Where.
        location: Location,
        /// Why.
        reason: String,
    },
}

impl PolicyError {
    /// A validation error at `location`.
    pub fn invalid(location: Location, reason: impl Into<String>) -> Self {
        PolicyError::Invalid {
            location,
            reason: reason.into(),
        }
    }

    /// The 1-based source line, when known.
    pub fn line(&self) -> Option<usize> {
        match self {
            PolicyError::Syntax { line, .. } => *line,
            PolicyError::Invalid { location, .. } => location.line,
        }
    }
}
