//! One HTTP exchange through the WAF, as pure code: what each proxy-wasm callback does, minus
//! the host calls. The adapter hands in what the host gave it (headers, body sizes, a reader
//! for body bytes) and carries out the returned [`Step`]; at the end [`Exchange::finish`]
//! returns the counters, the evidence line and the collector call as a [`Finish`] plan.
//!
//! The invariants it keeps, per direction ([`BodyState`]):
//! - the request head passes when its callback returns (a proxy-wasm filter in Envoy cannot
//!   hold it and still see the body: a paused headers callback gets no body callback until it
//!   is continued, host-test/ENVOY.md E01), so in enforce mode a request with a body has its
//!   head **decided alone first**: phase 2 runs on the head in a copy of the transaction, and a
//!   head that already decides is refused before the upstream sees anything;
//! - in enforce mode a body is **held** (the host buffers it) until it has been inspected, so
//!   nothing of it passes before the decision; in detect mode it **streams** and the engine
//!   reads a copy;
//! - a gRPC request body is inspected **message by message** ([`crate::messages`]; in detect
//!   mode nothing of it is held): each message is held only until it is complete and inspected (the
//!   first in the transaction's own phase 2, each later one in a copy of the transaction after
//!   phase 1), so a service that answers early or ping-pongs keeps working; a bad message is
//!   never passed on whole (local reply, or a reset once the response started), and a
//!   response that starts mid-stream does not cut the stream;
//! - the body phase (2 or 4) runs exactly once: at end of stream, at trailers, when the body
//!   goes past its limit, or at once when the body is not inspected — so a phase-2 rule is
//!   never bypassed by a request without a body or with body access off;
//! - a response that starts before the request ended (Envoy's own reply, an upstream that
//!   answers early) **cuts** the request: what was not inspected is never passed on while
//!   held, and that response is recorded, never blocked (it does not answer an inspected
//!   request);
//! - a local reply is asked for once; every later callback of the stream pauses, except the
//!   reply's own response callbacks when it was sent from the request side.
//!
//! The same code runs in the filter, in the native CRS run and in the benches
//! ([`crate::drive`]).

// The request path: a panic here traps the VM and fails every request it serves.
#![warn(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::collections::BTreeSet;
use std::rc::Rc;

use meshward_seclang::{EngineMode, Intervention, InterventionAction, Transaction};
use meshward_vocab::Decision;

use crate::config::OnLimit;
use crate::decode::{Coding, DecodeError, Decoder};
use crate::evidence::{self, Event, EventContext, RequestInfo};
use crate::loaded::Loaded;
use crate::messages::{self, Piece, Splitter};
use crate::metrics::{self, Counter};
use crate::profile::Profile;
use crate::tail::{Found, TailScan};

/// At most this many per-message events are kept for one stream; later matching messages are
/// counted in the `request_message_events_dropped` limit.
const MAX_MESSAGE_EVENTS: usize = 16;

/// A header as the host gives it: (name, value) bytes.
pub type Header = (Vec<u8>, Vec<u8>);

/// What the adapter answers the host for one callback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Let the data through (`Action::Continue`).
    Continue,
    /// Hold it (`Action::Pause`: for a body, the host buffers it).
    Pause,
    /// Send this local reply, then pause.
    Reply(LocalReply),
}

/// A local reply the WAF sends instead of the upstream's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalReply {
    /// HTTP status.
    pub status: u16,
    /// Headers of the reply (`content-type`, `location` for a redirect).
    pub headers: Vec<(&'static str, String)>,
    /// Body: names the transaction, never the rule.
    pub body: String,
    /// Envoy's response code details.
    pub details: &'static str,
}

/// The stream attributes the WAF records and the engine needs, read from the host's
/// properties when the request headers arrive.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Attributes {
    /// `xds.route_name`.
    pub route: Option<String>,
    /// `request.id` (used when the request has no `x-request-id`).
    pub request_id: Option<String>,
    /// `source.address` (`ip:port`).
    pub client: String,
    /// `destination.address` (`ip:port`).
    pub server: String,
    /// `request.protocol` (`HTTP/1.1`, `HTTP/2`...), when the host says.
    pub protocol: Option<String>,
}

/// Where one direction's body stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyState {
    /// Being inspected while it passes (detect mode).
    Streaming,
    /// Being inspected while the host buffers it (enforce mode).
    Holding,
    /// Its phase has run; the rest passes.
    Done,
    /// A response started first: never inspected; `held` says whether the host was holding it.
    Cut {
        /// The body was being held when the request was cut.
        held: bool,
    },
}

/// One direction: its body state and how many body bytes the engine has read.
#[derive(Debug, Clone, Copy)]
struct Side {
    body: BodyState,
    seen: usize,
}

impl Side {
    fn open(hold: bool) -> Side {
        Side {
            body: if hold { BodyState::Holding } else { BodyState::Streaming },
            seen: 0,
        }
    }

    fn inspecting(&self) -> bool {
        matches!(self.body, BodyState::Streaming | BodyState::Holding)
    }
}

/// Which side a local reply was sent from, which decides what the response callbacks do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Replied {
    /// Not replied.
    No,
    /// From a request callback: the host runs the reply through the response callbacks.
    InRequest,
    /// From a response callback: the upstream response is replaced, or the stream reset.
    InResponse,
}

