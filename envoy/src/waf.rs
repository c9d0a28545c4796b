//! Reading the WAF filter's evidence and metrics out of a running Envoy: `meshward.waf.event`
//! log lines and the `wasmcustom.meshward_waf.*` counters.

use crate::process::Envoy;
use meshward_vocab::Filter;
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// The prefix of the WAF's evidence log messages.
pub const EVENT_PREFIX: &str = Filter::Waf.event_prefix();

/// The prefix of the WAF's counters in Envoy's stats.
pub const STATS_PREFIX: &str = "wasmcustom.meshward_waf.";

/// Parses a wasm log message; `None` unless it is an evidence event with valid JSON.
pub fn parse_event(message: &str) -> Option<Value> {
    serde_json::from_str(message.trim().strip_prefix(EVENT_PREFIX.trim_end())?.trim()).ok()
}

/// Every evidence event Envoy logged so far, in order.
pub fn events(envoy: &Envoy) -> Vec<Value> {
    envoy
        .wasm_logs()
        .iter()
        .filter_map(|l| parse_event(&l.message))
        .collect()
}

/// Ids of the rules an event lists.
pub fn rule_ids(event: &Value) -> Vec<u64> {
    event["rules"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["id"].as_u64())
        .collect()
}

/// Waits up to `timeout` for the event of the transaction with `x-request-id: request_id`.
pub fn wait_event(envoy: &Envoy, request_id: &str, timeout: Duration) -> Option<Value> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(event) = events(envoy).into_iter().find(|e| e["request_id"] == request_id) {
            return Some(event);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The WAF's counters by their name without the prefix (`blocked`, `rule_family.942`...).
pub fn counters(envoy: &Envoy) -> Result<BTreeMap<String, u64>, crate::HarnessError> {
    Ok(envoy
        .stats()?
        .into_iter()
        .filter_map(|(name, value)| name.strip_prefix(STATS_PREFIX).map(|n| (n.to_string(), value)))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_recognised_by_prefix() {
        let event = parse_event(r#"meshward.waf.event {"request_id":"a","rules":[]}"#).unwrap();
        assert_eq!(event["request_id"], "a");
        assert!(parse_event("meshward.waf.event {broken").is_none());
        assert!(parse_event("probe {}").is_none());
    }
}
