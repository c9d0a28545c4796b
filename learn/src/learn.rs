//! From events to a least-privilege model: per destination service, its path templates and the
//! rules (callers × methods × templates) that allow exactly what was seen, with the evidence of
//! each, and what was left out.

use std::collections::{BTreeMap, BTreeSet};

use meshward_vocab::Mode;
use serde::Serialize;

use crate::caller::Caller;
use crate::error::LearnError;
use crate::events::{Decisions, Intake, Malformed, Record, Stamp};
use crate::template::{self, Note, PathStats};

/// How to learn.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The mode written into the policy (detect by default: listen first, then act).
    pub mode: Mode,
    /// Templating options.
    pub templates: template::Options,
}

impl Options {
    /// Checks the user's choices: pins are templates both outputs accept, literals are plain
    /// paths, the threshold is at least 2.
    pub fn new(mode: Mode, fold_threshold: usize, pins: &[String], literals: &[String]) -> Result<Options, LearnError> {
        if fold_threshold < 2 {
            return Err(LearnError::Threshold(fold_threshold));
        }
        let pins = pins
            .iter()
            .map(|p| template::Pin::parse(p))
            .collect::<Result<Vec<_>, _>>()?;
        let literals = literals
            .iter()
            .map(|l| {
                if !l.starts_with('/') {
                    Err("a path starts with `/`")
                } else if l.contains(['*', '{', '}', '?', '#']) {
                    Err("a literal path holds no `*`, `{`, `}`, query or fragment")
                } else {
                    Ok(l.clone())
                }
                .map_err(|reason| LearnError::Literal {
                    path: l.clone(),
                    reason: reason.into(),
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Options {
            mode,
            templates: template::Options {
                fold_threshold,
                pins,
                literals,
            },
        })
    }
}

/// Hits and when, for one template (or one rule's path).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Evidence {
    /// Requests.
    pub hits: u64,
    /// Of those, requests the recorded policy would have blocked (detect mode).
    pub would_block: u64,
    /// Earliest `first_seen` (observations only).
    pub first_seen: Option<String>,
    /// Latest `last_seen` (observations only).
    pub last_seen: Option<String>,
    /// One concrete path.
    pub sample: String,
    #[serde(skip)]
    first_at: Option<time::OffsetDateTime>,
    #[serde(skip)]
    last_at: Option<time::OffsetDateTime>,
}

impl Evidence {
    pub(crate) fn add(&mut self, r: &Record, path: &str) {
        if self.sample.is_empty() {
            self.sample = path.to_owned();
        }
        self.hits = self.hits.saturating_add(r.decisions.passed());
        self.would_block = self.would_block.saturating_add(r.decisions.would_block);
        if let Some(Stamp { at, text }) = &r.first_seen {
            if self.first_at.is_none_or(|f| *at < f) {
                self.first_at = Some(*at);
                self.first_seen = Some(text.clone());
            }
        }
        if let Some(Stamp { at, text }) = &r.last_seen {
            if self.last_at.is_none_or(|l| *at > l) {
                self.last_at = Some(*at);
                self.last_seen = Some(text.clone());
            }
        }
    }

    fn merge(&mut self, o: &Evidence) {
        if self.sample.is_empty() {
            self.sample.clone_from(&o.sample);
        }
        self.hits = self.hits.saturating_add(o.hits);
        self.would_block = self.would_block.saturating_add(o.would_block);
        if let Some(at) = o.first_at {
            if self.first_at.is_none_or(|f| at < f) {
                self.first_at = Some(at);
                self.first_seen.clone_from(&o.first_seen);
            }
        }
        if let Some(at) = o.last_at {
            if self.last_at.is_none_or(|l| at > l) {
                self.last_at = Some(at);
                self.last_seen.clone_from(&o.last_seen);
            }
        }
    }
}

/// A path template of a service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Template {
    /// The template (a literal path when nothing was folded).
    pub template: String,
    /// Methods seen on it.
    pub methods: Vec<String>,
    /// Distinct concrete paths it stands for.
    pub distinct_paths: usize,
    /// Hits and when.
    pub evidence: Evidence,
}

/// Paths allowed with one set of methods, each with its evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Access {
    /// Methods, sorted.
    pub methods: Vec<String>,
    /// Template → evidence, sorted by template.
    pub paths: BTreeMap<String, Evidence>,
}

/// One ALLOW rule: these callers (all of one kind) may do exactly this.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rule {
    /// The callers.
    pub callers: Vec<Caller>,
    /// What they may call.
    pub access: Vec<Access>,
}

