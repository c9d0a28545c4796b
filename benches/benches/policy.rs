//! meshward-policy decisions against 1,000 rules: the time of one `Engine::decide` (normalization,
//! identity, index lookups, full check of the candidate clauses, both evaluations) for typical
//! requests. Target: at most 2 µs per decision natively.
//!
//! `cargo bench -p meshward-benches --bench policy`
//!
//! Also the observation cost per request (building the key from the ruling and recording it in
//! the VM's table) and of a flush of a full 1,000-key window; and behaviour analytics per
//! request as the filter runs it (entities read from the ruling, the verdict, the observation)
//! over an in-memory table (the filter's is shared data: add one get per entity for the
//! verdict and a get and a CAS set per record updated).
//!
//! Each decision is measured twice: wall-clock time (criterion's default), and the thread's CPU
//! time (`CLOCK_THREAD_CPUTIME_ID`), which is the figure to read on a shared, loaded machine
//! (time the thread spends waiting for a core is not counted).

// criterion_group! defines public functions, which cannot carry a doc comment.
#![allow(missing_docs)]

use std::fmt::Write as _;
use std::hint::black_box;

use criterion::measurement::{Measurement, ValueFormatter, WallTime};
use criterion::{criterion_group, criterion_main, Criterion};
use meshward_netpolicy::analytics::Seen;
use meshward_policy::analytics::{Analytics, MemoryStore};
use meshward_policy::observe::{Aggregator, Exchange, RequestKey};
use meshward_policy::{Engine, Request};
use meshward_vocab::{Decision, Mode};

/// 1,000 rules in 250 policies of 4 rules, mixing every matcher kind an operator writes.
fn policy_1000_rules() -> String {
    let mut doc = String::from(
        "mode: enforce\ntrusted_proxy_hops: 1\nmesh: { cidrs: [10.0.0.0/8], domains: [.svc.cluster.local] }\npolicies:\n",
    );
    for p in 0..250 {
        let action = if p % 5 == 0 { "DENY" } else { "ALLOW" };
        let _ = write!(
            doc,
            r#"  - name: team{p}
    action: {action}
    rules:
      - from: [{{ principals: ["cluster.local/ns/ns{p}/sa/app{p}"] }}]
        to: [{{ hosts: ["svc{p}.shop.svc.cluster.local"], methods: [GET, POST], paths: ["/api/v{p}/*"] }}]
      - from: [{{ namespaces: ["ns{p}"], ipBlocks: ["10.{a}.0.0/16"] }}]
        to: [{{ paths: ["/users/{{*}}/orders{p}"], notMethods: [DELETE] }}]
      - to: [{{ pathRegex: ["^/r{p}/[0-9]+$"], headers: {{ x-team: {{ exact: "t{p}" }} }} }}]
      - from: [{{ remoteIpBlocks: ["198.51.{a}.0/24"] }}]
        to: [{{ hosts: ["*.partner{p}.example.com"], ports: [8443] }}]
        when: [{{ key: "request.headers[x-tenant]", values: ["tenant{p}-*"] }}]
"#,
            a = p % 250,
        );
    }
    doc
}

/// CPU time of the calling thread, in ns (`CLOCK_THREAD_CPUTIME_ID`).
fn thread_cpu_ns() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes into the timespec we own.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed");
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// Criterion measurement of thread CPU time.
struct ThreadCpuTime;

static WALL: WallTime = WallTime;

impl Measurement for ThreadCpuTime {
    type Intermediate = u64;
    type Value = u64;
    fn start(&self) -> u64 {
        thread_cpu_ns()
    }
    fn end(&self, start: u64) -> u64 {
        thread_cpu_ns().saturating_sub(start)
    }
    fn add(&self, a: &u64, b: &u64) -> u64 {
        a + b
    }
    fn zero(&self) -> u64 {
        0
    }
    fn to_f64(&self, v: &u64) -> f64 {
        *v as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        WALL.formatter()
    }
}

fn decide(c: &mut Criterion) {
    decide_with(c, "policy_decide_1000_rules");
    let doc = policy_1000_rules();
    let mut g = c.benchmark_group("policy_compile");
    g.sample_size(10);
    g.bench_function("1000_rules", |b| {
        b.iter(|| black_box(Engine::from_text(black_box(&doc)).unwrap().clause_count()))
    });
    g.finish();
}

fn decide_cpu(c: &mut Criterion<ThreadCpuTime>) {
    decide_with(c, "policy_decide_1000_rules_cpu");
}

