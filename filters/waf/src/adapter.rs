//! The proxy-wasm adapter: host calls only. The root context loads the configuration once per
//! VM; each HTTP context hands its callbacks to an [`Exchange`] and carries out the steps and
//! the end-of-stream plan it returns.

// The request path: a panic here traps the VM and fails every request it serves.
#![warn(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use meshward_vocab::Filter;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel};

use crate::exchange::{Attributes, Exchange, Step};
use crate::hostcall::{self, BufferType, LogLevel as Level, MapType};
use crate::loaded::{self, Loaded};
use crate::metrics;

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Info);
    // The engine's TIME*/DURATION variables and unique ids read the proxy's clock
    // (wasm32-unknown-unknown has no system clock at all).
    meshward_seclang::clock::set_source(|| Duration::from_nanos(now()));
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(WafRoot { shared: None }) });
}}

/// What every stream of a VM shares: the loaded configuration and the counter ids, indexed
/// like [`metrics::all_names`] (`None` where the host refused to define one).
struct Shared {
    loaded: Rc<Loaded>,
    counters: Vec<Option<u32>>,
    /// The linear-memory gauge and the value last set (`None` if the host refused it).
    memory_gauge: Option<(u32, Cell<usize>)>,
    /// `RuleSet::deferred_failures` when last checked, and the warning lines logged for them.
    deferred: Cell<usize>,
    deferred_logged: RefCell<Vec<String>>,
}

/// The VM's wasm linear memory in bytes (one instruction: `memory.size`).
fn linear_memory() -> usize {
    core::arch::wasm32::memory_size(0) * 65536
}

impl Shared {
    /// Logs rules whose operator failed to build on first use (one atomic read per stream;
    /// the rules are walked only when a failure happened).
    fn log_deferred_failures(&self) {
        let failures = meshward_seclang::RuleSet::deferred_failures();
        if failures == self.deferred.get() {
            return;
        }
        self.deferred.set(failures);
        let Ok(mut logged) = self.deferred_logged.try_borrow_mut() else {
            return;
        };
        for line in loaded::deferred_lines(&self.loaded, &mut logged) {
            log(Level::Warn, &line);
        }
    }

    /// Sets the memory gauge when the linear memory grew since it was last set, so a stream
    /// costs one `memory.size` and a host call only on growth.
    fn update_memory_gauge(&self) {
        if let Some((id, last)) = &self.memory_gauge {
            let now = linear_memory();
            if now != last.get() && hostcall::set_gauge(*id, now as u64).is_ok() {
                last.set(now);
            }
        }
    }
}

struct WafRoot {
    shared: Option<Rc<Shared>>,
}

impl Context for WafRoot {}

impl RootContext for WafRoot {
    fn on_configure(&mut self, _size: usize) -> bool {
        let bytes = match hostcall::plugin_configuration() {
            Ok(b) => b,
            Err(status) => return refuse(&loaded::unreadable_configuration_message(status.code())),
        };
        // The host clock (not `Instant`, which has no clock on wasm32-unknown-unknown).
        let started = now();
        let loaded = match Loaded::load(&bytes) {
            Ok(l) => l,
            Err(e) => return refuse(&loaded::invalid_configuration_message(&e)),
        };
        let load_nanos = now().saturating_sub(started);
        let memory = linear_memory();
        // At the evidence level: a default Istio sidecar (Envoy at `warning`) shows it.
        let level = loaded.config.evidence.log_level.log_level();
        for line in loaded.configured_lines(load_nanos, memory) {
            log(level, &line);
        }
        let counters = metrics::all_names()
            .iter()
            .map(|name| hostcall::define_counter(name).ok())
            .collect();
        let memory_gauge = hostcall::define_gauge(&metrics::memory_gauge_name())
            .ok()
            .map(|id| (id, Cell::new(0)));
        let shared = Shared {
            loaded: Rc::new(loaded),
            counters,
            memory_gauge,
            deferred: Cell::new(meshward_seclang::RuleSet::deferred_failures()),
            deferred_logged: RefCell::new(Vec::new()),
        };
        shared.update_memory_gauge();
        self.shared = Some(Rc::new(shared));
        true
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(WafStream {
            shared: self.shared.clone(),
            exchange: None,
        }))
    }
}

/// One stream: no exchange until the request headers start one (none when unconfigured).
struct WafStream {
    shared: Option<Rc<Shared>>,
    exchange: Option<Exchange>,
}

/// Carries out a step: a local reply is sent here, and the callback pauses after it.
fn carry(step: Step) -> Action {
    match step {
        Step::Continue => Action::Continue,
        Step::Pause => Action::Pause,
        Step::Reply(reply) => {
            let headers: Vec<(&str, &str)> = reply.headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
            if hostcall::send_local_response(reply.status, &headers, reply.body.as_bytes(), reply.details).is_err() {
                log(
                    Level::Error,
                    &Filter::Waf.message("local reply rejected by the host; resetting is up to Envoy"),
                );
            }
            Action::Pause
        }
    }
}

