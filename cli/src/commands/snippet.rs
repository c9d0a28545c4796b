//! `meshward snippet istio|envoy`: prints the configuration that loads a filter, with its plugin
//! configuration checked first exactly as the filter loads it, so a snippet that prints is one
//! the filter accepts.
//!
//! Failure strategy follows the mode: a WAF that only listens (`detect`) fails open, since a
//! filter that cannot load must not stop traffic it would never have stopped; an enforcing WAF
//! and the policy filter (an authorization filter) fail closed.

use std::path::Path;

use meshward_vocab::Mode;
use serde_json::{json, Map, Value};

use crate::args::{EnvoySnippetArgs, FilterKind, IstioSnippetArgs, SnippetFilterArgs};
use crate::commands::{check_policy, check_waf, read_text};
use crate::CliError;

/// A filter with its checked configuration.
struct Checked {
    kind: FilterKind,
    /// The configuration as written (empty: zero configuration).
    text: String,
    /// Whether the filter will fail closed when it cannot load.
    fail_closed: bool,
}

impl Checked {
    /// Reads and checks `--config` with the filter's own loader.
    fn load(args: &SnippetFilterArgs) -> Result<Checked, CliError> {
        let text = match &args.config {
            Some(path) => read_text(path)?,
            None => String::new(),
        };
        let path = args.config.as_deref().unwrap_or(Path::new("(zero configuration)"));
        let fail_closed = match args.filter {
            FilterKind::Waf => check_waf::load(path, &text)?.config.mode == Mode::Enforce,
            // An authorization filter fails closed whatever its mode.
            FilterKind::Policy => check_policy::load(path, &text).map(|_| true)?,
        };
        Ok(Checked {
            kind: args.filter,
            text,
            fail_closed,
        })
    }

    /// The configuration as a structured value (Istio's `pluginConfig`); `None` when empty.
    fn structured(&self) -> Result<Option<Value>, CliError> {
        if self.text.trim().is_empty() {
            return Ok(None);
        }
        // JSON is YAML: one parser reads both filters' formats. The filter accepted the text,
        // so a failure here is a YAML subtlety worth reporting as such.
        let value: Value = serde_yaml_ng::from_str(&self.text)?;
        Ok(Some(value))
    }

    /// The module's base name: `meshward_waf` or `meshward_netpolicy`.
    fn module(&self) -> &'static str {
        match self.kind {
            FilterKind::Waf => "meshward_waf",
            FilterKind::Policy => "meshward_netpolicy",
        }
    }
}

/// Prints an Istio `WasmPlugin`.
pub fn istio(args: &IstioSnippetArgs) -> Result<(), CliError> {
    let checked = Checked::load(&args.filter)?;
    print!("{}", serde_yaml_ng::to_string(&wasm_plugin(args, &checked)?)?);
    Ok(())
}

/// Prints an Envoy `http_filters` entry.
pub fn envoy(args: &EnvoySnippetArgs) -> Result<(), CliError> {
    let checked = Checked::load(&args.filter)?;
    println!("# An entry of the listener's http_filters, before envoy.filters.http.router.");
    if args.url.is_some() {
        println!("# The cluster `{}` must serve the module's URL.", args.cluster);
    }
    print!("{}", serde_yaml_ng::to_string(&json!([http_filter(args, &checked)?]))?);
    Ok(())
}

/// The WasmPlugin manifest.
fn wasm_plugin(args: &IstioSnippetArgs, checked: &Checked) -> Result<Value, CliError> {
    let default_name = match checked.kind {
        FilterKind::Waf => "meshward-waf",
        FilterKind::Policy => "meshward-netpolicy",
    };
    let mut metadata = json!({ "name": args.name.as_deref().unwrap_or(default_name) });
    if let Some(ns) = &args.namespace {
        metadata["namespace"] = json!(ns);
    }
    // The WAF inspects before authorization decides (AUTHN); the policy filter runs where
    // Istio's authentication filters have verified identities (AUTHZ).
    let phase = match checked.kind {
        FilterKind::Waf => "AUTHN",
        FilterKind::Policy => "AUTHZ",
    };
    let mut spec = json!({
        "url": args.url,
        "imagePullPolicy": "IfNotPresent",
        "phase": phase,
        "priority": 10,
        "failStrategy": if checked.fail_closed { "FAIL_CLOSE" } else { "FAIL_OPEN" },
    });
    if let Some(sha) = &args.sha256 {
        spec["sha256"] = json!(hex_digest(sha)?);
    }
    if !args.selector.is_empty() {
        let mut labels = Map::new();
        for entry in &args.selector {
            let (key, value) = entry
                .split_once('=')
                .ok_or_else(|| CliError::Usage(format!("--selector {entry}: expected KEY=VALUE")))?;
            labels.insert(key.to_string(), json!(value));
        }
        spec["selector"] = json!({ "matchLabels": labels });
    }
    if let Some(config) = checked.structured()? {
        spec["pluginConfig"] = config;
    }
    Ok(json!({
        "apiVersion": "extensions.istio.io/v1alpha1",
        "kind": "WasmPlugin",
        "metadata": metadata,
        "spec": spec,
    }))
}

/// The `envoy.filters.http.wasm` entry.
fn http_filter(args: &EnvoySnippetArgs, checked: &Checked) -> Result<Value, CliError> {
    let code = match (&args.wasm, &args.url) {
        (Some(path), _) => json!({ "local": { "filename": path.to_string_lossy() } }),
        (None, Some(url)) => {
            let sha = args
                .sha256
                .as_deref()
                .ok_or_else(|| CliError::Usage("--url needs --sha256".into()))?;
            json!({
                "remote": {
                    "http_uri": { "uri": url, "cluster": args.cluster, "timeout": "10s" },
                    "sha256": hex_digest(sha)?,
                    "retry_policy": { "num_retries": 3 },
                }
            })
        }
        (None, None) => return Err(CliError::Usage("give --wasm PATH or --url URL".into())),
    };
    let name = checked.module();
    Ok(json!({
        "name": name,
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm",
            "config": {
                "name": name,
                "root_id": name,
                "failure_policy": if checked.fail_closed { "FAIL_CLOSED" } else { "FAIL_OPEN" },
                "vm_config": {
                    "vm_id": name,
                    "runtime": "envoy.wasm.runtime.v8",
                    "code": code,
                },
                "configuration": {
                    "@type": "type.googleapis.com/google.protobuf.StringValue",
                    "value": checked.text,
                },
            },
        },
    }))
}

/// A sha256 given on the command line: 64 hex digits (a `sha256:` prefix is dropped), lower-cased.
fn hex_digest(text: &str) -> Result<String, CliError> {
    let hex = text.strip_prefix("sha256:").unwrap_or(text);
    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(CliError::Usage(format!("--sha256 {text}: expected 64 hex digits")));
    }
    Ok(hex.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_are_64_hex_digits_with_an_optional_prefix() {
        let hex = "AB".repeat(32);
        assert_eq!(hex_digest(&hex).unwrap(), "ab".repeat(32));
        assert_eq!(hex_digest(&format!("sha256:{hex}")).unwrap(), "ab".repeat(32));
        assert!(hex_digest("abc").is_err());
        assert!(hex_digest(&"g".repeat(64)).is_err());
    }
}
