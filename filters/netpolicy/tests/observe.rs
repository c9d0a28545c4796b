//! Observation through the built `meshward_netpolicy.wasm` in host-test: requests recorded at
//! the end of their stream, one line per key when the tick ends the window, validated against
//! docs/schema/observation-event.schema.json.

mod common;

use std::time::{Duration, UNIX_EPOCH};

use common::{counter, host, module, observations};
use meshward_host_test::{Plugin, Request, Response};
use serde_json::Value;

const FRONTEND: &str = "spiffe://cluster.local/ns/web/sa/frontend";
/// 2026-12-07T19:40:00Z.
const T0_SECS: u64 = 1_796_672_400;

fn plugin_at_t0(policy: &str) -> Plugin {
    host()
        .plugin(&module())
        .config(policy)
        .time(UNIX_EPOCH + Duration::from_secs(T0_SECS))
        .build()
        .unwrap_or_else(|e| panic!("{e}\n{policy}"))
}

fn from_frontend(req: Request) -> Request {
    req.property("connection.mtls", true)
        .property("connection.uri_san_peer_certificate", FRONTEND)
        .property("source.address", "10.1.0.5:40000")
        .property("destination.address", "10.1.0.9:8080")
        .property("connection.requested_server_name", "Orders.Svc.")
}

fn json_ok(body: &str) -> Response {
    Response::ok()
        .header("content-type", "Application/JSON; charset=utf-8")
        .body(body.to_string())
}

/// The observation line whose `path` (and status class) is this one.
fn line<'a>(events: &'a [(String, Value)], path: &str, class: &str) -> &'a Value {
    events
        .iter()
        .map(|(_, e)| e)
        .find(|e| e["path"] == path && e["status_class"] == class)
        .unwrap_or_else(|| panic!("no line for {path} {class}: {events:?}"))
}

const POLICY: &str = r#"
mode: enforce
observe: {interval_seconds: 10, max_keys: 4}
policies:
  - name: no-admin
    action: DENY
    rules: [{to: [{paths: ["/admin*"]}]}]
"#;

#[test]
fn a_window_logs_one_line_per_key_with_counts_sums_and_statuses() {
    let mut p = plugin_at_t0(POLICY);
    assert_eq!(
        p.tick_period(""),
        Some(Duration::from_secs(10)),
        "observe.interval_seconds"
    );
    for body in ["[1]", "[1,2,3]"] {
        let out = p.run(&from_frontend(Request::get("/orders")), &json_ok(body)).unwrap();
        assert_eq!(out.status(), Some(200));
    }
    // A slow one: 250 ms between its request and its response.
    let id = p.open_stream().unwrap();
    p.stream(id)
        .send_request(&from_frontend(Request::post("/orders", "0123456789")))
        .unwrap();
    p.advance(Duration::from_millis(250)).unwrap();
    let mut s = p.stream(id);
    s.send_response(&json_ok("{}")).unwrap();
    s.finish().unwrap();
    // Blocked by the policy: the local 403 is what the client got.
    let out = p
        .run(&from_frontend(Request::get("/admin/users")), &json_ok("x"))
        .unwrap();
    assert_eq!(out.status(), Some(403));
    // The client went away before any response: status class `none`.
    let id = p.open_stream().unwrap();
    p.stream(id)
        .send_request(&from_frontend(Request::get("/orders")))
        .unwrap();
    p.stream(id).finish().unwrap();
    assert!(observations(p.logs()).is_empty(), "nothing before the window ends");

    p.advance(Duration::from_secs(10)).unwrap();
    let events = observations(p.logs());
    assert_eq!(events.len(), 4, "{events:#?}");
    assert!(events.iter().all(|(level, _)| level == "warn"), "the evidence level");
    let get = line(&events, "/orders", "2xx");
    assert_eq!(get["method"], "GET");
    assert_eq!(get["count"], 2);
    assert_eq!(get["response_bytes"], serde_json::json!({"sum": 10, "max": 7}));
    assert_eq!(get["content_type"], "application/json");
    assert_eq!(get["principal"], FRONTEND);
    assert_eq!(get["namespace"], "web");
    assert_eq!(get["source_ip"], "10.1.0.5");
    assert_eq!(get["destination"], "10.1.0.9:8080");
    assert_eq!(get["sni"], "orders.svc");
    assert_eq!(get["mode"], "enforce");
    assert_eq!(get["decisions"]["allow"], 2);
    assert_eq!(get["window_start"], "2026-12-07T19:40:00.000Z");
    assert_eq!(
        get["window_end"], "2026-12-07T19:40:10.000Z",
        "the tick is due 10 s after configure"
    );
    let post = events
        .iter()
        .map(|(_, e)| e)
        .find(|e| e["method"] == "POST")
        .expect("the POST line");
    assert_eq!(post["request_bytes"], serde_json::json!({"sum": 10, "max": 10}));
    assert_eq!(post["latency_ms"], serde_json::json!({"sum": 250, "max": 250}));
    assert_eq!(post["first_seen"], "2026-12-07T19:40:00.250Z");
    let blocked = line(&events, "/admin/users", "4xx");
    assert_eq!(blocked["decisions"]["block"], 1);
    assert_eq!(blocked["content_type"], "text/plain", "the filter's own reply");
    let reset = line(&events, "/orders", "none");
    assert_eq!(reset["count"], 1);
    assert!(reset["content_type"].is_null());

    // The next window starts empty: a tick without requests logs nothing.
    let before = p.logs().len();
    p.advance(Duration::from_secs(10)).unwrap();
    assert!(observations(&p.logs()[before..]).is_empty());
}

