//! nginx + ModSecurity v3 (Debian's `nginx` and `libnginx-mod-http-modsecurity`) with the same
//! CRS at PL1 as the WAF filter: its configuration, and the process, stopped when dropped.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use meshward_waf::profile;

use super::proxy::UpstreamAddrs;
use super::rss;
use super::workload::GRPC_PATH;
use super::LoadError;

/// Debian's nginx binary.
pub const NGINX: &str = "/usr/sbin/nginx";
/// Debian's ModSecurity v3 connector module.
pub const MODSECURITY_MODULE: &str = "/usr/lib/nginx/modules/ngx_http_modsecurity_module.so";
/// Worker processes: as many as Envoy's worker threads.
pub const WORKERS: u32 = 2;

/// Where a nginx instance keeps its files and listens.
#[derive(Clone, Debug)]
pub struct NginxLayout {
    /// Scratch directory (configuration, logs, temporary bodies).
    pub dir: PathBuf,
    /// HTTP/1.1 listener.
    pub http1: SocketAddr,
    /// h2c listener (gRPC).
    pub h2c: SocketAddr,
}

/// `nginx.conf`: two workers, ModSecurity on, HTTP/1.1 proxied with keep-alive to the upstream,
/// gRPC over h2c passed to its h2c port; no access log (Envoy has none either).
pub fn nginx_conf(layout: &NginxLayout, upstream: UpstreamAddrs) -> String {
    let dir = layout.dir.display();
    format!(
        "\
load_module {MODSECURITY_MODULE};
worker_processes {WORKERS};
daemon off;
master_process on;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {dir}/client_body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    client_max_body_size 16m;
    client_body_buffer_size 128k;
    keepalive_requests 1000000;
    modsecurity on;
    modsecurity_rules_file {dir}/modsecurity.conf;
    upstream http1_upstream {{ server {up1}; keepalive 64; }}
    upstream h2c_upstream {{ server {up2}; keepalive 64; }}
    server {{
        listen {http1};
        location / {{
            proxy_pass http://http1_upstream;
            proxy_http_version 1.1;
            proxy_set_header Connection \"\";
            proxy_set_header Host $host;
        }}
    }}
    server {{
        listen {h2c} http2;
        location {GRPC_PATH} {{ grpc_pass grpc://h2c_upstream; }}
    }}
}}
",
        up1 = upstream.http1,
        up2 = upstream.h2c,
        http1 = layout.http1,
        h2c = layout.h2c,
    )
}

