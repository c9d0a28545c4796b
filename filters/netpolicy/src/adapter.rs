//! The proxy-wasm glue: configure compiles the policy; request headers are decided (and, with
//! an enforce-mode analytics detector, refused while one of their entities is blocked); the end
//! of each stream is recorded for observation, which the root context's tick flushes, and
//! handed to behaviour analytics, whose table in shared data the tick sweeps.

// The request path: a panic here traps the VM and fails every request it serves.
#![warn(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::time::Duration;

use meshward_hostcalls::{self as host, LogLevel, MapType, Status};
use meshward_policy::analytics::{Analytics, Cas, Store, StoreError};
use meshward_policy::observe::{Aggregator, Exchange, Recorded, RequestKey};
use meshward_policy::{jwt, Direction, Engine, Request};
use meshward_vocab::{Decision, Filter};
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType};

use crate::analytics::{self as watch, Seen};
use crate::plan::{self, metric_names};

proxy_wasm::main! {{
    proxy_wasm::set_log_level(proxy_wasm::types::LogLevel::Trace);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(Root::default()) });
}}

/// The compiled policy and counter ids, shared with every stream.
struct Shared {
    engine: Engine,
    metrics: HashMap<String, u32>,
    /// This VM's observation table (`None` with `observe.enabled: false`). The VM is
    /// single-threaded; a borrow that fails (it cannot, no callback re-enters another) skips
    /// the record rather than trap.
    observer: Option<RefCell<Aggregator>>,
    /// Counter id of `meshward_policy.observation_overflow`, looked up once.
    overflow_metric: Option<u32>,
    /// Behaviour analytics (`None` with `analytics.enabled: false` or without a key).
    analytics: Option<Analytics>,
}

/// The analytics table in Envoy shared data: one key per slot, the shared-data CAS token as
/// the engine's. A read the host refuses counts as an empty slot; a write it refuses, as
/// rejected (the engine drops that update): analytics never fails a request.
struct SharedStore;

impl Store for SharedStore {
    fn load(&mut self, slot: u32) -> Option<(Vec<u8>, Cas)> {
        host::shared_data(&watch::slot_key(slot)).ok().flatten()
    }

    fn store(&mut self, slot: u32, bytes: &[u8], cas: Option<Cas>) -> Result<(), StoreError> {
        // `None` asks that the slot still be unwritten. Envoy cannot say "only if absent" (a CAS
        // of 0 sets unconditionally; its tokens are never 0), so two VMs creating one entity at
        // once keep the last write: one request's update lost, no corruption.
        match host::set_shared_data(&watch::slot_key(slot), bytes, cas.unwrap_or(0)) {
            Ok(()) => Ok(()),
            Err(Status::CasMismatch) => Err(StoreError::Conflict { slot }),
            Err(_) => Err(StoreError::Rejected { slot, len: bytes.len() }),
        }
    }
}

/// Host time in milliseconds since the epoch.
fn now_ms() -> Option<u64> {
    host::now_nanos().ok().map(|n| n / 1_000_000)
}

/// 128 bits from the VM's random source: std's `RandomState` keys, which on wasm32-wasip1
/// come from WASI `random_get` (the host's CSPRNG), hashed with the time.
fn entropy() -> [u64; 2] {
    use std::hash::{BuildHasher, RandomState};
    let now = host::now_nanos().unwrap_or(0);
    [RandomState::new().hash_one(now), RandomState::new().hash_one(!now)]
}

/// The analytics engine for the document: its `key`, else the proxy's shared one (made by the
/// first VM to get here). `None`, logged, when it cannot run.
fn start_analytics(engine: &Engine) -> Option<Analytics> {
    let settings = engine.analytics();
    if !settings.enabled {
        return None;
    }
    let mut config = settings.engine.clone();
    if config.key.is_empty() {
        let key = watch::shared_key(
            || host::shared_data(watch::KEY_NAME).ok().flatten().map(|(v, _)| v),
            |k| host::set_shared_data(watch::KEY_NAME, k, 0).is_ok(),
            || watch::key_from_entropy(entropy()),
        );
        let Some(key) = key else {
            let _ = host::log(
                LogLevel::Warn,
                &Filter::Policy.message("analytics: cannot keep a key in shared data; analytics off"),
            );
            return None;
        };
        config.key = key;
    }
    match Analytics::new(config) {
        Ok(a) => Some(a),
        Err(e) => {
            let _ = host::log(
                LogLevel::Error,
                &Filter::Policy.message(format_args!("analytics: {e}; analytics off")),
            );
            None
        }
    }
}

impl Shared {
    /// Logs the observation lines of the window ending now.
    fn flush_observations(&self) {
        let Some(observer) = &self.observer else { return };
        let Ok(mut table) = observer.try_borrow_mut() else {
            return;
        };
        let Ok(now) = host::now_nanos() else { return };
        let lines = table.flush(now);
        drop(table);
        for (level, line) in plan::observation_lines(lines, self.engine.evidence_level()) {
            let _ = host::log(level, &line);
        }
    }
}

#[derive(Default)]
struct Root {
    shared: Option<Rc<Shared>>,
}