/// What happens at the end of the stream: counters to bump, the evidence to write and post.
#[derive(Debug, Clone, PartialEq)]
pub struct Finish {
    /// Counters to increment by one.
    pub counters: Vec<Counter>,
    /// The evidence event (`None` for clean traffic).
    pub event: Option<Event>,
    /// The event's log line, when evidence logging is on.
    pub log_line: Option<String>,
    /// The event's POST to the collector, when one is configured.
    pub collector: Option<CollectorCall>,
    /// One event per gRPC message (after the first) that matched or was blocked, in order.
    pub messages: Vec<Emitted>,
}

/// An extra event to write and post, as [`Finish`] carries the stream's.
#[derive(Debug, Clone, PartialEq)]
pub struct Emitted {
    /// The event.
    pub event: Event,
    /// Its log line, when evidence logging is on.
    pub log_line: Option<String>,
    /// Its POST to the collector, when one is configured.
    pub collector: Option<CollectorCall>,
}

/// A request body inspected message by message (gRPC in enforce mode).
struct Stream {
    splitter: Splitter,
    /// The transaction after phase 1, taken before the first message's phase 2: each later
    /// message is evaluated in a copy of it.
    before_body: Option<Transaction>,
    /// Messages inspected so far.
    count: usize,
    /// Events of the later messages (bounded by [`MAX_MESSAGE_EVENTS`]).
    events: Vec<Event>,
    /// The strongest decision on a later message (`would_block`, `block`, `refused`).
    decided: Option<Decision>,
}

/// A fire-and-forget `dispatch_http_call` carrying one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollectorCall {
    /// Envoy cluster.
    pub cluster: String,
    /// Request headers (pseudo-headers included).
    pub headers: Vec<(&'static str, String)>,
    /// The event JSON.
    pub body: String,
    /// Call timeout in milliseconds.
    pub timeout_ms: u64,
}

/// One stream's transaction and the state of both directions.
pub struct Exchange {
    loaded: Rc<Loaded>,
    tx: Transaction,
    info: RequestInfo,
    protocol: String,
    request: Side,
    /// `None` until the response headers arrive.
    response: Option<Side>,
    replied: Replied,
    status_sent: Option<u16>,
    limits: Vec<&'static str>,
    /// Set when the request body is gRPC messages inspected one by one.
    stream: Option<Stream>,
    /// Content-Encoding decoders of the request and the response body (mesh profile).
    decoders: [Option<Decoder>; 2],
    /// The reply refused a body the WAF could not decode (no rule decided it).
    decode_refused: bool,
    /// The leak scan of the response past its limit, while it runs.
    tail: Option<TailScan>,
    /// Where that scan found a leak.
    tail_found: Option<Found>,
}

impl Exchange {
    /// Starts the transaction on the request headers (the host makes them unreadable once
    /// that callback returns, so all of them come in here) and runs phase 1, and phase 2
    /// too when no body will be inspected. `None` when no rule set applies.
    pub fn start(
        loaded: Rc<Loaded>,
        headers: &[Header],
        attributes: Attributes,
        end_of_stream: bool,
    ) -> Option<(Exchange, Step)> {
        let pseudo = |name: &str| find(headers, name.as_bytes()).map(text);
        let authority = pseudo(":authority");
        let info = RequestInfo {
            method: pseudo(":method").unwrap_or_else(|| "GET".into()),
            path: pseudo(":path").unwrap_or_else(|| "/".into()),
            authority: authority.clone().unwrap_or_default(),
            request_id: pseudo("x-request-id").or(attributes.request_id).unwrap_or_default(),
            client: attributes.client,
            route: attributes.route,
            directive_set: String::new(),
        };
        let protocol = attributes.protocol.unwrap_or_else(|| "HTTP/1.1".into());
        let (set, rules) = loaded.select(info.route.as_deref(), authority.as_deref())?;
        let directive_set = set.to_string();
        let mut tx = rules.transaction();
        let (cip, cport) = split_addr(&info.client);
        let (sip, sport) = split_addr(&attributes.server);
        tx.process_connection(&cip, cport, &sip, sport);
        tx.process_uri(info.path.as_bytes(), &info.method, &protocol);
        // What follows an upgrade's head is the new protocol's stream, not a body of this request.
        let no_body = end_of_stream || is_upgrade(headers);
        for (name, value) in request_headers(headers, authority.as_deref(), &protocol, no_body) {
            tx.add_request_header(name, value);
        }
        tx.process_request_headers();
        let hold = tx.engine_mode() == EngineMode::On;
        let access = loaded.config.request_body.access;
        // Detect mode too: nothing is held there, but each message is still evaluated on its
        // own, and an early response does not end the inspection.
        let framed =
            access && !no_body && find_any(headers, b"content-type").is_some_and(|ct| messages::is_framed(&ct));
        let stream = framed.then(|| Stream {
            splitter: Splitter::new(limit_of(loaded.config.request_body.limit)),
            before_body: None,
            count: 0,
            events: Vec::new(),
            decided: None,
        });
        let mut exchange = Exchange {
            tx,
            info: RequestInfo { directive_set, ..info },
            protocol,
            request: Side::open(hold),
            response: None,
            replied: Replied::No,
            status_sent: None,
            limits: Vec::new(),
            stream,
            decoders: [None, None],
            decode_refused: false,
            tail: None,
            tail_found: None,
            loaded,
        };
        exchange.decoders[0] = exchange.decoder(headers, exchange.loaded.config.request_body.limit);
        let step = match exchange.enforce(true) {
            Some(step) => step,
            // No body, or the body is not inspected: phase 2 runs now, before anything
            // reaches the upstream.
            None if no_body || !access => exchange.finish_request().unwrap_or(Step::Continue),
            None if hold => exchange.decide_head().unwrap_or(Step::Continue),
            None => Step::Continue,
        };
        Some((exchange, step))
    }

