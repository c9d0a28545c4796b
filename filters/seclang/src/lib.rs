//! meshward-seclang: a ModSecurity SecLang engine that runs the OWASP Core Rule Set v4
//! unmodified. Plain Rust, no proxy-wasm dependency: filters are thin adapters over it.
//!
//! Load once with [`RuleSet::from_file`], [`RuleSet::from_str`] or [`RuleSet::builder`]
//! (everything is parsed and compiled there; [`RuleSet::warnings`] lists directives accepted
//! without effect). Then per request: [`RuleSet::transaction`] and drive the
//! [`Transaction`] in libmodsecurity's order (`process_connection`, `process_uri`,
//! `add_request_header`*, `process_request_headers`, `append_request_body`*,
//! `process_request_body`, `add_response_header`*, `process_response_headers`,
//! `append_response_body`*, `process_response_body`, `process_logging`), checking
//! [`Transaction::intervention`] after each phase. Evidence: [`Transaction::matched_rules`],
//! [`Transaction::decision`], [`Transaction::collection`].
//!
//! ```no_run
//! use meshward_seclang::RuleSet;
//! let rules = RuleSet::from_str("SecRuleEngine On\nSecRule ARGS \"@unconditionalMatch\" \"id:1,deny\"", "inline").unwrap();
//! let mut tx = rules.transaction();
//! tx.process_connection("10.0.0.1", 4242, "10.0.0.2", 80);
//! tx.process_uri(b"/?a=1", "GET", "1.1");
//! tx.process_request_headers();
//! tx.process_request_body();
//! assert_eq!(tx.intervention().map(|i| i.status), Some(403));
//! ```

pub mod action;
pub mod body;
pub mod clock;
pub mod collection;
pub mod config;
pub mod crs;
pub mod error;
pub mod files;
pub mod macros;
pub mod operator;
pub mod parser;
pub mod persist;
mod prefilter;
pub mod rule;
pub mod ruleset;
pub mod transaction;
pub mod transform;
pub mod variable;

pub use action::EngineMode;
pub use collection::Collection;
pub use config::EngineConfig;
pub use error::{ErrorKind, LoadError, LoadWarning, Location};
pub use files::{DiskFiles, FileSource, Files, MemoryFiles};
pub use ruleset::{RuleSet, RuleSetBuilder, RuleStats};
pub use transaction::{Intervention, InterventionAction, MatchedRule, Transaction};
