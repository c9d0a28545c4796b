//! The go-ftw test file format (ftw-tests-schema v2) as CRS's regression tests use it.
//!
//! Scalars are read leniently (YAML `300` and `"300"` are the same header value), as go-ftw's
//! Go YAML decoder does when it fills string fields.

use serde::{Deserialize, Deserializer};
use std::collections::BTreeMap;

/// One YAML file: the tests of one rule.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct TestFile {
    /// Free-form metadata (author, description).
    #[serde(default)]
    pub meta: Meta,
    /// The rule the tests are about; 0 when absent (then taken from the file name).
    #[serde(default)]
    pub rule_id: u64,
    /// The test cases.
    #[serde(default)]
    pub tests: Vec<Test>,
}

/// File metadata.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Meta {
    /// Who wrote the tests.
    #[serde(default, deserialize_with = "opt_text")]
    pub author: Option<String>,
    /// What the tests cover.
    #[serde(default, deserialize_with = "opt_text")]
    pub description: Option<String>,
}

/// One test case: one or more request/response stages.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Test {
    /// Number within the file; 0 when absent (then its 1-based position).
    #[serde(default)]
    pub test_id: u64,
    /// What the test checks (`desc`, or the older `test_title`).
    #[serde(default, alias = "test_title", deserialize_with = "opt_text")]
    pub desc: Option<String>,
    /// The stages, run in order; all must pass.
    #[serde(default)]
    pub stages: Vec<Stage>,
}

/// One request and what must follow from it.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Stage {
    /// The request to send.
    #[serde(default)]
    pub input: Input,
    /// The expectations.
    #[serde(default)]
    pub output: Output,
}

/// A header as an ordered `(name, value)` pair.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct HeaderTuple {
    /// Header name.
    #[serde(deserialize_with = "text")]
    pub name: String,
    /// Header value.
    #[serde(default, deserialize_with = "text")]
    pub value: String,
}

/// The request of a stage.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Input {
    /// Where go-ftw would connect (not used natively).
    #[serde(default, deserialize_with = "opt_text")]
    pub dest_addr: Option<String>,
    /// Port go-ftw would connect to.
    #[serde(default)]
    pub port: Option<u16>,
    /// `http` or `https`.
    #[serde(default, deserialize_with = "opt_text")]
    pub protocol: Option<String>,
    /// Request method; default GET.
    #[serde(default, deserialize_with = "opt_text")]
    pub method: Option<String>,
    /// Request target as sent; default `/`.
    #[serde(default, deserialize_with = "opt_text")]
    pub uri: Option<String>,
    /// Protocol version as sent; default `HTTP/1.1`.
    #[serde(default, deserialize_with = "opt_text")]
    pub version: Option<String>,
    /// Headers as a map (sent sorted by name, as go-ftw does).
    #[serde(default, deserialize_with = "opt_text_map")]
    pub headers: Option<BTreeMap<String, String>>,
    /// Headers in the order to send them (wins over `headers`).
    #[serde(default)]
    pub ordered_headers: Option<Vec<HeaderTuple>>,
    /// Request body.
    #[serde(default, deserialize_with = "opt_text")]
    pub data: Option<String>,
    /// A whole raw request, base64-encoded; sent as is.
    #[serde(default, deserialize_with = "opt_text")]
    pub encoded_request: Option<String>,
    /// Add Content-Length / Connection and encode form data (default true).
    #[serde(default)]
    pub autocomplete_headers: Option<bool>,
    /// Deprecated inverse of `autocomplete_headers`.
    #[serde(default)]
    pub stop_magic: Option<bool>,
    /// Retry the stage once when it fails (timing-sensitive tests).
    #[serde(default)]
    pub retry_once: Option<bool>,
    /// Send the stage's cookies on the next stage.
    #[serde(default)]
    pub save_cookie: Option<bool>,
    /// Use the Host header as the target host.
    #[serde(default)]
    pub virtual_host_mode: Option<bool>,
}