fn decide_with<M: Measurement>(c: &mut Criterion<M>, group: &str) {
    let doc = policy_1000_rules();
    let engine = Engine::from_text(&doc).expect("bench policy compiles");
    assert_eq!(engine.clause_count(), 1000);
    let headers = vec![
        ("user-agent".to_string(), "curl/8.5.0".to_string()),
        ("accept".to_string(), "*/*".to_string()),
        ("x-forwarded-for".to_string(), "203.0.113.9".to_string()),
        ("x-team".to_string(), "t77".to_string()),
    ];
    let allowed = Request {
        method: "GET",
        path: "/api/v123/orders/17?expand=items",
        authority: "svc123.shop.svc.cluster.local",
        headers: &headers,
        source_address: Some("10.123.4.5:41000"),
        destination_address: Some("10.9.0.7:8080"),
        mtls: true,
        peer_uri_san: Some("spiffe://cluster.local/ns/ns123/sa/app123"),
        ..Request::default()
    };
    let denied = Request {
        path: "/api/v120/orders/17",
        authority: "svc120.shop.svc.cluster.local",
        peer_uri_san: Some("spiffe://cluster.local/ns/ns120/sa/app120"),
        ..allowed
    };
    let unmatched = Request {
        path: "/static/../index.html",
        authority: "web.shop.svc.cluster.local",
        peer_uri_san: Some("spiffe://cluster.local/ns/web/sa/frontend"),
        ..allowed
    };
    let regex = Request {
        path: "/r77/12345",
        mtls: false,
        peer_uri_san: None,
        ..allowed
    };
    let invalid = Request {
        path: "/api/v1%2Forders",
        ..allowed
    };
    // A path every loose backend reading rewrites (`normalization.backend: common`): the policy
    // is evaluated on each distinct reading too.
    let loose = Request {
        path: "/api/v123/Orders;v=1/17.json",
        ..allowed
    };
    assert_eq!(engine.decide(&allowed).decision, Decision::Allow);
    assert_eq!(engine.decide(&denied).decision, Decision::Block);
    assert_eq!(engine.decide(&unmatched).decision, Decision::Block);
    assert_eq!(engine.decide(&regex).decision, Decision::Allow);
    assert_eq!(engine.decide(&invalid).decision, Decision::Refused);
    assert_eq!(engine.decide(&loose).decision, Decision::Allow);

    let mut g = c.benchmark_group(group);
    for (name, req) in [
        ("allow_by_principal", &allowed),
        ("deny_policy", &denied),
        ("no_allow_matched", &unmatched),
        ("allow_by_regex_and_header", &regex),
        ("invalid_path", &invalid),
        ("allow_on_every_loose_reading", &loose),
    ] {
        g.bench_function(name, |b| b.iter(|| black_box(engine.decide(black_box(req)).decision)));
    }
    g.bench_function("decide_and_event_json", |b| {
        b.iter(|| black_box(engine.decide(black_box(&denied)).event_json()))
    });
    // Observation, per request: the key from the ruling (at request headers), then the record
    // at the end of the stream into a window that already holds the key.
    let ruling = engine.decide(&allowed);
    let exchange = Exchange {
        status: Some(200),
        content_type: Some("application/json; charset=utf-8"),
        request_bytes: 0,
        response_bytes: 512,
        latency_ms: 3,
        decision: ruling.decision,
    };
    let mut table = Aggregator::new(&engine.observe(), Mode::Enforce, 0);
    g.bench_function("observe_key_and_record", |b| {
        b.iter(|| {
            let key = RequestKey::from_ruling(black_box(&ruling), Some("svc123.shop.svc.cluster.local"));
            black_box(table.record(key, black_box(&exchange), 1))
        })
    });
    g.finish();
}

/// Behaviour analytics per request through the filter's native half: `Seen::read` from the
/// ruling at request headers, `verdict` (probing in enforce mode, so it reads the records),
/// then `observe` at the end of the stream (a client and an endpoint record, both existing).
fn analytics(c: &mut Criterion) {
    let doc =
        "analytics:\n  engine:\n    key: 00112233445566778899aabbccddeeff\n    probing: {common: {mode: enforce}}\n";
    let engine = Engine::from_text(doc).expect("analytics document");
    let settings = engine.analytics();
    let brain = Analytics::new(settings.engine.clone()).expect("engine config");
    let mut store = MemoryStore::new(settings.engine.slots);
    let headers = vec![("user-agent".to_string(), "bench".to_string())];
    let ruling = engine.decide(&Request {
        method: "GET",
        path: "/products/42",
        authority: "shop.example",
        headers: &headers,
        source_address: Some("192.0.2.7:40000"),
        ..Request::default()
    });
    let mut now = 1_796_672_400_000u64;
    let mut g = c.benchmark_group("policy_analytics");
    g.bench_function("seen_verdict_observe", |b| {
        b.iter(|| {
            now += 7;
            let seen = Seen::read(black_box(&ruling), settings, &headers, None);
            let blocked = brain.verdict(&seen.entities(), now, &mut store);
            let alerts = seen
                .observation(Some(200), 512, None)
                .map(|obs| brain.observe(&obs, now, &mut store));
            black_box((blocked, alerts))
        })
    });
    g.finish();
}

/// A flush of a full window (1,000 keys, the default `observe.max_keys`): the JSON lines.
fn observe_flush(c: &mut Criterion) {
    let engine = Engine::from_text("").expect("zero config");
    let exchange = Exchange {
        status: Some(200),
        content_type: Some("text/html"),
        request_bytes: 0,
        response_bytes: 1024,
        latency_ms: 2,
        decision: Decision::Allow,
    };
    let paths: Vec<String> = (0..1000).map(|i| format!("/items/{i}")).collect();
    let keys: Vec<RequestKey> = paths
        .iter()
        .map(|path| {
            let r = engine.decide(&Request {
                method: "GET",
                path,
                authority: "shop.example",
                source_address: Some("10.0.0.1:4000"),
                ..Request::default()
            });
            RequestKey::from_ruling(&r, None)
        })
        .collect();
    let mut g = c.benchmark_group("policy_observe");
    g.sample_size(20);
    g.bench_function("flush_1000_keys", |b| {
        b.iter_batched(
            || {
                let mut table = Aggregator::new(&engine.observe(), Mode::Detect, 0);
                for k in &keys {
                    table.record(k.clone(), &exchange, 1);
                }
                table
            },
            |mut table| black_box(table.flush(60_000_000_000).len()),
            criterion::BatchSize::LargeInput,
        )
    });
    g.finish();
}

criterion_group!(benches, decide, observe_flush, analytics);
criterion_group! {
    name = cpu;
    config = Criterion::default().with_measurement(ThreadCpuTime);
    targets = decide_cpu
}
criterion_main!(benches, cpu);
