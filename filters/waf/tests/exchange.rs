//! The exchange natively: every rule of `exchange.rs`'s module doc, one callback at a time,
//! with small inline rule sets (no CRS) so each test states exactly what should fire.

use std::cell::RefCell;
use std::rc::Rc;

use meshward_vocab::Decision;
use meshward_waf::drive::{self, Request, Response};
use meshward_waf::exchange::{Attributes, BodyState, Exchange, Header, Step};
use meshward_waf::loaded::Loaded;
use meshward_waf::metrics::Counter;

/// A configuration without CRS: `mode`, extra top-level keys, and these directives.
fn load(mode: &str, extra: &str, directives: &[&str]) -> Rc<Loaded> {
    let directives: Vec<String> = directives.iter().map(|d| serde_json::to_string(d).unwrap()).collect();
    let config = format!(
        r#"{{"mode": "{mode}", "crs": false, {extra} "directives": [{}]}}"#,
        directives.join(",")
    );
    Rc::new(Loaded::load(config.as_bytes()).unwrap_or_else(|e| panic!("{config}: {e}")))
}

fn headers(pairs: &[(&str, &str)]) -> Vec<Header> {
    pairs
        .iter()
        .map(|(k, v)| (k.as_bytes().to_vec(), v.as_bytes().to_vec()))
        .collect()
}

fn get(path: &str) -> Vec<Header> {
    headers(&[
        (":method", "GET"),
        (":path", path),
        (":authority", "shop.example"),
        (":scheme", "http"),
    ])
}

fn post(path: &str, extra: &[(&str, &str)]) -> Vec<Header> {
    let mut h = headers(&[
        (":method", "POST"),
        (":path", path),
        (":authority", "shop.example"),
        (":scheme", "http"),
    ]);
    h.extend(headers(extra));
    h
}

fn attributes() -> Attributes {
    Attributes {
        route: Some("r1".into()),
        request_id: Some("prop-id".into()),
        client: "10.0.0.1:5555".into(),
        server: "10.0.0.2:8080".into(),
        protocol: Some("HTTP/1.1".into()),
    }
}

fn start(loaded: &Rc<Loaded>, h: &[Header], eos: bool) -> (Exchange, Step) {
    Exchange::start(loaded.clone(), h, attributes(), eos).expect("a rule set applies")
}

/// A body reader over `buffer` that records each read it was asked for.
fn reader<'a>(
    buffer: &'a [u8],
    reads: &'a RefCell<Vec<(usize, usize)>>,
) -> impl Fn(usize, usize) -> Option<Vec<u8>> + 'a {
    move |start, len| {
        reads.borrow_mut().push((start, len));
        buffer.get(start..(start + len).min(buffer.len())).map(<[u8]>::to_vec)
    }
}

const DENY_EVIL_ARG: &str = r#"SecRule ARGS "@contains evil" "id:101,phase:1,deny,status:403,log,msg:'evil arg'""#;
const DENY_EVIL_BODY: &str =
    r#"SecRule REQUEST_BODY "@contains evil" "id:102,phase:2,deny,status:403,log,msg:'evil body'""#;

#[test]
fn detect_mode_records_would_block_and_never_pauses() {
    let loaded = load("detect", "", &[DENY_EVIL_ARG]);
    let (x, step) = start(&loaded, &get("/?q=evil"), true);
    assert_eq!(step, Step::Continue);
    assert_eq!(
        x.request_state(),
        BodyState::Done,
        "no body: phase 2 ran with the headers"
    );
    let (finish, tx) = x.finish(0);
    assert!(tx.matched_rules().iter().any(|m| m.id == 101));
    let event = finish.event.expect("an event for a match");
    assert_eq!(event.decision, Decision::WouldBlock);
    assert_eq!(event.status, Some(403));
    assert_eq!(
        event.request.request_id, "prop-id",
        "no x-request-id header: the request.id property"
    );
    assert_eq!(event.request.route.as_deref(), Some("r1"));
    assert!(finish.log_line.unwrap().starts_with("meshward.waf.event {"));
    assert!(finish.counters.contains(&Counter::TRANSACTIONS));
    assert!(finish.counters.contains(&Counter::WOULD_BLOCK));
    assert!(finish.counters.contains(&Counter::MATCHED));
    assert!(!finish.counters.contains(&Counter::BLOCKED));
    assert!(finish.collector.is_none());
}

