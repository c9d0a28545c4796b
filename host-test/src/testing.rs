//! Test support for the filter crates' integration tests: one host per test binary, each
//! filter compiled once, found by name through `meshward_testkit::locate` (a missing `.wasm`
//! fails the test with the command that builds it; it never skips), and the JSON lines
//! filters log.

use crate::{Host, LogEntry, Module};
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

/// The host shared by every test of this test binary.
pub fn host() -> &'static Host {
    static HOST: OnceLock<Host> = OnceLock::new();
    HOST.get_or_init(|| Host::new().unwrap_or_else(|e| panic!("the wasm host does not start: {e}")))
}

/// The built filter `name` (crate or artifact name, e.g. `meshward_waf`), compiled once per
/// test binary. Panics, failing the test, when it is missing or does not compile.
pub fn module(name: &str) -> Module {
    static CACHE: OnceLock<Mutex<HashMap<String, Module>>> = OnceLock::new();
    let mut cache = CACHE
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    cache
        .entry(name.to_string())
        .or_insert_with(|| host().load_filter(name).unwrap_or_else(|e| panic!("{e}")))
        .clone()
}

/// The log entries whose message starts with `prefix`, each with the JSON that follows it.
/// Panics, failing the test, on a line whose JSON does not parse.
pub fn json_lines<'a>(logs: &'a [LogEntry], prefix: &str) -> Vec<(&'a LogEntry, serde_json::Value)> {
    logs.iter()
        .filter_map(|entry| {
            let json = entry.message.strip_prefix(prefix)?;
            let value = serde_json::from_str(json)
                .unwrap_or_else(|e| panic!("log line {:?} is not {prefix:?} + JSON: {e}", entry.message));
            Some((entry, value))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(message: &str) -> LogEntry {
        LogEntry {
            level: "info",
            message: message.into(),
            context_id: 2,
        }
    }

    #[test]
    fn json_lines_keep_their_entry_and_skip_other_lines() {
        let logs = [entry("probe {\"a\":1}"), entry("other"), entry("probe [2]")];
        let lines = json_lines(&logs, "probe ");
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].1["a"], 1);
        assert_eq!(
            (lines[1].0.message.as_str(), &lines[1].1),
            ("probe [2]", &serde_json::json!([2]))
        );
    }

    #[test]
    #[should_panic(expected = "is not \"probe \" + JSON")]
    fn a_line_that_is_not_json_fails_the_test() {
        json_lines(&[entry("probe {oops")], "probe ");
    }

    #[test]
    fn a_missing_filter_names_the_build_command() {
        match host().load_filter("meshward_no_such_filter") {
            Err(err) => assert!(err.to_string().contains("cargo xtask wasm"), "{err}"),
            Ok(_) => panic!("a filter that was never built loaded"),
        }
    }
}
