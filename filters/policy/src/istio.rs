//! Conversion of Istio `AuthorizationPolicy` YAML (one or many documents) into a policy document,
//! and into one [`Carrier`] per namespace and `selector`/`targetRefs`: the WasmPlugin that takes
//! those policies to exactly the workloads they applied to.
//!
//! Fields that cannot be honoured are reported as warnings and dropped in the direction that
//! never widens access: in a DENY/AUDIT rule the field is dropped (the rule matches more); in
//! an ALLOW rule the whole `from`/`to` entry or condition's rule is dropped (it allows less).

use std::fmt;

use serde::Deserialize;
use serde_yaml_ng::Value;

use crate::error::PolicyError;
use crate::model::{Action, Condition, Operation, Policy, PolicyDocument, PortValue, Rule, Source};
pub use crate::wasmplugin::{Carrier, Scope, CARRIER_NAME};

/// A field that could not be honoured, with what was done about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// `<namespace>.<name>` of the AuthorizationPolicy.
    pub policy: String,
    /// Where, e.g. `rules[0].from[1].source.requestPrincipals`.
    pub field: String,
    /// Why and what was done.
    pub message: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "warning: policy `{}`, `{}`: {}",
            self.policy, self.field, self.message
        )
    }
}

/// The converted document, the WasmPlugins that carry it, and the warnings.
#[derive(Debug, Clone)]
pub struct Imported {
    /// meshward policies, in input order (mode `detect`, the default: listen first).
    pub document: PolicyDocument,
    /// The same policies grouped by the workloads they apply to (namespace and
    /// `selector`/`targetRefs`), each group the configuration of one WasmPlugin.
    pub carriers: Vec<Carrier>,
    /// Fields not honoured.
    pub warnings: Vec<Warning>,
}

fn invalid(doc: usize, field: &str, reason: impl Into<String>) -> PolicyError {
    PolicyError::invalid(
        crate::error::Location {
            policy: None,
            rule: None,
            field: format!("document {doc}: {field}"),
            line: None,
        },
        reason,
    )
}

struct Conv<'a> {
    doc: usize,
    policy: String,
    action: Action,
    warnings: &'a mut Vec<Warning>,
}

/// What to do with an entry holding an unsupported field.
enum Keep<T> {
    Entry(T),
    /// Drop the entry (ALLOW: never widen).
    Drop,
}