/// `modsecurity.conf`: meshward's recommended base configuration (the WAF filter's), enforcing,
/// no audit log, the methods and content types the WAF's mesh profile allows (so ModSecurity
/// does not refuse gRPC with rule 920420: both see the same traffic as ordinary), then CRS's
/// `crs-setup.conf.example` and `rules/*.conf` (PL1 by default).
pub fn modsecurity_conf(recommended: &Path, crs: &Path) -> String {
    let types: Vec<String> = profile::CRS_CONTENT_TYPES
        .split_whitespace()
        .map(str::to_string)
        .chain(profile::MESH_CONTENT_TYPES.iter().map(|t| format!("|{t}|")))
        .collect();
    format!(
        "\
Include {recommended}
SecRuleEngine On
SecAuditEngine Off
SecAction \"id:900220,phase:1,pass,nolog,t:none,setvar:'tx.allowed_methods={methods}',setvar:'tx.allowed_request_content_type={types}'\"
Include {crs}/crs-setup.conf.example
Include {crs}/rules/*.conf
",
        recommended = recommended.display(),
        methods = profile::MESH_METHODS,
        types = types.join(" "),
        crs = crs.display(),
    )
}

/// A running nginx; stopped (master and workers) when dropped.
pub struct Nginx {
    child: Child,
    layout: NginxLayout,
}

impl Nginx {
    /// Writes the configuration into `layout.dir` and starts nginx; waits until both ports accept.
    pub fn start(
        layout: NginxLayout,
        upstream: UpstreamAddrs,
        recommended: &Path,
        crs: &Path,
    ) -> Result<Self, LoadError> {
        let dir = &layout.dir;
        std::fs::create_dir_all(dir).map_err(|e| LoadError::io(format!("creating {}", dir.display()), e))?;
        let write = |name: &str, text: String| {
            let path = dir.join(name);
            std::fs::write(&path, text).map_err(|e| LoadError::io(format!("writing {}", path.display()), e))
        };
        write("nginx.conf", nginx_conf(&layout, upstream))?;
        write("modsecurity.conf", modsecurity_conf(recommended, crs))?;
        let child = Command::new(NGINX)
            .arg("-p")
            .arg(dir)
            .arg("-c")
            .arg(dir.join("nginx.conf"))
            .arg("-e")
            .arg(dir.join("error.log"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| LoadError::io(format!("starting {NGINX}"), e))?;
        let mut nginx = Nginx { child, layout };
        nginx.wait_ready(Duration::from_secs(60))?;
        Ok(nginx)
    }

    fn wait_ready(&mut self, timeout: Duration) -> Result<(), LoadError> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(LoadError::Setup(format!(
                    "nginx exited ({status}); its log:\n{}",
                    self.log_tail()
                )));
            }
            let up = |addr: &SocketAddr| std::net::TcpStream::connect_timeout(addr, Duration::from_millis(200)).is_ok();
            if up(&self.layout.http1) && up(&self.layout.h2c) {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(LoadError::Setup(format!(
                    "nginx not ready after {} s; its log:\n{}",
                    timeout.as_secs(),
                    self.log_tail()
                )));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The master's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The HTTP/1.1 listener.
    pub fn http1(&self) -> SocketAddr {
        self.layout.http1
    }

    /// The h2c listener.
    pub fn h2c(&self) -> SocketAddr {
        self.layout.h2c
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(self.layout.dir.join("error.log")).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // SIGKILL on the master would leave its workers running: ask it to stop them (SIGTERM),
        // then kill whatever is left.
        let workers = rss::children(self.pid());
        let _ = Command::new("kill").args(["-TERM", &self.pid().to_string()]).status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline && matches!(self.child.try_wait(), Ok(None)) {
            std::thread::sleep(Duration::from_millis(20));
        }
        for pid in workers {
            if Path::new(&format!("/proc/{pid}")).exists() {
                let _ = Command::new("kill").args(["-KILL", &pid.to_string()]).status();
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nginx_conf_listens_where_asked_and_proxies_to_the_upstream() {
        let layout = NginxLayout {
            dir: "/tmp/n".into(),
            http1: "127.0.0.1:2001".parse().unwrap(),
            h2c: "127.0.0.1:2002".parse().unwrap(),
        };
        let upstream = UpstreamAddrs {
            http1: "127.0.0.1:1001".parse().unwrap(),
            h2c: "127.0.0.1:1002".parse().unwrap(),
        };
        let conf = nginx_conf(&layout, upstream);
        for line in [
            "load_module /usr/lib/nginx/modules/ngx_http_modsecurity_module.so;",
            "worker_processes 2;",
            "listen 127.0.0.1:2001;",
            "listen 127.0.0.1:2002 http2;",
            "upstream http1_upstream { server 127.0.0.1:1001; keepalive 64; }",
            "upstream h2c_upstream { server 127.0.0.1:1002; keepalive 64; }",
            "modsecurity_rules_file /tmp/n/modsecurity.conf;",
            "location /shop.catalog.v1.Catalog/Search { grpc_pass grpc://h2c_upstream; }",
        ] {
            assert!(conf.lines().any(|l| l.trim() == line), "missing `{line}` in\n{conf}");
        }
        assert_eq!(conf.matches('{').count(), conf.matches('}').count());
    }

    #[test]
    fn modsecurity_conf_enforces_meshward_base_then_crs() {
        let conf = modsecurity_conf(Path::new("/r/recommended.conf"), Path::new("/crs"));
        let lines: Vec<&str> = conf.lines().collect();
        assert_eq!(lines.len(), 6, "{conf}");
        assert_eq!(
            lines[..3],
            ["Include /r/recommended.conf", "SecRuleEngine On", "SecAuditEngine Off"]
        );
        assert!(lines[3].starts_with("SecAction \"id:900220,"));
        assert!(lines[3].contains("setvar:'tx.allowed_methods=GET HEAD POST OPTIONS PUT PATCH DELETE'"));
        assert!(lines[3].contains("|application/json| |application/grpc| |application/grpc+proto|"));
        assert_eq!(
            lines[4..],
            ["Include /crs/crs-setup.conf.example", "Include /crs/rules/*.conf"]
        );
    }
}
