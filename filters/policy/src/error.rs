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
