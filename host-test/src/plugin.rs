//! `Host` (shared engine), `Module` (compiled filter) and `Plugin` (one VM with its root
//! contexts, started and configured the way Envoy does it).

use crate::dir::PerDir;
use crate::error::Error;
use crate::metrics::Metric;
use crate::property::{PropertyMap, Value};
use crate::shared::SharedStore;
use crate::state::{CallResponse, HostState, LogEntry, RootData};
use crate::stats::CallbackStats;
use crate::upstream::{CallReply, HttpCall, Responder, Upstreams};
use crate::Headers;
use meshward_abi::{LogLevel, Status};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use wasmtime::{Engine, Instance, Linker, Store, TypedFunc, WasmParams, WasmResults};

static PLUGIN_UIDS: AtomicU64 = AtomicU64::new(1);

/// A wasmtime engine plus host-wide shared data; cheap to clone and share between threads.
#[derive(Clone)]
pub struct Host {
    engine: Engine,
    linker: Arc<Linker<HostState>>,
    known: Arc<std::collections::HashSet<(String, String)>>,
    shared: SharedStore,
}

/// A compiled filter module, ready to start many plugins.
#[derive(Clone)]
pub struct Module {
    module: wasmtime::Module,
}

impl Host {
    /// A host with a default engine and its own shared-data store.
    pub fn new() -> Result<Host, Error> {
        let engine = Engine::default();
        let mut linker = Linker::new(&engine);
        crate::imports::add_to_linker(&mut linker).map_err(|e| Error::Load(e.to_string()))?;
        crate::wasi::add(&mut linker).map_err(|e| Error::Load(e.to_string()))?;
        let mut store = Store::new(&engine, HostState::new(SharedStore::default()));
        let known = linker
            .iter(&mut store)
            .map(|(m, n, _)| (m.to_string(), n.to_string()))
            .collect();
        Ok(Host {
            engine,
            linker: Arc::new(linker),
            known: Arc::new(known),
            shared: SharedStore::default(),
        })
    }

    /// Compiles a `.wasm` file.
    pub fn load(&self, path: impl AsRef<Path>) -> Result<Module, Error> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|source| Error::Read {
            path: path.to_path_buf(),
            source,
        })?;
        self.compile(&bytes)
    }

    /// Reads and compiles the built filter `name` (crate or artifact name, e.g. `meshward_waf`)
    /// from where `cargo xtask wasm` puts it (`meshward_testkit::locate::wasm_file`).
    pub fn load_filter(&self, name: &str) -> Result<Module, Error> {
        self.load(meshward_testkit::locate::wasm_file(name)?)
    }

    /// Compiles a module from bytes, rejecting imports Envoy would not provide.
    pub fn compile(&self, bytes: &[u8]) -> Result<Module, Error> {
        let module = wasmtime::Module::new(&self.engine, bytes).map_err(|e| Error::Load(format!("{e:?}")))?;
        for import in module.imports() {
            let known = self
                .known
                .contains(&(import.module().to_string(), import.name().to_string()));
            if !known && !matches!(import.ty(), wasmtime::ExternType::Memory(_)) {
                return Err(Error::UnknownImport {
                    module: import.module().to_string(),
                    name: import.name().to_string(),
                });
            }
        }
        Ok(Module { module })
    }

    /// Starts configuring a plugin (VM + root contexts) of `module`.
    pub fn plugin(&self, module: &Module) -> PluginBuilder {
        PluginBuilder {
            host: self.clone(),
            module: module.clone(),
            roots: Vec::new(),
            vm_config: Vec::new(),
            vm_id: String::new(),
            name: String::new(),
            properties: default_properties(),
            upstreams: Upstreams::default(),
            time: None,
            log_level: LogLevel::Info.code(),
            env: Vec::new(),
        }
    }

    /// Shared data and queues of every plugin of this host.
    pub fn shared(&self) -> &SharedStore {
        &self.shared
    }
}

