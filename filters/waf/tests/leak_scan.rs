//! The leak scan past the response inspection limit (mesh profile, embedded CRS, driven natively
//! the way Envoy calls the filter): a leak anywhere after `response_body.limit` is found as the
//! body streams, whatever the chunking, and resets the stream in enforce mode (recorded in detect
//! mode); a benign large response passes whole; CRS's profile keeps CRS's behaviour.

mod driven;

use std::rc::Rc;

use driven::{get, headers, limits, load, run};
use meshward_vocab::Decision;
use meshward_waf::drive::{Driven, Response};
use meshward_waf::loaded::Loaded;

const LEAK: &[u8] = b"You have an error in your SQL syntax; check the manual that corresponds to your MySQL \
    server version for the right syntax to use near '1'' at line 1";
const LIMIT: usize = 524_288;

/// A benign text body of `n` bytes with `LEAK` at `at` (if any).
fn body(n: usize, at: Option<usize>) -> Vec<u8> {
    let mut out = Vec::with_capacity(n + 64);
    let mut i = 0u64;
    while out.len() < n {
        out.extend_from_slice(format!("row {i}: parcel {} shipped\n", i * 7919 % 100_003).as_bytes());
        i += 1;
    }
    out.truncate(n);
    if let Some(at) = at {
        out[at..at + LEAK.len()].copy_from_slice(LEAK);
    }
    out
}

fn respond(loaded: &Rc<Loaded>, body: &[u8], chunk: usize) -> Driven {
    let mut response = Response::new(200, headers(&[("content-type", "text/plain")]), Vec::new());
    response.body = body.chunks(chunk).map(<[u8]>::to_vec).collect();
    run(loaded, &get(), response)
}

fn found_at(d: &Driven) -> Option<String> {
    limits(d)
        .into_iter()
        .find(|l| l.starts_with("response_leak_past_limit("))
}

#[test]
fn a_leak_past_the_limit_resets_the_stream_in_enforce_mode() {
    let enforce = load(r#"{"mode":"enforce"}"#);
    let n = 2 << 20;
    // Past the limit, across a chunk boundary, across a window boundary, straddling the limit (its
    // first 20 bytes alone are no leak: phase 4 does not see it).
    for at in [1_500_000, 16_384 * 40 - 20, LIMIT + 65_536 - 30, LIMIT - 20] {
        for chunk in [16_384, 1000, 1 << 20] {
            let d = respond(&enforce, &body(n, Some(at)), chunk);
            assert!(d.reset, "leak at {at}, chunks of {chunk}: {:?}", limits(&d));
            let rules: Vec<u64> = d.transaction.matched_rules().iter().map(|m| m.id).collect();
            assert!(rules.contains(&951_230), "{rules:?}");
            let found = found_at(&d).unwrap_or_else(|| panic!("at {at}/{chunk}: {:?}", limits(&d)));
            let offset: usize = found
                .split("offset=")
                .nth(1)
                .and_then(|s| s.trim_end_matches(')').parse().ok())
                .unwrap();
            assert!(
                offset <= at && at < offset + meshward_waf::tail::WINDOW,
                "{found} for {at}"
            );
            assert_eq!(d.finish.event.as_ref().unwrap().decision, Decision::Block);
        }
    }
}

#[test]
fn a_benign_large_response_passes_whole() {
    let enforce = load(r#"{"mode":"enforce"}"#);
    let sent = body(3 << 20, None);
    for chunk in [16_384, 1 << 20] {
        let d = respond(&enforce, &sent, chunk);
        assert!(!d.reset);
        assert_eq!(d.response.body.concat(), sent);
        let l = limits(&d);
        assert!(l.contains(&"response_body_scanned_past_limit".to_string()), "{l:?}");
        assert_eq!(found_at(&d), None);
        assert_eq!(d.finish.event.as_ref().unwrap().decision, Decision::Allow);
    }
}

#[test]
fn detect_mode_records_the_leak_and_passes_the_response() {
    let detect = load(r#"{"mode":"detect"}"#);
    let d = respond(&detect, &body(2 << 20, Some(1_200_000)), 16_384);
    assert!(!d.reset);
    assert!(found_at(&d).is_some(), "{:?}", limits(&d));
    assert_eq!(d.finish.event.as_ref().unwrap().decision, Decision::WouldBlock);
}

#[test]
fn crs_profile_and_reject_keep_their_behaviour() {
    let crs = load(r#"{"mode":"enforce","profile":"crs"}"#);
    let d = respond(&crs, &body(2 << 20, Some(1_500_000)), 16_384);
    assert!(!d.reset, "CRS's profile inspects the first limit bytes only");
    assert!(!limits(&d).contains(&"response_body_scanned_past_limit".to_string()));
    let reject = load(r#"{"mode":"enforce","response_body":{"on_limit":"reject"}}"#);
    let d = respond(&reject, &body(2 << 20, None), 16_384);
    assert!(d.reset, "reject refuses a response over the limit");
    assert!(!limits(&d).contains(&"response_body_scanned_past_limit".to_string()));
}

#[test]
fn a_response_declared_over_the_limit_is_scanned_as_it_streams_never_held() {
    let enforce = load(r#"{"mode":"enforce"}"#);
    let n = 2 << 20;
    let declared = |body: &[u8], chunk: usize| {
        let length = body.len().to_string();
        let mut response = Response::new(
            200,
            headers(&[("content-type", "text/plain"), ("content-length", length.as_str())]),
            Vec::new(),
        );
        response.body = body.chunks(chunk).map(<[u8]>::to_vec).collect();
        run(&enforce, &get(), response)
    };
    // Envoy resets a response whose held body outgrows its buffer (1 MiB by default), and a
    // read can bring that much at once: such a body is never held, whatever the chunking.
    for chunk in [16_384, 1 << 20] {
        let sent = body(n, None);
        let d = declared(&sent, chunk);
        assert!(!d.reset);
        assert_eq!(d.response.body.concat(), sent);
        assert_eq!(d.response_held_most, 0, "chunks of {chunk}");
        // A leak before the limit, which phase 4 would have seen, is found by the scan too.
        let d = declared(&body(n, Some(1000)), chunk);
        assert!(d.reset, "chunks of {chunk}: {:?}", limits(&d));
        assert_eq!(d.response_held_most, 0);
        assert_eq!(d.finish.event.as_ref().unwrap().decision, Decision::Block);
    }
    // Without a declared length the first `limit` bytes are held and inspected together.
    let d = respond(&enforce, &body(n, None), 16_384);
    assert!(d.response_held_most > 0 && d.response_held_most <= LIMIT + 16_384);
}
