use super::*;
use crate::{Engine, Request};
use serde_json::Value;

const T0: u64 = 1_796_672_400_000_000_000; // 2026-12-07T19:40:00Z
const SEC: u64 = 1_000_000_000;

fn key_of(doc: &str, path: &str, sni: Option<&str>) -> RequestKey {
    let e = Engine::from_text(doc).unwrap();
    let headers = [("x-forwarded-for".to_string(), "203.0.113.9".to_string())];
    let r = e.decide(&Request {
        method: "get",
        path,
        authority: "API.example.com:8080",
        headers: &headers,
        source_address: Some("10.0.0.1:5555"),
        destination_address: Some("10.0.0.9:8080"),
        mtls: true,
        peer_uri_san: Some("spiffe://cluster.local/ns/web/sa/frontend"),
        ..Request::default()
    });
    RequestKey::from_ruling(&r, sni)
}

fn exchange(status: Option<u16>, decision: Decision) -> Exchange<'static> {
    Exchange {
        status,
        content_type: Some("application/json; charset=utf-8"),
        request_bytes: 10,
        response_bytes: 100,
        latency_ms: 5,
        decision,
    }
}

fn aggregator(max_keys: u32) -> Aggregator {
    let config = Observe {
        max_keys,
        ..Observe::default()
    };
    Aggregator::new(&config, Mode::Detect, T0)
}

fn parse(lines: &[String]) -> Vec<Value> {
    lines
        .iter()
        .map(|l| {
            let json = l.strip_prefix(OBSERVATION_PREFIX).unwrap_or_else(|| panic!("{l}"));
            serde_json::from_str(json).unwrap()
        })
        .collect()
}

#[test]
fn an_empty_window_logs_nothing_and_still_moves_on() {
    let mut a = aggregator(10);
    assert!(a.is_empty());
    assert!(a.flush(T0 + 60 * SEC).is_empty());
    a.record(
        key_of("", "/a", None),
        &exchange(Some(200), Decision::Allow),
        T0 + 61 * SEC,
    );
    let e = parse(&a.flush(T0 + 120 * SEC));
    assert_eq!(
        e[0]["window_start"], "2026-12-07T19:41:00.000Z",
        "the empty window ended it"
    );
    assert_eq!(e[0]["window_end"], "2026-12-07T19:42:00.000Z");
    assert!(a.flush(T0 + 180 * SEC).is_empty(), "a flush empties the table");
}

#[test]
fn one_line_per_key_with_counts_sums_and_maxima() {
    let mut a = aggregator(10);
    let k = key_of(
        "",
        "/users/;jsessionid=ABC123?password=hunter2",
        Some("API.Example.com."),
    );
    let mut x = exchange(Some(200), Decision::Allow);
    a.record(k.clone(), &x, T0 + SEC);
    x.request_bytes = 30;
    x.response_bytes = 7;
    x.latency_ms = 40;
    x.decision = Decision::WouldBlock;
    // Same key: the media type is compared without parameters, case-insensitively.
    x.content_type = Some("Application/JSON");
    a.record(k, &x, T0 + 2 * SEC);
    assert_eq!(a.len(), 1);
    let lines = a.flush(T0 + 60 * SEC);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        !lines[0].contains("ABC123") && !lines[0].contains("hunter2"),
        "{}",
        lines[0]
    );
    let e = &parse(&lines)[0];
    let want = serde_json::json!({
        "v": 1, "type": "observation",
        "window_start": "2026-12-07T19:40:00.000Z", "window_end": "2026-12-07T19:41:00.000Z",
        "first_seen": "2026-12-07T19:40:01.000Z", "last_seen": "2026-12-07T19:40:02.000Z",
        "mode": "detect",
        "principal": "spiffe://cluster.local/ns/web/sa/frontend", "namespace": "web",
        "source_ip": "10.0.0.1", "remote_ip": "10.0.0.1", "request_principal": null,
        "host": "api.example.com:8080", "destination": "10.0.0.9:8080", "sni": "api.example.com",
        "direction": null, "internet": null, "method": "GET",
        "path": "/users/;jsessionid=[redacted]",
        "status_class": "2xx", "content_type": "application/json",
        "count": 2,
        "decisions": {"allow": 1, "block": 0, "would_block": 1, "refused": 0},
        "request_bytes": {"sum": 40, "max": 30},
        "response_bytes": {"sum": 107, "max": 100},
        "latency_ms": {"sum": 45, "max": 40}
    });
    assert_eq!(e, &want);
}

#[test]
fn trusted_hops_pick_the_remote_ip() {
    let k = key_of("trusted_proxy_hops: 1", "/", None);
    assert_eq!(k.remote_ip, Some("203.0.113.9".parse().unwrap()));
    assert_eq!(k.source_ip, Some("10.0.0.1".parse().unwrap()));
}

