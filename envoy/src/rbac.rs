//! Translates a meshward policy document (the subset used in the comparison tests) into Envoy's
//! native RBAC HTTP filters, the way Istio translates an `AuthorizationPolicy`: one RBAC filter
//! with the DENY policies, then one with the ALLOW policies; detect-mode policies become shadow
//! rules.
//!
//! Supported: `from` principals / namespaces / serviceAccounts / trustDomains / ipBlocks /
//! remoteIpBlocks (and their `not` forms), `to` hosts / ports / methods / paths / pathRegex /
//! headers (and `not` forms). Anything else (AUDIT, `when`, `sni`, `direction`, `internet`) is
//! refused with [`RbacError::Unsupported`] rather than translated loosely.

use crate::mesh::rbac_http_filter;
use meshward_vocab::{Mode, WrittenMode};
use serde_json::{json, Map, Value};

/// Why a policy document could not be translated.
#[derive(Debug, thiserror::Error)]
pub enum RbacError {
    /// The document uses something RBAC cannot express (or this translator does not cover).
    #[error("policy {policy:?}: {field} cannot be translated to Envoy RBAC: {why}")]
    Unsupported {
        /// The policy's name.
        policy: String,
        /// The field, as a path in the document.
        field: String,
        /// What RBAC cannot express.
        why: String,
    },
    /// The document is not shaped like a meshward policy document.
    #[error("policy {policy:?}: {field}: {why}")]
    Malformed {
        /// The policy's name.
        policy: String,
        /// The field, as a path in the document.
        field: String,
        /// What is wrong with it.
        why: String,
    },
}

/// The RBAC HTTP filter entries (in chain order) equivalent to `document`.
pub fn translate(document: &Value) -> Result<Vec<Value>, RbacError> {
    let doc_mode = Ctx { policy: "" }.mode(document, Mode::Detect)?;
    let default_deny = document.get("default").and_then(Value::as_str) == Some("deny");
    let mut deny = (Map::new(), Map::new());
    let mut allow = (Map::new(), Map::new());
    let mut any_allow = false;
    let empty = Vec::new();
    let policies = document.get("policies").and_then(Value::as_array).unwrap_or(&empty);
    for policy in policies {
        let name = policy.get("name").and_then(Value::as_str).unwrap_or("").to_string();
        let ctx = Ctx { policy: &name };
        let action = policy
            .get("action")
            .and_then(Value::as_str)
            .ok_or_else(|| ctx.malformed("action", "missing"))?;
        let mode = ctx.mode(policy, doc_mode)?;
        let target = match action {
            "DENY" => &mut deny,
            "ALLOW" => {
                any_allow = true;
                &mut allow
            }
            other => return Err(ctx.unsupported("action", &format!("{other} has no RBAC equivalent here"))),
        };
        // Enforced policies go to `rules`, detect-mode ones to `shadow_rules` (evaluated, never applied).
        let rules = if mode == Mode::Enforce {
            &mut target.0
        } else {
            &mut target.1
        };
        for (i, rule) in policy
            .get("rules")
            .and_then(Value::as_array)
            .unwrap_or(&empty)
            .iter()
            .enumerate()
        {
            rules.insert(format!("{name}-{i}"), ctx.rule(rule)?);
        }
    }
    let mut filters = Vec::new();
    if !deny.0.is_empty() || !deny.1.is_empty() {
        filters.push(filter("DENY", deny));
    }
    // Default deny with no ALLOW policy: an ALLOW filter with no policies denies everything.
    if any_allow || (default_deny && doc_mode == Mode::Enforce) {
        filters.push(filter("ALLOW", allow));
    }
    Ok(filters)
}

fn filter(action: &str, (rules, shadow): (Map<String, Value>, Map<String, Value>)) -> Value {
    let mut entry = rbac_http_filter(json!({ "action": action, "policies": rules }));
    if !shadow.is_empty() {
        entry["typed_config"]["shadow_rules"] = json!({ "action": action, "policies": shadow });
        entry["typed_config"]["shadow_rules_stat_prefix"] = json!(format!("{}_", action.to_lowercase()));
    }
    entry
}