fn default_properties() -> PropertyMap {
    let mut p = PropertyMap::new();
    p.insert("source.address".into(), Value::from("127.0.0.1:40000"));
    p.insert("source.port".into(), Value::Int(40000));
    p.insert("destination.address".into(), Value::from("127.0.0.1:10000"));
    p.insert("destination.port".into(), Value::Int(10000));
    p.insert("connection.mtls".into(), Value::Bool(false));
    p.insert("request.protocol".into(), Value::from("HTTP/1.1"));
    // Values of the e2e harness's Envoy (cluster "upstream"); tests may override them.
    p.insert("xds.cluster_name".into(), Value::from("upstream"));
    p.insert("upstream.address".into(), Value::from("127.0.0.1:10001"));
    p
}

/// The reply Envoy's async client makes up when a call gets no response (row E21).
fn synthetic_reply(which: (u16, &str)) -> CallResponse {
    let (headers, body) = crate::envoy_reply::reply(which);
    CallResponse {
        headers,
        body,
        trailers: None,
    }
}

/// Options of one plugin; `build` starts the VM and configures every root context.
pub struct PluginBuilder {
    host: Host,
    module: Module,
    roots: Vec<(String, Vec<u8>)>,
    vm_config: Vec<u8>,
    vm_id: String,
    name: String,
    properties: PropertyMap,
    upstreams: Upstreams,
    time: Option<SystemTime>,
    log_level: u32,
    env: Vec<(String, String)>,
}

impl PluginBuilder {
    /// Plugin configuration of the root context with root_id "" (the usual single root).
    pub fn config(self, config: impl Into<Vec<u8>>) -> Self {
        self.root("", config)
    }

    /// Adds a root context with its own root_id and plugin configuration.
    pub fn root(mut self, root_id: &str, config: impl Into<Vec<u8>>) -> Self {
        let config = config.into();
        match self.roots.iter_mut().find(|(r, _)| r == root_id) {
            Some(entry) => entry.1 = config,
            None => self.roots.push((root_id.to_string(), config)),
        }
        self
    }

    /// VM configuration (given to `proxy_on_vm_start`).
    pub fn vm_config(mut self, config: impl Into<Vec<u8>>) -> Self {
        self.vm_config = config.into();
        self
    }

    /// VM id: plugins with the same id share data and queues.
    pub fn vm_id(mut self, id: &str) -> Self {
        self.vm_id = id.to_string();
        self
    }

    /// Plugin name (`plugin_name` property).
    pub fn name(mut self, name: &str) -> Self {
        self.name = name.to_string();
        self
    }

    /// Sets a property every context sees (`source.address`, `xds.route_name`...).
    pub fn property(mut self, path: &str, value: impl Into<Value>) -> Self {
        self.properties.insert(path.to_string(), value.into());
        self
    }

    /// Adds a cluster whose `proxy_http_call`s are answered by `responder`.
    pub fn upstream(
        mut self,
        cluster: &str,
        responder: impl Fn(&HttpCall) -> CallReply + Send + Sync + 'static,
    ) -> Self {
        let r: Responder = Arc::new(responder);
        self.upstreams.clusters.insert(cluster.to_string(), r);
        self
    }

    /// Declares a gRPC service cluster: `proxy_grpc_call`/`proxy_grpc_stream` to it get a
    /// token, then `proxy_on_grpc_close` with 14 UNAVAILABLE (host-test runs no gRPC upstreams).
    pub fn grpc_upstream(mut self, cluster: &str) -> Self {
        self.upstreams.grpc.insert(cluster.to_string());
        self
    }

    /// Wall-clock time the VM sees; it only moves when the test advances it.
    pub fn time(mut self, time: SystemTime) -> Self {
        self.time = Some(time);
        self
    }

    /// Host log level (`proxy_get_log_level`; lower-level logs are dropped, as Envoy does).
    pub fn log_level(mut self, level: u32) -> Self {
        self.log_level = level;
        self
    }

