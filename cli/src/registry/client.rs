//! The distribution API calls on one repository (ping, blobs, uploads, manifests), each
//! authenticated as the registry asks: a request goes with what is known; on `401` the client
//! reads the `WWW-Authenticate` challenge (basic, or a bearer token from the named token
//! service) and sends it once more.

use ureq::http::Method;

use crate::registry::auth::{parse_challenges, Credentials};
use crate::registry::endpoint::Target;
use crate::registry::token;
use crate::registry::transport::{Answer, Call, Transport};
use crate::registry::RegistryError;

/// The manifest types asked for when reading a manifest.
const MANIFEST_ACCEPT: &str =
    "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json";
/// The content type of uploaded blob bytes.
const OCTET_STREAM: &str = "application/octet-stream";

/// A client for one repository.
pub struct Client {
    transport: Transport,
    credentials: Credentials,
    /// The `Authorization` value sent with every request, once known.
    authorization: Option<String>,
}

impl Client {
    /// A client for `target`; a static token is sent from the first request on.
    pub fn new(target: Target, credentials: Credentials) -> Client {
        let authorization = match &credentials {
            Credentials::Token(token) => Some(format!("Bearer {token}")),
            _ => None,
        };
        Client {
            transport: Transport::new(target),
            credentials,
            authorization,
        }
    }

    /// The target this client talks to.
    pub fn target(&self) -> &Target {
        self.transport.target()
    }

    /// `base/v2/<repository>/<path>`.
    fn url(&self, path: &str) -> String {
        let target = self.target();
        format!("{}/v2/{}/{path}", target.base_url, target.repository)
    }

    /// `GET /v2/`: checks that this is a registry and that the credentials are accepted.
    pub fn ping(&mut self) -> Result<(), RegistryError> {
        let call = Call::new(Method::GET, format!("{}/v2/", self.target().base_url));
        let answer = self.send(&call)?;
        call.expect(&answer, &[200])
    }

    /// Whether the repository has the blob (`HEAD /v2/<name>/blobs/<digest>`).
    pub fn blob_exists(&mut self, digest: &str) -> Result<bool, RegistryError> {
        let call = Call::new(Method::HEAD, self.url(&format!("blobs/{digest}")));
        let answer = self.send(&call)?;
        match answer.status {
            200 => Ok(true),
            404 => Ok(false),
            _ => Err(call.unexpected(&answer)),
        }
    }

    /// Uploads a blob: `POST` an upload session, then one `PUT` with the bytes, or `PATCH`
    /// chunks of `chunk_size` bytes and a closing `PUT`.
    pub fn upload_blob(&mut self, digest: &str, bytes: &[u8], chunk_size: Option<u64>) -> Result<(), RegistryError> {
        let start = Call::new(Method::POST, self.url("blobs/uploads/")).body(&[]);
        let answer = self.send(&start)?;
        start.expect(&answer, &[202])?;
        let mut location = self.location(&answer, &start)?;
        let last_body: &[u8] = match chunk_size {
            None => bytes,
            Some(size) => {
                let size = usize::try_from(size).unwrap_or(usize::MAX);
                let mut first = 0;
                for chunk in bytes.chunks(size) {
                    let range = format!("{first}-{}", first + chunk.len() - 1);
                    first += chunk.len();
                    let patch = Call::new(Method::PATCH, location)
                        .header("content-type", OCTET_STREAM)
                        .header("content-range", range)
                        .body(chunk);
                    let answer = self.send(&patch)?;
                    patch.expect(&answer, &[202])?;
                    location = self.location(&answer, &patch)?;
                }
                &[]
            }
        };
        let separator = if location.contains('?') { '&' } else { '?' };
        let put = Call::new(Method::PUT, format!("{location}{separator}digest={digest}"))
            .header("content-type", OCTET_STREAM)
            .body(last_body);
        let answer = self.send(&put)?;
        put.expect(&answer, &[201])
    }

