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
//! ```
//! use meshward_seclang::{InterventionAction, Phase, RuleSet};
//!
//! let rules = RuleSet::from_str(
//!     r#"SecRuleEngine On
//! SecRule ARGS "@rx (?i)union\s+select" "id:1001,phase:1,deny,status:403,msg:'SQL injection'""#,
//!     "inline",
//! )?;
//!
//! let run = |uri: &[u8]| {
//!     let mut tx = rules.transaction();
//!     tx.process_connection("10.0.0.1", 4242, "10.0.0.2", 80);
//!     tx.process_uri(uri, "GET", "1.1");
//!     tx.add_request_header(b"Host", b"example.com");
//!     tx.process_request_headers();
//!     tx
//! };
//!
//! let clean = run(b"/search?q=shoes");
//! assert!(clean.intervention().is_none());
//! assert!(clean.matched_rules().is_empty());
//!
//! let attack = run(b"/search?q=1%20UNION%20SELECT%20password");
//! let denied = attack.intervention().expect("the attack is denied");
//! assert_eq!(denied.action, InterventionAction::Deny);
//! assert_eq!((denied.status, denied.rule_id, denied.phase), (403, 1001, Phase::RequestHeaders));
//! let matched = &attack.matched_rules()[0];
//! assert_eq!((matched.id, matched.variable.as_str()), (1001, "ARGS:q"));
//! assert_eq!(matched.msg, "SQL injection");
//! # Ok::<(), meshward_seclang::LoadError>(())
//! ```

#![warn(missing_docs)]

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
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
mod gate;
mod macros;
mod operator;
mod parser;
mod persist;
mod phase;
mod prefilter;
mod rule;
#[cfg(feature = "rule-counts")]
pub mod rule_counts;
mod ruleset;
pub mod rx_table;
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
