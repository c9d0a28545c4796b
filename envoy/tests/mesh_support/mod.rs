//! Test servers and clients for mesh traffic through real Envoy: an HTTP/2 gRPC echo service
//! (`h2` + `tokio`, gRPC's 5-byte length-prefixed framing by hand), an HTTP/2 client over
//! cleartext (h2c) or TLS with ALPN (`tokio-rustls`), and a WebSocket echo server
//! (`tungstenite`). Everything listens on 127.0.0.1 and stops when dropped.
#![allow(dead_code)]

use bytes::{Buf, Bytes, BytesMut};
use meshward_envoy::bootstrap::EnvoyConfig;
use meshward_envoy::{locate, WasmFilter};
use serde_json::{json, Value};
use std::net::{SocketAddr, TcpListener as StdListener, TcpStream as StdStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::rustls;

/// How long any one exchange may take.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// gRPC's frame: compression flag 0, big-endian length, message.
pub fn grpc_frame(message: &[u8]) -> Bytes {
    let mut frame = Vec::with_capacity(message.len() + 5);
    frame.push(0);
    frame.extend_from_slice(&u32::try_from(message.len()).expect("small message").to_be_bytes());
    frame.extend_from_slice(message);
    Bytes::from(frame)
}

/// Splits complete frames off the front of `buf`: (flags, message) each.
pub fn take_frames(buf: &mut BytesMut) -> Vec<(u8, Vec<u8>)> {
    let mut out = Vec::new();
    while buf.len() >= 5 {
        let len = u32::from_be_bytes([buf[1], buf[2], buf[3], buf[4]]) as usize;
        if buf.len() < 5 + len {
            break;
        }
        let flags = buf[0];
        buf.advance(5);
        out.push((flags, buf.split_to(len).to_vec()));
    }
    out
}

/// A protobuf message with one string field (field 1, wire type 2; short strings only).
pub fn proto_string(value: &str) -> Vec<u8> {
    let mut m = vec![0x0a, u8::try_from(value.len()).expect("short string")];
    m.extend_from_slice(value.as_bytes());
    m
}

/// A non-gRPC request whose body the service read to its end: path and body.
pub type ReadBody = (String, Vec<u8>);

/// What the gRPC service received: one entry per request.
#[derive(Clone, Debug)]
pub struct Received {
    /// `:method`.
    pub method: String,
    /// `:path`.
    pub path: String,
    /// `content-type`.
    pub content_type: String,
    /// Request headers.
    pub headers: http::HeaderMap,
}

/// A gRPC call whose request stream the service read to its end: path and messages.
pub type Completed = (String, Vec<Vec<u8>>);

/// One gRPC request message as it arrived: path and message.
pub type Arrived = (String, Vec<u8>);

/// The HTTP/2 echo service behind Envoy. gRPC calls (`content-type: application/grpc...`) get
/// each request message back (three times for a path ending in `ServerStream`; at once, as it
/// arrives, for a path ending in `Chat`; three `update` messages as soon as the first request
/// message arrives, before the request ends, for a path ending in `Subscribe`), then
/// `grpc-status: 0` in trailers; other requests get `200 ok`.
pub struct GrpcService {
    /// Where it listens.
    pub addr: SocketAddr,
    /// What it received (request heads).
    pub received: Arc<Mutex<Vec<Received>>>,
    /// gRPC calls whose request stream ended normally (an aborted stream is not here).
    pub completed: Arc<Mutex<Vec<Completed>>>,
    /// Every gRPC request message as it arrived: (path, message).
    pub arrived: Arc<Mutex<Vec<Arrived>>>,
    /// Other requests whose body was read to its end: path and body.
    pub bodies: Arc<Mutex<Vec<ReadBody>>>,
}

impl GrpcService {
    /// Starts the service on `runtime` (it stops when the runtime is dropped).
    pub fn start(runtime: &tokio::runtime::Runtime) -> GrpcService {
        let listener = runtime
            .block_on(TcpListener::bind("127.0.0.1:0"))
            .expect("binding the gRPC service");
        let addr = listener.local_addr().expect("address");
        let received = Arc::new(Mutex::new(Vec::new()));
        let completed = Arc::new(Mutex::new(Vec::new()));
        let arrived = Arc::new(Mutex::new(Vec::new()));
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&received);
        let done = Arc::clone(&completed);
        let seen = Arc::clone(&arrived);
        let read = Arc::clone(&bodies);
        runtime.spawn(async move {
            // Bounded: a test opens a handful of connections.
            for _ in 0..256 {
                let Ok((socket, _)) = listener.accept().await else {
                    return;
                };
                let (log, done, seen, read) = (
                    Arc::clone(&log),
                    Arc::clone(&done),
                    Arc::clone(&seen),
                    Arc::clone(&read),
                );
                tokio::spawn(async move {
                    let Ok(mut connection) = h2::server::handshake(socket).await else {
                        return;
                    };
                    while let Some(Ok((request, respond))) = connection.accept().await {
                        let records = Records {
                            heads: Arc::clone(&log),
                            completed: Arc::clone(&done),
                            arrived: Arc::clone(&seen),
                            bodies: Arc::clone(&read),
                        };
                        tokio::spawn(answer(request, respond, records));
                    }
                });
            }
        });
        GrpcService {
            addr,
            received,
            completed,
            arrived,
            bodies,
        }
    }

    /// The request messages that arrived for `path`, in order.
    pub fn arrived_on(&self, path: &str) -> Vec<Vec<u8>> {
        self.arrived
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .filter(|(p, _)| p == path)
            .map(|(_, m)| m.clone())
            .collect()
    }

    /// Whether a request carrying `x-request-id: id` reached the service (its head at least).
    pub fn saw_request_id(&self, id: &str) -> bool {
        self.received.lock().unwrap_or_else(|p| p.into_inner()).iter().any(|r| {
            r.headers
                .get("x-request-id")
                .is_some_and(|v| v.as_bytes() == id.as_bytes())
        })
    }

    /// True when a non-gRPC request body containing `needle` was read to its end.
    pub fn body_received(&self, needle: &[u8]) -> bool {
        self.bodies
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .any(|(_, body)| body.windows(needle.len().max(1)).any(|w| w == needle))
    }

    /// How many gRPC calls had their request stream read to its end.
    pub fn completed_calls(&self) -> usize {
        self.completed.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// Paths received so far.
    pub fn paths(&self) -> Vec<String> {
        self.received
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|r| r.path.clone())
            .collect()
    }
}

