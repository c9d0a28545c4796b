//! Logging, time, ticks, configuration buffers, WASI, metrics, misc calls — via the probe fixture.

mod common;

use common::{probe, probe_call, probe_lines, status_of};
use meshward_host_test::{Metric, Request, Response};
use serde_json::json;
use std::time::{Duration, UNIX_EPOCH};

#[test]
fn log_level_time_and_ticks_driven_by_the_test() {
    let script = json!({
        "on_configure": {"calls": [
            {"call": "log", "level": "warn", "message": "configured"},
            {"call": "get_log_level", "label": "level"},
            {"call": "get_current_time", "label": "now"},
            {"call": "set_tick_period", "ms": 100, "label": "tick"},
            {"call": "log", "level": 9, "message": "bad level", "label": "badlevel"}
        ]},
        "on_tick": {"calls": [{"call": "get_current_time", "label": "tick_now"}]}
    });
    let t0 = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let mut p = probe(script).time(t0).build().unwrap();
    let lines = probe_lines(p.logs());
    assert!(p.logs().iter().any(|l| l.message == "configured" && l.level == "warn"));
    assert_eq!(probe_call(&lines, "level")["value"], json!(0));
    assert_eq!(probe_call(&lines, "now")["value"], json!(1_700_000_000_000_000_000u64));
    assert_eq!(status_of(&lines, "tick"), "Ok");
    assert_eq!(status_of(&lines, "badlevel"), "BadArgument");
    assert_eq!(p.tick_period(""), Some(Duration::from_millis(100)));
    p.take_logs();
    p.advance(Duration::from_millis(250)).unwrap();
    let ticks: Vec<_> = probe_lines(p.logs())
        .into_iter()
        .filter(|l| l["label"] == "tick_now")
        .collect();
    assert_eq!(ticks.len(), 2, "two ticks in 250ms at 100ms");
    assert_eq!(ticks[0]["value"], json!(1_700_000_000_100_000_000u64));
    assert_eq!(ticks[1]["value"], json!(1_700_000_000_200_000_000u64));
    assert_eq!(p.now_nanos(), 1_700_000_000_250_000_000);
}

#[test]
fn log_level_filters_like_envoy() {
    let script = json!({"on_configure": {"calls": [
        {"call": "log", "level": "debug", "message": "dbg"},
        {"call": "log", "level": "error", "message": "err"},
        {"call": "get_log_level", "label": "level"}
    ]}, "probe_log_level": "critical"});
    let p = probe(script).log_level(3).build().unwrap();
    assert!(p.logs().iter().any(|l| l.message == "err"));
    assert!(!p.logs().iter().any(|l| l.message == "dbg"));
}

#[test]
fn configuration_buffers() {
    let script = json!({"on_configure": {"calls": [
        {"call": "get_buffer", "buffer": "plugin_configuration", "start": 2, "size": 7, "label": "part"},
        {"call": "get_buffer", "buffer": "plugin_configuration", "start": 100000, "size": 1, "label": "beyond"},
        {"call": "get_buffer", "buffer": "vm_configuration", "label": "vm"},
        {"call": "set_buffer", "buffer": "plugin_configuration", "value": "x", "label": "setcfg"},
        {"call": "get_buffer", "buffer": 99, "label": "badtype"},
        {"call": "get_buffer", "buffer": "http_call_response_body", "label": "nocall"}
    ]}});
    let text = script.to_string();
    let p = probe(script).vm_config("{\"vm\":1}").build().unwrap();
    let lines = probe_lines(p.logs());
    assert_eq!(probe_call(&lines, "part")["value"], json!(text[2..9]));
    assert_eq!(status_of(&lines, "beyond"), "Ok", "Envoy clamps ranges (E09)");
    assert_eq!(probe_call(&lines, "vm")["value"], json!("{\"vm\":1}"));
    assert_eq!(status_of(&lines, "setcfg"), "BadArgument");
    assert_eq!(status_of(&lines, "badtype"), "BadArgument");
    assert_eq!(status_of(&lines, "nocall"), "NotFound");
}

#[test]
fn plugin_configuration_is_not_found_outside_on_configure() {
    let script = json!({"on_http_request_headers": {"calls": [
        {"call": "get_buffer", "buffer": "plugin_configuration", "size": 10, "label": "cfg"},
        {"call": "get_buffer", "buffer": "vm_configuration", "size": 10, "label": "vm"}
    ]}});
    let mut p = probe(script).build().unwrap();
    let out = p.run(&Request::get("/"), &Response::ok()).unwrap();
    let lines = probe_lines(&out.logs);
    assert_eq!(status_of(&lines, "cfg"), "NotFound");
    assert_eq!(status_of(&lines, "vm"), "Ok");
}

