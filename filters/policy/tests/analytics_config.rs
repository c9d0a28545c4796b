//! The `analytics` section: defaults (on, detect, key made at configure time), the engine's
//! settings carried through, and bad settings refused at load with their line and reason.

use meshward_policy::analytics::Mode;
use meshward_policy::Engine;

#[test]
fn zero_config_turns_analytics_on_in_detect_mode_with_no_key() {
    let e = Engine::from_text("").unwrap();
    let a = e.analytics();
    assert!(a.enabled);
    assert!(a.engine.key.is_empty(), "the filter makes the key");
    assert_eq!(a.engine.probing.common.mode, Mode::Detect);
    assert_eq!(a.sweep_slots, 1000);
}

#[test]
fn the_engine_settings_are_carried_through() {
    let doc = "mode: detect\nanalytics:\n  user_header: x-user\n  engine:\n    slots: 500\n    key: 00112233445566778899aabbccddeeff\n    probing: {capacity: 5, common: {mode: enforce, action: {status: 403}}}\n";
    let e = Engine::from_text(doc).unwrap();
    let a = e.analytics();
    assert_eq!(a.user_header.as_deref(), Some("x-user"));
    assert_eq!(a.engine.slots, 500);
    assert_eq!(a.engine.probing.capacity, 5.0);
    assert_eq!(a.engine.probing.common.mode, Mode::Enforce);
    assert_eq!(a.engine.probing.common.action.status, 403);
    assert_eq!(a.engine.crawling.window_secs, 60, "the rest keeps its defaults");
}

#[test]
fn bad_sections_are_refused_with_line_and_reason() {
    let cases = [
        (
            "mode: detect\nanalytics:\n  engine:\n    probing: {common: {action: {status: 500}}}\n",
            "line 2, field `analytics.engine.probing.common.action.status`: must be 403 or 429",
        ),
        (
            "analytics:\n  engine: {key: abc}\n",
            "line 1, field `analytics.engine.key`: expected 32 hex digits (128 bits), got 3 characters",
        ),
        (
            "mode: detect\n\nanalytics: {engine: {slots: 0}}\n",
            "line 3, field `analytics.engine.slots`: must be at least 1",
        ),
        (
            "analytics: {sweep_slots: 0}\n",
            "line 1, field `analytics.sweep_slots`: must be 1..=100000, not 0",
        ),
        (
            "analytics: {user_header: ''}\n",
            "line 1, field `analytics.user_header`: must not be empty",
        ),
    ];
    for (doc, want) in cases {
        let err = Engine::from_text(doc).unwrap_err().to_string();
        assert_eq!(err, want, "{doc}");
    }
    // Unknown fields are syntax errors with the parser's line, at any depth.
    for (doc, line) in [
        ("mode: detect\nanalytics:\n  surprise: 1\n", "line 3"),
        ("analytics:\n  engine:\n    probing: {capasity: 3}\n", "line 3"),
    ] {
        let err = Engine::from_text(doc).unwrap_err().to_string();
        assert!(err.starts_with(line) && err.contains("unknown field"), "{doc}: {err}");
    }
}