impl Rule {
    /// Requests behind the rule.
    pub fn hits(&self) -> u64 {
        self.access.iter().flat_map(|a| a.paths.values()).map(|e| e.hits).sum()
    }
}

/// A destination service (one host).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Service {
    /// The normalized host.
    pub host: String,
    /// Its templates, sorted.
    pub templates: Vec<Template>,
    /// Its rules.
    pub rules: Vec<Rule>,
    /// Positions kept literal although they hold many values.
    pub not_generalized: Vec<Note>,
}

/// Requests that are not in the policy, and why.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Left {
    /// Stopped by the recorded policy (block, refused): not learned.
    pub stopped: Decisions,
    /// Requests in overflow lines (their key unknown).
    pub overflow_requests: u64,
    /// Overflow lines.
    pub overflow_lines: u64,
    /// Requests without a host.
    pub no_host: u64,
    /// Requests without a caller identity (no principal, namespace or address).
    pub no_caller: u64,
    /// Requests without a method or a path a pattern can hold (refused ones are in `stopped`).
    pub no_path: u64,
    /// Observed paths no pattern can hold (`*`, not starting with `/`): (host, path).
    pub unrepresentable: Vec<(String, String)>,
}

/// What was learned.
#[derive(Debug, Clone, Serialize)]
pub struct Learned {
    /// The mode the policy is written in.
    pub mode: Mode,
    /// Input lines read.
    pub lines: u64,
    /// Lines that were no meshward event.
    pub skipped: u64,
    /// Observation lines read.
    pub observations: u64,
    /// Decision events read.
    pub decision_events: u64,
    /// Requests the events stand for.
    pub requests: u64,
    /// Requests learned from.
    pub learned_requests: u64,
    /// Meshward lines that could not be read.
    pub malformed: Vec<Malformed>,
    /// Per destination service, sorted by host.
    pub services: Vec<Service>,
    /// What is not in the policy.
    pub left: Left,
}

/// Per caller, per template: methods and evidence.
type CallerAccess = BTreeMap<String, (BTreeSet<String>, Evidence)>;

/// Learns from everything read.
pub fn learn(intake: &Intake, opts: &Options) -> Learned {
    let mut left = Left::default();
    let mut requests = 0u64;
    let mut learned_requests = 0u64;
    // host → usable records
    let mut by_host: BTreeMap<&str, Vec<(&Record, &Caller, &str, &str)>> = BTreeMap::new();
    for r in &intake.records {
        requests = requests.saturating_add(r.count);
        if r.overflow {
            left.overflow_lines += 1;
            left.overflow_requests = left.overflow_requests.saturating_add(r.count);
            continue;
        }
        left.stopped.add(&Decisions {
            allow: 0,
            would_block: 0,
            ..r.decisions
        });
        let passed = r.decisions.passed();
        if passed == 0 {
            continue;
        }
        let (Some(host), Some(method), Some(path)) = (&r.host, &r.method, &r.path) else {
            if r.host.is_none() {
                left.no_host += passed;
            } else {
                left.no_path += passed;
            }
            continue;
        };
        let Some(caller) = &r.caller else {
            left.no_caller += passed;
            continue;
        };
        learned_requests += passed;
        by_host.entry(host).or_default().push((r, caller, method, path));
    }
    let services = by_host
        .into_iter()
        .map(|(host, recs)| service(host, &recs, &opts.templates, &mut left))
        .collect();
    Learned {
        mode: opts.mode,
        lines: intake.lines,
        skipped: intake.skipped,
        observations: intake.observation_lines,
        decision_events: intake.decision_lines,
        requests,
        learned_requests,
        malformed: intake.malformed.clone(),
        services,
        left,
    }
}

fn service(host: &str, recs: &[(&Record, &Caller, &str, &str)], opts: &template::Options, left: &mut Left) -> Service {
    let mut paths: BTreeMap<String, PathStats> = BTreeMap::new();
    for (r, _, method, path) in recs {
        paths
            .entry((*path).to_owned())
            .or_default()
            .add(method, &r.shape, r.decisions.passed());
    }
    let templated = template::learn(&paths, opts);
    for p in &templated.unrepresentable {
        left.unrepresentable.push((host.to_owned(), p.clone()));
    }
    let mut templates: BTreeMap<&str, (BTreeSet<String>, BTreeSet<&str>, Evidence)> = BTreeMap::new();
    let mut callers: BTreeMap<&Caller, CallerAccess> = BTreeMap::new();
    for (r, caller, method, path) in recs {
        let Some(t) = templated.template_of.get(*path) else {
            left.no_path += r.decisions.passed();
            continue;
        };
        let entry = templates.entry(t).or_default();
        entry.0.insert((*method).to_owned());
        entry.1.insert(path);
        entry.2.add(r, path);
        let access = callers.entry(caller).or_default().entry(t.clone()).or_default();
        access.0.insert((*method).to_owned());
        access.1.add(r, path);
    }
    Service {
        host: host.to_owned(),
        templates: templates
            .into_iter()
            .map(|(t, (methods, concrete, evidence))| Template {
                template: t.to_owned(),
                methods: methods.into_iter().collect(),
                distinct_paths: concrete.len(),
                evidence,
            })
            .collect(),
        rules: rules(callers),
        not_generalized: templated.notes,
    }
}

