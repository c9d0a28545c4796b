//! meshward L7 network policy: a policy model (YAML/JSON), its validation and compilation into
//! indexed matchers, canonical path/host normalization, and Istio-ordered evaluation with
//! per-policy `detect` / `enforce` modes. Modes and decisions are the shared words of
//! `meshward-vocab`. No proxy-wasm dependency: the `meshward-netpolicy` filter adapts it.

pub mod compile;
pub mod deprecated;
pub mod engine;
pub mod error;
pub mod identity;
pub mod index;
pub mod istio;
pub mod jwt;
pub mod model;
pub mod normalize;
pub mod observe;
pub mod pattern;
pub mod reading;
pub mod request;
pub mod ruling;
pub mod wasmplugin;

pub use deprecated::Deprecated;
pub use engine::{parse_document, Engine, DENY_STATUS, INVALID_STATUS};
pub use error::{Location, PolicyError};
/// The behaviour analytics engine the `analytics` section configures.
pub use meshward_analytics as analytics;
pub use model::{Action, Direction, Observe, PolicyDocument};
pub use request::Request;
pub use ruling::{Matched, Outcome, Ruling, EVENT_PREFIX};
