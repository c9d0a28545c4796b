//! Runs an [`Exchange`] over in-memory messages the way Envoy calls a filter's callbacks, so
//! the native CRS run and the benches exercise the filter's own logic without a wasm host.
//!
//! What it models of Envoy (host-test and `host-test/ENVOY.md` model the rest):
//! - each body chunk is one callback; a paused body callback makes the host keep buffering,
//!   so the next callback sees everything buffered so far, while a continued one forwards
//!   the buffer and the next callback sees only the new chunk;
//! - end of stream is on the last body callback, or on the trailers callback when there are
//!   trailers, or on the headers callback when there is neither body nor trailers;
//! - a local reply sent from the request side answers the client and goes through the
//!   filter's response callbacks; one sent from the response headers replaces the upstream
//!   response; one sent later resets the stream (the headers already went out);
//! - a request whose body never completes is answered by the proxy itself
//!   ([`Request::proxy_answers`]), and that answer goes through the response callbacks.
//!
//! It does not model Envoy's buffer limits or flow control.

use std::rc::Rc;

use meshward_seclang::Transaction;

use crate::exchange::{Attributes, Exchange, Finish, Header, LocalReply, Step};
use crate::loaded::Loaded;

/// A request as Envoy hands it to a filter: pseudo-headers first, lower-case names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Request {
    /// Headers, `:method`, `:path`, `:authority` and `:scheme` included.
    pub headers: Vec<Header>,
    /// Body chunks, as the codec delivers them.
    pub body: Vec<Vec<u8>>,
    /// Trailers, if the body ends with them.
    pub trailers: Option<Vec<Header>>,
    /// The body never completes: after what arrived, the proxy answers with this status
    /// (Envoy's request timeout, 408; a refused CONNECT, 403).
    pub proxy_answers: Option<u16>,
}

impl Request {
    /// An HTTP/1.1 request as Envoy hands it to a filter: HTTP/2-style lower-case names, `Host`
    /// as `:authority` (`localhost` without one), hop-by-hop `Connection` dropped, scheme
    /// `https`, the body in `chunk`-byte callbacks (Envoy's HTTP/1 codec reads at most 16 KiB
    /// at a time).
    pub fn from_http1<'a>(
        method: &str,
        target: &str,
        headers: impl IntoIterator<Item = (&'a str, &'a [u8])>,
        body: &[u8],
        chunk: usize,
    ) -> Request {
        let mut authority: &[u8] = b"localhost";
        let mut rest = Vec::new();
        for (k, v) in headers {
            if k.eq_ignore_ascii_case("host") {
                authority = v;
            } else if !k.eq_ignore_ascii_case("connection") {
                rest.push((k.to_ascii_lowercase().into_bytes(), v.to_vec()));
            }
        }
        let mut all: Vec<Header> = vec![
            (b":authority".to_vec(), authority.to_vec()),
            (b":path".to_vec(), target.as_bytes().to_vec()),
            (b":method".to_vec(), method.as_bytes().to_vec()),
            (b":scheme".to_vec(), b"https".to_vec()),
        ];
        all.extend(rest);
        Request {
            headers: all,
            body: body.chunks(chunk.max(1)).map(<[u8]>::to_vec).collect(),
            trailers: None,
            proxy_answers: None,
        }
    }
}

/// A response as Envoy hands it to a filter: `:status` first, lower-case names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Response {
    /// Headers, `:status` included.
    pub headers: Vec<Header>,
    /// Body chunks.
    pub body: Vec<Vec<u8>>,
    /// Trailers, if any.
    pub trailers: Option<Vec<Header>>,
}

impl Response {
    /// A response with this status, headers (lower-case names) and body in one chunk.
    pub fn new(status: u16, headers: Vec<Header>, body: Vec<u8>) -> Response {
        let mut all = vec![(b":status".to_vec(), status.to_string().into_bytes())];
        all.extend(headers);
        Response {
            headers: all,
            body: if body.is_empty() { Vec::new() } else { vec![body] },
            trailers: None,
        }
    }

    /// Its `:status` (0 when absent or not a number).
    pub fn status(&self) -> u16 {
        self.headers
            .iter()
            .find(|(k, _)| k == b":status")
            .and_then(|(_, v)| std::str::from_utf8(v).ok()?.parse().ok())
            .unwrap_or(0)
    }

    fn of_reply(reply: &LocalReply) -> Response {
        let headers = reply
            .headers
            .iter()
            .map(|(k, v)| (k.as_bytes().to_vec(), v.as_bytes().to_vec()))
            .collect();
        Response::new(reply.status, headers, reply.body.as_bytes().to_vec())
    }
}

