//! The proxy-wasm adapter: root context (configure once per VM) and one HTTP context per
//! stream that drives a SecLang transaction in libmodsecurity's order.

use std::collections::BTreeSet;
use std::rc::Rc;
use std::time::Duration;

use meshward_seclang::{EngineMode, InterventionAction, Transaction};
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel};

use crate::config::OnLimit;
use crate::evidence::{self, Decision, EventContext, RequestInfo};
use crate::hostcall::{self, BufferType, LogLevel as Level, MapType};
use crate::loaded::Loaded;
use crate::metrics;

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Info);
    // The engine's TIME*/DURATION variables and unique ids read the proxy's clock
    // (wasm32-unknown-unknown has no system clock at all).
    meshward_seclang::clock::set_source(|| std::time::Duration::from_nanos(hostcall::now_nanos().unwrap_or(0)));
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(WafRoot { shared: None }) });
}}

/// Counter ids defined at configure time.
struct MetricIds {
    counters: Vec<(&'static str, u32)>,
    families: Vec<(&'static str, u32)>,
    paranoia: [Option<u32>; 4],
}

impl MetricIds {
    fn define() -> MetricIds {
        let counters = metrics::COUNTERS
            .iter()
            .filter_map(|c| {
                hostcall::define_counter(&metrics::counter_name(c))
                    .ok()
                    .map(|id| (*c, id))
            })
            .collect();
        let families = metrics::FAMILIES
            .iter()
            .filter_map(|f| {
                hostcall::define_counter(&metrics::family_name(f))
                    .ok()
                    .map(|id| (*f, id))
            })
            .collect();
        let mut paranoia = [None; 4];
        for (i, slot) in paranoia.iter_mut().enumerate() {
            *slot = hostcall::define_counter(&metrics::paranoia_name(i as u8 + 1)).ok();
        }
        MetricIds {
            counters,
            families,
            paranoia,
        }
    }

    fn bump(&self, counter: &str) {
        if let Some((_, id)) = self.counters.iter().find(|(c, _)| *c == counter) {
            let _ = hostcall::increment(*id);
        }
    }
}

/// What every stream of a VM shares.
struct Shared {
    loaded: Loaded,
    metrics: MetricIds,
}

struct WafRoot {
    shared: Option<Rc<Shared>>,
}

impl Context for WafRoot {}

impl RootContext for WafRoot {
    fn on_configure(&mut self, _size: usize) -> bool {
        let bytes = match hostcall::plugin_configuration() {
            Ok(b) => b,
            Err(status) => {
                let _ = hostcall::log(
                    Level::Error,
                    &format!(
                        "meshward-waf: invalid configuration: cannot read the plugin configuration (status {})",
                        status.code()
                    ),
                );
                return false;
            }
        };
        // The host clock (not `Instant`, which has no clock on wasm32-unknown-unknown).
        let started = hostcall::now_nanos().unwrap_or(0);
        let loaded = match Loaded::load(&bytes) {
            Ok(l) => l,
            Err(e) => {
                let _ = hostcall::log(Level::Error, &crate::loaded::invalid_configuration_message(&e));
                return false;
            }
        };
        let load_ms = hostcall::now_nanos().unwrap_or(0).saturating_sub(started) as f64 / 1e6;
        let memory = core::arch::wasm32::memory_size(0) * 65536;
        let report = loaded.report();
        let _ = hostcall::log(
            Level::Info,
            &format!(
                "meshward-waf: loaded {} rules ({} distinct rule sets, ruleset {}, mode {}) in {load_ms:.1} ms; \
                 wasm memory {memory} bytes; config_hash {}",
                report.rules,
                report.sets,
                loaded.ruleset,
                loaded.config.mode.as_str(),
                loaded.config_hash
            ),
        );
        for w in loaded.sets.rules.iter().flat_map(|r| r.warnings()).take(20) {
            let _ = hostcall::log(Level::Info, &format!("meshward-waf: {w}"));
        }
        self.shared = Some(Rc::new(Shared {
            loaded,
            metrics: MetricIds::define(),
        }));
        true
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(WafStream::new(self.shared.clone())))
    }
}

/// Who answered locally, which decides what our own response callbacks do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reply {
    None,
    /// Sent from a request callback: Envoy runs the reply through our response callbacks.
    InRequest,
    /// Sent from a response callback: the upstream response is replaced or the stream reset.
    InResponse,
}