struct Ctx<'a> {
    policy: &'a str,
}

impl Ctx<'_> {
    fn unsupported(&self, field: &str, why: &str) -> RbacError {
        RbacError::Unsupported {
            policy: self.policy.into(),
            field: field.into(),
            why: why.into(),
        }
    }

    fn malformed(&self, field: &str, why: &str) -> RbacError {
        RbacError::Malformed {
            policy: self.policy.into(),
            field: field.into(),
            why: why.into(),
        }
    }

    /// The `mode` of a document or policy (as the policy engine reads it), else `default`.
    fn mode(&self, holder: &Value, default: Mode) -> Result<Mode, RbacError> {
        match holder.get("mode").map(|m| m.as_str().ok_or("not a string")) {
            None => Ok(default),
            Some(Err(why)) => Err(self.malformed("mode", why)),
            Some(Ok(word)) => WrittenMode::parse(word)
                .map(WrittenMode::mode)
                .map_err(|e| self.malformed("mode", &e.to_string())),
        }
    }

    fn rule(&self, rule: &Value) -> Result<Value, RbacError> {
        if rule.get("when").is_some() {
            return Err(self.unsupported("when", "conditions are not translated"));
        }
        let principals = match rule.get("from").and_then(Value::as_array) {
            Some(sources) => sources.iter().map(|s| self.source(s)).collect::<Result<Vec<_>, _>>()?,
            None => vec![json!({ "any": true })],
        };
        let permissions = match rule.get("to").and_then(Value::as_array) {
            Some(ops) => ops.iter().map(|o| self.operation(o)).collect::<Result<Vec<_>, _>>()?,
            None => vec![json!({ "any": true })],
        };
        Ok(json!({ "permissions": permissions, "principals": principals }))
    }

    /// One `from` entry: every field must hold (`and_ids`).
    fn source(&self, source: &Value) -> Result<Value, RbacError> {
        let mut all = Vec::new();
        for (field, values) in self.fields(source, "from")? {
            let (base, negated) = split_not(field);
            if ![
                "principals",
                "namespaces",
                "serviceAccounts",
                "trustDomains",
                "ipBlocks",
                "remoteIpBlocks",
            ]
            .contains(&base.as_str())
            {
                return Err(self.unsupported(field, "not a translated source field"));
            }
            let ids = values
                .iter()
                .map(|v| {
                    let v = v
                        .as_str()
                        .ok_or_else(|| self.malformed(field, "values must be strings"))?;
                    Ok(match base.as_str() {
                        "principals" => authenticated(principal_matcher(v)),
                        "namespaces" => authenticated(regex_matcher(&format!(
                            "spiffe://[^/]+/ns/{}/sa/[^/]+",
                            glob_regex(v, "[^/]*")
                        ))),
                        "serviceAccounts" => {
                            let (ns, sa) = v
                                .split_once('/')
                                .ok_or_else(|| self.malformed(field, "expected namespace/account"))?;
                            authenticated(regex_matcher(&format!(
                                "spiffe://[^/]+/ns/{}/sa/{}",
                                glob_regex(ns, "[^/]*"),
                                glob_regex(sa, "[^/]*")
                            )))
                        }
                        "trustDomains" => {
                            authenticated(regex_matcher(&format!("spiffe://{}/.+", glob_regex(v, "[^/]*"))))
                        }
                        "ipBlocks" => json!({ "direct_remote_ip": cidr(v) }),
                        "remoteIpBlocks" => json!({ "remote_ip": cidr(v) }),
                        _ => return Err(self.unsupported(field, "not a translated source field")),
                    })
                })
                .collect::<Result<Vec<_>, RbacError>>()?;
            let any = json!({ "or_ids": { "ids": ids } });
            all.push(if negated { json!({ "not_id": any }) } else { any });
        }
        Ok(if all.is_empty() {
            json!({ "any": true })
        } else {
            json!({ "and_ids": { "ids": all } })
        })
    }

    /// One `to` entry: every field must hold (`and_rules`).
    fn operation(&self, op: &Value) -> Result<Value, RbacError> {
        let mut all = Vec::new();
        for (field, values) in self.fields(op, "to")? {
            let (base, negated) = split_not(field);
            if !["hosts", "methods", "paths", "pathRegex", "ports", "headers"].contains(&base.as_str()) {
                return Err(self.unsupported(field, "not a translated operation field"));
            }
            let rules = if base == "headers" {
                let map = values
                    .first()
                    .and_then(Value::as_object)
                    .ok_or_else(|| self.malformed(field, "expected a map"))?;
                map.iter()
                    .map(|(name, m)| self.header(field, name, m))
                    .collect::<Result<Vec<_>, _>>()?
            } else {
                values
                    .iter()
                    .map(|v| {
                        let text = match v {
                            Value::String(s) => s.clone(),
                            Value::Number(n) => n.to_string(),
                            _ => return Err(self.malformed(field, "values must be strings or numbers")),
                        };
                        Ok(match base.as_str() {
                            "hosts" => json!({ "header": { "name": ":authority", "string_match": host_matcher(&text) } }),
                            "methods" => json!({ "header": { "name": ":method", "string_match": { "exact": text.to_uppercase() } } }),
                            "paths" => json!({ "url_path": { "path": path_matcher(&text) } }),
                            "pathRegex" => json!({ "url_path": { "path": regex_matcher(&search_regex(&text)) } }),
                            "ports" => {
                                let port: u32 = text.parse().map_err(|_| self.malformed(field, "not a port"))?;
                                json!({ "destination_port": port })
                            }
                            _ => return Err(self.unsupported(field, "not a translated operation field")),
                        })
                    })
                    .collect::<Result<Vec<_>, RbacError>>()?
            };
            // Headers are AND'ed (each named header must match); list values are OR'ed.
            let combined = if base == "headers" {
                json!({ "and_rules": { "rules": rules } })
            } else {
                json!({ "or_rules": { "rules": rules } })
            };
            all.push(if negated {
                json!({ "not_rule": combined })
            } else {
                combined
            });
        }
        Ok(if all.is_empty() {
            json!({ "any": true })
        } else {
            json!({ "and_rules": { "rules": all } })
        })
    }

    fn header(&self, field: &str, name: &str, matcher: &Value) -> Result<Value, RbacError> {
        let m = matcher
            .as_object()
            .ok_or_else(|| self.malformed(field, "header matcher must be a map"))?;
        let (kind, value) = m
            .iter()
            .next()
            .ok_or_else(|| self.malformed(field, "empty header matcher"))?;
        let text = || {
            value
                .as_str()
                .map(str::to_string)
                .ok_or_else(|| self.malformed(field, "matcher value must be a string"))
        };
        let header = match kind.as_str() {
            "exact" | "prefix" | "suffix" | "contains" => {
                json!({ "name": name, "string_match": { kind.as_str(): text()? } })
            }
            "regex" => json!({ "name": name, "string_match": regex_matcher(&search_regex(&text()?)) }),
            "present" => {
                let present = value
                    .as_bool()
                    .ok_or_else(|| self.malformed(field, "present takes a boolean"))?;
                json!({ "name": name, "present_match": true, "invert_match": !present })
            }
            other => return Err(self.unsupported(field, &format!("header matcher {other}"))),
        };
        Ok(json!({ "header": header }))
    }

    fn fields<'v>(&self, entry: &'v Value, section: &str) -> Result<Vec<(&'v str, Vec<Value>)>, RbacError> {
        let map = entry
            .as_object()
            .ok_or_else(|| self.malformed(section, "entries must be maps"))?;
        Ok(map
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_array().cloned().unwrap_or_else(|| vec![v.clone()])))
            .collect())
    }
}

