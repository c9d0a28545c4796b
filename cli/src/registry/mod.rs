//! A client for registries that follow the OCI distribution spec: where a reference points
//! ([`endpoint`]), how to authenticate ([`auth`]: basic, bearer-token challenges, static
//! tokens), the requests ([`client`]) and pushing an image layout ([`push`]).

pub mod auth;
pub mod client;
pub mod endpoint;
pub mod error;
pub mod push;

pub use error::RegistryError;