#[test]
fn enforce_replies_once_on_the_headers_and_lets_its_own_reply_through() {
    let loaded = load("enforce", r#""block_status": 418,"#, &[DENY_EVIL_ARG]);
    let mut h = get("/?q=evil");
    h.push((b"x-request-id".to_vec(), b"hdr-id".to_vec()));
    let (mut x, step) = start(&loaded, &h, false);
    let Step::Reply(reply) = step else {
        panic!("expected a reply, got {step:?}")
    };
    assert_eq!(reply.status, 418, "engine-default 403 answers with block_status");
    assert_eq!(reply.details, "meshward_waf_blocked");
    let id = reply
        .body
        .strip_prefix("Request blocked (")
        .and_then(|r| r.strip_suffix(")\n"));
    assert_eq!(
        id,
        Some(x.transaction().unique_id()),
        "the reply names the transaction, never the rule"
    );
    assert_eq!(reply.headers, vec![("content-type", "text/plain".to_string())]);
    let reads = RefCell::new(Vec::new());
    assert_eq!(x.request_body(4, true, reader(b"abcd", &reads)), Step::Pause);
    assert!(reads.borrow().is_empty(), "nothing is read after the reply");
    assert_eq!(x.request_trailers(), Step::Pause);
    let reply_headers = headers(&[(":status", "418"), ("content-type", "text/plain")]);
    assert_eq!(x.response_headers(&reply_headers, false), Step::Continue);
    assert_eq!(x.response_body(10, true, reader(b"0123456789", &reads)), Step::Continue);
    let (finish, _) = x.finish(0);
    let event = finish.event.unwrap();
    assert_eq!(event.decision, Decision::Block);
    assert_eq!(event.status, Some(418));
    assert_eq!(event.request.request_id, "hdr-id");
    assert!(finish.counters.contains(&Counter::BLOCKED));
}

#[test]
fn enforce_holds_the_body_and_reads_only_new_bytes_of_the_host_buffer() {
    let loaded = load("enforce", "", &[DENY_EVIL_BODY]);
    let (mut x, step) = start(&loaded, &post("/", &[("content-length", "9")]), false);
    assert_eq!(step, Step::Continue);
    assert_eq!(x.request_state(), BodyState::Holding);
    let reads = RefCell::new(Vec::new());
    // The host buffers what a paused callback saw: the second callback sees all 9 bytes.
    assert_eq!(x.request_body(5, false, reader(b"abcde", &reads)), Step::Pause);
    let step = x.request_body(9, true, reader(b"abcdeevil", &reads));
    assert_eq!(*reads.borrow(), vec![(0, 5), (5, 4)]);
    let Step::Reply(reply) = step else {
        panic!("expected a reply, got {step:?}")
    };
    assert_eq!(reply.status, 403);
    assert_eq!(x.request_state(), BodyState::Done);
}

#[test]
fn detect_streams_the_body_and_reads_each_chunk_from_its_start() {
    let loaded = load("detect", "", &[DENY_EVIL_BODY]);
    let (mut x, _) = start(&loaded, &post("/", &[("content-length", "9")]), false);
    assert_eq!(x.request_state(), BodyState::Streaming);
    let reads = RefCell::new(Vec::new());
    assert_eq!(x.request_body(5, false, reader(b"abcde", &reads)), Step::Continue);
    assert_eq!(x.request_body(4, true, reader(b"evil", &reads)), Step::Continue);
    assert_eq!(*reads.borrow(), vec![(0, 5), (0, 4)]);
    let (finish, _) = x.finish(0);
    assert_eq!(finish.event.unwrap().decision, Decision::WouldBlock);
}

#[test]
fn a_body_over_its_limit_is_refused_or_cut_as_configured() {
    let reject = load("enforce", r#""request_body": {"limit": 8, "on_limit": "reject"},"#, &[]);
    let (mut x, _) = start(&reject, &post("/", &[("content-length", "12")]), false);
    let reads = RefCell::new(Vec::new());
    let step = x.request_body(12, false, reader(b"0123456789ab", &reads));
    assert_eq!(*reads.borrow(), vec![(0, 9)], "at most limit + 1 bytes are read");
    let Step::Reply(reply) = step else {
        panic!("expected a reply, got {step:?}")
    };
    assert_eq!(reply.status, 413);
    assert_eq!(reply.details, "meshward_waf_body_limit");
    assert_eq!(x.limits(), ["request_body_over_limit"]);
    let (finish, _) = x.finish(0);
    assert_eq!(finish.event.unwrap().decision, Decision::Refused);
    assert!(finish.counters.contains(&Counter::REFUSED));

    let partial = load(
        "enforce",
        r#""request_body": {"limit": 8, "on_limit": "process_partial"},"#,
        &[DENY_EVIL_BODY],
    );
    let (mut x, _) = start(&partial, &post("/", &[("content-length", "12")]), false);
    let reads = RefCell::new(Vec::new());
    // "evil" starts after the limit: it is never inspected, and the body passes.
    assert_eq!(
        x.request_body(12, false, reader(b"01234567evil", &reads)),
        Step::Continue
    );
    assert_eq!(x.request_state(), BodyState::Done);
    assert_eq!(
        x.request_body(14, true, reader(b"01234567evil!!", &reads)),
        Step::Continue
    );
    assert_eq!(x.limits(), ["request_body_truncated"]);
    let (finish, _) = x.finish(0);
    let event = finish.event.expect("a limit that applied is worth an event");
    assert_eq!(event.decision, Decision::Allow);
    assert!(event.to_json().contains(r#""decision":"allow""#), "{}", event.to_json());
    assert_eq!(event.limits, vec!["request_body_truncated".to_string()]);
}

#[test]
fn phase_two_runs_with_the_headers_when_the_body_is_not_inspected() {
    let rule = r#"SecRule REQUEST_URI "@contains evil" "id:103,phase:2,deny,status:403,log""#;
    let loaded = load("enforce", r#""request_body": {"access": false},"#, &[rule]);
    let (x, step) = start(&loaded, &post("/evil", &[("content-length", "3")]), false);
    assert!(matches!(step, Step::Reply(_)), "got {step:?}");
    assert_eq!(x.request_state(), BodyState::Done);
}

#[test]
fn an_upgrade_runs_phase_two_on_its_head_and_never_holds_the_upgraded_stream() {
    let rule = r#"SecRule REQUEST_URI "@contains evil" "id:105,phase:2,deny,status:403,log""#;
    let loaded = load("enforce", "", &[DENY_EVIL_BODY, rule]);
    let websocket = |path: &str, extra: &[(&str, &str)]| {
        let mut h = get(path);
        h.extend(headers(&[("connection", "Upgrade"), ("upgrade", "websocket")]));
        h.extend(headers(extra));
        h
    };
    // The head is decided at once, before anything reaches the upstream.
    let (x, step) = start(&loaded, &websocket("/ws/evil", &[]), false);
    assert!(matches!(step, Step::Reply(_)), "got {step:?}");
    assert_eq!(x.request_state(), BodyState::Done);
    // A clean head: the frames that follow pass as they come, uninspected.
    let (mut x, step) = start(&loaded, &websocket("/ws/chat", &[]), false);
    assert_eq!(step, Step::Continue);
    assert_eq!(x.request_state(), BodyState::Done);
    let reads = RefCell::new(Vec::new());
    assert_eq!(x.request_body(4, false, reader(b"evil", &reads)), Step::Continue);
    assert!(reads.borrow().is_empty(), "the upgraded stream is not read");
    // HTTP/2's extended CONNECT is an upgrade too.
    let mut connect = headers(&[
        (":method", "CONNECT"),
        (":protocol", "websocket"),
        (":path", "/ws/chat"),
    ]);
    connect.extend(headers(&[(":authority", "shop.example"), (":scheme", "http")]));
    let (x, _) = start(&loaded, &connect, false);
    assert_eq!(x.request_state(), BodyState::Done);
    // An `Upgrade` header on a request that declares a body does not skip the body's inspection.
    let (mut x, _) = start(&loaded, &websocket("/", &[("content-length", "4")]), false);
    assert_eq!(x.request_state(), BodyState::Holding);
    assert!(matches!(
        x.request_body(4, true, reader(b"evil", &reads)),
        Step::Reply(_)
    ));
}

#[test]
fn a_body_that_ends_in_trailers_is_inspected_at_the_trailers() {
    let loaded = load("enforce", "", &[DENY_EVIL_BODY]);
    let (mut x, _) = start(&loaded, &post("/", &[]), false);
    let reads = RefCell::new(Vec::new());
    assert_eq!(x.request_body(4, false, reader(b"evil", &reads)), Step::Pause);
    assert!(matches!(x.request_trailers(), Step::Reply(_)));
}

#[test]
fn a_response_before_the_request_ended_cuts_it_and_is_only_recorded() {
    let rule = r#"SecRule RESPONSE_STATUS "@streq 413" "id:104,phase:3,deny,status:403,log""#;
    let loaded = load("enforce", "", &[rule]);
    let (mut x, _) = start(&loaded, &post("/", &[("content-length", "100")]), false);
    let reads = RefCell::new(Vec::new());
    assert_eq!(x.request_body(10, false, reader(&[b'a'; 10], &reads)), Step::Pause);
    // Envoy's own 413 arrives while the body is still held.
    let step = x.response_headers(&headers(&[(":status", "413"), ("content-type", "text/plain")]), true);
    assert_eq!(step, Step::Continue, "recorded, not blocked");
    assert_eq!(x.request_state(), BodyState::Cut { held: true });
    assert_eq!(x.limits(), ["request_incomplete"]);
    assert_eq!(
        x.request_body(20, true, reader(&[b'a'; 20], &reads)),
        Step::Pause,
        "never passed uninspected"
    );
    let (finish, tx) = x.finish(0);
    assert!(tx.matched_rules().iter().any(|m| m.id == 104));
    assert_eq!(
        finish.event.unwrap().decision,
        Decision::WouldBlock,
        "the rule did not block"
    );
    assert!(finish.counters.contains(&Counter::WOULD_BLOCK) && !finish.counters.contains(&Counter::BLOCKED));
}

#[test]
fn response_bodies_of_inspected_types_get_phase_four_and_others_get_it_at_once() {
    let rule = r#"SecRule RESPONSE_BODY "@contains SQL syntax" "id:105,phase:4,deny,status:403,log""#;
    let loaded = load("enforce", r#""response_body": {"mime_types": ["text/html"]},"#, &[rule]);

    let (mut x, _) = start(&loaded, &get("/"), true);
    let html = headers(&[(":status", "200"), ("content-type", "text/html; charset=utf-8")]);
    assert_eq!(x.response_headers(&html, false), Step::Continue);
    assert_eq!(x.response_state(), Some(BodyState::Holding));
    let reads = RefCell::new(Vec::new());
    assert_eq!(x.response_body(6, false, reader(b"error:", &reads)), Step::Pause);
    let body = b"error: SQL syntax";
    let step = x.response_body(body.len(), true, reader(body, &reads));
    assert!(matches!(step, Step::Reply(_)), "got {step:?}");
    assert_eq!(
        x.response_trailers(),
        Step::Pause,
        "after a response-side reply, everything pauses"
    );

    let (mut x, _) = start(&loaded, &get("/"), true);
    // (Not `application/json`: the mesh profile inspects JSON responses.)
    let json = headers(&[(":status", "200"), ("content-type", "image/png")]);
    assert_eq!(x.response_headers(&json, false), Step::Continue);
    assert_eq!(
        x.response_state(),
        Some(BodyState::Done),
        "not inspected: phase 4 ran with the headers"
    );
    let reads = RefCell::new(Vec::new());
    assert_eq!(x.response_body(body.len(), true, reader(body, &reads)), Step::Continue);
    assert!(reads.borrow().is_empty());
}

#[test]
fn headers_are_mapped_as_the_application_sent_them() {
    let rules = [
        r#"SecRule REQUEST_HEADERS:Host "@streq shop.example" "id:106,phase:1,pass,log""#,
        r#"SecRule REQUEST_HEADERS:Transfer-Encoding "@streq chunked" "id:107,phase:1,pass,log""#,
    ];
    let loaded = load("detect", "", &rules);
    let ids = |h: &[Header], eos: bool, protocol: &str| -> Vec<u64> {
        let attrs = Attributes {
            protocol: Some(protocol.into()),
            ..attributes()
        };
        let (x, _) = Exchange::start(loaded.clone(), h, attrs, eos).unwrap();
        x.finish(0)
            .1
            .matched_rules()
            .iter()
            .filter(|m| m.logged)
            .map(|m| m.id)
            .collect()
    };
    // A chunked HTTP/1 body: Envoy strips Transfer-Encoding, the exchange restores it.
    assert_eq!(ids(&post("/", &[]), false, "HTTP/1.1"), vec![106, 107]);
    assert_eq!(
        ids(&post("/", &[("content-length", "3")]), false, "HTTP/1.1"),
        vec![106]
    );
    assert_eq!(ids(&post("/", &[]), true, "HTTP/1.1"), vec![106], "no body");
    assert_eq!(
        ids(&post("/", &[]), false, "HTTP/2"),
        vec![106],
        "HTTP/2 frames bodies itself"
    );
}

#[test]
fn an_unreadable_body_is_a_limit_in_the_evidence() {
    let loaded = load("detect", "", &[]);
    let (mut x, _) = start(&loaded, &post("/", &[("content-length", "4")]), false);
    assert_eq!(x.request_body(4, true, |_, _| None), Step::Continue);
    assert_eq!(x.limits(), ["body_unreadable"]);
}

#[test]
fn redirects_carry_a_location_and_collectors_get_the_event() {
    let rule = r#"SecRule ARGS "@contains evil" "id:108,phase:1,redirect:https://example.com/blocked,log""#;
    let collector = r#""evidence": {"collector": {"cluster": "waf_events", "path": "/events", "timeout_ms": 500}},"#;
    let loaded = load("enforce", collector, &[rule]);
    let (x, step) = start(&loaded, &get("/?q=evil"), true);
    let Step::Reply(reply) = step else {
        panic!("expected a reply, got {step:?}")
    };
    assert_eq!(reply.status, 302);
    assert!(reply
        .headers
        .contains(&("location", "https://example.com/blocked".to_string())));
    let (finish, _) = x.finish(1_795_723_200_000_000_000);
    let call = finish.collector.expect("a collector call");
    assert_eq!(call.cluster, "waf_events");
    assert_eq!(call.timeout_ms, 500);
    assert!(call.headers.contains(&(":path", "/events".to_string())));
    let json: serde_json::Value = serde_json::from_str(&call.body).unwrap();
    assert_eq!(json["time"], "2026-11-26T20:00:00.000Z");
    assert_eq!(json["rules"][0]["id"], 108);
}

#[test]
fn drive_models_the_host_buffer_and_the_reply_paths() {
    let loaded = load("enforce", "", &[DENY_EVIL_BODY]);
    let request = Request {
        headers: post("/", &[("content-length", "8")]),
        body: vec![b"abcd".to_vec(), b"evil".to_vec()],
        ..Request::default()
    };
    let driven = drive::drive(
        loaded.clone(),
        attributes(),
        &request,
        || panic!("blocked: no upstream"),
        0,
    )
    .unwrap();
    assert_eq!(driven.response.status(), 403);
    assert!(!driven.upstream_reached);
    assert!(driven.reply.is_some());

    let clean = Request {
        body: vec![b"abcd".to_vec(), b"good".to_vec()],
        ..request.clone()
    };
    let upstream = || Response::new(201, headers(&[("content-type", "text/plain")]), b"made".to_vec());
    let driven = drive::drive(loaded.clone(), attributes(), &clean, upstream, 0).unwrap();
    assert_eq!(driven.response.status(), 201);
    assert!(driven.upstream_reached);
    assert!(driven.finish.event.is_none(), "clean traffic writes no event");

    let timed_out = Request {
        proxy_answers: Some(408),
        body: vec![b"ev".to_vec()],
        ..request
    };
    let driven = drive::drive(loaded, attributes(), &timed_out, || panic!("never complete"), 0).unwrap();
    assert_eq!(driven.response.status(), 408);
    assert!(!driven.upstream_reached);
    assert_eq!(
        driven.finish.event.unwrap().limits,
        vec!["request_incomplete".to_string()]
    );
}

const DENY_EVIL_HEAD_IN_PHASE_2: &str =
    r#"SecRule ARGS_GET|REQUEST_COOKIES|REQUEST_HEADERS:x-token "@contains evil" "id:110,phase:2,deny,status:403,log""#;

#[test]
fn enforce_decides_the_head_of_a_request_with_a_body_before_forwarding_it() {
    let loaded = load("enforce", "", &[DENY_EVIL_HEAD_IN_PHASE_2, DENY_EVIL_BODY]);
    for attack in [
        post("/?q=evil", &[("content-length", "4")]),
        post("/", &[("content-length", "4"), ("cookie", "s=evil")]),
        post("/", &[("content-length", "4"), ("x-token", "evil")]),
    ] {
        let (mut x, step) = start(&loaded, &attack, false);
        let Step::Reply(reply) = step else {
            panic!("a phase-2 rule on the head refuses it at the headers: {step:?}")
        };
        assert_eq!(reply.status, 403);
        assert_eq!(x.request_state(), BodyState::Done);
        let reads = RefCell::new(Vec::new());
        assert_eq!(x.request_body(4, true, reader(b"abcd", &reads)), Step::Pause);
        let (finish, tx) = x.finish(0);
        let event = finish.event.unwrap();
        assert_eq!((event.decision, event.phase), (Decision::Block, Some(2)));
        assert_eq!(tx.matched_rules().iter().filter(|m| m.id == 110).count(), 1);
    }
    // The benign twin passes its head; its body is still held and decided at its end.
    let reads = RefCell::new(Vec::new());
    let (mut x, step) = start(&loaded, &post("/?q=fine", &[("content-length", "4")]), false);
    assert_eq!(step, Step::Continue);
    assert_eq!(
        x.request_body(4, true, reader(b"evil", &reads)),
        Step::Reply(x_reply(&x))
    );
    let (finish, tx) = x.finish(0);
    assert_eq!(finish.event.unwrap().decision, Decision::Block);
    assert_eq!(
        tx.matched_rules()
            .iter()
            .filter(|m| m.logged)
            .map(|m| m.id)
            .collect::<Vec<_>>(),
        vec![102],
        "the head's copy left nothing behind"
    );
    // Detect mode never decides early: both pass, the attack is recorded at its usual place.
    let detect = load("detect", "", &[DENY_EVIL_HEAD_IN_PHASE_2]);
    let (mut x, step) = start(&detect, &post("/?q=evil", &[("content-length", "4")]), false);
    assert_eq!(step, Step::Continue);
    assert_eq!(x.request_body(4, true, reader(b"abcd", &reads)), Step::Continue);
    assert_eq!(x.finish(0).0.event.unwrap().decision, Decision::WouldBlock);
}

/// The reply `x` sends for a block (the body names its transaction).
fn x_reply(x: &Exchange) -> meshward_waf::exchange::LocalReply {
    meshward_waf::exchange::LocalReply {
        status: 403,
        headers: vec![("content-type", "text/plain".to_string())],
        body: format!("Request blocked ({})\n", x.transaction().unique_id()),
        details: "meshward_waf_blocked",
    }
}

#[test]
fn the_early_head_decision_runs_no_body_processor() {
    // An empty JSON body would be a parse error (rule 200002 refuses those with 400): the
    // head's copy must not parse a body it does not have.
    let loaded = load("enforce", "", &[]);
    let (mut x, step) = start(
        &loaded,
        &post("/", &[("content-type", "application/json"), ("content-length", "9")]),
        false,
    );
    assert_eq!(step, Step::Continue);
    let reads = RefCell::new(Vec::new());
    assert_eq!(
        x.request_body(9, true, reader(b"{\"a\":\"b\"}", &reads)),
        Step::Continue
    );
}

/// One gRPC message: flag 0, big-endian length, payload.
fn grpc_message(payload: &[u8]) -> Vec<u8> {
    let mut m = vec![0];
    m.extend_from_slice(&u32::try_from(payload.len()).unwrap().to_be_bytes());
    m.extend_from_slice(payload);
    m
}

fn grpc_call(extra: &[(&str, &str)]) -> Vec<Header> {
    let mut h = post(
        "/echo.Echo/Chat",
        &[("content-type", "application/grpc"), ("te", "trailers")],
    );
    h.extend(headers(extra));
    h
}

/// The host's side of a request body: it buffers while callbacks pause, forwards (and
/// empties) the buffer on a continue, and remembers what went upstream.
struct Host {
    buffered: Vec<u8>,
    forwarded: Vec<u8>,
}

impl Host {
    fn new(head: &Step) -> Host {
        assert_eq!(*head, Step::Continue, "the head passes at its callback");
        Host {
            buffered: Vec::new(),
            forwarded: Vec::new(),
        }
    }

    fn body(&mut self, x: &mut Exchange, chunk: &[u8], eos: bool) -> Step {
        self.buffered.extend_from_slice(chunk);
        let buffered = self.buffered.clone();
        let step = x.request_body(buffered.len(), eos, move |start, len| {
            buffered.get(start..start + len).map(<[u8]>::to_vec)
        });
        if step == Step::Continue {
            self.forwarded.append(&mut self.buffered);
        }
        step
    }
}

#[test]
fn grpc_messages_are_released_one_by_one_and_a_bad_one_never_passes_whatever_the_split() {
    let loaded = load("enforce", "", &[DENY_EVIL_BODY]);
    let messages = [grpc_message(b"hello"), grpc_message(b"again"), grpc_message(b"so evil")];
    let body = messages.concat();
    let first_end = messages[0].len();
    let second_end = first_end + messages[1].len();
    for cut in 1..body.len() {
        for second in cut..body.len() {
            let (mut x, step) = start(&loaded, &grpc_call(&[]), false);
            let mut host = Host::new(&step);
            let mut reply = None;
            for (chunk, eos) in [
                (&body[..cut], false),
                (&body[cut..second], false),
                (&body[second..], true),
            ] {
                let step = host.body(&mut x, chunk, eos);
                if let Step::Reply(r) = step {
                    reply = Some(r);
                    break;
                }
                // Released exactly when everything buffered is whole, inspected messages (the
                // default limit is far above these bytes).
                let fed = host.forwarded.len() + host.buffered.len();
                let boundary = fed == first_end || fed == second_end;
                assert_eq!(
                    step == Step::Continue,
                    boundary,
                    "cut {cut}/{second}, fed {fed}: {step:?}"
                );
                assert!(
                    [0, first_end, second_end].contains(&host.forwarded.len()),
                    "cut {cut}/{second}: only whole, inspected messages were forwarded"
                );
            }
            let reply = reply.unwrap_or_else(|| panic!("cut {cut}/{second}: the third message is refused"));
            assert_eq!(reply.status, 403);
            assert!(
                host.forwarded.len() <= second_end,
                "cut {cut}/{second}: no byte of the bad message was forwarded"
            );
            let (finish, _) = x.finish(0);
            assert_eq!(finish.messages.len(), 1, "one event, for the bad message");
            let event = &finish.messages[0].event;
            assert_eq!(event.message, Some(3));
            assert_eq!(event.decision, Decision::Block);
            assert!(event.to_json().contains(r#""message":3"#));
            assert!(finish.counters.contains(&Counter::BLOCKED));
        }
    }
}

#[test]
fn a_grpc_stream_answered_early_is_not_cut_and_a_bad_message_after_that_resets_it() {
    let loaded = load("enforce", "", &[DENY_EVIL_BODY]);
    let (mut x, step) = start(&loaded, &grpc_call(&[]), false);
    let mut host = Host::new(&step);
    assert_eq!(host.body(&mut x, &grpc_message(b"ping"), false), Step::Continue);
    // The service answers before the request ends (server streaming, ping-pong).
    let grpc_ok = headers(&[(":status", "200"), ("content-type", "application/grpc")]);
    assert_eq!(x.response_headers(&grpc_ok, false), Step::Continue);
    assert_eq!(
        x.request_state(),
        BodyState::Holding,
        "still inspected message by message"
    );
    assert!(x.limits().is_empty(), "not cut: {:?}", x.limits());
    let reads = RefCell::new(Vec::new());
    assert_eq!(x.response_body(6, false, reader(b"pong-1", &reads)), Step::Continue);
    assert_eq!(host.body(&mut x, &grpc_message(b"ping 2"), false), Step::Continue);
    let step = host.body(&mut x, &grpc_message(b"evil"), false);
    assert!(matches!(step, Step::Reply(_)), "got {step:?}");
    assert_eq!(
        host.forwarded,
        [grpc_message(b"ping"), grpc_message(b"ping 2")].concat()
    );
    // The response already started: the reply resets the stream; the rest of it pauses.
    assert_eq!(x.response_body(6, false, reader(b"pong-3", &reads)), Step::Pause);
    assert_eq!(x.request_trailers(), Step::Pause);
}

#[test]
fn each_grpc_message_is_scored_on_the_head_alone_not_on_earlier_messages() {
    let rules = [
        r#"SecRule REQUEST_HEADERS:x-suspect "@streq 1" "id:120,phase:1,pass,log,setvar:tx.score=+1""#,
        r#"SecRule REQUEST_BODY "@contains bad" "id:121,phase:2,pass,log,setvar:tx.score=+2""#,
        r#"SecRule TX:score "@ge 3" "id:122,phase:2,deny,status:403,log""#,
        r#"SecRule TX:score "@ge 5" "id:123,phase:2,deny,status:403,log""#,
    ];
    let loaded = load("enforce", "", &rules);
    // Head 1 + each message 2 stays below 5 (a sum over messages would pass it)... but head
    // and one bad message reach 3: here the head is clean, so every message stays at 2.
    let (mut x, step) = start(&loaded, &grpc_call(&[]), false);
    let mut host = Host::new(&step);
    for i in 0..4 {
        assert_eq!(
            host.body(&mut x, &grpc_message(b"bad"), i == 3),
            Step::Continue,
            "message {}",
            i + 1
        );
    }
    let (finish, tx) = x.finish(0);
    assert_eq!(
        tx.tx_var("score").as_deref(),
        Some("2"),
        "the stream's own transaction: message 1"
    );
    assert_eq!(
        finish.messages.iter().map(|m| m.event.message).collect::<Vec<_>>(),
        vec![Some(2), Some(3), Some(4)],
        "one event per matching message"
    );
    assert!(finish.messages.iter().all(|m| m.event.decision == Decision::Allow));
    // A suspect head counts in every message's score: the first bad message is refused.
    let (mut x, step) = start(&loaded, &grpc_call(&[("x-suspect", "1")]), false);
    let mut host = Host::new(&step);
    assert_eq!(host.body(&mut x, &grpc_message(b"fine"), false), Step::Continue);
    assert!(matches!(
        host.body(&mut x, &grpc_message(b"bad"), false),
        Step::Reply(_)
    ));
}

#[test]
fn grpc_messages_over_the_limit_get_the_limit_action() {
    let big = grpc_message(&[b'x'; 40]);
    let reject = load(
        "enforce",
        r#""request_body": {"limit": 20, "on_limit": "reject"},"#,
        &[],
    );
    let (mut x, step) = start(&reject, &grpc_call(&[]), false);
    let mut host = Host::new(&step);
    assert_eq!(host.body(&mut x, &grpc_message(b"small"), false), Step::Continue);
    let step = host.body(&mut x, &big, false);
    assert!(matches!(step, Step::Reply(ref r) if r.status == 413), "got {step:?}");
    assert_eq!(x.limits(), ["request_body_over_limit"]);
    assert_eq!(host.forwarded, grpc_message(b"small"));

    let partial = load(
        "enforce",
        r#""request_body": {"limit": 20, "on_limit": "process_partial"},"#,
        &[DENY_EVIL_BODY],
    );
    let (mut x, step) = start(&partial, &grpc_call(&[]), false);
    let mut host = Host::new(&step);
    // Its first 20 bytes are inspected; the rest passes uninspected, and the next message is
    // inspected again.
    let mut evil_late = grpc_message(&[b'x'; 40]);
    evil_late.extend_from_slice(b"");
    evil_late[30..34].copy_from_slice(b"evil");
    assert_eq!(host.body(&mut x, &evil_late, false), Step::Continue);
    assert_eq!(x.limits(), ["request_body_truncated"]);
    let step = host.body(&mut x, &grpc_message(b"evil"), true);
    assert!(matches!(step, Step::Reply(_)), "got {step:?}");
}

#[test]
fn an_incomplete_last_grpc_message_is_inspected_as_it_is() {
    let loaded = load("enforce", "", &[DENY_EVIL_BODY]);
    let (mut x, step) = start(&loaded, &grpc_call(&[]), false);
    let mut host = Host::new(&step);
    assert_eq!(host.body(&mut x, &grpc_message(b"ok"), false), Step::Continue);
    let truncated = &grpc_message(b"evil and more")[..10];
    assert_eq!(host.body(&mut x, truncated, false), Step::Pause);
    assert!(matches!(x.request_trailers(), Step::Reply(_)));
    assert_eq!(x.limits(), ["request_message_incomplete"]);
}

#[test]
fn grpc_in_detect_mode_streams_and_still_inspects_each_message() {
    let loaded = load("detect", "", &[DENY_EVIL_BODY]);
    let (mut x, step) = start(&loaded, &grpc_call(&[]), false);
    let mut host = Host::new(&step);
    assert_eq!(host.body(&mut x, &grpc_message(b"ev"), false), Step::Continue);
    // The service answers early: the inspection goes on.
    let grpc_ok = headers(&[(":status", "200"), ("content-type", "application/grpc")]);
    assert_eq!(x.response_headers(&grpc_ok, false), Step::Continue);
    let evil = grpc_message(b"evil");
    assert_eq!(host.body(&mut x, &evil[..6], false), Step::Continue, "nothing is held");
    assert_eq!(host.body(&mut x, &evil[6..], true), Step::Continue);
    assert_eq!(host.forwarded, [grpc_message(b"ev"), evil].concat());
    assert!(x.limits().is_empty(), "{:?}", x.limits());
    let (finish, _) = x.finish(0);
    assert!(finish.event.is_none(), "the first message is clean");
    assert_eq!(finish.messages.len(), 1);
    assert_eq!(finish.messages[0].event.message, Some(2));
    assert_eq!(finish.messages[0].event.decision, Decision::WouldBlock);
    assert!(finish.counters.contains(&Counter::WOULD_BLOCK));
}

#[test]
fn grpc_chunks_that_never_end_on_a_message_boundary_are_released_past_the_limit() {
    // Messages of 9 bytes in chunks of 7: the buffer ends on a boundary only every 63 bytes.
    let loaded = load("enforce", r#""request_body": {"limit": 20},"#, &[DENY_EVIL_BODY]);
    let body: Vec<u8> = [b"aaaa", b"bbbb", b"cccc", b"dddd", b"evil", b"ffff"]
        .iter()
        .flat_map(|p| grpc_message(*p))
        .collect();
    let (mut x, step) = start(&loaded, &grpc_call(&[]), false);
    let mut host = Host::new(&step);
    let mut steps = Vec::new();
    for chunk in body.chunks(7) {
        let step = host.body(&mut x, chunk, false);
        let refused = matches!(step, Step::Reply(_));
        steps.push(step);
        // Never more than the limit held, plus one chunk.
        assert!(host.buffered.len() <= 20 + 7, "held {}", host.buffered.len());
        if refused {
            break;
        }
    }
    assert!(matches!(steps.last(), Some(Step::Reply(_))), "{steps:?}");
    assert!(steps.contains(&Step::Continue), "{steps:?}");
    // The bad fifth message (bytes 36..45) never reached the service whole.
    assert!(host.forwarded.len() < 45, "forwarded {}", host.forwarded.len());
}
