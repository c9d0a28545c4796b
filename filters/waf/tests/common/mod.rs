//! Loads the WAF .wasm into host-test (`meshward_host_test::testing`) and reads its evidence lines.
#![allow(dead_code)]

use meshward_host_test::testing;

pub use meshward_host_test::testing::host;
use meshward_host_test::{LogEntry, Metric, Module, Outcome, Plugin, PluginBuilder};
// Not every test file uses it.
#[allow(unused_imports)]
pub use meshward_testkit::locate::wasm_dir;
use meshward_testkit::schema::EventSchema;

/// Prefix of evidence lines (the filter's contract).
pub const EVENT_PREFIX: &str = "meshward.waf.event ";

/// The compiled WAF module; a missing .wasm fails the test with the command to build it.
pub fn module() -> Module {
    testing::module("meshward_waf")
}

/// A plugin builder with `config` as plugin configuration.
pub fn builder(config: &str) -> PluginBuilder {
    host().plugin(&module()).config(config).log_level(2)
}

/// A configured plugin (configure must succeed).
pub fn plugin(config: &str) -> Plugin {
    builder(config)
        .build()
        .unwrap_or_else(|e| panic!("configure failed for {config}: {e}"))
}

/// Evidence events in log lines, each checked against `docs/schema/waf-event.schema.json`.
pub fn events_in(logs: &[LogEntry]) -> Vec<serde_json::Value> {
    testing::json_lines(logs, EVENT_PREFIX)
        .into_iter()
        .map(|(_, event)| {
            EventSchema::Waf.assert_valid(&event);
            event
        })
        .collect()
}

/// The single event of one stream.
pub fn event(out: &Outcome) -> serde_json::Value {
    let events = events_in(&out.logs);
    assert_eq!(events.len(), 1, "expected one event, logs: {:#?}", out.logs);
    events.into_iter().next().expect("one event")
}

/// Ids of the rules an event lists.
pub fn rule_ids(event: &serde_json::Value) -> Vec<u64> {
    event["rules"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["id"].as_u64())
        .collect()
}

/// A counter's value (0 when never incremented; None-defined counters fail).
pub fn counter(p: &Plugin, name: &str) -> u64 {
    match p.metric(name) {
        Some(Metric::Counter { value }) => value,
        other => panic!("metric {name} is not a defined counter: {other:?}"),
    }
}

/// True when the upstream got the whole request (headers, body and end of stream).
pub fn upstream_complete(out: &Outcome) -> bool {
    out.upstream_request.as_ref().is_some_and(|m| m.complete)
}

/// The body the upstream received (empty if none).
pub fn upstream_body(out: &Outcome) -> String {
    out.upstream_request.as_ref().map(|m| m.body_text()).unwrap_or_default()
}

/// gRPC's 5-byte frame header (no compression) around `message`.
pub fn grpc_frame(message: &[u8]) -> Vec<u8> {
    let mut frame = vec![0u8];
    frame.extend_from_slice(&u32::try_from(message.len()).unwrap().to_be_bytes());
    frame.extend_from_slice(message);
    frame
}
