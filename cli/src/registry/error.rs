//! What can go wrong talking to a registry.

use crate::oci::layout::LayoutError;

/// A registry request failed; the message names the registry or URL and the reason.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The connection or the HTTP exchange failed.
    #[error("{method} {url}: {source}")]
    Transport {
        /// The request method.
        method: String,
        /// The URL.
        url: String,
        /// ureq's error.
        source: Box<ureq::Error>,
    },
    /// The registry refused the credentials given.
    #[error("{registry}: authentication failed: {detail}; check the user name and password (or the token)")]
    Unauthorized {
        /// host[:port].
        registry: String,
        /// What the registry said.
        detail: String,
    },
    /// The registry needs credentials and none were given.
    #[error("{registry} needs {scheme} authentication: give --username and --password (or --token)")]
    CredentialsNeeded {
        /// host[:port].
        registry: String,
        /// `Basic` or `Bearer`.
        scheme: String,
    },
    /// The token service named by a `WWW-Authenticate: Bearer` challenge did not give a token.
    #[error("{registry}: token service {realm}: {reason}")]
    Token {
        /// host[:port].
        registry: String,
        /// The realm URL.
        realm: String,
        /// Why no token.
        reason: String,
    },
    /// A URL this client would reach over plain HTTP is not on this machine.
    #[error("{url}: plain HTTP to a host that is not this machine; use https, or --insecure")]
    PlainHttp {
        /// The URL.
        url: String,
    },
    /// The registry answered with an unexpected status.
    #[error("{method} {url}: {status} {detail}")]
    Status {
        /// The request method.
        method: String,
        /// The URL.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The registry's errors, or the body.
        detail: String,
    },
    /// An upload answer lacks its `Location`.
    #[error("{method} {url}: {status} without a Location header")]
    NoLocation {
        /// The request method.
        method: String,
        /// The URL.
        url: String,
        /// The HTTP status.
        status: u16,
    },
    /// The registry stored the manifest under another digest than the one computed here.
    #[error("the registry answered digest {actual} for the manifest, expected {expected}")]
    DigestMismatch {
        /// The layout's manifest digest.
        expected: String,
        /// `Docker-Content-Digest` of the answer.
        actual: String,
    },
    /// The layout to push could not be read.
    #[error(transparent)]
    Layout(#[from] LayoutError),
}
