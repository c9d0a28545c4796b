//! The learned policy as Istio AuthorizationPolicy resources: one ALLOW per destination
//! service, `istio.io/dry-run` in detect mode (Istio's way of listening first).

use std::fmt::Write;

use meshward_vocab::Mode;

use crate::caller::Caller;
use crate::learn::Learned;
use crate::yaml::{comment, evidence, flow, hits, quote, unique_names};

/// The AuthorizationPolicy resources (multi-document YAML) of what was learned.
pub fn render(l: &Learned) -> String {
    let mut docs = Vec::new();
    let names = unique_names(l.services.iter().map(|s| &s.host));
    for (s, name) in l.services.iter().zip(names) {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# Learned by `meshward learn policy` for destination service {}.",
            comment(&s.host)
        );
        out.push_str("# Set metadata.namespace and a selector for the service's workloads before applying.\n");
        out.push_str("apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata:\n");
        let _ = writeln!(out, "  name: {}", quote(&resource_name(&name)));
        if l.mode == Mode::Detect {
            out.push_str("  annotations:\n    \"istio.io/dry-run\": \"true\"\n");
        }
        out.push_str("spec:\n  action: ALLOW\n  rules:\n");
        for rule in &s.rules {
            let _ = writeln!(out, "    # {}", hits(rule.hits()));
            let field = rule.callers.first().map_or("principals", |c| c.field());
            let _ = writeln!(out, "    - from:\n        - source:\n            {field}:");
            for c in &rule.callers {
                // Istio names principals without the `spiffe://` scheme.
                let v = match c {
                    Caller::Principal(p) => p.strip_prefix("spiffe://").unwrap_or(p),
                    other => other.value(),
                };
                let _ = writeln!(out, "              - {}", quote(v));
            }
            out.push_str("      to:\n");
            for a in &rule.access {
                out.push_str("        - operation:\n");
                let _ = writeln!(out, "            hosts: {}", flow([&s.host]));
                let _ = writeln!(out, "            methods: {}", flow(&a.methods));
                out.push_str("            paths:\n");
                for (path, e) in &a.paths {
                    let _ = writeln!(out, "              - {}  # {}", quote(path), evidence(path, e));
                }
            }
        }
        docs.push(out);
    }
    docs.join("---\n")
}

/// A Kubernetes resource name (DNS-1123 label: lowercase letters, digits, `-`, at most 63).
fn resource_name(policy: &str) -> String {
    let mut n = policy.to_ascii_lowercase().replace(['_', '.'], "-");
    n.truncate(63);
    n.trim_end_matches('-').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_names_are_dns_labels() {
        assert_eq!(resource_name("learned-Orders_8080.x"), "learned-orders-8080-x");
        let long = format!("learned-{}", "a".repeat(54) + "_b");
        let n = resource_name(&long);
        assert!(n.len() <= 63 && !n.ends_with('-'), "{n}");
    }
}
