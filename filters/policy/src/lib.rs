//! meshward L7 network policy: a policy model (YAML/JSON), its validation and compilation into
//! indexed matchers, canonical path/host normalization, and Istio-ordered evaluation with
//! per-policy dry-run. No proxy-wasm dependency: the `meshward-netpolicy` filter adapts it.

pub mod compile;
pub mod decision;
pub mod engine;
pub mod error;
pub mod identity;
pub mod index;
pub mod istio;
pub mod model;
pub mod normalize;
pub mod pattern;
pub mod request;

pub use decision::{Decision, Matched, Outcome, Verdict, EVENT_PREFIX};
pub use engine::{parse_document, Engine, DENY_STATUS, INVALID_STATUS};
pub use error::{Location, PolicyError};
pub use model::{Action, Direction, Mode, PolicyDocument};
pub use request::Request;
