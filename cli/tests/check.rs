//! `meshward check waf|policy` and `meshward import-istio`: exit codes and output. The policy
//! cases moved here with the commands from the old `meshward-policy` binary.

mod common;

use common::cli::{meshward, meshward_code, temp};

#[test]
fn check_accepts_the_examples_and_rejects_with_line() {
    let ok = temp(
        "ok.yaml",
        "mode: enforce\npolicies: [{name: a, action: DENY, rules: [{to: [{paths: ['/x']}]}]}]\n",
    );
    let (success, stdout, _) = meshward(&["check", "policy", &ok]);
    assert!(success);
    assert!(stdout.contains("ok, 1 policies, 1 clauses, mode enforce"), "{stdout}");
    let bad = temp(
        "bad.yaml",
        "policies:\n  - name: a\n    action: DENY\n    rules: [{to: [{ports: [0]}]}]\n",
    );
    let (success, _, stderr) = meshward(&["check", "policy", &bad]);
    assert!(!success);
    assert!(stderr.contains("line 2") && stderr.contains("ports[0]"), "{stderr}");
    // clap writes `Usage:`; the old binary wrote `usage:`.
    let (success, _, stderr) = meshward(&["check", "policy"]);
    assert!(!success && stderr.contains("Usage"), "{stderr}");
}

#[test]
fn check_warns_about_deprecated_mode_words_and_accepts_them() {
    let old = temp(
        "old-words.yaml",
        "mode: dry-run\npolicies:\n  - name: a\n    action: DENY\n    mode: dryrun\n    rules: [{to: [{paths: ['/x']}]}]\n",
    );
    let (success, stdout, stderr) = meshward(&["check", "policy", &old]);
    assert!(success, "{stderr}");
    assert!(stdout.contains("ok, 1 policies, 1 clauses, mode detect"), "{stdout}");
    assert_eq!(
        stderr.lines().collect::<Vec<_>>(),
        [
            format!("{old}: warning: line 1, field `mode`: \"dry-run\" is deprecated and read as \"detect\"; write \"detect\""),
            format!("{old}: warning: line 3, policy `a`, field `mode`: \"dryrun\" is deprecated and read as \"detect\"; write \"detect\""),
        ]
    );
    let current = temp("current-words.yaml", "mode: detect\n");
    let (success, stdout, stderr) = meshward(&["check", "policy", &current]);
    assert!(success && stderr.is_empty(), "{stderr}");
    assert!(stdout.contains("mode detect"), "{stdout}");
}

#[test]
fn import_istio_prints_a_valid_document_and_warnings() {
    let istio = temp(
        "authz.yaml",
        "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: a, namespace: ns}\nspec:\n  action: DENY\n  rules:\n  - from: [{source: {requestPrincipals: ['*'], namespaces: [web]}}]\n    to: [{operation: {paths: ['/admin/*']}}]\n    when: [{key: 'experimental.envoy.filters.a[b]', values: [x]}]\n---\nkind: AuthorizationPolicy\nmetadata: {name: c}\nspec: {action: CUSTOM}\n",
    );
    let (success, stdout, stderr) = meshward(&["import-istio", &istio]);
    assert!(success, "{stderr}");
    assert!(
        stdout.starts_with("mode: detect\n"),
        "imported policies listen first:\n{stdout}"
    );
    assert!(
        stderr.contains("experimental.envoy.filters.a[b]") && stderr.contains("CUSTOM"),
        "{stderr}"
    );
    assert!(
        stdout.contains("requestPrincipals:"),
        "JWT principals are kept:\n{stdout}"
    );
    let converted = temp("converted.yaml", &stdout);
    let (success, out, err) = meshward(&["check", "policy", &converted]);
    assert!(success, "{stdout}\n{err}");
    assert!(out.contains("1 policies"), "{out}");
    let bad = temp(
        "bad-istio.yaml",
        "kind: AuthorizationPolicy\nmetadata: {name: a}\nspec: {action: MAYBE}\n",
    );
    let (success, _, stderr) = meshward(&["import-istio", &bad]);
    assert!(!success && stderr.contains("MAYBE"), "{stderr}");
}

#[test]
fn import_istio_prints_the_wasm_plugins_that_carry_the_policies() {
    let istio = temp(
        "scoped.yaml",
        "kind: AuthorizationPolicy\nmetadata: {name: a, namespace: ns}\nspec:\n  selector: {matchLabels: {app: x}}\n  action: DENY\n  rules: [{to: [{operation: {paths: ['/admin']}}]}]\n",
    );
    let url = "oci://registry.example/meshward/netpolicy:0.1.0";
    let (success, stdout, stderr) = meshward(&["import-istio", &istio, "--wasm-plugin-url", url]);
    assert!(success, "{stderr}");
    let plugin: serde_yaml_ng::Value = serde_yaml_ng::from_str(&stdout).unwrap();
    assert_eq!(plugin["kind"].as_str(), Some("WasmPlugin"), "{stdout}");
    assert_eq!(plugin["metadata"]["name"].as_str(), Some("meshward-authz-a"));
    assert_eq!(plugin["spec"]["url"].as_str(), Some(url));
    assert_eq!(plugin["spec"]["selector"]["matchLabels"]["app"].as_str(), Some("x"));
    assert_eq!(
        plugin["spec"]["pluginConfig"]["policies"][0]["name"].as_str(),
        Some("ns.a")
    );
    let (code, _, stderr) = meshward_code(&["import-istio", &istio, "--wasm-plugin-url"]);
    assert_eq!(code, Some(2), "a usage error: {stderr}");
    assert!(stderr.contains("--wasm-plugin-url"), "{stderr}");
}

#[test]
fn check_waf_loads_a_good_configuration_with_crs() {
    let ok = temp(
        "waf-ok.json",
        r#"{"mode": "enforce", "paranoia_level": 2, "directives": ["SecRuleRemoveById 920350"]}"#,
    );
    let (success, stdout, stderr) = meshward(&["check", "waf", &ok]);
    assert!(success, "{stderr}");
    assert!(stdout.starts_with(&format!("{ok}: ok, ")), "{stdout}");
    assert!(stdout.contains("mode enforce"), "{stdout}");
    let rules: usize = stdout
        .split(", ")
        .find_map(|part| part.strip_suffix(" rules"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no rule count in {stdout}"));
    assert!(rules > 500, "CRS is embedded: {stdout}");
}

#[test]
fn check_waf_rejects_with_line_and_reason_and_exit_1() {
    let bad_json = temp(
        "waf-bad-key.json",
        "{\n  \"mode\": \"enforce\",\n  \"paranoia\": 2\n}\n",
    );
    let (code, _, stderr) = meshward_code(&["check", "waf", &bad_json]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("{bad_json}: plugin configuration line 3")),
        "{stderr}"
    );
    assert!(stderr.contains("unknown field `paranoia`"), "{stderr}");

    let bad_rule = temp(
        "waf-bad-directive.json",
        r#"{"directives": ["SecRuleRemoveById 1", "SecRule ARGS \"@nosuchop x\" \"id:5,phase:1,deny\""]}"#,
    );
    let (code, _, stderr) = meshward_code(&["check", "waf", &bad_rule]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("directives[1]:1"), "{stderr}");
    assert!(stderr.contains("nosuchop"), "{stderr}");

    let (code, _, stderr) = meshward_code(&["check", "waf", "/nonexistent/waf.json"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("/nonexistent/waf.json: No such file"), "{stderr}");
}
