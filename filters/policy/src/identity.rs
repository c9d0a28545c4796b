//! The caller's mesh identity, from the peer certificate's SPIFFE URI SAN.

use std::net::IpAddr;

/// A SPIFFE workload identity `spiffe://<td>/ns/<ns>/sa/<sa>`, borrowed from the SAN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Peer<'a> {
    /// `<td>/ns/<ns>/sa/<sa>` (Istio's principal form, without `spiffe://`).
    pub principal: &'a str,
    /// Trust domain.
    pub trust_domain: &'a str,
    /// Namespace.
    pub namespace: &'a str,
    /// Service account.
    pub service_account: &'a str,
}

impl Peer<'_> {
    /// `<ns>/<sa>`, the form `serviceAccounts` values take.
    pub fn ns_sa(&self) -> String {
        format!("{}/{}", self.namespace, self.service_account)
    }
}

/// Parses a SPIFFE URI SAN of the Kubernetes form; anything else is not an identity.
pub fn parse_spiffe(uri: &str) -> Option<Peer<'_>> {
    let rest = uri.strip_prefix("spiffe://")?;
    let mut parts = rest.split('/');
    let td = parts.next()?;
    let (ns_kw, ns, sa_kw, sa) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || ns_kw != "ns" || sa_kw != "sa" {
        return None;
    }
    let ok = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'))
    };
    if !(ok(td) && ok(ns) && ok(sa)) {
        return None;
    }
    Some(Peer {
        principal: rest,
        trust_domain: td,
        namespace: ns,
        service_account: sa,
    })
}

/// The peer identity when the connection is mTLS and the SAN is a SPIFFE ID; else unauthenticated.
pub fn peer_identity(mtls: bool, uri_san: Option<&str>) -> Option<Peer<'_>> {
    if !mtls {
        return None;
    }
    parse_spiffe(uri_san?)
}

/// The IP of an `ip:port`, `[v6]:port` or bare address.
pub fn parse_ip(address: &str) -> Option<IpAddr> {
    let a = address.trim();
    if let Ok(ip) = a.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Ok(sa) = a.parse::<std::net::SocketAddr>() {
        return Some(sa.ip());
    }
    None
}

/// IP and port of an `ip:port`, `[v6]:port` or bare address (one parse for both).
pub fn split_address(address: &str) -> (Option<IpAddr>, Option<u16>) {
    let a = address.trim();
    if let Ok(sa) = a.parse::<std::net::SocketAddr>() {
        return (Some(sa.ip()), Some(sa.port()));
    }
    (a.parse::<IpAddr>().ok(), None)
}

/// The port of an `ip:port` / `[v6]:port`.
pub fn parse_port(address: &str) -> Option<u16> {
    address.trim().parse::<std::net::SocketAddr>().ok().map(|sa| sa.port())
}

/// The client address from X-Forwarded-For: the chain is every XFF entry (all headers, in order)
/// then the peer; the client is `trusted_hops` entries left of the peer (the leftmost if shorter).
pub fn remote_ip<'a>(xff: impl Iterator<Item = &'a str>, peer: Option<IpAddr>, trusted_hops: u32) -> Option<IpAddr> {
    if trusted_hops == 0 {
        return peer;
    }
    let chain: Vec<&str> = xff
        .flat_map(|h| h.split(','))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    // Position counted from the right, where the peer is position 0.
    let hops = trusted_hops as usize;
    let entry = if hops <= chain.len() {
        chain[chain.len() - hops]
    } else {
        *chain.first()?
    };
    parse_ip(entry)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spiffe() {
        let p = parse_spiffe("spiffe://cluster.local/ns/web/sa/frontend").unwrap();
        assert_eq!(p.principal, "cluster.local/ns/web/sa/frontend");
        assert_eq!(
            (p.namespace, p.service_account, p.trust_domain),
            ("web", "frontend", "cluster.local")
        );
        assert_eq!(p.ns_sa(), "web/frontend");
        assert!(parse_spiffe("spiffe://cluster.local/ns/web/sa/frontend/x").is_none());
        assert!(parse_spiffe("spiffe://cluster.local/ns/web").is_none());
        assert!(parse_spiffe("https://cluster.local/ns/web/sa/x").is_none());
        assert!(parse_spiffe("spiffe://cluster.local/ns//sa/x").is_none());
        assert!(peer_identity(false, Some("spiffe://cluster.local/ns/web/sa/frontend")).is_none());
    }

    #[test]
    fn xff_with_trusted_hops() {
        let peer = parse_ip("10.0.0.1:4444");
        assert_eq!(remote_ip(["1.1.1.1, 2.2.2.2"].into_iter(), peer, 0), peer);
        assert_eq!(
            remote_ip(["1.1.1.1, 2.2.2.2"].into_iter(), peer, 1),
            parse_ip("2.2.2.2")
        );
        assert_eq!(
            remote_ip(["1.1.1.1", "2.2.2.2"].into_iter(), peer, 2),
            parse_ip("1.1.1.1")
        );
        assert_eq!(remote_ip(["1.1.1.1"].into_iter(), peer, 5), parse_ip("1.1.1.1"));
        assert_eq!(remote_ip(std::iter::empty(), peer, 1), None);
        assert_eq!(remote_ip(["junk"].into_iter(), peer, 1), None);
    }
}
