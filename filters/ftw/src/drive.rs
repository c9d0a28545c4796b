//! Runs one request natively through the WAF filter's own exchange
//! (`meshward_waf::drive`), the way Envoy calls the filter: phases 1-2 on the request, the
//! synthesized upstream response through phases 3-4, then logging. The rules are the WAF's
//! embedded CRS with [`crate::config::waf_filter_config`], as in the wasm and Envoy runs.

use crate::albedo;
use crate::http1::Request;
use meshward_seclang::MatchedRule;
use meshward_waf::drive::{self, Response};
use meshward_waf::exchange::{Attributes, Header};
use meshward_waf::loaded::Loaded;
use std::collections::BTreeSet;
use std::rc::Rc;

/// The test connection, as go-ftw makes it (127.0.0.1:80) and the wasm run's host gives it.
const CLIENT: &str = "127.0.0.1:40000";
const SERVER: &str = "127.0.0.1:80";

/// What a client and the WAF's log show for one request.
#[derive(Debug, Clone)]
pub struct Served {
    /// The status the client receives.
    pub status: u16,
    /// The response bytes the client receives.
    pub response: Vec<u8>,
    /// Ids of the rules that matched and would be written to the log.
    pub logged_ids: BTreeSet<u64>,
    /// Ids of every rule that matched, logged or not.
    pub matched_ids: BTreeSet<u64>,
    /// ModSecurity-style error log lines, one per logged rule.
    pub log: Vec<String>,
}

/// The request headers as Envoy's HTTP/1 codec hands them to a filter: pseudo-headers, then
/// the others in order (the proxy model already lower-cased names and made its edits).
pub fn filter_headers(request: &Request) -> Vec<Header> {
    let mut headers = Vec::with_capacity(request.headers.len() + 4);
    if let Some(host) = request.header_values("host").next() {
        headers.push((b":authority".to_vec(), host.to_vec()));
    }
    headers.push((b":path".to_vec(), request.path.clone()));
    headers.push((b":method".to_vec(), request.method.as_bytes().to_vec()));
    headers.push((b":scheme".to_vec(), b"http".to_vec()));
    for (name, value) in request.headers.iter().filter(|(n, _)| n.as_slice() != b"host") {
        headers.push((name.clone(), value.clone()));
    }
    headers
}

/// What Envoy answers itself for a request whose body never completes: its router refuses
/// a CONNECT tunnel (no upgrade_configs); any other stream ends in its request timeout.
pub fn proxy_answer(request: &Request) -> Option<u16> {
    match (request.body_complete, request.method.as_str()) {
        (true, _) => None,
        (false, "CONNECT") => Some(403),
        (false, _) => Some(408),
    }
}

/// albedo's response as Envoy's codec hands it to a filter (names lower-cased).
pub fn upstream_response(response: &albedo::Response) -> Response {
    let headers = response
        .headers
        .iter()
        .map(|(name, value)| (name.to_ascii_lowercase().into_bytes(), value.to_vec()))
        .collect();
    Response::new(response.status, headers, response.body.clone())
}

/// Runs `request` through a fresh exchange of `loaded` (the WAF configured as the filter is).
pub fn serve(loaded: &Rc<Loaded>, request: &Request) -> Result<Served, String> {
    let filter_request = drive::Request {
        headers: filter_headers(request),
        body: if request.body.is_empty() {
            Vec::new()
        } else {
            vec![request.body.clone()]
        },
        trailers: None,
        proxy_answers: proxy_answer(request),
    };
    let attributes = Attributes {
        client: CLIENT.into(),
        server: SERVER.into(),
        protocol: Some(request.version.clone()),
        ..Attributes::default()
    };
    let upstream = || upstream_response(&albedo::respond(request));
    let driven = drive::drive(loaded.clone(), attributes, &filter_request, upstream, 0)
        .ok_or("the WAF selected no rule set for the request")?;
    let uri = String::from_utf8_lossy(&request.path).into_owned();
    let matched = driven.transaction.matched_rules();
    Ok(Served {
        status: driven.response.status(),
        response: wire_bytes(&driven.response),
        logged_ids: matched.iter().filter(|m| m.logged).map(|m| m.id).collect(),
        matched_ids: matched.iter().map(|m| m.id).collect(),
        log: matched.iter().filter(|m| m.logged).map(|m| log_line(m, &uri)).collect(),
    })
}

/// A response as the client reads it: status line, headers (pseudo-headers left out), body.
pub fn wire_bytes(response: &Response) -> Vec<u8> {
    let status = response.status();
    let mut out = format!("HTTP/1.1 {status} {}\r\n", albedo::reason_phrase(status)).into_bytes();
    for (name, value) in response.headers.iter().filter(|(n, _)| !n.starts_with(b":")) {
        out.extend_from_slice(name);
        out.extend_from_slice(b": ");
        out.extend_from_slice(value);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    for chunk in &response.body {
        out.extend_from_slice(chunk);
    }
    out
}

/// One line in ModSecurity's error-log format, which go-ftw's `match_regex` is written for.
/// Field text is escaped as ModSecurity escapes it (`\xHH` for control and non-ASCII bytes).
pub fn log_line(rule: &MatchedRule, uri: &str) -> String {
    let mut line = format!(
        "ModSecurity: Warning. Matched \"{}\" (Value: `{}') [id \"{}\"]",
        log_escape(rule.variable.as_bytes()),
        log_escape(&rule.value),
        rule.id
    );
    if let Some(rev) = &rule.rev {
        line.push_str(&format!(" [rev \"{rev}\"]"));
    }
    line.push_str(&format!(
        " [msg \"{}\"] [data \"{}\"]",
        log_escape(rule.msg.as_bytes()),
        log_escape(rule.logdata.as_bytes())
    ));
    if let Some(severity) = rule.severity {
        line.push_str(&format!(" [severity \"{severity}\"]"));
    }
    if let Some(ver) = &rule.ver {
        line.push_str(&format!(" [ver \"{ver}\"]"));
    }
    for tag in &rule.tags {
        line.push_str(&format!(" [tag \"{tag}\"]"));
    }
    line.push_str(&format!(
        " [hostname \"localhost\"] [uri \"{}\"]",
        log_escape(uri.as_bytes())
    ));
    line
}

/// ModSecurity's `log_escape`: `"` and `\` get a backslash, bytes outside 0x20-0x7E
/// become `\xHH`, so one match is one log line.
pub fn log_escape(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            0x20..=0x7e => out.push(b as char),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_like_modsecurity() {
        assert_eq!(log_escape(b"a\r\nb\"c\\\xff"), r#"a\x0d\x0ab\"c\\\xff"#);
    }
}