/// What the client, the upstream and the WAF's evidence show for one exchange.
pub struct Driven {
    /// What the client got: the upstream's response, the WAF's or the proxy's local reply.
    pub response: Response,
    /// The stream was reset after the response headers went out (a block in phase 4).
    pub reset: bool,
    /// The request reached the upstream whole (and `upstream` was asked for a response).
    pub upstream_reached: bool,
    /// The local reply the WAF sent, if it did.
    pub reply: Option<LocalReply>,
    /// Counters, evidence and collector call.
    pub finish: Finish,
    /// The finished transaction.
    pub transaction: Transaction,
    /// Most response body bytes the filter had the host hold at once (Envoy resets a response
    /// whose held body outgrows its buffer limit).
    pub response_held_most: usize,
}

/// One body's callbacks: the host's buffer between callbacks.
struct BodyFeed {
    buffered: Vec<u8>,
}

impl BodyFeed {
    fn new() -> BodyFeed {
        BodyFeed { buffered: Vec::new() }
    }

    /// Adds a chunk, calls `callback(size, read)`, and applies what it returned: a continued
    /// buffer is forwarded (emptied), a paused one keeps buffering.
    fn push(
        &mut self,
        chunk: &[u8],
        callback: impl FnOnce(usize, &dyn Fn(usize, usize) -> Option<Vec<u8>>) -> Step,
    ) -> Step {
        self.buffered.extend_from_slice(chunk);
        let buffered = &self.buffered;
        let read = |start: usize, len: usize| -> Option<Vec<u8>> {
            let end = start.saturating_add(len).min(buffered.len());
            buffered.get(start.min(end)..end).map(<[u8]>::to_vec)
        };
        let step = callback(buffered.len(), &read);
        if step == Step::Continue {
            self.buffered.clear();
        }
        step
    }
}

/// Runs `request` through a new exchange of `loaded`; `upstream` answers it when it reaches
/// the upstream whole. `None` when no rule set applies (the filter lets such streams pass).
pub fn drive(
    loaded: Rc<Loaded>,
    attributes: Attributes,
    request: &Request,
    upstream: impl FnOnce() -> Response,
    now_nanos: u64,
) -> Option<Driven> {
    let no_body = request.body.is_empty() && request.trailers.is_none() && request.proxy_answers.is_none();
    let (mut x, mut step) = Exchange::start(loaded, &request.headers, attributes, no_body)?;
    let mut feed = BodyFeed::new();
    let last = request.body.len().saturating_sub(1);
    for (i, chunk) in request.body.iter().enumerate() {
        if matches!(step, Step::Reply(_)) {
            break;
        }
        let eos = i == last && request.trailers.is_none() && request.proxy_answers.is_none();
        step = feed.push(chunk, |size, read| x.request_body(size, eos, read));
    }
    if let (Some(_), false) = (&request.trailers, matches!(step, Step::Reply(_))) {
        step = x.request_trailers();
    }
    let mut reply = match step {
        Step::Reply(r) => Some(r),
        _ => None,
    };
    let upstream_reached = reply.is_none() && request.proxy_answers.is_none();
    let mut reset = false;
    let mut response_held_most = 0;
    let response = if let Some(r) = &reply {
        // The WAF's own reply goes through the response callbacks (which let it pass).
        let response = Response::of_reply(r);
        respond(&mut x, &response);
        response
    } else if let Some(status) = request.proxy_answers {
        let response = Response::new(status, Vec::new(), Vec::new());
        respond(&mut x, &response);
        response
    } else {
        let response = upstream();
        let (answer, held) = respond(&mut x, &response);
        response_held_most = held;
        match answer {
            Answer::Passed => response,
            Answer::Replaced(r) => {
                let local = Response::of_reply(&r);
                reply = Some(r);
                local
            }
            Answer::Reset(r) => {
                reply = Some(r);
                reset = true;
                response
            }
        }
    };
    let (finish, transaction) = x.finish(now_nanos);
    Some(Driven {
        response,
        reset,
        upstream_reached,
        reply,
        finish,
        transaction,
        response_held_most,
    })
}

/// How the response callbacks ended.
enum Answer {
    /// The response went to the client.
    Passed,
    /// A local reply replaced it at the headers.
    Replaced(LocalReply),
    /// A local reply after the headers went out: the stream was reset.
    Reset(LocalReply),
}

/// Runs `response` through the response callbacks; also says the most body bytes held at once.
fn respond(x: &mut Exchange, response: &Response) -> (Answer, usize) {
    let no_body = response.body.is_empty() && response.trailers.is_none();
    if let Step::Reply(r) = x.response_headers(&response.headers, no_body) {
        return (Answer::Replaced(r), 0);
    }
    let mut feed = BodyFeed::new();
    let mut held_most = 0;
    let last = response.body.len().saturating_sub(1);
    for (i, chunk) in response.body.iter().enumerate() {
        let eos = i == last && response.trailers.is_none();
        let step = feed.push(chunk, |size, read| x.response_body(size, eos, read));
        if step == Step::Pause {
            held_most = held_most.max(feed.buffered.len());
        }
        if let Step::Reply(r) = step {
            return (Answer::Reset(r), held_most);
        }
    }
    if response.trailers.is_some() {
        if let Step::Reply(r) = x.response_trailers() {
            return (Answer::Reset(r), held_most);
        }
    }
    (Answer::Passed, held_most)
}
