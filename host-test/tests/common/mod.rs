//! Fixture filters for the integration tests (one host, each module compiled once:
//! `meshward_host_test::testing`) and the probe fixture's log lines.
#![allow(dead_code)]

use std::path::PathBuf;

pub use meshward_host_test::testing::{host, module};

/// Path of a fixture; fails the test with the command to build it when missing (never skips).
pub fn fixture_path(name: &str) -> PathBuf {
    meshward_testkit::locate::wasm_file(name).unwrap_or_else(|e| panic!("{e}"))
}

/// Parsed `probe {json}` lines from log entries.
pub fn probe_lines(logs: &[meshward_host_test::LogEntry]) -> Vec<serde_json::Value> {
    meshward_host_test::testing::json_lines(logs, "probe ")
        .into_iter()
        .map(|(_, line)| line)
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
