//! Faults in real Envoy (issue 13): what clients see, what Envoy logs and how service comes
//! back when a wasm filter traps, runs out of memory, gets a bad configuration on a listener
//! update, or cannot reach the WAF's evidence collector. The table is in docs/faults.md.
//!
//! Traps and out-of-memory come from the `meshward-fixture-faults` filter (on `x-fault: trap` /
//! `oom`), so the production filters keep no failure path; it tags what it lets through with
//! `x-fault-vm: <VM id>`, which tells a request that went through the filter (and which VM)
//! from one that skipped it. Envoy's `failure_policy` values in 1.40: `FAIL_CLOSED` (the default),
//! `FAIL_OPEN`, `FAIL_RELOAD`. Missing Envoy or wasm files fail the tests with a message.

use std::io::{BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use meshward_envoy::{locate, waf, Envoy, EnvoyConfig, Request, Response, Upstream, WasmFilter};
use meshward_testkit::http1::{self, Limits};
use serde_json::{json, Value};

/// What Envoy logs when a callback traps (the trap of `abort`, and of a failed allocation).
const TRAP_LOG: &str = "Function: proxy_on_request_headers failed: Uncaught RuntimeError: unreachable";
/// What Rust's allocation-error handler prints through the VM's stderr before it aborts.
const OOM_LOG: &str = "memory allocation of";
/// Longer than `FAIL_RELOAD`'s default first backoff (1 s): a VM that is not back by then is
/// not coming back by itself.
const PAST_BACKOFF: Duration = Duration::from_millis(1500);
/// How long a reloading VM may take to be back.
const RELOAD_WAIT: Duration = Duration::from_secs(15);
const SQLI: &str = "/search?q=1%27%20UNION%20SELECT%20password%20FROM%20users--";

fn faults_wasm() -> PathBuf {
    locate::wasm_file("meshward-fixture-faults").unwrap_or_else(|e| panic!("{e}"))
}

fn waf_wasm() -> PathBuf {
    locate::wasm_file("meshward-waf").unwrap_or_else(|e| panic!("{e}"))
}

fn faults_filter(policy: Option<&str>, configuration: &str) -> WasmFilter {
    let filter = WasmFilter::new(faults_wasm(), configuration);
    match policy {
        Some(p) => filter.failure_policy(p),
        None => filter,
    }
}

/// What a plain request got: its status, and the VM that tagged it on its way to the upstream
/// (`None`: it did not reach the upstream, or it skipped the filter).
#[derive(Debug, PartialEq)]
struct Passage {
    status: u16,
    reached_upstream: bool,
    vm: Option<String>,
}

fn pass(envoy: &Envoy, addr: SocketAddr, upstream: &Upstream) -> Passage {
    upstream.clear_requests();
    let response = meshward_envoy::client::send(addr, &Request::get("/ok").header("host", "app.test"))
        .unwrap_or_else(|e| panic!("a plain request must get an answer: {e}\n{}", envoy.log_text()));
    let seen = upstream.requests();
    Passage {
        status: response.status,
        reached_upstream: !seen.is_empty(),
        vm: seen.last().and_then(|r| r.header("x-fault-vm").map(str::to_string)),
    }
}

/// Sends the request that makes the fixture fail, then a plain one on the same keep-alive
/// connection; returns both answers. (Envoy's 503 is an ordinary answer: the connection stays.)
fn provoke(addr: SocketAddr, fault: &str) -> (Response, Response) {
    let stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    let mut exchange = |request: Request, what: &str| {
        writer.write_all(&request.to_bytes()).unwrap();
        http1::read_response(&mut reader, "GET", &Limits::default())
            .unwrap_or_else(|e| panic!("{what}: {e}"))
            .unwrap_or_else(|| panic!("{what}: the connection closed without an answer"))
    };
    let failed = exchange(Request::get("/fault").header("x-fault", fault), fault);
    let next = exchange(Request::get("/ok"), "the next request on the same connection");
    (failed, next)
}

/// The same over h2c: the fault request and a plain one as two streams of one connection;
/// returns both statuses.
fn provoke_h2c(addr: SocketAddr, fault: &str) -> (u16, u16) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let io = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (sender, connection) = h2::client::handshake(io).await.expect("h2c handshake");
        tokio::spawn(async move {
            let _ = connection.await;
        });
        let mut statuses = Vec::new();
        let mut sender = sender;
        for fault in [Some(fault), None] {
            sender = sender.ready().await.expect("the connection takes another stream");
            let mut request = http::Request::builder().uri("http://meshward.test/h2");
            if let Some(fault) = fault {
                request = request.header("x-fault", fault);
            }
            let (reply, _) = sender.send_request(request.body(()).unwrap(), true).unwrap();
            let reply = tokio::time::timeout(Duration::from_secs(10), reply)
                .await
                .expect("an answer within 10 s")
                .expect("an answer, not a reset stream");
            statuses.push(reply.status().as_u16());
        }
        (statuses[0], statuses[1])
    })
}

