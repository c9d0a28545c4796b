//! Observation events from the policy filter in a real Envoy: after a few requests, the root
//! context's tick logs `meshward.policy.observation` lines at `warning` (the evidence level, as
//! Istio runs Envoy) with the right counts, status classes and sizes, each valid against
//! docs/schema/observation-event.schema.json.

mod common;

use meshward_envoy::{Envoy, EnvoyConfig, Request, Upstream};
use meshward_testkit::schema::EventSchema;
use serde_json::Value;
use std::time::{Duration, Instant};

const POLICY: &str = "mode: enforce\nobserve: {interval_seconds: 1}\npolicies:\n  - name: no-admin\n    action: DENY\n    rules: [{ to: [{ paths: [\"/admin/*\"] }] }]\n";

const PREFIX: &str = "meshward.policy.observation ";

/// Every observation line logged so far, with its level, checked against the schema.
fn observations(envoy: &Envoy) -> Vec<(String, Value)> {
    let lines = envoy.json_lines(PREFIX);
    for (_, event) in &lines {
        EventSchema::Observation.assert_valid(event);
    }
    lines
}

/// Requests counted for `path` with status class `class`, summed over lines (several windows,
/// and a VM per worker, may each log one).
fn count(events: &[(String, Value)], path: &str, class: &str) -> u64 {
    events
        .iter()
        .filter(|(_, e)| e["path"] == path && e["status_class"] == class)
        .map(|(_, e)| e["count"].as_u64().unwrap_or(0))
        .sum()
}

#[test]
fn a_tick_logs_what_the_requests_were() {
    let upstream = Upstream::start().expect("starting the upstream");
    let config = EnvoyConfig::new(upstream.addr())
        .log_level("warning")
        .filter(common::policy_filter(POLICY));
    let envoy = Envoy::start(&config).unwrap_or_else(|e| panic!("starting Envoy: {e}"));
    for _ in 0..3 {
        let r = envoy
            .send(&Request::get("/orders?id=1"))
            .expect("request through Envoy");
        assert_eq!(r.status, 200);
    }
    let r = envoy
        .send(&Request::get("/admin/users"))
        .expect("request through Envoy");
    assert_eq!(r.status, 403);

    // The window closes within a second; give a loaded machine a few.
    let deadline = Instant::now() + Duration::from_secs(15);
    let events = loop {
        let events = observations(&envoy);
        if count(&events, "/orders", "2xx") >= 3 && count(&events, "/admin/users", "4xx") >= 1 {
            break events;
        }
        assert!(
            Instant::now() < deadline,
            "no observation lines for the requests:\n{}",
            envoy.log_text()
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(count(&events, "/orders", "2xx"), 3, "{events:#?}");
    assert_eq!(count(&events, "/admin/users", "4xx"), 1, "{events:#?}");
    assert!(events.iter().all(|(level, _)| level == "warning"), "{events:#?}");
    let orders: Vec<&Value> = events
        .iter()
        .map(|(_, e)| e)
        .filter(|e| e["path"] == "/orders")
        .collect();
    for e in &orders {
        assert_eq!(e["method"], "GET");
        assert_eq!(e["content_type"], "text/plain", "the upstream's media type");
        assert_eq!(e["mode"], "enforce");
        assert_eq!(e["decisions"]["allow"], e["count"]);
        assert_eq!(e["source_ip"], "127.0.0.1");
        // The upstream answers "ok": two body bytes per request.
        assert_eq!(e["response_bytes"]["max"], 2, "{e}");
    }
    let admin = events
        .iter()
        .map(|(_, e)| e)
        .find(|e| e["path"] == "/admin/users")
        .expect("the blocked request's line");
    assert_eq!(admin["decisions"]["block"], 1);
    assert_eq!(admin["content_type"], "text/plain", "the filter's 403 reply");
    assert_eq!(admin["response_bytes"]["sum"], "access denied\n".len(), "{admin}");
}
