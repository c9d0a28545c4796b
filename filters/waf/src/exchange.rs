//! One HTTP exchange through the WAF, as pure code: what each proxy-wasm callback does, minus
//! the host calls. The adapter hands in what the host gave it (headers, body sizes, a reader
//! for body bytes) and carries out the returned [`Step`]; at the end [`Exchange::finish`]
//! returns the counters, the evidence line and the collector call as a [`Finish`] plan.
//!
//! The invariants it keeps, per direction ([`BodyState`]):
//! - in enforce mode a body is **held** (the host buffers it) until it has been inspected, so
//!   nothing of it passes before the decision; in detect mode it **streams** and the engine
//!   reads a copy;
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

use meshward_seclang::{EngineMode, InterventionAction, Transaction};

use crate::config::OnLimit;
use crate::evidence::{self, Event, EventContext, RequestInfo};
use crate::loaded::Loaded;
use crate::metrics::{self, Counter};

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
        let mut exchange = Exchange {
            tx,
            info: RequestInfo { directive_set, ..info },
            protocol,
            request: Side::open(hold),
            response: None,
            replied: Replied::No,
            status_sent: None,
            limits: Vec::new(),
            loaded,
        };
        let step = match exchange.enforce(true) {
            Some(step) => step,
            // No body, or the body is not inspected: phase 2 runs now, before anything
            // reaches the upstream.
            None if no_body || !exchange.loaded.config.request_body.access => {
                exchange.finish_request().unwrap_or(Step::Continue)
            }
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
        let body = &self.loaded.config.request_body;
        let (limit, on_limit) = (limit_of(body.limit), body.on_limit);
        let over = self.feed(Dir::Request, size, limit, read);
        if over {
            self.limit(match on_limit {
                OnLimit::Reject => "request_body_over_limit",
                OnLimit::ProcessPartial => "request_body_truncated",
            });
        }
        if end_of_stream || over {
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
        self.finish_request().unwrap_or(Step::Continue)
    }

    /// The response headers (the upstream's, or a local reply's): phase 3, and phase 4 at
    /// once when the body will not be inspected.
    pub fn response_headers(&mut self, headers: &[Header], end_of_stream: bool) -> Step {
        match self.replied {
            Replied::InRequest => return Step::Continue, // our own local reply passing through
            Replied::InResponse => return Step::Pause,
            Replied::No => {}
        }
        if self.request.inspecting() {
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
        let inspect = body.access && body.mime_types.iter().any(|m| m.eq_ignore_ascii_case(mime));
        // Here the host can still replace the upstream response with the local reply.
        if let Some(step) = self.enforce(false) {
            return step;
        }
        // A body that is not inspected still gets its phase (4), at once.
        if end_of_stream || !inspect {
            return self.finish_response().unwrap_or(Step::Continue);
        }
        Step::Continue
    }

    /// A response body callback, as [`Exchange::request_body`].
    pub fn response_body(
        &mut self,
        size: usize,
        end_of_stream: bool,
        read: impl FnOnce(usize, usize) -> Option<Vec<u8>>,
    ) -> Step {
        match self.replied {
            Replied::InRequest => return Step::Continue,
            Replied::InResponse => return Step::Pause,
            Replied::No => {}
        }
        let Some(side) = self.response.filter(Side::inspecting) else {
            return Step::Continue;
        };
        let body = &self.loaded.config.response_body;
        let (limit, on_limit) = (limit_of(body.limit), body.on_limit);
        let over = self.feed(Dir::Response, size, limit, read);
        if over {
            self.limit(match on_limit {
                OnLimit::Reject => "response_body_over_limit",
                OnLimit::ProcessPartial => "response_body_truncated",
            });
        }
        if end_of_stream || over {
            // A reply here comes after the headers went downstream: the host resets the
            // stream, and the held body is never passed on.
            return self.finish_response().unwrap_or(Step::Continue);
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
        counters.extend(Counter::decision(decision));
        let logged: Vec<_> = tx.matched_rules().iter().filter(|r| r.logged).collect();
        if !logged.is_empty() {
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
        let limits: Vec<String> = self
            .limits
            .iter()
            .chain(&tx.request_body_state().uninspected)
            .map(|l| l.to_string())
            .collect();
        let ctx = EventContext {
            info: &self.info,
            mode: config.mode,
            status,
            enforced,
            now_nanos,
            excerpt_bytes: config.evidence.excerpt_bytes,
            ruleset: &self.loaded.ruleset,
            config_hash: &self.loaded.config_hash,
            limits: &limits,
            redactor: &self.loaded.redactor,
        };
        let event = evidence::event(tx, &ctx);
        let log_line = event.as_ref().filter(|_| config.evidence.log).map(Event::log_line);
        let collector = event.as_ref().and_then(|e| {
            let c = config.evidence.collector.as_ref()?;
            Some(CollectorCall {
                cluster: c.cluster.clone(),
                headers: vec![
                    (":method", "POST".into()),
                    (":path", c.path.clone()),
                    (":authority", c.authority.clone()),
                    ("content-type", "application/json".into()),
                ],
                body: e.to_json(),
                timeout_ms: c.timeout_ms,
            })
        });
        let finish = Finish {
            counters,
            event,
            log_line,
            collector,
        };
        (finish, self.tx)
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
        let iv = self.tx.intervention()?;
        if self.replied != Replied::No {
            return Some(Step::Pause);
        }
        if matches!(self.request.body, BodyState::Cut { .. }) {
            // This response does not answer an inspected request (often Envoy's own local
            // reply): the decision is recorded, the response passes.
            return None;
        }
        let status = self.reply_status(iv.action, iv.status);
        let mut headers = vec![("content-type", "text/plain".to_string())];
        if iv.action == InterventionAction::Redirect {
            if let Some(url) = &iv.url {
                headers.push(("location", url.clone()));
            }
        }
        let details = if iv.action == InterventionAction::BodyLimit {
            "meshward_waf_body_limit"
        } else {
            "meshward_waf_blocked"
        };
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
        Some(Step::Reply(reply))
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
                    match dir {
                        Dir::Request => self.tx.append_request_body(&chunk),
                        Dir::Response => self.tx.append_response_body(&chunk),
                    }
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

/// Which direction a body belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dir {
    Request,
    Response,
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