#[test]
fn false_from_on_configure_is_a_rejected_config_and_bad_json_too() {
    let err = probe(json!({"on_configure": {"return": false}})).build().err().unwrap();
    assert!(matches!(err, meshward_host_test::Error::ConfigRejected { .. }));
    let err = common::host()
        .plugin(&common::module("meshward_fixture_probe"))
        .config("not json")
        .build()
        .err()
        .unwrap();
    assert!(matches!(err, meshward_host_test::Error::ConfigRejected { .. }));
}

#[test]
fn metrics_define_increment_record_get() {
    let script = json!({"on_configure": {"calls": [
        {"call": "define_metric", "type": "counter", "name": "reqs", "save": "c", "label": "defc"},
        {"call": "define_metric", "type": "gauge", "name": "inflight", "save": "g"},
        {"call": "define_metric", "type": "histogram", "name": "sizes", "save": "h"},
        {"call": "define_metric", "type": 7, "name": "bad", "label": "badtype"},
        {"call": "increment_metric", "id": "$c", "offset": 5},
        {"call": "increment_metric", "id": "$c", "offset": -1, "label": "negcounter"},
        {"call": "increment_metric", "id": "$g", "offset": -2},
        {"call": "record_metric", "id": "$h", "value": 42},
        {"call": "record_metric", "id": "$h", "value": 7},
        {"call": "get_metric", "id": "$c", "label": "getc"},
        {"call": "get_metric", "id": "$h", "label": "geth"},
        {"call": "get_metric", "id": 1000, "label": "getnone"}
    ]}});
    let p = probe(script).build().unwrap();
    let lines = probe_lines(p.logs());
    assert_eq!(
        probe_call(&lines, "defc")["value"],
        json!(4),
        "Envoy's first counter id"
    );
    assert_eq!(status_of(&lines, "badtype"), "BadArgument");
    assert_eq!(status_of(&lines, "negcounter"), "BadArgument");
    assert_eq!(probe_call(&lines, "getc")["value"], json!(5));
    assert_eq!(status_of(&lines, "geth"), "BadArgument");
    assert_eq!(status_of(&lines, "getnone"), "NotFound");
    assert_eq!(p.metric("reqs"), Some(Metric::Counter { value: 5 }));
    assert_eq!(p.metric("inflight"), Some(Metric::Gauge { value: -2 }));
    assert_eq!(p.metric("sizes"), Some(Metric::Histogram { values: vec![42, 7] }));
}

#[test]
fn misc_calls_have_envoys_statuses() {
    let script = json!({"on_configure": {"calls": [
        {"call": "set_effective_context", "context": 4242, "label": "badctx"},
        {"call": "set_effective_context", "context": "$root", "label": "rootctx"},
        {"call": "done", "label": "done"},
        {"call": "foreign_function", "name": "compress", "value": "x", "label": "ff"},
        {"call": "set_property", "path": ["my_key"], "value": "v", "label": "rootset"}
    ]}});
    let p = probe(script).build().unwrap();
    let lines = probe_lines(p.logs());
    assert_eq!(status_of(&lines, "badctx"), "BadArgument");
    assert_eq!(status_of(&lines, "rootctx"), "Ok");
    assert_eq!(status_of(&lines, "done"), "NotFound");
    assert_eq!(status_of(&lines, "ff"), "NotFound");
    assert_eq!(status_of(&lines, "rootset"), "NotFound");
}

#[test]
fn wasi_stdout_stderr_clock_and_environ() {
    let script = json!({"on_configure": {"calls": [
        {"call": "println", "text": "to stdout"},
        {"call": "eprintln", "text": "to stderr"},
        {"call": "wasi_clock", "label": "clock"},
        {"call": "wasi_environ", "label": "env"}
    ]}});
    let p = probe(script).env("MODE", "test").build().unwrap();
    assert!(
        p.logs().iter().any(|l| l.message == "to stdout" && l.level == "info"),
        "{:?}",
        p.logs()
    );
    assert!(p.logs().iter().any(|l| l.message == "to stderr" && l.level == "error"));
    let lines = probe_lines(p.logs());
    assert_eq!(probe_call(&lines, "clock")["value"], json!({"after_epoch": true}));
    assert!(probe_call(&lines, "env")["value"].to_string().contains("MODE=test"));
}

#[test]
fn trap_fails_the_stream_with_503_and_the_vm() {
    let script = json!({"on_http_request_headers": {"calls": [{"call": "trap"}]}});
    let mut p = probe(script).build().unwrap();
    let out = p.run(&Request::get("/"), &Response::ok()).unwrap();
    assert_eq!(out.verdict, "failed");
    assert_eq!(out.status(), Some(503));
    assert!(out.trap.is_some());
    assert!(p.is_failed());
    assert!(matches!(p.open_stream(), Err(meshward_host_test::Error::VmFailed)));
}
