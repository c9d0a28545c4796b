//! Operators (`@rx`, `@pm`, `@detectSQLi`, ...) compiled at load time and matched per value.
//!
//! CONTRACT (shared by the engine core):
//! - `Operator::compile(name, argument, &CompileEnv)` at load time (regexes, pattern sets and
//!   data files are built here, never per request). `name` has no `@`; negation (`!@rx`) is
//!   handled by the engine, not here.
//! - `Operator::matches(&self, value, &dyn MacroResolver, Option<&mut Captures>) -> bool`
//!   per value; arguments holding `%{...}` are expanded through the resolver.

use std::path::PathBuf;

use crate::macros::MacroResolver;

/// What an operator may read while it compiles (data files are relative to `base_dir`).
#[derive(Debug, Clone, Default)]
pub struct CompileEnv {
    /// Directory of the rule file that holds the operator.
    pub base_dir: PathBuf,
}

/// Errors raised while compiling an operator; the engine adds file, line and rule id.
#[derive(Debug, thiserror::Error)]
pub enum OperatorError {
    /// The operator name is not one this engine knows.
    #[error("unknown operator @{0}")]
    Unknown(String),
    /// The argument is invalid for this operator.
    #[error("invalid argument for @{operator}: {reason}")]
    InvalidArgument {
        /// Operator name.
        operator: String,
        /// Why the argument was rejected.
        reason: String,
    },
}

/// Capture groups set by a matching operator when its rule has the `capture` action
/// (`TX.0` .. `TX.9`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Captures {
    /// Index `i` holds `TX.i`; unset groups are `None`.
    pub groups: [Option<Vec<u8>>; 10],
}

/// A compiled operator.
#[derive(Debug)]
pub struct Operator {
    name: String,
}

impl Operator {
    /// Compiles operator `name` (without `@`) with its raw `argument`.
    pub fn compile(name: &str, argument: &str, env: &CompileEnv) -> Result<Operator, OperatorError> {
        let _ = (argument, env);
        match name {
            "unconditionalMatch" => Ok(Operator { name: name.to_string() }),
            _ => Err(OperatorError::Unknown(name.to_string())),
        }
    }

    /// The operator's SecLang name, without `@`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Tests one (already transformed) value.
    pub fn matches(
        &self,
        value: &[u8],
        macros: &dyn MacroResolver,
        captures: Option<&mut Captures>,
    ) -> bool {
        let _ = (value, macros, captures);
        true
    }
}