    /// A request body callback: `size` bytes are in the host's buffer; `read(start, len)`
    /// returns bytes of it (`None` when the host refuses).
    pub fn request_body(
        &mut self,
        size: usize,
        end_of_stream: bool,
        read: impl FnOnce(usize, usize) -> Option<Vec<u8>>,
    ) -> Step {
        if self.replied != Replied::No {
            return Step::Pause;
        }
        match self.request.body {
            BodyState::Cut { held: true } => return Step::Pause,
            BodyState::Cut { held: false } | BodyState::Done => return Step::Continue,
            BodyState::Streaming | BodyState::Holding => {}
        }
        if self.stream.is_some() {
            return self.request_messages(size, end_of_stream, read);
        }
        let body = &self.loaded.config.request_body;
        let (limit, on_limit) = (limit_of(body.limit), body.on_limit);
        let over = self.feed(Dir::Request, size, limit, read);
        let (stop, refused) = self.decoded(Dir::Request, end_of_stream, on_limit);
        if let Some(step) = refused {
            return step;
        }
        let over = over || stop == Stop::OverLimit;
        if over {
            self.limit(match on_limit {
                OnLimit::Reject => "request_body_over_limit",
                OnLimit::ProcessPartial => "request_body_truncated",
            });
        }
        if end_of_stream || over || stop == Stop::Undecodable {
            return self.finish_request().unwrap_or(Step::Continue);
        }
        wait_for_more(self.request.body)
    }

    /// The request trailers: a body that ends with trailers gets no end-of-stream body
    /// callback, so it is inspected here.
    pub fn request_trailers(&mut self) -> Step {
        if self.replied != Replied::No {
            return Step::Pause;
        }
        if let Some(step) = self.finish_messages() {
            return step;
        }
        if self.stream.is_none() && self.request.inspecting() {
            let on_limit = self.loaded.config.request_body.on_limit;
            if let (_, Some(step)) = self.decoded(Dir::Request, true, on_limit) {
                return step;
            }
        }
        self.finish_request().unwrap_or(Step::Continue)
    }

    /// A request body callback of a body inspected message by message: the messages completed
    /// by the new bytes are inspected in order; the buffer is released once it ends on a
    /// message boundary (everything in it inspected), and held while a message is incomplete.
    fn request_messages(
        &mut self,
        size: usize,
        end_of_stream: bool,
        read: impl FnOnce(usize, usize) -> Option<Vec<u8>>,
    ) -> Step {
        // The host's buffer holds what arrived since the last continue; `seen` of it was split.
        let start = self.request.seen;
        let bytes = if size > start {
            read(start, size - start)
        } else {
            Some(Vec::new())
        };
        self.request.seen = size;
        let Some(bytes) = bytes else {
            // Out of step with the message boundaries: the rest is not inspected.
            self.limit("body_unreadable");
            self.stream = None;
            return self.finish_request().unwrap_or(Step::Continue);
        };
        let pieces = self
            .stream
            .as_mut()
            .map(|s| s.splitter.push(&bytes))
            .unwrap_or_default();
        for piece in pieces {
            if let Some(step) = self.inspect_piece(piece) {
                return step;
            }
        }
        if end_of_stream {
            if let Some(step) = self.finish_messages() {
                return step;
            }
            return self.finish_request().unwrap_or(Step::Continue);
        }
        let limit = limit_of(self.loaded.config.request_body.limit);
        let held = self.request.body == BodyState::Holding;
        let release = !held
            || self.stream.as_ref().is_some_and(|s| {
                // Chunks that keep straddling messages release the buffer past the limit: every
                // complete message in it was inspected, and the incomplete one will be
                // (a service gets a message only once its last byte arrives, and a bad one's last
                // byte is never passed on).
                s.splitter.at_boundary() || (s.count > 0 && size > limit)
            });
        if release {
            // The host forwards the buffer and empties it (detect mode: it never holds).
            self.request.seen = 0;
            return Step::Continue;
        }
        Step::Pause
    }

    /// The body ended: an incomplete last message is inspected as it is; `Some` when that
    /// refuses the request.
    fn finish_messages(&mut self) -> Option<Step> {
        let tail = self.stream.as_mut()?.splitter.finish()?;
        self.limit("request_message_incomplete");
        self.inspect_piece(Piece::Message(tail))
    }

