//! The configuration reference (`docs/config.md`), generated from the filters' configuration
//! types through their JSON Schema (`schemars`, the filters' `schema` feature): every key with
//! its type, default and meaning (the field's doc comment), so the reference cannot drift from
//! the code. `cargo xtask docs` rewrites it; a test fails when the committed file differs.

use std::fmt::Write as _;
use std::path::PathBuf;

use serde_json::{Map, Value};

/// Where the reference is committed.
pub fn reference_path() -> PathBuf {
    meshward_testkit::locate::workspace_root().join("docs/config.md")
}

/// The whole reference, as Markdown.
pub fn render() -> String {
    let mut out = String::from(
        "# Configuration reference\n\n\
         Generated from the configuration types by `cargo xtask docs` (do not edit: a test fails when\n\
         this file differs from what the code says). Keys are written as paths: `a.b` is key `b` inside\n\
         object `a`, `a[]` an element of list `a`, `a.*` any key of map `a`. A key marked *required* must\n\
         be given wherever its parent is; a key with neither a default nor *required* is optional and\n\
         off when absent. Evidence events, redaction, levels and metrics:\n\
         [evidence.md](evidence.md).\n",
    );
    section(
        &mut out,
        "WAF filter (`meshward_waf.wasm`)",
        "The plugin configuration is JSON; `{}` or nothing means every default (CRS at paranoia level 1, \
         detect mode). Unknown keys are rejected.",
        schemars::schema_for!(meshward_waf::config::WafConfig),
    );
    section(
        &mut out,
        "Policy filter (`meshward_netpolicy.wasm`)",
        "The plugin configuration is a policy document, YAML or JSON (format and semantics: \
         [rules/policy/README.md](../rules/policy/README.md)). Unknown keys are rejected.",
        schemars::schema_for!(meshward_policy::PolicyDocument),
    );
    out
}

fn section(out: &mut String, title: &str, intro: &str, schema: schemars::Schema) {
    let root = schema.to_value();
    let defs = root
        .get("$defs")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let _ = write!(
        out,
        "\n## {title}\n\n{intro}\n\n| key | type | default | meaning |\n|---|---|---|---|\n"
    );
    let walker = Walker { defs: &defs };
    walker.object(out, "", &root, 0);
}

/// Walks a schema, writing one row per key.
struct Walker<'a> {
    defs: &'a Map<String, Value>,
}

impl Walker<'_> {
    /// Follows a `$ref` (and a nullable `anyOf [ref, null]`) to the schema it names.
    fn resolve<'s>(&'s self, schema: &'s Value) -> &'s Value {
        if let Some(name) = schema.get("$ref").and_then(Value::as_str) {
            let name = name.trim_start_matches("#/$defs/");
            if let Some(def) = self.defs.get(name) {
                return self.resolve(def);
            }
        }
        if let Some(one) = non_null_alternative(schema) {
            return self.resolve(one);
        }
        schema
    }

    fn object(&self, out: &mut String, prefix: &str, schema: &Value, depth: usize) {
        let schema = self.resolve(schema);
        let Some(props) = schema.get("properties").and_then(Value::as_object) else {
            return;
        };
        let required: Vec<&str> = schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        for (name, prop) in props {
            let key = if prefix.is_empty() {
                name.clone()
            } else {
                format!("{prefix}.{name}")
            };
            let default = match default_of(prop) {
                Some(d) => format!("`{}`", cell(&d)),
                None if required.contains(&name.as_str()) => "*required*".into(),
                None => String::new(),
            };
            let _ = writeln!(
                out,
                "| `{key}` | {} | {default} | {} |",
                self.type_name(prop),
                cell(&description(prop, self.resolve(prop)))
            );
            if depth < 8 {
                self.children(out, &key, prop, depth + 1);
            }
        }
    }

    /// Rows of the keys inside a property: its object, its list's objects or its map's values.
    fn children(&self, out: &mut String, key: &str, prop: &Value, depth: usize) {
        let target = self.resolve(prop);
        if target.get("properties").is_some() {
            self.object(out, key, target, depth);
        } else if let Some(items) = target.get("items") {
            if self.resolve(items).get("properties").is_some() {
                self.object(out, &format!("{key}[]"), items, depth);
            }
        } else if let Some(values) = target.get("additionalProperties").filter(|v| v.is_object()) {
            if self.resolve(values).get("properties").is_some() {
                self.object(out, &format!("{key}.*"), values, depth);
            }
        }
    }

    /// A short type: `string`, `integer`, `"a" \| "b"`, `list of string`, `map of string to X`...
    fn type_name(&self, schema: &Value) -> String {
        let nullable = non_null_alternative(schema).is_some() || types(schema).contains(&"null");
        let target = self.resolve(schema);
        let mut name = if let Some(words) = enum_words(target) {
            words.join(" \\| ")
        } else if let Some(any) = target.get("anyOf").and_then(Value::as_array) {
            any.iter().map(|s| self.type_name(s)).collect::<Vec<_>>().join(" or ")
        } else {
            let ty: Vec<&str> = types(target).into_iter().filter(|t| *t != "null").collect();
            match ty.first().copied() {
                Some("array") => format!(
                    "list of {}",
                    target.get("items").map_or("any".into(), |i| self.type_name(i))
                ),
                Some("object") if target.get("properties").is_none() => format!(
                    "map of string to {}",
                    target
                        .get("additionalProperties")
                        .map_or("any".into(), |v| self.type_name(v))
                ),
                Some("object") => "object".into(),
                Some(t) => t.to_string(),
                None => "any".into(),
            }
        };
        if nullable {
            name.push_str(" (optional)");
        }
        name
    }
}