    /// Adds an environment variable visible through WASI `environ_get`.
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_string(), value.to_string()));
        self
    }

    /// Instantiates the module and runs VM start and configure for every root context.
    pub fn build(self) -> Result<Plugin, Error> {
        let mut state = HostState::new(self.host.shared.clone());
        state.plugin_uid = PLUGIN_UIDS.fetch_add(1, Ordering::Relaxed);
        state.vm_id = self.vm_id;
        state.plugin_name = self.name;
        state.vm_config = self.vm_config;
        state.properties = self.properties;
        state.upstreams = self.upstreams;
        state.log_level = self.log_level;
        state.env = self.env;
        state.rng ^= state.plugin_uid;
        let time = self.time.unwrap_or_else(SystemTime::now);
        state.now_ns = time
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        let mut store = Store::new(&self.host.engine, state);
        let instance = self
            .host
            .linker
            .instantiate(&mut store, &self.module.module)
            .map_err(|e| Error::Load(format!("{e:?}")))?;
        let memory = instance
            .get_memory(&mut store, "memory")
            .ok_or(Error::MissingExport("memory"))?;
        let malloc = instance
            .get_typed_func::<i32, i32>(&mut store, "malloc")
            .or_else(|_| instance.get_typed_func::<i32, i32>(&mut store, "proxy_on_memory_allocate"))
            .map_err(|_| Error::MissingExport("malloc or proxy_on_memory_allocate"))?;
        store.data_mut().memory = Some(memory);
        store.data_mut().malloc = Some(malloc);
        let exports = Exports::find(&instance, &mut store);
        let mut plugin = Plugin {
            store,
            instance,
            exports,
            failed: false,
            next_context: 1,
            roots: Vec::new(),
            flows: Default::default(),
        };
        plugin.start()?;
        let mut roots = self.roots;
        if roots.is_empty() {
            roots.push((String::new(), Vec::new()));
        }
        for (root_id, config) in roots {
            plugin.add_root(&root_id, config)?;
        }
        Ok(plugin)
    }
}

type F<P, R> = Option<TypedFunc<P, R>>;

/// The callbacks a module exports (absent ones are skipped, as Envoy does).
pub(crate) struct Exports {
    pub on_context_create: F<(i32, i32), ()>,
    pub on_vm_start: F<(i32, i32), i32>,
    pub on_configure: F<(i32, i32), i32>,
    pub on_tick: F<i32, ()>,
    pub on_headers: PerDir<F<(i32, i32, i32), i32>>,
    pub on_body: PerDir<F<(i32, i32, i32), i32>>,
    pub on_trailers: PerDir<F<(i32, i32), i32>>,
    pub on_log: F<i32, ()>,
    pub on_done: F<i32, i32>,
    pub on_delete: F<i32, ()>,
    pub on_http_call_response: F<(i32, i32, i32, i32, i32), ()>,
    pub on_grpc_close: F<(i32, i32, i32), ()>,
    pub on_queue_ready: F<(i32, i32), ()>,
}

impl Exports {
    fn find(i: &Instance, s: &mut Store<HostState>) -> Exports {
        macro_rules! f {
            ($name:literal) => {
                i.get_typed_func(&mut *s, $name).ok()
            };
        }
        Exports {
            on_context_create: f!("proxy_on_context_create"),
            on_vm_start: f!("proxy_on_vm_start"),
            on_configure: f!("proxy_on_configure"),
            on_tick: f!("proxy_on_tick"),
            on_headers: PerDir::new(f!("proxy_on_request_headers"), f!("proxy_on_response_headers")),
            on_body: PerDir::new(f!("proxy_on_request_body"), f!("proxy_on_response_body")),
            on_trailers: PerDir::new(f!("proxy_on_request_trailers"), f!("proxy_on_response_trailers")),
            on_log: f!("proxy_on_log"),
            on_done: f!("proxy_on_done"),
            on_delete: f!("proxy_on_delete"),
            on_http_call_response: f!("proxy_on_http_call_response"),
            on_grpc_close: f!("proxy_on_grpc_close"),
            on_queue_ready: f!("proxy_on_queue_ready"),
        }
    }
}

/// One running VM: its root contexts, streams, logs, metrics and callouts.
pub struct Plugin {
    pub(crate) store: Store<HostState>,
    instance: Instance,
    pub(crate) exports: Exports,
    pub(crate) failed: bool,
    pub(crate) next_context: u32,
    roots: Vec<(String, u32)>,
    pub(crate) flows: std::collections::HashMap<u32, crate::stream::Flow>,
}