    /// Inspects one message: the first in the transaction itself (its phase 2, with the head),
    /// each later one in its own copy of the transaction after phase 1. `Some` when it is
    /// refused.
    fn inspect_piece(&mut self, piece: Piece) -> Option<Step> {
        let (bytes, oversized) = match piece {
            Piece::Message(b) => (b, false),
            Piece::Oversized(b) => (b, true),
        };
        if oversized {
            self.limit(match self.loaded.config.request_body.on_limit {
                OnLimit::Reject => "request_body_over_limit",
                OnLimit::ProcessPartial => "request_body_truncated",
            });
        }
        let stream = self.stream.as_mut()?;
        stream.count += 1;
        let index = stream.count;
        if index == 1 {
            stream.before_body = self.tx.fork_before_body();
            self.tx.append_request_body(&bytes);
            self.tx.process_request_body();
            // Where the engine runs a body's phase: the only place a body reaches it.
            return self.enforce(self.response.is_none());
        }
        let Some(mut copy) = stream.before_body.as_ref().and_then(Transaction::fork_before_body) else {
            self.limit("request_message_not_inspected");
            return None;
        };
        let before = copy.logged_match_count();
        copy.append_request_body(&bytes);
        copy.process_request_body();
        let matched = copy.logged_match_count() > before;
        let iv = copy.intervention().cloned();
        let step = iv.as_ref().and_then(|iv| self.reply_to(iv, self.response.is_none()));
        if matched || copy.decision().is_some() {
            let event = self.message_event(&copy, index, step.is_some());
            let stream = self.stream.as_mut()?;
            if let Some(d) = event.as_ref().map(|e| e.decision) {
                stream.decided = Some(stronger(stream.decided, d));
            }
            match event {
                Some(e) if stream.events.len() < MAX_MESSAGE_EVENTS => stream.events.push(e),
                Some(_) => self.limit("request_message_events_dropped"),
                None => {}
            }
        }
        step
    }

    /// The event of one later message, built now (its copy of the transaction is dropped).
    fn message_event(&self, copy: &Transaction, index: usize, enforced: bool) -> Option<Event> {
        let limits: Vec<String> = self.limits.iter().map(|l| l.to_string()).collect();
        let status = copy.decision().map(|d| self.reply_status(d.action, d.status));
        let now = u64::try_from(meshward_seclang::clock::now().as_nanos()).unwrap_or(u64::MAX);
        let ctx = self.event_context(status, enforced, now, &limits);
        let mut event = evidence::event(copy, &ctx)?;
        event.message = Some(index);
        Some(event)
    }

