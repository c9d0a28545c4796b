//! A client for registries that follow the OCI distribution spec: where a reference points
//! ([`endpoint`]), how to authenticate ([`auth`]: basic, bearer-token challenges, static
//! tokens; [`token`]: the bearer-token flow), one HTTP exchange ([`transport`]), the
//! distribution API calls ([`client`]), pushing an image layout ([`push`]) and pulling a module
//! back as Istio does ([`pull`]).

pub mod auth;
pub mod client;
pub mod endpoint;
pub mod error;
pub mod pull;
pub mod push;
pub mod token;
pub mod transport;

pub use error::RegistryError;
