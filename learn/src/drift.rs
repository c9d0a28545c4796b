//! The drift between a service's declared OpenAPI 3.x document and its observed traffic:
//! endpoints seen but not declared, declared but never seen, and methods or status classes
//! seen that the declaration does not hold. Each observed concrete path is matched against the
//! declared path templates (a literal segment before a templated one, as OpenAPI says).

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::Value;

use crate::error::LearnError;
use crate::events::Intake;
use crate::openapi::{seen_by_host, Api, METHODS};

/// One declared path template.
#[derive(Debug, Clone, PartialEq, Eq)]
struct DeclaredPath {
    path: String,
    segments: Vec<String>,
    /// `x-meshward-tail: true`: the last parameter takes the rest of the path.
    tail: bool,
    /// Uppercased method → declared response keys.
    methods: BTreeMap<String, BTreeSet<String>>,
}

/// A service's declared API: its OpenAPI 3.x `paths`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spec {
    paths: Vec<DeclaredPath>,
}

impl Spec {
    /// Reads an OpenAPI 3.x document (parsed from YAML or JSON); `name` is used in errors.
    pub fn from_value(name: &str, doc: &Value) -> Result<Spec, LearnError> {
        let err = |reason: String| LearnError::Spec {
            spec: name.to_owned(),
            reason,
        };
        let version = doc
            .get("openapi")
            .and_then(Value::as_str)
            .ok_or_else(|| err("no `openapi` version: not an OpenAPI 3.x document".into()))?;
        if !version.starts_with("3.") {
            return Err(err(format!("`openapi: {version}`: only 3.x is read")));
        }
        let paths = match doc.get("paths") {
            None | Some(Value::Null) => return Ok(Spec { paths: Vec::new() }),
            Some(Value::Object(p)) => p,
            Some(_) => return Err(err("`paths` is not a map".into())),
        };
        let mut out = Vec::new();
        for (path, item) in paths {
            if path.starts_with("x-") {
                continue;
            }
            if !path.starts_with('/') {
                return Err(err(format!("path `{path}` does not start with `/`")));
            }
            let item = item
                .as_object()
                .ok_or_else(|| err(format!("path `{path}`: not a path item")))?;
            let mut methods = BTreeMap::new();
            for m in METHODS {
                if let Some(op) = item.get(m) {
                    let responses = op
                        .get("responses")
                        .and_then(Value::as_object)
                        .map(|r| r.keys().map(|k| k.to_ascii_uppercase()).collect())
                        .unwrap_or_default();
                    methods.insert(m.to_ascii_uppercase(), responses);
                }
            }
            out.push(DeclaredPath {
                path: path.clone(),
                segments: path.split('/').skip(1).map(str::to_owned).collect(),
                tail: item.get("x-meshward-tail").and_then(Value::as_bool) == Some(true),
                methods,
            });
        }
        Ok(Spec { paths: out })
    }

    /// The declared path a concrete path falls under: among those that match, the one whose
    /// first templated segment comes last (concrete before templated).
    fn find(&self, path: &str) -> Option<&DeclaredPath> {
        let segs: Vec<&str> = path.split('/').skip(1).collect();
        self.paths
            .iter()
            .filter(|d| d.matches(&segs))
            .min_by_key(|d| d.segments.iter().map(|s| s.contains('{')).collect::<Vec<bool>>())
    }
}

impl DeclaredPath {
    fn matches(&self, segs: &[&str]) -> bool {
        let n = self.segments.len();
        let fits = if self.tail {
            n >= 1 && segs.len() >= n
        } else {
            segs.len() == n
        };
        fits && self.segments.iter().enumerate().all(|(i, d)| {
            if self.tail && i + 1 == n {
                // The tail parameter takes the rest, `/` included.
                let rest = segs.get(i..).map(|r| r.join("/")).unwrap_or_default();
                segment_matches(d, &rest)
            } else {
                segs.get(i).is_some_and(|s| segment_matches(d, s))
            }
        })
    }
}