    /// The response headers (the upstream's, or a local reply's): phase 3, and phase 4 at
    /// once when the body will not be inspected.
    pub fn response_headers(&mut self, headers: &[Header], end_of_stream: bool) -> Step {
        match self.replied {
            Replied::InRequest => return Step::Continue, // our own local reply passing through
            Replied::InResponse => return Step::Pause,
            Replied::No => {}
        }
        // A gRPC stream answered early (server streaming, ping-pong) goes on being inspected
        // message by message: the response answers messages that were.
        if self.request.inspecting() && self.stream.is_none() {
            self.request.body = BodyState::Cut {
                held: self.request.body == BodyState::Holding,
            };
            self.limit("request_incomplete");
        }
        let status = find(headers, b":status")
            .and_then(|v| text(v).parse::<u16>().ok())
            .unwrap_or(200);
        let content_type = headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(b"content-type"))
            .map(|(_, v)| text(v))
            .unwrap_or_default();
        for (name, value) in headers.iter().filter(|(k, _)| !k.starts_with(b":")) {
            self.tx.add_response_header(name, value);
        }
        self.tx.process_response_headers(status, &self.protocol);
        self.response = Some(Side::open(self.tx.engine_mode() == EngineMode::On));
        let body = &self.loaded.config.response_body;
        let mime = content_type.split(';').next().unwrap_or("").trim();
        let inspect = self
            .loaded
            .response_mime_types
            .iter()
            .any(|m| m.eq_ignore_ascii_case(mime));
        let inspect = body.access && inspect;
        if inspect {
            self.decoders[1] = self.decoder(headers, body.limit);
        }
        // Here the host can still replace the upstream response with the local reply.
        if let Some(step) = self.enforce(false) {
            return step;
        }
        // A body declared longer than the limit is never held: Envoy resets a response whose
        // held body outgrows its own buffer limit (1 MiB by default), and one upstream read can
        // add up to that much to what is held. Its bytes are scanned window by window, each
        // before it is passed on, from the first.
        let declared = find(headers, b"content-length").and_then(|v| text(v).trim().parse::<u64>().ok());
        let (limit, on_limit) = (
            self.loaded.config.response_body.limit,
            self.loaded.config.response_body.on_limit,
        );
        if inspect && !end_of_stream && declared.is_some_and(|n| n > limit) && self.starts_tail(on_limit) {
            self.response = Some(Side::open(false));
            let step = self.finish_response().unwrap_or(Step::Continue);
            if step != Step::Continue {
                return step;
            }
            self.tail = Some(TailScan::new(0));
            self.limit("response_body_scanned_past_limit");
            return Step::Continue;
        }
        // A body that is not inspected still gets its phase (4), at once.
        if end_of_stream || !inspect {
            return self.finish_response().unwrap_or(Step::Continue);
        }
        Step::Continue
    }

    /// A response body callback, as [`Exchange::request_body`] (`read` may be called twice: the
    /// leak scan past the limit reads what the engine did not).
    pub fn response_body(
        &mut self,
        size: usize,
        end_of_stream: bool,
        read: impl Fn(usize, usize) -> Option<Vec<u8>>,
    ) -> Step {
        match self.replied {
            Replied::InRequest => return Step::Continue,
            Replied::InResponse => return Step::Pause,
            Replied::No => {}
        }
        if self.tail.is_some() {
            // Past the limit the body is passed on: the buffer holds just this chunk.
            return self.scan_tail(0, size, &read);
        }
        let Some(side) = self.response.filter(Side::inspecting) else {
            return Step::Continue;
        };
        let body = &self.loaded.config.response_body;
        let (limit, on_limit) = (limit_of(body.limit), body.on_limit);
        // Where this callback's buffer starts in the body: a held buffer holds all of it.
        let buffer_start = if side.body == BodyState::Holding { 0 } else { side.seen };
        let over = self.feed(Dir::Response, size, limit, &read);
        let (stop, refused) = self.decoded(Dir::Response, end_of_stream, on_limit);
        if let Some(step) = refused {
            return step;
        }
        let over = over || stop == Stop::OverLimit;
        if over {
            self.limit(match on_limit {
                OnLimit::Reject => "response_body_over_limit",
                OnLimit::ProcessPartial => "response_body_truncated",
            });
        }
        if end_of_stream || over || stop == Stop::Undecodable {
            // A reply here comes after the headers went downstream: the host resets the
            // stream, and the held body is never passed on.
            let step = self.finish_response().unwrap_or(Step::Continue);
            if over && step == Step::Continue && self.starts_tail(on_limit) {
                // The scan starts a little before the limit so a leak across it is whole.
                let from = limit.saturating_sub(crate::tail::OVERLAP).max(buffer_start);
                self.tail = Some(TailScan::new(from as u64));
                self.limit("response_body_scanned_past_limit");
                return self.scan_tail(from - buffer_start, size, &read);
            }
            return step;
        }
        wait_for_more(side.body)
    }

    /// The response trailers: the inspected body ends here.
    pub fn response_trailers(&mut self) -> Step {
        match self.replied {
            Replied::InRequest => return Step::Continue,
            Replied::InResponse => return Step::Pause,
            Replied::No => {}
        }
        if self.response.is_some_and(|s| s.inspecting()) {
            let on_limit = self.loaded.config.response_body.on_limit;
            if let (_, Some(step)) = self.decoded(Dir::Response, true, on_limit) {
                return step;
            }
        }
        self.finish_response().unwrap_or(Step::Continue)
    }

    /// The end of the stream (`on_log`): phase 5, the counters and the evidence, once (it
    /// consumes the exchange and hands back the transaction). `now_nanos` is the host's wall
    /// clock.
    pub fn finish(mut self, now_nanos: u64) -> (Finish, Transaction) {
        self.tx.process_logging();
        let tx = &self.tx;
        let config = &self.loaded.config;
        let mut counters = vec![Counter::TRANSACTIONS];
        let enforced = self.replied != Replied::No;
        let decision = evidence::decision_of(tx, enforced);
        let decision = stronger(self.stream.as_ref().and_then(|s| s.decided), decision);
        counters.extend(Counter::decision(decision));
        // Only built when a logged rule matched: most traffic matches `nolog` rules alone.
        if tx.has_logged_match() {
            let logged: Vec<_> = tx.matched_rules().iter().filter(|r| r.logged).collect();
            counters.push(Counter::MATCHED);
            let families: BTreeSet<Counter> = logged
                .iter()
                .filter_map(|r| Counter::family(metrics::family_of(r.id)))
                .collect();
            let levels: BTreeSet<Counter> = logged
                .iter()
                .filter_map(|r| metrics::paranoia_of(&r.tags).and_then(Counter::paranoia))
                .collect();
            counters.extend(families);
            counters.extend(levels);
        }
        let status = self
            .status_sent
            .or_else(|| tx.decision().map(|d| self.reply_status(d.action, d.status)));
        // Limits the exchange applied, then what the body processor could not inspect.
        let mut limits: Vec<String> = self
            .limits
            .iter()
            .chain(&tx.request_body_state().uninspected)
            .map(|l| l.to_string())
            .collect();
        if let Some(found) = self.tail_found {
            limits.push(format!(
                "response_leak_past_limit(window={},offset={})",
                found.index, found.offset
            ));
        }
        let ctx = self.event_context(status, enforced, now_nanos, &limits);
        let mut event = evidence::event(tx, &ctx);
        if let Some(e) = event.as_mut().filter(|_| self.decode_refused) {
            // No rule decided it: the filter refused a body it could not decode.
            e.decision = Decision::Refused;
        }
        let log_line = event.as_ref().filter(|_| config.evidence.log).map(Event::log_line);
        let collector = event.as_ref().and_then(|e| self.collector_call(e));
        let messages = self
            .stream
            .as_ref()
            .map(|s| s.events.as_slice())
            .unwrap_or_default()
            .iter()
            .map(|e| Emitted {
                log_line: config.evidence.log.then(|| e.log_line()),
                collector: self.collector_call(e),
                event: e.clone(),
            })
            .collect();
        let finish = Finish {
            counters,
            event,
            log_line,
            collector,
            messages,
        };
        (finish, self.tx)
    }

    /// What an event of this stream needs besides its transaction.
    fn event_context<'a>(
        &'a self,
        status: Option<u16>,
        enforced: bool,
        now_nanos: u64,
        limits: &'a [String],
    ) -> EventContext<'a> {
        let config = &self.loaded.config;
        EventContext {
            info: &self.info,
            mode: config.mode,
            status,
            enforced,
            now_nanos,
            excerpt_bytes: config.evidence.excerpt_bytes,
            ruleset: &self.loaded.ruleset,
            config_hash: &self.loaded.config_hash,
            limits,
            redactor: &self.loaded.redactor,
        }
    }

    /// The collector POST carrying `event`, when a collector is configured.
    fn collector_call(&self, event: &Event) -> Option<CollectorCall> {
        let c = self.loaded.config.evidence.collector.as_ref()?;
        Some(CollectorCall {
            cluster: c.cluster.clone(),
            headers: vec![
                (":method", "POST".into()),
                (":path", c.path.clone()),
                (":authority", c.authority.clone()),
                ("content-type", "application/json".into()),
            ],
            body: event.to_json(),
            timeout_ms: c.timeout_ms,
        })
    }

    /// The transaction (matched rules, scores, collections).
    pub fn transaction(&self) -> &Transaction {
        &self.tx
    }

    /// Who made the request and the directive set in force.
    pub fn info(&self) -> &RequestInfo {
        &self.info
    }

    /// The request body's state.
    pub fn request_state(&self) -> BodyState {
        self.request.body
    }

    /// The response body's state (`None` before the response headers).
    pub fn response_state(&self) -> Option<BodyState> {
        self.response.map(|s| s.body)
    }

    /// Limits that applied so far (`request_body_truncated`...).
    pub fn limits(&self) -> &[&'static str] {
        &self.limits
    }

    fn limit(&mut self, what: &'static str) {
        if !self.limits.contains(&what) {
            self.limits.push(what);
        }
    }

    /// The status a decision answers with: the rule's, or `block_status` for the engine default.
    fn reply_status(&self, action: InterventionAction, status: u16) -> u16 {
        if action == InterventionAction::Deny && status == 403 {
            self.loaded.config.block_status
        } else {
            status
        }
    }

    /// The step for an enforced intervention: a reply the first time, a pause after; `None`
    /// when nothing is enforced, or when a cut request's response is only recorded.
    fn enforce(&mut self, in_request: bool) -> Option<Step> {
        let iv = self.tx.intervention()?.clone();
        self.reply_to(&iv, in_request)
    }

    /// The step for the intervention `iv` of this stream's transaction or one of its copies.
    fn reply_to(&mut self, iv: &Intervention, in_request: bool) -> Option<Step> {
        if self.replied != Replied::No {
            return Some(Step::Pause);
        }
        if matches!(self.request.body, BodyState::Cut { .. }) {
            // This response does not answer an inspected request (often Envoy's own local
            // reply): the decision is recorded, the response passes.
            return None;
        }
        let status = self.reply_status(iv.action, iv.status);
        let location = iv.url.clone().filter(|_| iv.action == InterventionAction::Redirect);
        let details = if iv.action == InterventionAction::BodyLimit {
            "meshward_waf_body_limit"
        } else {
            "meshward_waf_blocked"
        };
        Some(self.reply(status, location, details, in_request))
    }

    /// Sends a local reply (the first time; the caller checked).
    fn reply(&mut self, status: u16, location: Option<String>, details: &'static str, in_request: bool) -> Step {
        let mut headers = vec![("content-type", "text/plain".to_string())];
        if let Some(url) = location {
            headers.push(("location", url));
        }
        let reply = LocalReply {
            status,
            headers,
            body: format!("Request blocked ({})\n", self.tx.unique_id()),
            details,
        };
        self.replied = if in_request {
            Replied::InRequest
        } else {
            Replied::InResponse
        };
        self.status_sent = Some(status);
        Step::Reply(reply)
    }

    /// Runs the request-body rules on the head alone: the head passes when this callback
    /// returns, so an attack in the query string, a cookie or a header must be refused now
    /// (CRS's own early blocking, `tx.early_blocking`, would sum phase-1 rules only, and its
    /// attack rules run in phase 2). When they decide, that run's evidence is the decision's;
    /// otherwise the transaction undoes the run (keeping the head's transformed values) and
    /// phase 2 runs again with the body.
    fn decide_head(&mut self) -> Option<Step> {
        self.tx.decide_on_head()?;
        self.request.body = BodyState::Done;
        self.enforce(true)
    }

    /// Runs phase 2 once (body processor, then the request-body rules).
    fn finish_request(&mut self) -> Option<Step> {
        if !self.request.inspecting() {
            return None;
        }
        self.request.body = BodyState::Done;
        self.tx.process_request_body();
        self.enforce(true)
    }

    /// Runs phase 4 once.
    fn finish_response(&mut self) -> Option<Step> {
        let side = self.response.as_mut().filter(|s| s.inspecting())?;
        side.body = BodyState::Done;
        self.tx.process_response_body();
        self.enforce(false)
    }

    /// Hands the body bytes not yet seen, up to `limit + 1` in all, to the transaction, and
    /// says whether the body has gone past its limit. A held body is cumulative in the host's
    /// buffer (read from what was seen); a streamed one holds only the current chunk.
    fn feed(
        &mut self,
        dir: Dir,
        size: usize,
        limit: usize,
        read: impl FnOnce(usize, usize) -> Option<Vec<u8>>,
    ) -> bool {
        let side = match dir {
            Dir::Request => self.request,
            Dir::Response => match self.response {
                Some(s) => s,
                None => return false,
            },
        };
        let held = side.body == BodyState::Holding;
        let (start, available) = if held {
            (side.seen, size.saturating_sub(side.seen))
        } else {
            (0, size)
        };
        let want = available.min(limit.saturating_add(1).saturating_sub(side.seen));
        let mut seen = side.seen;
        if want > 0 {
            match read(start, want) {
                Some(chunk) => {
                    self.append(dir, &chunk);
                    seen += chunk.len();
                }
                None => self.limit("body_unreadable"),
            }
        }
        match dir {
            Dir::Request => self.request.seen = seen,
            Dir::Response => {
                if let Some(s) = self.response.as_mut() {
                    s.seen = seen;
                }
            }
        }
        // Held: the host's cumulative size; streamed: the bytes seen.
        if held {
            size > limit
        } else {
            seen > limit
        }
    }
}

