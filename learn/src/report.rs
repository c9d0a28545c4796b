//! The report: what the learned policy allows (rules, templates with counts), which recorded
//! requests it would deny, what could not be generalized; Markdown or JSON. The recorded
//! requests are replayed through the learned document with the meshward-policy engine, so the
//! figures are the engine's, not the learner's belief.

use std::fmt::Write;
use std::net::{IpAddr, SocketAddr};

use meshward_policy::{Engine, Outcome, Request};
use serde::Serialize;

use crate::caller::Caller;
use crate::error::LearnError;
use crate::events::Intake;
use crate::learn::Learned;
use crate::policy;

/// Concrete requests the learned policy denies, shown in the report.
const DENIED_SHOWN: usize = 50;

/// A recorded request (key) the learned policy denies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Denied {
    /// Destination host.
    pub host: String,
    /// The caller.
    pub caller: Caller,
    /// Method.
    pub method: String,
    /// Path.
    pub path: String,
    /// Requests.
    pub requests: u64,
    /// The engine's reason.
    pub reason: String,
}

/// The recorded requests replayed through the learned policy (all policies as if enforced).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Replay {
    /// Requests that passed the recorded policy and were replayed.
    pub replayed: u64,
    /// Of those, allowed by the learned policy.
    pub allowed: u64,
    /// Of those, denied by it.
    pub denied: u64,
    /// Requests that could not be replayed (no host, path, or a caller known only by namespace).
    pub not_replayable: u64,
    /// The denied keys (at most 50).
    pub denied_keys: Vec<Denied>,
    /// Requests the recorded policy stopped (block, refused) that the learned policy allows
    /// (a template or another request's rule covers them).
    pub stopped_allowed: u64,
    /// Their keys (at most 50).
    pub stopped_now_allowed: Vec<Denied>,
}

/// A literal template seen once: kept as it is, it may be a one-off.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Singleton {
    /// Host.
    pub host: String,
    /// The literal path.
    pub path: String,
    /// Methods.
    pub methods: Vec<String>,
}

/// Everything the report says.
#[derive(Debug, Clone, Serialize)]
pub struct Report<'a> {
    /// The model.
    pub learned: &'a Learned,
    /// The replay.
    pub replay: Replay,
    /// Literal templates with a single hit.
    pub singletons: Vec<Singleton>,
}

impl<'a> Report<'a> {
    /// Replays `intake` through the learned policy and collects the report.
    pub fn build(learned: &'a Learned, intake: &Intake) -> Result<Report<'a>, LearnError> {
        let text = policy::render(learned);
        let engine = Engine::from_text(&text).map_err(|source| LearnError::Compile {
            source: Box::new(source),
        })?;
        let replay = replay(&engine, intake);
        let singletons = learned
            .services
            .iter()
            .flat_map(|s| {
                s.templates
                    .iter()
                    .filter(|t| t.evidence.hits == 1 && !t.template.contains('{'))
                    .map(|t| Singleton {
                        host: s.host.clone(),
                        path: t.template.clone(),
                        methods: t.methods.clone(),
                    })
            })
            .collect();
        Ok(Report {
            learned,
            replay,
            singletons,
        })
    }

    /// The report as pretty JSON.
    pub fn json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }

