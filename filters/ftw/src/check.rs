//! Compares what happened to a stage's request with the stage's `output` expectations,
//! as go-ftw does (status, response regex, expected and forbidden rule ids, log regexes).

use crate::drive::Served;
use crate::format::Output;
use crate::http1::Rejection;

/// The note on a failure where the test expects the origin server itself to refuse (400).
pub const ORIGIN_REFUSAL_NOTE: &str = " (the test expects the web server to refuse the request; the proxy forwards it)";

/// What happened to one stage's request.
#[derive(Debug, Clone)]
pub enum Observed {
    /// The proxy answered itself; the WAF never saw the request.
    ProxyRejected(Rejection),
    /// The request went through the WAF.
    Served(Served),
}

/// Why a stage did not meet its expectations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mismatch {
    /// The WAF saw the request and the outcome differs.
    Failed(String),
    /// The proxy answered the request itself, so the expectations about the WAF cannot hold.
    ProxyRejected(String),
}

impl Mismatch {
    /// The explanation.
    pub fn reason(&self) -> &str {
        match self {
            Mismatch::Failed(r) | Mismatch::ProxyRejected(r) => r,
        }
    }
}

/// Checks `observed` against `expected`; the error names the first unmet expectation.
pub fn check(expected: &Output, observed: &Observed) -> Result<(), Mismatch> {
    match observed {
        Observed::ProxyRejected(rejection) => check_rejected(expected, rejection).map_err(Mismatch::ProxyRejected),
        Observed::Served(served) => check_served(expected, served).map_err(Mismatch::Failed),
    }
}

fn check_served(expected: &Output, served: &Served) -> Result<(), String> {
    if expected.expect_error == Some(true) {
        return Err(format!("expected a connection error, got status {}", served.status));
    }
    if let Some(status) = expected.status {
        if served.status != status {
            let note = if status == 400 { ORIGIN_REFUSAL_NOTE } else { "" };
            return Err(format!("status {} (expected {status}){note}", served.status));
        }
    }
    if let Some(pattern) = &expected.response_contains {
        let re = compile(pattern)?;
        if !re.is_match(&String::from_utf8_lossy(&served.response)) {
            return Err(format!("response does not match {pattern:?}"));
        }
    }
    let missing: Vec<u64> = expected
        .log
        .expect_ids
        .iter()
        .copied()
        .filter(|id| !served.logged_ids.contains(id))
        .collect();
    if !missing.is_empty() {
        let unlogged: Vec<u64> = missing
            .iter()
            .copied()
            .filter(|id| served.matched_ids.contains(id))
            .collect();
        let mut reason = format!("expected ids not logged: {missing:?}");
        if !unlogged.is_empty() {
            reason.push_str(&format!(" (matched but nolog: {unlogged:?})"));
        }
        return Err(reason);
    }
    let unwanted: Vec<u64> = expected
        .log
        .no_expect_ids
        .iter()
        .copied()
        .filter(|id| served.logged_ids.contains(id))
        .collect();
    if !unwanted.is_empty() {
        return Err(format!("unexpected ids logged: {unwanted:?}"));
    }
    if expected.isolated == Some(true) {
        let others: Vec<u64> = served
            .logged_ids
            .iter()
            .copied()
            .filter(|id| !expected.log.expect_ids.contains(id))
            .collect();
        if !others.is_empty() {
            return Err(format!("isolated test, but other ids logged: {others:?}"));
        }
    }
    let log = served.log.join("\n");
    if let Some(pattern) = expected.match_regex() {
        if !compile(pattern)?.is_match(&log) {
            let excerpt: String = served
                .log
                .iter()
                .filter(|line| {
                    expected.log.expect_ids.is_empty()
                        || expected
                            .log
                            .expect_ids
                            .iter()
                            .any(|id| line.contains(&format!("[id \"{id}\"]")))
                })
                .flat_map(|line| line.find("[msg ").map(|at| &line[at..]))
                .collect::<Vec<_>>()
                .join(" | ");
            let excerpt: String = excerpt.chars().take(300).collect();
            return Err(format!("log does not match {pattern:?}; log: {excerpt}"));
        }
    }
    if let Some(pattern) = expected.no_match_regex() {
        if let Some(found) = compile(pattern)?.find(&log) {
            return Err(format!("log matches {pattern:?} ({:?})", found.as_str()));
        }
    }
    Ok(())
}

