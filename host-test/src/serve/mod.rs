//! `meshward-host serve`: host-test as a small HTTP/1.1 proxy in front of an upstream, so any
//! HTTP client (curl, another project's test suite) drives a proxy-wasm filter without Envoy.
//!
//! ```no_run
//! use meshward_host_test::serve::{Server, ServerConfig};
//! use meshward_host_test::Host;
//! let host = Host::new()?;
//! let module = host.load("target/filters/wasm32-wasip1/meshward_fixture_hello.wasm")?;
//! let upstream = "127.0.0.1:8080".parse().unwrap();
//! let server = Server::start(ServerConfig::new(upstream), host.plugin(&module).config("hi"))?;
//! println!("curl http://{}/", server.addr());
//! server.wait(); // until `max_requests` or `stop`; dropping the server stops it too
//! # Ok::<(), meshward_host_test::Error>(())
//! ```
//!
//! Each request is read with `meshward_testkit::http1` (bounded), put in the form Envoy's codec
//! hands a filter (`http1::request_message`), and run through the filter with the stream API
//! `Plugin::run` and `replay` use (`open_stream_for`, `send_request`, `send_response`,
//! `finish`): header form, pseudo-headers, `x-request-id`, local replies and their pass through
//! the response callbacks, body buffering and its limit are the same code. What the filter lets
//! through goes to the upstream over HTTP/1.1 (host from `:authority`, framing as Envoy's codec
//! writes it); the upstream's answer runs back through the filter and the result goes to the
//! client. A reset (`proxy_close_stream`, a local reply after the response headers went out, a
//! response over the buffer limit) closes the connection, after the response head if it went
//! out.
//!
//! One VM per server (Envoy runs one per worker thread): connections have their own threads,
//! and their streams run through the VM one at a time, each holding it until it finishes
//! (upstream round trip included). The VM clock follows the wall clock: `proxy_on_tick` fires
//! when due, and a stream the filter paused waits for it (at most `stream_timeout`, or until the
//! client goes away). Properties: `source.address`/`source.port` are the client's,
//! `destination.address`/`destination.port` the listener's, `upstream.address` the upstream's.
//!
//! Envoy's own answers, which no filter callback sees (status and `text/plain` body as Envoy
//! 1.40 sends them, then the connection closes; as in Envoy, the filter's stream context is
//! still created and gets `on_log`, `on_done` and `on_delete`): a malformed request line, header line, `Content-Length` or
//! chunked body → 400 `Bad Request`; no `Host` → 400 with an empty body; a head over
//! `max_head_bytes` or more than `max_headers` headers → 431 `Request Header Fields Too Large`;
//! a version other than HTTP/1.1 → 426 `Upgrade Required`; a transfer coding other than
//! chunked → 501 `Not Implemented`. serve's own bound: a body over `max_body_bytes` → 413
//! `Payload Too Large` (Envoy would stream it; serve holds each body whole). `Expect:
//! 100-continue` is answered by the server and removed, as Envoy does. An upstream that refuses
//! the connection, closes before a response, sends no HTTP/1.1 response or exceeds
//! `upstream_timeout` gets Envoy's router replies (503, 503, 502, 504, see `envoy_reply`), which
//! go through the filter's response callbacks as in Envoy. After a trap the VM is failed and
//! every later request gets 503 with an empty body (fail closed).
//!
//! Differences from Envoy: the whole request is read before the filter sees it (a request
//! whose body never completes, or whose chunked body is malformed, never reaches the filter;
//! Envoy runs its header callbacks first), bodies arrive in one body callback, one upstream
//! connection per request, and no `date`, `server` or `x-envoy-upstream-service-time` headers.

mod args;
mod connection;
mod encode;
mod forward;
mod refusal;
mod vm;

pub use args::{parse_args, run, ServeArgs, USAGE};

use crate::error::Error;
use crate::plugin::{Plugin, PluginBuilder};
use crate::property::Value;
use crate::state::LogEntry;
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;
use vm::Vm;

/// Receives each log line the filter writes (then the server keeps none of them).
pub type LogSink = Arc<dyn Fn(&LogEntry) + Send + Sync>;

