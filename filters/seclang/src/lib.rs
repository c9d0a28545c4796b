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

mod action;
mod body;
pub mod clock;
mod collection;
mod compiled;
mod compiler;
mod config;
pub mod crs;
mod error;
mod files;
mod macros;
mod operator;
mod parser;
mod persist;
mod phase;
mod prefilter;
mod rule;
mod ruleset;
mod transaction;
mod transform;
mod variable;

pub use action::{BodyProcessor, EngineMode};
pub use collection::{Collection, Entry};
pub use compiled::RuleStats;
pub use config::{EngineConfig, LimitAction};
pub use error::{ErrorKind, LoadError, LoadWarning, Location};
pub use files::{DiskFiles, FileSource, Files, MemoryFiles};
pub use phase::Phase;
pub use ruleset::{RuleSet, RuleSetBuilder};
pub use transaction::{Intervention, InterventionAction, MatchedRule, RequestBodyState, Transaction};
