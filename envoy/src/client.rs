//! A raw HTTP/1.1 client: sends exact bytes, parses one response, with timeouts.

use crate::http::{self, Frame, Framing, Headers};
use crate::HarnessError;
use std::io::{BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// Time a test request may take before it fails.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// A request to send through Envoy.
#[derive(Clone, Debug)]
pub struct Request {
    pub method: String,
    pub path: String,
    /// Sent in this order and case; `host` and framing headers are added when absent.
    pub headers: Headers,
    pub body: Vec<u8>,
    /// Non-empty trailers make the body go chunked.
    pub trailers: Headers,
    /// Send the body chunked even without trailers.
    pub chunked: bool,
}

impl Request {
    /// A GET of `path`.
    pub fn get(path: &str) -> Self {
        Request::new("GET", path, Vec::new())
    }

    /// A POST of `body` to `path`.
    pub fn post(path: &str, body: impl Into<Vec<u8>>) -> Self {
        Request::new("POST", path, body.into())
    }

    /// A request with any method.
    pub fn new(method: &str, path: &str, body: Vec<u8>) -> Self {
        Request {
            method: method.into(),
            path: path.into(),
            headers: Vec::new(),
            body,
            trailers: Vec::new(),
            chunked: false,
        }
    }

    /// Adds a header line.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Adds a trailer (the body is then sent chunked).
    pub fn trailer(mut self, name: &str, value: &str) -> Self {
        self.trailers.push((name.into(), value.into()));
        self
    }

    /// Sends the body chunked.
    pub fn chunked(mut self) -> Self {
        self.chunked = true;
        self
    }

    /// The exact bytes this request puts on the wire.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut headers = self.headers.clone();
        if http::header(&headers, "host").is_none() {
            headers.insert(0, ("host".into(), "meshward.test".into()));
        }
        let start = format!("{} {} HTTP/1.1", self.method, self.path);
        let frame = if self.chunked || !self.trailers.is_empty() {
            Frame::Chunked
        } else if self.body.is_empty() && matches!(self.method.as_str(), "GET" | "HEAD" | "DELETE" | "OPTIONS") {
            Frame::Bare
        } else {
            Frame::Length
        };
        http::write_message(&start, &headers, &self.body, &self.trailers, frame)
    }
}

/// A response as received.
#[derive(Clone, Debug)]
pub struct Response {
    pub status: u16,
    pub reason: String,
    pub headers: Headers,
    pub body: Vec<u8>,
    pub trailers: Headers,
}

impl Response {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        http::header(&self.headers, name)
    }

    /// All values of header `name` (case-insensitive).
    pub fn header_all(&self, name: &str) -> Vec<&str> {
        http::header_all(&self.headers, name)
    }

    /// The body as (lossy) UTF-8.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Sends `request` to `addr` on a new connection and reads the response.
pub fn send(addr: SocketAddr, request: &Request) -> Result<Response, HarnessError> {
    send_raw(addr, &request.to_bytes(), request.method == "HEAD", DEFAULT_TIMEOUT)
}

/// Sends exactly `bytes` on a new connection and reads one response (skipping 1xx responses).
pub fn send_raw(
    addr: SocketAddr,
    bytes: &[u8],
    head_request: bool,
    timeout: Duration,
) -> Result<Response, HarnessError> {
    let fail = |why: String| HarnessError::Http {
        peer: addr.to_string(),
        why,
    };
    let mut stream = TcpStream::connect_timeout(&addr, timeout).map_err(|e| fail(format!("connect: {e}")))?;
    stream
        .set_read_timeout(Some(timeout))
        .map_err(|e| fail(e.to_string()))?;
    stream
        .set_write_timeout(Some(timeout))
        .map_err(|e| fail(e.to_string()))?;
    // A server may answer (e.g. 413) and close before it read everything: a failed write is
    // only an error if no response can be read afterwards.
    let write_error = stream.write_all(bytes).err();
    let mut reader = BufReader::new(stream);
    loop {
        let context = || {
            write_error
                .as_ref()
                .map(|e| format!(" (after write error: {e})"))
                .unwrap_or_default()
        };
        let head = http::read_head(&mut reader)
            .map_err(|e| fail(format!("reading response head: {e}{}", context())))?
            .ok_or_else(|| fail(format!("connection closed without a response{}", context())))?;
        let status: u16 = head.parts[1]
            .parse()
            .map_err(|_| fail(format!("bad status line {:?}", head.parts)))?;
        if (100..200).contains(&status) {
            continue;
        }
        let framing = if head_request || status == 204 || status == 304 {
            Framing::None
        } else {
            http::framing(&head.headers, Framing::UntilClose).map_err(|e| fail(e.to_string()))?
        };
        let (body, trailers) = http::read_body(&mut reader, framing).map_err(|e| fail(format!("reading body: {e}")))?;
        return Ok(Response {
            status,
            reason: head.parts[2].clone(),
            headers: head.headers,
            body,
            trailers,
        });
    }
}