impl Plugin {
    /// Runs `_initialize` (reactor) or `_start` (command), as Envoy does before VM start.
    fn start(&mut self) -> Result<(), Error> {
        let init = self
            .instance
            .get_typed_func::<(), ()>(&mut self.store, "_initialize")
            .ok();
        if let Some(f) = init {
            self.call("_initialize", 0, &f, ())?;
            if let Ok(main) = self.instance.get_typed_func::<(i32, i32), i32>(&mut self.store, "main") {
                self.call("main", 0, &main, (0, 0))?;
            }
        } else if let Ok(f) = self.instance.get_typed_func::<(), ()>(&mut self.store, "_start") {
            self.call("_start", 0, &f, ())?;
        }
        Ok(())
    }

    /// Creates a root context: on_context_create, on_vm_start (first root), on_configure.
    fn add_root(&mut self, root_id: &str, config: Vec<u8>) -> Result<u32, Error> {
        let id = self.next_context;
        self.next_context += 1;
        self.store.data_mut().roots.insert(
            id,
            RootData {
                root_id: root_id.to_string(),
                tick_ms: 0,
                next_tick_ns: 0,
            },
        );
        self.roots.push((root_id.to_string(), id));
        if let Some(f) = self.exports.on_context_create.clone() {
            self.call("proxy_on_context_create", id, &f, (id as i32, 0))?;
        }
        if let Some(f) = self.exports.on_vm_start.clone() {
            let size = self.store.data().vm_config.len() as i32;
            if self.call("proxy_on_vm_start", id, &f, (id as i32, size))? == 0 {
                self.failed = true;
                return Err(Error::VmStartRejected);
            }
        }
        if let Some(f) = self.exports.on_configure.clone() {
            let size = config.len() as i32;
            let logged_before = self.store.data().logs.len();
            self.store.data_mut().configuring = Some(config);
            let r = self.call("proxy_on_configure", id, &f, (id as i32, size));
            self.store.data_mut().configuring = None;
            if r? == 0 {
                let logs = self.store.data().logs[logged_before..]
                    .iter()
                    .map(|l| format!("{}: {}", l.level, l.message))
                    .collect();
                return Err(Error::ConfigRejected {
                    root_id: root_id.to_string(),
                    logs,
                });
            }
        }
        self.pump()?;
        Ok(id)
    }

    /// Calls one export, with the context set up and timing recorded; a trap fails the VM.
    pub(crate) fn call<P: WasmParams, R: WasmResults>(
        &mut self,
        name: &'static str,
        ctx: u32,
        f: &TypedFunc<P, R>,
        args: P,
    ) -> Result<R, Error> {
        if self.failed {
            return Err(Error::VmFailed);
        }
        let s = self.store.data_mut();
        s.current = ctx;
        s.effective = 0;
        s.stop_next_iteration = false;
        let t0 = Instant::now();
        let r = f.call(&mut self.store, args);
        self.store.data_mut().stats.record(name, t0.elapsed());
        r.map_err(|e| {
            self.failed = true;
            let message = match e.downcast_ref::<crate::wasi::ProcExit>() {
                Some(p) => p.to_string(),
                None => format!("{e:?}"),
            };
            Error::Trap {
                callback: name.to_string(),
                message,
            }
        })
    }

    /// Context id of the root context with `root_id`.
    pub fn root_context(&self, root_id: &str) -> Option<u32> {
        self.roots.iter().find(|(r, _)| r == root_id).map(|(_, id)| *id)
    }