/// Where a `Server` listens and forwards, and its bounds.
#[derive(Clone)]
pub struct ServerConfig {
    /// Address to listen on; port 0 takes any free port (`Server::addr` says which).
    pub listen: SocketAddr,
    /// The upstream every request goes to.
    pub upstream: SocketAddr,
    /// root_id of the root context the streams run on ("" is the usual single root).
    pub root_id: String,
    /// Largest request head, request line included: beyond it 431 (Envoy's default, 60 KiB).
    pub max_head_bytes: usize,
    /// Most request headers: beyond it 431 (Envoy's default, 100).
    pub max_headers: usize,
    /// Largest request body, and upstream response body, the server holds: a larger request
    /// gets 413, a larger response resets the stream after its head.
    pub max_body_bytes: u64,
    /// Most client connections served at once; one more is closed as soon as it is accepted.
    pub max_connections: usize,
    /// How long a client may take to send a request, or keep an idle connection open.
    pub read_timeout: Duration,
    /// How long writing to a client may take.
    pub write_timeout: Duration,
    /// How long the upstream may take to accept and to answer: then 504 (Envoy's default
    /// route timeout, 15 s).
    pub upstream_timeout: Duration,
    /// How long a stream the filter paused waits to be resumed before it is reset.
    pub stream_timeout: Duration,
    /// Stop after this many requests (answered or refused); `None` serves until stopped.
    pub max_requests: Option<u64>,
    /// Where the filter's log lines go; `None` keeps them in the plugin (`Server::plugin`).
    pub log_sink: Option<LogSink>,
}

impl ServerConfig {
    /// Listens on 127.0.0.1 (any free port) in front of `upstream`, with Envoy's default limits.
    pub fn new(upstream: SocketAddr) -> Self {
        ServerConfig {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            upstream,
            root_id: String::new(),
            max_head_bytes: 60 * 1024,
            max_headers: 100,
            max_body_bytes: 16 * 1024 * 1024,
            max_connections: 64,
            read_timeout: Duration::from_secs(30),
            write_timeout: Duration::from_secs(30),
            upstream_timeout: Duration::from_secs(15),
            stream_timeout: Duration::from_secs(15),
            max_requests: None,
            log_sink: None,
        }
    }
}

/// A running proxy; stops (closing every connection and joining every thread) when dropped.
pub struct Server {
    shared: Arc<Shared>,
    threads: Vec<JoinHandle<()>>,
}

/// What the server's threads share.
pub(crate) struct Shared {
    config: ServerConfig,
    addr: SocketAddr,
    vm: Mutex<Vm>,
    stopping: AtomicBool,
    stopped: Mutex<bool>,
    stopped_changed: Condvar,
    admitted: AtomicU64,
    served: AtomicU64,
    connections: Mutex<Vec<Connection>>,
}

/// The sockets of one client connection, kept so that stopping can close them.
pub(crate) struct Sockets {
    client: TcpStream,
    upstream: Mutex<Option<TcpStream>>,
}

struct Connection {
    sockets: Arc<Sockets>,
    thread: JoinHandle<()>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // No thread panics while holding these locks; if one did, what it guarded is still usable.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> Error {
    let what = what.into();
    move |source| Error::Io { what, source }
}

impl Server {
    /// Binds `config.listen`, builds the plugin (its configuration rejected → the error, as
    /// Envoy refuses to start), and serves until stopped.
    pub fn start(config: ServerConfig, plugin: PluginBuilder) -> Result<Server, Error> {
        let listener = TcpListener::bind(config.listen).map_err(io(format!("binding {}", config.listen)))?;
        let addr = listener.local_addr().map_err(io("reading the bound address"))?;
        let plugin = plugin
            .property("destination.address", addr.to_string())
            .property("destination.port", Value::Int(i64::from(addr.port())))
            .property("upstream.address", config.upstream.to_string())
            .build()?;
        if plugin.root_context(&config.root_id).is_none() {
            return Err(Error::Misuse(format!(
                "the plugin has no root context {:?}",
                config.root_id
            )));
        }
        let vm = Vm::new(plugin, config.root_id.clone(), config.log_sink.clone());
        let shared = Arc::new(Shared {
            config,
            addr,
            vm: Mutex::new(vm),
            stopping: AtomicBool::new(false),
            stopped: Mutex::new(false),
            stopped_changed: Condvar::new(),
            admitted: AtomicU64::new(0),
            served: AtomicU64::new(0),
            connections: Mutex::new(Vec::new()),
        });
        let mut server = Server {
            shared: Arc::clone(&shared),
            threads: Vec::new(),
        };
        let accept_shared = Arc::clone(&shared);
        let accept = std::thread::Builder::new()
            .name("serve-accept".into())
            .spawn(move || accept_loop(listener, accept_shared))
            .map_err(io("starting the accept thread"))?;
        server.threads.push(accept);
        let tick_shared = Arc::clone(&shared);
        let ticker = std::thread::Builder::new()
            .name("serve-ticks".into())
            .spawn(move || tick_loop(&tick_shared))
            .map_err(io("starting the tick thread"))?;
        server.threads.push(ticker);
        Ok(server)
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.shared.addr
    }

    /// Requests answered or refused so far.
    pub fn served(&self) -> u64 {
        self.shared.served.load(Ordering::SeqCst)
    }

    /// Runs `f` with the plugin (logs, metrics, shared data), between streams.
    pub fn plugin<R>(&self, f: impl FnOnce(&mut Plugin) -> R) -> R {
        f(lock(&self.shared.vm).plugin())
    }

