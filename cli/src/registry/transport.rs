//! One HTTP exchange with a registry or its token service (ureq, blocking): the request kept
//! whole so it can be sent again after authenticating, the answer read whole, and the rule
//! that plain HTTP only goes to this machine (or anywhere with `--insecure`).

use std::time::Duration;

use ureq::http::{self, HeaderMap, Method};

use crate::registry::endpoint::Target;
use crate::registry::RegistryError;

/// The largest answer body read (a manifest, a blob, a token).
pub const MAX_BODY: u64 = 512 * 1024 * 1024;
/// How long one request may take, start to end.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(300);

/// One request.
#[derive(Debug, Clone)]
pub struct Call<'a> {
    /// The method.
    pub method: Method,
    /// The absolute URL.
    pub url: String,
    /// Header lines besides `Authorization`.
    pub headers: Vec<(&'static str, String)>,
    /// The body, when the method sends one.
    pub body: Option<&'a [u8]>,
}

impl<'a> Call<'a> {
    /// A `method` request to `url` with no headers and no body.
    pub fn new(method: Method, url: String) -> Call<'a> {
        Call {
            method,
            url,
            headers: Vec::new(),
            body: None,
        }
    }

    /// Adds a header line.
    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Call<'a> {
        self.headers.push((name, value.into()));
        self
    }

    /// Sets the body.
    pub fn body(mut self, body: &'a [u8]) -> Call<'a> {
        self.body = Some(body);
        self
    }

    /// `Ok` when `answer`'s status is one of `ok`, else the error naming this request.
    pub fn expect(&self, answer: &Answer, ok: &[u16]) -> Result<(), RegistryError> {
        if ok.contains(&answer.status) {
            Ok(())
        } else {
            Err(self.unexpected(answer))
        }
    }

    /// The error for an answer this request did not expect.
    pub fn unexpected(&self, answer: &Answer) -> RegistryError {
        RegistryError::Status {
            method: self.method.to_string(),
            url: self.url.clone(),
            status: answer.status,
            detail: answer.detail(),
        }
    }
}

/// An answer.
#[derive(Debug)]
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// Response headers.
    pub headers: HeaderMap,
    /// The body (empty for HEAD).
    pub body: Vec<u8>,
}

impl Answer {
    /// A header's value as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Every value of a header, as text.
    pub fn header_all(&self, name: &str) -> Vec<&str> {
        self.headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect()
    }

    /// The registry's error list (`{"errors": [...]}`) as `CODE: message` text, else the body.
    pub fn detail(&self) -> String {
        if let Ok(response) = serde_json::from_slice::<oci_spec::distribution::ErrorResponse>(&self.body) {
            let each: Vec<String> = response
                .detail()
                .iter()
                .map(|e| match e.message() {
                    Some(m) => format!("{}: {m}", e.code()),
                    None => e.code().to_string(),
                })
                .collect();
            return each.join("; ");
        }
        String::from_utf8_lossy(&self.body).trim().chars().take(300).collect()
    }
}

/// Sends calls for one target.
pub struct Transport {
    agent: ureq::Agent,
    target: Target,
}

impl Transport {
    /// A transport for `target`; requests to this machine bypass any proxy from the environment.
    pub fn new(target: Target) -> Transport {
        let mut config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(REQUEST_TIMEOUT))
            .user_agent(concat!("meshward/", env!("CARGO_PKG_VERSION")));
        if target.is_local() {
            config = config.proxy(None);
        }
        Transport {
            agent: config.build().new_agent(),
            target,
        }
    }

    /// The target.
    pub fn target(&self) -> &Target {
        &self.target
    }

    /// Sends `call` with `authorization`, and reads the whole answer.
    pub fn send(&self, call: &Call<'_>, authorization: Option<&str>) -> Result<Answer, RegistryError> {
        if !self.target.allows(&call.url) {
            return Err(RegistryError::PlainHttp { url: call.url.clone() });
        }
        let mut builder = http::Request::builder().method(call.method.clone()).uri(&call.url);
        for (name, value) in &call.headers {
            builder = builder.header(*name, value);
        }
        if let Some(a) = authorization {
            builder = builder.header("authorization", a);
        }
        let transport = |source: ureq::Error| RegistryError::Transport {
            method: call.method.to_string(),
            url: call.url.clone(),
            source: Box::new(source),
        };
        let sent = match call.body {
            Some(body) => builder.body(body.to_vec()).map(|r| self.agent.run(r)),
            None => builder.body(()).map(|r| self.agent.run(r)),
        };
        let response = sent.map_err(|e| transport(ureq::Error::Http(e)))?.map_err(transport)?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = if call.method == Method::HEAD {
            Vec::new()
        } else {
            response
                .into_body()
                .with_config()
                .limit(MAX_BODY)
                .read_to_vec()
                .map_err(transport)?
        };
        Ok(Answer { status, headers, body })
    }
}
