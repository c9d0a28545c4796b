//! The upstream side: the request the filter let through, over a new HTTP/1.1 connection, and
//! the upstream's answer in Envoy's form, or the reply Envoy's router makes up when there is none.

use super::encode;
use crate::envoy_reply;
use crate::exchange::Response;
use crate::outcome::Message;
use meshward_testkit::http1::{self, Limits};
use std::io::{BufReader, ErrorKind, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Mutex;
use std::time::Duration;

/// What came back from the upstream.
pub(crate) struct Upstreamed {
    /// The response in Envoy's form (what arrived of it, when incomplete).
    pub response: Response,
    /// False when the upstream stopped after the head (Envoy then resets the stream).
    pub complete: bool,
}

impl Upstreamed {
    fn reply(which: (u16, &str)) -> Upstreamed {
        let (headers, body) = envoy_reply::reply(which);
        Upstreamed {
            response: Response {
                headers,
                ..Response::default()
            }
            .body(body),
            complete: true,
        }
    }
}

/// Where the upstream is and how long and how much it may take.
pub(crate) struct Upstream<'a> {
    /// Its address.
    pub addr: SocketAddr,
    /// Connect timeout, and the longest wait for each read or write.
    pub timeout: Duration,
    /// Largest response body kept.
    pub max_body_bytes: u64,
    /// Where the open connection is kept while in use, so that stopping the server can close it.
    pub slot: &'a Mutex<Option<TcpStream>>,
}

impl Upstream<'_> {
    /// Sends `request` (as it left the filter) and reads the answer.
    pub fn exchange(&self, request: &Message) -> Upstreamed {
        let (bytes, method) = encode::upstream_request(request);
        let Ok(stream) = TcpStream::connect_timeout(&self.addr, self.timeout) else {
            return Upstreamed::reply(envoy_reply::CONNECT_FAILURE);
        };
        let answer = self.over(&stream, &bytes, &method);
        *super::lock(self.slot) = None;
        answer
    }

    fn over(&self, stream: &TcpStream, bytes: &[u8], method: &str) -> Upstreamed {
        let setup = stream
            .set_read_timeout(Some(self.timeout))
            .and_then(|()| stream.set_write_timeout(Some(self.timeout)))
            .and_then(|()| stream.try_clone());
        let Ok(registered) = setup else {
            return Upstreamed::reply(envoy_reply::CONNECTION_TERMINATION);
        };
        *super::lock(self.slot) = Some(registered);
        let mut writer = stream;
        if let Err(e) = writer.write_all(bytes) {
            return Upstreamed::reply(failure(&e));
        }
        let limits = Limits {
            max_body_bytes: self.max_body_bytes,
            ..Limits::default()
        };
        let mut reader = BufReader::new(stream);
        loop {
            let (mut response, head_len) = match http1::read_response_head(&mut reader, &limits) {
                Ok(Some(head)) => head,
                Ok(None) => return Upstreamed::reply(envoy_reply::CONNECTION_TERMINATION),
                Err(http1::Error::Io(e)) => return Upstreamed::reply(failure(&e)),
                Err(http1::Error::Truncated { .. }) => return Upstreamed::reply(envoy_reply::CONNECTION_TERMINATION),
                Err(_) => return Upstreamed::reply(envoy_reply::PROTOCOL_ERROR),
            };
            let read = http1::read_response_body(&mut reader, &mut response, method, head_len, &limits);
            if (100..200).contains(&response.status) {
                // Interim responses (100 Continue) are not forwarded; the final one follows.
                continue;
            }
            return Upstreamed {
                complete: read.is_ok(),
                response: crate::http1::response_message(response).into(),
            };
        }
    }
}

/// The router's reply for an upstream connection that failed with `e`.
fn failure(e: &std::io::Error) -> (u16, &'static str) {
    match e.kind() {
        ErrorKind::WouldBlock | ErrorKind::TimedOut => envoy_reply::TIMEOUT,
        _ => envoy_reply::CONNECTION_TERMINATION,
    }
}