/// Content-Encoding decoding (mesh profile): the engine reads the decoded body; the upstream and
/// the client still get the bytes as sent.
impl Exchange {
    /// The decoder for a body with these headers: only in the mesh profile, only for codings
    /// meshward decodes (others are refused by the profile's rule and read as they are), its
    /// output bounded one byte past the body limit so the engine sees the body go over.
    fn decoder(&self, headers: &[Header], limit: u64) -> Option<Decoder> {
        if self.loaded.config.profile != Profile::Mesh {
            return None;
        }
        let value = headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(b"content-encoding"))
            .map(|(_, v)| text(v))?;
        let codings = Coding::parse_list(&value).ok()?;
        Decoder::new(&codings, limit_of(limit).saturating_add(1))
    }

    /// Hands body bytes to the engine, decoded when the body has a decoder.
    fn append(&mut self, dir: Dir, chunk: &[u8]) {
        let decoded;
        let bytes = match self.decoders.get_mut(dir as usize).and_then(Option::as_mut) {
            Some(decoder) => {
                let mut out = Vec::new();
                // An error is kept by the decoder and acted on by `decoded`.
                let _ = decoder.push(chunk, &mut out);
                decoded = out;
                &decoded[..]
            }
            None => chunk,
        };
        match dir {
            Dir::Request => self.tx.append_request_body(bytes),
            Dir::Response => self.tx.append_response_body(bytes),
        }
    }

    /// After a body callback: ends the decoding at the end of the body (a stream cut short is
    /// an error), then acts on a decoding error. Returns whether decoding stopped (the phase
    /// runs now on what was decoded), and the refusal to send in enforce mode:
    /// 400 for a request body that does not decode (the app could not read it either), the
    /// limit action for a decompression bomb. A response that does not decode is recorded, not
    /// refused: the client fails on it by itself.
    fn decoded(&mut self, dir: Dir, end: bool, on_limit: OnLimit) -> (Stop, Option<Step>) {
        let Some(decoder) = self.decoders.get_mut(dir as usize).and_then(Option::as_mut) else {
            return (Stop::No, None);
        };
        if end && decoder.error().is_none() {
            let mut out = Vec::new();
            // An error is kept by the decoder and read below.
            let _ = decoder.finish(&mut out);
            if !out.is_empty() {
                match dir {
                    Dir::Request => self.tx.append_request_body(&out),
                    Dir::Response => self.tx.append_response_body(&out),
                }
            }
        }
        let request = dir == Dir::Request;
        let limit_status = if request { 413 } else { 500 };
        // The limit name of this body's direction.
        let pick = |req: &'static str, resp: &'static str| if request { req } else { resp };
        let (what, status, details, stop) = match decoder.error() {
            None => return (Stop::No, None),
            Some(DecodeError::OverLimit { .. }) => return (Stop::OverLimit, None),
            Some(DecodeError::Bomb { .. }) => (
                pick("request_body_decode_ratio", "response_body_decode_ratio"),
                (on_limit == OnLimit::Reject).then_some(limit_status),
                "meshward_waf_body_limit",
                Stop::OverLimit,
            ),
            Some(DecodeError::Truncated { .. }) => (
                pick("request_body_encoding_truncated", "response_body_encoding_truncated"),
                request.then_some(400),
                "meshward_waf_body_undecodable",
                Stop::Undecodable,
            ),
            Some(DecodeError::Corrupt { .. }) => (
                pick("request_body_encoding_corrupt", "response_body_encoding_corrupt"),
                request.then_some(400),
                "meshward_waf_body_undecodable",
                Stop::Undecodable,
            ),
        };
        self.limit(what);
        let enforce = self.tx.engine_mode() == EngineMode::On && self.replied == Replied::No;
        let cut = matches!(self.request.body, BodyState::Cut { .. });
        match status.filter(|_| enforce && !cut) {
            Some(status) => {
                if let Some(side) = self.side_mut(dir) {
                    side.body = BodyState::Done;
                }
                self.decode_refused = true;
                (stop, Some(self.reply(status, None, details, request)))
            }
            None => (stop, None),
        }
    }

    fn side_mut(&mut self, dir: Dir) -> Option<&mut Side> {
        match dir {
            Dir::Request => Some(&mut self.request),
            Dir::Response => self.response.as_mut(),
        }
    }
}