/// A declared segment (`orders`, `{id}`, `{id}.json`, `v{major}`) against a concrete one: the
/// literal parts in order, each parameter at least one character.
fn segment_matches(declared: &str, seg: &str) -> bool {
    if !declared.contains('{') {
        return declared == seg;
    }
    // Split into literal parts around the `{...}` parameters.
    let mut literals: Vec<&str> = Vec::new();
    let mut rest = declared;
    while let Some(open) = rest.find('{') {
        literals.push(&rest[..open]);
        rest = match rest[open..].find('}') {
            Some(close) => &rest[open + close + 1..],
            None => return false,
        };
    }
    literals.push(rest);
    let Some((first, tail)) = literals.split_first() else {
        return false;
    };
    let Some(mut remaining) = seg.strip_prefix(first) else {
        return false;
    };
    let last_i = tail.len().saturating_sub(1);
    for (i, lit) in tail.iter().enumerate() {
        if i == last_i {
            // The last literal closes the segment; the parameter before it is non-empty.
            return remaining.len() > lit.len() && remaining.ends_with(lit);
        }
        // A parameter of at least one character, then the next literal.
        let Some(pos) = remaining.get(1..).and_then(|r| r.find(lit)) else {
            return false;
        };
        remaining = &remaining[1 + pos + lit.len()..];
    }
    false
}

/// Traffic behind one finding.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Seen {
    /// Requests.
    pub hits: u64,
    /// One concrete path.
    pub sample: String,
}

impl Seen {
    fn add(&mut self, n: u64, path: &str) {
        if self.sample.is_empty() {
            self.sample = path.to_owned();
        }
        self.hits = self.hits.saturating_add(n);
    }
}

/// An endpoint the traffic used that the spec does not declare.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Undeclared {
    /// The learned template.
    pub template: String,
    /// The method.
    pub method: String,
    /// Its traffic.
    #[serde(flatten)]
    pub seen: Seen,
}

/// A declared operation no request used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unused {
    /// The declared path.
    pub path: String,
    /// The method.
    pub method: String,
}

/// A declared path used with a method it does not declare.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UndeclaredMethod {
    /// The declared path.
    pub path: String,
    /// The method seen.
    pub method: String,
    /// Its traffic.
    #[serde(flatten)]
    pub seen: Seen,
}

/// A declared operation answered with a status class it does not declare.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UndeclaredStatus {
    /// The declared path.
    pub path: String,
    /// The method.
    pub method: String,
    /// The class seen (`5xx`).
    pub status_class: String,
    /// Its traffic.
    #[serde(flatten)]
    pub seen: Seen,
}

/// The drift of one service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Drift {
    /// The service (host).
    pub service: String,
    /// Where the spec came from.
    pub spec: String,
    /// Requests compared.
    pub requests: u64,
    /// Seen but not declared, per learned template and method.
    pub undeclared: Vec<Undeclared>,
    /// Declared but never seen.
    pub unused: Vec<Unused>,
    /// Declared paths used with undeclared methods.
    pub undeclared_methods: Vec<UndeclaredMethod>,
    /// Declared operations answered with undeclared status classes.
    pub undeclared_statuses: Vec<UndeclaredStatus>,
}

impl Drift {
    /// Whether traffic and spec agree.
    pub fn is_clean(&self) -> bool {
        self.undeclared.is_empty()
            && self.unused.is_empty()
            && self.undeclared_methods.is_empty()
            && self.undeclared_statuses.is_empty()
    }
}

/// Whether a declared operation's responses cover a status class (`2xx`): `default`, the
/// range `2XX` or any `2..` code.
fn covers(declared: &BTreeSet<String>, class: &str) -> bool {
    let Some(digit) = class.chars().next() else {
        return true;
    };
    declared.contains("DEFAULT") || declared.iter().any(|k| k.len() == 3 && k.starts_with(digit))
}