impl Input {
    /// Whether go-ftw completes headers and encodes data for this input.
    pub fn autocomplete(&self) -> bool {
        match (self.autocomplete_headers, self.stop_magic) {
            (Some(v), _) => v,
            (None, Some(stop)) => !stop,
            (None, None) => true,
        }
    }

    /// The headers in sending order: `ordered_headers`, else `headers` sorted by name.
    pub fn header_list(&self) -> Vec<(String, String)> {
        if let Some(ordered) = &self.ordered_headers {
            return ordered.iter().map(|h| (h.name.clone(), h.value.clone())).collect();
        }
        self.headers
            .as_ref()
            .map(|h| h.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default()
    }
}

/// Expectations of a stage.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Output {
    /// Expected response status.
    #[serde(default)]
    pub status: Option<u16>,
    /// Regex the full response must match.
    #[serde(default, deserialize_with = "opt_text")]
    pub response_contains: Option<String>,
    /// Expectations on the WAF log.
    #[serde(default)]
    pub log: Log,
    /// Legacy form of `log.match_regex`.
    #[serde(default, deserialize_with = "opt_text")]
    pub log_contains: Option<String>,
    /// Legacy form of `log.no_match_regex`.
    #[serde(default, deserialize_with = "opt_text")]
    pub no_log_contains: Option<String>,
    /// The request must fail at the connection level (no HTTP response).
    #[serde(default)]
    pub expect_error: Option<bool>,
    /// `expect_ids` must be the only rule logged.
    #[serde(default)]
    pub isolated: Option<bool>,
}

impl Output {
    /// The regex the log must match, with the legacy field folded in as go-ftw does.
    pub fn match_regex(&self) -> Option<&str> {
        match (&self.log.match_regex, &self.log_contains) {
            (Some(r), _) => Some(r),
            (None, Some(r)) if self.log.expect_ids.is_empty() => Some(r),
            _ => None,
        }
    }

    /// The regex the log must not match, with the legacy field folded in.
    pub fn no_match_regex(&self) -> Option<&str> {
        match (&self.log.no_match_regex, &self.no_log_contains) {
            (Some(r), _) => Some(r),
            (None, Some(r)) if self.log.no_expect_ids.is_empty() => Some(r),
            _ => None,
        }
    }
}

/// Expectations on the rules the WAF logged.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Log {
    /// Rule ids that must be logged.
    #[serde(default, alias = "expect_id", deserialize_with = "ids")]
    pub expect_ids: Vec<u64>,
    /// Rule ids that must not be logged.
    #[serde(default, alias = "no_expect_id", deserialize_with = "ids")]
    pub no_expect_ids: Vec<u64>,
    /// Regex the log must match.
    #[serde(default, deserialize_with = "opt_text")]
    pub match_regex: Option<String>,
    /// Regex the log must not match.
    #[serde(default, deserialize_with = "opt_text")]
    pub no_match_regex: Option<String>,
}

/// Text of a YAML scalar as written (numbers and booleans included); null is empty.
fn scalar_text(value: serde_yaml_ng::Value) -> Result<String, String> {
    use serde_yaml_ng::Value;
    match value {
        Value::String(s) => Ok(s),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        Value::Null => Ok(String::new()),
        Value::Tagged(t) => scalar_text(t.value),
        other => Err(format!("expected a scalar, found {other:?}")),
    }
}

fn text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let value = serde_yaml_ng::Value::deserialize(d)?;
    scalar_text(value).map_err(serde::de::Error::custom)
}

fn opt_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let value = serde_yaml_ng::Value::deserialize(d)?;
    if value.is_null() {
        return Ok(None);
    }
    scalar_text(value).map(Some).map_err(serde::de::Error::custom)
}

