//! The proxy-wasm host (host-test, wasmtime) with the `hello` fixture: module compile time,
//! plugin start (instantiate + VM start + configure), and one stream from request headers to
//! response headers.
//!
//! `cargo bench -p meshward-benches --features host --bench host` after `cargo xtask wasm`
//! (fixtures from `$MESHWARD_WASM_DIR`, default `<workspace>/target/filters/wasm32-wasip1`).

// criterion_group! defines public functions, which cannot carry a doc comment.
#![allow(missing_docs)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use meshward_benches::{browser_get, html_response, to_host_request, to_host_response};
use meshward_host_test::{Headers, Host, Module, Plugin, Step};
use meshward_testkit::locate;

/// The `hello` fixture's bytes, or a stop with the command that builds it.
fn hello_bytes() -> Vec<u8> {
    let path = locate::wasm_file("meshward_fixture_hello").unwrap_or_else(|e| panic!("{e}"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn start(host: &Host, module: &Module) -> Plugin {
    host.plugin(module)
        .config("hi")
        .build()
        .unwrap_or_else(|e| panic!("hello plugin failed to start: {e}"))
}

fn module_setup(c: &mut Criterion) {
    let bytes = hello_bytes();
    let host = Host::new().unwrap_or_else(|e| panic!("host: {e}"));
    let module = host
        .compile(&bytes)
        .unwrap_or_else(|e| panic!("hello fixture does not compile: {e}"));
    let mut g = c.benchmark_group("host_hello");
    g.sample_size(10);
    g.bench_function("compile", |b| {
        b.iter(|| host.compile(black_box(&bytes)).expect("compiled above"))
    });
    g.bench_function("instantiate_and_configure", |b| {
        b.iter(|| start(&host, black_box(&module)))
    });
    g.finish();
}

/// One stream as Envoy drives a header-only exchange: context create, request headers (end
/// of stream), response headers (end of stream), then log/done/delete.
fn one_stream(plugin: &mut Plugin, request: &Headers, response: &Headers) {
    let id = plugin.open_stream().expect("stream opens");
    let mut s = plugin.stream(id);
    let step = s.send_request_headers(request.clone(), true).expect("request headers");
    debug_assert_eq!(step, Step::Continue);
    let step = s
        .send_response_headers(response.clone(), true)
        .expect("response headers");
    debug_assert_eq!(step, Step::Continue);
    black_box(s.finish().expect("stream ends"));
}

fn stream(c: &mut Criterion) {
    let host = Host::new().unwrap_or_else(|e| panic!("host: {e}"));
    let module = host
        .compile(&hello_bytes())
        .unwrap_or_else(|e| panic!("hello fixture does not compile: {e}"));
    let mut plugin = start(&host, &module);
    let request = to_host_request(&browser_get()).headers;
    let mut response = to_host_response(&html_response()).headers;
    response.remove("content-length");

    // The measured path must be the pass-through one: the filter adds x-hello both ways.
    let out = {
        let id = plugin.open_stream().expect("stream opens");
        let mut s = plugin.stream(id);
        assert_eq!(
            s.send_request_headers(request.clone(), true).expect("request headers"),
            Step::Continue
        );
        assert_eq!(
            s.send_response_headers(response.clone(), true)
                .expect("response headers"),
            Step::Continue
        );
        s.finish().expect("stream ends")
    };
    assert_eq!(out.verdict, "continue", "{out:?}");
    assert_eq!(out.upstream_header("x-hello").as_deref(), Some("hi"));
    assert_eq!(out.downstream_header("x-hello").as_deref(), Some("hi"));

    let mut g = c.benchmark_group("host_hello");
    g.bench_function("stream_request_to_response_headers", |b| {
        b.iter(|| one_stream(&mut plugin, black_box(&request), black_box(&response)))
    });
    g.finish();
    let calls = plugin.stats().get("proxy_on_request_headers");
    eprintln!(
        "proxy_on_request_headers: {} calls, {:.2} µs mean inside the guest",
        calls.count,
        calls.total_ns as f64 / calls.count.max(1) as f64 / 1e3
    );
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    targets = module_setup, stream
}
criterion_main!(benches);