/// `notPaths` → (`paths`, true); `paths` → (`paths`, false).
fn split_not(field: &str) -> (String, bool) {
    match field.strip_prefix("not") {
        Some(rest) if rest.starts_with(|c: char| c.is_ascii_uppercase()) => {
            let mut base = rest.to_string();
            base[..1].make_ascii_lowercase();
            (base, true)
        }
        _ => (field.to_string(), false),
    }
}

fn authenticated(principal_name: Value) -> Value {
    json!({ "authenticated": { "principal_name": principal_name } })
}

/// A principal as Istio writes it: with or without `spiffe://`; `*`, `prefix*`, `*suffix`.
fn principal_matcher(value: &str) -> Value {
    if value == "*" {
        return regex_matcher(".+");
    }
    let full = if value.starts_with("spiffe://") || value.starts_with('*') {
        value.to_string()
    } else {
        format!("spiffe://{value}")
    };
    if let Some(prefix) = full.strip_suffix('*') {
        json!({ "prefix": prefix })
    } else if let Some(suffix) = full.strip_prefix('*') {
        json!({ "suffix": suffix })
    } else {
        json!({ "exact": full })
    }
}

/// A path value: exact, `prefix*`, `*suffix`, `*`, or a `{*}` / `{**}` template.
fn path_matcher(value: &str) -> Value {
    if value == "*" {
        regex_matcher(".*")
    } else if value.contains("{*}") || value.contains("{**}") {
        let mut regex = String::new();
        let mut rest = value;
        while let Some(at) = rest.find('{') {
            regex.push_str(&regex_escape(&rest[..at]));
            if let Some(after) = rest[at..].strip_prefix("{**}") {
                regex.push_str(".*");
                rest = after;
            } else if let Some(after) = rest[at..].strip_prefix("{*}") {
                regex.push_str("[^/]+");
                rest = after;
            } else {
                regex.push('{');
                rest = &rest[at + 1..];
            }
        }
        regex.push_str(&regex_escape(rest));
        regex_matcher(&regex)
    } else if let Some(prefix) = value.strip_suffix('*') {
        json!({ "prefix": prefix })
    } else if let Some(suffix) = value.strip_prefix('*') {
        json!({ "suffix": suffix })
    } else {
        json!({ "exact": value })
    }
}