    /// The report as Markdown.
    pub fn markdown(&self) -> String {
        let l = self.learned;
        let r = &self.replay;
        let mut o = String::new();
        o.push_str("# meshward learn policy: report\n\n");
        let _ = writeln!(o, "Mode written: `{}`.\n", l.mode);
        o.push_str("| input | count |\n|---|---:|\n");
        let rows = [
            ("lines read", l.lines),
            ("lines skipped (no meshward policy event)", l.skipped),
            ("malformed meshward lines", l.malformed.len() as u64),
            ("observation lines", l.observations),
            ("decision events", l.decision_events),
            ("requests recorded", l.requests),
            ("requests learned from", l.learned_requests),
            ("services", l.services.len() as u64),
        ];
        for (k, v) in rows {
            let _ = writeln!(o, "| {k} | {v} |");
        }
        if !l.malformed.is_empty() {
            o.push_str("\n## Malformed lines (not learned from)\n\n");
            for m in &l.malformed {
                let _ = writeln!(o, "- {}:{}: {}", m.origin.file, m.origin.line, m.reason);
            }
        }
        o.push_str("\n## What the learned policy would deny among the recorded requests\n\n");
        let left = &l.left;
        let _ = writeln!(
            o,
            "Replayed through the learned policy (every policy as if enforced): {} requests, {} allowed, {} denied; {} not replayable.\n",
            r.replayed, r.allowed, r.denied, r.not_replayable
        );
        let denied_rows = [
            ("blocked by the recorded policy (not learned)", left.stopped.block),
            ("refused by the recorded policy (not learned)", left.stopped.refused),
            ("in overflow lines (key unknown, not learned)", left.overflow_requests),
            ("without a host", left.no_host),
            ("without a caller identity", left.no_caller),
            ("without a method or a representable path", left.no_path),
        ];
        o.push_str("| recorded requests not allowed | requests |\n|---|---:|\n");
        for (k, v) in denied_rows {
            let _ = writeln!(o, "| {k} | {v} |");
        }
        if left.overflow_lines > 0 {
            let _ = writeln!(
                o,
                "\n{} overflow line(s): a VM saw more keys than `max_keys`; raise it or learn over more windows.",
                left.overflow_lines
            );
        }
        for (host, path) in &left.unrepresentable {
            let _ = writeln!(o, "- `{host}` `{path}`: no path pattern can hold it");
        }
        if r.stopped_allowed > 0 {
            let _ = writeln!(
                o,
                "\n**{} requests the recorded policy stopped are allowed by the learned one** (a template covers them); check them:\n",
                r.stopped_allowed
            );
            for d in &r.stopped_now_allowed {
                let _ = writeln!(
                    o,
                    "- `{}` {} `{} {}` ({} requests)",
                    d.host, d.caller, d.method, d.path, d.requests
                );
            }
        }
        if !r.denied_keys.is_empty() {
            o.push_str("\nDenied on replay:\n\n");
        }
        for d in &r.denied_keys {
            let _ = writeln!(
                o,
                "- `{}` {} `{} {}` ({} requests): {}",
                d.host, d.caller, d.method, d.path, d.requests, d.reason
            );
        }
        for s in &l.services {
            let _ = writeln!(o, "\n## Service `{}`\n", s.host);
            o.push_str("### Allowed\n\n");
            for rule in &s.rules {
                let callers: Vec<String> = rule.callers.iter().map(ToString::to_string).collect();
                let _ = writeln!(o, "- {} ({}):", callers.join(", "), crate::yaml::hits(rule.hits()));
                for a in &rule.access {
                    let paths: Vec<&str> = a.paths.keys().map(String::as_str).collect();
                    let _ = writeln!(o, "  - {} `{}`", a.methods.join(", "), paths.join("`, `"));
                }
            }
            o.push_str("\n### Templates\n\n| template | methods | hits | distinct paths | first seen | last seen | e.g. |\n|---|---|---:|---:|---|---|---|\n");
            for t in &s.templates {
                let e = &t.evidence;
                let _ = writeln!(
                    o,
                    "| `{}` | {} | {} | {} | {} | {} | `{}` |",
                    cell(&t.template),
                    t.methods.join(", "),
                    e.hits,
                    t.distinct_paths,
                    e.first_seen.as_deref().unwrap_or("-"),
                    e.last_seen.as_deref().unwrap_or("-"),
                    cell(&e.sample)
                );
            }
            let singles: Vec<&Singleton> = self.singletons.iter().filter(|x| x.host == s.host).collect();
            if !s.not_generalized.is_empty() || !singles.is_empty() {
                o.push_str("\n### Not generalized\n\n");
                for n in &s.not_generalized {
                    let _ = writeln!(
                        o,
                        "- `{}`: {} distinct values kept literal: {}",
                        n.position, n.distinct, n.reason
                    );
                }
                for x in singles {
                    let _ = writeln!(o, "- `{}` ({}): seen once, kept literal", x.path, x.methods.join(", "));
                }
            }
        }
        o
    }
}

/// A path inside a Markdown table cell (a `|` would end the cell).
fn cell(s: &str) -> String {
    s.replace('|', "\\|")
}

