//! The 1,000-rule policy both policy configurations enforce: meshward's netpolicy filter reads
//! it as its configuration, Envoy's RBAC gets its translation (`meshward_envoy::rbac`).

use serde_json::{json, Value};

use crate::requests::HOST;

/// Policies in the document; each holds [`RULES_PER_POLICY`] rules.
pub const POLICIES: usize = 250;
/// Rules per policy.
pub const RULES_PER_POLICY: usize = 4;

/// 1,000 rules in 250 policies (every fifth one DENY) mixing the matchers RBAC can express too
/// (so no `when`, unlike the criterion bench's document); none matches the load traffic except
/// the last rule, an ALLOW for the benchmark host, so every request is checked against all.
pub fn document() -> Value {
    let mut policies = Vec::with_capacity(POLICIES);
    for p in 0..POLICIES {
        let action = if p % 5 == 0 { "DENY" } else { "ALLOW" };
        let a = p % 250;
        let last = if p + 1 == POLICIES {
            json!({ "to": [{ "hosts": [HOST], "methods": ["GET", "POST"] }] })
        } else {
            json!({
                "from": [{ "remoteIpBlocks": [format!("198.51.{a}.0/24")] }],
                "to": [{ "hosts": [format!("*.partner{p}.example.com")], "ports": [8443] }]
            })
        };
        policies.push(json!({
            "name": format!("team{p}"),
            "action": action,
            "rules": [
                {
                    "from": [{ "principals": [format!("cluster.local/ns/ns{p}/sa/app{p}")] }],
                    "to": [{ "hosts": [format!("svc{p}.shop.svc.cluster.local")], "methods": ["GET", "POST"], "paths": [format!("/api/v{p}/*")] }]
                },
                {
                    "from": [{ "namespaces": [format!("ns{p}")], "ipBlocks": [format!("10.{a}.0.0/16")] }],
                    "to": [{ "paths": [format!("/users/{{*}}/orders{p}")], "notMethods": ["DELETE"] }]
                },
                { "to": [{ "pathRegex": [format!("^/r{p}/[0-9]+$")], "headers": { "x-team": { "exact": format!("t{p}") } } }] },
                last,
            ]
        }));
    }
    json!({ "mode": "enforce", "policies": policies })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meshward_reads_exactly_1000_rules() {
        let text = document().to_string();
        let engine = meshward_policy::Engine::from_text(&text).unwrap();
        assert_eq!(engine.clause_count(), POLICIES * RULES_PER_POLICY);
    }

    #[test]
    fn rbac_translates_every_rule() {
        let filters = meshward_envoy::rbac::translate(&document()).unwrap();
        let rules: usize = filters
            .iter()
            .map(|f| {
                f["typed_config"]["rules"]["policies"]
                    .as_object()
                    .map_or(0, serde_json::Map::len)
            })
            .sum();
        assert_eq!(rules, POLICIES * RULES_PER_POLICY);
    }
}
