//! A real OCI registry for tests: Debian's `docker-registry` (CNCF distribution) on a free
//! 127.0.0.1 port, with its storage and generated configuration in a scratch directory,
//! optionally behind htpasswd basic authentication. Dropping it stops the process and removes
//! the directory. A missing binary fails the test with the command that installs it.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use meshward_testkit::locate;

/// How long the registry may take to answer `/v2/`.
const READY_TIMEOUT: Duration = Duration::from_secs(20);
/// bcrypt cost of the htpasswd entry: the minimum, the file is for a test.
const BCRYPT_COST: u32 = 4;

/// How the registry is set up.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// A user name and password for htpasswd basic authentication.
    pub basic: Option<(String, String)>,
    /// `Location` headers relative to the request (needed behind a gate on another port).
    pub relative_urls: bool,
}

/// A running registry.
pub struct Registry {
    child: Child,
    dir: PathBuf,
    addr: SocketAddr,
}

impl Registry {
    /// Starts an anonymous registry; panics (the test fails) when it cannot.
    pub fn start() -> Registry {
        Registry::start_with(&Options::default())
    }

    /// Starts a registry set up as `options` says; panics when it cannot.
    pub fn start_with(options: &Options) -> Registry {
        let binary = locate::registry_binary().unwrap_or_else(|e| panic!("{e}"));
        let addr = free_port();
        let dir = std::env::temp_dir().join(format!("meshward-registry-{}-{}", std::process::id(), addr.port()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("storage")).expect("creating the registry directory");
        let config = dir.join("config.yml");
        std::fs::write(&config, config_text(&dir, addr, options)).expect("writing the registry configuration");
        let log = std::fs::File::create(dir.join("registry.log")).expect("creating the registry log");
        let child = Command::new(&binary)
            .arg("serve")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("cloning the log handle"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", binary.display()));
        let mut registry = Registry { child, dir, addr };
        registry.wait_ready();
        registry
    }

    /// `127.0.0.1:<port>`, the registry part of an image reference.
    pub fn host(&self) -> String {
        self.addr.to_string()
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The registry's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("registry.log")).unwrap_or_default()
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + READY_TIMEOUT;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("the registry exited ({status}) at start:\n{}", self.log());
            }
            if v2_status(self.addr).is_some_and(|s| s == 200 || s == 401) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "the registry did not answer /v2/ within {READY_TIMEOUT:?}:\n{}",
            self.log()
        );
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The registry's configuration (distribution's `config.yml`).
fn config_text(dir: &Path, addr: SocketAddr, options: &Options) -> String {
    let mut text = format!(
        "version: 0.1\n\
         log:\n  level: warn\n  accesslog:\n    disabled: true\n\
         storage:\n  filesystem:\n    rootdirectory: {}\n  maintenance:\n    uploadpurging:\n      enabled: false\n\
         http:\n  addr: {addr}\n  secret: meshward-test-secret\n  relativeurls: {}\n",
        dir.join("storage").display(),
        options.relative_urls
    );
    if let Some((user, password)) = &options.basic {
        let hash = bcrypt::hash(password, BCRYPT_COST).expect("hashing the test password");
        let htpasswd = dir.join("htpasswd");
        std::fs::write(&htpasswd, format!("{user}:{hash}\n")).expect("writing htpasswd");
        text.push_str(&format!(
            "auth:\n  htpasswd:\n    realm: meshward-test\n    path: {}\n",
            htpasswd.display()
        ));
    }
    text
}

/// A 127.0.0.1 address with a port nothing listens on right now.
fn free_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("binding a free port");
    listener.local_addr().expect("the free port's address")
}

/// The status of `GET /v2/`, or `None` when nothing answers yet.
fn v2_status(addr: SocketAddr) -> Option<u16> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_millis(200)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(stream, "GET /v2/ HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").ok()?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).ok()?;
    std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
}
