//! The Envoy bootstrap the harness writes: admin, one HTTP listener with wasm filters, clusters.

use serde_json::{json, Value};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// One `envoy.filters.http.wasm` filter in the listener's chain.
#[derive(Clone, Debug)]
pub struct WasmFilter {
    /// Plugin name (Envoy's `config.name`).
    pub name: String,
    /// Root id: selects the filter's root context inside the module.
    pub root_id: String,
    /// VM id; filters with the same VM id and code share a VM.
    pub vm_id: String,
    /// The `.wasm` file Envoy loads.
    pub wasm: PathBuf,
    /// Plugin configuration (a string value).
    pub configuration: String,
    /// VM configuration (a string value; empty = none).
    pub vm_configuration: String,
    /// `failure_policy`: `FAIL_CLOSED`, `FAIL_OPEN` or `FAIL_RELOAD`; `None` = Envoy's default.
    pub failure_policy: Option<String>,
    /// Environment variables given to the VM (`vm_config.environment_variables.key_values`).
    pub environment: Vec<(String, String)>,
}

impl WasmFilter {
    /// A filter running `wasm` with plugin configuration `configuration`.
    pub fn new(wasm: impl Into<PathBuf>, configuration: impl Into<String>) -> Self {
        WasmFilter {
            name: "meshward".into(),
            root_id: "meshward_root".into(),
            vm_id: "meshward_vm".into(),
            wasm: wasm.into(),
            configuration: configuration.into(),
            vm_configuration: String::new(),
            failure_policy: None,
            environment: Vec::new(),
        }
    }

    /// Sets the plugin name.
    pub fn name(mut self, name: &str) -> Self {
        self.name = name.into();
        self
    }

    /// Sets the root id.
    pub fn root_id(mut self, root_id: &str) -> Self {
        self.root_id = root_id.into();
        self
    }

    /// Sets the VM id.
    pub fn vm_id(mut self, vm_id: &str) -> Self {
        self.vm_id = vm_id.into();
        self
    }

    /// Sets the VM configuration.
    pub fn vm_configuration(mut self, config: impl Into<String>) -> Self {
        self.vm_configuration = config.into();
        self
    }

    /// Sets the failure policy (`FAIL_CLOSED`, `FAIL_OPEN`, `FAIL_RELOAD`).
    pub fn failure_policy(mut self, policy: &str) -> Self {
        self.failure_policy = Some(policy.into());
        self
    }

    /// Adds an environment variable visible to the VM through WASI.
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.environment.push((key.into(), value.into()));
        self
    }

    fn to_json(&self) -> Value {
        let mut vm_config = json!({
            "vm_id": self.vm_id,
            "runtime": "envoy.wasm.runtime.v8",
            "code": { "local": { "filename": self.wasm.to_string_lossy() } },
        });
        if !self.vm_configuration.is_empty() {
            vm_config["configuration"] = string_value(&self.vm_configuration);
        }
        if !self.environment.is_empty() {
            let values: serde_json::Map<String, Value> = self
                .environment
                .iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect();
            vm_config["environment_variables"] = json!({ "key_values": values });
        }
        let mut config = json!({
            "name": self.name,
            "root_id": self.root_id,
            "configuration": string_value(&self.configuration),
            "vm_config": vm_config,
        });
        if let Some(policy) = &self.failure_policy {
            config["failure_policy"] = Value::String(policy.clone());
        }
        json!({
            "name": "envoy.filters.http.wasm",
            "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm",
                "config": config,
            }
        })
    }
}

fn string_value(text: &str) -> Value {
    json!({ "@type": "type.googleapis.com/google.protobuf.StringValue", "value": text })
}

/// Everything needed to start one Envoy.
#[derive(Clone, Debug)]
pub struct EnvoyConfig {
    /// Wasm filters, in chain order (the router comes last).
    pub filters: Vec<WasmFilter>,
    /// The cluster `upstream` every route goes to.
    pub upstream: SocketAddr,
    /// More clusters (e.g. `http_call` targets): name and address.
    pub clusters: Vec<(String, SocketAddr)>,
    /// Listener `per_connection_buffer_limit_bytes` (Envoy's default is 1 MiB).
    pub buffer_limit: Option<u32>,
    /// Native HTTP filters placed before the wasm filters.
    pub native_filters: Vec<Value>,
    /// Native HTTP filters placed after the wasm filters, before the router (e.g.
    /// `envoy.filters.http.buffer`, which then holds the request until the WAF let it through).
    pub native_filters_after: Vec<Value>,
    /// Extra fields of the HTTP connection manager (`request_timeout`...); an
    /// `http_protocol_options` object is merged into the harness's own.
    pub hcm_options: serde_json::Map<String, Value>,
    /// Named prefix routes to the upstream, matched before the catch-all (`xds.route_name`).
    pub routes: Vec<(String, String)>,
    /// Route timeout.
    pub route_timeout: Duration,
    /// Envoy's `-l` log level.
    pub log_level: String,
    /// How long to wait for `/ready`.
    pub ready_timeout: Duration,
}

impl EnvoyConfig {
    /// An Envoy in front of `upstream` with no filters yet.
    pub fn new(upstream: SocketAddr) -> Self {
        EnvoyConfig {
            filters: Vec::new(),
            upstream,
            clusters: Vec::new(),
            buffer_limit: None,
            native_filters: Vec::new(),
            native_filters_after: Vec::new(),
            hcm_options: serde_json::Map::new(),
            routes: Vec::new(),
            route_timeout: Duration::from_secs(15),
            log_level: "info".into(),
            // An upper bound, free when Envoy is quick: each wasm VM compiles its rules at start
            // (CRS takes seconds of V8 time on a loaded 2-core machine), so 20 s was seen to be short.
            ready_timeout: Duration::from_secs(60),
        }
    }

