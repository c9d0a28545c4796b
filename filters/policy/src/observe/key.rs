//! What an observation is keyed by: who called what (from the ruling, at request headers) and
//! how it was answered (status class and media type, at the end of the stream).

use std::net::IpAddr;

use crate::identity;
use crate::ruling::Ruling;

/// The key fields known when the request is decided; `None` where unknown. Owned, so the
/// stream can hold it until its end.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct RequestKey {
    /// Peer SPIFFE ID (mTLS).
    pub principal: Option<String>,
    /// Caller namespace (from the SPIFFE ID).
    pub namespace: Option<String>,
    /// Peer IP, no port.
    pub source_ip: Option<IpAddr>,
    /// Client IP per `trusted_proxy_hops`.
    pub remote_ip: Option<IpAddr>,
    /// `<iss>/<sub>` of the verified JWT.
    pub request_principal: Option<String>,
    /// Normalized authority (`host` or `host:port`).
    pub host: Option<String>,
    /// Destination `ip:port`.
    pub destination: Option<String>,
    /// TLS SNI, lowercased, without a trailing dot.
    pub sni: Option<String>,
    /// Listener direction.
    pub direction: Option<&'static str>,
    /// Destination outside the mesh (unknown without a `mesh` section).
    pub internet: Option<bool>,
    /// Uppercased method.
    pub method: Option<String>,
    /// Canonical path, sensitive path parameters redacted, no query; `None` when refused.
    pub path: Option<String>,
}

impl RequestKey {
    /// The key of a decided request; `sni` is Envoy's `connection.requested_server_name`. The
    /// path is redacted as the decision event redacts it.
    pub fn from_ruling(r: &Ruling<'_>, sni: Option<&str>) -> RequestKey {
        let f = &r.facts;
        RequestKey {
            principal: f.principal.map(str::to_string),
            namespace: f.namespace.map(str::to_string),
            source_ip: f.source.and_then(|s| identity::split_address(s).0),
            remote_ip: f.remote_ip,
            request_principal: f.request_principal.clone(),
            host: f.host.as_ref().map(|h| match h.port {
                Some(p) => format!("{}:{p}", h.host),
                None => h.host.clone(),
            }),
            destination: f.destination.filter(|d| !d.is_empty()).map(str::to_string),
            sni: sni.and_then(normalize_sni),
            direction: f.direction,
            internet: f.internet,
            method: (!f.method.is_empty()).then(|| f.method.clone()),
            path: f.path_normalized.as_deref().map(|p| r.redactor.text(p).into_owned()),
        }
    }
}

/// A server name as the policy matches it: lowercased, one trailing dot removed; `None` when
/// empty.
pub fn normalize_sni(sni: &str) -> Option<String> {
    let s = sni.strip_suffix('.').unwrap_or(sni);
    (!s.is_empty()).then(|| s.to_ascii_lowercase())
}

/// The class of the response status: `1xx`..`5xx`, or `none` when no response was sent (a
/// reset) or the code is not an HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StatusClass {
    /// 100..=199.
    Informational,
    /// 200..=299.
    Success,
    /// 300..=399.
    Redirection,
    /// 400..=499.
    ClientError,
    /// 500..=599.
    ServerError,
    /// No response.
    None,
}

impl StatusClass {
    /// The class of `status` (`None`: no response).
    pub fn of(status: Option<u16>) -> StatusClass {
        match status {
            Some(100..=199) => StatusClass::Informational,
            Some(200..=299) => StatusClass::Success,
            Some(300..=399) => StatusClass::Redirection,
            Some(400..=499) => StatusClass::ClientError,
            Some(500..=599) => StatusClass::ServerError,
            _ => StatusClass::None,
        }
    }

    /// The word written in the event.
    pub fn as_str(self) -> &'static str {
        match self {
            StatusClass::Informational => "1xx",
            StatusClass::Success => "2xx",
            StatusClass::Redirection => "3xx",
            StatusClass::ClientError => "4xx",
            StatusClass::ServerError => "5xx",
            StatusClass::None => "none",
        }
    }
}

/// The media type of a `content-type` value: parameters dropped, trimmed, lowercased; `None`
/// when empty.
pub fn media_type(content_type: &str) -> Option<String> {
    let t = content_type.split(';').next().unwrap_or_default().trim();
    (!t.is_empty()).then(|| t.to_ascii_lowercase())
}

/// A whole key: the request's, and how it was answered.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Key {
    pub request: RequestKey,
    pub status_class: StatusClass,
    pub content_type: Option<String>,
}