/// The leak scan of a response body past its inspection limit ([`crate::tail`]).
impl Exchange {
    /// Whether the rest of a response past its limit is scanned: in the mesh profile, when the
    /// limit action lets it pass, phase 4 decided nothing, and the engine reads the body as sent
    /// (a decoded body stops at the limit: its tail is not scanned).
    fn starts_tail(&self, on_limit: OnLimit) -> bool {
        self.loaded.config.profile == Profile::Mesh
            && on_limit == OnLimit::ProcessPartial
            && self.decoders[1].is_none()
            && self.tx.decision().is_none()
    }

    /// Scans `[from, size)` of the host's buffer: each window runs the phase-4 rules; the first
    /// window with a logged match ends the scan, and a decision is carried out (the host resets
    /// the stream: its head went out already).
    fn scan_tail(&mut self, from: usize, size: usize, read: &impl Fn(usize, usize) -> Option<Vec<u8>>) -> Step {
        if from >= size {
            return Step::Continue;
        }
        let Some(bytes) = read(from, size - from) else {
            self.limit("body_unreadable");
            return Step::Continue;
        };
        let Some(mut scan) = self.tail.take() else {
            return Step::Continue;
        };
        let tx = &mut self.tx;
        let before = tx.logged_match_count();
        let found = scan.push(&bytes, |window| {
            tx.rescan_response_body(window.bytes);
            tx.logged_match_count() > before || tx.intervention().is_some()
        });
        match found {
            Some(found) => {
                self.tail_found = Some(found);
                self.enforce(false).unwrap_or(Step::Continue)
            }
            None => {
                self.tail = Some(scan);
                Step::Continue
            }
        }
    }
}