fn stat(envoy: &Envoy, name: &str) -> u64 {
    envoy.stat(name).unwrap_or_else(|e| panic!("{e}")).unwrap_or(0)
}

/// Envoy is up: the process runs and its admin endpoint answers `/ready`.
fn assert_envoy_alive(envoy: &mut Envoy) {
    assert!(envoy.is_running(), "Envoy exited:\n{}", envoy.log_text());
    assert_eq!(envoy.admin_get("/ready").map(|r| r.status).ok(), Some(200));
}

fn assert_logged_failure(envoy: &Envoy, fault: &str) {
    let log = envoy.log_text();
    assert!(log.contains(TRAP_LOG), "no trap line in the log:\n{log}");
    if fault == "oom" {
        assert!(log.contains(OOM_LOG), "no allocation failure in the log:\n{log}");
    }
}

// ---------------------------------------------------------------------------------------------
// Envoy fed its listener from a watched file (LDS over the filesystem), so a test can push a new
// listener while Envoy runs.

/// An Envoy whose only listener comes from `lds.json` in a watched directory.
struct FileLds {
    envoy: Envoy,
    dir: PathBuf,
    version: u32,
}

impl FileLds {
    /// Starts Envoy with the listener of `config` delivered through LDS (the clusters stay static).
    fn start(config: &EnvoyConfig, name: &str) -> FileLds {
        let dir = std::env::temp_dir().join(format!("meshward-faults-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let mut bootstrap = config.bootstrap();
        let listener = bootstrap["static_resources"]["listeners"][0].take();
        write_lds(&dir, &listener, 1);
        if let Some(resources) = bootstrap["static_resources"].as_object_mut() {
            resources.remove("listeners");
        }
        // Envoy refuses a dynamic resource without a node identity.
        bootstrap["node"] = json!({ "id": "meshward-faults", "cluster": "meshward-faults" });
        bootstrap["dynamic_resources"] = json!({ "lds_config": {
            "resource_api_version": "V3",
            "path_config_source": { "path": dir.join("lds.json"), "watched_directory": { "path": dir } }
        } });
        let envoy = Envoy::start_bootstrap(&bootstrap, "info", Duration::from_secs(120))
            .unwrap_or_else(|e| panic!("Envoy with a file LDS: {e}"));
        FileLds { envoy, dir, version: 1 }
    }

    /// Replaces the listener by that of `config` and waits until Envoy has taken or refused it.
    fn push(&mut self, config: &EnvoyConfig) {
        let attempts = stat(&self.envoy, "listener_manager.lds.update_attempt");
        let listener = config.bootstrap()["static_resources"]["listeners"][0].take();
        self.version += 1;
        write_lds(&self.dir, &listener, self.version);
        let deadline = Instant::now() + Duration::from_secs(60);
        while stat(&self.envoy, "listener_manager.lds.update_attempt") == attempts {
            assert!(
                Instant::now() < deadline,
                "Envoy never read LDS version {}",
                self.version
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits until `listener_manager.lds.update_success` reaches `n` (a listener that was taken
    /// is warmed, with its VMs, before it counts).
    fn wait_successes(&self, n: u64) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while stat(&self.envoy, "listener_manager.lds.update_success") < n {
            assert!(
                Instant::now() < deadline,
                "LDS update {n} never applied:\n{}",
                self.envoy.log_text()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for FileLds {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Writes an LDS response with `listener` at `version`, atomically (a rename into the watched
/// directory), so Envoy never reads half a file.
fn write_lds(dir: &std::path::Path, listener: &Value, version: u32) {
    let mut listener = listener.clone();
    listener["@type"] = json!("type.googleapis.com/envoy.config.listener.v3.Listener");
    let doc = json!({ "version_info": version.to_string(), "resources": [listener] });
    let tmp = dir.join("lds.json.tmp");
    std::fs::write(&tmp, doc.to_string()).unwrap();
    std::fs::rename(&tmp, dir.join("lds.json")).unwrap();
}

// ---------------------------------------------------------------------------------------------
// A filter that traps or runs out of memory, under each failure policy.

/// FAIL_CLOSED (set, or Envoy's default when unset): the failing request and every later one
/// get 503 with an empty body, none reaches the upstream, the VM is not restarted; Envoy stays
/// up. Pushing the same listener again changes nothing; a changed plugin configuration brings
/// a new VM and service back.
fn fail_closed(policy: Option<&str>, fault: &str) {
    let upstream = Upstream::start().unwrap();
    let config = |c: &str| EnvoyConfig::new(upstream.addr()).filter(faults_filter(policy, c));
    let mut lds = FileLds::start(&config("v1"), &format!("closed-{fault}"));
    let addr = lds.envoy.addr();
    let before = pass(&lds.envoy, addr, &upstream);
    assert_eq!((before.status, before.reached_upstream), (200, true));
    let first_vm = before.vm.clone();
    assert!(first_vm.is_some(), "the filter tags what it lets through");

    upstream.clear_requests();
    let (failed, next) = provoke(addr, fault);
    assert_eq!(failed.status, 503, "{fault}: the failing request");
    assert!(
        failed.body.is_empty(),
        "{fault}: Envoy's 503 has no body: {:?}",
        failed.text()
    );
    assert_eq!(next.status, 503, "{fault}: the next request on the same connection");
    assert!(upstream.requests().is_empty(), "{fault}: neither reached the upstream");
    std::thread::sleep(PAST_BACKOFF);
    for _ in 0..3 {
        let after = pass(&lds.envoy, addr, &upstream);
        assert_eq!(
            (after.status, after.reached_upstream),
            (503, false),
            "{fault}: fail closed refuses everything after the failure"
        );
    }
    assert_eq!(stat(&lds.envoy, "wasm.meshward.vm_reload_success"), 0);
    assert_logged_failure(&lds.envoy, fault);
    assert_envoy_alive(&mut lds.envoy);

    // The same listener again: Envoy sees no change and keeps the failed VM.
    lds.push(&config("v1"));
    assert_eq!(
        pass(&lds.envoy, addr, &upstream).status,
        503,
        "{fault}: an identical push does not recover"
    );
    // A changed configuration: a new listener, a new VM, service back.
    let successes = stat(&lds.envoy, "listener_manager.lds.update_success");
    lds.push(&config("v2"));
    lds.wait_successes(successes + 1);
    let recovered = pass(&lds.envoy, lds.envoy.listener("main").unwrap(), &upstream);
    assert_eq!((recovered.status, recovered.reached_upstream), (200, true));
    assert!(
        recovered.vm.is_some() && recovered.vm != first_vm,
        "{fault}: a new VM serves after the configuration change: {recovered:?} (first {first_vm:?})"
    );
}

/// FAIL_OPEN: the failing request gets 503; every later one skips the filter and reaches the
/// upstream untouched (no VM tag).
fn fail_open(fault: &str) {
    let upstream = Upstream::start().unwrap();
    let mut envoy = Envoy::start(&EnvoyConfig::new(upstream.addr()).filter(faults_filter(Some("FAIL_OPEN"), "v1")))
        .unwrap_or_else(|e| panic!("{e}"));
    let addr = envoy.addr();
    assert!(pass(&envoy, addr, &upstream).vm.is_some());
    let (failed, next) = provoke(addr, fault);
    assert_eq!(failed.status, 503, "{fault}: the failing request");
    assert_eq!(next.status, 200, "{fault}: the next request on the same connection");
    for _ in 0..3 {
        let after = pass(&envoy, addr, &upstream);
        assert_eq!(
            after,
            Passage {
                status: 200,
                reached_upstream: true,
                vm: None
            },
            "{fault}: fail open lets traffic through without the filter"
        );
    }
    assert_eq!(stat(&envoy, "wasm.meshward.vm_reload_success"), 0);
    assert_logged_failure(&envoy, fault);
    assert_envoy_alive(&mut envoy);
}

/// FAIL_RELOAD: the failing request gets 503, so does every request while Envoy backs off
/// (1 s at first); then a new VM serves. No request ever skips the filter or meets the failed VM.
fn fail_reload(fault: &str) {
    let upstream = Upstream::start().unwrap();
    let mut envoy = Envoy::start(&EnvoyConfig::new(upstream.addr()).filter(faults_filter(Some("FAIL_RELOAD"), "v1")))
        .unwrap_or_else(|e| panic!("{e}"));
    let addr = envoy.addr();
    let first_vm = pass(&envoy, addr, &upstream).vm;
    assert!(first_vm.is_some());
    let (failed, next) = provoke(addr, fault);
    assert_eq!(failed.status, 503, "{fault}: the failing request");
    assert!(
        [503, 200].contains(&next.status),
        "{fault}: the next request on the same connection: {}",
        next.status
    );
    let deadline = Instant::now() + RELOAD_WAIT;
    let mut refused = 0;
    let recovered = loop {
        let p = pass(&envoy, addr, &upstream);
        match p.status {
            503 => {
                assert!(
                    !p.reached_upstream,
                    "{fault}: a refused request never reaches the upstream"
                );
                refused += 1;
            }
            200 => break p,
            other => panic!("{fault}: unexpected {other} while the VM reloads"),
        }
        assert!(Instant::now() < deadline, "{fault}: no new VM within {RELOAD_WAIT:?}");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(
        recovered.vm.is_some() && recovered.vm != first_vm,
        "{fault}: the request after the reload went through a new VM: {recovered:?} (first {first_vm:?})"
    );
    assert!(refused > 0, "{fault}: requests during the backoff are refused");
    assert!(stat(&envoy, "wasm.meshward.vm_reload_backoff") >= 1);
    assert!(stat(&envoy, "wasm.meshward.vm_reload_success") >= 1);
    assert_logged_failure(&envoy, fault);
    assert_envoy_alive(&mut envoy);
}

#[test]
fn trap_with_the_default_policy_fails_closed_until_the_configuration_changes() {
    fail_closed(None, "trap");
}

#[test]
fn out_of_memory_fail_closed() {
    fail_closed(Some("FAIL_CLOSED"), "oom");
}

#[test]
fn trap_fail_open() {
    fail_open("trap");
}

#[test]
fn out_of_memory_fail_open() {
    fail_open("oom");
}

#[test]
fn trap_fail_reload() {
    fail_reload("trap");
}

#[test]
fn out_of_memory_fail_reload() {
    fail_reload("oom");
}

/// Over h2c the failure is the stream's: it gets 503 and the connection carries the next stream
/// (503 again when failing closed, 200 without the filter when failing open).
#[test]
fn trap_over_h2c_fails_the_stream_not_the_connection() {
    for (policy, next) in [("FAIL_CLOSED", 503), ("FAIL_OPEN", 200)] {
        let upstream = Upstream::start().unwrap();
        let mut envoy = Envoy::start(&EnvoyConfig::new(upstream.addr()).filter(faults_filter(Some(policy), "v1")))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(provoke_h2c(envoy.addr(), "trap"), (503, next), "{policy}");
        assert_envoy_alive(&mut envoy);
    }
}

// ---------------------------------------------------------------------------------------------
// A bad WAF configuration on a listener update.

#[test]
fn a_bad_waf_configuration_on_a_listener_update_is_rejected_and_the_old_listener_keeps_serving() {
    let upstream = Upstream::start().unwrap();
    let waf =
        |configuration: &str| EnvoyConfig::new(upstream.addr()).filter(WasmFilter::new(waf_wasm(), configuration));
    let mut lds = FileLds::start(&waf(r#"{"mode":"enforce"}"#), "bad-config");
    let addr = lds.envoy.addr();
    let sqli = || {
        meshward_envoy::client::send(addr, &Request::get(SQLI))
            .map(|r| r.status)
            .ok()
    };
    assert_eq!(sqli(), Some(403), "enforcing before the update");
    assert_eq!(stat(&lds.envoy, "listener_manager.lds.update_rejected"), 0);

    // Invalid SecLang: a regex with an unterminated class.
    lds.push(&waf(
        r#"{"mode":"detect","directives":["SecRule ARGS \"@rx [\" \"id:9001,phase:1,deny\""]}"#,
    ));
    let deadline = Instant::now() + Duration::from_secs(60);
    while stat(&lds.envoy, "listener_manager.lds.update_rejected") == 0 {
        assert!(
            Instant::now() < deadline,
            "the update was not rejected:\n{}",
            lds.envoy.log_text()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(stat(&lds.envoy, "listener_manager.lds.update_rejected"), 1);
    let log = lds.envoy.log_text();
    for line in [
        // The filter says where and why.
        "meshward.waf: invalid configuration: directives[0]:1 (rule 9001): operator: invalid argument for @rx",
        // Envoy says what it did.
        "lds: listener 'main' config rejected: Unable to create Wasm plugin meshward",
    ] {
        assert!(log.contains(line), "missing {line:?} in:\n{log}");
    }
    assert_eq!(lds.envoy.listener("main").ok(), Some(addr), "same listener");
    assert_eq!(sqli(), Some(403), "the previous listener (enforce) still serves");
    assert_eq!(
        meshward_envoy::client::send(addr, &Request::get("/ok"))
            .map(|r| r.status)
            .ok(),
        Some(200)
    );

    // A good update is taken afterwards: detect mode lets the SQLi through.
    let successes = stat(&lds.envoy, "listener_manager.lds.update_success");
    lds.push(&waf(r#"{"mode":"detect"}"#));
    lds.wait_successes(successes + 1);
    let addr = lds.envoy.listener("main").unwrap();
    assert_eq!(
        meshward_envoy::client::send(addr, &Request::get(SQLI))
            .map(|r| r.status)
            .ok(),
        Some(200)
    );
    assert_envoy_alive(&mut lds.envoy);
}

// ---------------------------------------------------------------------------------------------
// The WAF's evidence collector (`evidence.collector`: a fire-and-forget HTTP call per event from
// `on_log`, after the client has its answer) down, slow, or not a cluster at all.

const COLLECTOR_CONFIG: &str =
    r#"{"mode":"enforce","evidence":{"collector":{"cluster":"waf_events","timeout_ms":300}}}"#;

/// Sends three attacks and three benign requests; each must get its usual answer and leave its
/// evidence line in the log.
fn serve_despite_the_collector(envoy: &mut Envoy) {
    for _ in 0..3 {
        assert_eq!(envoy.send(&Request::get(SQLI)).map(|r| r.status).ok(), Some(403));
        assert_eq!(envoy.send(&Request::get("/ok")).map(|r| r.status).ok(), Some(200));
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while waf::events(envoy).len() < 3 {
        assert!(
            Instant::now() < deadline,
            "the events are still logged:\n{}",
            envoy.log_text()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_envoy_alive(envoy);
}

fn wait_stat(envoy: &Envoy, name: &str, at_least: u64) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while stat(envoy, name) < at_least {
        assert!(Instant::now() < deadline, "{name} stayed below {at_least}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn collector_envoy(upstream: &Upstream, collector: Option<SocketAddr>) -> Envoy {
    let mut config = EnvoyConfig::new(upstream.addr()).filter(WasmFilter::new(waf_wasm(), COLLECTOR_CONFIG));
    if let Some(addr) = collector {
        config = config.cluster("waf_events", addr);
    }
    Envoy::start(&config).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn evidence_collector_down_does_not_touch_the_traffic() {
    let upstream = Upstream::start().unwrap();
    // A port nobody listens on: the listener is closed as soon as its address is known.
    let down = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let mut envoy = collector_envoy(&upstream, Some(down));
    serve_despite_the_collector(&mut envoy);
    wait_stat(&envoy, "cluster.waf_events.upstream_cx_connect_fail", 3);
    assert_eq!(
        stat(&envoy, "cluster.waf_events.upstream_rq_503"),
        3,
        "one failed call per event"
    );
}

#[test]
fn evidence_collector_that_never_answers_times_out_without_holding_requests() {
    let upstream = Upstream::start().unwrap();
    let slow = TcpListener::bind("127.0.0.1:0").unwrap();
    let slow_addr = slow.local_addr().unwrap();
    // Accepts and holds every connection without a byte of answer.
    std::thread::spawn(move || {
        let mut held: Vec<TcpStream> = Vec::new();
        for stream in slow.incoming().flatten() {
            held.push(stream);
        }
    });
    let mut envoy = collector_envoy(&upstream, Some(slow_addr));
    serve_despite_the_collector(&mut envoy);
    wait_stat(&envoy, "cluster.waf_events.upstream_rq_timeout", 3);
    assert_eq!(stat(&envoy, "cluster.waf_events.upstream_rq_504"), 3);
}

#[test]
fn evidence_collector_cluster_missing_is_logged_per_event() {
    let upstream = Upstream::start().unwrap();
    let mut envoy = collector_envoy(&upstream, None);
    serve_despite_the_collector(&mut envoy);
    let failures = envoy
        .log_lines()
        .iter()
        .filter(|l| l.contains("meshward.waf: evidence collector call to cluster waf_events failed"))
        .count();
    assert_eq!(failures, 3, "one error line per event:\n{}", envoy.log_text());
}