/// Where the service records what it got.
struct Records {
    heads: Arc<Mutex<Vec<Received>>>,
    completed: Arc<Mutex<Vec<Completed>>>,
    arrived: Arc<Mutex<Vec<Arrived>>>,
    bodies: Arc<Mutex<Vec<ReadBody>>>,
}

async fn answer(
    request: http::Request<h2::RecvStream>,
    mut respond: h2::server::SendResponse<Bytes>,
    records: Records,
) {
    let Records {
        heads: log,
        completed: done,
        arrived,
        bodies,
    } = records;
    let (parts, mut body) = request.into_parts();
    let content_type = parts
        .headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let path = parts.uri.path().to_string();
    log.lock().unwrap_or_else(|p| p.into_inner()).push(Received {
        method: parts.method.to_string(),
        path: path.clone(),
        content_type: content_type.clone(),
        headers: parts.headers.clone(),
    });
    if !content_type.starts_with("application/grpc") {
        let mut whole = Vec::new();
        let mut ended = true;
        while let Some(chunk) = body.data().await {
            let Ok(chunk) = chunk else {
                ended = false;
                break;
            };
            let _ = body.flow_control().release_capacity(chunk.len());
            whole.extend_from_slice(&chunk);
        }
        if ended {
            bodies
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push((path.clone(), whole));
        }
        let response = http::Response::builder().status(200).body(()).expect("response");
        if let Ok(mut send) = respond.send_response(response, false) {
            let _ = send.send_data(Bytes::from_static(b"ok"), true);
        }
        return;
    }
    // Like gRPC servers, answer a unary or server-streaming call once its request is complete; a
    // bidirectional call (path ending in `Chat`) gets each message back as soon as it arrives.
    let bidi = path.ends_with("Chat");
    let subscribe = path.ends_with("Subscribe");
    let copies = if path.ends_with("ServerStream") { 3 } else { 1 };
    let mut send = None;
    let mut pending = Vec::new();
    let mut all = Vec::new();
    let mut buf = BytesMut::new();
    while let Some(chunk) = body.data().await {
        let Ok(chunk) = chunk else { return };
        let _ = body.flow_control().release_capacity(chunk.len());
        buf.extend_from_slice(&chunk);
        let messages: Vec<Vec<u8>> = take_frames(&mut buf).into_iter().map(|(_, m)| m).collect();
        arrived
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend(messages.iter().map(|m| (path.clone(), m.clone())));
        all.extend(messages.iter().cloned());
        if subscribe {
            // Server streaming that answers before the request ends: updates at once.
            if !messages.is_empty() && send.is_none() {
                let Some(stream) = open_reply(&mut send, &mut respond) else {
                    return;
                };
                for i in 0..3 {
                    if stream
                        .send_data(grpc_frame(&proto_string(&format!("update {i}"))), false)
                        .is_err()
                    {
                        return;
                    }
                }
            }
            continue;
        }
        pending.extend(messages);
        if bidi && !pending.is_empty() {
            let Some(stream) = open_reply(&mut send, &mut respond) else {
                return;
            };
            for message in pending.drain(..) {
                if stream.send_data(grpc_frame(&message), false).is_err() {
                    return;
                }
            }
        }
    }
    if body.trailers().await.is_err() {
        return;
    }
    done.lock().unwrap_or_else(|p| p.into_inner()).push((path.clone(), all));
    let Some(stream) = open_reply(&mut send, &mut respond) else {
        return;
    };
    for message in pending {
        for _ in 0..copies {
            if stream.send_data(grpc_frame(&message), false).is_err() {
                return;
            }
        }
    }
    let mut trailers = http::HeaderMap::new();
    trailers.insert("grpc-status", http::HeaderValue::from_static("0"));
    let _ = stream.send_trailers(trailers);
}