/// Whether a body's decoding stopped, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    /// It goes on (or there is none).
    No,
    /// The decoded body reached its limit, or the bomb guard stopped it: the limit action applies.
    OverLimit,
    /// The body does not decode: the phase runs on what did.
    Undecodable,
}

/// Which direction a body belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dir {
    Request = 0,
    Response = 1,
}

/// The stronger of two decisions (`allow` < `would_block` < `block`, `refused`).
fn stronger(a: Option<Decision>, b: Decision) -> Decision {
    let rank = |d: Decision| match d {
        Decision::Allow => 0,
        Decision::WouldBlock => 1,
        Decision::Block | Decision::Refused => 2,
    };
    match a {
        Some(a) if rank(a) > rank(b) => a,
        _ => b,
    }
}

/// What a body callback returns while the body is still being read.
fn wait_for_more(state: BodyState) -> Step {
    if state == BodyState::Holding {
        // StopIterationAndBuffer: nothing of the body passes before it is inspected.
        Step::Pause
    } else {
        Step::Continue
    }
}

/// A configured limit as `usize` (saturating on 32-bit wasm).
fn limit_of(limit: u64) -> usize {
    usize::try_from(limit).unwrap_or(usize::MAX)
}

/// The request headers as the engine should see them: `Host` from `:authority` (Envoy turns
/// `Host` into `:authority`; CRS inspects `REQUEST_HEADERS:Host`), the regular headers in the
/// host's order, and `Transfer-Encoding: chunked` restored for an HTTP/1 body without framing
/// headers (Envoy's codec strips it before filters run, ENVOY.md E38; the upstream gets the
/// body chunked, and without the header CRS flags every chunked POST, rule 920180).
fn request_headers<'a>(
    headers: &'a [Header],
    authority: Option<&'a str>,
    protocol: &str,
    end_of_stream: bool,
) -> impl Iterator<Item = (&'a [u8], &'a [u8])> {
    let has = |name: &[u8]| headers.iter().any(|(k, _)| k.eq_ignore_ascii_case(name));
    let chunked =
        !end_of_stream && protocol.starts_with("HTTP/1") && !has(b"content-length") && !has(b"transfer-encoding");
    let host = authority.map(|a| (&b"Host"[..], a.as_bytes()));
    let regular = headers
        .iter()
        .filter(|(k, _)| !k.starts_with(b":"))
        .map(|(k, v)| (k.as_slice(), v.as_slice()));
    let te = chunked.then_some((&b"Transfer-Encoding"[..], &b"chunked"[..]));
    host.into_iter().chain(regular).chain(te)
}

/// Whether the request switches protocols: an HTTP/1.1 `Upgrade` (WebSocket) whose head declares
/// no body (no `Content-Length`, no `Transfer-Encoding`: by HTTP/1.1's framing, the bytes after it
/// are not its body), or HTTP/2's extended CONNECT (`:protocol`). Envoy passes the upgraded
/// stream's bytes to filters as request body; they are WebSocket frames, so the body phase runs on
/// the head (in enforce mode a held "body" would stall the connection until it closes, and in
/// detect mode CRS would flag a GET with a body, rule 920170).
fn is_upgrade(headers: &[Header]) -> bool {
    let has = |name: &[u8]| headers.iter().any(|(k, _)| k.eq_ignore_ascii_case(name));
    has(b":protocol") || (has(b"upgrade") && !has(b"content-length") && !has(b"transfer-encoding"))
}

/// The first value of a header, whatever the case of its name.
fn find_any(headers: &[Header], name: &[u8]) -> Option<String> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| text(v))
}

/// The first value of a header named exactly `name`.
fn find<'a>(headers: &'a [Header], name: &[u8]) -> Option<&'a [u8]> {
    headers
        .iter()
        .find(|(k, _)| k.as_slice() == name)
        .map(|(_, v)| v.as_slice())
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// `ip:port` (or `[v6]:port`) split into address and port.
fn split_addr(a: &str) -> (String, u16) {
    match a.rsplit_once(':') {
        Some((ip, port)) if !ip.is_empty() => match port.parse() {
            Ok(p) => (ip.trim_start_matches('[').trim_end_matches(']').to_string(), p),
            Err(_) => (a.to_string(), 0),
        },
        _ => (a.to_string(), 0),
    }
}
