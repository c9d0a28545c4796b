//! `meshward_host_test::serve` and `meshward-host serve`: filters behind a real 127.0.0.1
//! socket, driven by plain TCP clients, in front of the recording test upstream of
//! `meshward-envoy`. Every test checks what the client got and what the upstream saw.

mod common;

use common::{host, module};
use meshward_envoy::{Upstream, UpstreamResponse};
use meshward_host_test::serve::{Server, ServerConfig};
use meshward_host_test::{Metric, PluginBuilder};
use meshward_testkit::http1::{self, Limits, Response};
use serde_json::json;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A client connection that sends raw bytes and reads responses one at a time.
struct Client {
    stream: TcpStream,
    reader: BufReader<TcpStream>,
}

impl Client {
    fn connect(addr: SocketAddr) -> Client {
        let stream = TcpStream::connect(addr).expect("connecting to the server");
        stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let reader = BufReader::new(stream.try_clone().unwrap());
        Client { stream, reader }
    }

    fn send(&mut self, bytes: &[u8]) -> &mut Self {
        self.stream.write_all(bytes).expect("sending the request");
        self
    }

    /// The next final response (1xx skipped) to a `method` request.
    fn response(&mut self, method: &str) -> Response {
        loop {
            let r = http1::read_response(&mut self.reader, method, &Limits::default())
                .expect("reading the response")
                .expect("the server closed without a response");
            if !(100..200).contains(&r.status) {
                return r;
            }
        }
    }

    /// True when the server closed the connection (no more bytes come).
    fn closed(&mut self) -> bool {
        let mut rest = Vec::new();
        matches!(self.reader.read_to_end(&mut rest), Ok(0))
    }
}

fn get(path: &str, extra: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: app.local\r\n{extra}\r\n").into_bytes()
}

fn post(path: &str, body: &[u8], extra: &str) -> Vec<u8> {
    let mut bytes = format!(
        "POST {path} HTTP/1.1\r\nHost: app.local\r\nContent-Length: {}\r\n{extra}\r\n",
        body.len()
    )
    .into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

fn hello(greeting: &str) -> PluginBuilder {
    host().plugin(&module("meshward_fixture_hello")).config(greeting)
}

fn start(upstream: &Upstream, plugin: PluginBuilder) -> Server {
    Server::start(ServerConfig::new(upstream.addr()), plugin).expect("starting the server")
}

/// Waits (a little) until the server counted `n` requests: it counts each once it is written.
fn served(server: &Server, n: u64) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(5);
    while server.served() < n && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    server.served()
}

fn streams(server: &Server) -> Option<Metric> {
    server.plugin(|p| p.metric("hello_streams"))
}

#[test]
fn hello_edits_headers_both_ways_and_answers_locally() {
    let upstream = Upstream::start().unwrap();
    let server = start(&upstream, hello("bonjour"));

    let mut client = Client::connect(server.addr());
    let r = client
        .send(&get("/greet?x=1", "X-Client: c1\r\nConnection: close\r\n"))
        .response("GET");
    assert_eq!((r.status, r.text().as_str()), (200, "ok"));
    assert_eq!(r.header("x-hello"), Some("bonjour"));
    assert_eq!(r.header("content-type"), Some("text/plain"));
    assert_eq!(r.header("connection"), Some("close"));
    assert!(client.closed(), "Connection: close is honoured");

    let seen = upstream.requests();
    assert_eq!(seen.len(), 1);
    let up = &seen[0];
    assert_eq!((up.method.as_str(), up.target.as_str()), ("GET", "/greet?x=1"));
    let names: Vec<&str> = up.headers.iter().map(|(k, _)| k).collect();
    assert_eq!(
        names,
        [
            "host",
            "x-client",
            "x-forwarded-proto",
            "x-request-id",
            "x-hello",
            "x-envoy-expected-rq-timeout-ms"
        ],
        "Envoy's order: host in place of :authority, the client's headers, then the connection manager's, the filter's and the router's"
    );
    assert_eq!(up.header("host"), Some("app.local"));
    assert_eq!(up.header("x-hello"), Some("bonjour"));
    assert_eq!(up.header("connection"), None, "hop-by-hop headers are not forwarded");

    let mut client = Client::connect(server.addr());
    let r = client.send(&get("/local/x", "")).response("GET");
    assert_eq!(r.status, 418);
    assert_eq!(r.text(), "answered by the hello filter\n");
    assert_eq!(
        r.header("x-hello"),
        Some("bonjour"),
        "the local reply went through the response callback"
    );
    assert_eq!(r.header("content-type"), Some("text/plain"));
    assert_eq!(
        upstream.requests().len(),
        1,
        "the local reply never reached the upstream"
    );
    assert_eq!(streams(&server), Some(Metric::Counter { value: 2 }));
    assert_eq!(served(&server, 2), 2);
}