impl Context for Root {
    fn on_done(&mut self) -> bool {
        // The VM is going away: its last, partial window is logged rather than lost.
        if let Some(shared) = &self.shared {
            shared.flush_observations();
        }
        true
    }
}

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
        let names = metric_names(engine.policy_names()).into_iter();
        for name in names.chain(watch::metric_names(engine.analytics())) {
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
        // A new configuration replaces the table: what the old one holds is logged now.
        if let Some(old) = self.shared.take() {
            old.flush_observations();
        }
        let observe = engine.observe();
        let analytics = start_analytics(&engine);
        // One tick serves both: the observation flush and the analytics sweep.
        if observe.enabled || analytics.is_some() {
            let period = Duration::from_secs(u64::from(observe.interval_seconds));
            if let Err(st) = host::set_tick_period(period) {
                let _ = host::log(
                    LogLevel::Warn,
                    &Filter::Policy.message(format_args!(
                        "cannot set the tick (status {}); no observation lines, no analytics sweep",
                        st.code()
                    )),
                );
            }
        }
        let observer = match observe.enabled {
            true => {
                let now = host::now_nanos().unwrap_or(0);
                Some(RefCell::new(Aggregator::new(&observe, engine.mode(), now)))
            }
            false => None,
        };
        let overflow_metric = metrics.get(&plan::metric(plan::OBSERVATION_OVERFLOW)).copied();
        self.shared = Some(Rc::new(Shared {
            engine,
            metrics,
            observer,
            overflow_metric,
            analytics,
        }));
        true
    }

    fn on_tick(&mut self) {
        if let Some(shared) = &self.shared {
            shared.flush_observations();
            if let (Some(a), Some(now)) = (&shared.analytics, now_ms()) {
                a.decay(now, &mut SharedStore, shared.engine.analytics().sweep_slots);
            }
        }
    }

    fn create_http_context(&self, _id: u32) -> Option<Box<dyn HttpContext>> {
        let shared = self.shared.clone()?;
        Some(Box::new(Stream {
            shared,
            pending: None,
            seen: None,
        }))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

struct Stream {
    shared: Rc<Shared>,
    /// What the end of the stream records, once the request was decided (observation on).
    pending: Option<Pending>,
    /// The request's entities for analytics (analytics on).
    seen: Option<Seen>,
}

/// The request side of an observation, kept from request headers to the end of the stream.
struct Pending {
    key: RequestKey,
    decision: Decision,
    /// Host time (ns) at request headers, for a latency when Envoy gives no `request.duration`.
    started: Option<u64>,
}

impl Context for Stream {}

impl Stream {
    /// Bumps counters by name; a lost count must not fail the request.
    fn count(&self, counters: &[String]) {
        for c in counters {
            if let Some(id) = self.shared.metrics.get(c) {
                let _ = host::increment(*id);
            }
        }
    }

    /// Hands the finished request to analytics; logs and counts the alerts it raised.
    fn analyse(&mut self, status: Option<u16>, response_bytes: u64) {
        let (Some(seen), Some(a)) = (self.seen.take(), &self.shared.analytics) else {
            return;
        };
        let settings = self.shared.engine.analytics();
        let (Some(obs), Some(now)) = (
            seen.observation(status, response_bytes, settings.workload.as_deref()),
            now_ms(),
        ) else {
            return;
        };
        let alerts = a.observe(&obs, now, &mut SharedStore);
        if alerts.is_empty() {
            return;
        }
        let (lines, counters) = watch::alert_output(&alerts, self.shared.engine.evidence_level());
        for (level, line) in lines {
            let _ = host::log(level, &line);
        }
        self.count(&counters);
    }
}

/// An integer attribute (`response.code`, `request.size`...).
fn int_attribute(path: &[&str]) -> Option<i64> {
    plan::int_attribute(attribute(path).as_deref())
}

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
fn request_headers() -> Result<Vec<(String, String)>, Status> {
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
        if self.shared.observer.is_some() {
            self.pending = Some(Pending {
                key: RequestKey::from_ruling(&ruling, sni.as_deref()),
                decision: ruling.decision,
                started: host::now_nanos().ok(),
            });
        }
        let p = plan::plan(&ruling, self.shared.engine.evidence_level());
        let _ = host::log(p.level, &p.line);
        self.count(&p.counters);
        let mut reply = p.reply;
        if let Some(a) = &self.shared.analytics {
            let sub = jwt_payload.as_ref().and_then(|j| j.get("sub")).and_then(|s| s.as_str());
            let seen = Seen::read(&ruling, self.shared.engine.analytics(), &headers, sub);
            if reply.is_none() {
                let blocked = now_ms().and_then(|now| a.verdict(&seen.entities(), now, &mut SharedStore));
                if let Some(e) = blocked {
                    let _ = host::log(
                        self.shared.engine.evidence_level().log_level(),
                        &watch::enforcement_line(&e),
                    );
                    self.count(&[plan::metric(watch::ANALYTICS_BLOCKED)]);
                    reply = Some(watch::enforcement_reply(&e));
                }
            }
            self.seen = Some(seen);
        }
        match reply {
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

    fn on_log(&mut self) {
        if self.pending.is_none() && self.seen.is_none() {
            return;
        }
        let status = plan::response_status(int_attribute(&["response", "code"]));
        let response_bytes = plan::byte_count(int_attribute(&["response", "size"]));
        self.analyse(status, response_bytes);
        let Some(pending) = self.pending.take() else { return };
        let Some(observer) = &self.shared.observer else { return };
        let now = host::now_nanos().ok();
        let content_type = attribute_text(&["response", "headers", "content-type"]);
        let exchange = Exchange {
            status,
            content_type: content_type.as_deref(),
            request_bytes: plan::byte_count(int_attribute(&["request", "size"])),
            response_bytes,
            latency_ms: plan::latency_ms(int_attribute(&["request", "duration"]), pending.started, now),
            decision: pending.decision,
        };
        let Ok(mut table) = observer.try_borrow_mut() else {
            return;
        };
        let recorded = table.record(pending.key, &exchange, now.unwrap_or(0));
        drop(table);
        if let (Recorded::Overflow, Some(id)) = (recorded, self.shared.overflow_metric) {
            let _ = host::increment(id);
        }
    }
}
