//! Chooses the directive set of a request: `per_route` (Envoy `xds.route_name`) first, then
//! `per_authority` (exact host, then the longest matching `*.suffix`), else the default set.

// The request path: a panic here traps the VM and fails every request it serves.
#![warn(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::collections::BTreeMap;

use crate::assembly::DEFAULT_SET;

/// Lookup tables built once at configure time.
#[derive(Debug, Clone, Default)]
pub struct Selector {
    routes: BTreeMap<String, String>,
    exact: BTreeMap<String, String>,
    /// (`.suffix` lowercased, set), longest suffix first.
    wildcards: Vec<(String, String)>,
}

/// The host part of an `:authority`, lowercased, without port or IPv6 brackets.
pub fn host_of(authority: &str) -> String {
    let a = authority.trim();
    let host = if let Some(rest) = a.strip_prefix('[') {
        rest.split(']').next().unwrap_or(rest)
    } else if a.matches(':').count() == 1 {
        a.split(':').next().unwrap_or(a)
    } else {
        a
    };
    host.trim_end_matches('.').to_ascii_lowercase()
}

impl Selector {
    /// Builds the tables from the (validated) configuration maps.
    pub fn new(per_authority: &BTreeMap<String, String>, per_route: &BTreeMap<String, String>) -> Selector {
        let mut s = Selector {
            routes: per_route.clone(),
            ..Selector::default()
        };
        for (pattern, set) in per_authority {
            match pattern.strip_prefix('*') {
                Some(suffix) => s.wildcards.push((suffix.to_ascii_lowercase(), set.clone())),
                None => {
                    s.exact.insert(host_of(pattern), set.clone());
                }
            }
        }
        s.wildcards
            .sort_by(|a, b| b.0.len().cmp(&a.0.len()).then_with(|| a.0.cmp(&b.0)));
        s
    }

    /// The set name for a request with this route name and `:authority`.
    pub fn select(&self, route: Option<&str>, authority: Option<&str>) -> &str {
        if let Some(set) = route.and_then(|r| self.routes.get(r)) {
            return set;
        }
        if let Some(authority) = authority {
            let host = host_of(authority);
            if let Some(set) = self.exact.get(&host) {
                return set;
            }
            for (suffix, set) in &self.wildcards {
                if host.len() > suffix.len() && host.ends_with(suffix.as_str()) {
                    return set;
                }
            }
        }
        DEFAULT_SET
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
    }

    #[test]
    fn route_wins_then_exact_then_longest_wildcard() {
        let s = Selector::new(
            &map(&[
                ("Admin.Example.com", "admin"),
                ("*.example.com", "ex"),
                ("*.api.example.com", "api"),
            ]),
            &map(&[("r1", "routed")]),
        );
        assert_eq!(s.select(Some("r1"), Some("admin.example.com")), "routed");
        assert_eq!(s.select(Some("other"), Some("ADMIN.example.com:8443")), "admin");
        assert_eq!(s.select(None, Some("x.api.example.com")), "api");
        assert_eq!(s.select(None, Some("www.example.com")), "ex");
        assert_eq!(
            s.select(None, Some("example.com")),
            DEFAULT_SET,
            "a wildcard needs a subdomain"
        );
        assert_eq!(s.select(None, None), DEFAULT_SET);
    }

    #[test]
    fn hosts_lose_port_and_brackets() {
        assert_eq!(host_of("A.b:80"), "a.b");
        assert_eq!(host_of("[::1]:8080"), "::1");
        assert_eq!(host_of("::1"), "::1");
        assert_eq!(host_of("a.b."), "a.b");
    }
}
