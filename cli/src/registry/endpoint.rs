//! Where a reference points: the registry's base URL (scheme, host, port) and the repository,
//! and which URLs may be reached over plain HTTP.

use std::net::IpAddr;

use oci_spec::distribution::Reference;

/// Docker Hub's name in references and the host that serves its API.
const DOCKER_HUB: (&str, &str) = ("docker.io", "registry-1.docker.io");

/// A push target parsed from `registry[:port]/repository[:tag][@digest]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// `host[:port]` as written.
    pub registry: String,
    /// The repository path, e.g. `meshward/waf`.
    pub repository: String,
    /// The tag, when the reference names one.
    pub tag: Option<String>,
    /// The digest, when the reference names one.
    pub digest: Option<String>,
    /// `http://host:port` or `https://host:port`.
    pub base_url: String,
    /// Whether plain HTTP may be used to any host (`--insecure`).
    pub insecure: bool,
}

/// A reference that cannot be pushed to.
#[derive(Debug, thiserror::Error)]
#[error("{reference}: {reason}")]
pub struct ReferenceError {
    /// The reference as given.
    pub reference: String,
    /// Why it was refused.
    pub reason: String,
}

impl Target {
    /// Parses `reference`; plain HTTP is used for this machine's registries, and for any other
    /// when `insecure`.
    pub fn parse(reference: &str, insecure: bool) -> Result<Target, ReferenceError> {
        let parsed: Reference = reference
            .parse()
            .map_err(|e: oci_spec::distribution::ParseError| ReferenceError {
                reference: reference.to_string(),
                reason: e.to_string(),
            })?;
        // oci-spec fills in `latest`; a tag counts only when written after the last `/`.
        let name = reference.split('@').next().unwrap_or(reference);
        let written_tag = name.rsplit('/').next().is_some_and(|last| last.contains(':'));
        let registry = parsed.registry().to_string();
        let host = if registry == DOCKER_HUB.0 {
            DOCKER_HUB.1
        } else {
            registry.as_str()
        };
        let scheme = if insecure || is_local(authority_host(host)) {
            "http"
        } else {
            "https"
        };
        Ok(Target {
            base_url: format!("{scheme}://{host}"),
            repository: parsed.repository().to_string(),
            tag: parsed.tag().filter(|_| written_tag).map(str::to_string),
            digest: parsed.digest().map(str::to_string),
            registry,
            insecure,
        })
    }

    /// Whether the registry is reached over plain HTTP on this machine.
    pub fn is_local(&self) -> bool {
        self.base_url
            .strip_prefix("http://")
            .is_some_and(|rest| is_local(authority_host(rest)))
    }

    /// `url` if this target may reach it: https always, plain HTTP only on this machine or
    /// with `--insecure`.
    pub fn allows(&self, url: &str) -> bool {
        match url.strip_prefix("http://") {
            None => url.starts_with("https://"),
            Some(rest) => self.insecure || is_local(authority_host(rest)),
        }
    }
}

/// The host of `host[:port]/path...`.
fn authority_host(rest: &str) -> &str {
    let authority = rest.split(['/', '?']).next().unwrap_or(rest);
    match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(v6),
        None => authority.rsplit_once(':').map_or(authority, |(h, _)| h),
    }
}

/// Whether `host` (no port, no brackets) is this machine: `localhost` or a loopback address.
pub fn is_local(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost") || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_registries_use_plain_http_and_others_https() {
        let t = Target::parse("127.0.0.1:5000/meshward/waf:0.1.0", false).unwrap();
        assert_eq!(t.base_url, "http://127.0.0.1:5000");
        assert_eq!(t.repository, "meshward/waf");
        assert_eq!(t.tag.as_deref(), Some("0.1.0"));
        assert_eq!(t.digest, None);
        let t = Target::parse("localhost:5000/waf", false).unwrap();
        assert_eq!((t.base_url.as_str(), t.tag.as_deref()), ("http://localhost:5000", None));
        let t = Target::parse("ghcr.io/acme/meshward-waf", false).unwrap();
        assert_eq!(
            (t.base_url.as_str(), t.repository.as_str()),
            ("https://ghcr.io", "acme/meshward-waf")
        );
        let t = Target::parse("registry.internal:5000/waf:1", true).unwrap();
        assert_eq!(t.base_url, "http://registry.internal:5000");
        let t = Target::parse("meshward/waf", false).unwrap();
        assert_eq!(t.base_url, "https://registry-1.docker.io");
        let digest = format!("sha256:{}", "a".repeat(64));
        let t = Target::parse(&format!("127.0.0.1:5000/waf@{digest}"), false).unwrap();
        assert_eq!((t.tag, t.digest), (None, Some(digest)));
        assert!(Target::parse("Bad/Name", false).is_err());
    }

    #[test]
    fn plain_http_only_to_this_machine_unless_insecure() {
        let t = Target::parse("ghcr.io/acme/waf", false).unwrap();
        assert!(t.allows("https://ghcr.io/token?x=1"));
        assert!(t.allows("http://127.0.0.1:9999/token"));
        assert!(t.allows("http://localhost/token"));
        assert!(t.allows("http://[::1]:80/token"));
        assert!(!t.allows("http://ghcr.io/token"));
        assert!(!t.allows("http://10.0.0.1/token"));
        assert!(!t.allows("ftp://ghcr.io/token"));
        let t = Target::parse("ghcr.io/acme/waf", true).unwrap();
        assert!(t.allows("http://ghcr.io/token"));
    }
}