/// The reply stream of a gRPC call, its headers sent the first time.
fn open_reply<'a>(
    send: &'a mut Option<h2::SendStream<Bytes>>,
    respond: &mut h2::server::SendResponse<Bytes>,
) -> Option<&'a mut h2::SendStream<Bytes>> {
    if send.is_none() {
        let response = http::Response::builder()
            .status(200)
            .header("content-type", "application/grpc")
            .body(())
            .ok()?;
        *send = Some(respond.send_response(response, false).ok()?);
    }
    send.as_mut()
}

/// A response as an HTTP/2 client got it.
#[derive(Debug, Default)]
pub struct H2Reply {
    /// `:status`.
    pub status: u16,
    /// Response headers.
    pub headers: http::HeaderMap,
    /// The body.
    pub body: Vec<u8>,
    /// Trailers, if any.
    pub trailers: Option<http::HeaderMap>,
}

impl H2Reply {
    /// `grpc-status`, from the trailers or (a trailers-only reply) the headers.
    pub fn grpc_status(&self) -> Option<String> {
        grpc_status_in(self.trailers.as_ref(), &self.headers)
    }

    /// The gRPC messages of the body.
    pub fn messages(&self) -> Vec<Vec<u8>> {
        take_frames(&mut BytesMut::from(&self.body[..]))
            .into_iter()
            .map(|(_, m)| m)
            .collect()
    }
}

/// Reads a whole reply (`None` when the stream was reset).
async fn read_reply(reply: http::Response<h2::RecvStream>) -> Option<H2Reply> {
    let (parts, mut body) = reply.into_parts();
    let mut out = H2Reply {
        status: parts.status.as_u16(),
        headers: parts.headers,
        ..H2Reply::default()
    };
    while let Some(chunk) = body.data().await {
        let chunk = chunk.ok()?;
        let _ = body.flow_control().release_capacity(chunk.len());
        out.body.extend_from_slice(&chunk);
    }
    out.trailers = body.trailers().await.ok()?;
    Some(out)
}

