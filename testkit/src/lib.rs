//! Test support shared by meshward's crates, so each of these exists once:
//!
//! - [`locate`]: the workspace, the OWASP CRS release, the built wasm filters and the Envoy
//!   binary, each overridable by an environment variable (an empty variable counts as unset);
//! - [`http1`]: HTTP/1.1 messages — one [`http1::Headers`] type, bounded readers for requests
//!   and responses with their framing rules, and writers — for the test clients, upstreams and
//!   parsers;
//! - [`schema`] (feature `schema`): the evidence events' JSON Schemas, checked against real events.

pub mod http1;
pub mod locate;
#[cfg(feature = "schema")]
pub mod schema;
