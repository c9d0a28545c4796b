//! A bearer-token gate in front of a real registry: the distribution spec's token flow, small
//! enough to read. Every registry request without `Authorization: Bearer <token>` gets `401`
//! with `WWW-Authenticate: Bearer realm="<gate>/token",service=...,scope=...`; `GET /token`
//! with the right basic credentials hands out the token; requests with it are forwarded to the
//! registry (started with relative `Location` URLs) and its answer is sent back.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use meshward_envoy::{RecordedRequest, Upstream, UpstreamResponse};

/// The token the gate hands out.
pub const TOKEN: &str = "meshward-test-token-7f3a";
/// The `service` of the challenge.
pub const SERVICE: &str = "meshward-test-registry";

/// Response headers of the registry passed back to the client.
const PASSED_HEADERS: [&str; 6] = [
    "content-type",
    "location",
    "docker-content-digest",
    "docker-upload-uuid",
    "range",
    "docker-distribution-api-version",
];

/// What the gate saw.
#[derive(Debug, Clone, Default)]
pub struct Seen {
    /// The query string of each token request.
    pub token_queries: Vec<String>,
    /// Requests refused with the challenge.
    pub challenged: usize,
    /// Requests forwarded with the token.
    pub forwarded: usize,
}

/// The running gate; stops with its upstream server.
pub struct Gate {
    server: Upstream,
    seen: Arc<Mutex<Seen>>,
}

impl Gate {
    /// A gate at a free 127.0.0.1 port in front of `registry_base` (`http://127.0.0.1:<port>`),
    /// handing the token to `user`:`password`.
    pub fn start(registry_base: &str, repository: &str, user: &str, password: &str) -> Gate {
        let server = Upstream::start().expect("starting the gate");
        let realm = format!("http://{}/token", server.addr());
        let challenge =
            format!(r#"Bearer realm="{realm}",service="{SERVICE}",scope="repository:{repository}:pull,push""#);
        let basic = format!(
            "Basic {}",
            base64::Engine::encode(&base64::engine::general_purpose::STANDARD, format!("{user}:{password}"))
        );
        let seen = Arc::new(Mutex::new(Seen::default()));
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_global(Some(Duration::from_secs(60)))
            .proxy(None)
            .build()
            .into();
        let registry_base = registry_base.to_string();
        let record = Arc::clone(&seen);
        server.set_handler(move |request| {
            let mut seen = record.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(query) = request.target.strip_prefix("/token?") {
                seen.token_queries.push(query.to_string());
                return Some(if request.header("authorization") == Some(basic.as_str()) {
                    UpstreamResponse::ok(format!(r#"{{"token":"{TOKEN}","expires_in":300}}"#))
                        .header("content-type", "application/json")
                } else {
                    UpstreamResponse::new(401)
                });
            }
            if request.header("authorization") != Some(&format!("Bearer {TOKEN}")) {
                seen.challenged += 1;
                return Some(
                    UpstreamResponse::new(401)
                        .header("www-authenticate", &challenge)
                        .header("content-type", "application/json"),
                );
            }
            seen.forwarded += 1;
            drop(seen);
            Some(forward(&agent, &registry_base, request))
        });
        Gate { server, seen }
    }

    /// `127.0.0.1:<port>`, the registry part of a reference through the gate.
    pub fn host(&self) -> String {
        self.server.addr().to_string()
    }

    /// What the gate saw so far.
    pub fn seen(&self) -> Seen {
        self.seen.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// Sends `request` to the registry and turns its answer into the gate's.
fn forward(agent: &ureq::Agent, base: &str, request: &RecordedRequest) -> UpstreamResponse {
    let mut builder = ureq::http::Request::builder()
        .method(request.method.as_str())
        .uri(format!("{base}{}", request.target));
    for name in ["content-type", "content-range", "accept"] {
        if let Some(value) = request.header(name) {
            builder = builder.header(name, value);
        }
    }
    let sent = if matches!(request.method.as_str(), "GET" | "HEAD" | "DELETE") {
        agent.run(builder.body(()).expect("a forwarded request"))
    } else {
        agent.run(builder.body(request.body.clone()).expect("a forwarded request"))
    };
    let mut response = match sent {
        Ok(r) => r,
        Err(e) => return UpstreamResponse::new(502).header("x-gate-error", &e.to_string()),
    };
    let mut answer = UpstreamResponse::new(response.status().as_u16());
    for name in PASSED_HEADERS {
        if let Some(value) = response.headers().get(name).and_then(|v| v.to_str().ok()) {
            answer = answer.header(name, value);
        }
    }
    if request.method != "HEAD" {
        answer.body = response
            .body_mut()
            .with_config()
            .limit(256 * 1024 * 1024)
            .read_to_vec()
            .unwrap_or_default();
    }
    answer
}
