//! meshward's vocabulary, defined once for every filter: the two modes (`detect`, `enforce`), the
//! four decisions (`allow`, `block`, `would_block`, `refused`) with their counter names, and the
//! prefixes of log lines and metrics (`meshward.<filter>: ...`, `meshward.<filter>.event {json}`,
//! `meshward_<filter>.*`), the level evidence is logged at, and the format of event timestamps. The policy engine still reads the old mode word `dry-run` (and
//! `dry_run`, `dryrun`) as `detect`, and [`WrittenMode`] says when it did so the caller can warn.

pub mod decision;
pub mod filter;
pub mod level;
pub mod mode;
pub mod time;

pub use decision::{Decision, DecisionCounts};
pub use filter::Filter;
pub use level::EvidenceLevel;
pub use mode::{Deprecation, Mode, UnknownMode, WrittenMode};
