//! `meshward learn api`: the API inventory of each service (host) from the same events as the
//! policy, written as an OpenAPI 3.0.3 document. The learned templates become OpenAPI path
//! templates (`{*}` a named parameter, `{**}` a last parameter marked `x-meshward-tail`), each
//! method an operation whose responses are the observed status classes (`2XX`...) with their
//! media types, and `x-meshward-evidence` says how much traffic stands behind it.
//!
//! 3.0.3 rather than 3.1: it is what most gateways, linters and code generators still read, and
//! nothing written here (no schemas, no webhooks) needs 3.1.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::caller::Caller;
use crate::events::{Intake, Record};
use crate::learn::Evidence;
use crate::template::{self, PathStats, ONE, REST};

/// The OpenAPI version written.
pub const OPENAPI_VERSION: &str = "3.0.3";

/// The operations OpenAPI 3.0 can hold, as path-item keys.
pub const METHODS: [&str; 8] = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

/// One method on one path template, with what was seen of it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Operation {
    /// Hits, first and last seen, one concrete path.
    pub evidence: Evidence,
    /// Distinct callers (principal, namespace or address) seen.
    pub callers: usize,
    /// Distinct concrete paths.
    pub distinct_paths: usize,
    /// Response key (`2XX`...) → observed media types.
    pub responses: BTreeMap<String, BTreeSet<String>>,
}

/// One path template and its operations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Endpoint {
    /// The learned template (`/users/{*}`).
    pub template: String,
    /// As an OpenAPI path template (`/users/{userId}`).
    pub path: String,
    /// Its path parameters, in order.
    pub parameters: Vec<String>,
    /// Whether the last parameter stands for the rest of the path (`{**}`).
    pub tail: bool,
    /// Uppercased method → operation.
    pub operations: BTreeMap<String, Operation>,
}

/// The inventory of one service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Api {
    /// The normalized host.
    pub host: String,
    /// Its endpoints, sorted by template.
    pub endpoints: Vec<Endpoint>,
    /// Methods OpenAPI cannot hold as operations (`CONNECT`, extension methods): requests.
    pub other_methods: BTreeMap<String, u64>,
    /// Each observed path and its template (for the drift report).
    #[serde(skip)]
    pub template_of: BTreeMap<String, String>,
}

/// A usable record: it reached the service and names host, method and path.
pub(crate) struct Seen<'a> {
    pub record: &'a Record,
    pub method: &'a str,
    pub path: &'a str,
}

/// The records per host that reached the service with a host, method and path (stopped and
/// overflow requests say nothing about the API).
pub(crate) fn seen_by_host(intake: &Intake) -> BTreeMap<&str, Vec<Seen<'_>>> {
    let mut by_host: BTreeMap<&str, Vec<Seen<'_>>> = BTreeMap::new();
    for r in &intake.records {
        if r.overflow || r.decisions.passed() == 0 {
            continue;
        }
        if let (Some(host), Some(method), Some(path)) = (&r.host, &r.method, &r.path) {
            by_host.entry(host).or_default().push(Seen {
                record: r,
                method,
                path,
            });
        }
    }
    by_host
}

/// Builds the inventory of every service.
pub fn inventory(intake: &Intake, opts: &template::Options) -> Vec<Api> {
    seen_by_host(intake)
        .into_iter()
        .map(|(host, seen)| api(host, &seen, opts))
        .collect()
}

