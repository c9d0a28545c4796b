//! Loads the built filter into host-test.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::OnceLock;

use meshward_host_test::{Host, Module, Plugin};

/// Directory of built filters: $MESHWARD_WASM_DIR or <workspace>/target/filters/wasm32-wasip1.
pub fn wasm_dir() -> PathBuf {
    match std::env::var_os("MESHWARD_WASM_DIR") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/filters/wasm32-wasip1"),
    }
}

/// One host per test binary.
pub fn host() -> &'static Host {
    static HOST: OnceLock<Host> = OnceLock::new();
    HOST.get_or_init(|| Host::new().expect("host"))
}

/// The compiled filter; fails (never skips) with the command to build it when missing.
pub fn module() -> Module {
    static MODULE: OnceLock<Module> = OnceLock::new();
    MODULE
        .get_or_init(|| {
            let path = wasm_dir().join("meshward_netpolicy.wasm");
            assert!(
                path.exists(),
                "{} is missing: run `cargo xtask wasm` first (or set MESHWARD_WASM_DIR)",
                path.display()
            );
            host().load(&path).expect("filter compiles")
        })
        .clone()
}

/// A plugin configured with `policy`, logging at debug so allows are visible.
pub fn plugin(policy: &str) -> Plugin {
    host()
        .plugin(&module())
        .config(policy)
        .log_level(1)
        .build()
        .unwrap_or_else(|e| panic!("{e}\n{policy}"))
}

/// Parsed decision events from log lines.
pub fn events(logs: &[meshward_host_test::LogEntry]) -> Vec<(String, serde_json::Value)> {
    logs.iter()
        .filter_map(|l| {
            l.message
                .strip_prefix("meshward.policy.event ")
                .map(|j| (l.level.to_string(), serde_json::from_str(j).expect("event is JSON")))
        })
        .collect()
}

/// Value of a counter (0 when never defined or incremented).
pub fn counter(p: &Plugin, name: &str) -> u64 {
    match p.metric(name) {
        Some(meshward_host_test::Metric::Counter { value }) => value,
        None => 0,
        other => panic!("{name} is not a counter: {other:?}"),
    }
}
