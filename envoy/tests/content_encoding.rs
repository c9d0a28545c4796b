//! Content-Encoding through the WAF in a real Envoy 1.40 (zero configuration besides the mode,
//! so the mesh profile), over HTTP/1.1 and HTTP/2 (h2c): a gzip-coded request body carrying SQL
//! injection never reaches the upstream in enforce mode while a benign one does, byte for byte
//! as sent; a gzip-coded or JSON response leaking an SQL error is not delivered (the stream is
//! reset once its head went out) while a benign one is, coded bytes intact; a leak far past the
//! response inspection limit resets the stream, while a large benign response streams through whole.
//!
//! A missing `meshward_waf.wasm` or Envoy fails these tests with the command to run.

mod common;

use std::io::Write;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use flate2::write::GzEncoder;
use flate2::Compression;
use meshward_envoy::waf::rule_ids;
use meshward_envoy::{waf, Envoy, EnvoyConfig, Request, Upstream, UpstreamResponse, WasmFilter};
use serde_json::{json, Value};

const ATTACK: &[u8] = b"q=1' UNION SELECT password FROM users --&id=7";
const BENIGN: &[u8] = b"q=blue+widgets&id=7";
const FORM: &str = "application/x-www-form-urlencoded";
const SQL_LEAK: &str = "<html><body>You have an error in your SQL syntax; check the manual that corresponds to \
     your MySQL server version for the right syntax to use near '1'' at line 1</body></html>";
const PAGE: &str = "<html><body>Your order has shipped.</body></html>";

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// A benign text body of `n` bytes (numbered lines: nothing CRS's leak rules look for).
fn large_text(n: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(n + 64);
    let mut i = 0u64;
    while out.len() < n {
        out.extend_from_slice(format!("line {i}: shipped parcel {}\n", i * 7919 % 100_003).as_bytes());
        i += 1;
    }
    out.truncate(n);
    out
}

/// 2 MiB of benign text with the SQL error at 1.5 MB, far past the 512 KiB inspection limit.
fn tail_leak() -> Vec<u8> {
    let mut body = large_text(2 << 20);
    let leak = b"You have an error in your SQL syntax; check the manual that corresponds to your MySQL server";
    body[1_500_000..1_500_000 + leak.len()].copy_from_slice(leak);
    body
}