/// Reads reply messages into `out` until it holds `want` of them (`None`: until the body ends);
/// false when the call ended first (its trailers read, or a reset).
async fn read_replies(
    stream: &mut h2::RecvStream,
    buf: &mut BytesMut,
    out: &mut LockStep,
    want: Option<usize>,
) -> bool {
    while want.is_none_or(|w| out.replies.len() < w) {
        match stream.data().await {
            Some(Ok(chunk)) => {
                let _ = stream.flow_control().release_capacity(chunk.len());
                buf.extend_from_slice(&chunk);
                out.replies.extend(take_frames(buf).into_iter().map(|(_, m)| m));
            }
            Some(Err(_)) => {
                out.reset = true;
                return false;
            }
            None => {
                match stream.trailers().await {
                    Ok(t) => out.trailers = t,
                    Err(_) => out.reset = true,
                }
                return false;
            }
        }
    }
    true
}

/// How a lock-step gRPC call went, as the client saw it.
#[derive(Debug, Default)]
pub struct LockStep {
    /// Request messages sent.
    pub sent: usize,
    /// `:status` (0 before the response started).
    pub status: u16,
    /// Response headers.
    pub headers: http::HeaderMap,
    /// Reply messages received, in order.
    pub replies: Vec<Vec<u8>>,
    /// Trailers, when the call ended normally.
    pub trailers: Option<http::HeaderMap>,
    /// The stream was reset (or refused).
    pub reset: bool,
}

impl LockStep {
    /// `grpc-status`, from the trailers or (a trailers-only reply) the headers.
    pub fn grpc_status(&self) -> Option<String> {
        grpc_status_in(self.trailers.as_ref(), &self.headers)
    }
}

