//! Locates and loads fixture filters for the integration tests.
#![allow(dead_code)]

use meshward_host_test::{Host, Module};
use std::path::PathBuf;
use std::sync::OnceLock;

/// Directory of built fixtures: $MESHWARD_WASM_DIR or <workspace>/target/filters/wasm32-wasip1.
pub fn wasm_dir() -> PathBuf {
    match std::env::var_os("MESHWARD_WASM_DIR") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/filters/wasm32-wasip1"),
    }
}

/// Path of a fixture; panics with the command to build it when missing (never skips).
pub fn fixture_path(name: &str) -> PathBuf {
    let path = wasm_dir().join(format!("{name}.wasm"));
    assert!(
        path.exists(),
        "fixture {} is missing: run `cargo xtask wasm` first (or set MESHWARD_WASM_DIR)",
        path.display()
    );
    path
}

/// One host per test binary; compiled modules are cached (the engine is thread-safe).
pub fn host() -> &'static Host {
    static HOST: OnceLock<Host> = OnceLock::new();
    HOST.get_or_init(|| Host::new().expect("host"))
}

/// Compiles (once) and returns a fixture module.
pub fn module(name: &str) -> Module {
    static CACHE: OnceLock<std::sync::Mutex<std::collections::HashMap<String, Module>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let mut c = cache.lock().unwrap();
    c.entry(name.to_string())
        .or_insert_with(|| host().load(fixture_path(name)).expect("fixture compiles"))
        .clone()
}

/// Parsed `probe {json}` lines from log entries.
pub fn probe_lines(logs: &[meshward_host_test::LogEntry]) -> Vec<serde_json::Value> {
    logs.iter()
        .filter_map(|l| l.message.strip_prefix("probe "))
        .map(|j| serde_json::from_str(j).expect("probe line is JSON"))
        .collect()
}

/// The first probe line for host call `call` with `label`.
pub fn probe_call<'a>(lines: &'a [serde_json::Value], label: &str) -> &'a serde_json::Value {
    lines
        .iter()
        .find(|l| l.get("label").and_then(|v| v.as_str()) == Some(label))
        .unwrap_or_else(|| panic!("no probe line labelled {label:?} in {lines:#?}"))
}

/// Status name of the call labelled `label`.
pub fn status_of(lines: &[serde_json::Value], label: &str) -> String {
    probe_call(lines, label)["status"].as_str().unwrap_or("").to_string()
}

/// Builds a probe plugin with `script` as plugin configuration.
pub fn probe(script: serde_json::Value) -> meshward_host_test::PluginBuilder {
    host()
        .plugin(&module("meshward_fixture_probe"))
        .config(script.to_string())
        .log_level(0)
}