impl Conv<'_> {
    fn warn(&mut self, field: &str, message: impl Into<String>) {
        self.warnings.push(Warning {
            policy: self.policy.clone(),
            field: field.to_string(),
            message: message.into(),
        });
    }

    fn strings(&self, v: &Value, field: &str) -> Result<Vec<String>, PolicyError> {
        let seq = v
            .as_sequence()
            .ok_or_else(|| invalid(self.doc, field, "expected a list"))?;
        seq.iter()
            .enumerate()
            .map(|(i, x)| match x {
                Value::String(s) => Ok(s.clone()),
                Value::Number(n) => Ok(n.to_string()),
                _ => Err(invalid(self.doc, &format!("{field}[{i}]"), "expected a string")),
            })
            .collect()
    }

    /// Handles a field that cannot be honoured.
    fn unsupported<T>(&mut self, field: &str, why: &str) -> Option<Keep<T>> {
        if self.action == Action::Allow {
            self.warn(
                field,
                format!("{why}; the entry is dropped so the ALLOW policy never allows more"),
            );
            Some(Keep::Drop)
        } else {
            self.warn(
                field,
                format!(
                    "{why}; the field is ignored, so this {} rule matches more requests",
                    self.action.as_str()
                ),
            );
            None
        }
    }

    fn source(&mut self, v: &Value, field: &str) -> Result<Keep<Source>, PolicyError> {
        let map = v
            .as_mapping()
            .ok_or_else(|| invalid(self.doc, field, "expected a mapping"))?;
        let mut s = Source::default();
        for (k, val) in map {
            let key = k.as_str().unwrap_or_default();
            let f = format!("{field}.{key}");
            let list = |c: &Self| c.strings(val, &f).map(Some);
            match key {
                "principals" => s.principals = list(self)?,
                "notPrincipals" => s.not_principals = list(self)?,
                "namespaces" => s.namespaces = list(self)?,
                "notNamespaces" => s.not_namespaces = list(self)?,
                "serviceAccounts" => s.service_accounts = list(self)?,
                "notServiceAccounts" => s.not_service_accounts = list(self)?,
                "ipBlocks" => s.ip_blocks = list(self)?,
                "notIpBlocks" => s.not_ip_blocks = list(self)?,
                "remoteIpBlocks" => s.remote_ip_blocks = list(self)?,
                "notRemoteIpBlocks" => s.not_remote_ip_blocks = list(self)?,
                "requestPrincipals" => s.request_principals = list(self)?,
                "notRequestPrincipals" => s.not_request_principals = list(self)?,
                other => {
                    if let Some(k) = self.unsupported(&f, &format!("unknown source field `{other}`")) {
                        return Ok(k);
                    }
                }
            }
        }
        Ok(Keep::Entry(s))
    }

    fn operation(&mut self, v: &Value, field: &str) -> Result<Keep<Operation>, PolicyError> {
        let map = v
            .as_mapping()
            .ok_or_else(|| invalid(self.doc, field, "expected a mapping"))?;
        let mut o = Operation::default();
        for (k, val) in map {
            let key = k.as_str().unwrap_or_default();
            let f = format!("{field}.{key}");
            let list = |c: &Self| c.strings(val, &f).map(Some);
            let ports = |c: &Self| {
                c.strings(val, &f)
                    .map(|v| Some(v.into_iter().map(PortValue::Text).collect()))
            };
            match key {
                "hosts" => o.hosts = list(self)?,
                "notHosts" => o.not_hosts = list(self)?,
                "ports" => o.ports = ports(self)?,
                "notPorts" => o.not_ports = ports(self)?,
                "methods" => o.methods = list(self)?,
                "notMethods" => o.not_methods = list(self)?,
                "paths" => o.paths = list(self)?,
                "notPaths" => o.not_paths = list(self)?,
                other => {
                    if let Some(k) = self.unsupported(&f, &format!("unsupported operation field `{other}`")) {
                        return Ok(k);
                    }
                }
            }
        }
        Ok(Keep::Entry(o))
    }

    fn condition(&mut self, v: &Value, field: &str) -> Result<Keep<Option<Condition>>, PolicyError> {
        let map = v
            .as_mapping()
            .ok_or_else(|| invalid(self.doc, field, "expected a mapping"))?;
        let key = map
            .get("key")
            .and_then(Value::as_str)
            .ok_or_else(|| invalid(self.doc, &format!("{field}.key"), "missing"))?
            .to_string();
        let supported = key.starts_with("request.headers[")
            || crate::jwt::parse_claim_key(&key).is_some()
            || matches!(
                key.as_str(),
                "source.ip"
                    | "remote.ip"
                    | "source.namespace"
                    | "source.principal"
                    | "destination.ip"
                    | "destination.port"
                    | "connection.sni"
                    | "request.auth.principal"
                    | "request.auth.audiences"
                    | "request.auth.presenter"
            );
        if !supported {
            return Ok(
                match self.unsupported::<Option<Condition>>(
                    &format!("{field}.key"),
                    &format!("`when` key `{key}` is not supported"),
                ) {
                    Some(k) => k,
                    None => Keep::Entry(None),
                },
            );
        }
        let values = map
            .get("values")
            .map(|v| self.strings(v, &format!("{field}.values")))
            .transpose()?;
        let not_values = map
            .get("notValues")
            .map(|v| self.strings(v, &format!("{field}.notValues")))
            .transpose()?;
        Ok(Keep::Entry(Some(Condition {
            key,
            values,
            not_values,
        })))
    }

    fn rule(&mut self, v: &Value, field: &str) -> Result<Option<Rule>, PolicyError> {
        let map = v
            .as_mapping()
            .ok_or_else(|| invalid(self.doc, field, "expected a mapping"))?;
        let mut rule = Rule::default();
        let mut had_from = false;
        let mut had_to = false;
        for (k, val) in map {
            let key = k.as_str().unwrap_or_default();
            let f = format!("{field}.{key}");
            let seq = || {
                val.as_sequence()
                    .ok_or_else(|| invalid(self.doc, &f, "expected a list"))
            };
            match key {
                "from" => {
                    had_from = true;
                    for (i, e) in seq()?.iter().enumerate() {
                        let sf = format!("{f}[{i}].source");
                        let src = e.get("source").ok_or_else(|| invalid(self.doc, &sf, "missing"))?;
                        if let Keep::Entry(s) = self.source(src, &sf)? {
                            rule.from.push(s);
                        }
                    }
                }
                "to" => {
                    had_to = true;
                    for (i, e) in seq()?.iter().enumerate() {
                        let of = format!("{f}[{i}].operation");
                        let op = e.get("operation").ok_or_else(|| invalid(self.doc, &of, "missing"))?;
                        if let Keep::Entry(o) = self.operation(op, &of)? {
                            rule.to.push(o);
                        }
                    }
                }
                "when" => {
                    for (i, e) in seq()?.iter().enumerate() {
                        match self.condition(e, &format!("{f}[{i}]"))? {
                            Keep::Entry(Some(c)) => rule.when.push(c),
                            Keep::Entry(None) => {}
                            Keep::Drop => return Ok(None),
                        }
                    }
                }
                other => return Err(invalid(self.doc, &f, format!("unknown rule field `{other}`"))),
            }
        }
        // Every entry of a from/to list dropped: the rule can never match as written.
        if (had_from && rule.from.is_empty()) || (had_to && rule.to.is_empty()) {
            self.warn(field, "no entry of `from` or `to` is left; the rule is dropped");
            return Ok(None);
        }
        Ok(Some(rule))
    }
}