/// `grpc-status` from `trailers`, or from `headers` for a trailers-only reply.
fn grpc_status_in(trailers: Option<&http::HeaderMap>, headers: &http::HeaderMap) -> Option<String> {
    trailers
        .and_then(|t| t.get("grpc-status"))
        .or_else(|| headers.get("grpc-status"))
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// An HTTP/2 connection to Envoy.
pub struct H2Client {
    sender: h2::client::SendRequest<Bytes>,
    scheme: &'static str,
    /// The ALPN protocol TLS negotiated (`None` for h2c).
    pub alpn: Option<Vec<u8>>,
}

impl H2Client {
    /// HTTP/2 with prior knowledge over cleartext (h2c).
    pub async fn h2c(addr: SocketAddr) -> H2Client {
        let io = TcpStream::connect(addr).await.expect("connect");
        H2Client::handshake(io, "http", None).await
    }

    /// HTTP/2 over TLS, negotiated with ALPN `h2`; the server certificate must chain to `root`
    /// and name `server_name`.
    pub async fn tls(
        addr: SocketAddr,
        root: &rustls::pki_types::CertificateDer<'static>,
        server_name: &str,
    ) -> H2Client {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(root.clone()).expect("root certificate");
        // ring (rcgen's backend too) has no post-quantum key exchange, which a local test needs not.
        #[allow(deprecated)]
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols = vec![b"h2".to_vec()];
        let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
        let tcp = TcpStream::connect(addr).await.expect("connect");
        let name = rustls::pki_types::ServerName::try_from(server_name.to_string()).expect("server name");
        let tls = connector.connect(name, tcp).await.expect("TLS handshake");
        let alpn = tls.get_ref().1.alpn_protocol().map(<[u8]>::to_vec);
        H2Client::handshake(tls, "https", alpn).await
    }

    async fn handshake<T>(io: T, scheme: &'static str, alpn: Option<Vec<u8>>) -> H2Client
    where
        T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let (sender, connection) = h2::client::handshake(io).await.expect("HTTP/2 handshake");
        tokio::spawn(async move {
            let _ = connection.await;
        });
        H2Client { sender, scheme, alpn }
    }

    /// Sends one request whose body is `chunks` (each one DATA frame) and reads the whole reply.
    pub async fn request(&self, method: &str, path: &str, headers: &[(&str, &str)], chunks: Vec<Bytes>) -> H2Reply {
        let exchange = async {
            let mut sender = self.sender.clone().ready().await.expect("connection ready");
            let mut request = http::Request::builder()
                .method(method)
                .uri(format!("{}://meshward.test{path}", self.scheme));
            for (name, value) in headers {
                request = request.header(*name, *value);
            }
            let request = request.body(()).expect("request");
            let last = chunks.len();
            let (reply, mut send) = sender.send_request(request, last == 0).expect("send request");
            for (i, chunk) in chunks.into_iter().enumerate() {
                send.send_data(chunk, i + 1 == last).expect("send data");
            }
            read_reply(reply.await.expect("response")).await.expect("a whole reply")
        };
        tokio::time::timeout(TIMEOUT, exchange)
            .await
            .unwrap_or_else(|_| panic!("{method} {path}: no reply within {TIMEOUT:?}"))
    }

    /// Sends a request's headers, waits `delay`, then sends `body` and reads the whole reply
    /// (`None` when the stream was reset or refused).
    pub async fn slow_request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Bytes,
        delay: Duration,
    ) -> Option<H2Reply> {
        let exchange = async {
            let mut sender = self.sender.clone().ready().await.ok()?;
            let mut request = http::Request::builder()
                .method(method)
                .uri(format!("{}://meshward.test{path}", self.scheme));
            for (name, value) in headers {
                request = request.header(*name, *value);
            }
            let (reply, mut send) = sender.send_request(request.body(()).ok()?, false).ok()?;
            tokio::time::sleep(delay).await;
            // A stream already answered refuses more data: that is the reply to read.
            let _ = send.send_data(body, true);
            read_reply(reply.await.ok()?).await
        };
        tokio::time::timeout(TIMEOUT, exchange)
            .await
            .unwrap_or_else(|_| panic!("{method} {path}: no reply within {TIMEOUT:?}"))
    }

    /// A gRPC call in lock step: sends each message, then waits for that many reply messages
    /// before sending the next one; then ends the request and reads the rest.
    pub async fn lock_step(&self, path: &str, metadata: &[(&str, &str)], messages: &[(&str, usize)]) -> LockStep {
        let exchange = async {
            let mut out = LockStep::default();
            let Ok(mut sender) = self.sender.clone().ready().await else {
                return out;
            };
            let mut request = http::Request::builder()
                .method("POST")
                .uri(format!("{}://meshward.test{path}", self.scheme))
                .header("content-type", "application/grpc")
                .header("te", "trailers");
            for (name, value) in metadata {
                request = request.header(*name, *value);
            }
            let Ok((reply, mut send)) = sender.send_request(request.body(()).expect("request"), false) else {
                return out;
            };
            let mut reply = Some(reply);
            let mut body: Option<h2::RecvStream> = None;
            let mut buf = BytesMut::new();
            for (message, replies) in messages {
                if send.send_data(grpc_frame(&proto_string(message)), false).is_err() {
                    out.reset = true;
                    return out;
                }
                out.sent += 1;
                if let Some(r) = reply.take() {
                    match r.await {
                        Ok(response) => {
                            let (parts, stream) = response.into_parts();
                            out.status = parts.status.as_u16();
                            out.headers = parts.headers;
                            body = Some(stream);
                        }
                        Err(_) => {
                            out.reset = true;
                            return out;
                        }
                    }
                }
                let Some(stream) = body.as_mut() else { return out };
                let want = out.replies.len() + replies;
                if !read_replies(stream, &mut buf, &mut out, Some(want)).await {
                    return out;
                }
            }
            if send.send_data(Bytes::new(), true).is_err() {
                out.reset = true;
                return out;
            }
            if let Some(stream) = body.as_mut() {
                read_replies(stream, &mut buf, &mut out, None).await;
            }
            out
        };
        tokio::time::timeout(TIMEOUT, exchange)
            .await
            .unwrap_or_else(|_| panic!("{path}: the lock-step call did not finish within {TIMEOUT:?}"))
    }

    /// A gRPC call sending `messages` (each its own DATA frame, then end of stream).
    pub async fn grpc(&self, path: &str, metadata: &[(&str, &str)], messages: &[&str]) -> H2Reply {
        let mut headers = vec![("content-type", "application/grpc"), ("te", "trailers")];
        headers.extend_from_slice(metadata);
        let chunks = messages.iter().map(|m| grpc_frame(&proto_string(m))).collect();
        self.request("POST", path, &headers, chunks).await
    }
}