#[test]
fn waf_in_enforce_mode_blocks_sql_injection_and_passes_a_clean_request() {
    let upstream = Upstream::start().unwrap();
    let waf = host()
        .plugin(&module("meshward_waf"))
        .config(json!({"mode": "enforce"}).to_string());
    let server = start(&upstream, waf);
    let mut client = Client::connect(server.addr());

    let blocked = client.send(&get("/?q=1'+or+'1'='1", "")).response("GET");
    assert_eq!(blocked.status, 403);
    assert!(
        upstream.requests().is_empty(),
        "a blocked request never reaches the upstream"
    );

    let clean = client.send(&get("/products?id=42", "")).response("GET");
    assert_eq!((clean.status, clean.text().as_str()), (200, "ok"));
    let seen = upstream.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].target, "/products?id=42");
    let logs = server.plugin(|p| p.logs().to_vec());
    assert!(
        logs.iter()
            .any(|l| l.message.starts_with("meshward.waf.event ") && l.message.contains("942100")),
        "the WAF's evidence names the libinjection SQLi rule: {logs:#?}"
    );
}

#[test]
fn keep_alive_serves_several_requests_on_one_connection_and_pipelines() {
    let upstream = Upstream::start().unwrap();
    let server = start(&upstream, hello("hi"));
    let mut client = Client::connect(server.addr());

    let first = client.send(&get("/one", "")).response("GET");
    let second = client.send(&post("/two", b"payload", "")).response("POST");
    let third = client.send(&get("/local/three", "")).response("GET");
    assert_eq!((first.status, second.status, third.status), (200, 200, 418));
    assert_eq!(first.header("connection"), None, "HTTP/1.1 stays open");
    // Two requests in one write: answered in order.
    let mut both = get("/four", "");
    both.extend(get("/five", "Connection: close\r\n"));
    client.send(&both);
    let (fourth, fifth) = (client.response("GET"), client.response("GET"));
    assert_eq!((fourth.status, fifth.status), (200, 200));
    assert!(client.closed());

    let seen = upstream.requests();
    let targets: Vec<&str> = seen.iter().map(|r| r.target.as_str()).collect();
    assert_eq!(targets, ["/one", "/two", "/four", "/five"]);
    assert_eq!(seen[1].body, b"payload");
    assert_eq!(seen[1].header("content-length"), Some("7"));
    assert!(seen.iter().all(|r| r.header("x-hello") == Some("hi")));
    assert_eq!(served(&server, 5), 5);
}

#[test]
fn bodies_over_the_buffer_limit_get_envoys_413_when_the_filter_buffers() {
    let upstream = Upstream::start().unwrap();
    let big = vec![b'a'; 1_100_000];

    // The probe buffers the request body: past Envoy's 1 MiB buffer limit, the 413 local reply.
    let buffering = host()
        .plugin(&module("meshward_fixture_probe"))
        .config(json!({"on_http_request_body": {"return": "pause", "return_eos": "continue"}}).to_string());
    let server = start(&upstream, buffering);
    let mut client = Client::connect(server.addr());
    let r = client.send(&post("/big", &big, "")).response("POST");
    assert_eq!((r.status, r.text().as_str()), (413, "Payload Too Large"));
    assert_eq!(r.header("connection"), Some("close"));
    assert!(client.closed());
    assert!(upstream.requests().is_empty(), "the upstream is never contacted");
    drop(server);

    // hello does not buffer: the same body streams through to the upstream whole.
    let server = start(&upstream, hello("hi"));
    let r = Client::connect(server.addr())
        .send(&post("/big", &big, "Connection: close\r\n"))
        .response("POST");
    assert_eq!(r.status, 200);
    let seen = upstream.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].body.len(), big.len());
    drop(server);

    // Over serve's own bound the filter never sees the request.
    let small = ServerConfig {
        max_body_bytes: 1000,
        ..ServerConfig::new(upstream.addr())
    };
    let server = Server::start(small, hello("hi")).unwrap();
    let mut client = Client::connect(server.addr());
    let r = client.send(&post("/big", &[b'b'; 2000], "")).response("POST");
    assert_eq!((r.status, r.text().as_str()), (413, "Payload Too Large"));
    assert!(client.closed());
    assert_eq!(upstream.requests().len(), 1, "nothing more reached the upstream");
    assert_eq!(r.header("x-hello"), None, "no filter callback ran");
    assert_eq!(served(&server, 1), 1);
    assert_eq!(
        streams(&server),
        Some(Metric::Counter { value: 1 }),
        "as in Envoy, the stream context was created all the same"
    );
}

