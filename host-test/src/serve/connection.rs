//! One client connection: requests read one after the other (keep-alive, pipelining), each
//! refused as Envoy's codec would or run through the VM, and the answer written back.

use super::forward::Upstream;
use super::refusal::{self, Refusal};
use super::{encode, Shared, Sockets};
use crate::exchange::Request;
use crate::outcome::Outcome;
use crate::property::Value;
use meshward_testkit::http1::{self, Limits};
use std::io::{BufReader, ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// How long a closing connection keeps reading what the client still sends, so that the
/// answer is not lost to a reset (Envoy's delayed close, 1 s).
const LINGER: Duration = Duration::from_secs(1);

/// What the next request on the connection turned out to be.
enum Incoming {
    /// A request to run through the filter; `close` if the client asked for it.
    Request { request: http1::Request, close: bool },
    /// One Envoy answers itself (with the request's head, when it was read).
    Refused(Refusal, Option<http1::Request>),
    /// None: the client closed, stalled or failed.
    Gone,
}

/// Serves the connection until the client closes it, a request closes it, or the server stops.
pub(crate) fn serve(shared: &Shared, sockets: &Sockets, stream: TcpStream, peer: SocketAddr) {
    let config = &shared.config;
    let timeouts = stream
        .set_read_timeout(Some(config.read_timeout))
        .and_then(|()| stream.set_write_timeout(Some(config.write_timeout)));
    let Ok(read_half) = timeouts.and_then(|()| stream.try_clone()) else {
        return;
    };
    let _ = stream.set_nodelay(true);
    let limits = Limits {
        max_head_bytes: config.max_head_bytes,
        // The request line and the blank line that ends the head count as lines too.
        max_head_lines: config.max_headers + 2,
        max_body_bytes: config.max_body_bytes,
    };
    let mut reader = BufReader::new(read_half);
    let mut writer = &stream;
    while !shared.stopping() {
        let close = match read_request(&mut reader, &mut writer, &limits) {
            Incoming::Gone => break,
            // Past `max_requests`: the server is stopping, the request goes unanswered.
            _ if !shared.admit() => break,
            Incoming::Refused(r, request) => {
                let _ = writer.write_all(&r.to_bytes());
                shared.lock_vm().refused(r, request.as_ref());
                true
            }
            Incoming::Request { request, close } => {
                let head = request.method.eq_ignore_ascii_case("HEAD");
                let outcome = run(shared, sockets, request, peer);
                !answer(&mut writer, outcome, head, close)
            }
        };
        shared.served_one();
        if close {
            linger(&stream, &mut reader);
            break;
        }
    }
    let _ = stream.shutdown(Shutdown::Both);
}

/// Reads the next request, answering `Expect: 100-continue` before its body as Envoy does.
fn read_request(reader: &mut BufReader<TcpStream>, writer: &mut impl Write, limits: &Limits) -> Incoming {
    let refused = |e: http1::Error, request| match refusal::of_error(&e) {
        Some(r) => Incoming::Refused(r, request),
        None => Incoming::Gone,
    };
    let (mut request, head_len) = match http1::read_request_head(reader, limits) {
        Ok(Some(head)) => head,
        Ok(None) => return Incoming::Gone,
        Err(e) => return refused(e, None),
    };
    if let Some(r) = refusal::of_head(&request) {
        return Incoming::Refused(r, Some(request));
    }
    if request
        .header("expect")
        .is_some_and(|v| v.eq_ignore_ascii_case("100-continue"))
    {
        request.headers.remove("expect");
        if writer.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").is_err() {
            return Incoming::Gone;
        }
    }
    if let Err(e) = http1::read_request_body(reader, &mut request, head_len, limits) {
        return refused(e, Some(request));
    }
    let close = request
        .headers
        .get_all("connection")
        .iter()
        .any(|v| v.split(',').any(|token| token.trim().eq_ignore_ascii_case("close")));
    Incoming::Request { request, close }
}

/// Runs the request through the VM (and the upstream).
fn run(shared: &Shared, sockets: &Sockets, request: http1::Request, peer: SocketAddr) -> Result<Outcome, crate::Error> {
    let config = &shared.config;
    let request = Request::from(crate::http1::request_message(request))
        .property("source.address", peer.to_string())
        .property("source.port", Value::Int(i64::from(peer.port())));
    let upstream = Upstream {
        addr: config.upstream,
        timeout: config.upstream_timeout,
        max_body_bytes: config.max_body_bytes,
        slot: &sockets.upstream,
    };
    let wanted = || !shared.stopping() && client_connected(&sockets.client);
    let mut vm = shared.lock_vm();
    vm.exchange(&request, |m| upstream.exchange(m), wanted, config.stream_timeout)
}

/// Writes the outcome to the client; false when the connection must close after it.
fn answer(writer: &mut impl Write, outcome: Result<Outcome, crate::Error>, head: bool, close: bool) -> bool {
    let outcome = match outcome {
        Ok(o) => o,
        Err(crate::Error::VmFailed) => {
            // The VM trapped earlier: Envoy fails every stream of it closed, 503 with no body.
            let failed = crate::outcome::Message {
                headers: crate::Headers::from_pairs([(":status", "503")]),
                complete: true,
                ..Default::default()
            };
            return writer.write_all(&encode::client_response(&failed, head, close)).is_ok() && !close;
        }
        Err(_) => {
            let _ = writer.write_all(&refusal::INTERNAL_ERROR.to_bytes());
            return false;
        }
    };
    let local_close = outcome.local_response.as_ref().is_some_and(|l| {
        l.headers
            .get("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"))
    });
    let close = close || local_close;
    match &outcome.downstream_response {
        Some(m) if m.complete && !outcome.reset && outcome.paused_at.is_none() => {
            writer.write_all(&encode::client_response(m, head, close)).is_ok() && !close
        }
        Some(m) => {
            // Reset after the headers went to the client: they did, the body never ends.
            let _ = writer.write_all(&encode::client_response_head(m));
            false
        }
        // Reset (or still paused at the timeout) before any response: the connection closes.
        None => false,
    }
}

/// True while the client has not closed its side (a peek that does not block).
fn client_connected(client: &TcpStream) -> bool {
    if client.set_nonblocking(true).is_err() {
        return false;
    }
    let mut byte = [0u8; 1];
    let open = match client.peek(&mut byte) {
        Ok(n) => n > 0,
        Err(e) => e.kind() == ErrorKind::WouldBlock,
    };
    let _ = client.set_nonblocking(false);
    open
}

/// Ends the connection gracefully: no more writes, then what the client still sends is read
/// and dropped for a moment, so that closing does not reset the answer away.
fn linger(stream: &TcpStream, reader: &mut BufReader<TcpStream>) {
    let _ = stream.shutdown(Shutdown::Write);
    let deadline = Instant::now() + LINGER;
    let mut sink = [0u8; 16 * 1024];
    while Instant::now() < deadline {
        let _ = stream.set_read_timeout(Some(
            deadline
                .saturating_duration_since(Instant::now())
                .max(Duration::from_millis(1)),
        ));
        match reader.read(&mut sink) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
    }
}