struct WafStream {
    shared: Option<Rc<Shared>>,
    tx: Option<Transaction>,
    info: RequestInfo,
    protocol: String,
    /// Bodies are held until inspected only when the engine can block (`SecRuleEngine On`);
    /// in detect mode they stream through while the engine reads a copy.
    hold: bool,
    request_seen: usize,
    request_done: bool,
    /// A response started before the request ended (Envoy's own local reply such as its 413,
    /// or an upstream answering early): the rest of the request is never inspected, so it is
    /// never passed on when held, and this response is only recorded, not blocked.
    request_cut: bool,
    response_inspect: bool,
    response_seen: usize,
    response_done: bool,
    reply: Reply,
    status_sent: Option<u16>,
    limits: Vec<String>,
    finished: bool,
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

impl WafStream {
    fn new(shared: Option<Rc<Shared>>) -> WafStream {
        WafStream {
            shared,
            tx: None,
            info: RequestInfo::default(),
            protocol: "HTTP/1.1".into(),
            hold: true,
            request_seen: 0,
            request_done: false,
            request_cut: false,
            response_inspect: false,
            response_seen: 0,
            response_done: false,
            reply: Reply::None,
            status_sent: None,
            limits: Vec::new(),
            finished: false,
        }
    }

    fn limit(&mut self, what: &str) {
        if !self.limits.iter().any(|l| l == what) {
            self.limits.push(what.to_string());
        }
    }

    /// The status a decision answers with: the rule's, or `block_status` for the engine default.
    fn reply_status(shared: &Shared, action: InterventionAction, status: u16) -> u16 {
        if action == InterventionAction::Deny && status == 403 {
            shared.loaded.config.block_status
        } else {
            status
        }
    }

    /// Answers locally when the engine enforced an intervention; true when it did.
    fn enforce(&mut self, in_request: bool) -> bool {
        let (Some(shared), Some(tx)) = (self.shared.clone(), self.tx.as_ref()) else {
            return false;
        };
        let Some(iv) = tx.intervention() else { return false };
        if self.reply != Reply::None {
            return true;
        }
        if self.request_cut {
            // This response is not the upstream's answer to an inspected request (often
            // Envoy's own local reply): record the decision, let it through.
            return false;
        }
        let status = Self::reply_status(&shared, iv.action, iv.status);
        let body = format!("Request blocked ({})\n", tx.unique_id());
        let mut headers = vec![("content-type", "text/plain")];
        let location;
        if iv.action == InterventionAction::Redirect {
            if let Some(url) = &iv.url {
                location = url.clone();
                headers.push(("location", location.as_str()));
            }
        }
        let details = if iv.action == InterventionAction::BodyLimit {
            "meshward_waf_body_limit"
        } else {
            "meshward_waf_blocked"
        };
        if hostcall::send_local_response(status, &headers, body.as_bytes(), details).is_err() {
            let _ = hostcall::log(
                Level::Error,
                "meshward-waf: local reply refused by the host; resetting is up to Envoy",
            );
        }
        self.reply = if in_request {
            Reply::InRequest
        } else {
            Reply::InResponse
        };
        self.status_sent = Some(status);
        true
    }

    /// Runs phase 2 once (body processor then request-body rules).
    fn finish_request(&mut self) -> bool {
        if self.request_done {
            return false;
        }
        self.request_done = true;
        if let Some(tx) = self.tx.as_mut() {
            tx.process_request_body();
        }
        self.enforce(true)
    }

    /// Runs phase 4 once.
    fn finish_response(&mut self) -> bool {
        if self.response_done {
            return false;
        }
        self.response_done = true;
        if let Some(tx) = self.tx.as_mut() {
            tx.process_response_body();
        }
        self.enforce(false)
    }

