//! Load-time errors: every rejected construct names its file, line, rule id and reason.

use std::fmt;
use std::path::PathBuf;

/// Where a directive came from: file (or origin name) and the line it starts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The rule file path, or the origin name given to `RuleSet::from_str`.
    pub file: PathBuf,
    /// 1-based line number of the directive's first line.
    pub line: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file.display(), self.line)
    }
}

/// What was wrong with a directive.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ErrorKind {
    /// A file could not be read (or an Include matched nothing).
    #[error("cannot read {path}: {reason}")]
    Io {
        /// The file that failed.
        path: PathBuf,
        /// The OS error or explanation.
        reason: String,
    },
    /// The directive name is not SecLang this engine knows.
    #[error("unknown directive {0}")]
    UnknownDirective(String),
    /// The operator is unknown or its argument invalid.
    #[error("operator: {0}")]
    Operator(String),
    /// The action is not one this engine knows.
    #[error("unknown action {0}")]
    UnknownAction(String),
    /// An action is known but its argument is invalid.
    #[error("invalid action {action}: {reason}")]
    InvalidAction {
        /// Action name.
        action: String,
        /// Why it was rejected.
        reason: String,
    },
    /// The transformation name is unknown.
    #[error("unknown transformation {0}")]
    UnknownTransformation(String),
    /// The variable name is unknown.
    #[error("unknown variable {0}")]
    UnknownVariable(String),
    /// A variable selector or regex is invalid.
    #[error("invalid variable {variable}: {reason}")]
    InvalidVariable {
        /// The variable as written.
        variable: String,
        /// Why it was rejected.
        reason: String,
    },
    /// Syntax error: quoting, argument count, continuation.
    #[error("syntax: {0}")]
    Syntax(String),
    /// A directive's value is out of range or unknown.
    #[error("invalid value for {directive}: {reason}")]
    InvalidValue {
        /// Directive name.
        directive: String,
        /// Why the value was rejected.
        reason: String,
    },
    /// Two rules share an id.
    #[error("duplicate rule id {0}")]
    DuplicateId(u64),
    /// Rule-level inconsistency (missing id, phase in a chained rule, dangling chain...).
    #[error("rule: {0}")]
    Rule(String),
}

/// A directive that could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{location}{}: {kind}", rule_id.map(|id| format!(" (rule {id})")).unwrap_or_default())]
pub struct LoadError {
    /// File and line of the directive.
    pub location: Location,
    /// The rule id, when the directive carries one.
    pub rule_id: Option<u64>,
    /// The reason.
    pub kind: ErrorKind,
}

impl LoadError {
    /// Builds an error at `location` without a rule id.
    pub(crate) fn new(location: &Location, kind: ErrorKind) -> LoadError {
        LoadError {
            location: location.clone(),
            rule_id: None,
            kind,
        }
    }

    /// Attaches a rule id.
    pub(crate) fn with_rule(mut self, id: Option<u64>) -> LoadError {
        if self.rule_id.is_none() {
            self.rule_id = id;
        }
        self
    }
}

/// A directive that was accepted but has no effect in this engine (e.g. `SecAuditLog`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadWarning {
    /// File and line of the directive.
    pub location: Location,
    /// The directive name.
    pub directive: String,
    /// Why it is ignored.
    pub reason: String,
}

impl fmt::Display for LoadWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} ignored: {}", self.location, self.directive, self.reason)
    }
}
