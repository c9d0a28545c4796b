//! The learned meshward policy document: one ALLOW policy per destination service, its rules
//! carrying their evidence as YAML comments.

use std::fmt::Write;

use crate::learn::Learned;
use crate::yaml::{comment, evidence, flow, hits, quote, unique_names};

/// The policy document (YAML) of what was learned.
pub fn render(l: &Learned) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Learned by `meshward learn policy` from {} requests ({} observation lines, {} decision events).",
        l.learned_requests, l.observations, l.decision_events
    );
    out.push_str("# Least privilege: only the callers, methods and paths seen are allowed; review the\n");
    out.push_str("# report, run in detect mode, then switch to enforce.\n");
    let _ = writeln!(out, "mode: {}", l.mode);
    if l.services.is_empty() {
        out.push_str("# Nothing was learned: no ALLOW policy, so the default posture applies.\n");
        out.push_str("policies: []\n");
        return out;
    }
    out.push_str("policies:\n");
    let names = unique_names(l.services.iter().map(|s| &s.host));
    for (s, name) in l.services.iter().zip(names) {
        let _ = writeln!(out, "  - name: {}", quote(&name));
        let _ = writeln!(out, "    # destination service {}", comment(&s.host));
        out.push_str("    action: ALLOW\n    rules:\n");
        for rule in &s.rules {
            let _ = writeln!(out, "      # {}", hits(rule.hits()));
            let field = rule.callers.first().map_or("principals", |c| c.field());
            let _ = writeln!(out, "      - from:\n          - {field}:");
            for c in &rule.callers {
                let _ = writeln!(out, "              - {}", quote(c.value()));
            }
            out.push_str("        to:\n");
            for a in &rule.access {
                let _ = writeln!(out, "          - hosts: {}", flow([&s.host]));
                let _ = writeln!(out, "            methods: {}", flow(&a.methods));
                out.push_str("            paths:\n");
                for (path, e) in &a.paths {
                    let _ = writeln!(out, "              - {}  # {}", quote(path), evidence(path, e));
                }
            }
        }
    }
    out
}