impl WafStream {
    /// Runs `callback` on the exchange, if there is one; streams without one pass.
    fn on(&mut self, callback: impl FnOnce(&mut Exchange) -> Step) -> Action {
        self.exchange.as_mut().map_or(Action::Continue, |x| carry(callback(x)))
    }
}

/// Reads `len` bytes of a body buffer from `start` (`None` when the host refuses).
fn read_body(buffer: BufferType) -> impl Fn(usize, usize) -> Option<Vec<u8>> {
    move |start, len| hostcall::buffer(buffer, start, len).ok()
}

/// Refuses a configuration: Envoy rejects the filter, and the log says why.
fn refuse(message: &str) -> bool {
    log(Level::Error, message);
    false
}

/// Logs a line; a log the host refuses has nowhere else to go.
fn log(level: Level, message: &str) {
    let _ = hostcall::log(level, message);
}

/// The host's wall clock in ns since the Unix epoch (0 if it does not answer).
fn now() -> u64 {
    hostcall::now_nanos().unwrap_or(0)
}

/// An attribute as text; absent, empty and unreadable are all `None`.
fn attribute(path: &[&str]) -> Option<String> {
    hostcall::property_text(path).ok().flatten()
}

impl Context for WafStream {}

impl HttpContext for WafStream {
    fn on_http_request_headers(&mut self, _num_headers: usize, end_of_stream: bool) -> Action {
        let Some(shared) = &self.shared else {
            return Action::Continue;
        };
        // Envoy makes request headers unreadable once this callback returns: read them all now.
        let headers = hostcall::header_pairs(MapType::HttpRequestHeaders).unwrap_or_default();
        let attributes = Attributes {
            route: attribute(&["xds", "route_name"]),
            request_id: attribute(&["request", "id"]),
            client: attribute(&["source", "address"]).unwrap_or_default(),
            server: attribute(&["destination", "address"]).unwrap_or_default(),
            protocol: attribute(&["request", "protocol"]),
        };
        match Exchange::start(shared.loaded.clone(), &headers, attributes, end_of_stream) {
            Some((exchange, step)) => {
                self.exchange = Some(exchange);
                carry(step)
            }
            None => Action::Continue,
        }
    }

    fn on_http_request_body(&mut self, body_size: usize, end_of_stream: bool) -> Action {
        self.on(|x| x.request_body(body_size, end_of_stream, read_body(BufferType::HttpRequestBody)))
    }

    fn on_http_request_trailers(&mut self, _num_trailers: usize) -> Action {
        self.on(Exchange::request_trailers)
    }

    fn on_http_response_headers(&mut self, _num_headers: usize, end_of_stream: bool) -> Action {
        let Some(x) = self.exchange.as_mut() else {
            return Action::Continue;
        };
        let headers = hostcall::header_pairs(MapType::HttpResponseHeaders).unwrap_or_default();
        carry(x.response_headers(&headers, end_of_stream))
    }

    fn on_http_response_body(&mut self, body_size: usize, end_of_stream: bool) -> Action {
        self.on(|x| x.response_body(body_size, end_of_stream, read_body(BufferType::HttpResponseBody)))
    }

    fn on_http_response_trailers(&mut self, _num_trailers: usize) -> Action {
        self.on(Exchange::response_trailers)
    }

    fn on_log(&mut self) {
        let (Some(shared), Some(exchange)) = (&self.shared, self.exchange.take()) else {
            return;
        };
        let (plan, _) = exchange.finish(now());
        shared.update_memory_gauge();
        shared.log_deferred_failures();
        for counter in &plan.counters {
            if let Some(Some(id)) = shared.counters.get(counter.index()) {
                // A lost count must never fail the request.
                let _ = hostcall::increment(*id);
            }
        }
        let level = shared.loaded.config.evidence.log_level.log_level();
        let lines = plan
            .log_line
            .iter()
            .chain(plan.messages.iter().filter_map(|m| m.log_line.as_ref()));
        for line in lines {
            log(level, line);
        }
        let calls = plan
            .collector
            .iter()
            .chain(plan.messages.iter().filter_map(|m| m.collector.as_ref()));
        for call in calls {
            let headers: Vec<(&str, &str)> = call.headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let timeout = Duration::from_millis(call.timeout_ms);
            // The SDK's call, not a raw import: it registers the token, and the SDK's
            // dispatcher panics on a reply whose token it does not know. Fire and forget: the
            // reply goes to the root context, which ignores it.
            if self
                .dispatch_http_call(&call.cluster, headers, Some(call.body.as_bytes()), vec![], timeout)
                .is_err()
            {
                log(Level::Error, &loaded::collector_failed_message(&call.cluster));
            }
        }
    }
}