/// A request the proxy refused: it passes when the test expects a refusal (a connection
/// error, or the same status) and nothing it requires from the WAF's log.
fn check_rejected(expected: &Output, rejection: &Rejection) -> Result<(), String> {
    let what = match rejection.status {
        Some(status) => format!("proxy-rejected {status} ({})", rejection.reason),
        None => format!("proxy-rejected, no response ({})", rejection.reason),
    };
    // go-ftw's expect_error means no HTTP answer from the server under test; a request
    // refused at the protocol level by the proxy is the equivalent outcome here.
    if expected.expect_error == Some(true) {
        return Ok(());
    }
    if let Some(status) = expected.status {
        if rejection.status != Some(status) {
            return Err(format!("{what}; expected status {status}"));
        }
    }
    if !expected.log.expect_ids.is_empty() {
        return Err(format!(
            "{what}; the WAF never saw it, expected ids {:?}",
            expected.log.expect_ids
        ));
    }
    if let Some(pattern) = expected.match_regex() {
        if !compile(pattern)?.is_match("") {
            return Err(format!("{what}; expected log matching {pattern:?}"));
        }
    }
    if let Some(pattern) = &expected.response_contains {
        return Err(format!("{what}; expected response matching {pattern:?}"));
    }
    Ok(())
}

fn compile(pattern: &str) -> Result<regex::Regex, String> {
    regex::Regex::new(pattern).map_err(|e| format!("invalid regex in test: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn served(status: u16, logged: &[u64], matched: &[u64]) -> Observed {
        Observed::Served(Served {
            status,
            response: format!("HTTP/1.1 {status} X\r\n\r\nbody").into_bytes(),
            logged_ids: logged.iter().copied().collect::<BTreeSet<_>>(),
            matched_ids: matched.iter().copied().collect::<BTreeSet<_>>(),
            log: logged
                .iter()
                .map(|id| format!("[id \"{id}\"] [msg \"m{id}\"]"))
                .collect(),
        })
    }

    fn failed(result: Result<(), Mismatch>) -> String {
        match result {
            Err(Mismatch::Failed(reason)) => reason,
            other => panic!("expected a failure, got {other:?}"),
        }
    }

    fn output(yaml: &str) -> Output {
        serde_yaml_ng::from_str(yaml).unwrap()
    }

    fn rejected(status: Option<u16>) -> Observed {
        Observed::ProxyRejected(Rejection {
            status,
            reason: "why".into(),
        })
    }

    #[test]
    fn expect_and_no_expect_ids() {
        let out = output("log:\n  expect_ids: [1, 2]\n  no_expect_ids: [3]\n");
        assert_eq!(check(&out, &served(200, &[1, 2, 4], &[1, 2, 4])), Ok(()));
        let err = failed(check(&out, &served(200, &[1], &[1, 2])));
        assert!(err.contains("[2]") && err.contains("nolog"), "{err}");
        let err = failed(check(&out, &served(200, &[1, 2, 3], &[1, 2, 3])));
        assert_eq!(err, "unexpected ids logged: [3]");
    }

    #[test]
    fn status_and_response() {
        let out = output("status: 403\nresponse_contains: 'bo.y'\n");
        assert!(failed(check(&out, &served(200, &[], &[]))).starts_with("status 200"));
        assert_eq!(check(&out, &served(403, &[], &[])), Ok(()));
        let out = output("response_contains: 'nothere'\n");
        assert!(check(&out, &served(200, &[], &[])).is_err());
    }

    #[test]
    fn log_regexes() {
        let out = output("log:\n  match_regex: 'msg \"m7\"'\n");
        assert_eq!(check(&out, &served(200, &[7], &[7])), Ok(()));
        assert!(check(&out, &served(200, &[8], &[8])).is_err());
        let out = output("log:\n  no_match_regex: '\\[id \"\\d+\"\\]'\n");
        assert_eq!(check(&out, &served(200, &[], &[5])), Ok(()));
        assert!(check(&out, &served(200, &[5], &[5])).is_err());
        let out = output("log:\n  match_regex: '('\n");
        assert!(failed(check(&out, &served(200, &[], &[]))).starts_with("invalid regex"));
    }

    #[test]
    fn isolated() {
        let out = output("isolated: true\nlog:\n  expect_ids: [1]\n");
        assert_eq!(check(&out, &served(200, &[1], &[1, 9])), Ok(()));
        assert!(check(&out, &served(200, &[1, 9], &[1, 9])).is_err());
    }

    #[test]
    fn proxy_rejections() {
        assert_eq!(check(&output("status: 400\n"), &rejected(Some(400))), Ok(()));
        assert_eq!(check(&output("expect_error: true\n"), &rejected(None)), Ok(()));
        assert_eq!(
            check(&output("log:\n  no_expect_ids: [1]\n"), &rejected(Some(400))),
            Ok(())
        );
        let err = check(&output("log:\n  expect_ids: [1]\n"), &rejected(Some(400))).unwrap_err();
        assert!(
            matches!(&err, Mismatch::ProxyRejected(r) if r.starts_with("proxy-rejected 400 (why)")),
            "{err:?}"
        );
        assert!(matches!(
            check(&output("status: 200\n"), &rejected(Some(400))),
            Err(Mismatch::ProxyRejected(_))
        ));
        assert!(check(&output("status: 400\n"), &rejected(None)).is_err());
        let err = failed(check(&output("expect_error: true\n"), &served(200, &[], &[])));
        assert!(err.contains("connection error"));
    }
}
