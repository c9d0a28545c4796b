//! Loads the built filter into host-test (`meshward_host_test::testing`).
#![allow(dead_code)]

use meshward_host_test::testing;

pub use meshward_host_test::testing::host;
use meshward_host_test::{Module, Plugin};
use meshward_testkit::schema::EventSchema;

/// The compiled filter; fails (never skips) with the command to build it when missing.
pub fn module() -> Module {
    testing::module("meshward_netpolicy")
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

/// Parsed decision events from log lines, each checked against
/// `docs/schema/policy-event.schema.json`.
pub fn events(logs: &[meshward_host_test::LogEntry]) -> Vec<(String, serde_json::Value)> {
    testing::json_lines(logs, "meshward.policy.event ")
        .into_iter()
        .map(|(entry, event)| {
            EventSchema::Policy.assert_valid(&event);
            (entry.level.to_string(), event)
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

/// Parsed observation events from log lines (with their level), each checked against
/// `docs/schema/observation-event.schema.json`.
pub fn observations(logs: &[meshward_host_test::LogEntry]) -> Vec<(String, serde_json::Value)> {
    testing::json_lines(logs, "meshward.policy.observation ")
        .into_iter()
        .map(|(entry, event)| {
            EventSchema::Observation.assert_valid(&event);
            (entry.level.to_string(), event)
        })
        .collect()
}

/// Parsed alert events from log lines (with their level), each checked against
/// `docs/schema/alert-event.schema.json`.
pub fn alerts(logs: &[meshward_host_test::LogEntry]) -> Vec<(String, serde_json::Value)> {
    testing::json_lines(logs, "meshward.policy.alert ")
        .into_iter()
        .map(|(entry, event)| {
            EventSchema::Alert.assert_valid(&event);
            (entry.level.to_string(), event)
        })
        .collect()
}
