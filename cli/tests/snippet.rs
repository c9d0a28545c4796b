//! `meshward snippet istio|envoy`: the WasmPlugin passes Istio's CRD schema (strict), the Envoy
//! entry passes `envoy --mode validate` inside a listener, and a configuration the filter would
//! reject prints nothing.

mod common;

use common::cli::{meshward, meshward_code, temp};
use meshward_testkit::locate;
use serde_json::{json, Value};

fn yaml(text: &str) -> Value {
    serde_yaml_ng::from_str(text).unwrap_or_else(|e| panic!("{e}:\n{text}"))
}

#[test]
fn istio_waf_snippets_pass_the_crd_and_follow_the_mode() {
    let validator = meshward_deploy::wasm_plugin_validator().unwrap();
    let digest = "ab".repeat(32);
    let (ok, out, err) = meshward(&[
        "snippet",
        "istio",
        "--filter",
        "waf",
        "--url",
        "oci://registry.example/meshward/waf:0.1.0",
    ]);
    assert!(ok, "{err}");
    let detect = yaml(&out);
    assert_eq!(validator.errors(&detect), Vec::<String>::new(), "{out}");
    assert_eq!(detect["spec"]["phase"], "AUTHN");
    assert_eq!(
        detect["spec"]["failStrategy"], "FAIL_OPEN",
        "a detecting WAF fails open"
    );
    assert!(detect["spec"].get("pluginConfig").is_none(), "zero config: {out}");

    let config = temp("enforce.json", r#"{"mode":"enforce","paranoia_level":2}"#);
    let (ok, out, err) = meshward(&[
        "snippet",
        "istio",
        "--filter",
        "waf",
        "--config",
        &config,
        "--url",
        "oci://registry.example/meshward/waf:0.1.0",
        "--sha256",
        &digest,
        "--namespace",
        "shop",
        "--selector",
        "app=checkout",
    ]);
    assert!(ok, "{err}");
    let enforce = yaml(&out);
    assert_eq!(validator.errors(&enforce), Vec::<String>::new(), "{out}");
    assert_eq!(enforce["spec"]["failStrategy"], "FAIL_CLOSE");
    assert_eq!(enforce["spec"]["sha256"], digest.as_str());
    assert_eq!(
        enforce["spec"]["pluginConfig"],
        json!({"mode": "enforce", "paranoia_level": 2})
    );
    assert_eq!(enforce["spec"]["selector"]["matchLabels"]["app"], "checkout");
    assert_eq!(enforce["metadata"]["namespace"], "shop");
}

#[test]
fn istio_policy_snippet_runs_in_authz_and_carries_the_document() {
    let validator = meshward_deploy::wasm_plugin_validator().unwrap();
    let policy = temp(
        "policy.yaml",
        "mode: enforce\npolicies:\n- name: no-admin\n  action: DENY\n  rules:\n  - to: [{paths: ['/admin/*']}]\n",
    );
    let (ok, out, err) = meshward(&[
        "snippet",
        "istio",
        "--filter",
        "policy",
        "--config",
        &policy,
        "--url",
        "oci://registry.example/meshward/netpolicy:0.1.0",
    ]);
    assert!(ok, "{err}");
    let plugin = yaml(&out);
    assert_eq!(validator.errors(&plugin), Vec::<String>::new(), "{out}");
    assert_eq!(plugin["spec"]["phase"], "AUTHZ");
    assert_eq!(plugin["spec"]["failStrategy"], "FAIL_CLOSE");
    assert_eq!(plugin["spec"]["pluginConfig"]["policies"][0]["name"], "no-admin");
}

#[test]
fn a_configuration_the_filter_rejects_prints_no_snippet() {
    let bad = temp("bad.json", "{\n  \"mode\": \"enforce\",\n  \"paranoia\": 2\n}");
    let (code, out, err) = meshward_code(&[
        "snippet",
        "istio",
        "--filter",
        "waf",
        "--config",
        &bad,
        "--url",
        "oci://r/m:1",
    ]);
    assert_eq!(code, Some(1), "{out}{err}");
    assert!(out.is_empty(), "{out}");
    assert!(err.contains("line 3") && err.contains("paranoia"), "{err}");
    let (code, _, err) = meshward_code(&[
        "snippet",
        "istio",
        "--filter",
        "waf",
        "--url",
        "oci://r/m:1",
        "--sha256",
        "123",
    ]);
    assert_eq!(code, Some(2), "{err}");
    let (code, _, err) = meshward_code(&["snippet", "envoy", "--filter", "waf"]);
    assert_eq!(code, Some(2), "neither --wasm nor --url: {err}");
}

/// A static listener around one snippet entry, as JSON (which is YAML).
fn bootstrap(filters: Value) -> String {
    let mut chain = filters.as_array().cloned().unwrap_or_default();
    chain.push(json!({
        "name": "envoy.filters.http.router",
        "typed_config": { "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router" }
    }));
    let cluster = |name: &str| {
        json!({
            "name": name, "type": "STATIC", "connect_timeout": "1s",
            "load_assignment": { "cluster_name": name, "endpoints": [{ "lb_endpoints": [{ "endpoint": {
                "address": { "socket_address": { "address": "127.0.0.1", "port_value": 9 } } } }] }] }
        })
    };
    json!({
        "static_resources": {
            "listeners": [{
                "name": "main",
                "address": { "socket_address": { "address": "127.0.0.1", "port_value": 0 } },
                "filter_chains": [{ "filters": [{
                    "name": "envoy.filters.network.http_connection_manager",
                    "typed_config": {
                        "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
                        "stat_prefix": "ingress",
                        "route_config": { "virtual_hosts": [{ "name": "all", "domains": ["*"],
                            "routes": [{ "match": { "prefix": "/" }, "route": { "cluster": "upstream" } }] }] },
                        "http_filters": chain,
                    }
                }] }]
            }],
            "clusters": [cluster("upstream"), cluster("meshward_wasm_source")]
        }
    })
    .to_string()
}

fn validate(name: &str, snippet: &str) {
    let scratch = std::env::temp_dir().join(format!("meshward-cli-snippet-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).unwrap();
    let config = bootstrap(yaml(snippet));
    let result = meshward_envoy::examples::validate(&config, &scratch, name).unwrap();
    assert!(
        result.ok,
        "envoy --mode validate refused {name}:\n{}\n{config}",
        result.output
    );
}

#[test]
fn envoy_snippets_pass_envoy_validate_local_and_remote() {
    let wasm = locate::wasm_file("meshward_waf.wasm").unwrap();
    let config = temp("snippet-enforce.json", r#"{"mode":"enforce"}"#);
    let (ok, out, err) = meshward(&[
        "snippet",
        "envoy",
        "--filter",
        "waf",
        "--config",
        &config,
        "--wasm",
        &wasm.to_string_lossy(),
    ]);
    assert!(ok, "{err}");
    let entry = &yaml(&out)[0];
    assert_eq!(entry["typed_config"]["config"]["failure_policy"], "FAIL_CLOSED");
    assert_eq!(
        entry["typed_config"]["config"]["configuration"]["value"],
        r#"{"mode":"enforce"}"#
    );
    validate("local.yaml", &out);

    let (ok, out, err) = meshward(&[
        "snippet",
        "envoy",
        "--filter",
        "policy",
        "--url",
        "http://127.0.0.1:9/meshward_netpolicy.wasm",
        "--sha256",
        &"0f".repeat(32),
    ]);
    assert!(ok, "{err}");
    assert!(out.contains("meshward_wasm_source"), "{out}");
    assert_eq!(
        yaml(&out)[0]["typed_config"]["config"]["vm_config"]["code"]["remote"]["sha256"],
        "0f".repeat(32)
    );
    validate("remote.yaml", &out);
}
