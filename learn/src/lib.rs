//! `meshward learn policy`'s engine: reads the policy filter's observation and decision events,
//! templates the paths per destination service, and writes a least-privilege meshward policy
//! document, the matching Istio AuthorizationPolicies and a report; `meshward learn api`'s:
//! the same templates as an OpenAPI inventory per service and its drift against a declared
//! spec. Plain Rust, no proxy-wasm.

pub mod caller;
pub mod drift;
pub mod error;
pub mod events;
pub mod istio;
pub mod learn;
pub mod openapi;
pub mod policy;
pub mod report;
pub mod segment;
pub mod template;
pub mod yaml;

pub use caller::Caller;
pub use error::LearnError;
pub use events::Intake;
pub use learn::{learn, Learned, Options};
pub use report::Report;
