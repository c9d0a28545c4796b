//! Behaviour analytics through the built `meshward_netpolicy.wasm` in host-test: a prober's
//! distinct 404s raise a schema-valid `meshward.policy.alert` (detect: nothing refused;
//! enforce: the next request gets 429), ordinary traffic raises nothing, the table and key
//! live in shared data, and a bad `analytics` section is refused at load with its reason.

mod common;

use std::time::{Duration, UNIX_EPOCH};

use common::{alerts, counter, host, module};
use meshward_host_test::{Plugin, Request, Response};

/// 2026-12-07T19:40:00Z.
const T0_SECS: u64 = 1_796_672_400;

/// A plugin in its own VM id: shared data is per VM id, as in Envoy, and the tests share one
/// host.
fn plugin_at_t0(vm_id: &str, policy: &str) -> Plugin {
    host()
        .plugin(&module())
        .vm_id(vm_id)
        .config(policy)
        .time(UNIX_EPOCH + Duration::from_secs(T0_SECS))
        .build()
        .unwrap_or_else(|e| panic!("{e}\n{policy}"))
}

fn from(ip: &str, path: &str) -> Request {
    Request::get(path).property("source.address", format!("{ip}:40000"))
}

/// `n` requests for distinct missing paths, 200 ms apart; the statuses the client got.
fn probe(p: &mut Plugin, ip: &str, n: usize) -> Vec<Option<u16>> {
    (0..n)
        .map(|i| {
            p.advance(Duration::from_millis(200)).unwrap();
            let out = p
                .run(&from(ip, &format!("/wp-admin/x{i}.php")), &Response::status(404))
                .unwrap();
            out.status()
        })
        .collect()
}

#[test]
fn a_prober_raises_one_alert_in_detect_mode_and_nothing_is_refused() {
    let mut p = plugin_at_t0("detect", "mode: detect\n");
    let statuses = probe(&mut p, "198.51.100.1", 30);
    assert!(statuses.iter().all(|s| *s == Some(404)), "{statuses:?}");
    let found = alerts(p.logs());
    assert_eq!(found.len(), 1, "one alert per episode: {found:?}");
    let (level, a) = &found[0];
    assert_eq!(level, "warn", "at the evidence level");
    assert_eq!(a["detector"], "probing");
    assert_eq!(a["entity_kind"], "client");
    assert_eq!(a["entity"], "198.51.100.1");
    assert_eq!(a["mode"], "detect");
    assert_eq!(a["enforced"], false);
    assert_eq!(counter(&p, "meshward_policy.alerts"), 1);
    assert_eq!(counter(&p, "meshward_policy.alerts.probing"), 1);
    assert_eq!(counter(&p, "meshward_policy.analytics_blocked"), 0);
    // The zero-config key is the proxy's, in shared data; the records are there too.
    let key = p.shared_data("meshward.analytics.key").expect("a key was stored");
    assert_eq!(key.len(), 32);
    assert!(key.iter().all(u8::is_ascii_hexdigit), "{key:?}");
}

#[test]
fn in_enforce_mode_the_prober_gets_429_until_the_block_ends_and_others_do_not() {
    let doc = "mode: detect\nanalytics:\n  engine:\n    key: 00112233445566778899aabbccddeeff\n    probing: {common: {mode: enforce, action: {duration_secs: 60}}}\n";
    let mut p = plugin_at_t0("enforce", doc);
    let statuses = probe(&mut p, "198.51.100.2", 40);
    // The request that raised the alert was answered; from the next one on, 429.
    let first = statuses.iter().position(|s| *s == Some(429)).expect("blocked");
    assert!(first >= 20, "{statuses:?}");
    assert!(statuses[..first].iter().all(|s| *s == Some(404)), "{statuses:?}");
    assert!(statuses[first..].iter().all(|s| *s == Some(429)), "{statuses:?}");
    let found = alerts(p.logs());
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].1["enforced"], true);
    assert_eq!(found[0].1["status"], 429);
    let out = p.run(&from("198.51.100.2", "/"), &Response::ok()).unwrap();
    assert_eq!(out.status(), Some(429), "blocked");
    assert_eq!(
        counter(&p, "meshward_policy.analytics_blocked"),
        (statuses.len() - first + 1) as u64
    );
    let out = p.run(&from("192.0.2.9", "/"), &Response::ok()).unwrap();
    assert_eq!(out.status(), Some(200), "another client is not");
    p.advance(Duration::from_secs(61)).unwrap();
    let out = p.run(&from("198.51.100.2", "/"), &Response::ok()).unwrap();
    assert_eq!(out.status(), Some(200), "the block ended");
    assert!(
        p.shared_data("meshward.analytics.key").is_none(),
        "a configured key is not stored"
    );
}

#[test]
fn ordinary_traffic_raises_nothing() {
    let mut p = plugin_at_t0("ordinary", "");
    for i in 0..200 {
        let ip = format!("192.0.2.{}", i % 10);
        p.advance(Duration::from_millis(300)).unwrap();
        let path = ["/", "/products", "/products/1", "/cart", "/favicon.ico"][i % 5];
        let resp = if path == "/favicon.ico" {
            Response::status(404)
        } else {
            Response::ok()
        };
        p.run(&from(&ip, path), &resp).unwrap();
    }
    assert!(alerts(p.logs()).is_empty(), "{:?}", alerts(p.logs()));
    assert_eq!(counter(&p, "meshward_policy.alerts"), 0);
}

#[test]
fn analytics_off_stores_nothing() {
    let mut p = plugin_at_t0("off", "analytics: {enabled: false}\n");
    probe(&mut p, "198.51.100.3", 30);
    assert!(alerts(p.logs()).is_empty());
    assert!(p.shared_data("meshward.analytics.key").is_none());
}

#[test]
fn a_bad_analytics_section_is_refused_at_load_with_its_reason() {
    let doc = "mode: detect\nanalytics:\n  engine:\n    probing: {common: {action: {status: 500}}}\n";
    let Err(err) = host().plugin(&module()).config(doc).build() else {
        panic!("a bad analytics section loaded");
    };
    let err = err.to_string();
    assert!(err.contains("configuration rejected"), "{err}");
    assert!(
        err.contains(
            "invalid policy: line 2, field `analytics.engine.probing.common.action.status`: must be 403 or 429"
        ),
        "{err}"
    );
}
