//! Starting, querying and stopping one Envoy process.

use crate::bootstrap::EnvoyConfig;
use crate::client::{self, Request, Response};
use crate::locate;
use crate::logs::{self, ProbeLine, WasmLog};
use crate::HarnessError;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

static INSTANCE: AtomicU32 = AtomicU32::new(0);

/// A running Envoy; killed (and its scratch directory removed) when dropped.
pub struct Envoy {
    child: Child,
    dir: PathBuf,
    admin: SocketAddr,
    listener: SocketAddr,
}

impl Envoy {
    /// Writes the bootstrap, starts Envoy and waits until its admin `/ready` answers `LIVE`.
    /// If Envoy exits first (e.g. it rejected a filter), returns [`HarnessError::Exited`] with its log.
    pub fn start(config: &EnvoyConfig) -> Result<Envoy, HarnessError> {
        // A missing Envoy is named first: it is the one fix that unblocks every test.
        locate::envoy_binary()?;
        for filter in &config.filters {
            locate::wasm_file_at(&filter.wasm)?;
        }
        Envoy::start_bootstrap(&config.bootstrap(), &config.log_level, config.ready_timeout)
    }

    /// Starts Envoy with a bootstrap document written elsewhere (e.g. several listeners or TLS).
    /// Its admin and listener ports should be 0; [`Envoy::addr`] is the first listener's address and
    /// [`Envoy::listener`] finds others by name.
    pub fn start_bootstrap(
        bootstrap_doc: &serde_json::Value,
        log_level: &str,
        ready_timeout: Duration,
    ) -> Result<Envoy, HarnessError> {
        Envoy::start_bootstrap_with_workers(bootstrap_doc, log_level, ready_timeout, 1)
    }

    /// As [`Envoy::start_bootstrap`], with `workers` worker threads (`--concurrency`; the tests
    /// use 1, the load comparison more).
    pub fn start_bootstrap_with_workers(
        bootstrap_doc: &serde_json::Value,
        log_level: &str,
        ready_timeout: Duration,
        workers: u32,
    ) -> Result<Envoy, HarnessError> {
        let binary = locate::envoy_binary()?;
        let instance = INSTANCE.fetch_add(1, Ordering::SeqCst);
        let pid = std::process::id();
        let dir = std::env::temp_dir().join(format!("meshward-envoy-{pid}-{instance}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|e| HarnessError::io(format!("creating {}", dir.display()), e))?;
        let bootstrap = dir.join("bootstrap.yaml");
        let text = serde_json::to_string_pretty(bootstrap_doc).unwrap_or_default();
        std::fs::write(&bootstrap, text)
            .map_err(|e| HarnessError::io(format!("writing {}", bootstrap.display()), e))?;
        let log_path = dir.join("envoy.log");
        let log = std::fs::File::create(&log_path).map_err(|e| HarnessError::io("creating the Envoy log", e))?;
        let log_err = log
            .try_clone()
            .map_err(|e| HarnessError::io("cloning the Envoy log", e))?;
        let admin_path = dir.join("admin-address");
        // Hot-restart shared memory is keyed by base id: each instance needs its own.
        let base_id = (pid % 200_000) * 1000 + instance % 1000;
        let child = Command::new(&binary)
            .arg("-c")
            .arg(&bootstrap)
            .args([
                "--concurrency",
                &workers.to_string(),
                "--base-id",
                &base_id.to_string(),
                "-l",
                log_level,
            ])
            .arg("--admin-address-path")
            .arg(&admin_path)
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(log_err))
            .spawn()
            .map_err(|e| HarnessError::io(format!("starting {}", binary.display()), e))?;
        let mut envoy = Envoy {
            child,
            dir,
            admin: SocketAddr::from(([127, 0, 0, 1], 0)),
            listener: SocketAddr::from(([127, 0, 0, 1], 0)),
        };
        envoy.wait_ready(&admin_path, ready_timeout)?;
        envoy.listener = envoy.find_listener(None)?;
        Ok(envoy)
    }

    fn wait_ready(&mut self, admin_path: &Path, timeout: Duration) -> Result<(), HarnessError> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(HarnessError::Exited {
                    status: status.to_string(),
                    log_tail: self.log_tail(40),
                });
            }
            if let Some(admin) = std::fs::read_to_string(admin_path)
                .ok()
                .and_then(|t| t.trim().parse().ok())
            {
                self.admin = admin;
                let ready = client::send_raw(admin, &Request::get("/ready").to_bytes(), false, Duration::from_secs(2));
                if ready.is_ok_and(|r| r.status == 200) {
                    return Ok(());
                }
            }
            if Instant::now() >= deadline {
                return Err(HarnessError::NotReady {
                    seconds: timeout.as_secs(),
                    log_tail: self.log_tail(40),
                });
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// The address of the listener named `name`.
    pub fn listener(&self, name: &str) -> Result<SocketAddr, HarnessError> {
        self.find_listener(Some(name))
    }

    fn find_listener(&self, name: Option<&str>) -> Result<SocketAddr, HarnessError> {
        let path = "/listeners?format=json";
        let json = self.admin_json(path)?;
        let statuses = json["listener_statuses"].as_array().cloned().unwrap_or_default();
        let status = statuses
            .iter()
            .find(|s| name.is_none_or(|n| s["name"] == n))
            .ok_or_else(|| HarnessError::Admin {
                path: path.into(),
                why: format!("no listener {name:?} in {json}"),
            })?;
        let address = status["local_address"]["socket_address"].clone();
        let ip = address["address"].as_str().unwrap_or("127.0.0.1");
        let port = address["port_value"].as_u64().ok_or_else(|| HarnessError::Admin {
            path: path.into(),
            why: format!("no listener port in {json}"),
        })?;
        format!("{ip}:{port}").parse().map_err(|e| HarnessError::Admin {
            path: path.into(),
            why: format!("{e}"),
        })
    }

    /// The listener's address (send test requests here).
    pub fn addr(&self) -> SocketAddr {
        self.listener
    }

    /// The process id (e.g. to read its memory in `/proc`).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The admin endpoint's address.
    pub fn admin_addr(&self) -> SocketAddr {
        self.admin
    }

    /// The scratch directory (bootstrap.yaml, envoy.log).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Sends a request through Envoy's listener.
    pub fn send(&self, request: &Request) -> Result<Response, HarnessError> {
        client::send(self.listener, request)
    }

    /// Sends a request through Envoy's listener, giving up after `timeout`.
    pub fn send_with_timeout(&self, request: &Request, timeout: Duration) -> Result<Response, HarnessError> {
        client::send_raw(self.listener, &request.to_bytes(), request.method == "HEAD", timeout)
    }

    /// GETs an admin path.
    pub fn admin_get(&self, path: &str) -> Result<Response, HarnessError> {
        client::send_raw(
            self.admin,
            &Request::get(path).to_bytes(),
            false,
            client::DEFAULT_TIMEOUT,
        )
    }

    /// GETs an admin path and parses it as JSON.
    pub fn admin_json(&self, path: &str) -> Result<serde_json::Value, HarnessError> {
        let response = self.admin_get(path)?;
        serde_json::from_slice(&response.body).map_err(|e| HarnessError::Admin {
            path: path.into(),
            why: format!("{e}: {}", response.text()),
        })
    }

    /// All counters and gauges from `/stats?format=json`, by name.
    pub fn stats(&self) -> Result<std::collections::BTreeMap<String, u64>, HarnessError> {
        let json = self.admin_json("/stats?format=json")?;
        let mut out = std::collections::BTreeMap::new();
        for stat in json["stats"].as_array().into_iter().flatten() {
            if let (Some(name), Some(value)) = (stat["name"].as_str(), stat["value"].as_u64()) {
                out.insert(name.to_string(), value);
            }
        }
        Ok(out)
    }

    /// One counter or gauge (`None` if Envoy does not have it).
    pub fn stat(&self, name: &str) -> Result<Option<u64>, HarnessError> {
        Ok(self.stats()?.remove(name))
    }

    /// Histograms as Prometheus text (`/stats?format=prometheus`).
    pub fn prometheus(&self) -> Result<String, HarnessError> {
        Ok(self.admin_get("/stats/prometheus")?.text())
    }

    /// Envoy's log so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(self.dir.join("envoy.log")).unwrap_or_default()
    }

