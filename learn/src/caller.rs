//! Who called: the strongest identity an event carries, in the order a policy can name it.

use std::fmt;

use serde::Serialize;

/// A caller, by the strongest identity known: SPIFFE principal, else namespace, else the peer
/// address, else the client address behind trusted proxies.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum Caller {
    /// The peer's SPIFFE ID (`spiffe://td/ns/x/sa/y`).
    Principal(String),
    /// The caller's namespace (known without a principal only from other sources).
    Namespace(String),
    /// The peer IP (`source.address`, no port).
    SourceIp(String),
    /// The client IP from X-Forwarded-For (`remote_ip`).
    RemoteIp(String),
}

impl Caller {
    /// The strongest of the identities given; `None` when the event names none.
    pub fn strongest(
        principal: Option<&str>,
        namespace: Option<&str>,
        source_ip: Option<&str>,
        remote_ip: Option<&str>,
    ) -> Option<Caller> {
        let some = |v: Option<&str>| v.filter(|s| !s.is_empty()).map(str::to_owned);
        some(principal)
            .map(Caller::Principal)
            .or_else(|| some(namespace).map(Caller::Namespace))
            .or_else(|| some(source_ip).map(Caller::SourceIp))
            .or_else(|| some(remote_ip).map(Caller::RemoteIp))
    }

    /// The kind, as the policy field that names it.
    pub fn field(&self) -> &'static str {
        match self {
            Caller::Principal(_) => "principals",
            Caller::Namespace(_) => "namespaces",
            Caller::SourceIp(_) => "ipBlocks",
            Caller::RemoteIp(_) => "remoteIpBlocks",
        }
    }

    /// The value as written in that field.
    pub fn value(&self) -> &str {
        match self {
            Caller::Principal(v) | Caller::Namespace(v) | Caller::SourceIp(v) | Caller::RemoteIp(v) => v,
        }
    }
}

impl fmt::Display for Caller {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Caller::Principal(v) => write!(f, "principal {v}"),
            Caller::Namespace(v) => write!(f, "namespace {v}"),
            Caller::SourceIp(v) => write!(f, "source ip {v}"),
            Caller::RemoteIp(v) => write!(f, "remote ip {v}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_strongest_identity_wins_and_empty_values_are_absent() {
        assert_eq!(
            Caller::strongest(Some("spiffe://td/ns/a/sa/b"), Some("a"), Some("10.0.0.1"), None),
            Some(Caller::Principal("spiffe://td/ns/a/sa/b".into()))
        );
        assert_eq!(
            Caller::strongest(Some(""), None, Some("10.0.0.1"), Some("1.2.3.4")),
            Some(Caller::SourceIp("10.0.0.1".into()))
        );
        assert_eq!(
            Caller::strongest(None, None, None, Some("1.2.3.4")).map(|c| c.field()),
            Some("remoteIpBlocks")
        );
        assert_eq!(Caller::strongest(None, None, None, None), None);
    }
}