    /// Reads the body bytes not yet seen, up to `limit + 1` in total, into the transaction.
    /// A held body is cumulative in Envoy's buffer (read from `seen`); a streamed one holds
    /// only the current chunk (read from 0).
    fn feed(&mut self, buffer: BufferType, size: usize, limit: usize) {
        let seen = if buffer == BufferType::HttpRequestBody {
            self.request_seen
        } else {
            self.response_seen
        };
        let cap = limit.saturating_add(1);
        let (start, available) = if self.hold {
            (seen, size.saturating_sub(seen))
        } else {
            (0, size)
        };
        let want = available.min(cap.saturating_sub(seen));
        if want == 0 {
            return;
        }
        let chunk = match hostcall::buffer(buffer, start, want) {
            Ok(c) => c,
            Err(_) => {
                self.limit("body_unreadable");
                return;
            }
        };
        let new_seen = seen + chunk.len();
        if let Some(tx) = self.tx.as_mut() {
            if buffer == BufferType::HttpRequestBody {
                tx.append_request_body(&chunk);
            } else {
                tx.append_response_body(&chunk);
            }
        }
        if buffer == BufferType::HttpRequestBody {
            self.request_seen = new_seen;
        } else {
            self.response_seen = new_seen;
        }
    }

    /// True once a body has gone past its limit (held: Envoy's cumulative size; streamed: bytes seen).
    fn over_limit(&self, buffer: BufferType, size: usize, limit: usize) -> bool {
        let seen = if buffer == BufferType::HttpRequestBody {
            self.request_seen
        } else {
            self.response_seen
        };
        if self.hold {
            size > limit
        } else {
            seen > limit
        }
    }

    /// What a body callback returns while the body is still being read.
    fn wait_for_more(&self) -> Action {
        if self.hold {
            // StopIterationAndBuffer: nothing of the body passes before it is inspected.
            Action::Pause
        } else {
            Action::Continue
        }
    }