#[test]
fn status_classes_split_keys_and_none_means_no_response() {
    let mut a = aggregator(20);
    let statuses = [
        Some(101),
        Some(204),
        Some(302),
        Some(403),
        Some(503),
        None,
        Some(0),
        Some(600),
    ];
    for s in statuses {
        a.record(key_of("", "/a", None), &exchange(s, Decision::Allow), T0);
    }
    let events = parse(&a.flush(T0 + SEC));
    let mut classes: Vec<(String, u64)> = events
        .iter()
        .map(|e| {
            (
                e["status_class"].as_str().unwrap().to_string(),
                e["count"].as_u64().unwrap(),
            )
        })
        .collect();
    classes.sort();
    let want = [("1xx", 1), ("2xx", 1), ("3xx", 1), ("4xx", 1), ("5xx", 1), ("none", 3)];
    assert_eq!(classes, want.map(|(c, n)| (c.to_string(), n)));
}

#[test]
fn keys_beyond_max_fold_into_one_overflow_line() {
    let mut a = aggregator(2);
    let paths = ["/a", "/b", "/c", "/d", "/a", "/e"];
    let got: Vec<Recorded> = paths
        .iter()
        .enumerate()
        .map(|(i, p)| {
            a.record(
                key_of("", p, None),
                &exchange(Some(200), Decision::Block),
                T0 + i as u64 * SEC,
            )
        })
        .collect();
    use Recorded::{Kept, Overflow};
    assert_eq!(
        got,
        [Kept, Kept, Overflow, Overflow, Kept, Overflow],
        "a kept key still counts"
    );
    let lines = a.flush(T0 + 60 * SEC);
    assert_eq!(lines.len(), 3, "max_keys + 1: {lines:?}");
    let e = parse(&lines);
    assert_eq!(e[0]["path"], "/a");
    assert_eq!(e[0]["count"], 2);
    assert_eq!(e[1]["path"], "/b");
    assert!(e[0].get("overflow").is_none(), "only the overflow line carries it");
    let o = &e[2];
    assert_eq!(o["overflow"], true);
    assert_eq!(o["count"], 3);
    assert_eq!(o["decisions"]["block"], 3);
    assert_eq!(o["first_seen"], "2026-12-07T19:40:02.000Z");
    assert_eq!(o["last_seen"], "2026-12-07T19:40:05.000Z");
    for field in [
        "principal",
        "namespace",
        "source_ip",
        "remote_ip",
        "request_principal",
        "host",
        "destination",
        "sni",
        "direction",
        "internet",
        "method",
        "path",
        "status_class",
        "content_type",
    ] {
        assert!(o[field].is_null(), "{field} of the overflow line: {o}");
    }
    // The next window starts with an empty table: new keys are kept again.
    assert_eq!(
        a.record(key_of("", "/z", None), &exchange(None, Decision::Allow), T0 + 61 * SEC),
        Kept
    );
    assert_eq!(a.flush(T0 + 120 * SEC).len(), 1);
}

#[test]
fn a_refused_path_is_null_and_sums_saturate() {
    let mut a = aggregator(5);
    let k = key_of("mode: enforce", "/a%2fb", None);
    assert_eq!(k.path, None);
    let mut x = exchange(Some(400), Decision::Refused);
    x.response_bytes = u64::MAX;
    x.content_type = Some("  ");
    a.record(k.clone(), &x, T0);
    a.record(k, &x, T0);
    let e = &parse(&a.flush(T0 + SEC))[0];
    assert!(e["path"].is_null() && e["content_type"].is_null(), "{e}");
    assert_eq!(e["response_bytes"]["sum"], u64::MAX);
    assert_eq!(e["decisions"]["refused"], 2);
    assert_eq!(e["method"], "GET");
}

#[test]
fn media_types_and_server_names() {
    assert_eq!(media_type("Text/HTML; charset=UTF-8").as_deref(), Some("text/html"));
    assert_eq!(media_type(";x=1"), None);
    assert_eq!(normalize_sni("API.Example."), Some("api.example".to_string()));
    assert_eq!(normalize_sni(""), None);
}

#[test]
fn observe_settings_are_validated_and_on_by_default() {
    let e = Engine::from_text("").unwrap();
    assert_eq!(e.observe(), Observe::default());
    assert!(e.observe().enabled);
    let e = Engine::from_text("observe: {enabled: false, interval_seconds: 5, max_keys: 7}").unwrap();
    assert_eq!(
        e.observe(),
        Observe {
            enabled: false,
            interval_seconds: 5,
            max_keys: 7
        }
    );
    for (doc, want) in [
        (
            "observe: {interval_seconds: 0}",
            "line 1, field `observe.interval_seconds`: must be 1..=86400",
        ),
        (
            "observe: {interval_seconds: 86401}",
            "field `observe.interval_seconds`: must be 1..=86400",
        ),
        ("observe: {max_keys: 0}", "field `observe.max_keys`: must be 1..=100000"),
        (
            "mode: detect\nobserve:\n  max_keys: 100001",
            "line 2, field `observe.max_keys`",
        ),
        ("mode: detect\nobserve:\n  enabld: true", "line 3"),
    ] {
        let err = Engine::from_text(doc).unwrap_err().to_string();
        assert!(err.contains(want), "{doc:?}: {err}");
    }
    let err = Engine::from_text("observe: {enabld: true}").unwrap_err().to_string();
    assert!(err.contains("unknown field `enabld`"), "{err}");
}