#[test]
fn malformed_or_oversized_requests_get_envoys_refusal_and_the_connection_closes() {
    let upstream = Upstream::start().unwrap();
    let server = start(&upstream, hello("hi"));
    let huge_header = format!("x-big: {}\r\n", "x".repeat(61 * 1024));
    let many_headers: String = (0..101).map(|i| format!("x-h{i}: v\r\n")).collect();
    for (raw, status, body) in [
        (b"GARBAGE\r\n\r\n".to_vec(), 400, "Bad Request"),
        (get("/", "no-colon\r\n"), 400, "Bad Request"),
        (b"GET / HTTP/1.1\r\n\r\n".to_vec(), 400, ""),
        (get("/", &huge_header), 431, "Request Header Fields Too Large"),
        (get("/", &many_headers), 431, "Request Header Fields Too Large"),
        (b"GET / HTTP/1.0\r\nHost: a\r\n\r\n".to_vec(), 426, "Upgrade Required"),
        (
            b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n".to_vec(),
            501,
            "Not Implemented",
        ),
        (
            b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd".to_vec(),
            400,
            "Bad Request",
        ),
    ] {
        let mut client = Client::connect(server.addr());
        let r = client.send(&raw).response("GET");
        let what = String::from_utf8_lossy(&raw[..raw.len().min(60)]).into_owned();
        assert_eq!((r.status, r.text().as_str()), (status, body), "{what}");
        assert_eq!(r.header("connection"), Some("close"), "{what}");
        assert_eq!(r.header("x-hello"), None, "{what}: no filter callback ran");
        assert!(client.closed(), "{what}: the connection closes");
    }
    // 100 headers are fine.
    let ok: String = (0..99).map(|i| format!("x-h{i}: v\r\n")).collect();
    let r = Client::connect(server.addr()).send(&get("/", &ok)).response("GET");
    assert_eq!(r.status, 200);
    assert_eq!(
        upstream.requests().len(),
        1,
        "only the well-formed request reached the upstream"
    );
    assert_eq!(
        upstream.requests()[0].header("x-hello"),
        Some("hi"),
        "the well-formed one went through the filter"
    );
    // As in Envoy, each refused request still had its stream context created (8 + 1).
    assert_eq!(served(&server, 9), 9);
    assert_eq!(streams(&server), Some(Metric::Counter { value: 9 }));
}

#[test]
fn expect_100_continue_is_answered_and_not_forwarded() {
    let upstream = Upstream::start().unwrap();
    let server = start(&upstream, hello("hi"));
    let mut client = Client::connect(server.addr());
    client.send(b"POST /up HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n");
    let interim = http1::read_response(&mut client.reader, "POST", &Limits::default())
        .unwrap()
        .unwrap();
    assert_eq!(interim.status, 100);
    let r = client.send(b"hi").response("POST");
    assert_eq!(r.status, 200);
    let seen = upstream.requests();
    assert_eq!(seen[0].body, b"hi");
    assert_eq!(seen[0].header("expect"), None);
}

#[test]
fn upstream_failures_get_envoys_router_replies_through_the_filter() {
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap();
    let server = Server::start(ServerConfig::new(dead), hello("hi")).unwrap();
    let r = Client::connect(server.addr()).send(&get("/", "")).response("GET");
    assert_eq!(r.status, 503);
    assert_eq!(
        r.text(),
        "upstream connect error or disconnect/reset before headers. reset reason: remote connection failure"
    );
    assert_eq!(
        r.header("x-hello"),
        Some("hi"),
        "the router's reply goes through the filter"
    );

    let slow = Upstream::start().unwrap();
    slow.set_response(UpstreamResponse::ok("late").delayed(Duration::from_secs(5)));
    let config = ServerConfig {
        upstream_timeout: Duration::from_millis(300),
        ..ServerConfig::new(slow.addr())
    };
    let server = Server::start(config, hello("hi")).unwrap();
    let r = Client::connect(server.addr()).send(&get("/slow", "")).response("GET");
    assert_eq!((r.status, r.text().as_str()), (504, "upstream request timeout"));
    assert_eq!(slow.requests().len(), 1, "the upstream got the request");
}

#[test]
fn a_paused_stream_resumes_on_a_real_time_tick() {
    let upstream = Upstream::start().unwrap();
    let script = json!({
        "on_http_request_headers": {"calls": [{"call": "set_tick_period", "ms": 200}], "return": "pause"},
        "on_tick": {"calls": [
            {"call": "set_tick_period", "ms": 0},
            {"call": "set_effective_context", "context": "$http_ctx"},
            {"call": "continue_stream", "stream": "request"},
        ]},
    });
    let probe = host()
        .plugin(&module("meshward_fixture_probe"))
        .config(script.to_string());
    let server = start(&upstream, probe);
    let started = Instant::now();
    let r = Client::connect(server.addr()).send(&get("/wait", "")).response("GET");
    assert_eq!(r.status, 200);
    assert!(
        started.elapsed() >= Duration::from_millis(150),
        "held until the tick: {:?}",
        started.elapsed()
    );
    assert_eq!(upstream.requests()[0].target, "/wait");
}

