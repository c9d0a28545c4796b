//! The distribution spec's bearer-token flow: a `401` with `WWW-Authenticate: Bearer
//! realm="...",service="...",scope="..."` names a token service; a `GET realm?service=&scope=`
//! (with the user's basic credentials, if any) answers `{"token": ...}` (or `access_token`).

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use ureq::http::Method;

use crate::registry::auth::{Challenge, Credentials};
use crate::registry::transport::{Call, Transport};
use crate::registry::RegistryError;

/// Query values are percent-encoded except RFC 3986's unreserved characters.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// The token service's answer (Docker's `token`, OAuth2's `access_token`).
#[derive(serde::Deserialize)]
struct TokenAnswer {
    token: Option<String>,
    access_token: Option<String>,
}

/// Asks the token service of `challenge` for a token to push and pull the target's repository.
pub fn fetch(transport: &Transport, credentials: &Credentials, challenge: &Challenge) -> Result<String, RegistryError> {
    let target = transport.target();
    let realm = challenge.param("realm").unwrap_or_default().to_string();
    let fail = |reason: String| RegistryError::Token {
        registry: target.registry.clone(),
        realm: realm.clone(),
        reason,
    };
    if realm.is_empty() {
        return Err(fail("the challenge names no realm".into()));
    }
    let default_scope = format!("repository:{}:pull,push", target.repository);
    let mut query = vec![("scope", challenge.param("scope").unwrap_or(&default_scope))];
    if let Some(service) = challenge.param("service") {
        query.push(("service", service));
    }
    let query: Vec<String> = query
        .iter()
        .map(|(k, v)| format!("{k}={}", utf8_percent_encode(v, QUERY_VALUE)))
        .collect();
    let separator = if realm.contains('?') { '&' } else { '?' };
    let call = Call::new(Method::GET, format!("{realm}{separator}{}", query.join("&")));
    let answer = transport.send(&call, credentials.basic_header().as_deref())?;
    let body = String::from_utf8_lossy(&answer.body);
    match answer.status {
        200 => {}
        401 | 403 => {
            return Err(RegistryError::Unauthorized {
                registry: target.registry.clone(),
                detail: format!("the token service answered {} {}", answer.status, body.trim()),
            })
        }
        status => return Err(fail(format!("answered {status} {}", body.trim()))),
    }
    let parsed: TokenAnswer =
        serde_json::from_slice(&answer.body).map_err(|e| fail(format!("not a token answer: {e}")))?;
    parsed
        .token
        .or(parsed.access_token)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| fail("the answer holds no token".into()))
}
