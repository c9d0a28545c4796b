//! The harness's own pieces without Envoy: test upstream, albedo /reflect, raw client parsing.

use meshward_envoy::client::{send, send_raw, Request};
use meshward_envoy::{Headers, Upstream, UpstreamResponse};
use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::Duration;

#[test]
fn upstream_records_requests_exactly_and_answers_the_canned_response() {
    let upstream = Upstream::start().unwrap();
    upstream.set_response(
        UpstreamResponse::new(201)
            .header("X-Reply", "yes")
            .header("x-reply", "again"),
    );
    let request = Request::post("/p?q=1", "body bytes")
        .header("X-Case", "Kept")
        .header("x-dup", "1")
        .header("x-dup", "2");
    let response = send(upstream.addr(), &request).unwrap();
    assert_eq!(response.status, 201);
    assert_eq!(response.header_all("x-reply"), vec!["yes", "again"]);
    let seen = upstream.wait_for_requests(1, Duration::from_secs(2));
    assert_eq!(seen.len(), 1);
    let r = &seen[0];
    assert_eq!(
        (r.method.as_str(), r.target.as_str(), r.version.as_str()),
        ("POST", "/p?q=1", "HTTP/1.1")
    );
    let names: Vec<&str> = r.headers.iter().map(|(k, _)| k).collect();
    assert_eq!(names, vec!["host", "X-Case", "x-dup", "x-dup", "content-length"]);
    assert_eq!(r.body, b"body bytes");
}

#[test]
fn upstream_reads_chunked_bodies_with_trailers_and_keeps_connections_alive() {
    let upstream = Upstream::start().unwrap();
    let mut stream = std::net::TcpStream::connect(upstream.addr()).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let two = b"POST /a HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\nx-t: 1\r\n\r\nGET /b HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n";
    stream.write_all(two).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert_eq!(answer.matches("HTTP/1.1 200 OK").count(), 2, "{answer}");
    let seen = upstream.requests();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].body, b"abcde");
    assert_eq!(seen[0].trailers, Headers::from_pairs([("x-t", "1")]));
    assert_eq!(seen[1].target, "/b");
}

#[test]
fn handler_chooses_responses_and_can_delay_them() {
    let upstream = Upstream::start().unwrap();
    upstream.set_handler(|r| {
        (r.target == "/teapot").then(|| UpstreamResponse::new(418).delayed(Duration::from_millis(50)))
    });
    assert_eq!(send(upstream.addr(), &Request::get("/teapot")).unwrap().status, 418);
    assert_eq!(send(upstream.addr(), &Request::get("/other")).unwrap().status, 200);
}

#[test]
fn reflect_answers_with_the_described_response() {
    let upstream = Upstream::start().unwrap();
    let spec = r#"{"status": 403, "headers": {"x-a": "1"}, "body": "blocked"}"#;
    let r = send(upstream.addr(), &Request::post("/reflect", spec)).unwrap();
    assert_eq!(
        (r.status, r.header("x-a"), r.text().as_str()),
        (403, Some("1"), "blocked")
    );
    let encoded = r#"{"status": 200, "encodedBody": "aGVsbG8gd29ybGQ="}"#;
    assert_eq!(
        send(upstream.addr(), &Request::post("/reflect", encoded))
            .unwrap()
            .text(),
        "hello world"
    );
    let default = send(upstream.addr(), &Request::post("/reflect", "{}")).unwrap();
    assert_eq!((default.status, default.body.len()), (200, 0));
    let bad = send(upstream.addr(), &Request::post("/reflect", "not json")).unwrap();
    assert_eq!((bad.status, bad.text().as_str()), (400, "Invalid JSON in request body"));
    let bad_status = send(upstream.addr(), &Request::post("/reflect", r#"{"status": 99}"#)).unwrap();
    assert_eq!(
        (bad_status.status, bad_status.text().as_str()),
        (400, "Invalid status code: 99")
    );
    // albedo (shared with the CRS runner) answers a bad encodedBody with the described status
    // and an error text.
    let bad_b64 = send(
        upstream.addr(),
        &Request::post("/reflect", r#"{"status": 202, "encodedBody": "%%%"}"#),
    )
    .unwrap();
    assert_eq!(
        (bad_b64.status, bad_b64.text().as_str()),
        (202, "invalid base64 encoding of response body")
    );
    // GET /reflect is not the reflect endpoint.
    assert_eq!(send(upstream.addr(), &Request::get("/reflect")).unwrap().text(), "ok");
}

/// A one-shot server that answers any request with `raw`.
fn canned(raw: &'static [u8]) -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        if let Ok((mut s, _)) = listener.accept() {
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let _ = s.write_all(raw);
        }
    });
    addr
}

#[test]
fn client_parses_chunked_responses_with_trailers_and_skips_100_continue() {
    let addr = canned(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4;ext=1\r\nwiki\r\n5\r\npedia\r\n0\r\nx-trailer: t\r\n\r\n");
    let r = send_raw(
        addr,
        b"GET / HTTP/1.1\r\nhost: x\r\n\r\n",
        false,
        Duration::from_secs(5),
    )
    .unwrap();
    assert_eq!((r.status, r.text().as_str()), (200, "wikipedia"));
    assert_eq!(r.trailers, Headers::from_pairs([("x-trailer", "t")]));
}

#[test]
fn client_reads_until_close_without_framing_and_nothing_for_head() {
    let addr = canned(b"HTTP/1.1 200 OK\r\nx: y\r\n\r\nuntil the end");
    let r = send_raw(
        addr,
        b"GET / HTTP/1.1\r\nhost: x\r\n\r\n",
        false,
        Duration::from_secs(5),
    )
    .unwrap();
    assert_eq!(r.text(), "until the end");
    let addr = canned(b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\n");
    let r = send_raw(
        addr,
        b"HEAD / HTTP/1.1\r\nhost: x\r\n\r\n",
        true,
        Duration::from_secs(5),
    )
    .unwrap();
    assert_eq!((r.status, r.body.len()), (200, 0));
}

#[test]
fn client_reports_truncated_bodies_and_silent_servers() {
    let addr = canned(b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nshort");
    let err = send_raw(
        addr,
        b"GET / HTTP/1.1\r\nhost: x\r\n\r\n",
        false,
        Duration::from_secs(5),
    )
    .unwrap_err();
    assert!(err.to_string().contains("reading body"), "{err}");
    let addr = canned(b"");
    let err = send_raw(
        addr,
        b"GET / HTTP/1.1\r\nhost: x\r\n\r\n",
        false,
        Duration::from_secs(5),
    )
    .unwrap_err();
    assert!(err.to_string().contains("without a response"), "{err}");
}

#[test]
fn requests_serialize_as_sent() {
    assert_eq!(
        Request::get("/x").to_bytes(),
        b"GET /x HTTP/1.1\r\nhost: meshward.test\r\n\r\n"
    );
    assert_eq!(
        Request::post("/y", "ab").header("Host", "h").to_bytes(),
        b"POST /y HTTP/1.1\r\nHost: h\r\ncontent-length: 2\r\n\r\nab"
    );
    assert_eq!(
        Request::post("/z", "abc").trailer("t", "1").to_bytes(),
        b"POST /z HTTP/1.1\r\nhost: meshward.test\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nt: 1\r\n\r\n"
    );
}
