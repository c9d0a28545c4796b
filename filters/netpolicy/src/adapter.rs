//! The proxy-wasm glue: configure compiles the policy; request headers are decided.

// The request path: a panic here traps the VM and fails every request it serves.
#![warn(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::collections::HashMap;
use std::rc::Rc;

use meshward_hostcalls::{self as host, LogLevel, MapType};
use meshward_policy::{jwt, Direction, Engine, Request};
use meshward_vocab::Filter;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType};

use crate::plan::{self, metric_names};

proxy_wasm::main! {{
    proxy_wasm::set_log_level(proxy_wasm::types::LogLevel::Trace);
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
        let config = match host::plugin_configuration() {
            Ok(c) => c,
            Err(st) => {
                let _ = host::log(
                    LogLevel::Error,
                    &Filter::Policy.message(format_args!(
                        "cannot read the plugin configuration (status {})",
                        st.code()
                    )),
                );
                return false;
            }
        };
        let text = match std::str::from_utf8(&config) {
            Ok(t) => t,
            Err(_) => {
                let _ = host::log(LogLevel::Error, &Filter::Policy.message("configuration is not UTF-8"));
                return false;
            }
        };
        let engine = match Engine::from_text(text) {
            Ok(e) => e,
            Err(e) => {
                let _ = host::log(
                    LogLevel::Error,
                    &Filter::Policy.message(format_args!("invalid policy: {e}")),
                );
                return false;
            }
        };
        let mut metrics = HashMap::new();
        for name in metric_names(engine.policy_names()) {
            match host::define_counter(&name) {
                Ok(id) => {
                    metrics.insert(name, id);
                }
                Err(st) => {
                    let _ = host::log(
                        LogLevel::Warn,
                        &Filter::Policy.message(format_args!("cannot define metric {name} (status {})", st.code())),
                    );
                }
            }
        }
        for (level, line) in plan::configured_lines(&engine) {
            let _ = host::log(level, &line);
        }
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

/// An attribute's bytes; `None` when absent or unreadable.
fn attribute(path: &[&str]) -> Option<Vec<u8>> {
    host::property(path).ok().flatten()
}

/// An attribute as text (lossy for invalid UTF-8, which Envoy does not produce for these); an
/// empty value stays `Some("")`.
fn attribute_text(path: &[&str]) -> Option<String> {
    attribute(path).map(|b| String::from_utf8_lossy(&b).into_owned())
}

/// The request headers, names lowercased.
fn request_headers() -> Result<Vec<(String, String)>, host::Status> {
    let pairs = host::header_pairs(MapType::HttpRequestHeaders)?;
    Ok(pairs
        .into_iter()
        .map(|(k, v)| {
            (
                String::from_utf8_lossy(&k).to_ascii_lowercase(),
                String::from_utf8_lossy(&v).into_owned(),
            )
        })
        .collect())
}

/// The JWT payload Envoy's `jwt_authn` verified, when a policy reads it. Absent, unreadable or
/// not a Struct: no verified token (the request's own headers are never parsed for one).
fn verified_jwt(engine: &Engine) -> Option<serde_json::Map<String, serde_json::Value>> {
    if !engine.uses_jwt() {
        return None;
    }
    let bytes = attribute(&jwt::PAYLOAD_PROPERTY)?;
    let payload = jwt::decode_payload(&bytes);
    if payload.is_none() {
        let _ = host::log(
            LogLevel::Debug,
            &Filter::Policy.message("the jwt_authn payload in dynamic metadata is not a Struct; no request identity"),
        );
    }
    payload
}

fn direction() -> Option<Direction> {
    // Envoy's listener_direction: 0 unspecified, 1 inbound, 2 outbound (int64 little-endian).
    let b = attribute(&["listener_direction"])?;
    let v = i64::from_le_bytes(b.get(..8)?.try_into().ok()?);
    match v {
        1 => Some(Direction::Ingress),
        2 => Some(Direction::Egress),
        _ => None,
    }
}

impl HttpContext for Stream {
    fn on_http_request_headers(&mut self, _n: usize, _end: bool) -> Action {
        let headers = match request_headers() {
            Ok(h) => h,
            Err(st) => {
                let _ = host::log(
                    LogLevel::Error,
                    &Filter::Policy.message(format_args!("cannot read request headers (status {})", st.code())),
                );
                Vec::new()
            }
        };
        let get = |name: &str| headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str());
        let source = attribute_text(&["source", "address"]);
        let destination = attribute_text(&["destination", "address"]);
        let mtls = attribute(&["connection", "mtls"]).is_some_and(|b| b.first() == Some(&1));
        let san = attribute_text(&["connection", "uri_san_peer_certificate"]);
        let sni = attribute_text(&["connection", "requested_server_name"]);
        let route = attribute_text(&["xds", "route_name"]);
        let cluster = attribute_text(&["xds", "cluster_name"]);
        let jwt_payload = verified_jwt(&self.shared.engine);
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
            jwt_payload: jwt_payload.as_ref(),
        };
        let ruling = self.shared.engine.decide(&req);
        let p = plan::plan(&ruling, self.shared.engine.evidence_level());
        let _ = host::log(p.level, &p.line);
        for c in &p.counters {
            if let Some(id) = self.shared.metrics.get(c) {
                // A lost count must not fail the request.
                let _ = host::increment(*id);
            }
        }
        match p.reply {
            None => Action::Continue,
            Some((status, body)) => match host::send_local_response(
                status,
                &[("content-type", "text/plain")],
                body.as_bytes(),
                "meshward_policy",
            ) {
                Ok(()) => Action::Pause,
                Err(st) => {
                    let _ = host::log(
                        LogLevel::Error,
                        &Filter::Policy
                            .message(format_args!("local reply rejected by the host (status {})", st.code())),
                    );
                    Action::Pause
                }
            },
        }
    }
}
