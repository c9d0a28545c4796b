//! Every WasmPlugin manifest in `deploy/istio/` against Istio's WasmPlugin CRD schema (strict:
//! unknown fields are errors), each `pluginConfig` loaded by the filter it configures, and the
//! AuthorizationPolicy import example reproduced.

use std::path::{Path, PathBuf};

use meshward_deploy::{wasm_plugin_validator, ManifestValidator};
use serde::Deserialize;
use serde_json::{json, Value};

const NETPOLICY_URL: &str = "oci://registry.example.com/meshward/netpolicy:0.1.0";

fn istio_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("istio")
}

/// Every YAML document of a file, as JSON.
fn documents(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_yaml_ng::Deserializer::from_str(&text)
        .map(|d| Value::deserialize(d).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
        .collect()
}

/// The manifests: `deploy/istio/*.yaml` and the import example's output.
fn manifests() -> Vec<(String, Value)> {
    let dir = istio_dir();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.push(dir.join("authorizationpolicy/output.yaml"));
    files.sort();
    files
        .iter()
        .flat_map(|f| {
            let name = f.strip_prefix(&dir).unwrap().display().to_string();
            documents(f)
                .into_iter()
                .enumerate()
                .map(move |(i, d)| (format!("{name}#{i}"), d))
        })
        .collect()
}

fn validator() -> ManifestValidator {
    wasm_plugin_validator().unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn every_manifest_matches_the_crd_schema() {
    let v = validator();
    let all = manifests();
    assert!(all.len() >= 7, "{}", all.len());
    for (name, m) in &all {
        let errors = v.errors(m);
        assert!(errors.is_empty(), "{name}: {errors:#?}");
    }
    // The set covers what the examples are for.
    let specs: Vec<&Value> = all.iter().map(|(_, m)| &m["spec"]).collect();
    for field in [
        "priority",
        "failStrategy",
        "imagePullPolicy",
        "sha256",
        "selector",
        "targetRefs",
        "match",
    ] {
        assert!(specs.iter().any(|s| s.get(field).is_some()), "no example sets {field}");
    }
    for phase in ["AUTHN", "AUTHZ"] {
        assert!(specs.iter().any(|s| s["phase"] == phase), "no example in {phase}");
    }
}

#[test]
fn each_filter_runs_in_its_phase_and_loads_its_configuration() {
    for (name, m) in manifests() {
        let spec = &m["spec"];
        let url = spec["url"].as_str().unwrap();
        let config = spec["pluginConfig"].to_string();
        if url.contains("/meshward/waf:") {
            assert_eq!(spec["phase"], "AUTHN", "{name}");
            if let Err(e) = meshward_waf::loaded::Loaded::load(config.as_bytes()) {
                panic!("{name}: the WAF refuses its pluginConfig: {e}");
            }
        } else if url.contains("/meshward/netpolicy:") {
            assert_eq!(spec["phase"], "AUTHZ", "{name}");
            if let Err(e) = meshward_policy::Engine::from_text(&config) {
                panic!("{name}: the policy filter refuses its pluginConfig: {e}");
            }
        } else {
            panic!("{name}: unknown image {url}");
        }
    }
}

#[test]
fn the_import_example_output_is_what_the_import_prints() {
    let input = std::fs::read_to_string(istio_dir().join("authorizationpolicy/input.yaml")).unwrap();
    let out = meshward_policy::istio::import(&input).unwrap();
    assert!(out.warnings.is_empty(), "{:?}", out.warnings);
    let produced: Vec<Value> = out.carriers.iter().map(|c| c.wasm_plugin(NETPOLICY_URL)).collect();
    let written = documents(&istio_dir().join("authorizationpolicy/output.yaml"));
    assert_eq!(
        produced, written,
        "regenerate output.yaml with the command in its header"
    );
}

/// A valid manifest with one change.
fn changed(edit: impl FnOnce(&mut Value)) -> Value {
    let mut m = documents(&istio_dir().join("netpolicy.yaml")).remove(0);
    edit(&mut m);
    m
}

fn rejected(m: &Value, pointer_part: &str) {
    let errors = validator().errors(m);
    assert!(
        errors.iter().any(|e| e.contains(pointer_part)),
        "expected an error at {pointer_part}: {errors:#?}"
    );
}

#[test]
fn unknown_fields_are_errors() {
    rejected(&changed(|m| m["spec"]["pluginConfg"] = json!({})), "pluginConfg");
    rejected(
        &changed(|m| m["spec"]["selector"]["matchLabel"] = json!({"a": "b"})),
        "matchLabel",
    );
    rejected(
        &changed(|m| m["spec"]["match"] = json!([{ "mode": "SERVER", "port": 80 }])),
        "port",
    );
    rejected(&changed(|m| m["metadata"]["nmae"] = json!("x")), "nmae");
    rejected(&changed(|m| m["extra"] = json!(1)), "extra");
    // pluginConfig is the filter's: the CRD keeps any field there.
    assert!(validator()
        .errors(&changed(|m| m["spec"]["pluginConfig"]["anything"] = json!(1)))
        .is_empty());
}

#[test]
fn wrong_values_are_errors() {
    rejected(
        &changed(|m| m["spec"]["phase"] = json!("AUTHENTICATION")),
        "/spec/phase",
    );
    rejected(
        &changed(|m| m["spec"]["failStrategy"] = json!("CLOSE")),
        "/spec/failStrategy",
    );
    rejected(&changed(|m| m["spec"]["priority"] = json!("high")), "/spec/priority");
    rejected(
        &changed(|m| m["spec"]["priority"] = json!(1u64 << 40)),
        "/spec/priority",
    );
    rejected(&changed(|m| m["spec"]["sha256"] = json!("abc")), "/spec/sha256");
    rejected(&changed(|m| m["spec"]["url"] = json!("ftp://x/y")), "/spec/url");
    rejected(&changed(|m| m["kind"] = json!("EnvoyFilter")), "/kind");
    rejected(
        &changed(|m| m["spec"]["targetRefs"] = json!([{ "kind": "Gateway", "name": "g" }])),
        "/spec",
    );
    rejected(
        &changed(|m| m["spec"]["selector"]["matchLabels"]["app"] = json!("or*")),
        "/spec/selector",
    );
    assert!(
        validator()
            .errors(&changed(|m| m["spec"]["priority"] = Value::Null))
            .is_empty(),
        "priority is nullable"
    );
}

#[test]
fn wasm_plugins_of_every_imported_istio_example_match_the_crd_schema() {
    let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../filters/policy/tests/data/istio-docs.yaml");
    let out = meshward_policy::istio::import(&std::fs::read_to_string(docs).unwrap()).unwrap();
    let v = validator();
    let mut kinds = Vec::new();
    for c in &out.carriers {
        let plugin = c.wasm_plugin(NETPOLICY_URL);
        let errors = v.errors(&plugin);
        assert!(errors.is_empty(), "{}: {errors:#?}", c.qualified_name());
        kinds.extend(
            ["selector", "targetRefs"]
                .into_iter()
                .filter(|k| plugin["spec"].get(*k).is_some()),
        );
    }
    assert!(
        kinds.contains(&"selector") && kinds.contains(&"targetRefs"),
        "{kinds:?}"
    );
}