#[test]
fn keys_beyond_max_keys_fold_into_one_overflow_line_and_are_counted() {
    let mut p = plugin_at_t0("observe: {interval_seconds: 5, max_keys: 2}");
    for path in ["/a", "/b", "/c", "/d", "/a", "/e"] {
        p.run(&Request::get(path), &Response::ok()).unwrap();
    }
    assert_eq!(counter(&p, "meshward_policy.observation_overflow"), 3);
    p.advance(Duration::from_secs(5)).unwrap();
    let events = observations(p.logs());
    assert_eq!(events.len(), 3, "max_keys + 1: {events:#?}");
    assert_eq!(line(&events, "/a", "2xx")["count"], 2);
    assert_eq!(line(&events, "/a", "2xx")["mode"], "detect", "zero config is detect");
    assert_eq!(line(&events, "/a", "2xx")["decisions"]["allow"], 2);
    let overflow = &events[2].1;
    assert_eq!(overflow["overflow"], true);
    assert_eq!(overflow["count"], 3);
    assert!(overflow["path"].is_null() && overflow["method"].is_null(), "{overflow}");
}

#[test]
fn observation_is_on_with_zero_config_and_off_when_disabled() {
    let mut p = plugin_at_t0("");
    assert_eq!(p.tick_period(""), Some(Duration::from_secs(60)));
    p.run(&Request::get("/x"), &Response::ok()).unwrap();
    p.advance(Duration::from_secs(60)).unwrap();
    let events = observations(p.logs());
    assert_eq!(events.len(), 1, "{events:#?}");
    assert_eq!(events[0].1["count"], 1);

    // Analytics keeps the tick for its sweep; no observation lines all the same.
    let mut p = plugin_at_t0("observe: {enabled: false}");
    assert_eq!(p.tick_period(""), Some(Duration::from_secs(60)), "the analytics sweep");
    p.run(&Request::get("/x"), &Response::ok()).unwrap();
    p.advance(Duration::from_secs(120)).unwrap();
    assert!(observations(p.logs()).is_empty());

    let p = plugin_at_t0("observe: {enabled: false}\nanalytics: {enabled: false}");
    assert_eq!(p.tick_period(""), Some(Duration::ZERO), "no tick");
}

#[test]
fn an_invalid_observe_section_fails_configuration() {
    let err = host()
        .plugin(&module())
        .config("observe: {max_keys: 0}")
        .build()
        .err()
        .expect("max_keys 0 is refused");
    assert!(err.to_string().contains("observe.max_keys"), "{err}");
}
