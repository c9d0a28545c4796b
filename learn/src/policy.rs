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

#[cfg(test)]
mod tests {
    use meshward_policy::Engine;

    use super::*;
    use crate::events::Intake;
    use crate::learn::{learn, Options};

    fn learned(lines: &[&str]) -> Learned {
        let mut intake = Intake::default();
        intake.read("t", lines.join("\n").as_bytes()).unwrap();
        learn(&intake, &Options::default())
    }

    #[test]
    fn nothing_learned_is_an_empty_document_that_compiles() {
        let text = render(&learned(&["nothing"]));
        assert!(text.contains("policies: []"), "{text}");
        assert_eq!(Engine::from_text(&text).unwrap().policy_count(), 0);
    }

    #[test]
    fn odd_hosts_paths_and_callers_are_quoted_and_compile() {
        let text = render(&learned(&[
            r#"{"v":1,"type":"observation","count":2,"host":"Weird Host:8443","method":"GET","path":"/a\"b/#x","source_ip":"fd00::7"}"#,
            r#"{"v":1,"type":"observation","count":1,"host":"weird host:8443","method":"GET","path":"/a/b","remote_ip":"203.0.113.9"}"#,
        ]));
        let engine = Engine::from_text(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(engine.policy_count(), 2);
        assert!(text.contains("- \"fd00::7\""), "{text}");
        assert!(text.contains("remoteIpBlocks:"), "{text}");
        assert!(text.contains("name: \"learned-Weird_Host_8443\""), "{text}");
        assert!(text.contains("- \"/a\\\"b/#x\"  # 2 hits"), "{text}");
    }
}
