//! The WAF filter's evidence events (`meshward.waf.event {json}` log lines) read back as what
//! go-ftw checks: the rule ids logged and ModSecurity-style log lines for `match_regex`.

use crate::drive::log_escape;
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeSet;

/// The prefix of an evidence log message.
pub const EVENT_PREFIX: &str = "meshward.waf.event ";

/// One evidence event (only the fields the runner reads; others are ignored).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Event {
    /// `x-request-id` of the transaction.
    pub request_id: String,
    /// Request path as the filter saw it.
    pub path: String,
    /// `detect` or `enforce`.
    pub mode: String,
    /// `allow`, `block`, `would_block` or `refused`.
    pub decision: String,
    /// Status of the filter's local reply, if it sent one.
    pub status: Option<u16>,
    /// Each rule that matched and logged.
    pub rules: Vec<EventRule>,
    /// Limits the transaction ran into.
    pub limits: Vec<String>,
    /// The whole event as logged.
    #[serde(skip)]
    pub json: Value,
}

/// One matched rule in an event.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct EventRule {
    /// Rule id.
    pub id: u64,
    /// The rule's `msg`.
    pub msg: String,
    /// The rule's `logdata`, when the event carries it.
    pub logdata: Option<String>,
    /// Severity as logged (name or number).
    pub severity: Value,
    /// Tags.
    pub tags: Vec<String>,
    /// The variable that matched, e.g. `ARGS:id`.
    pub variable: String,
    /// Bounded, redacted excerpt of the matched data.
    pub data: String,
}

impl Event {
    /// Parses a log message; `None` unless it is an evidence event with valid JSON.
    pub fn parse(message: &str) -> Option<Event> {
        let text = message.trim_start().strip_prefix(EVENT_PREFIX)?;
        let json: Value = serde_json::from_str(text.trim_end()).ok()?;
        let mut event: Event = serde_json::from_value(json.clone()).ok()?;
        event.json = json;
        Some(event)
    }

    /// Ids of the rules in the event.
    pub fn ids(&self) -> BTreeSet<u64> {
        self.rules.iter().map(|r| r.id).collect()
    }

    /// One ModSecurity error-log style line per rule (the format go-ftw's `match_regex` is
    /// written for), built from what the event carries.
    pub fn log_lines(&self) -> Vec<String> {
        self.rules
            .iter()
            .map(|rule| {
                let mut line = format!(
                    "ModSecurity: Warning. Matched \"{}\" (Value: `{}') [id \"{}\"] [msg \"{}\"] [data \"{}\"]",
                    log_escape(rule.variable.as_bytes()),
                    log_escape(rule.data.as_bytes()),
                    rule.id,
                    log_escape(rule.msg.as_bytes()),
                    log_escape(rule.logdata.as_deref().unwrap_or(&rule.data).as_bytes()),
                );
                match &rule.severity {
                    Value::Null => {}
                    Value::String(s) => line.push_str(&format!(" [severity \"{s}\"]")),
                    other => line.push_str(&format!(" [severity \"{other}\"]")),
                }
                for tag in &rule.tags {
                    line.push_str(&format!(" [tag \"{tag}\"]"));
                }
                line.push_str(&format!(" [uri \"{}\"]", log_escape(self.path.as_bytes())));
                line
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_events_and_builds_log_lines() {
        let line = r#"meshward.waf.event {"v":1,"request_id":"r-1","path":"/x?a=1","mode":"detect","decision":"would_block","rules":[{"id":942100,"msg":"SQL Injection Attack Detected via libinjection","severity":"CRITICAL","tags":["attack-sqli"],"variable":"ARGS:a","data":"1' or \"1\"=\"1"}],"scores":{"inbound":5}}"#;
        let event = Event::parse(line).expect("an event");
        assert_eq!(event.request_id, "r-1");
        assert_eq!(event.ids(), BTreeSet::from([942100]));
        assert_eq!(event.json["scores"]["inbound"], 5);
        let log = event.log_lines();
        assert_eq!(log.len(), 1);
        assert!(
            log[0].contains("[id \"942100\"]") && log[0].contains("Matched \"ARGS:a\""),
            "{}",
            log[0]
        );
        assert!(log[0].contains(r#"(Value: `1' or \"1\"=\"1')"#), "{}", log[0]);
        assert!(Event::parse("meshward.waf.event {not json").is_none());
        assert!(Event::parse("other message").is_none());
    }
}