/// A host value, case-insensitive; without a port it matches any port (as Istio's translation).
fn host_matcher(value: &str) -> Value {
    let has_port = value
        .rsplit_once(':')
        .is_some_and(|(_, p)| p.chars().all(|c| c.is_ascii_digit()) && !p.is_empty());
    let host = glob_regex(value, ".*");
    regex_matcher(&if has_port {
        format!("(?i){host}")
    } else {
        format!("(?i){host}(:[0-9]+)?")
    })
}

/// `*` at the start or end of `value` becomes `wildcard`; the rest is literal.
fn glob_regex(value: &str, wildcard: &str) -> String {
    if value == "*" {
        return wildcard.to_string();
    }
    let (lead, middle) = value.strip_prefix('*').map_or(("", value), |m| (wildcard, m));
    let (middle, trail) = middle.strip_suffix('*').map_or((middle, ""), |m| (m, wildcard));
    format!("{lead}{}{trail}", regex_escape(middle))
}

/// meshward regexes are searches unless anchored; RBAC regexes are full matches.
fn search_regex(pattern: &str) -> String {
    let start = if pattern.starts_with('^') { "" } else { ".*" };
    let end = if pattern.ends_with('$') && !pattern.ends_with("\\$") {
        ""
    } else {
        ".*"
    };
    format!("{start}(?:{pattern}){end}")
}

fn regex_matcher(regex: &str) -> Value {
    json!({ "safe_regex": { "regex": regex } })
}

