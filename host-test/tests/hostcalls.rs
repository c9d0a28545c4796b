//! The `hostcalls` fixture: legacy calls, header-map size, buffer status, gRPC streams, every
//! WASI stub, proc_exit, and a module that allocates through `malloc`.

mod common;

use meshward_host_test::{Plugin, Request, Response};
use std::collections::HashMap;

/// `hostcalls <name> <status> [value]` lines as name → (status, value).
fn results(p: &Plugin) -> HashMap<String, (String, String)> {
    p.logs()
        .iter()
        .filter_map(|l| l.message.strip_prefix("hostcalls "))
        .map(|rest| {
            let mut it = rest.splitn(3, ' ');
            let name = it.next().unwrap_or("").to_string();
            let status = it.next().unwrap_or("").to_string();
            (name, (status, it.next().unwrap_or("").to_string()))
        })
        .collect()
}

fn plugin(module: &meshward_host_test::Module) -> Plugin {
    common::host()
        .plugin(module)
        .config("cfg-text")
        .grpc_upstream("grpc")
        .build()
        .unwrap()
}

fn check(name: &str, r: &HashMap<String, (String, String)>, status: &str, value: &str) {
    let got = r.get(name).unwrap_or_else(|| panic!("no result for {name}: {r:#?}"));
    assert_eq!((got.0.as_str(), got.1.as_str()), (status, value), "{name}");
}

fn configure_results(module: &meshward_host_test::Module) {
    let p = plugin(module);
    let r = results(&p);
    check("buffer_status_config", &r, "0", "8");
    check("get_configuration", &r, "0", "cfg-text");
    check("clear_route_cache", &r, "0", "");
    check("grpc_stream", &r, "0", "2");
    check("grpc_send", &r, "0", "");
    check("grpc_cancel", &r, "0", "");
    check("grpc_cancel_again", &r, "1", "");
    check("grpc_call", &r, "0", "3");
    check("grpc_send_on_call", &r, "2", "");
    check("grpc_close", &r, "0", "");
    assert!(
        !r.contains_key("on_grpc_close"),
        "cancelled/closed calls get no close callback"
    );
    check("fd_read", &r, "52", "");
    check("fd_seek", &r, "0", "");
    check("fd_close", &r, "0", "");
    check("fd_fdstat_get_stdout", &r, "0", "64");
    check("fd_fdstat_get_other", &r, "8", "");
    check("fd_prestat_get", &r, "8", "");
    check("fd_prestat_dir_name", &r, "52", "");
    check("args_sizes_get", &r, "0", "0,0");
    check("args_get", &r, "0", "");
    check("environ_sizes_get", &r, "0", "0,0");
    check("random_get", &r, "0", "true");
    check("sched_yield", &r, "0", "");
    check("poll_oneoff", &r, "0", "0");
    check("clock_realtime", &r, "0", "true");
    check("clock_monotonic", &r, "0", "");
}

#[test]
fn configure_time_calls_wasip1() {
    configure_results(&common::module("meshward_fixture_hostcalls"));
}

#[test]
fn configure_time_calls_unknown_unknown() {
    let path = meshward_testkit::locate::wasm_dir().join("../wasm32-unknown-unknown/meshward_fixture_hostcalls.wasm");
    assert!(
        path.exists(),
        "{} missing: run `cargo xtask wasm --target all` first",
        path.display()
    );
    configure_results(&common::host().load(path).unwrap());
}

#[test]
fn stream_calls_and_legacy_continue() {
    let mut p = plugin(&common::module("meshward_fixture_hostcalls"));
    let req = Request::post("/", "hello").header("x-pause-continue", "1");
    let out = p.run(&req, &Response::ok()).unwrap();
    let r = results(&p);
    let h = &req.headers;
    // The map also holds x-forwarded-proto and x-request-id added by the connection manager.
    let size: usize = r["header_map_size"].1.parse().unwrap();
    assert!(size > h.byte_size(), "{size}");
    check("response_map_size_in_request", &r, "2", "");
    check("buffer_status_body_in_headers", &r, "0", "0");
    check("continue_request", &r, "0", "");
    check("buffer_status_body", &r, "0", "0/0");
    check("continue_response", &r, "0", "");
    assert_eq!(out.verdict, "continue");
    assert_eq!(out.upstream_request.unwrap().body, b"hello");
}

#[test]
fn proc_exit_is_a_trap_and_fails_the_stream() {
    let mut p = plugin(&common::module("meshward_fixture_hostcalls"));
    let out = p
        .run(&Request::get("/").header("x-exit", "3"), &Response::ok())
        .unwrap();
    assert_eq!(out.verdict, "failed");
    assert!(
        out.trap.as_deref().unwrap_or("").contains("proc_exit(3)"),
        "{:?}",
        out.trap
    );
    assert_eq!(out.status(), Some(503));
}