fn api(host: &str, seen: &[Seen<'_>], opts: &template::Options) -> Api {
    let mut paths: BTreeMap<String, PathStats> = BTreeMap::new();
    for s in seen {
        paths
            .entry(s.path.to_owned())
            .or_default()
            .add(s.method, &s.record.shape, s.record.decisions.passed());
    }
    let templated = template::learn(&paths, opts);
    type Acc<'a> = (Operation, BTreeSet<&'a Caller>, BTreeSet<&'a str>);
    let mut ops: BTreeMap<&str, BTreeMap<&str, Acc<'_>>> = BTreeMap::new();
    let mut other_methods: BTreeMap<String, u64> = BTreeMap::new();
    for s in seen {
        let Some(t) = templated.template_of.get(s.path) else {
            continue;
        };
        if !METHODS.contains(&s.method.to_ascii_lowercase().as_str()) {
            *other_methods.entry(s.method.to_owned()).or_default() += s.record.decisions.passed();
            continue;
        }
        let (op, callers, concrete) = ops.entry(t).or_default().entry(s.method).or_default();
        op.evidence.add(s.record, s.path);
        callers.extend(&s.record.caller);
        concrete.insert(s.path);
        if let Some(key) = s.record.shape.status_class.as_deref().and_then(response_key) {
            let types = op.responses.entry(key).or_default();
            types.extend(s.record.shape.content_type.clone());
        }
    }
    let endpoints = ops
        .into_iter()
        .map(|(t, methods)| {
            let (path, parameters, tail) = openapi_path(t);
            Endpoint {
                template: t.to_owned(),
                path,
                parameters,
                tail,
                operations: methods
                    .into_iter()
                    .map(|(m, (mut op, callers, concrete))| {
                        op.callers = callers.len();
                        op.distinct_paths = concrete.len();
                        (m.to_owned(), op)
                    })
                    .collect(),
            }
        })
        .collect();
    Api {
        host: host.to_owned(),
        endpoints,
        other_methods,
        template_of: templated.template_of,
    }
}

/// `2xx` → `2XX` (an OpenAPI response range); `none` (no response sent) has no key.
pub fn response_key(status_class: &str) -> Option<String> {
    let b = status_class.as_bytes();
    match b {
        [d @ b'1'..=b'5', b'x' | b'X', b'x' | b'X'] => Some(format!("{}XX", *d as char)),
        _ => None,
    }
}

/// A learned template as an OpenAPI path template: each `{*}` becomes a parameter named for the
/// segment before it (`/users/{*}` → `/users/{userId}`, else `id`, `id2`...), `{**}` a last
/// parameter `path` (a tail: OpenAPI has no multi-segment parameter). Returns the path, the
/// parameter names and whether it ends in a tail.
pub fn openapi_path(template: &str) -> (String, Vec<String>, bool) {
    let mut out = String::new();
    let mut names: Vec<String> = Vec::new();
    let mut tail = false;
    let mut parent: Option<&str> = None;
    for seg in template.split('/').skip(1) {
        out.push('/');
        let base = match seg {
            ONE => Some(parent.map_or_else(|| "id".to_owned(), param_name)),
            REST => {
                tail = true;
                Some("path".to_owned())
            }
            _ => None,
        };
        match base {
            Some(base) => {
                let mut name = base.clone();
                let mut n = 2;
                while names.contains(&name) {
                    name = format!("{base}{n}");
                    n += 1;
                }
                out.push('{');
                out.push_str(&name);
                out.push('}');
                names.push(name);
                parent = None;
            }
            None => {
                out.push_str(seg);
                parent = Some(seg);
            }
        }
    }
    if out.is_empty() {
        out.push('/');
    }
    (out, names, tail)
}

/// `users` → `userId`, `order-items` → `orderItemId`, `v1` → `id`: the camel-cased singular of
/// a collection name, or `id` when the segment is not a word.
fn param_name(parent: &str) -> String {
    let words: Vec<&str> = parent
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    let starts_with_letter = words
        .first()
        .and_then(|w| w.chars().next())
        .is_some_and(|c| c.is_ascii_alphabetic());
    // A version (`v1`) or a number is not a collection.
    let versionish = parent.len() <= 3 && parent.chars().skip(1).all(|c| c.is_ascii_digit());
    if !starts_with_letter || versionish {
        return "id".to_owned();
    }
    let mut name = String::new();
    for (i, w) in words.iter().enumerate() {
        let w = if i + 1 == words.len() {
            singular(w)
        } else {
            (*w).to_owned()
        };
        let lower = w.to_ascii_lowercase();
        if i == 0 {
            name.push_str(&lower);
        } else {
            let mut cs = lower.chars();
            if let Some(c) = cs.next() {
                name.push(c.to_ascii_uppercase());
                name.extend(cs);
            }
        }
    }
    name.push_str("Id");
    name
}

fn singular(w: &str) -> String {
    if let Some(stem) = w.strip_suffix("ies").filter(|s| s.len() >= 2) {
        format!("{stem}y")
    } else if w.ends_with("ss") || w.ends_with("us") || w.len() <= 3 {
        w.to_owned()
    } else if let Some(stem) = w.strip_suffix('s') {
        stem.to_owned()
    } else {
        w.to_owned()
    }
}

/// The OpenAPI 3.0.3 document of one service.
pub fn document(api: &Api) -> Value {
    let mut paths = Map::new();
    for e in &api.endpoints {
        let mut item = Map::new();
        if !e.parameters.is_empty() {
            let params: Vec<Value> = e
                .parameters
                .iter()
                .enumerate()
                .map(|(i, name)| {
                    let mut p = json!({
                        "name": name, "in": "path", "required": true, "schema": {"type": "string"}
                    });
                    if e.tail && i + 1 == e.parameters.len() {
                        p["description"] =
                            json!("The rest of the path, `/` included (meshward `{**}`); see x-meshward-tail.");
                    }
                    p
                })
                .collect();
            item.insert("parameters".into(), Value::Array(params));
        }
        if e.tail {
            item.insert("x-meshward-tail".into(), Value::Bool(true));
        }
        item.insert("x-meshward-template".into(), Value::String(e.template.clone()));
        for (method, op) in &e.operations {
            item.insert(method.to_ascii_lowercase(), operation(op));
        }
        paths.insert(e.path.clone(), Value::Object(item));
    }
    let mut doc = json!({
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": api.host,
            "version": "learned",
            "description": format!(
                "Learned by `meshward learn api` from the policy filter's events for `{}`: only what was observed, with its evidence.",
                api.host
            ),
        },
        "paths": Value::Object(paths),
    });
    if !api.other_methods.is_empty() {
        doc["x-meshward-other-methods"] = json!(api.other_methods);
    }
    doc
}

