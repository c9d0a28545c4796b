//! A raw HTTP/1.1 client: sends exact bytes, parses one response, with timeouts.

use crate::HarnessError;
use meshward_testkit::http1::{self, Frame, Headers, Limits};
use std::io::{BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// A response as received (status, reason, headers, body, trailers).
pub use meshward_testkit::http1::Response;

/// Time a test request may take before it fails.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// A request to send through Envoy.
#[derive(Clone, Debug)]
pub struct Request {
    /// HTTP method.
    pub method: String,
    /// Request target (path and query).
    pub path: String,
    /// Sent in this order and case; `host` and framing headers are added when absent.
    pub headers: Headers,
    /// Body bytes (sent with a length, or chunked).
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
            headers: Headers::new(),
            body,
            trailers: Headers::new(),
            chunked: false,
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

    /// The exact bytes this request puts on the wire.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut message = http1::Request::new(&self.method, &self.path);
        if !self.headers.contains("host") {
            message.headers.add("host", "meshward.test");
        }
        message.headers.extend(self.headers.iter());
        message.body.clone_from(&self.body);
        message.trailers.clone_from(&self.trailers);
        let frame = if self.chunked || !self.trailers.is_empty() {
            Frame::Chunked
        } else if self.body.is_empty() && matches!(self.method.as_str(), "GET" | "HEAD" | "DELETE" | "OPTIONS") {
            Frame::Bare
        } else {
            Frame::Length
        };
        message.to_bytes(frame)
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
    let context = || {
        write_error
            .as_ref()
            .map(|e| format!(" (after write error: {e})"))
            .unwrap_or_default()
    };
    let method = if head_request { "HEAD" } else { "GET" };
    let limits = Limits::default();
    let mut reader = BufReader::new(stream);
    loop {
        let (mut response, head_len) = http1::read_response_head(&mut reader, &limits)
            .map_err(|e| fail(format!("reading response head: {e}{}", context())))?
            .ok_or_else(|| fail(format!("connection closed without a response{}", context())))?;
        if (100..200).contains(&response.status) {
            continue;
        }
        http1::read_response_body(&mut reader, &mut response, method, head_len, &limits)
            .map_err(|e| fail(format!("reading body: {e}")))?;
        return Ok(response);
    }
}
