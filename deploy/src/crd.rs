//! A CRD's OpenAPI v3 schema as a strict JSON Schema: what the Kubernetes API server checks, and
//! unknown fields as errors.
//!
//! The API server prunes unknown fields silently; a manifest with a misspelt field then loses it
//! without a word. Here every object schema that lists `properties` and neither sets
//! `additionalProperties` nor `x-kubernetes-preserve-unknown-fields` gets
//! `additionalProperties: false`. OpenAPI's `nullable` becomes a `null` type, `format: int32` /
//! `int64` become bounds, `x-kubernetes-int-or-string` an `anyOf` of both. The root gets the
//! fields every object has (`apiVersion` and `kind` fixed to the CRD's, `metadata` with name,
//! namespace, labels and annotations). The CEL rules (`x-kubernetes-validations`) of the
//! WasmPlugin CRD are translated one by one into JSON Schema (see [`translate_rule`]); a rule
//! not known here is an error, so a newer CRD cannot be taken without looking at its rules.

use serde_json::{json, Value};

/// The WasmPlugin CRD, as copied from istio/istio (header comment says from where).
pub const WASM_PLUGIN_CRD: &str = include_str!("../istio/schema/wasmplugin-crd.yaml");

/// Why a CRD cannot be turned into a validator.
#[derive(Debug, thiserror::Error)]
pub enum CrdError {
    /// The CRD is not YAML.
    #[error("CRD is not YAML: {0}")]
    Yaml(#[from] serde_yaml_ng::Error),
    /// A field the conversion needs is missing.
    #[error("CRD has no {0}")]
    Missing(&'static str),
    /// A CEL rule with no JSON Schema translation here.
    #[error("CEL rule at {at} is not translated: {rule}")]
    UnknownRule {
        /// JSON pointer of the schema holding the rule.
        at: String,
        /// The rule text.
        rule: String,
    },
    /// The converted schema does not compile.
    #[error("converted schema does not compile: {0}")]
    Schema(String),
}

/// Validates manifests of one kind.
pub struct ManifestValidator {
    validator: jsonschema::Validator,
    schema: Value,
}

impl ManifestValidator {
    /// Builds the validator for the served version of a CRD given as YAML.
    pub fn from_crd(crd_yaml: &str) -> Result<ManifestValidator, CrdError> {
        let crd: Value = serde_yaml_ng::from_str(crd_yaml)?;
        let group = crd["spec"]["group"].as_str().ok_or(CrdError::Missing("spec.group"))?;
        let kind = crd["spec"]["names"]["kind"]
            .as_str()
            .ok_or(CrdError::Missing("spec.names.kind"))?;
        let version = crd["spec"]["versions"]
            .as_array()
            .and_then(|vs| vs.iter().find(|v| v["storage"] == true))
            .ok_or(CrdError::Missing("a storage version"))?;
        let name = version["name"].as_str().ok_or(CrdError::Missing("version name"))?;
        let mut schema = version["schema"]["openAPIV3Schema"].clone();
        if !schema.is_object() {
            return Err(CrdError::Missing("openAPIV3Schema"));
        }
        strict(&mut schema, "")?;
        let props = schema["properties"]
            .as_object_mut()
            .ok_or(CrdError::Missing("root properties"))?;
        props.insert("apiVersion".into(), json!({ "const": format!("{group}/{name}") }));
        props.insert("kind".into(), json!({ "const": kind }));
        props.insert("metadata".into(), metadata_schema());
        let required = schema["required"].as_array().cloned().unwrap_or_default();
        let mut required: Vec<Value> = required;
        required.extend([json!("apiVersion"), json!("kind"), json!("metadata")]);
        schema["required"] = Value::Array(required);
        let validator = jsonschema::validator_for(&schema).map_err(|e| CrdError::Schema(e.to_string()))?;
        Ok(ManifestValidator { validator, schema })
    }

    /// Every error of a manifest, as `<JSON pointer>: <message>`; empty when valid.
    pub fn errors(&self, manifest: &Value) -> Vec<String> {
        self.validator
            .iter_errors(manifest)
            .map(|e| format!("{}: {e}", e.instance_path()))
            .collect()
    }

    /// The strict JSON Schema the validator uses.
    pub fn schema(&self) -> &Value {
        &self.schema
    }
}

/// The validator for Istio's WasmPlugin.
pub fn wasm_plugin_validator() -> Result<ManifestValidator, CrdError> {
    ManifestValidator::from_crd(WASM_PLUGIN_CRD)
}

/// `metadata` as a manifest writes it (the API server fills in the rest).
fn metadata_schema() -> Value {
    let strings = json!({ "type": "object", "additionalProperties": { "type": "string" } });
    json!({
        "type": "object",
        "required": ["name"],
        "additionalProperties": false,
        "properties": {
            "name": { "type": "string", "pattern": "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$", "maxLength": 253 },
            "namespace": { "type": "string", "pattern": "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", "maxLength": 63 },
            "labels": strings,
            "annotations": strings,
        }
    })
}

/// Makes one schema node (and everything under it) strict, in place.
fn strict(node: &mut Value, at: &str) -> Result<(), CrdError> {
    let Some(obj) = node.as_object_mut() else {
        return Ok(());
    };
    let preserve = obj.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true));
    if obj.contains_key("properties") && !obj.contains_key("additionalProperties") && !preserve {
        obj.insert("additionalProperties".into(), Value::Bool(false));
    }
    if obj.remove("nullable") == Some(Value::Bool(true)) {
        if let Some(t) = obj.get("type").cloned() {
            obj.insert("type".into(), json!([t, "null"]));
        }
    }
    let bounds = match obj.get("format").and_then(Value::as_str) {
        Some("int32") => Some((i64::from(i32::MIN), i64::from(i32::MAX))),
        Some("int64") => Some((i64::MIN, i64::MAX)),
        _ => None,
    };
    if let Some((min, max)) = bounds {
        obj.entry("minimum").or_insert(json!(min));
        obj.entry("maximum").or_insert(json!(max));
    }
    if obj.get("x-kubernetes-int-or-string") == Some(&Value::Bool(true)) && !obj.contains_key("anyOf") {
        obj.insert("anyOf".into(), json!([{ "type": "integer" }, { "type": "string" }]));
    }
    if let Some(Value::Array(rules)) = obj.remove("x-kubernetes-validations") {
        let mut all = Vec::new();
        for r in &rules {
            let rule = r["rule"].as_str().unwrap_or_default();
            let message = r["message"].as_str().unwrap_or_default();
            all.push(translate_rule(message).ok_or_else(|| CrdError::UnknownRule {
                at: at.to_string(),
                rule: rule.to_string(),
            })?);
        }
        obj.insert("allOf".into(), Value::Array(all));
    }
    for (key, child) in obj.iter_mut() {
        let here = format!("{at}/{key}");
        match key.as_str() {
            "properties" => {
                if let Some(props) = child.as_object_mut() {
                    for (name, p) in props.iter_mut() {
                        strict(p, &format!("{here}/{name}"))?;
                    }
                }
            }
            "items" | "additionalProperties" => strict(child, &here)?,
            "anyOf" | "allOf" | "oneOf" => {
                if let Some(list) = child.as_array_mut() {
                    for (i, s) in list.iter_mut().enumerate() {
                        strict(s, &format!("{here}/{i}"))?;
                    }
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// The JSON Schema for one of the WasmPlugin CRD's CEL rules, known by its message.
///
/// - only one of `selector`, `targetRef`, `targetRefs`;
/// - `url` schemes `oci`, `http`, `https`, `file`, or none (`registry/image:tag`);
/// - no `*` in label keys or values, no empty label key;
/// - `targetRef(s).namespace` empty (no cross-namespace reference);
/// - a VM `env` entry with `valueFrom: HOST` has no `value`.
pub fn translate_rule(message: &str) -> Option<Value> {
    Some(match message {
        "only one of targetRefs or selector can be set" => json!({
            "not": { "anyOf": [
                { "required": ["selector", "targetRef"] },
                { "required": ["selector", "targetRefs"] },
                { "required": ["targetRef", "targetRefs"] }
            ]}
        }),
        "url must have schema one of [http, https, file, oci]" => json!({
            "type": "string",
            "pattern": "^((oci|https?|file)://[^\\s]+|[^:/\\s]+(:[0-9]+)?(/[^\\s]*)?)$"
        }),
        "wildcard not allowed in label value match" => json!({ "type": "string", "pattern": "^[^*]*$" }),
        "wildcard not allowed in label key match" => json!({ "propertyNames": { "pattern": "^[^*]*$" } }),
        "key must not be empty" => json!({ "propertyNames": { "minLength": 1 } }),
        "cross namespace referencing is not currently supported" => json!({ "maxLength": 0 }),
        "value may only be set when valueFrom is INLINE" => json!({
            "if": { "required": ["valueFrom"], "properties": { "valueFrom": { "const": "HOST" } } },
            "then": { "not": { "required": ["value"] } }
        }),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nullable_int32_and_rules_are_translated() {
        let v = wasm_plugin_validator().unwrap();
        let priority = &v.schema()["properties"]["spec"]["properties"]["priority"];
        assert_eq!(priority["type"], json!(["integer", "null"]));
        assert_eq!(priority["maximum"], json!(i32::MAX));
        let spec = &v.schema()["properties"]["spec"];
        assert_eq!(spec["additionalProperties"], json!(false));
        assert!(spec["allOf"].is_array(), "the one-of-selector rule is a schema now");
        let config = &spec["properties"]["pluginConfig"];
        assert!(
            config.get("additionalProperties").is_none(),
            "preserve-unknown-fields stays open"
        );
    }

    #[test]
    fn an_unknown_cel_rule_is_an_error() {
        let crd = WASM_PLUGIN_CRD.replace("only one of targetRefs or selector can be set", "something new");
        let err = ManifestValidator::from_crd(&crd).err().expect("refused");
        assert!(matches!(err, CrdError::UnknownRule { .. }), "{err}");
    }
}