/// Converts Istio AuthorizationPolicy YAML (multi-document) into a policy document.
pub fn import(text: &str) -> Result<Imported, PolicyError> {
    let mut policies = Vec::new();
    let mut warnings = Vec::new();
    for (doc, de) in serde_yaml_ng::Deserializer::from_str(text).enumerate() {
        let value = Value::deserialize(de).map_err(|e| PolicyError::Syntax {
            line: e.location().map(|l| l.line()),
            message: e.to_string(),
        })?;
        if value.is_null() {
            continue;
        }
        let kind = value.get("kind").and_then(Value::as_str).unwrap_or_default();
        if kind != "AuthorizationPolicy" {
            return Err(invalid(
                doc,
                "kind",
                format!("expected AuthorizationPolicy, found `{kind}`"),
            ));
        }
        let meta = value.get("metadata");
        let name = meta
            .and_then(|m| m.get("name"))
            .and_then(Value::as_str)
            .ok_or_else(|| invalid(doc, "metadata.name", "missing"))?;
        let ns = meta.and_then(|m| m.get("namespace")).and_then(Value::as_str);
        let full = match ns {
            Some(ns) => format!("{ns}.{name}"),
            None => name.to_string(),
        };
        let empty = Value::Mapping(Default::default());
        let spec = value.get("spec").unwrap_or(&empty);
        let action = match spec.get("action").and_then(Value::as_str).unwrap_or("ALLOW") {
            "ALLOW" => Action::Allow,
            "DENY" => Action::Deny,
            "AUDIT" => Action::Audit,
            "CUSTOM" => {
                warnings.push(Warning {
                    policy: full.clone(),
                    field: "spec.action".into(),
                    message: "CUSTOM (external authorization) is not supported; the policy is skipped".into(),
                });
                continue;
            }
            other => return Err(invalid(doc, "spec.action", format!("unknown action `{other}`"))),
        };
        let mut conv = Conv {
            doc,
            policy: full.clone(),
            action,
            warnings: &mut warnings,
        };
        let scope = scope(doc, ns, spec)?;
        if let Some(m) = spec.as_mapping() {
            for k in m.keys().filter_map(Value::as_str) {
                if !matches!(
                    k,
                    "selector" | "targetRef" | "targetRefs" | "action" | "rules" | "provider"
                ) {
                    return Err(invalid(doc, &format!("spec.{k}"), "unknown field"));
                }
            }
        }
        let mut rules = Vec::new();
        if let Some(rs) = spec.get("rules") {
            let seq = rs
                .as_sequence()
                .ok_or_else(|| invalid(doc, "spec.rules", "expected a list"))?;
            for (i, r) in seq.iter().enumerate() {
                if let Some(rule) = conv.rule(r, &format!("spec.rules[{i}]"))? {
                    rules.push(rule);
                }
            }
        }
        policies.push((
            scope,
            Policy {
                name: full,
                action,
                mode: None,
                rules,
            },
        ));
    }
    let carriers = carriers(&policies, &mut warnings);
    let document = PolicyDocument {
        policies: policies.into_iter().map(|(_, p)| p).collect(),
        ..PolicyDocument::default()
    };
    // The result must itself be a valid document.
    crate::engine::Engine::compile(&document)?;
    Ok(Imported {
        document,
        carriers,
        warnings,
    })
}