    /// Envoy's log lines so far.
    pub fn log_lines(&self) -> Vec<String> {
        self.log_text().lines().map(str::to_string).collect()
    }

    fn log_tail(&self, n: usize) -> String {
        let lines = self.log_lines();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }

    /// Messages the wasm modules logged, in order.
    pub fn wasm_logs(&self) -> Vec<WasmLog> {
        self.log_text().lines().filter_map(logs::parse_wasm_log).collect()
    }

    /// Every wasm log message that is `prefix` + a JSON object (evidence events, observations,
    /// alerts), in order, with its level; a line with the prefix but no JSON panics with it.
    pub fn json_lines(&self, prefix: &str) -> Vec<(String, serde_json::Value)> {
        self.wasm_logs()
            .into_iter()
            .filter_map(|l| {
                let json = l.message.strip_prefix(prefix)?;
                let value = serde_json::from_str(json).unwrap_or_else(|e| panic!("{prefix}{json}: {e}"));
                Some((l.level, value))
            })
            .collect()
    }

    /// The probe fixture's lines, in order.
    pub fn probe_lines(&self) -> Vec<ProbeLine> {
        self.wasm_logs()
            .iter()
            .filter_map(|l| logs::parse_probe(&l.level, &l.message))
            .collect()
    }

    /// Waits until `done` holds for the probe lines (or `timeout`); returns the last lines read.
    pub fn wait_probe(&self, timeout: Duration, done: impl Fn(&[ProbeLine]) -> bool) -> Vec<ProbeLine> {
        let deadline = Instant::now() + timeout;
        loop {
            let lines = self.probe_lines();
            if done(&lines) || Instant::now() >= deadline {
                return lines;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for Envoy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::env::var_os("MESHWARD_KEEP_ENVOY").is_none() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}
