//! Hostile sizes through the policy filter's .wasm (enforce mode): 10,000 headers, a 64 KiB
//! header value, a path of a million query arguments, a 64 KiB path, a path of 10,000 segments
//! and a 100 MB body. Nothing traps, the VM's linear memory stays bounded (each VM is fresh, so
//! its memory is this case's peak), and the policy still decides on the canonical path.
//!
//! `cargo test -p meshward-netpolicy --test limits -- --nocapture` prints the figures.

mod common;

use common::*;
use meshward_host_test::{Outcome, Request, Response};

const POLICY: &str = r#"
mode: enforce
policies:
  - name: deny-admin
    action: DENY
    rules: [{ to: [{ paths: ["/admin/{**}"] }] }]
"#;

const MIB: usize = 1 << 20;

/// A path of 7 MB (a million query arguments) is copied a few times while the filter
/// normalizes it (14.6 MiB measured on 2026-12-07; 1.7-2.1 MiB for the other cases); Envoy
/// refuses such a head long before (60 KiB by default).
const MAX_VM_BYTES: usize = 24 * MIB;

/// Runs `request` on a fresh VM; prints the figures and checks nothing trapped.
fn case(label: &str, request: &Request) -> Outcome {
    let mut p = plugin(POLICY);
    let out = p
        .run(request, &Response::ok())
        .unwrap_or_else(|e| panic!("{label}: the host failed: {e}"));
    let memory = p.memory_bytes();
    println!(
        "{label}: status {:?}, VM memory {:.1} MiB",
        out.status(),
        memory as f64 / MIB as f64
    );
    assert_eq!(out.trap, None, "{label}: the VM trapped");
    assert!(!p.is_failed(), "{label}: the plugin failed");
    assert!(memory <= MAX_VM_BYTES, "{label}: VM memory {memory} B");
    out
}

#[test]
fn hostile_sizes_keep_the_policy_and_bounded_memory() {
    let mut many = Request::get("/admin/users");
    for i in 0..10_000 {
        many = many.header(&format!("x-h{i}"), "v");
    }
    assert_eq!(case("10,000 headers, denied path", &many).status(), Some(403));

    let long = Request::get("/public").header("x-note", &"v".repeat(64 << 10));
    assert_eq!(case("64 KiB header value, allowed path", &long).status(), Some(200));

    let mut path = String::with_capacity(7 << 20);
    path.push_str("/admin/users?");
    for i in 0..1_000_000 {
        path.push_str(&format!("a{}=1&", i % 1000));
    }
    assert_eq!(
        case("a million query arguments, denied path", &Request::get(&path)).status(),
        Some(403)
    );

    // 10,000 segments down, 10,001 back up: the canonical path is /admin/x.
    let deep = format!("/public/{}{}admin/x", "a/".repeat(10_000), "../".repeat(10_001));
    let out = case("10,000 segments then ../ back to /admin", &Request::get(&deep));
    assert_ne!(
        out.status(),
        Some(200),
        "never allowed: the canonical path is under /admin or refused"
    );

    let segment = format!("/admin/{}", "a".repeat(64 << 10));
    assert_eq!(
        case("64 KiB path segment, denied path", &Request::get(&segment)).status(),
        Some(403)
    );

    let body: Vec<Vec<u8>> = (0..100).map(|_| vec![b'a'; MIB]).collect();
    let upload = Request::new("POST", "/public/upload")
        .header("content-length", &(100 * MIB).to_string())
        .chunks(body);
    let out = case("100 MB body, allowed path", &upload);
    assert_eq!(out.status(), Some(200));
    assert_eq!(out.upstream_request.map(|m| m.body.len()), Some(100 * MIB));
}
