//! The `meshward-policy` command line: check and import-istio, exit codes and output.

use std::process::Command;

fn run(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_meshward-policy"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn temp(name: &str, text: &str) -> String {
    let dir = std::env::temp_dir().join(format!("meshward-policy-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.to_string_lossy().into_owned()
}

#[test]
fn check_accepts_the_examples_and_rejects_with_line() {
    let ok = temp(
        "ok.yaml",
        "mode: enforce\npolicies: [{name: a, action: DENY, rules: [{to: [{paths: ['/x']}]}]}]\n",
    );
    let (success, stdout, _) = run(&["check", &ok]);
    assert!(success);
    assert!(stdout.contains("ok, 1 policies, 1 clauses, mode enforce"), "{stdout}");
    let bad = temp(
        "bad.yaml",
        "policies:\n  - name: a\n    action: DENY\n    rules: [{to: [{ports: [0]}]}]\n",
    );
    let (success, _, stderr) = run(&["check", &bad]);
    assert!(!success);
    assert!(stderr.contains("line 2") && stderr.contains("ports[0]"), "{stderr}");
    let (success, _, stderr) = run(&["check"]);
    assert!(!success && stderr.contains("usage"));
}

#[test]
fn check_warns_about_deprecated_mode_words_and_accepts_them() {
    let old = temp(
        "old-words.yaml",
        "mode: dry-run\npolicies:\n  - name: a\n    action: DENY\n    mode: dryrun\n    rules: [{to: [{paths: ['/x']}]}]\n",
    );
    let (success, stdout, stderr) = run(&["check", &old]);
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
    let (success, stdout, stderr) = run(&["check", &current]);
    assert!(success && stderr.is_empty(), "{stderr}");
    assert!(stdout.contains("mode detect"), "{stdout}");
}

#[test]
fn import_istio_prints_a_valid_document_and_warnings() {
    let istio = temp(
        "authz.yaml",
        "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: a, namespace: ns}\nspec:\n  action: DENY\n  rules:\n  - from: [{source: {requestPrincipals: ['*'], namespaces: [web]}}]\n    to: [{operation: {paths: ['/admin/*']}}]\n    when: [{key: 'experimental.envoy.filters.a[b]', values: [x]}]\n---\nkind: AuthorizationPolicy\nmetadata: {name: c}\nspec: {action: CUSTOM}\n",
    );
    let (success, stdout, stderr) = run(&["import-istio", &istio]);
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
    let (success, out, err) = run(&["check", &converted]);
    assert!(success, "{stdout}\n{err}");
    assert!(out.contains("1 policies"), "{out}");
    let bad = temp(
        "bad-istio.yaml",
        "kind: AuthorizationPolicy\nmetadata: {name: a}\nspec: {action: MAYBE}\n",
    );
    let (success, _, stderr) = run(&["import-istio", &bad]);
    assert!(!success && stderr.contains("MAYBE"), "{stderr}");
}

#[test]
fn import_istio_prints_the_wasm_plugins_that_carry_the_policies() {
    let istio = temp(
        "scoped.yaml",
        "kind: AuthorizationPolicy\nmetadata: {name: a, namespace: ns}\nspec:\n  selector: {matchLabels: {app: x}}\n  action: DENY\n  rules: [{to: [{operation: {paths: ['/admin']}}]}]\n",
    );
    let url = "oci://registry.example/meshward/netpolicy:0.1.0";
    let (success, stdout, stderr) = run(&["import-istio", &istio, "--wasm-plugin-url", url]);
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
    let (success, _, stderr) = run(&["import-istio", &istio, "--wasm-plugin-url"]);
    assert!(!success && stderr.contains("usage"), "{stderr}");
}