/// The schema of a nullable `anyOf: [schema, {type: null}]`.
fn non_null_alternative(schema: &Value) -> Option<&Value> {
    let any = schema.get("anyOf")?.as_array()?;
    let (nulls, others): (Vec<&Value>, Vec<&Value>) = any.iter().partition(|s| types(s) == ["null"]);
    (nulls.len() == 1 && others.len() == 1).then(|| others[0])
}

fn types(schema: &Value) -> Vec<&str> {
    match schema.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// The allowed words of an enum: `enum` values or `oneOf` consts.
fn enum_words(schema: &Value) -> Option<Vec<String>> {
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        return Some(
            values
                .iter()
                .filter(|v| !v.is_null())
                .map(|v| format!("`{v}`"))
                .collect(),
        );
    }
    let one = schema.get("oneOf")?.as_array()?;
    one.iter()
        .map(|s| {
            s.get("const")
                .or_else(|| s.get("enum").and_then(|e| e.get(0)))
                .map(|v| format!("`{v}`"))
        })
        .collect()
}

fn default_of(schema: &Value) -> Option<String> {
    schema.get("default").map(Value::to_string)
}

/// The property's own description, else its type's; enum variants' descriptions are appended
/// (unless they only repeat the word).
fn description(prop: &Value, target: &Value) -> String {
    let own = prop
        .get("description")
        .or_else(|| target.get("description"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let variants: Vec<String> = target
        .get("oneOf")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|s| {
            let word = s.get("const").or_else(|| s.get("enum").and_then(|e| e.get(0)))?;
            let word = word.as_str().unwrap_or_default();
            let text = s.get("description")?.as_str()?.trim_end_matches('.');
            (!text.starts_with(word)).then(|| format!("`{word}`: {text}"))
        })
        .collect();
    if variants.is_empty() {
        own
    } else {
        format!("{own} {}.", variants.join("; "))
    }
}

/// Text safe in a table cell: one line, `|` escaped.
fn cell(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('|', "\\|")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn committed_reference_is_current() {
        let path = reference_path();
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == render(),
            "{} is out of date with the configuration types: run `cargo xtask docs` and commit it",
            path.display()
        );
    }

    #[test]
    fn every_key_has_its_type_default_and_meaning() {
        let text = render();
        for row in [
            "| `evidence.log_level` | `\"trace\"` \\| `\"debug\"` \\| `\"info\"` \\| `\"warn\"` \\| `\"error\"` | `\"warn\"` |",
            "| `paranoia_level` | integer | `1` | tx.blocking_paranoia_level (1..4). |",
            "| `evidence.collector.cluster` | string | *required* | Envoy cluster name. |",
            "| `policies[].name` | string | *required* |",
            "| `direction` | `\"ingress\"` \\| `\"egress\"` (optional) |  |",
            "| `policies[].rules[].to[].paths` | list of string (optional) |",
            "| `observe.max_keys` | integer | `1000` |",
        ] {
            assert!(text.contains(row), "missing {row}\n{text}");
        }
    }
}