    /// Appends a wasm filter to the chain.
    pub fn filter(mut self, filter: WasmFilter) -> Self {
        self.filters.push(filter);
        self
    }

    /// Adds a cluster named `name` pointing at `addr`.
    pub fn cluster(mut self, name: &str, addr: SocketAddr) -> Self {
        self.clusters.push((name.into(), addr));
        self
    }

    /// Sets the listener's per-connection buffer limit.
    pub fn buffer_limit(mut self, bytes: u32) -> Self {
        self.buffer_limit = Some(bytes);
        self
    }

    /// Puts a native HTTP filter (its full JSON, `name` and `typed_config`) before the wasm filters.
    pub fn native_filter(mut self, filter: Value) -> Self {
        self.native_filters.push(filter);
        self
    }

    /// Puts a native HTTP filter after the wasm filters (just before the router).
    pub fn native_filter_after(mut self, filter: Value) -> Self {
        self.native_filters_after.push(filter);
        self
    }

    /// Sets a field of the HTTP connection manager (`http_protocol_options` objects are merged).
    pub fn hcm_option(mut self, key: &str, value: Value) -> Self {
        self.hcm_options.insert(key.into(), value);
        self
    }

    /// Adds a route named `name` for paths starting with `prefix` (before the catch-all).
    pub fn route(mut self, name: &str, prefix: &str) -> Self {
        self.routes.push((name.into(), prefix.into()));
        self
    }

    /// Sets the route timeout.
    pub fn route_timeout(mut self, timeout: Duration) -> Self {
        self.route_timeout = timeout;
        self
    }

    /// Sets Envoy's log level.
    pub fn log_level(mut self, level: &str) -> Self {
        self.log_level = level.into();
        self
    }

    /// The bootstrap document (JSON, which is also valid YAML). Ports are 0: Envoy picks free
    /// ones and the harness reads them back from the admin endpoint.
    pub fn bootstrap(&self) -> Value {
        let mut http_filters: Vec<Value> = self.native_filters.clone();
        http_filters.extend(self.filters.iter().map(WasmFilter::to_json));
        http_filters.extend(self.native_filters_after.iter().cloned());
        http_filters.push(json!({
            "name": "envoy.filters.http.router",
            "typed_config": { "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router" }
        }));
        let timeout = format!("{}s", self.route_timeout.as_secs_f64());
        let mut routes: Vec<Value> = self
            .routes
            .iter()
            .map(|(name, prefix)| json!({ "name": name, "match": { "prefix": prefix }, "route": { "cluster": "upstream", "timeout": timeout } }))
            .collect();
        routes.push(json!({ "match": { "prefix": "/" }, "route": { "cluster": "upstream", "timeout": timeout } }));
        let mut listener = json!({
            "name": "main",
            "address": socket(SocketAddr::from(([127, 0, 0, 1], 0))),
            "filter_chains": [{
                "filters": [{
                    "name": "envoy.filters.network.http_connection_manager",
                    "typed_config": {
                        "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
                        "stat_prefix": "ingress",
                        "http_protocol_options": { "enable_trailers": true },
                        "route_config": {
                            "name": "local_route",
                            "virtual_hosts": [{
                                "name": "all",
                                "domains": ["*"],
                                "routes": routes
                            }]
                        },
                        "http_filters": http_filters,
                    }
                }]
            }]
        });
        let hcm = &mut listener["filter_chains"][0]["filters"][0]["typed_config"];
        for (key, value) in &self.hcm_options {
            match (key.as_str(), value) {
                ("http_protocol_options", Value::Object(extra)) => {
                    for (k, v) in extra {
                        hcm["http_protocol_options"][k] = v.clone();
                    }
                }
                _ => hcm[key] = value.clone(),
            }
        }
        if let Some(limit) = self.buffer_limit {
            listener["per_connection_buffer_limit_bytes"] = json!(limit);
        }
        let mut clusters = vec![cluster("upstream", self.upstream)];
        clusters.extend(self.clusters.iter().map(|(name, addr)| cluster(name, *addr)));
        json!({
            "admin": { "address": socket(SocketAddr::from(([127, 0, 0, 1], 0))) },
            "static_resources": { "listeners": [listener], "clusters": clusters },
        })
    }
}

fn socket(addr: SocketAddr) -> Value {
    json!({ "socket_address": { "address": addr.ip().to_string(), "port_value": addr.port() } })
}

fn cluster(name: &str, addr: SocketAddr) -> Value {
    json!({
        "name": name,
        "connect_timeout": "1s",
        "type": "STATIC",
        "typed_extension_protocol_options": {
            "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
                "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
                "explicit_http_config": { "http_protocol_options": { "enable_trailers": true } }
            }
        },
        "load_assignment": {
            "cluster_name": name,
            "endpoints": [{ "lb_endpoints": [{ "endpoint": { "address": socket(addr) } }] }]
        }
    })
}

/// Envoy's buffer filter (`envoy.filters.http.buffer`): holds the whole request, headers
/// included, until it is complete or larger than `max_request_bytes` (then 413). Placed
/// after the WAF (just before the router), it keeps even the headers of a request the WAF
/// blocks in the body phase from reaching the upstream; placed before the WAF it does not
/// (the WAF lets the headers through as soon as it gets them).
pub fn buffer_filter(max_request_bytes: u32) -> Value {
    json!({
        "name": "envoy.filters.http.buffer",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.buffer.v3.Buffer",
            "max_request_bytes": max_request_bytes,
        }
    })
}
