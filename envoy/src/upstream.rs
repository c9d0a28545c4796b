//! A small upstream HTTP/1.1 server for tests: records every request and answers with a
//! configurable response; implements CRS albedo's `POST /reflect` (and, in albedo mode,
//! albedo's answer to every request).

use crate::albedo;
use crate::HarnessError;
use meshward_testkit::http1::{self, Frame, Headers, Limits, Request};
use std::io::{BufReader, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A request the upstream received, exactly as it arrived: header lines in arrival order and
/// case, the body de-chunked, and the trailers of a chunked body.
pub type RecordedRequest = Request;

/// What the upstream answers.
#[derive(Clone, Debug)]
pub struct UpstreamResponse {
    /// Status code.
    pub status: u16,
    /// Response headers, in this order and case.
    pub headers: Headers,
    /// Body bytes.
    pub body: Vec<u8>,
    /// Non-empty trailers make the body go chunked.
    pub trailers: Headers,
    /// Send the body chunked even without trailers.
    pub chunked: bool,
    /// Wait this long before answering (for timeout tests).
    pub delay: Duration,
}

impl UpstreamResponse {
    /// A response with `status` and an empty body.
    pub fn new(status: u16) -> Self {
        UpstreamResponse {
            status,
            headers: Headers::new(),
            body: Vec::new(),
            trailers: Headers::new(),
            chunked: false,
            delay: Duration::ZERO,
        }
    }

    /// A 200 response with `body`.
    pub fn ok(body: impl Into<Vec<u8>>) -> Self {
        UpstreamResponse {
            body: body.into(),
            ..UpstreamResponse::new(200)
        }
    }

    /// Adds a header line.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.add(name, value);
        self
    }

    /// Adds a trailer (the body is then sent chunked).
    pub fn trailer(mut self, name: &str, value: &str) -> Self {
        self.trailers.add(name, value);
        self
    }

    /// Sends the body chunked.
    pub fn chunked(mut self) -> Self {
        self.chunked = true;
        self
    }

    /// Answers only after `delay`.
    pub fn delayed(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    /// The exact bytes the upstream sends.
    pub fn to_bytes(&self) -> Vec<u8> {
        let frame = if self.chunked || !self.trailers.is_empty() {
            Frame::Chunked
        } else {
            Frame::Length
        };
        http1::Response {
            headers: self.headers.clone(),
            body: self.body.clone(),
            trailers: self.trailers.clone(),
            ..http1::Response::new(self.status)
        }
        .to_bytes(frame)
    }
}

/// Chooses the answer to a request; `None` falls back to the upstream's canned response.
pub type Handler = Arc<dyn Fn(&RecordedRequest) -> Option<UpstreamResponse> + Send + Sync>;

struct Shared {
    stop: AtomicBool,
    albedo: AtomicBool,
    requests: Mutex<Vec<RecordedRequest>>,
    heads: Mutex<Vec<RecordedRequest>>,
    arrived: Condvar,
    response: Mutex<UpstreamResponse>,
    handler: Mutex<Option<Handler>>,
    connections: Mutex<Vec<(TcpStream, JoinHandle<()>)>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panicking connection thread must not hide what was recorded.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The test upstream; stops (closes its socket and joins its threads) when dropped.
pub struct Upstream {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: Option<JoinHandle<()>>,
}

impl Upstream {
    /// Starts listening on a free 127.0.0.1 port; answers `200 ok` until told otherwise.
    pub fn start() -> Result<Upstream, HarnessError> {
        let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| HarnessError::io("binding the upstream", e))?;
        let addr = listener
            .local_addr()
            .map_err(|e| HarnessError::io("upstream address", e))?;
        listener
            .set_nonblocking(true)
            .map_err(|e| HarnessError::io("upstream non-blocking", e))?;
        let shared = Arc::new(Shared {
            stop: AtomicBool::new(false),
            albedo: AtomicBool::new(false),
            requests: Mutex::new(Vec::new()),
            heads: Mutex::new(Vec::new()),
            arrived: Condvar::new(),
            response: Mutex::new(UpstreamResponse::ok("ok").header("content-type", "text/plain")),
            handler: Mutex::new(None),
            connections: Mutex::new(Vec::new()),
        });
        let accept_shared = Arc::clone(&shared);
        let accept = std::thread::Builder::new()
            .name("upstream-accept".into())
            .spawn(move || accept_loop(listener, accept_shared))
            .map_err(|e| HarnessError::io("spawning the upstream thread", e))?;
        Ok(Upstream {
            addr,
            shared,
            accept: Some(accept),
        })
    }

    /// Where the upstream listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Answers every request as CRS's albedo backend does (handler and canned response unused).
    pub fn set_albedo(&self, on: bool) {
        self.shared.albedo.store(on, Ordering::SeqCst);
    }

    /// Forgets the requests recorded so far (long runs keep memory bounded).
    pub fn clear_requests(&self) {
        lock(&self.shared.requests).clear();
        lock(&self.shared.heads).clear();
    }

    /// Every request head received so far, also of requests whose body never completed
    /// (e.g. the proxy forwarded the headers, then reset the stream); bodies are empty.
    pub fn heads(&self) -> Vec<RecordedRequest> {
        lock(&self.shared.heads).clone()
    }

    /// Sets the canned response for requests no handler answers.
    pub fn set_response(&self, response: UpstreamResponse) {
        *lock(&self.shared.response) = response;
    }

    /// Sets a handler that chooses responses per request (before the canned response).
    pub fn set_handler(&self, handler: impl Fn(&RecordedRequest) -> Option<UpstreamResponse> + Send + Sync + 'static) {
        *lock(&self.shared.handler) = Some(Arc::new(handler));
    }

    /// Every request received so far, in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.shared.requests).clone()
    }

    /// Waits until at least `n` requests arrived (or `timeout` passed); returns all received.
    pub fn wait_for_requests(&self, n: usize, timeout: Duration) -> Vec<RecordedRequest> {
        let deadline = Instant::now() + timeout;
        let mut requests = lock(&self.shared.requests);
        while requests.len() < n {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            requests = self
                .shared
                .arrived
                .wait_timeout(requests, left)
                .map(|(g, _)| g)
                .unwrap_or_else(|p| p.into_inner().0);
        }
        requests.clone()
    }
}