/// The workloads a policy applies to: its namespace and `selector` / `targetRefs` / `targetRef`.
fn scope(doc: usize, ns: Option<&str>, spec: &Value) -> Result<Scope, PolicyError> {
    let json = |key: &str| -> Result<Option<serde_json::Value>, PolicyError> {
        spec.get(key)
            .map(|v| serde_json::to_value(v).map_err(|e| invalid(doc, &format!("spec.{key}"), e.to_string())))
            .transpose()
    };
    let selector = json("selector")?;
    if selector.as_ref().is_some_and(|s| !s.is_object()) {
        return Err(invalid(doc, "spec.selector", "expected a mapping"));
    }
    let target_refs = match (json("targetRefs")?, json("targetRef")?) {
        (Some(_), Some(_)) => return Err(invalid(doc, "spec.targetRef", "only one of targetRef and targetRefs")),
        (Some(refs), None) if refs.is_array() => Some(refs),
        (Some(_), None) => return Err(invalid(doc, "spec.targetRefs", "expected a list")),
        (None, Some(one)) if one.is_object() => Some(serde_json::Value::Array(vec![one])),
        (None, Some(_)) => return Err(invalid(doc, "spec.targetRef", "expected a mapping")),
        (None, None) => None,
    };
    if selector.is_some() && target_refs.is_some() {
        return Err(invalid(doc, "spec.selector", "only one of selector and targetRefs"));
    }
    Ok(Scope {
        namespace: ns.map(str::to_string),
        selector,
        target_refs,
    })
}

/// Groups the policies by the workloads they apply to, one carrier per group, in input order.
fn carriers(policies: &[(Scope, Policy)], warnings: &mut Vec<Warning>) -> Vec<Carrier> {
    let mut out: Vec<Carrier> = Vec::new();
    for (scope, policy) in policies {
        match out.iter_mut().find(|c| c.scope == *scope) {
            Some(c) => c.document.policies.push(policy.clone()),
            None => out.push(Carrier {
                scope: scope.clone(),
                name: match scope.selects() {
                    // Policy names are unique in a namespace and a policy is in one scope only.
                    true => format!("{CARRIER_NAME}-{}", short_name(&policy.name)),
                    false => CARRIER_NAME.to_string(),
                },
                document: PolicyDocument {
                    policies: vec![policy.clone()],
                    ..PolicyDocument::default()
                },
            }),
        }
    }
    let with_allow: Vec<&Carrier> = out
        .iter()
        .filter(|c| c.document.policies.iter().any(|p| p.action == Action::Allow))
        .collect();
    if with_allow.len() > 1 {
        let names: Vec<String> = with_allow.iter().map(|c| c.qualified_name()).collect();
        warnings.push(Warning {
            policy: names.join(", "),
            field: "spec.selector".into(),
            message: "ALLOW policies are carried by several WasmPlugins; a workload that several of them \
                      select runs each as its own filter, so a request must be allowed by each one's ALLOW \
                      policies (Istio allows it when any ALLOW policy matches): stricter, never wider"
                .into(),
        });
    }
    out
}

/// The policy's own name, without the `<namespace>.` the import prefixes.
fn short_name(full: &str) -> &str {
    full.split_once('.').map_or(full, |(_, n)| n)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: allow-frontend, namespace: shop }
spec:
  selector: { matchLabels: { app: orders } }
  action: ALLOW
  rules:
    - from: [{ source: { principals: ["cluster.local/ns/web/sa/frontend"] } }]
      to: [{ operation: { methods: [GET], paths: ["/orders/*"], ports: ["8080"] } }]
    - from: [{ source: { requestPrincipals: ["issuer/*"] } }]
    - when: [{ key: "experimental.envoy.filters.network.mysql_proxy[db.table]", values: [x] }]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: deny-admin, namespace: shop }