/// Compares the traffic of `service` (a host; a spec named without port also matches the host
/// with one) with its spec. `apis` gives the learned templates the undeclared paths fall under.
pub fn drift(intake: &Intake, apis: &[Api], service: &str, spec_name: &str, spec: &Spec) -> Drift {
    let by_host = seen_by_host(intake);
    let hosts: Vec<&str> = by_host
        .keys()
        .copied()
        .filter(|h| *h == service || h.rsplit_once(':').is_some_and(|(name, _)| name == service))
        .collect();
    let mut requests = 0u64;
    let mut undeclared: BTreeMap<(String, String), Seen> = BTreeMap::new();
    let mut methods: BTreeMap<(String, String), Seen> = BTreeMap::new();
    let mut statuses: BTreeMap<(String, String, String), Seen> = BTreeMap::new();
    let mut used: BTreeSet<(&str, &str)> = BTreeSet::new();
    for host in &hosts {
        let template_of = apis.iter().find(|a| a.host == *host).map(|a| &a.template_of);
        for s in by_host.get(host).into_iter().flatten() {
            let n = s.record.decisions.passed();
            requests = requests.saturating_add(n);
            let Some(d) = spec.find(s.path) else {
                let template = template_of
                    .and_then(|t| t.get(s.path))
                    .cloned()
                    .unwrap_or_else(|| s.path.to_owned());
                undeclared
                    .entry((template, s.method.to_owned()))
                    .or_default()
                    .add(n, s.path);
                continue;
            };
            let Some((m, responses)) = d.methods.get_key_value(s.method) else {
                methods
                    .entry((d.path.clone(), s.method.to_owned()))
                    .or_default()
                    .add(n, s.path);
                continue;
            };
            used.insert((&d.path, m));
            if let Some(class) = s.record.shape.status_class.as_deref().filter(|c| *c != "none") {
                if !covers(responses, class) {
                    statuses
                        .entry((d.path.clone(), m.clone(), class.to_owned()))
                        .or_default()
                        .add(n, s.path);
                }
            }
        }
    }
    let unused = spec
        .paths
        .iter()
        .flat_map(|d| d.methods.keys().map(move |m| (d, m)))
        .filter(|(d, m)| !used.contains(&(d.path.as_str(), m.as_str())))
        .map(|(d, m)| Unused {
            path: d.path.clone(),
            method: m.clone(),
        })
        .collect();
    Drift {
        service: service.to_owned(),
        spec: spec_name.to_owned(),
        requests,
        undeclared: undeclared
            .into_iter()
            .map(|((template, method), seen)| Undeclared { template, method, seen })
            .collect(),
        unused,
        undeclared_methods: methods
            .into_iter()
            .map(|((path, method), seen)| UndeclaredMethod { path, method, seen })
            .collect(),
        undeclared_statuses: statuses
            .into_iter()
            .map(|((path, method, status_class), seen)| UndeclaredStatus {
                path,
                method,
                status_class,
                seen,
            })
            .collect(),
    }
}

