//! What the filter tells analytics about one finished request.

/// One request, borrowed from the filter's context (`None`: unknown or not applicable).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Observation<'a> {
    /// The peer's SPIFFE ID (mTLS).
    pub principal: Option<&'a str>,
    /// The client IP (per `trusted_proxy_hops`).
    pub client_ip: Option<&'a str>,
    /// The end user: JWT `sub`, or the configured header or cookie.
    pub user: Option<&'a str>,
    /// The username an authentication attempt named.
    pub username: Option<&'a str>,
    /// Uppercased method.
    pub method: &'a str,
    /// Normalized path, no query (distinct-path sketches).
    pub path: &'a str,
    /// Path template of the matched route; the path when `None`.
    pub path_template: Option<&'a str>,
    /// Response status (0: no response).
    pub status: u16,
    /// Response body bytes.
    pub response_bytes: u64,
    /// Egress: the destination host the workload called. `None` on ingress.
    pub destination_host: Option<&'a str>,
    /// The workload the filter runs for.
    pub workload: Option<&'a str>,
}

impl<'a> Observation<'a> {
    /// The endpoint template (the path when no route template matched).
    pub fn template(&self) -> &'a str {
        self.path_template.unwrap_or(self.path)
    }
}
