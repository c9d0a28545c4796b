//! The proxy-wasm glue: configure compiles the policy; request headers are decided.

use std::collections::HashMap;
use std::rc::Rc;

use meshward_policy::{Direction, Engine, Request};
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel};

use crate::host::{self, LogLevel as Level};
use crate::plan::{self, metric_names};

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Trace);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(Root::default()) });
}}

/// The compiled policy and counter ids, shared with every stream.
struct Shared {
    engine: Engine,
    metrics: HashMap<String, u32>,
}

#[derive(Default)]
struct Root {
    shared: Option<Rc<Shared>>,
}

impl Context for Root {}

impl RootContext for Root {
    fn on_configure(&mut self, _size: usize) -> bool {
        let config = self.get_plugin_configuration().unwrap_or_default();
        let text = match std::str::from_utf8(&config) {
            Ok(t) => t,
            Err(_) => {
                host::log(Level::Error, "meshward.policy: configuration is not UTF-8");
                return false;
            }
        };
        let engine = match Engine::from_text(text) {
            Ok(e) => e,
            Err(e) => {
                host::log(Level::Error, &format!("meshward.policy: invalid policy: {e}"));
                return false;
            }
        };
        let mut metrics = HashMap::new();
        for name in metric_names(engine.policy_names()) {
            match host::define_counter(&name) {
                Ok(id) => {
                    metrics.insert(name, id);
                }
                Err(st) => host::log(
                    Level::Warn,
                    &format!("meshward.policy: cannot define metric {name} (status {st})"),
                ),
            }
        }
        host::log(
            Level::Info,
            &format!(
                "meshward.policy: configured {} policies ({} clauses), mode {}",
                engine.policy_count(),
                engine.clause_count(),
                engine.mode().as_str()
            ),
        );
        self.shared = Some(Rc::new(Shared { engine, metrics }));
        true
    }

    fn create_http_context(&self, _id: u32) -> Option<Box<dyn HttpContext>> {
        let shared = self.shared.clone()?;
        Some(Box::new(Stream { shared }))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

struct Stream {
    shared: Rc<Shared>,
}

impl Context for Stream {}

fn direction() -> Option<Direction> {
    // Envoy's listener_direction: 0 unspecified, 1 inbound, 2 outbound (int64 little-endian).
    let b = host::property(&["listener_direction"])?;
    let v = i64::from_le_bytes(b.get(..8)?.try_into().ok()?);
    match v {
        1 => Some(Direction::Ingress),
        2 => Some(Direction::Egress),
        _ => None,
    }
}

impl HttpContext for Stream {
    fn on_http_request_headers(&mut self, _n: usize, _end: bool) -> Action {
        let headers = match host::request_headers() {
            Ok(h) => h,
            Err(st) => {
                host::log(
                    Level::Error,
                    &format!("meshward.policy: cannot read request headers (status {st})"),
                );
                Vec::new()
            }
        };
        let get = |name: &str| headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str());
        let source = host::property_string(&["source", "address"]);
        let destination = host::property_string(&["destination", "address"]);
        let mtls = host::property(&["connection", "mtls"]).is_some_and(|b| b.first() == Some(&1));
        let san = host::property_string(&["connection", "uri_san_peer_certificate"]);
        let sni = host::property_string(&["connection", "requested_server_name"]);
        let route = host::property_string(&["xds", "route_name"]);
        let cluster = host::property_string(&["xds", "cluster_name"]);
        let req = Request {
            method: get(":method").unwrap_or(""),
            path: get(":path").unwrap_or(""),
            authority: get(":authority").or_else(|| get("host")).unwrap_or(""),
            headers: &headers,
            source_address: source.as_deref(),
            destination_address: destination.as_deref(),
            mtls,
            peer_uri_san: san.as_deref(),
            sni: sni.as_deref(),
            route_name: route.as_deref(),
            cluster_name: cluster.as_deref(),
            direction: direction(),
        };
        let decision = self.shared.engine.decide(&req);
        let p = plan::plan(&decision);
        let level = match p.level {
            plan::Level::Debug => Level::Debug,
            plan::Level::Info => Level::Info,
            plan::Level::Warn => Level::Warn,
        };
        host::log(level, &p.line);
        for c in &p.counters {
            if let Some(id) = self.shared.metrics.get(c) {
                host::increment(*id);
            }
        }
        match p.reply {
            None => Action::Continue,
            Some((status, body)) => match host::send_local_response(status, body, &[("content-type", "text/plain")]) {
                Ok(()) => Action::Pause,
                Err(st) => {
                    host::log(
                        Level::Error,
                        &format!("meshward.policy: local reply refused (status {st})"),
                    );
                    Action::Pause
                }
            },
        }
    }
}
