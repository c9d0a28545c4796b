//! Checks the proxy model (`http1`) against a real Envoy: every CRS test request is sent to
//! Envoy 1.40 with default HTTP/1 options, where a Lua filter in the HTTP filter chain (the
//! place of the WAF filter) answers with the headers, path and body length it was handed.
//! Envoy's own refusals must match the model's status, and everything else must match the
//! model's filter view byte for byte.
//!
//! Needs Envoy: `$MESHWARD_ENVOY`, else `<workspace>/.venv/bin/envoy` (`cargo xtask setup`).

use meshward_ftw::http1::{self, MODEL_REQUEST_ID};
use meshward_ftw::{config, load, wire};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A filter that answers every request with its view, percent-encoded in `x-view`.
const LUA: &str = r#"
function enc(s)
  return (string.gsub(s, "[^%w]", function(c) return string.format("%%%02X", string.byte(c)) end))
end
function envoy_on_request(h)
  local out = {}
  for k, v in pairs(h:headers()) do
    table.insert(out, enc(k) .. "=" .. enc(v))
  end
  local b = h:body()
  local n = 0
  if b then n = b:length() end
  h:respond({[":status"] = "200", ["x-view"] = table.concat(out, "&"), ["x-body-length"] = tostring(n)}, "")
end
"#;

struct EnvoyProcess {
    child: Child,
    dir: PathBuf,
}

impl Drop for EnvoyProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn envoy_binary() -> PathBuf {
    match std::env::var_os("MESHWARD_ENVOY").filter(|v| !v.is_empty()) {
        Some(path) => PathBuf::from(path),
        None => config::workspace_root().join(".venv/bin/envoy"),
    }
}

