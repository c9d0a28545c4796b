//! Content-Encoding in the mesh profile with the embedded CRS, driven natively the way Envoy
//! calls the filter: coded request bodies are decoded before CRS reads them (an attack in them
//! is blocked, a benign one passes), codings meshward does not decode are refused by its own
//! rule, undecodable bodies and bombs are refused in enforce mode and recorded in detect mode,
//! and coded or JSON responses carrying a leak are caught in phase 4.

mod coding;
mod driven;

use coding::{br, gzip, raw_deflate, zlib};
use driven::{get, headers, limits, load, run};

use meshward_vocab::Decision;
use meshward_waf::drive::{Driven, Request, Response};
use meshward_waf::profile::UNDECODED_ENCODING_RULE;

const ATTACK: &[u8] = b"q=1' UNION SELECT password FROM users --&id=7";
const BENIGN: &[u8] = b"q=blue+widgets&id=7";
const SQL_LEAK: &str = "<html><body>You have an error in your SQL syntax; check the manual that corresponds to \
     your MySQL server version for the right syntax to use near '1'' at line 1</body></html>";

/// The same body in each coding meshward decodes: (Content-Encoding, encoded bytes).
fn codings(body: &[u8]) -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("gzip", gzip(body)),
        ("x-gzip", gzip(body)),
        ("deflate", zlib(body)),
        ("deflate", raw_deflate(body)),
        ("br", br(body)),
        ("gzip, br", br(&gzip(body))),
    ]
}

/// A form POST with this Content-Encoding, its body split into chunks of `chunk` bytes.
fn post(encoding: &str, body: &[u8], chunk: usize) -> Request {
    let length = body.len().to_string();
    Request {
        headers: headers(&[
            (":method", "POST"),
            (":path", "/search"),
            (":authority", "shop.example"),
            (":scheme", "http"),
            ("content-type", "application/x-www-form-urlencoded"),
            ("content-encoding", encoding),
            ("content-length", &length),
        ]),
        body: body.chunks(chunk.max(1)).map(<[u8]>::to_vec).collect(),
        ..Request::default()
    }
}

fn ok() -> Response {
    Response::new(200, headers(&[("content-type", "text/plain")]), b"ok".to_vec())
}

fn ids(d: &Driven) -> Vec<u64> {
    d.transaction
        .matched_rules()
        .iter()
        .filter(|m| m.logged)
        .map(|m| m.id)
        .collect()
}