impl Drop for Upstream {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
        let connections = std::mem::take(&mut *lock(&self.shared.connections));
        for (stream, _) in &connections {
            let _ = stream.shutdown(Shutdown::Both);
        }
        for (_, thread) in connections {
            let _ = thread.join();
        }
    }
}

fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    while !shared.stop.load(Ordering::SeqCst) {
        match listener.accept() {
            Ok((stream, _)) => {
                let _ = stream.set_nonblocking(false);
                let Ok(registered) = stream.try_clone() else { continue };
                let conn_shared = Arc::clone(&shared);
                let spawned = std::thread::Builder::new()
                    .name("upstream-conn".into())
                    .spawn(move || serve(stream, conn_shared));
                if let Ok(thread) = spawned {
                    lock(&shared.connections).push((registered, thread));
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => std::thread::sleep(Duration::from_millis(5)),
            Err(_) => std::thread::sleep(Duration::from_millis(5)),
        }
    }
}

fn serve(stream: TcpStream, shared: Arc<Shared>) {
    let Ok(closer) = stream.try_clone() else { return };
    serve_requests(stream, &shared);
    // The accept loop holds another handle of this socket: shut it down to really close it.
    let _ = closer.shutdown(Shutdown::Both);
}

fn serve_requests(stream: TcpStream, shared: &Shared) {
    let Ok(mut writer) = stream.try_clone() else { return };
    let mut reader = BufReader::new(stream);
    let limits = Limits::default();
    while !shared.stop.load(Ordering::SeqCst) {
        let Ok(Some((mut request, head_len))) = http1::read_request_head(&mut reader, &limits) else {
            return;
        };
        lock(&shared.heads).push(request.clone());
        if http1::read_request_body(&mut reader, &mut request, head_len, &limits).is_err() {
            return;
        }
        let close = request
            .header("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"));
        let response = answer(shared, &request);
        {
            let mut requests = lock(&shared.requests);
            requests.push(request);
            shared.arrived.notify_all();
        }
        let deadline = Instant::now() + response.delay;
        while Instant::now() < deadline {
            if shared.stop.load(Ordering::SeqCst) {
                return;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        if writer.write_all(&response.to_bytes()).is_err() || close {
            return;
        }
    }
}

fn answer(shared: &Shared, request: &RecordedRequest) -> UpstreamResponse {
    let target = &request.target;
    let reflect = target == "/reflect" || target.starts_with("/reflect/") || target.starts_with("/reflect?");
    if shared.albedo.load(Ordering::SeqCst) || (request.method == "POST" && reflect) {
        return albedo::respond(request).into();
    }
    let handler = lock(&shared.handler).clone();
    if let Some(response) = handler.and_then(|h| h(request)) {
        return response;
    }
    lock(&shared.response).clone()
}

/// albedo's `/reflect`: the request body is a JSON spec of the response to send.
pub fn reflect(spec: &[u8]) -> UpstreamResponse {
    albedo::reflect(spec).into()
}

impl From<http1::Response> for UpstreamResponse {
    fn from(r: http1::Response) -> Self {
        UpstreamResponse {
            headers: r.headers,
            body: r.body,
            trailers: r.trailers,
            ..UpstreamResponse::new(r.status)
        }
    }
}