/// Replays every record: the ones that passed (denied keys are listed) and the ones the
/// recorded policy stopped (listed when the learned policy would now allow them).
fn replay(engine: &Engine, intake: &Intake) -> Replay {
    let mut out = Replay::default();
    for r in &intake.records {
        let (passed, stopped) = (r.decisions.passed(), r.decisions.stopped());
        if r.overflow || passed.saturating_add(stopped) == 0 {
            continue;
        }
        let Some(((host, caller, method, path), req)) = as_request(r) else {
            out.not_replayable += passed;
            continue;
        };
        let (allowed, reason) = req.decide(engine);
        let key = |requests: u64, reason: String| Denied {
            host: host.clone(),
            caller: caller.clone(),
            method: method.clone(),
            path: path.clone(),
            requests,
            reason,
        };
        if stopped > 0 && allowed && out.stopped_now_allowed.len() < DENIED_SHOWN {
            out.stopped_now_allowed
                .push(key(stopped, "stopped by the recorded policy".into()));
        }
        if stopped > 0 && allowed {
            out.stopped_allowed += stopped;
        }
        if passed == 0 {
            continue;
        }
        out.replayed += passed;
        if allowed {
            out.allowed += passed;
        } else {
            out.denied += passed;
            if out.denied_keys.len() < DENIED_SHOWN {
                out.denied_keys.push(key(passed, reason));
            }
        }
    }
    out
}

/// A record's key (host, caller, method, path).
type Key<'r> = (&'r String, &'r Caller, &'r String, &'r String);

/// The attributes the engine needs, owned (the request borrows them).
struct Replayed {
    method: String,
    path: String,
    host: String,
    san: Option<String>,
    source: Option<String>,
}

impl Replayed {
    /// The learned policy's verdict (every policy as if enforced) and its reason.
    fn decide(&self, engine: &Engine) -> (bool, String) {
        let req = Request {
            method: &self.method,
            path: &self.path,
            authority: &self.host,
            mtls: self.san.is_some(),
            peer_uri_san: self.san.as_deref(),
            source_address: self.source.as_deref(),
            ..Request::default()
        };
        let ruling = engine.decide(&req);
        (ruling.all_enforced == Outcome::Allow, ruling.reason.to_string())
    }
}

/// The request a record stands for; `None` when its key is incomplete or names a caller only
/// by namespace (no peer certificate can be made up for it).
fn as_request(r: &crate::events::Record) -> Option<(Key<'_>, Replayed)> {
    let (Some(host), Some(method), Some(path), Some(caller)) = (&r.host, &r.method, &r.path, &r.caller) else {
        return None;
    };
    let (san, source) = match caller {
        Caller::Principal(p) if p.starts_with("spiffe://") => (Some(p.clone()), None),
        Caller::Principal(p) => (Some(format!("spiffe://{p}")), None),
        Caller::SourceIp(ip) | Caller::RemoteIp(ip) => {
            let ip = ip.parse::<IpAddr>().ok()?;
            (None, Some(SocketAddr::new(ip, 0).to_string()))
        }
        Caller::Namespace(_) => return None,
    };
    Some((
        (host, caller, method, path),
        Replayed {
            method: method.clone(),
            path: path.clone(),
            host: host.clone(),
            san,
            source,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::learn::{learn, Options};

    #[test]
    fn singletons_are_listed_and_table_cells_escaped() {
        let mut intake = Intake::default();
        let lines = [
            r#"{"v":1,"type":"observation","count":1,"host":"h","method":"GET","path":"/a|b","principal":"spiffe://td/ns/a/sa/b"}"#,
            r#"{"v":1,"type":"observation","count":3,"host":"h","method":"GET","path":"/c","principal":"spiffe://td/ns/a/sa/b"}"#,
            r#"{"v":1,"type":"observation","count":2,"host":"h","method":"GET","path":"/d","namespace":"ops"}"#,
        ];
        intake.read("t", lines.join("\n").as_bytes()).unwrap();
        let l = learn(&intake, &Options::default());
        let r = Report::build(&l, &intake).unwrap();
        assert_eq!(r.singletons.len(), 1);
        assert_eq!(r.singletons[0].path, "/a|b");
        // A caller known only by namespace cannot be replayed (no certificate to make up).
        assert_eq!((r.replay.replayed, r.replay.not_replayable), (4, 2));
        let md = r.markdown();
        assert!(md.contains("| `/a\\|b` |"), "{md}");
        assert!(md.contains("- `/a|b` (GET): seen once, kept literal"), "{md}");
    }
}