#[test]
fn coded_request_bodies_are_inspected_decoded() {
    let loaded = load(r#"{"mode":"enforce"}"#);
    for (encoding, attack) in codings(ATTACK) {
        for chunk in [attack.len(), 7, 1] {
            let d = run(&loaded, &post(encoding, &attack, chunk), ok());
            assert_eq!(
                d.response.status(),
                403,
                "{encoding} in chunks of {chunk}: {:?}",
                ids(&d)
            );
            assert!(!d.upstream_reached, "{encoding}: the attack never reaches the upstream");
            assert!(
                ids(&d).iter().any(|id| (942000..943000).contains(id)),
                "{encoding}: SQLi rules"
            );
            assert!(
                !ids(&d).contains(&920450),
                "{encoding}: Content-Encoding is not restricted"
            );
        }
    }
    for (encoding, benign) in codings(BENIGN) {
        let d = run(&loaded, &post(encoding, &benign, 5), ok());
        assert_eq!(d.response.status(), 200, "{encoding}: {:?}", ids(&d));
        assert!(d.upstream_reached, "{encoding}");
        assert!(d.finish.event.is_none(), "{encoding}: clean, no event: {:?}", ids(&d));
    }
}

#[test]
fn codings_not_decoded_are_refused_by_their_own_rule() {
    let loaded = load(r#"{"mode":"enforce"}"#);
    for encoding in ["zstd", "compress", "gzip, zstd"] {
        let d = run(&loaded, &post(encoding, BENIGN, 64), ok());
        assert_eq!(d.response.status(), 403, "{encoding}");
        let rule = d
            .transaction
            .matched_rules()
            .iter()
            .find(|m| m.id == UNDECODED_ENCODING_RULE);
        let rule = rule.unwrap_or_else(|| panic!("{encoding}: {:?}", ids(&d)));
        assert!(
            rule.msg.contains("Content-Encoding not decoded by meshward"),
            "{}",
            rule.msg
        );
    }
    // CRS's own profile keeps CRS's policy: Content-Encoding is a restricted header, nothing decoded.
    let crs = load(r#"{"mode":"enforce","profile":"crs"}"#);
    let d = run(&crs, &post("gzip", &gzip(BENIGN), 64), ok());
    assert_eq!(d.response.status(), 403);
    assert!(ids(&d).contains(&920450), "{:?}", ids(&d));
}

#[test]
fn undecodable_request_bodies_are_refused_in_enforce_and_recorded_in_detect() {
    let mut truncated = gzip(BENIGN);
    truncated.truncate(truncated.len() - 4);
    let cases = [
        ("gzip", BENIGN.to_vec(), "request_body_encoding_corrupt"),
        (
            "br",
            b"\xff\xff\xff\xff not brotli".to_vec(),
            "request_body_encoding_corrupt",
        ),
        ("gzip", truncated, "request_body_encoding_truncated"),
    ];
    let enforce = load(r#"{"mode":"enforce"}"#);
    let detect = load(r#"{"mode":"detect"}"#);
    for (encoding, body, limit) in cases {
        let d = run(&enforce, &post(encoding, &body, 3), ok());
        assert_eq!(d.response.status(), 400, "{limit}");
        assert!(!d.upstream_reached, "{limit}");
        assert_eq!(d.reply.as_ref().unwrap().details, "meshward_waf_body_undecodable");
        let event = d.finish.event.as_ref().expect("an event");
        assert_eq!(event.decision, Decision::Refused, "{limit}");
        assert!(event.limits.contains(&limit.to_string()), "{limit}: {:?}", event.limits);

        let d = run(&detect, &post(encoding, &body, 3), ok());
        assert_eq!(d.response.status(), 200, "{limit}: detect passes");
        assert!(d.upstream_reached);
        let event = d.finish.event.as_ref().expect("an event");
        assert!(event.limits.contains(&limit.to_string()), "{limit}: {:?}", event.limits);
        assert!(
            !event.limits.iter().any(|l| l.contains("over_limit")),
            "{:?}",
            event.limits
        );
        assert_ne!(event.decision, Decision::Refused);
    }
}

#[test]
fn a_decompression_bomb_gets_the_limit_action() {
    let mut bomb = b"q=".to_vec();
    bomb.resize(4 << 20, b'a');
    let bomb = gzip(&bomb);
    let reject = load(r#"{"mode":"enforce"}"#);
    let d = run(&reject, &post("gzip", &bomb, 1024), ok());
    assert_eq!(d.response.status(), 413);
    assert!(!d.upstream_reached);
    let event = d.finish.event.as_ref().unwrap();
    assert_eq!(event.decision, Decision::Refused);
    assert!(
        event.limits.contains(&"request_body_decode_ratio".to_string()),
        "{:?}",
        event.limits
    );

    // (SecRequestBodyNoFilesLimit raised: the part decoded before the guard stopped is larger.)
    let partial = load(r#"{"mode":"enforce","request_body":{"on_limit":"process_partial","no_files_limit":13107200}}"#);
    let d = run(&partial, &post("gzip", &bomb, 1024), ok());
    assert_eq!(d.response.status(), 200, "{:?}", ids(&d));
    assert!(
        limits(&d).contains(&"request_body_decode_ratio".to_string()),
        "{:?}",
        limits(&d)
    );

    // Decoded bytes count against the body limit.
    let small = load(r#"{"mode":"enforce","request_body":{"limit":1000}}"#);
    let body: Vec<u8> = BENIGN.iter().copied().cycle().take(5000).collect();
    let d = run(&small, &post("gzip", &gzip(&body), 1024), ok());
    assert_eq!(d.response.status(), 413, "{:?}", limits(&d));
    assert!(
        limits(&d).contains(&"request_body_over_limit".to_string()),
        "{:?}",
        limits(&d)
    );
}

fn html(encoding: Option<&str>, body: Vec<u8>, content_type: &str) -> Response {
    let mut h = vec![("content-type", content_type)];
    if let Some(e) = encoding {
        h.push(("content-encoding", e));
    }
    Response::new(200, headers(&h), body)
}

#[test]
fn coded_responses_are_inspected_decoded() {
    let enforce = load(r#"{"mode":"enforce"}"#);
    for (encoding, leak) in codings(SQL_LEAK.as_bytes()) {
        let d = run(&enforce, &get(), html(Some(encoding), leak, "text/html"));
        assert!(d.reset, "{encoding}: the leak is not delivered whole: {:?}", ids(&d));
        assert!(ids(&d).contains(&951230), "{encoding}: {:?}", ids(&d));
    }
    let page = b"<html><body>Your order has shipped.</body></html>";
    for (encoding, benign) in codings(page) {
        let d = run(&enforce, &get(), html(Some(encoding), benign.clone(), "text/html"));
        assert!(!d.reset, "{encoding}: {:?}", ids(&d));
        assert_eq!(
            d.response.body.concat(),
            benign,
            "{encoding}: the client gets the coded bytes"
        );
        assert!(d.finish.event.is_none(), "{encoding}: {:?}", ids(&d));
    }
}

#[test]
fn json_responses_are_inspected_in_the_mesh_profile() {
    let leak = format!(r#"{{"error":"{}"}}"#, SQL_LEAK.replace('"', "'"));
    let mesh = load(r#"{"mode":"enforce"}"#);
    for content_type in ["application/json", "application/problem+json; charset=utf-8"] {
        let d = run(&mesh, &get(), html(None, leak.clone().into_bytes(), content_type));
        assert!(d.reset, "{content_type}: {:?}", ids(&d));
        assert!(ids(&d).contains(&951230), "{content_type}");
        let benign = html(None, br#"{"status":"shipped"}"#.to_vec(), content_type);
        let d = run(&mesh, &get(), benign);
        assert!(!d.reset && d.finish.event.is_none(), "{content_type}: {:?}", ids(&d));
    }
    let gz = run(
        &mesh,
        &get(),
        html(Some("gzip"), gzip(leak.as_bytes()), "application/json"),
    );
    assert!(gz.reset, "gzip JSON: {:?}", ids(&gz));
    // CRS's profile inspects only the configured types.
    let crs = load(r#"{"mode":"enforce","profile":"crs"}"#);
    let d = run(&crs, &get(), html(None, leak.into_bytes(), "application/json"));
    assert!(!d.reset && !ids(&d).contains(&951230), "{:?}", ids(&d));
}

#[test]
fn undecodable_responses_are_recorded_not_refused() {
    let enforce = load(r#"{"mode":"enforce"}"#);
    let d = run(
        &enforce,
        &get(),
        html(Some("gzip"), b"not gzip at all".to_vec(), "text/html"),
    );
    assert!(!d.reset);
    assert_eq!(d.response.status(), 200);
    assert!(
        limits(&d).contains(&"response_body_encoding_corrupt".to_string()),
        "{:?}",
        limits(&d)
    );
}