    /// Phase 5, metrics and the evidence event; runs once.
    fn finish(&mut self) {
        if self.finished {
            return;
        }
        self.finished = true;
        let (Some(shared), Some(tx)) = (self.shared.clone(), self.tx.as_mut()) else {
            return;
        };
        tx.process_logging();
        let tx = &*tx;
        let m = &shared.metrics;
        m.bump("transactions");
        let decision = Decision::of(tx.intervention(), tx.decision());
        match decision {
            Decision::Block => m.bump("blocked"),
            Decision::WouldBlock => m.bump("would_block"),
            Decision::Refused => m.bump("refused"),
            Decision::Pass => {}
        }
        let logged: Vec<_> = tx.matched_rules().iter().filter(|r| r.logged).collect();
        if !logged.is_empty() {
            m.bump("matched");
            let families: BTreeSet<&str> = logged.iter().map(|r| metrics::family_of(r.id)).collect();
            for f in families {
                if let Some((_, id)) = m.families.iter().find(|(n, _)| *n == f) {
                    let _ = hostcall::increment(*id);
                }
            }
            let levels: BTreeSet<u8> = logged.iter().filter_map(|r| metrics::paranoia_of(&r.tags)).collect();
            for l in levels {
                if let Some(Some(id)) = m.paranoia.get(usize::from(l) - 1) {
                    let _ = hostcall::increment(*id);
                }
            }
        }
        let config = &shared.loaded.config;
        let status = self
            .status_sent
            .or_else(|| tx.decision().map(|d| Self::reply_status(&shared, d.action, d.status)));
        let ctx = EventContext {
            info: &self.info,
            mode: config.mode,
            status,
            now_nanos: hostcall::now_nanos().unwrap_or(0),
            excerpt_bytes: config.evidence.excerpt_bytes,
            ruleset: &shared.loaded.ruleset,
            config_hash: &shared.loaded.config_hash,
            limits: &self.limits,
        };
        let Some(event) = evidence::event(tx, &ctx) else { return };
        if config.evidence.log {
            let _ = hostcall::log(Level::Info, &event.log_line());
        }
        if let Some(c) = &config.evidence.collector {
            let body = event.to_json();
            let headers = vec![
                (":method", "POST"),
                (":path", c.path.as_str()),
                (":authority", c.authority.as_str()),
                ("content-type", "application/json"),
            ];
            let timeout = Duration::from_millis(c.timeout_ms);
            // Fire and forget: the reply (delivered to the root context) is not awaited.
            // Through the SDK, not `hostcall::http_call`: the SDK dispatches the reply and
            // panics (a trap) on a token its own `dispatch_http_call` did not register.
            if self
                .dispatch_http_call(&c.cluster, headers, Some(body.as_bytes()), vec![], timeout)
                .is_err()
            {
                let _ = hostcall::log(
                    Level::Error,
                    &format!("meshward-waf: evidence collector call to cluster {} failed", c.cluster),
                );
            }
        }
    }
}

impl Context for WafStream {}

impl HttpContext for WafStream {
    fn on_http_request_headers(&mut self, _num_headers: usize, end_of_stream: bool) -> Action {
        let Some(shared) = self.shared.clone() else {
            return Action::Continue;
        };
        // Envoy makes request headers unreadable once this callback returns: read them all now.
        let headers = hostcall::header_pairs(MapType::HttpRequestHeaders).unwrap_or_default();
        let pseudo = |name: &str| {
            headers
                .iter()
                .find(|(k, _)| k.as_slice() == name.as_bytes())
                .map(|(_, v)| text(v))
        };
        let authority = pseudo(":authority");
        self.info.method = pseudo(":method").unwrap_or_else(|| "GET".into());
        self.info.path = pseudo(":path").unwrap_or_else(|| "/".into());
        self.info.authority = authority.clone().unwrap_or_default();
        self.info.route = hostcall::property_text(&["xds", "route_name"]).ok().flatten();
        self.info.request_id = pseudo("x-request-id")
            .or_else(|| hostcall::property_text(&["request", "id"]).ok().flatten())
            .unwrap_or_default();
        self.info.client = hostcall::property_text(&["source", "address"])
            .ok()
            .flatten()
            .unwrap_or_default();
        if let Some(p) = hostcall::property_text(&["request", "protocol"]).ok().flatten() {
            self.protocol = p;
        }
        let server = hostcall::property_text(&["destination", "address"])
            .ok()
            .flatten()
            .unwrap_or_default();

        let Some((set, rules)) = shared.loaded.select(self.info.route.as_deref(), authority.as_deref()) else {
            return Action::Continue;
        };
        self.info.directive_set = set.to_string();
        let mut tx = rules.transaction();
        let (cip, cport) = split_addr(&self.info.client);
        let (sip, sport) = split_addr(&server);
        tx.process_connection(&cip, cport, &sip, sport);
        tx.process_uri(self.info.path.as_bytes(), &self.info.method, &self.protocol);
        if let Some(a) = &authority {
            // Envoy turns `Host` into `:authority`; CRS inspects REQUEST_HEADERS:Host.
            tx.add_request_header(b"Host", a.as_bytes());
        }
        for (k, v) in headers.iter().filter(|(k, _)| !k.starts_with(b":")) {
            tx.add_request_header(k, v);
        }
        let has = |name: &[u8]| headers.iter().any(|(k, _)| k.eq_ignore_ascii_case(name));
        if !end_of_stream
            && self.protocol.starts_with("HTTP/1")
            && !has(b"content-length")
            && !has(b"transfer-encoding")
        {
            // Envoy's HTTP/1 codec strips `Transfer-Encoding` before filters run (ENVOY.md
            // E38); a body without Content-Length was sent chunked, and the upstream gets it
            // chunked. Restoring the header keeps CRS from flagging every chunked POST (920180).
            tx.add_request_header(b"Transfer-Encoding", b"chunked");
        }
        tx.process_request_headers();
        self.hold = tx.engine_mode() == EngineMode::On;
        self.tx = Some(tx);
        if self.enforce(true) {
            return Action::Pause;
        }
        // No body, or the body is not inspected: phase 2 runs now, before anything reaches
        // the upstream, so phase-2 rules are never bypassed.
        if (end_of_stream || !shared.loaded.config.request_body.access) && self.finish_request() {
            return Action::Pause;
        }
        Action::Continue
    }