    /// Delivers what is waiting: http call responses, gRPC closes, queue notifications.
    pub(crate) fn pump(&mut self) -> Result<(), Error> {
        for _ in 0..10_000 {
            let s = self.store.data_mut();
            if !s.pending_http.is_empty() {
                let token = s.pending_http.remove(0);
                self.deliver_http(token)?;
                continue;
            }
            if !s.pending_grpc.is_empty() {
                let g = s.pending_grpc.remove(0);
                s.status = (g.status, g.message.to_vec());
                let r = match self.exports.on_grpc_close.clone() {
                    Some(f) => self
                        .call(
                            "proxy_on_grpc_close",
                            g.root,
                            &f,
                            (g.root as i32, g.token as i32, g.status as i32),
                        )
                        .map(|_| ()),
                    None => Ok(()),
                };
                self.store.data_mut().status = (0, Vec::new());
                r?;
                continue;
            }
            if let Some(root) = s.released.pop() {
                // proxy_done released a root context whose on_done returned false.
                if let Some(f) = self.exports.on_delete.clone() {
                    self.call("proxy_on_delete", root, &f, root as i32)?;
                }
                continue;
            }
            let uid = s.plugin_uid;
            let ready = s.shared.take_ready(uid);
            if ready.is_empty() {
                return Ok(());
            }
            for (root, token) in ready {
                if let Some(f) = self.exports.on_queue_ready.clone() {
                    self.call("proxy_on_queue_ready", root, &f, (root as i32, token as i32))?;
                }
            }
        }
        Ok(())
    }

    fn deliver_http(&mut self, token: u32) -> Result<(), Error> {
        let s = self.store.data();
        let Some(call) = s.http_calls.iter().find(|c| c.token == token).cloned() else {
            return Ok(());
        };
        let root = s.root_of(call.context_id);
        let responder = s.upstreams.clusters.get(&call.cluster).cloned();
        let reply = match responder {
            Some(r) => r(&call),
            None => CallReply::Reset,
        };
        let Some(f) = self.exports.on_http_call_response.clone() else {
            return Ok(());
        };
        let response = match reply {
            CallReply::Response {
                mut headers,
                body,
                mut trailers,
            } => {
                // Envoy's codec lower-cases every name it receives.
                headers.lowercase_names();
                if let Some(t) = &mut trailers {
                    t.lowercase_names();
                }
                // Envoy's router adds this to every upstream response (row E22).
                if headers.get_bytes("x-envoy-upstream-service-time").is_none() {
                    headers.add("x-envoy-upstream-service-time", "0");
                }
                Some(CallResponse {
                    headers,
                    body,
                    trailers,
                })
            }
            CallReply::Timeout => Some(synthetic_reply(crate::envoy_reply::TIMEOUT)),
            CallReply::Refused => Some(synthetic_reply(crate::envoy_reply::CONNECT_FAILURE)),
            CallReply::Reset => None,
        };
        let args = response.as_ref().map_or((0, 0, 0), |r| {
            let trailers = r.trailers.as_ref().map_or(0, Headers::len);
            (r.headers.len(), r.body.len(), trailers)
        });
        let s = self.store.data_mut();
        if response.is_none() {
            s.status = (Status::BrokenConnection.code(), b"reset".to_vec());
        }
        s.call_response = response;
        let r = self.call(
            "proxy_on_http_call_response",
            root,
            &f,
            (root as i32, token as i32, args.0 as i32, args.1 as i32, args.2 as i32),
        );
        let s = self.store.data_mut();
        s.call_response = None;
        s.status = (0, Vec::new());
        r
    }

    /// Advances the VM clock by `by`, firing `proxy_on_tick` for every root whose period elapsed.
    pub fn advance(&mut self, by: Duration) -> Result<(), Error> {
        let target = self.store.data().now_ns + by.as_nanos() as u64;
        loop {
            let due = self
                .store
                .data()
                .roots
                .iter()
                .filter(|(_, r)| r.tick_ms > 0 && r.next_tick_ns <= target)
                .min_by_key(|(_, r)| r.next_tick_ns)
                .map(|(id, r)| (*id, r.next_tick_ns, r.tick_ms));
            let Some((id, at, ms)) = due else { break };
            let s = self.store.data_mut();
            s.now_ns = s.now_ns.max(at);
            if let Some(r) = s.roots.get_mut(&id) {
                r.next_tick_ns = at + ms as u64 * 1_000_000;
            }
            if let Some(f) = self.exports.on_tick.clone() {
                self.call("proxy_on_tick", id, &f, id as i32)?;
            }
            self.pump()?;
            self.settle_streams()?;
        }
        self.store.data_mut().now_ns = target;
        Ok(())
    }