/// The drift reports as Markdown.
pub fn markdown(drifts: &[Drift]) -> String {
    let mut out = String::from("# API drift\n");
    for d in drifts {
        out.push_str(&format!(
            "\n## {} against {}\n\n{} requests compared.\n",
            d.service, d.spec, d.requests
        ));
        if d.is_clean() {
            out.push_str("\nNo drift: every request falls under a declared operation and response, and every declared operation was used.\n");
            continue;
        }
        if !d.undeclared.is_empty() {
            out.push_str("\n### Seen, not declared\n\n| method | template | hits | sample |\n|---|---|---:|---|\n");
            for u in &d.undeclared {
                out.push_str(&format!(
                    "| {} | `{}` | {} | `{}` |\n",
                    u.method, u.template, u.seen.hits, u.seen.sample
                ));
            }
        }
        if !d.unused.is_empty() {
            out.push_str("\n### Declared, never seen\n\n| method | path |\n|---|---|\n");
            for u in &d.unused {
                out.push_str(&format!("| {} | `{}` |\n", u.method, u.path));
            }
        }
        if !d.undeclared_methods.is_empty() {
            out.push_str("\n### Methods seen, not declared\n\n| method | path | hits | sample |\n|---|---|---:|---|\n");
            for u in &d.undeclared_methods {
                out.push_str(&format!(
                    "| {} | `{}` | {} | `{}` |\n",
                    u.method, u.path, u.seen.hits, u.seen.sample
                ));
            }
        }
        if !d.undeclared_statuses.is_empty() {
            out.push_str(
                "\n### Status classes seen, not declared\n\n| method | path | status | hits | sample |\n|---|---|---|---:|---|\n",
            );
            for u in &d.undeclared_statuses {
                out.push_str(&format!(
                    "| {} | `{}` | {} | {} | `{}` |\n",
                    u.method, u.path, u.status_class, u.seen.hits, u.seen.sample
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::openapi::inventory;
    use crate::template;
    use serde_json::json;

    #[test]
    fn declared_segments_match_like_openapi_templates() {
        assert!(segment_matches("{id}", "42"));
        assert!(!segment_matches("{id}", ""));
        assert!(segment_matches("{id}.json", "42.json"));
        assert!(!segment_matches("{id}.json", ".json"));
        assert!(segment_matches("v{major}", "v2"));
        assert!(segment_matches("{a}-{b}", "x-y"));
        assert!(!segment_matches("{a}-{b}", "x-"));
        assert!(!segment_matches("{broken", "x"));
        assert!(segment_matches("me", "me"));
    }

    #[test]
    fn concrete_paths_win_over_templates_and_tails_take_the_rest() {
        let spec = Spec::from_value(
            "s",
            &json!({"openapi": "3.0.3", "paths": {
                "/users/{id}": {"get": {"responses": {"200": {"description": "x"}}}},
                "/users/me": {"get": {"responses": {"2XX": {"description": "x"}}}},
                "/static/{path}": {"x-meshward-tail": true, "get": {"responses": {"default": {"description": "x"}}}}
            }}),
        )
        .unwrap();
        assert_eq!(spec.find("/users/me").map(|d| d.path.as_str()), Some("/users/me"));
        assert_eq!(spec.find("/users/7").map(|d| d.path.as_str()), Some("/users/{id}"));
        assert_eq!(
            spec.find("/static/js/a.js").map(|d| d.path.as_str()),
            Some("/static/{path}")
        );
        assert_eq!(spec.find("/users/7/x"), None);
        assert!(Spec::from_value("s", &json!({"swagger": "2.0"})).is_err());
        assert!(Spec::from_value("s", &json!({"openapi": "2.0"})).is_err());
    }

    #[test]
    fn methods_and_status_classes_outside_the_spec_are_reported() {
        let line = |m: &str, p: &str, c: &str| {
            format!(
                r#"{{"v":1,"type":"observation","count":2,"decisions":{{"allow":2}},"host":"orders.svc:8080","method":"{m}","path":"{p}","status_class":"{c}"}}"#
            )
        };
        let text = [
            line("GET", "/orders/1", "2xx"),
            line("GET", "/orders/2", "5xx"),
            line("DELETE", "/orders/2", "2xx"),
            line("GET", "/admin", "2xx"),
        ]
        .join("\n");
        let mut intake = Intake::default();
        intake.read("t", text.as_bytes()).unwrap();
        let spec = Spec::from_value(
            "orders.yaml",
            &json!({"openapi": "3.1.0", "paths": {
                "/orders/{orderId}": {"get": {"responses": {"200": {"description": "x"}, "404": {"description": "x"}}}},
                "/orders": {"post": {"responses": {"201": {"description": "x"}}}}
            }}),
        )
        .unwrap();
        let apis = inventory(&intake, &template::Options::default());
        let d = drift(&intake, &apis, "orders.svc", "orders.yaml", &spec);
        assert_eq!(d.requests, 8);
        assert_eq!(
            d.undeclared,
            vec![Undeclared {
                template: "/admin".into(),
                method: "GET".into(),
                seen: Seen {
                    hits: 2,
                    sample: "/admin".into()
                }
            }]
        );
        assert_eq!(
            d.unused,
            vec![Unused {
                path: "/orders".into(),
                method: "POST".into()
            }]
        );
        assert_eq!(d.undeclared_methods.len(), 1);
        assert_eq!(d.undeclared_methods[0].method, "DELETE");
        assert_eq!(d.undeclared_statuses.len(), 1);
        assert_eq!(d.undeclared_statuses[0].status_class, "5xx");
        let md = markdown(&[d]);
        assert!(md.contains("| GET | `/admin` | 2 | `/admin` |"), "{md}");
        assert!(md.contains("| POST | `/orders` |"), "{md}");
    }
}