fn regex_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn cidr(value: &str) -> Value {
    let (addr, len) = match value.split_once('/') {
        Some((a, l)) => (a.to_string(), l.parse::<u32>().unwrap_or(0)),
        None => (value.to_string(), if value.contains(':') { 128 } else { 32 }),
    };
    json!({ "address_prefix": addr, "prefix_len": len })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deny_then_allow_filters_with_detect_as_shadow_rules() {
        let doc = json!({
            "mode": "enforce",
            "policies": [
                { "name": "no-admin", "action": "DENY", "rules": [{ "to": [{ "paths": ["/admin/{**}"] }] }] },
                { "name": "beta", "action": "DENY", "mode": "detect", "rules": [{ "to": [{ "paths": ["/beta*"] }] }] },
                { "name": "web", "action": "ALLOW", "rules": [{ "from": [{ "principals": ["cluster.local/ns/web/sa/*"] }] }] }
            ]
        });
        let filters = translate(&doc).expect("translates");
        assert_eq!(filters.len(), 2);
        let deny = &filters[0]["typed_config"];
        assert_eq!(deny["rules"]["action"], "DENY");
        assert_eq!(
            deny["rules"]["policies"]["no-admin-0"]["permissions"][0]["and_rules"]["rules"][0]["or_rules"]["rules"][0]
                ["url_path"]["path"]["safe_regex"]["regex"],
            "/admin/.*"
        );
        assert!(deny["shadow_rules"]["policies"].get("beta-0").is_some());
        assert!(deny["rules"]["policies"].get("beta-0").is_none());
        let unknown_mode = json!({ "mode": "maybe", "policies": [] });
        assert!(matches!(translate(&unknown_mode), Err(RbacError::Malformed { .. })));
        let allow = &filters[1]["typed_config"]["rules"];
        assert_eq!(allow["action"], "ALLOW");
        let principal = &allow["policies"]["web-0"]["principals"][0]["and_ids"]["ids"][0]["or_ids"]["ids"][0];
        assert_eq!(
            principal["authenticated"]["principal_name"]["prefix"],
            "spiffe://cluster.local/ns/web/sa/"
        );
    }

    #[test]
    fn not_forms_negate_and_unsupported_fields_are_refused() {
        let doc = json!({ "mode": "enforce", "policies": [
            { "name": "x", "action": "DENY", "rules": [{ "to": [{ "notMethods": ["GET"] }] }] }
        ]});
        let filters = translate(&doc).expect("translates");
        let rule = &filters[0]["typed_config"]["rules"]["policies"]["x-0"]["permissions"][0]["and_rules"]["rules"][0];
        assert_eq!(
            rule["not_rule"]["or_rules"]["rules"][0]["header"]["string_match"]["exact"],
            "GET"
        );
        let audit = json!({ "policies": [{ "name": "a", "action": "AUDIT", "rules": [{}] }] });
        assert!(matches!(translate(&audit), Err(RbacError::Unsupported { .. })));
        let when = json!({ "policies": [{ "name": "w", "action": "DENY", "rules": [{ "when": [] }] }] });
        assert!(matches!(translate(&when), Err(RbacError::Unsupported { .. })));
        let internet =
            json!({ "policies": [{ "name": "i", "action": "DENY", "rules": [{ "to": [{ "internet": true }] }] }] });
        assert!(matches!(translate(&internet), Err(RbacError::Unsupported { .. })));
    }

    #[test]
    fn path_and_host_matchers() {
        assert_eq!(
            path_matcher("/users/{*}/profile"),
            json!({ "safe_regex": { "regex": "/users/[^/]+/profile" } })
        );
        assert_eq!(path_matcher("/static/*"), json!({ "prefix": "/static/" }));
        assert_eq!(path_matcher("*.png"), json!({ "suffix": ".png" }));
        assert_eq!(path_matcher("/a.b"), json!({ "exact": "/a.b" }));
        assert_eq!(
            host_matcher("*.example.org"),
            json!({ "safe_regex": { "regex": "(?i).*\\.example\\.org(:[0-9]+)?" } })
        );
        assert_eq!(
            host_matcher("a.test:8443"),
            json!({ "safe_regex": { "regex": "(?i)a\\.test:8443" } })
        );
        assert_eq!(search_regex("^/v[0-9]+/"), "(?:^/v[0-9]+/).*");
    }
}