/// Callers of one kind with the same (template, methods) set share a rule; within it, templates
/// with the same methods share a `to` entry.
fn rules(callers: BTreeMap<&Caller, CallerAccess>) -> Vec<Rule> {
    type Signature = (&'static str, Vec<(String, Vec<String>)>);
    let mut groups: BTreeMap<Signature, (Vec<Caller>, BTreeMap<String, Evidence>)> = BTreeMap::new();
    for (caller, access) in callers {
        let signature: Signature = (
            caller.field(),
            access
                .iter()
                .map(|(t, (m, _))| (t.clone(), m.iter().cloned().collect()))
                .collect(),
        );
        let group = groups.entry(signature).or_default();
        group.0.push(caller.clone());
        for (t, (_, e)) in access {
            group.1.entry(t).or_default().merge(&e);
        }
    }
    groups
        .into_iter()
        .map(|((_, sig), (callers, mut evidence))| {
            let mut by_methods: BTreeMap<Vec<String>, BTreeMap<String, Evidence>> = BTreeMap::new();
            for (t, methods) in sig {
                let e = evidence.remove(&t).unwrap_or_default();
                by_methods.entry(methods).or_default().insert(t, e);
            }
            Rule {
                callers,
                access: by_methods
                    .into_iter()
                    .map(|(methods, paths)| Access { methods, paths })
                    .collect(),
            }
        })
        .collect()
}

/// A policy name (`[A-Za-z0-9_.-]{1,64}`) for a host.
pub fn policy_name(host: &str) -> String {
    let mut name: String = format!("learned-{host}")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    name.truncate(64);
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_refuse_what_the_outputs_cannot_hold() {
        assert!(Options::new(Mode::Detect, 10, &["/a/{*}".into()], &["/a/me".into()]).is_ok());
        let err = |r: Result<Options, LearnError>| r.err().map(|e| e.to_string()).unwrap_or_default();
        assert_eq!(
            err(Options::new(Mode::Detect, 1, &[], &[])),
            "--fold-threshold 1: must be at least 2"
        );
        assert!(err(Options::new(Mode::Detect, 10, &["/a/{**}/b".into()], &[])).starts_with("--template /a/{**}/b: "));
        assert!(err(Options::new(Mode::Detect, 10, &[], &["/a/*".into()])).starts_with("--literal /a/*: "));
        assert!(err(Options::new(Mode::Detect, 10, &[], &["a".into()])).contains("starts with `/`"));
    }

    #[test]
    fn stopped_overflow_and_anonymous_requests_are_left_out_and_counted() {
        let text = [
            r#"{"v":1,"type":"observation","count":3,"decisions":{"allow":1,"block":2},"principal":"spiffe://td/ns/a/sa/b","host":"h","method":"GET","path":"/x"}"#,
            r#"{"v":1,"type":"observation","count":9,"overflow":true,"decisions":{"allow":9}}"#,
            r#"{"v":1,"type":"observation","count":4,"host":"h","method":"GET","path":"/y"}"#,
            r#"{"v":1,"type":"observation","count":5,"principal":"spiffe://td/ns/a/sa/b","method":"GET","path":"/z"}"#,
        ]
        .join("\n");
        let mut intake = Intake::default();
        intake.read("t", text.as_bytes()).unwrap();
        let l = learn(&intake, &Options::default());
        assert_eq!((l.requests, l.learned_requests), (21, 1));
        assert_eq!(l.left.stopped.block, 2);
        assert_eq!((l.left.overflow_lines, l.left.overflow_requests), (1, 9));
        assert_eq!((l.left.no_caller, l.left.no_host), (4, 5));
        assert_eq!(l.services.len(), 1);
        assert_eq!(l.services[0].templates[0].template, "/x");
        assert_eq!(l.services[0].rules[0].hits(), 1);
    }
}