/// What the upstream answers for each path.
fn answer(path: &str) -> UpstreamResponse {
    let html = |body: Vec<u8>| UpstreamResponse::ok(body).header("content-type", "text/html");
    match path {
        "/leak-gz" => html(gzip(SQL_LEAK.as_bytes())).header("content-encoding", "gzip"),
        "/page-gz" => html(gzip(PAGE.as_bytes())).header("content-encoding", "gzip"),
        "/leak-json" => UpstreamResponse::ok(format!(r#"{{"error":"{}"}}"#, SQL_LEAK.replace('"', "'")))
            .header("content-type", "application/json"),
        "/big" => UpstreamResponse::ok(large_text(2 << 20)).header("content-type", "text/plain"),
        "/tail-leak" => UpstreamResponse::ok(tail_leak()).header("content-type", "text/plain"),
        _ => UpstreamResponse::ok("ok").header("content-type", "text/plain"),
    }
}

fn start(mode: &str) -> (Upstream, Envoy) {
    let upstream = Upstream::start().expect("starting the upstream");
    upstream.set_handler(|r| Some(answer(r.target.split('?').next().unwrap_or("/"))));
    let filter = WasmFilter::new(common::wasm("meshward-waf"), json!({ "mode": mode }).to_string())
        .name("meshward_waf")
        .root_id("meshward_waf")
        .vm_id("meshward_waf");
    let mut config = EnvoyConfig::new(upstream.addr())
        .filter(filter)
        .hcm_option("preserve_external_request_id", true.into())
        .hcm_option("http2_protocol_options", json!({}));
    config.ready_timeout = Duration::from_secs(90);
    let envoy = Envoy::start(&config).unwrap_or_else(|e| panic!("Envoy with the WAF: {e}"));
    (upstream, envoy)
}

/// HTTP/1.1 or HTTP/2 (h2c) from the client to Envoy.
#[derive(Debug, Clone, Copy)]
enum Proto {
    H1,
    H2,
}

/// What the client got: status and whole body, or the error that cut the response (a reset).
type Got = Result<(u16, Vec<u8>), String>;

fn exchange(envoy: &Envoy, proto: Proto, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Got {
    match proto {
        Proto::H1 => {
            let mut r = Request::new(method, path, body.to_vec());
            for (k, v) in headers {
                r = r.header(k, v);
            }
            envoy.send(&r).map(|r| (r.status, r.body)).map_err(|e| e.to_string())
        }
        Proto::H2 => {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(h2_exchange(envoy.addr(), method, path, headers, body))
        }
    }
}

async fn h2_exchange(addr: SocketAddr, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Got {
    let run = async {
        let io = tokio::net::TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
        let (sender, connection) = h2::client::handshake(io).await.map_err(|e| e.to_string())?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        let mut sender = sender.ready().await.map_err(|e| e.to_string())?;
        let mut request = http::Request::builder()
            .method(method)
            .uri(format!("http://meshward.test{path}"));
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        let request = request.body(()).map_err(|e| e.to_string())?;
        let (reply, mut send) = sender
            .send_request(request, body.is_empty())
            .map_err(|e| e.to_string())?;
        if !body.is_empty() {
            send.send_data(Bytes::copy_from_slice(body), true)
                .map_err(|e| e.to_string())?;
        }
        let (parts, mut stream) = reply.await.map_err(|e| e.to_string())?.into_parts();
        let mut out = Vec::new();
        while let Some(chunk) = stream.data().await {
            let chunk = chunk.map_err(|e| format!("after {} bytes: {e}", out.len()))?;
            let _ = stream.flow_control().release_capacity(chunk.len());
            out.extend_from_slice(&chunk);
        }
        Ok((parts.status.as_u16(), out))
    };
    tokio::time::timeout(Duration::from_secs(20), run)
        .await
        .unwrap_or_else(|_| Err("no reply within 20 s".into()))
}

fn event(envoy: &Envoy, id: &str) -> Value {
    waf::wait_event(envoy, id, Duration::from_secs(5)).unwrap_or_else(|| panic!("no evidence event for {id}"))
}

/// The upstream's copy of request `id`, if it got one.
fn received(upstream: &Upstream, id: &str) -> Option<meshward_envoy::RecordedRequest> {
    upstream
        .requests()
        .into_iter()
        .find(|r| r.headers.get("x-request-id").as_deref() == Some(id))
}

#[test]
fn gzip_request_bodies_are_inspected_decoded_and_forwarded_as_sent() {
    let (upstream, envoy) = start("enforce");
    for proto in [Proto::H1, Proto::H2] {
        let id = format!("gz-attack-{proto:?}");
        let attack = gzip(ATTACK);
        let headers = [
            ("content-type", FORM),
            ("content-encoding", "gzip"),
            ("x-request-id", id.as_str()),
        ];
        let got = exchange(&envoy, proto, "POST", "/search", &headers, &attack);
        assert!(matches!(got, Ok((403, _))), "{proto:?}: {got:?}");
        let e = event(&envoy, &id);
        assert_eq!(e["decision"], "block", "{e}");
        assert!(rule_ids(&e).iter().any(|r| (942_000..943_000).contains(r)), "{e}");
        assert!(
            !rule_ids(&e).contains(&920_450),
            "Content-Encoding is not restricted: {e}"
        );

        let id = format!("gz-benign-{proto:?}");
        let benign = gzip(BENIGN);
        let headers = [
            ("content-type", FORM),
            ("content-encoding", "gzip"),
            ("x-request-id", id.as_str()),
        ];
        let got = exchange(&envoy, proto, "POST", "/search", &headers, &benign);
        assert_eq!(got, Ok((200, b"ok".to_vec())), "{proto:?}");
        let copy = received(&upstream, &id).expect("the benign request reached the upstream");
        assert_eq!(
            copy.body, benign,
            "{proto:?}: the upstream gets the coded bytes as sent"
        );
        assert_eq!(copy.headers.get("content-encoding").as_deref(), Some("gzip"));
    }
    assert!(
        received(&upstream, "gz-attack-H1").is_none() && received(&upstream, "gz-attack-H2").is_none(),
        "an attack never reaches the upstream"
    );
}

/// Whether the client did not get `leak` as the upstream sent it.
fn withheld(got: &Got, leak: &[u8]) -> bool {
    match got {
        Err(_) => true,
        Ok((status, body)) => *status != 200 || body.as_slice() != leak,
    }
}

#[test]
fn coded_and_json_responses_leaking_an_sql_error_are_not_delivered() {
    let (_upstream, envoy) = start("enforce");
    for proto in [Proto::H1, Proto::H2] {
        for (path, sent) in [
            ("/leak-gz", answer("/leak-gz").body),
            ("/leak-json", answer("/leak-json").body),
        ] {
            let id = format!("{path}-{proto:?}");
            let got = exchange(&envoy, proto, "GET", path, &[("x-request-id", id.as_str())], &[]);
            assert!(
                withheld(&got, &sent),
                "{proto:?} {path}: the leak reached the client: {got:?}"
            );
            let e = event(&envoy, &id);
            assert_eq!(e["decision"], "block", "{e}");
            assert!(rule_ids(&e).contains(&951_230), "{e}");
        }
        let id = format!("page-gz-{proto:?}");
        let got = exchange(&envoy, proto, "GET", "/page-gz", &[("x-request-id", id.as_str())], &[]);
        assert_eq!(
            got,
            Ok((200, gzip(PAGE.as_bytes()))),
            "{proto:?}: the benign coded page as sent"
        );
    }
}

#[test]
fn a_large_benign_response_streams_through_intact() {
    let (_upstream, envoy) = start("enforce");
    let sent = large_text(2 << 20);
    for proto in [Proto::H1, Proto::H2] {
        let id = format!("big-{proto:?}");
        let got = exchange(&envoy, proto, "GET", "/big", &[("x-request-id", id.as_str())], &[]);
        let (status, body) = got.unwrap_or_else(|e| panic!("{proto:?}: {e}"));
        assert_eq!(status, 200);
        assert!(
            body == sent,
            "{proto:?}: {} bytes of {} arrived intact",
            body.len(),
            sent.len()
        );
    }
}

#[test]
fn a_leak_past_the_response_limit_resets_the_stream() {
    let (_upstream, envoy) = start("enforce");
    let sent = tail_leak();
    for proto in [Proto::H1, Proto::H2] {
        let id = format!("tail-{proto:?}");
        let got = exchange(
            &envoy,
            proto,
            "GET",
            "/tail-leak",
            &[("x-request-id", id.as_str())],
            &[],
        );
        assert!(withheld(&got, &sent), "{proto:?}: the whole response arrived");
        if let Ok((_, body)) = &got {
            assert!(body.len() < sent.len(), "{proto:?}: not complete-looking");
        }
        let e = event(&envoy, &id);
        assert_eq!(e["decision"], "block", "{e}");
        assert!(rule_ids(&e).contains(&951_230), "{e}");
        let limits = e["limits"].to_string();
        assert!(limits.contains("response_leak_past_limit(window="), "{e}");
    }
}