    /// Stores a manifest under `reference` (a tag or its digest); returns the registry's
    /// `Docker-Content-Digest`, when it sends one.
    pub fn put_manifest(
        &mut self,
        reference: &str,
        media_type: &str,
        bytes: &[u8],
    ) -> Result<Option<String>, RegistryError> {
        let call = Call::new(Method::PUT, self.url(&format!("manifests/{reference}")))
            .header("content-type", media_type)
            .body(bytes);
        let answer = self.send(&call)?;
        call.expect(&answer, &[201])?;
        Ok(answer.header("docker-content-digest").map(str::to_string))
    }

    /// Reads a manifest by tag or digest: its media type (`Content-Type`) and bytes.
    pub fn manifest(&mut self, reference: &str) -> Result<(String, Vec<u8>), RegistryError> {
        let call =
            Call::new(Method::GET, self.url(&format!("manifests/{reference}"))).header("accept", MANIFEST_ACCEPT);
        let answer = self.send(&call)?;
        call.expect(&answer, &[200])?;
        let media_type = answer.header("content-type").unwrap_or_default().to_string();
        Ok((media_type, answer.body))
    }

    /// Reads a blob by digest.
    pub fn blob(&mut self, digest: &str) -> Result<Vec<u8>, RegistryError> {
        let call = Call::new(Method::GET, self.url(&format!("blobs/{digest}")));
        let answer = self.send(&call)?;
        call.expect(&answer, &[200])?;
        Ok(answer.body)
    }

    /// The absolute upload URL of an answer's `Location`.
    fn location(&self, answer: &Answer, call: &Call<'_>) -> Result<String, RegistryError> {
        let location = answer.header("location").ok_or_else(|| RegistryError::NoLocation {
            method: call.method.to_string(),
            url: call.url.clone(),
            status: answer.status,
        })?;
        let base = &self.target().base_url;
        Ok(if location.starts_with("http://") || location.starts_with("https://") {
            location.to_string()
        } else if location.starts_with('/') {
            format!("{base}{location}")
        } else {
            format!("{base}/{location}")
        })
    }

    /// Sends `call`; on `401`, authenticates as the challenge asks and sends it once more.
    fn send(&mut self, call: &Call<'_>) -> Result<Answer, RegistryError> {
        let answer = self.transport.send(call, self.authorization.as_deref())?;
        if answer.status != 401 {
            return Ok(answer);
        }
        let authorization = self.authorize(&answer)?;
        self.authorization = Some(authorization);
        let again = self.transport.send(call, self.authorization.as_deref())?;
        if again.status == 401 {
            return Err(self.refused(&again));
        }
        Ok(again)
    }

    /// The `Authorization` value that answers the challenges of a `401`.
    fn authorize(&self, answer: &Answer) -> Result<String, RegistryError> {
        let challenges = parse_challenges(&answer.header_all("www-authenticate").join(", "));
        let authorization = if let Some(bearer) = challenges.iter().find(|c| c.is("bearer")) {
            if matches!(self.credentials, Credentials::Token(_)) {
                return Err(self.refused(answer));
            }
            format!("Bearer {}", token::fetch(&self.transport, &self.credentials, bearer)?)
        } else if challenges.iter().any(|c| c.is("basic")) {
            self.credentials
                .basic_header()
                .ok_or_else(|| RegistryError::CredentialsNeeded {
                    registry: self.target().registry.clone(),
                    scheme: "Basic".into(),
                })?
        } else {
            return Err(self.refused(answer));
        };
        if self.authorization.as_deref() == Some(authorization.as_str()) {
            return Err(self.refused(answer));
        }
        Ok(authorization)
    }

    /// The error for credentials the registry did not accept.
    fn refused(&self, answer: &Answer) -> RegistryError {
        let registry = self.target().registry.clone();
        if matches!(self.credentials, Credentials::Anonymous) {
            let scheme = parse_challenges(answer.header("www-authenticate").unwrap_or_default())
                .first()
                .map_or_else(|| "some".to_string(), |c| c.scheme.clone());
            return RegistryError::CredentialsNeeded { registry, scheme };
        }
        RegistryError::Unauthorized {
            registry,
            detail: format!("{} {}", answer.status, answer.detail()),
        }
    }
}