spec:
  action: DENY
  rules:
    - from: [{ source: { notRequestPrincipals: ["*"], namespaces: [web] } }]
      to: [{ operation: { paths: ["/admin/{**}"] } }]
      when: [{ key: request.auth.audiences, values: [a] }, { key: "experimental.envoy.filters.x[y]", values: [a] }, { key: "request.headers[x-env]", values: [prod] }]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: ext, namespace: shop }
spec: { action: CUSTOM, provider: { name: opa } }
"#;

    #[test]
    fn converts_and_warns() {
        let out = import(SAMPLE).unwrap();
        let d = &out.document;
        assert_eq!(d.policies.len(), 2);
        let allow = &d.policies[0];
        assert_eq!(allow.name, "shop.allow-frontend");
        assert_eq!(
            allow.rules.len(),
            2,
            "the ALLOW rule with an unsupported condition is dropped"
        );
        assert_eq!(allow.rules[0].to[0].ports, Some(vec![PortValue::Text("8080".into())]));
        assert_eq!(
            allow.rules[1].from[0].request_principals,
            Some(vec!["issuer/*".to_string()])
        );
        let deny = &d.policies[1];
        assert_eq!(deny.action, Action::Deny);
        assert_eq!(deny.rules[0].from[0].namespaces, Some(vec!["web".to_string()]));
        assert_eq!(
            deny.rules[0].from[0].not_request_principals,
            Some(vec!["*".to_string()])
        );
        assert_eq!(
            deny.rules[0].when.len(),
            2,
            "unsupported DENY condition dropped, audiences and header kept"
        );
        let fields: Vec<&str> = out.warnings.iter().map(|w| w.field.as_str()).collect();
        assert_eq!(
            fields,
            ["spec.rules[2].when[0].key", "spec.rules[0].when[1].key", "spec.action"]
        );
        assert!(
            out.warnings[0].message.contains("never allows more"),
            "{}",
            out.warnings[0]
        );
        assert!(
            out.warnings[1].message.contains("matches more requests"),
            "{}",
            out.warnings[1]
        );
        let scopes: Vec<(&str, bool)> = out
            .carriers
            .iter()
            .map(|c| (c.name.as_str(), c.scope.selects()))
            .collect();
        assert_eq!(
            scopes,
            [("meshward-authz-allow-frontend", true), ("meshward-authz", false)]
        );
    }

    #[test]
    fn target_ref_becomes_target_refs_and_conflicts_are_errors() {
        let one = "kind: AuthorizationPolicy\nmetadata: {name: a, namespace: n}\n\
                   spec: {targetRef: {kind: Gateway, group: gateway.networking.k8s.io, name: w}}";
        let out = import(one).unwrap();
        assert_eq!(
            out.carriers[0].scope.target_refs,
            Some(serde_json::json!([{"kind": "Gateway", "group": "gateway.networking.k8s.io", "name": "w"}]))
        );
        let both = "kind: AuthorizationPolicy\nmetadata: {name: a}\n\
                    spec: {selector: {matchLabels: {app: x}}, targetRefs: [{kind: Service, group: '', name: s}]}";
        assert!(import(both).is_err());
    }

    #[test]
    fn invalid_input_is_an_error() {
        assert!(import("kind: Service\nmetadata: {name: x}").is_err());
        assert!(import("kind: AuthorizationPolicy\nmetadata: {name: x}\nspec: {action: NOPE}").is_err());
        assert!(import("kind: AuthorizationPolicy\nmetadata: {name: x}\nspec: {rules: [{to: [{operation: {paths: ['/a/{**}/b']}}]}]}").is_err());
        assert!(import("kind: [").is_err());
    }

    #[test]
    fn empty_spec_is_allow_nothing() {
        let out = import("kind: AuthorizationPolicy\nmetadata: {name: deny-all}\nspec: {}").unwrap();
        assert_eq!(out.document.policies[0].action, Action::Allow);
        assert!(out.document.policies[0].rules.is_empty());
    }
}
