//! HTTP requests to one repository of a registry (OCI distribution spec), authenticating as
//! the registry asks: each request is sent with what is known; on `401` the client reads the
//! `WWW-Authenticate` challenge (basic, or a bearer token from the named token service), and
//! sends it once more.

use std::time::Duration;

use ureq::http::{self, HeaderMap, Method};

use crate::registry::auth::{parse_challenges, Challenge, Credentials};
use crate::registry::endpoint::{is_local, Target};
use crate::registry::RegistryError;

/// The largest answer body read (a manifest, a blob, a token).
const MAX_BODY: u64 = 512 * 1024 * 1024;
/// How long one request may take, start to end.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(300);
/// The manifest types asked for when reading a manifest.
const MANIFEST_ACCEPT: &str =
    "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json";

/// A registry's answer.
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

/// One request, kept whole so it can be sent again after authenticating.
struct Call<'a> {
    method: Method,
    url: String,
    headers: Vec<(&'static str, String)>,
    body: Option<&'a [u8]>,
}

/// A client for one repository.
pub struct Client {
    agent: ureq::Agent,
    target: Target,
    credentials: Credentials,
    /// The `Authorization` value sent with every request, once known.
    authorization: Option<String>,
}

impl Client {
    /// A client for `target`; a static token is sent from the first request on.
    pub fn new(target: Target, credentials: Credentials) -> Client {
        let local = target.base_url.starts_with("http://")
            && is_local(
                target
                    .base_url
                    .trim_start_matches("http://")
                    .split([':', '/'])
                    .next()
                    .unwrap_or(""),
            );
        let mut config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(REQUEST_TIMEOUT))
            .user_agent(concat!("meshward/", env!("CARGO_PKG_VERSION")));
        if local {
            // A proxy from the environment must not carry requests meant for this machine.
            config = config.proxy(None);
        }
        let authorization = match &credentials {
            Credentials::Token(token) => Some(format!("Bearer {token}")),
            _ => None,
        };
        Client {
            agent: config.build().new_agent(),
            target,
            credentials,
            authorization,
        }
    }

    /// The target this client talks to.
    pub fn target(&self) -> &Target {
        &self.target
    }

    /// `base/v2/<repository>/<path>`.
    fn url(&self, path: &str) -> String {
        format!("{}/v2/{}/{path}", self.target.base_url, self.target.repository)
    }

    /// `GET /v2/`: checks that this is a registry and that the credentials are accepted.
    pub fn ping(&mut self) -> Result<(), RegistryError> {
        let url = format!("{}/v2/", self.target.base_url);
        let answer = self.send(Call {
            method: Method::GET,
            url: url.clone(),
            headers: vec![],
            body: None,
        })?;
        expect(&answer, &[200], "GET", &url)
    }

    /// Whether the repository has the blob (`HEAD /v2/<name>/blobs/<digest>`).
    pub fn blob_exists(&mut self, digest: &str) -> Result<bool, RegistryError> {
        let url = self.url(&format!("blobs/{digest}"));
        let answer = self.send(Call {
            method: Method::HEAD,
            url: url.clone(),
            headers: vec![],
            body: None,
        })?;
        match answer.status {
            200 => Ok(true),
            404 => Ok(false),
            _ => Err(status_error(&answer, "HEAD", &url)),
        }
    }

    /// Uploads a blob: `POST` an upload session, then one `PUT` with the bytes, or `PATCH`
    /// chunks of `chunk_size` bytes and a closing `PUT`.
    pub fn upload_blob(&mut self, digest: &str, bytes: &[u8], chunk_size: Option<u64>) -> Result<(), RegistryError> {
        let start = self.url("blobs/uploads/");
        let answer = self.send(Call {
            method: Method::POST,
            url: start.clone(),
            headers: vec![("content-length", "0".into())],
            body: Some(&[]),
        })?;
        expect(&answer, &[202], "POST", &start)?;
        let mut location = self.location(&answer, "POST", &start)?;
        let last_body: &[u8] = match chunk_size {
            None => bytes,
            Some(size) => {
                let size = usize::try_from(size).unwrap_or(usize::MAX);
                for (i, chunk) in bytes.chunks(size).enumerate() {
                    let first = i * size;
                    let range = format!("{first}-{}", first + chunk.len() - 1);
                    let answer = self.send(Call {
                        method: Method::PATCH,
                        url: location.clone(),
                        headers: vec![
                            ("content-type", "application/octet-stream".into()),
                            ("content-range", range),
                        ],
                        body: Some(chunk),
                    })?;
                    expect(&answer, &[202], "PATCH", &location)?;
                    location = self.location(&answer, "PATCH", &location)?;
                }
                &[]
            }
        };
        let separator = if location.contains('?') { '&' } else { '?' };
        let url = format!("{location}{separator}digest={digest}");
        let answer = self.send(Call {
            method: Method::PUT,
            url: url.clone(),
            headers: vec![("content-type", "application/octet-stream".into())],
            body: Some(last_body),
        })?;
        expect(&answer, &[201], "PUT", &url)
    }

    /// Stores a manifest under `reference` (a tag or its digest); returns the registry's
    /// `Docker-Content-Digest`, when it sends one.
    pub fn put_manifest(
        &mut self,
        reference: &str,
        media_type: &str,
        bytes: &[u8],
    ) -> Result<Option<String>, RegistryError> {
        let url = self.url(&format!("manifests/{reference}"));
        let answer = self.send(Call {
            method: Method::PUT,
            url: url.clone(),
            headers: vec![("content-type", media_type.to_string())],
            body: Some(bytes),
        })?;
        expect(&answer, &[201], "PUT", &url)?;
        Ok(answer.header("docker-content-digest").map(str::to_string))
    }

    /// Reads a manifest by tag or digest: its media type (`Content-Type`) and bytes.
    pub fn manifest(&mut self, reference: &str) -> Result<(String, Vec<u8>), RegistryError> {
        let url = self.url(&format!("manifests/{reference}"));
        let answer = self.send(Call {
            method: Method::GET,
            url: url.clone(),
            headers: vec![("accept", MANIFEST_ACCEPT.into())],
            body: None,
        })?;
        expect(&answer, &[200], "GET", &url)?;
        let media_type = answer.header("content-type").unwrap_or_default().to_string();
        Ok((media_type, answer.body))
    }

    /// Reads a blob by digest.
    pub fn blob(&mut self, digest: &str) -> Result<Vec<u8>, RegistryError> {
        let url = self.url(&format!("blobs/{digest}"));
        let answer = self.send(Call {
            method: Method::GET,
            url: url.clone(),
            headers: vec![],
            body: None,
        })?;
        expect(&answer, &[200], "GET", &url)?;
        Ok(answer.body)
    }

    /// The absolute upload URL of an answer's `Location`.
    fn location(&self, answer: &Answer, method: &str, url: &str) -> Result<String, RegistryError> {
        let location = answer.header("location").ok_or_else(|| RegistryError::NoLocation {
            method: method.into(),
            url: url.into(),
            status: answer.status,
        })?;
        Ok(if location.starts_with("http://") || location.starts_with("https://") {
            location.to_string()
        } else if location.starts_with('/') {
            format!("{}{location}", self.target.base_url)
        } else {
            format!("{}/{location}", self.target.base_url)
        })
    }

    /// Sends `call`; on `401`, authenticates as the challenge asks and sends it once more.
    fn send(&mut self, call: Call<'_>) -> Result<Answer, RegistryError> {
        let answer = self.exchange(&call, self.authorization.clone())?;
        if answer.status != 401 {
            return Ok(answer);
        }
        let sent = self.authorization.clone();
        self.authorization = Some(self.authorize(&answer, sent.as_deref())?);
        let again = self.exchange(&call, self.authorization.clone())?;
        if again.status == 401 {
            return Err(self.refused(&again));
        }
        Ok(again)
    }

    /// The `Authorization` value that answers the challenges of a `401`.
    fn authorize(&self, answer: &Answer, sent: Option<&str>) -> Result<String, RegistryError> {
        let header: Vec<&str> = answer
            .headers
            .get_all("www-authenticate")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        let challenges = parse_challenges(&header.join(", "));
        let authorization = if let Some(bearer) = challenges.iter().find(|c| c.is("bearer")) {
            if matches!(self.credentials, Credentials::Token(_)) {
                return Err(self.refused(answer));
            }
            format!("Bearer {}", self.token(bearer)?)
        } else if challenges.iter().any(|c| c.is("basic")) {
            self.credentials
                .basic_header()
                .ok_or_else(|| RegistryError::CredentialsNeeded {
                    registry: self.target.registry.clone(),
                    scheme: "Basic".into(),
                })?
        } else {
            return Err(self.refused(answer));
        };
        if sent == Some(authorization.as_str()) {
            return Err(self.refused(answer));
        }
        Ok(authorization)
    }

    /// Asks the token service of a bearer challenge for a token for this repository.
    fn token(&self, challenge: &Challenge) -> Result<String, RegistryError> {
        let registry = self.target.registry.clone();
        let realm = challenge.param("realm").unwrap_or_default().to_string();
        let fail = |reason: String| RegistryError::Token {
            registry: registry.clone(),
            realm: realm.clone(),
            reason,
        };
        if realm.is_empty() {
            return Err(fail("the challenge names no realm".into()));
        }
        if !self.target.allows(&realm) {
            return Err(RegistryError::PlainHttp { url: realm });
        }
        let default_scope = format!("repository:{}:pull,push", self.target.repository);
        let mut request = self
            .agent
            .get(&realm)
            .query("scope", challenge.param("scope").unwrap_or(&default_scope));
        if let Some(service) = challenge.param("service") {
            request = request.query("service", service);
        }
        if let Some(basic) = self.credentials.basic_header() {
            request = request.header("authorization", &basic);
        }
        let mut response = request.call().map_err(|e| fail(e.to_string()))?;
        let status = response.status().as_u16();
        let body = response
            .body_mut()
            .with_config()
            .limit(MAX_BODY)
            .read_to_vec()
            .map_err(|e| fail(e.to_string()))?;
        if status == 401 || status == 403 {
            return Err(RegistryError::Unauthorized {
                registry,
                detail: format!(
                    "the token service answered {status} {}",
                    String::from_utf8_lossy(&body).trim()
                ),
            });
        }
        if status != 200 {
            return Err(fail(format!(
                "answered {status} {}",
                String::from_utf8_lossy(&body).trim()
            )));
        }
        #[derive(serde::Deserialize)]
        struct TokenAnswer {
            token: Option<String>,
            access_token: Option<String>,
        }
        let parsed: TokenAnswer =
            serde_json::from_slice(&body).map_err(|e| fail(format!("not a token answer: {e}")))?;
        parsed
            .token
            .or(parsed.access_token)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| fail("the answer holds no token".into()))
    }

    /// The error for credentials the registry did not accept.
    fn refused(&self, answer: &Answer) -> RegistryError {
        if matches!(self.credentials, Credentials::Anonymous) {
            let scheme = parse_challenges(answer.header("www-authenticate").unwrap_or_default())
                .first()
                .map_or_else(|| "some".to_string(), |c| c.scheme.clone());
            return RegistryError::CredentialsNeeded {
                registry: self.target.registry.clone(),
                scheme,
            };
        }
        RegistryError::Unauthorized {
            registry: self.target.registry.clone(),
            detail: format!("{} {}", answer.status, answer.detail()),
        }
    }

    /// Sends one request with `authorization`.
    fn exchange(&self, call: &Call<'_>, authorization: Option<String>) -> Result<Answer, RegistryError> {
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

/// `Ok` when the answer's status is one of `ok`.
fn expect(answer: &Answer, ok: &[u16], method: &str, url: &str) -> Result<(), RegistryError> {
    if ok.contains(&answer.status) {
        Ok(())
    } else {
        Err(status_error(answer, method, url))
    }
}

fn status_error(answer: &Answer, method: &str, url: &str) -> RegistryError {
    RegistryError::Status {
        method: method.into(),
        url: url.into(),
        status: answer.status,
        detail: answer.detail(),
    }
}