/// A self-signed server certificate for `name` and its key (PEM), and the certificate (DER)
/// for the client's trust store.
pub fn server_certificate(name: &str) -> (String, String, rustls::pki_types::CertificateDer<'static>) {
    let certified = rcgen::generate_simple_self_signed(vec![name.to_string()]).expect("certificate");
    (
        certified.cert.pem(),
        certified.signing_key.serialize_pem(),
        certified.cert.der().clone(),
    )
}

/// A WebSocket echo server on its own thread; stops (and joins) when dropped.
pub struct WebSocketEcho {
    /// Where it listens.
    pub addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl WebSocketEcho {
    /// Starts listening on a free 127.0.0.1 port.
    pub fn start() -> WebSocketEcho {
        let listener = StdListener::bind("127.0.0.1:0").expect("binding the WebSocket server");
        let addr = listener.local_addr().expect("address");
        listener.set_nonblocking(true).expect("non-blocking");
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let mut served = 0;
            while !flag.load(Ordering::SeqCst) && served < 16 {
                match listener.accept() {
                    Ok((stream, _)) => {
                        served += 1;
                        echo(stream, &flag);
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        WebSocketEcho {
            addr,
            stop,
            thread: Some(thread),
        }
    }
}

fn echo(stream: StdStream, stop: &AtomicBool) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_millis(200)));
    let Ok(mut socket) = tungstenite::accept(stream) else {
        return;
    };
    let deadline = Instant::now() + TIMEOUT;
    while !stop.load(Ordering::SeqCst) && Instant::now() < deadline {
        match socket.read() {
            Ok(message) if message.is_text() || message.is_binary() => {
                if socket.send(message).is_err() {
                    return;
                }
            }
            Ok(message) if message.is_close() => return,
            Ok(_) => {}
            Err(tungstenite::Error::Io(e))
                if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
            Err(_) => return,
        }
    }
}

impl Drop for WebSocketEcho {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Opens a WebSocket to `ws://meshward.test/<path>` through `addr` (HTTP/1.1 upgrade), sends
/// `text` and returns the echo (`Err` with what went wrong).
pub fn websocket_echo(addr: SocketAddr, path: &str, text: &str) -> Result<String, String> {
    let stream = StdStream::connect(addr).map_err(|e| e.to_string())?;
    stream.set_read_timeout(Some(TIMEOUT)).map_err(|e| e.to_string())?;
    let (mut socket, response) =
        tungstenite::client(format!("ws://meshward.test{path}"), stream).map_err(|e| format!("upgrade: {e}"))?;
    if response.status() != 101 {
        return Err(format!("status {}", response.status()));
    }
    socket
        .send(tungstenite::Message::text(text))
        .map_err(|e| format!("send: {e}"))?;
    let reply = socket.read().map_err(|e| format!("read: {e}"))?;
    let _ = socket.close(None);
    reply.into_text().map(|t| t.to_string()).map_err(|e| e.to_string())
}

/// A built wasm filter; a missing one fails the test with the command to build it.
pub fn wasm(name: &str) -> std::path::PathBuf {
    locate::wasm_file(name).unwrap_or_else(|e| panic!("{e}"))
}

/// Envoy in front of the gRPC service: the WAF and the policy filter with `mode` only, Envoy's
/// `grpc_web` filter after them (so the filters see gRPC-Web as browsers send it), `/ws` routed
/// to the WebSocket server with upgrades on, a cleartext listener (`main`: HTTP/1.1 and h2c) and
/// a TLS one (`tls`: ALPN h2 and http/1.1).
pub fn bootstrap(mode: &str, grpc: &GrpcService, ws: &WebSocketEcho, cert_pem: &str, key_pem: &str) -> Value {
    let waf = WasmFilter::new(wasm("meshward-waf"), json!({ "mode": mode }).to_string())
        .name("meshward_waf")
        .root_id("meshward_waf")
        .vm_id("meshward_waf");
    let policy = WasmFilter::new(wasm("meshward-netpolicy"), format!("mode: {mode}\n"))
        .name("meshward_policy")
        .root_id("meshward_policy")
        .vm_id("meshward_policy");
    let config = EnvoyConfig::new(grpc.addr)
        .filter(waf)
        .filter(policy)
        .native_filter_after(json!({
            "name": "envoy.filters.http.grpc_web",
            "typed_config": { "@type": "type.googleapis.com/envoy.extensions.filters.http.grpc_web.v3.GrpcWeb" }
        }))
        .hcm_option("upgrade_configs", json!([{ "upgrade_type": "websocket" }]))
        .hcm_option("http2_protocol_options", json!({}))
        .cluster("ws", ws.addr);
    let mut doc = config.bootstrap();
    let clusters = doc["static_resources"]["clusters"].as_array_mut().expect("clusters");
    // The service speaks HTTP/2 only (gRPC needs it); Envoy converts HTTP/1.1 callers.
    clusters[0]["typed_extension_protocol_options"]["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"]
        ["explicit_http_config"] = json!({ "http2_protocol_options": {} });
    let listener = &mut doc["static_resources"]["listeners"][0];
    let hcm = &mut listener["filter_chains"][0]["filters"][0]["typed_config"];
    let routes = hcm["route_config"]["virtual_hosts"][0]["routes"]
        .as_array_mut()
        .expect("routes");
    routes.insert(0, json!({ "match": { "prefix": "/ws" }, "route": { "cluster": "ws" } }));
    let mut tls = listener.clone();
    tls["name"] = json!("tls");
    tls["filter_chains"][0]["transport_socket"] = json!({
        "name": "envoy.transport_sockets.tls",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext",
            "common_tls_context": {
                "alpn_protocols": ["h2", "http/1.1"],
                "tls_certificates": [{
                    "certificate_chain": { "inline_string": cert_pem },
                    "private_key": { "inline_string": key_pem }
                }]
            }
        }
    });
    doc["static_resources"]["listeners"]
        .as_array_mut()
        .expect("listeners")
        .push(tls);
    doc
}

/// The mesh under test: the gRPC service, the WebSocket server and Envoy with both filters in
/// `mode` (see [`bootstrap`]). Fields drop in order: Envoy first, the runtime last.
pub struct Mesh {
    /// Envoy.
    pub envoy: meshward_envoy::Envoy,
    /// The service behind it.
    pub grpc: GrpcService,
    /// The WebSocket server behind `/ws`.
    pub ws: WebSocketEcho,
    /// The TLS listener's certificate, for clients' trust stores.
    pub cert_der: rustls::pki_types::CertificateDer<'static>,
    /// The runtime the service and the HTTP/2 clients run on.
    pub runtime: tokio::runtime::Runtime,
}

impl Mesh {
    /// Starts everything (the caller holds `meshward_envoy::mesh::exclusive()`).
    pub fn start(mode: &str) -> Mesh {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio runtime");
        let grpc = GrpcService::start(&runtime);
        let ws = WebSocketEcho::start();
        let (cert_pem, key_pem, cert_der) = server_certificate("meshward.test");
        let doc = bootstrap(mode, &grpc, &ws, &cert_pem, &key_pem);
        let envoy = meshward_envoy::Envoy::start_bootstrap(&doc, "info", Duration::from_secs(90)).expect("Envoy");
        Mesh {
            envoy,
            grpc,
            ws,
            cert_der,
            runtime,
        }
    }
}