fn opt_text_map<'de, D: Deserializer<'de>>(d: D) -> Result<Option<BTreeMap<String, String>>, D::Error> {
    let value = Option::<BTreeMap<String, serde_yaml_ng::Value>>::deserialize(d)?;
    value
        .map(|map| {
            map.into_iter()
                .map(|(k, v)| scalar_text(v).map(|v| (k, v)))
                .collect::<Result<BTreeMap<_, _>, _>>()
        })
        .transpose()
        .map_err(serde::de::Error::custom)
}

/// A list of rule ids, or a single id.
fn ids<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(u64),
        Many(Vec<u64>),
        Null(()),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(id) => vec![id],
        OneOrMany::Many(ids) => ids,
        OneOrMany::Null(()) => Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"
---
meta:
  author: "someone"
rule_id: 920100
tests:
  - test_id: 1
    desc: Standard GET
    stages:
      - input:
          dest_addr: "127.0.0.1"
          port: 80
          method: "GET"
          headers:
            User-Agent: "OWASP CRS test agent"
            Keep-Alive: 300
            Host: localhost
          uri: "/get"
          version: "HTTP/1.1"
        output:
          log:
            no_expect_ids: [920100]
  - desc: second, no id
    stages:
      - input:
          encoded_request: "R0VUIC8gSFRUUC8xLjENCg0K"
          autocomplete_headers: false
        output:
          status: 400
          log:
            expect_ids: [1, 2]
            match_regex: 'id "1"'
          expect_error: true
"#;

    #[test]
    fn reads_crs_style_file() {
        let file: TestFile = serde_yaml_ng::from_str(SAMPLE).unwrap();
        assert_eq!(file.rule_id, 920100);
        assert_eq!(file.meta.author.as_deref(), Some("someone"));
        assert_eq!(file.tests.len(), 2);
        let first = &file.tests[0];
        assert_eq!(first.test_id, 1);
        let input = &first.stages[0].input;
        assert_eq!(input.method.as_deref(), Some("GET"));
        assert!(input.autocomplete());
        // Sorted by name, numbers read as text.
        assert_eq!(
            input.header_list(),
            [
                ("Host".to_string(), "localhost".to_string()),
                ("Keep-Alive".to_string(), "300".to_string()),
                ("User-Agent".to_string(), "OWASP CRS test agent".to_string()),
            ]
        );
        assert_eq!(first.stages[0].output.log.no_expect_ids, [920100]);
        let second = &file.tests[1];
        assert_eq!(second.test_id, 0);
        assert!(!second.stages[0].input.autocomplete());
        let out = &second.stages[0].output;
        assert_eq!(out.status, Some(400));
        assert_eq!(out.log.expect_ids, [1, 2]);
        assert_eq!(out.match_regex(), Some("id \"1\""));
        assert_eq!(out.expect_error, Some(true));
    }

    #[test]
    fn stop_magic_is_the_inverse() {
        let input: Input = serde_yaml_ng::from_str("stop_magic: true").unwrap();
        assert!(!input.autocomplete());
        let input: Input = serde_yaml_ng::from_str("stop_magic: true\nautocomplete_headers: true").unwrap();
        assert!(input.autocomplete());
    }

    #[test]
    fn legacy_log_contains() {
        let out: Output = serde_yaml_ng::from_str("log_contains: 'x'\nno_log_contains: 'y'").unwrap();
        assert_eq!(out.match_regex(), Some("x"));
        assert_eq!(out.no_match_regex(), Some("y"));
    }

    #[test]
    fn single_id_and_ordered_headers() {
        let out: Output = serde_yaml_ng::from_str("log:\n  expect_ids: 5").unwrap();
        assert_eq!(out.log.expect_ids, [5]);
        let input: Input =
            serde_yaml_ng::from_str("ordered_headers:\n  - name: B\n    value: 1\n  - name: A\n    value: x\n")
                .unwrap();
        assert_eq!(input.header_list()[0], ("B".to_string(), "1".to_string()));
    }

    #[test]
    fn rejects_non_scalar_header_value() {
        let r: Result<Input, _> = serde_yaml_ng::from_str("headers:\n  A: [1, 2]\n");
        assert!(r.is_err());
    }
}