    fn on_http_request_body(&mut self, body_size: usize, end_of_stream: bool) -> Action {
        if self.reply != Reply::None {
            return Action::Pause;
        }
        let Some(shared) = self.shared.clone() else {
            return Action::Continue;
        };
        if self.request_cut && self.hold {
            return Action::Pause;
        }
        if self.request_done || self.tx.is_none() {
            return Action::Continue;
        }
        let body = &shared.loaded.config.request_body;
        let limit = usize::try_from(body.limit).unwrap_or(usize::MAX);
        self.feed(BufferType::HttpRequestBody, body_size, limit);
        let over = self.over_limit(BufferType::HttpRequestBody, body_size, limit);
        if over {
            self.limit(match body.on_limit {
                OnLimit::Reject => "request_body_over_limit",
                OnLimit::ProcessPartial => "request_body_truncated",
            });
        }
        if end_of_stream || over {
            if self.finish_request() {
                return Action::Pause;
            }
            return Action::Continue;
        }
        self.wait_for_more()
    }

    fn on_http_request_trailers(&mut self, _num_trailers: usize) -> Action {
        if self.reply != Reply::None {
            return Action::Pause;
        }
        // A body that ends with trailers has no end-of-stream body callback: inspect it here.
        if self.tx.is_some() && self.finish_request() {
            return Action::Pause;
        }
        Action::Continue
    }

    fn on_http_response_headers(&mut self, _num_headers: usize, end_of_stream: bool) -> Action {
        if self.reply == Reply::InRequest {
            return Action::Continue; // our own local reply passing through
        }
        if self.reply == Reply::InResponse {
            return Action::Pause;
        }
        let Some(shared) = self.shared.clone() else {
            return Action::Continue;
        };
        if self.tx.is_none() {
            return Action::Continue;
        }
        if !self.request_done {
            self.request_done = true;
            self.request_cut = true;
            self.limit("request_incomplete");
        }
        let headers = hostcall::header_pairs(MapType::HttpResponseHeaders).unwrap_or_default();
        let status = headers
            .iter()
            .find(|(k, _)| k.as_slice() == b":status")
            .and_then(|(_, v)| text(v).parse::<u16>().ok())
            .unwrap_or(200);
        let content_type = headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(b"content-type"))
            .map(|(_, v)| text(v))
            .unwrap_or_default();
        if let Some(tx) = self.tx.as_mut() {
            for (k, v) in headers.iter().filter(|(k, _)| !k.starts_with(b":")) {
                tx.add_response_header(k, v);
            }
            tx.process_response_headers(status, &self.protocol);
            self.hold = tx.engine_mode() == EngineMode::On;
        }
        // Here Envoy can still replace the upstream response with the local reply.
        if self.enforce(false) {
            return Action::Pause;
        }
        let mime = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        let rb = &shared.loaded.config.response_body;
        self.response_inspect = rb.access && rb.mime_types.iter().any(|m| m.eq_ignore_ascii_case(&mime));
        if end_of_stream || !self.response_inspect {
            if self.finish_response() {
                return Action::Pause;
            }
        }
        Action::Continue
    }

    fn on_http_response_body(&mut self, body_size: usize, end_of_stream: bool) -> Action {
        match self.reply {
            Reply::InRequest => return Action::Continue,
            Reply::InResponse => return Action::Pause,
            Reply::None => {}
        }
        let Some(shared) = self.shared.clone() else {
            return Action::Continue;
        };
        if self.response_done || self.tx.is_none() {
            return Action::Continue;
        }
        let body = &shared.loaded.config.response_body;
        let limit = usize::try_from(body.limit).unwrap_or(usize::MAX);
        self.feed(BufferType::HttpResponseBody, body_size, limit);
        let over = self.over_limit(BufferType::HttpResponseBody, body_size, limit);
        if over {
            self.limit(match body.on_limit {
                OnLimit::Reject => "response_body_over_limit",
                OnLimit::ProcessPartial => "response_body_truncated",
            });
        }
        if end_of_stream || over {
            if self.finish_response() {
                // Headers are already downstream: Envoy resets the stream; the buffered body
                // is never passed on.
                return Action::Pause;
            }
            return Action::Continue;
        }
        self.wait_for_more()
    }

    fn on_http_response_trailers(&mut self, _num_trailers: usize) -> Action {
        match self.reply {
            Reply::InRequest => return Action::Continue,
            Reply::InResponse => return Action::Pause,
            Reply::None => {}
        }
        if self.tx.is_some() && self.response_inspect && self.finish_response() {
            return Action::Pause;
        }
        Action::Continue
    }

    fn on_log(&mut self) {
        self.finish();
    }
}