fn bootstrap(port: u16) -> String {
    let lua = serde_json::to_string(LUA).unwrap();
    format!(
        r#"{{
  "static_resources": {{
    "listeners": [{{
      "name": "probe",
      "address": {{"socket_address": {{"address": "127.0.0.1", "port_value": {port}}}}},
      "filter_chains": [{{"filters": [{{
        "name": "envoy.filters.network.http_connection_manager",
        "typed_config": {{
          "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
          "stat_prefix": "probe",
          "request_timeout": "2s",
          "route_config": {{"virtual_hosts": [{{"name": "all", "domains": ["*"], "routes": [
            {{"match": {{"prefix": "/"}}, "direct_response": {{"status": 200}}}}]}}]}},
          "http_filters": [
            {{"name": "envoy.filters.http.lua", "typed_config": {{
              "@type": "type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua",
              "default_source_code": {{"inline_string": {lua}}}}}}},
            {{"name": "envoy.filters.http.router", "typed_config": {{
              "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}}}}]
        }}}}]}}]
    }}]
  }}
}}"#
    )
}

fn start_envoy() -> (EnvoyProcess, SocketAddr) {
    let binary = envoy_binary();
    assert!(
        binary.is_file(),
        "Envoy not found at {} (run `cargo xtask setup` or set MESHWARD_ENVOY)",
        binary.display()
    );
    let dir = std::env::temp_dir().join(format!("meshward-ftw-envoy-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    // A free port for the listener (Envoy binds it right after; the gap is tiny).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    std::fs::write(dir.join("bootstrap.json"), bootstrap(port)).unwrap();
    let log = std::fs::File::create(dir.join("envoy.log")).unwrap();
    let child = Command::new(&binary)
        .arg("-c")
        .arg(dir.join("bootstrap.json"))
        // No hot restart: no shared memory to clash with other Envoys on the machine.
        .args(["--concurrency", "1", "-l", "warning", "--disable-hot-restart"])
        .stdin(Stdio::null())
        .stdout(Stdio::from(log.try_clone().unwrap()))
        .stderr(Stdio::from(log))
        .spawn()
        .expect("Envoy starts");
    let mut envoy = EnvoyProcess {
        child,
        dir: dir.clone(),
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(Some(status)) = envoy.child.try_wait() {
            let log = std::fs::read_to_string(dir.join("envoy.log")).unwrap_or_default();
            panic!("Envoy exited ({status}):\n{log}");
        }
        let listener = SocketAddr::from(([127, 0, 0, 1], port));
        if TcpStream::connect_timeout(&listener, Duration::from_millis(200)).is_ok() {
            return (envoy, listener);
        }
        if Instant::now() >= deadline {
            let log = std::fs::read_to_string(dir.join("envoy.log")).unwrap_or_default();
            panic!("Envoy did not become ready:\n{log}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Sends `raw`, reads one response: status (None without one), headers, body.
fn exchange(addr: SocketAddr, raw: &[u8], head_only: bool) -> (Option<u16>, Vec<(String, String)>, Vec<u8>) {
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_secs(5)) else {
        return (None, Vec::new(), Vec::new());
    };
    stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    if stream.write_all(raw).is_err() {
        return (None, Vec::new(), Vec::new());
    }
    let mut data = Vec::new();
    let mut chunk = [0u8; 65536];
    loop {
        if let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&data[..end]).into_owned();
            let mut lines = head.split("\r\n");
            let status = lines
                .next()
                .and_then(|l| l.split(' ').nth(1))
                .and_then(|s| s.parse().ok());
            let headers: Vec<(String, String)> = lines
                .filter_map(|l| l.split_once(':'))
                .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
                .collect();
            let length: Option<usize> = headers
                .iter()
                .find(|(n, _)| n == "content-length")
                .and_then(|(_, v)| v.parse().ok());
            let body = &data[end + 4..];
            match length {
                Some(length) if head_only || body.len() >= length => {
                    let body = body[..length.min(body.len())].to_vec();
                    return (status, headers, body);
                }
                None if head_only => return (status, headers, Vec::new()),
                _ => {}
            }
        }
        match stream.read(&mut chunk) {
            Ok(n) if n > 0 => data.extend_from_slice(&chunk[..n]),
            // Closed: a response without Content-Length ends here.
            _ => {
                let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") else {
                    return (None, Vec::new(), Vec::new());
                };
                let head = String::from_utf8_lossy(&data[..end]).into_owned();
                let status = head.split(' ').nth(1).and_then(|s| s.parse().ok());
                return (status, Vec::new(), data[end + 4..].to_vec());
            }
        }
    }
}

fn percent_decode(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 3 <= bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
            out.push(u8::from_str_radix(hex, 16).unwrap());
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    out
}

/// Header `(name, value)` pairs in order.
type Headers = Vec<(Vec<u8>, Vec<u8>)>;

/// The filter view from `x-view`: host first (from `:authority`), then regular headers.
fn view(encoded: &str) -> (Vec<u8>, Headers) {
    let mut path = Vec::new();
    let mut headers = Vec::new();
    for pair in encoded.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap();
        let (name, value) = (percent_decode(name), percent_decode(value));
        match name.as_slice() {
            b":authority" => headers.insert(0, (b"host".to_vec(), value)),
            b":path" => path = value,
            n if n.starts_with(b":") => {}
            b"x-request-id" if value.len() == 36 => headers.push((name, MODEL_REQUEST_ID.to_vec())),
            _ => headers.push((name, value)),
        }
    }
    (path, headers)
}

#[test]
fn model_matches_envoy_for_every_crs_request() {
    let cases = load::load_dir(&config::tests_dir(&config::crs_dir(None))).expect("CRS tests load");
    let (_envoy, addr) = start_envoy();
    let mut mismatches = Vec::new();
    let mut compared = 0;
    for case in &cases {
        for (index, stage) in case.stages.iter().enumerate() {
            let raw = wire::request_bytes(&stage.input).unwrap();
            let model = http1::parse(&raw);
            let head = raw.starts_with(b"HEAD ");
            let (status, headers, _) = exchange(addr, &raw, head);
            let id = format!("{}/{}", case.id(), index + 1);
            match model {
                Err(rejection) => {
                    if status != rejection.status {
                        mismatches.push(format!("{id}: Envoy {status:?}, model {rejection:?}"));
                    }
                }
                Ok(request) if !request.body_complete => {
                    if status != Some(408) {
                        mismatches.push(format!("{id}: incomplete body, Envoy {status:?}, model 408"));
                    }
                }
                Ok(request) => {
                    let Some(encoded) = headers.iter().find(|(n, _)| n == "x-view").map(|(_, v)| v.clone()) else {
                        mismatches.push(format!("{id}: model passes it on, Envoy answered {status:?}"));
                        continue;
                    };
                    compared += 1;
                    let (path, seen) = view(&encoded);
                    let body_len: usize = headers
                        .iter()
                        .find(|(n, _)| n == "x-body-length")
                        .and_then(|(_, v)| v.parse().ok())
                        .unwrap_or(usize::MAX);
                    if path != request.path || seen != request.headers || body_len != request.body.len() {
                        mismatches.push(format!(
                            "{id}: Envoy path {:?} headers {:?} body {body_len}; model path {:?} headers {:?} body {}",
                            String::from_utf8_lossy(&path),
                            seen.iter()
                                .map(|(n, v)| format!("{}: {}", String::from_utf8_lossy(n), String::from_utf8_lossy(v)))
                                .collect::<Vec<_>>(),
                            String::from_utf8_lossy(&request.path),
                            request
                                .headers
                                .iter()
                                .map(|(n, v)| format!("{}: {}", String::from_utf8_lossy(n), String::from_utf8_lossy(v)))
                                .collect::<Vec<_>>(),
                            request.body.len()
                        ));
                    }
                }
            }
        }
    }
    assert!(compared > 4900, "only {compared} requests reached the filter");
    assert!(
        mismatches.is_empty(),
        "{} mismatches:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}