    /// Fires `proxy_on_tick` once for the root `root_id`, without moving the clock.
    pub fn tick(&mut self, root_id: &str) -> Result<(), Error> {
        let id = self
            .root_context(root_id)
            .ok_or_else(|| Error::Misuse(format!("no root context {root_id:?}")))?;
        if let Some(f) = self.exports.on_tick.clone() {
            self.call("proxy_on_tick", id, &f, id as i32)?;
        }
        self.pump()?;
        self.settle_streams()
    }

    /// VM time (ns since the epoch) at which the next tick of any root context is due.
    pub(crate) fn next_tick_at(&self) -> Option<u64> {
        let roots = self.store.data().roots.values();
        roots.filter(|r| r.tick_ms > 0).map(|r| r.next_tick_ns).min()
    }

    /// Tick period the root `root_id` asked for (0 = none).
    pub fn tick_period(&self, root_id: &str) -> Option<Duration> {
        let id = self.root_context(root_id)?;
        self.store
            .data()
            .roots
            .get(&id)
            .map(|r| Duration::from_millis(r.tick_ms as u64))
    }

    /// Delivers queue-ready notifications other plugins caused (enqueue into our queues).
    pub fn deliver_pending(&mut self) -> Result<(), Error> {
        self.pump()?;
        self.settle_streams()
    }

    /// Every log line so far (at or above the host log level).
    pub fn logs(&self) -> &[LogEntry] {
        &self.store.data().logs
    }

    /// Removes and returns the log lines so far.
    pub fn take_logs(&mut self) -> Vec<LogEntry> {
        std::mem::take(&mut self.store.data_mut().logs)
    }

    /// A metric by the name the filter defined.
    pub fn metric(&self, name: &str) -> Option<Metric> {
        self.store.data().metrics.by_name(name).cloned()
    }

    /// Every metric by name.
    pub fn metrics(&self) -> BTreeMap<String, Metric> {
        self.store.data().metrics.all().clone()
    }

    /// Shared data value of `key` in this plugin's VM id.
    pub fn shared_data(&self, key: &str) -> Option<Vec<u8>> {
        let s = self.store.data();
        s.shared.get(&s.vm_id, key.as_bytes()).ok().map(|(v, _)| v)
    }

    /// Every `proxy_http_call` the filter made.
    pub fn http_calls(&self) -> &[HttpCall] {
        &self.store.data().http_calls
    }

    /// Removes and returns the http calls so far (keeps long benchmark runs bounded).
    pub fn take_http_calls(&mut self) -> Vec<HttpCall> {
        std::mem::take(&mut self.store.data_mut().http_calls)
    }

    /// Time spent per callback kind.
    pub fn stats(&self) -> &CallbackStats {
        &self.store.data().stats
    }

    /// Current linear memory size in bytes.
    pub fn memory_bytes(&self) -> usize {
        self.store.data().memory.map_or(0, |m| m.data_size(&self.store))
    }

    /// VM clock in nanoseconds since the Unix epoch.
    pub fn now_nanos(&self) -> u64 {
        self.store.data().now_ns
    }

    /// True once the module trapped; Envoy then fails every new stream.
    pub fn is_failed(&self) -> bool {
        self.failed
    }

    /// Sets the host log level for the rest of the run.
    pub fn set_log_level(&mut self, level: u32) {
        self.store.data_mut().log_level = level;
    }

    /// Shuts the root contexts down: `proxy_on_done` (false → waits for `proxy_done`), then
    /// `proxy_on_delete`. Returns the root ids still waiting for `proxy_done`.
    pub fn shutdown(&mut self) -> Result<Vec<String>, Error> {
        let roots = self.roots.clone();
        let mut waiting = Vec::new();
        for (root_id, id) in roots {
            if let Some(f) = self.exports.on_done.clone() {
                if self.call("proxy_on_done", id, &f, id as i32)? == 0 {
                    self.store.data_mut().done.push(id);
                }
            }
            self.pump()?;
            if self.store.data().done.contains(&id) {
                waiting.push(root_id);
            } else if let Some(f) = self.exports.on_delete.clone() {
                self.call("proxy_on_delete", id, &f, id as i32)?;
            }
        }
        Ok(waiting)
    }
}