    /// Blocks until the server stops (`max_requests` reached, or `stop`).
    pub fn wait(&self) {
        let mut stopped = lock(&self.shared.stopped);
        while !*stopped {
            stopped = self
                .shared
                .stopped_changed
                .wait(stopped)
                .unwrap_or_else(|p| p.into_inner());
        }
    }

    /// Like `wait`, for at most `timeout`; true if the server stopped.
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
        let stopped = lock(&self.shared.stopped);
        let (stopped, _) = self
            .shared
            .stopped_changed
            .wait_timeout_while(stopped, timeout, |s| !*s)
            .unwrap_or_else(|p| p.into_inner());
        *stopped
    }

    /// Stops serving: closes the listener and every connection, and joins every thread.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.shared.signal_stop();
        // The accept thread first, so that no connection registers after the sweep below.
        let mut threads = std::mem::take(&mut self.threads);
        if !threads.is_empty() {
            let accept = threads.remove(0);
            let _ = accept.join();
        }
        let connections = std::mem::take(&mut *lock(&self.shared.connections));
        for c in &connections {
            c.sockets.close();
        }
        for c in connections {
            let _ = c.thread.join();
        }
        for t in threads {
            let _ = t.join();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shutdown();
    }
}

impl Shared {
    fn stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    /// Marks the server stopped, wakes `wait`ers, the tick thread and the accept thread.
    fn signal_stop(&self) {
        if self.stopping.swap(true, Ordering::SeqCst) {
            return;
        }
        *lock(&self.stopped) = true;
        self.stopped_changed.notify_all();
        // accept() blocks: a connection of our own wakes it to see the flag.
        let mut wake = self.addr;
        if wake.ip().is_unspecified() {
            wake.set_ip(Ipv4Addr::LOCALHOST.into());
        }
        let _ = TcpStream::connect_timeout(&wake, Duration::from_secs(1));
    }

    /// Takes a request into service; false once `max_requests` were taken.
    fn admit(&self) -> bool {
        match self.config.max_requests {
            Some(max) => self.admitted.fetch_add(1, Ordering::SeqCst) < max,
            None => true,
        }
    }

    /// Counts an answered request, and stops the server after the last one it may serve.
    fn served_one(&self) {
        let served = self.served.fetch_add(1, Ordering::SeqCst) + 1;
        if self.config.max_requests.is_some_and(|max| served >= max) {
            self.signal_stop();
        }
    }

    fn lock_vm(&self) -> MutexGuard<'_, Vm> {
        lock(&self.vm)
    }

    /// Joins the threads of connections that ended, and counts the others.
    fn reap(&self) -> usize {
        let mut connections = lock(&self.connections);
        let (ended, running): (Vec<_>, Vec<_>) = std::mem::take(&mut *connections)
            .into_iter()
            .partition(|c| c.thread.is_finished());
        *connections = running;
        let count = connections.len();
        drop(connections);
        for c in ended {
            let _ = c.thread.join();
        }
        count
    }
}

impl Sockets {
    /// Shuts both sockets down, which ends any read or write blocked on them.
    fn close(&self) {
        let _ = self.client.shutdown(Shutdown::Both);
        if let Some(upstream) = lock(&self.upstream).as_ref() {
            let _ = upstream.shutdown(Shutdown::Both);
        }
    }
}

fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    for incoming in listener.incoming() {
        if shared.stopping() {
            return;
        }
        let (stream, peer) = match incoming.and_then(|s| s.peer_addr().map(|p| (s, p))) {
            Ok(accepted) => accepted,
            Err(_) => {
                // Out of file descriptors or a connection reset while queued: try again soon.
                std::thread::sleep(Duration::from_millis(10));
                continue;
            }
        };
        if shared.reap() >= shared.config.max_connections {
            // Over the limit: closed at once, as Envoy's listener connection limit does.
            continue;
        }
        let Ok(client) = stream.try_clone() else { continue };
        let sockets = Arc::new(Sockets {
            client,
            upstream: Mutex::new(None),
        });
        let conn_shared = Arc::clone(&shared);
        let conn_sockets = Arc::clone(&sockets);
        let spawned = std::thread::Builder::new()
            .name("serve-conn".into())
            .spawn(move || connection::serve(&conn_shared, &conn_sockets, stream, peer));
        if let Ok(thread) = spawned {
            lock(&shared.connections).push(Connection { sockets, thread });
        }
    }
}

/// Fires the filter's ticks when due, also while no request comes.
fn tick_loop(shared: &Shared) {
    loop {
        let wait = shared.lock_vm().catch_up();
        let stopped = lock(&shared.stopped);
        let (stopped, _) = shared
            .stopped_changed
            .wait_timeout_while(stopped, wait, |s| !*s)
            .unwrap_or_else(|p| p.into_inner());
        if *stopped {
            return;
        }
    }
}
