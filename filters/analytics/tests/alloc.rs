//! `observe` and `verdict` allocate nothing on the in-memory table when no alert fires (the
//! request path's budget is a few microseconds; allocations are the first thing to creep in).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};

use meshward_analytics::config::Mode;
use meshward_analytics::{Analytics, Config, Entity, MemoryStore, Observation};

/// Counts allocations made by this test binary.
struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

// SAFETY: defers to the system allocator; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn steady_requests_allocate_nothing() {
    let mut config = Config {
        key: "0123456789abcdef0123456789abcdef".into(),
        slots: 1_000,
        ..Config::default()
    };
    config.probing.common.mode = Mode::Enforce;
    let engine = Analytics::new(config).unwrap();
    let mut store = MemoryStore::new(1_000);
    let ips: Vec<String> = (0..50).map(|i| format!("10.0.0.{i}")).collect();
    let obs = |ip: &'static str, i: u64| Observation {
        principal: Some("spiffe://td/ns/shop/sa/web"),
        client_ip: Some(ip),
        user: Some("u-42"),
        method: "GET",
        path: "/products/7",
        path_template: Some("/products/{id}"),
        status: if i.is_multiple_of(10) { 404 } else { 200 },
        response_bytes: 10_000,
        workload: Some("shop"),
        ..Observation::default()
    };
    let ips: Vec<&'static str> = ips.into_iter().map(|s| &*Box::leak(s.into_boxed_str())).collect();
    let t0 = 1_796_672_788_000u64;
    // Warm-up: records exist and the learning-period novelties are learned.
    for (i, ip) in ips.iter().enumerate() {
        assert!(engine.observe(&obs(ip, i as u64), t0, &mut store).is_empty());
    }
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    for i in 0..2_000u64 {
        let ip = ips[i as usize % ips.len()];
        let alerts = engine.observe(&obs(ip, i), t0 + i * 50, &mut store);
        assert!(alerts.is_empty());
        let who = [Entity::Principal("spiffe://td/ns/shop/sa/web"), Entity::Client(ip)];
        assert_eq!(engine.verdict(&who, t0 + i * 50, &mut store), None);
    }
    let made = ALLOCATIONS.load(Ordering::Relaxed) - before;
    assert_eq!(made, 0, "{made} allocations in 2,000 requests");

    // The counter works: an alert (strings for its event) allocates.
    let scan: Vec<String> = (0..40).map(|i| format!("/scan/{i}")).collect();
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    let alerts: usize = scan
        .iter()
        .map(|p| {
            let o = Observation {
                path: p,
                path_template: None,
                status: 404,
                ..obs("10.0.0.1", 1)
            };
            engine.observe(&o, t0 + 200_000, &mut store).len()
        })
        .sum();
    assert!(alerts > 0);
    assert!(ALLOCATIONS.load(Ordering::Relaxed) > before);
}