#[test]
fn a_reset_closes_the_connection_without_a_response() {
    let upstream = Upstream::start().unwrap();
    let script = json!({"on_http_request_headers": {"calls": [{"call": "close_stream", "stream": "request"}], "return": "pause"}});
    let probe = host()
        .plugin(&module("meshward_fixture_probe"))
        .config(script.to_string());
    let server = start(&upstream, probe);
    let mut client = Client::connect(server.addr());
    client.send(&get("/close", ""));
    assert!(client.closed(), "no response, the connection closes");
    assert!(upstream.requests().is_empty());
}

#[test]
fn a_trap_fails_the_stream_with_503_and_every_later_one() {
    let upstream = Upstream::start().unwrap();
    let script = json!({"on_http_request_headers": {"calls": [{"call": "trap"}]}});
    let probe = host()
        .plugin(&module("meshward_fixture_probe"))
        .config(script.to_string());
    let server = start(&upstream, probe);
    let mut client = Client::connect(server.addr());
    for _ in 0..2 {
        let r = client.send(&get("/trap", "")).response("GET");
        assert_eq!((r.status, r.text().as_str()), (503, ""));
    }
    assert!(upstream.requests().is_empty());
    assert!(server.plugin(|p| p.is_failed()));
}

#[test]
fn stopping_closes_idle_connections_and_limits_hold() {
    let upstream = Upstream::start().unwrap();
    let config = ServerConfig {
        max_connections: 1,
        ..ServerConfig::new(upstream.addr())
    };
    let server = Server::start(config, hello("hi")).unwrap();
    let mut first = Client::connect(server.addr());
    assert_eq!(first.send(&get("/a", "")).response("GET").status, 200);
    // The one allowed connection is open and idle: another is closed at once.
    let mut second = Client::connect(server.addr());
    assert!(second.closed(), "over max_connections");

    let stopped = Instant::now();
    server.stop();
    assert!(
        stopped.elapsed() < Duration::from_secs(5),
        "stop does not wait for idle clients"
    );
    assert!(first.closed(), "stopping closes the idle keep-alive connection");
    assert_eq!(upstream.requests().len(), 1);
}

#[test]
fn a_rejected_configuration_stops_the_server_from_starting() {
    let upstream = Upstream::start().unwrap();
    let err = Server::start(ServerConfig::new(upstream.addr()), hello(""))
        .err()
        .expect("an empty greeting is rejected");
    assert!(matches!(err, meshward_host_test::Error::ConfigRejected { .. }), "{err}");
}

#[test]
fn the_cli_serves_max_requests_then_exits() {
    let upstream = Upstream::start().unwrap();
    let dir = std::env::temp_dir().join(format!("meshward-serve-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("greeting.txt");
    std::fs::write(&config, "from-cli").unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_meshward-host"))
        .args(["serve", "--listen", "127.0.0.1:0", "--upstream"])
        .arg(upstream.addr().to_string())
        .arg("--filter")
        .arg(common::fixture_path("meshward_fixture_hello"))
        .arg("--config")
        .arg(&config)
        .args(["--max-requests", "2"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting meshward-host serve");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr: SocketAddr = line
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("not an address: {line:?}"));

    let mut client = Client::connect(addr);
    let greet = client.send(&get("/greet", "")).response("GET");
    let local = client.send(&get("/local/x", "")).response("GET");
    assert_eq!((greet.status, local.status), (200, 418));
    assert_eq!(greet.header("x-hello"), Some("from-cli"));

    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("meshward-host serve did not exit after --max-requests 2");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{status}");
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    assert!(stderr.contains("[info] hello configured: from-cli"), "{stderr}");
    assert!(client.closed());
    let seen = upstream.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].header("x-hello"), Some("from-cli"));

    let help = Command::new(env!("CARGO_BIN_EXE_meshward-host"))
        .args(["serve", "--help"])
        .output()
        .unwrap();
    assert!(help.status.success());
    assert!(String::from_utf8_lossy(&help.stdout).contains("--max-requests N"));
    let bad = Command::new(env!("CARGO_BIN_EXE_meshward-host"))
        .args(["serve", "--filter", "f.wasm"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2), "a usage error");
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--upstream is required"));
}
