//! What the engine is told about one request (Envoy attributes and request headers).

use serde_json::{Map, Value};

use crate::model::Direction;

/// Attributes of one request, borrowed from the caller. Header names are lowercase; a header that
/// appears several times appears several times here (values are never joined).
#[derive(Debug, Clone, Copy, Default)]
pub struct Request<'a> {
    /// `:method`.
    pub method: &'a str,
    /// Raw `:path` (request-target) as received.
    pub path: &'a str,
    /// `:authority` (or `host`).
    pub authority: &'a str,
    /// All request headers, in order, names lowercase.
    pub headers: &'a [(String, String)],
    /// `source.address` (`ip:port`).
    pub source_address: Option<&'a str>,
    /// `destination.address` (`ip:port`).
    pub destination_address: Option<&'a str>,
    /// `connection.mtls`.
    pub mtls: bool,
    /// `connection.uri_san_peer_certificate`.
    pub peer_uri_san: Option<&'a str>,
    /// `connection.requested_server_name` (SNI).
    pub sni: Option<&'a str>,
    /// `xds.route_name`.
    pub route_name: Option<&'a str>,
    /// `xds.cluster_name`.
    pub cluster_name: Option<&'a str>,
    /// Listener direction (`listener_direction`), when Envoy tells.
    pub direction: Option<Direction>,
    /// The JWT payload Envoy's `jwt_authn` filter verified (see [`crate::jwt`]); `None` when no
    /// token was verified. Never filled from the request's own headers.
    pub jwt_payload: Option<&'a Map<String, Value>>,
}

impl<'a> Request<'a> {
    /// The values of header `name` (lowercase), in order.
    pub fn header_values<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'a str> + 's {
        self.headers
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}
