//! Runs one request through the SecLang engine as the proxy filter would: phases 1-2 on the
//! request, the synthesized upstream response through phases 3-4, then logging.

use crate::albedo::{self, Response};
use crate::http1::Request;
use meshward_seclang::{MatchedRule, RuleSet};
use meshward_testkit::http1::Frame;
use std::collections::BTreeSet;

/// Addresses of the test connection (go-ftw connects to 127.0.0.1:80).
const CLIENT_IP: &str = "127.0.0.1";
const CLIENT_PORT: u16 = 40_000;
const SERVER_IP: &str = "127.0.0.1";
const SERVER_PORT: u16 = 80;

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

/// Runs `request` through a fresh transaction of `rules`.
pub fn serve(rules: &RuleSet, request: &Request) -> Served {
    let mut tx = rules.transaction();
    tx.process_connection(CLIENT_IP, CLIENT_PORT, SERVER_IP, SERVER_PORT);
    tx.process_uri(&request.path, &request.method, &request.version);
    for (name, value) in &request.headers {
        tx.add_request_header(name, value);
    }
    tx.process_request_headers();
    let mut blocked = tx.intervention().map(|i| i.status);
    if blocked.is_none() && !request.body_complete {
        // The body never completes: phase 2 never runs. Envoy's router refuses a CONNECT
        // tunnel (no upgrade_configs); any other stream ends in Envoy's request timeout.
        blocked = Some(if request.method == "CONNECT" { 403 } else { 408 });
    } else if blocked.is_none() {
        if !request.body.is_empty() {
            tx.append_request_body(&request.body);
        }
        tx.process_request_body();
        blocked = tx.intervention().map(|i| i.status);
    }

    let response = match blocked {
        Some(status) => local_reply(status),
        None => {
            let upstream = albedo::respond(request);
            for (name, value) in &upstream.headers {
                tx.add_response_header(name.as_bytes(), value);
            }
            tx.process_response_headers(upstream.status, "HTTP/1.1");
            match tx.intervention().map(|i| i.status) {
                Some(status) => local_reply(status),
                None => {
                    if !upstream.body.is_empty() {
                        tx.append_response_body(&upstream.body);
                    }
                    tx.process_response_body();
                    match tx.intervention().map(|i| i.status) {
                        Some(status) => local_reply(status),
                        None => upstream,
                    }
                }
            }
        }
    };
    tx.process_logging();

    let uri = String::from_utf8_lossy(&request.path).into_owned();
    let matched = tx.matched_rules();
    Served {
        status: response.status,
        response: response.to_bytes(Frame::Bare),
        logged_ids: matched.iter().filter(|m| m.logged).map(|m| m.id).collect(),
        matched_ids: matched.iter().map(|m| m.id).collect(),
        log: matched.iter().filter(|m| m.logged).map(|m| log_line(m, &uri)).collect(),
    }
}

/// The proxy's own answer when the WAF interrupts the transaction.
fn local_reply(status: u16) -> Response {
    let mut reply = Response::new(status);
    reply.headers.add("Content-Length", "0");
    reply
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
