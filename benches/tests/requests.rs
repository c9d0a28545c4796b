//! The benchmark traffic is what it claims to be: exact sizes, well-formed bodies, and, run
//! through the WAF filter's exchange with CRS PL1, benign requests pass cleanly while the
//! attack variant is blocked.

use std::rc::Rc;

use meshward_benches::requests::{JSON_LEN, MULTIPART_BOUNDARY, MULTIPART_LEN, URLENCODED_LEN};
use meshward_benches::{
    browser_get, browser_get_attack, html_response, json_post, load_filter, logged_rule_ids, multipart_upload,
    run_transaction, urlencoded_post, HttpRequest,
};
use meshward_seclang::{BodyProcessor, Phase};
use meshward_waf::loaded::Loaded;

/// The filter as the benches load it (CRS PL1, enforcing).
fn crs() -> Rc<Loaded> {
    load_filter().unwrap_or_else(|e| panic!("{e}"))
}

fn content_length(r: &HttpRequest) -> usize {
    r.header("content-length")
        .expect("POST has Content-Length")
        .parse()
        .expect("numeric Content-Length")
}

#[test]
fn bodies_have_the_advertised_sizes() {
    for (r, len) in [
        (urlencoded_post(URLENCODED_LEN), 2048),
        (json_post(JSON_LEN), 16384),
        (multipart_upload(MULTIPART_LEN), 65536),
    ] {
        assert_eq!(r.body.len(), len, "{}", r.target);
        assert_eq!(content_length(&r), len);
        assert_eq!(r.method, "POST");
    }
    // Other sizes are honoured too.
    assert_eq!(urlencoded_post(4000).body.len(), 4000);
    assert_eq!(json_post(3000).body.len(), 3000);
    assert_eq!(multipart_upload(10_000).body.len(), 10_000);
    let resp = html_response();
    let cl: usize = resp.header("Content-Length").unwrap().parse().unwrap();
    assert_eq!(cl, resp.body.len());
    assert!(resp.body.len() > 700 && resp.body.len() < 2048, "{}", resp.body.len());
}

#[test]
fn json_body_is_valid_and_nested() {
    let r = json_post(JSON_LEN);
    let v: serde_json::Value = serde_json::from_slice(&r.body).expect("valid JSON");
    let items = v["order"]["items"].as_array().expect("items array");
    assert!(items.len() > 20, "{}", items.len());
    assert!(items[0]["attributes"]["tags"].is_array());
    assert_eq!(v["order"]["customer"]["addresses"][1]["city"], "Berlin");
    assert_eq!(r.header("content-type"), Some("application/json"));
}

#[test]
fn multipart_body_is_framed_by_its_boundary() {
    let r = multipart_upload(MULTIPART_LEN);
    let body = String::from_utf8(r.body.clone()).unwrap();
    assert!(body.starts_with(&format!("--{MULTIPART_BOUNDARY}\r\n")));
    assert!(body.ends_with(&format!("\r\n--{MULTIPART_BOUNDARY}--\r\n")));
    assert_eq!(body.matches(&format!("--{MULTIPART_BOUNDARY}\r\n")).count(), 4);
    assert!(body.contains("filename=\"inventory-2026-q4.csv\""));
    assert_eq!(
        r.header("content-type"),
        Some(format!("multipart/form-data; boundary={MULTIPART_BOUNDARY}").as_str())
    );
}

#[test]
fn browser_get_looks_like_chrome() {
    let r = browser_get();
    assert_eq!(r.method, "GET");
    assert!(r.target.contains('?'));
    assert!(r.header("user-agent").unwrap().contains("Chrome/131"));
    assert!(r.header("cookie").unwrap().contains("session_id="));
    assert!(r.headers.len() >= 15);
    assert!(r.body.is_empty());
}

/// Each benign request runs every phase under CRS PL1 without a logged match, with the
/// body processor it is meant to exercise.
#[test]
fn benign_requests_pass_crs_through_all_phases() {
    let rules = crs();
    let cases: [(&str, HttpRequest, Option<BodyProcessor>, &[u8]); 4] = [
        ("browser_get", browser_get(), None, b""),
        (
            "urlencoded",
            urlencoded_post(URLENCODED_LEN),
            Some(BodyProcessor::UrlEncoded),
            b"message",
        ),
        (
            "json",
            json_post(JSON_LEN),
            Some(BodyProcessor::Json),
            b"json.order.customer.email",
        ),
        (
            "multipart",
            multipart_upload(MULTIPART_LEN),
            Some(BodyProcessor::Multipart),
            b"title",
        ),
    ];
    for (name, req, processor, arg) in cases {
        let driven = run_transaction(&rules, &req, &html_response());
        let tx = &driven.transaction;
        assert_eq!(logged_rule_ids(tx), Vec::<u64>::new(), "{name} matched CRS rules");
        assert!(
            driven.upstream_reached && driven.reply.is_none(),
            "{name} reached the upstream"
        );
        assert!(tx.intervention().is_none(), "{name}: {:?}", tx.intervention());
        assert_eq!(tx.inbound_anomaly_score(), 0, "{name}");
        assert_eq!(tx.outbound_anomaly_score(), 0, "{name}");
        let state = tx.request_body_state();
        assert_eq!(state.processor, processor, "{name}");
        assert!(state.error.is_none(), "{name}: {:?}", state.error);
        if !arg.is_empty() {
            let args = tx.collection("args_post").unwrap();
            assert!(
                args.get(arg).is_some(),
                "{name}: no ARGS_POST:{}",
                String::from_utf8_lossy(arg)
            );
        }
    }
    let tx = run_transaction(&rules, &browser_get(), &html_response()).transaction;
    assert_eq!(
        tx.collection("args_get").unwrap().get(b"q"),
        Some(&b"trail running shoes"[..])
    );
    assert!(tx.collection("request_cookies").unwrap().get(b"session_id").is_some());
}

#[test]
fn attack_variant_is_blocked_in_phase_2() {
    let driven = run_transaction(&crs(), &browser_get_attack(), &html_response());
    assert_eq!(
        driven.reply.as_ref().map(|r| r.status),
        Some(403),
        "the filter answers 403"
    );
    assert!(!driven.upstream_reached);
    let tx = &driven.transaction;
    let ids = logged_rule_ids(tx);
    assert!(ids.contains(&942100), "libinjection SQLi rule did not match: {ids:?}");
    let iv = tx.intervention().expect("CRS blocks the SQL injection");
    assert_eq!((iv.rule_id, iv.status, iv.phase), (949110, 403, Phase::RequestBody));
    assert!(tx.inbound_anomaly_score() >= 5);
}
