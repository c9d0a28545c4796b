//! The evidence events' JSON Schemas (`docs/schema/*.schema.json`), checked against real events.

use std::path::PathBuf;

use crate::locate::workspace_root;

/// An event schema of `docs/schema`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventSchema {
    /// `waf-event.schema.json`: the WAF's `meshward.waf.event` JSON (and collector body).
    Waf,
    /// `policy-event.schema.json`: the policy filter's `meshward.policy.event` JSON.
    Policy,
    /// `observation-event.schema.json`: the policy filter's `meshward.policy.observation` JSON.
    Observation,
    /// `alert-event.schema.json`: the policy filter's `meshward.policy.alert` JSON (behaviour
    /// analytics).
    Alert,
}

impl EventSchema {
    /// The schema file.
    pub fn path(self) -> PathBuf {
        let name = match self {
            EventSchema::Waf => "waf-event.schema.json",
            EventSchema::Policy => "policy-event.schema.json",
            EventSchema::Observation => "observation-event.schema.json",
            EventSchema::Alert => "alert-event.schema.json",
        };
        workspace_root().join("docs/schema").join(name)
    }

    /// Validates `event`; the error lists every violation with its JSON pointer.
    pub fn validate(self, event: &serde_json::Value) -> Result<(), String> {
        let path = self.path();
        let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let schema: serde_json::Value = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        let validator = jsonschema::validator_for(&schema).map_err(|e| format!("{}: {e}", path.display()))?;
        let errors: Vec<String> = validator
            .iter_errors(event)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(format!("{} violates {}:\n{}", event, path.display(), errors.join("\n")))
        }
    }

    /// Panics with every violation unless `event` conforms.
    pub fn assert_valid(self, event: &serde_json::Value) {
        if let Err(e) = self.validate(event) {
            panic!("{e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn undocumented_fields_and_wrong_types_fail() {
        let policy = serde_json::json!({
            "v": 1, "policy": null, "rule": null, "action": null, "mode": null, "decision": "allow",
            "enforced": false, "effective": "allow", "all_enforced": "allow", "reason": "default allow",
            "principal": null, "namespace": null, "source": null, "remote_ip": null, "destination": null,
            "host": null, "method": "GET", "path_normalized": "/", "direction": null, "internet": null,
            "audit": []
        });
        EventSchema::Policy.assert_valid(&policy);
        let mut extra = policy.clone();
        extra["surprise"] = 1.into();
        let err = EventSchema::Policy.validate(&extra).unwrap_err();
        assert!(err.contains("surprise"), "{err}");
        let mut wrong = policy.clone();
        wrong["decision"] = "maybe".into();
        assert!(EventSchema::Policy.validate(&wrong).is_err());
        // The fields written only when present: a verified JWT, a loose backend reading.
        let mut optional = policy;
        optional["request_principal"] = "https://issuer.example/alice".into();
        optional["path_reading"] = "path_parameters".into();
        optional["path_read_as"] = "/admin".into();
        EventSchema::Policy.assert_valid(&optional);
        optional["path_reading"] = "sideways".into();
        assert!(EventSchema::Policy.validate(&optional).is_err());
        let observation = serde_json::json!({
            "v": 1, "type": "observation", "window_start": "2026-12-07T19:40:00.000Z",
            "window_end": "2026-12-07T19:41:00.000Z", "first_seen": "2026-12-07T19:40:01.000Z",
            "last_seen": "2026-12-07T19:40:02.000Z", "mode": "detect", "principal": null, "namespace": null,
            "source_ip": null, "remote_ip": null, "request_principal": null, "host": null, "destination": null,
            "sni": null, "direction": null, "internet": null, "method": null, "path": null, "status_class": null,
            "content_type": null, "count": 3, "decisions": {"allow": 3, "block": 0, "would_block": 0, "refused": 0},
            "request_bytes": {"sum": 0, "max": 0}, "response_bytes": {"sum": 0, "max": 0},
            "latency_ms": {"sum": 0, "max": 0}, "overflow": true
        });
        EventSchema::Observation.assert_valid(&observation);
        let mut not_overflow = observation.clone();
        not_overflow["overflow"] = false.into();
        assert!(
            EventSchema::Observation.validate(&not_overflow).is_err(),
            "overflow is present only when true"
        );
        let mut bad_time = observation;
        bad_time["window_end"] = "2026-12-07 19:41:00".into();
        assert!(EventSchema::Observation.validate(&bad_time).is_err());
        let alert = serde_json::json!({
            "v": 1, "type": "alert", "time": "2026-12-07T19:46:30.000Z", "detector": "probing",
            "entity_kind": "client", "entity": "198.51.100.1", "subject": null, "mode": "detect",
            "enforced": false, "status": null, "blocked_until": "2026-12-07T19:51:30.000Z", "baseline": null,
            "observed": 20.0, "threshold": 20.0, "window_secs": 200,
            "first_seen": "2026-12-07T19:46:28.000Z", "last_seen": "2026-12-07T19:46:30.000Z"
        });
        EventSchema::Alert.assert_valid(&alert);
        let mut unknown_detector = alert;
        unknown_detector["detector"] = "vibes".into();
        assert!(EventSchema::Alert.validate(&unknown_detector).is_err());
        let err = EventSchema::Waf.validate(&serde_json::json!({"v": 1})).unwrap_err();
        assert!(err.contains("\"time\" is a required property"), "{err}");
    }
}