fn operation(op: &Operation) -> Value {
    let mut responses = Map::new();
    for (key, types) in &op.responses {
        let mut r = json!({"description": format!("Observed {key} responses.")});
        if !types.is_empty() {
            let content: Map<String, Value> = types.iter().map(|t| (t.clone(), json!({}))).collect();
            r["content"] = Value::Object(content);
        }
        responses.insert(key.clone(), r);
    }
    if responses.is_empty() {
        // OpenAPI requires one response; decision events and resets carry no status.
        responses.insert(
            "default".into(),
            json!({"description": "No response status was recorded (decision events, resets)."}),
        );
    }
    json!({
        "responses": Value::Object(responses),
        "x-meshward-evidence": {
            "hits": op.evidence.hits,
            "first_seen": op.evidence.first_seen,
            "last_seen": op.evidence.last_seen,
            "callers": op.callers,
            "distinct_paths": op.distinct_paths,
            "sample": op.evidence.sample,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_become_named_path_parameters() {
        assert_eq!(
            openapi_path("/api/v1/users/{*}/orders/{*}"),
            (
                "/api/v1/users/{userId}/orders/{orderId}".into(),
                vec!["userId".into(), "orderId".into()],
                false
            )
        );
        assert_eq!(openapi_path("/{*}/{*}").0, "/{id}/{id2}");
        assert_eq!(openapi_path("/v2/{*}").0, "/v2/{id}");
        assert_eq!(openapi_path("/categories/{*}").0, "/categories/{categoryId}");
        assert_eq!(openapi_path("/order-items/{*}").0, "/order-items/{orderItemId}");
        assert_eq!(
            openapi_path("/static/{**}"),
            ("/static/{path}".into(), vec!["path".into()], true)
        );
        assert_eq!(openapi_path("/").0, "/");
        assert_eq!(openapi_path("/health/").0, "/health/");
    }

    #[test]
    fn status_classes_become_response_ranges() {
        assert_eq!(response_key("2xx").as_deref(), Some("2XX"));
        assert_eq!(response_key("5xx").as_deref(), Some("5XX"));
        assert_eq!(response_key("none"), None);
        assert_eq!(response_key("6xx"), None);
    }

    #[test]
    fn operations_carry_responses_and_evidence() {
        let text = [
            r#"{"v":1,"type":"observation","count":3,"decisions":{"allow":3},"principal":"spiffe://td/ns/a/sa/b","host":"h","method":"GET","path":"/users/12","status_class":"2xx","content_type":"application/json","first_seen":"2026-12-07T10:00:01Z","last_seen":"2026-12-07T10:00:09Z"}"#,
            r#"{"v":1,"type":"observation","count":2,"decisions":{"allow":2},"principal":"spiffe://td/ns/a/sa/c","host":"h","method":"GET","path":"/users/13","status_class":"4xx","content_type":"application/problem+json","first_seen":"2026-12-07T09:00:01Z","last_seen":"2026-12-07T09:00:09Z"}"#,
            r#"{"v":1,"type":"observation","count":1,"decisions":{"block":1},"host":"h","method":"DELETE","path":"/users/13","status_class":"4xx"}"#,
            r#"{"v":1,"type":"observation","count":1,"decisions":{"allow":1},"host":"h","method":"GET","path":"/users/14","status_class":"none"}"#,
        ]
        .join("\n");
        let mut intake = Intake::default();
        intake.read("t", text.as_bytes()).unwrap();
        let apis = inventory(&intake, &template::Options::default());
        assert_eq!(apis.len(), 1);
        let e = &apis[0].endpoints[0];
        assert_eq!((e.path.as_str(), e.operations.len()), ("/users/{userId}", 1));
        let op = &e.operations["GET"];
        assert_eq!((op.evidence.hits, op.callers, op.distinct_paths), (6, 2, 3));
        assert_eq!(op.evidence.first_seen.as_deref(), Some("2026-12-07T09:00:01Z"));
        assert_eq!(op.evidence.last_seen.as_deref(), Some("2026-12-07T10:00:09Z"));
        let doc = document(&apis[0]);
        let responses = &doc["paths"]["/users/{userId}"]["get"]["responses"];
        assert!(responses["2XX"]["content"]["application/json"].is_object());
        assert!(responses["4XX"]["content"]["application/problem+json"].is_object());
        assert_eq!(responses.as_object().map(Map::len), Some(2));
        assert_eq!(doc["paths"]["/users/{userId}"]["get"]["x-meshward-evidence"]["hits"], 6);
        assert!(doc["paths"]["/users/{userId}"].get("delete").is_none());
    }
}
