//! `observe` per request over a table of 10k and 100k entities (clients), and the verdict at
//! request start. Prints the table's memory per entity and in total.

// criterion_group! defines public functions, which cannot carry a doc comment.
#![allow(missing_docs)]

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use meshward_analytics::{Analytics, Config, Entity, MemoryStore, Mode, Observation, RECORD_LEN};

const PATHS: [&str; 8] = [
    "/",
    "/api/items",
    "/api/items/42",
    "/api/cart",
    "/login",
    "/static/app.js",
    "/api/search",
    "/missing",
];

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("analytics");
    for entities in [10_000u32, 100_000] {
        let mut config = Config {
            key: "5eed5eed5eed5eed0123456789abcdef".into(),
            slots: entities,
            ..Config::default()
        };
        // One enforcing detector, so that the verdict reads the records (in detect mode it
        // returns at once).
        config.probing.common.mode = Mode::Enforce;
        let engine = Analytics::new(config).expect("valid config");
        let mut store = MemoryStore::new(entities);
        let clients: Vec<String> = (0..entities)
            .map(|i| format!("10.{}.{}.{}", i >> 16, (i >> 8) & 255, i & 255))
            .collect();
        let principals: Vec<String> = (0..64)
            .map(|i| format!("spiffe://cluster.local/ns/shop/sa/svc-{i}"))
            .collect();
        let mut now = 1_796_672_788_000u64;
        // Warm the table: every entity has a record.
        for (i, ip) in clients.iter().enumerate() {
            let obs = observation(ip, &principals[i % principals.len()], i);
            engine.observe(&obs, now, &mut store);
        }
        println!(
            "table: {entities} slots, {} occupied, {RECORD_LEN} bytes encoded per entity, {} bytes in memory ({:.1} MiB)",
            store.occupied(),
            store.memory_bytes(),
            store.memory_bytes() as f64 / 1_048_576.0
        );
        let mut i = 0usize;
        group.bench_function(format!("observe/{entities}"), |b| {
            b.iter(|| {
                i = (i + 7919) % clients.len();
                now += 3;
                let obs = observation(&clients[i], &principals[i % principals.len()], i);
                black_box(engine.observe(black_box(&obs), now, &mut store))
            })
        });
        group.bench_function(format!("verdict/{entities}"), |b| {
            b.iter(|| {
                i = (i + 7919) % clients.len();
                let entities = [
                    Entity::Principal(&principals[i % principals.len()]),
                    Entity::Client(&clients[i]),
                ];
                black_box(engine.verdict(black_box(&entities), now, &mut store))
            })
        });
    }
    group.finish();
}

fn observation<'a>(ip: &'a str, principal: &'a str, i: usize) -> Observation<'a> {
    let path = PATHS[i % PATHS.len()];
    Observation {
        principal: Some(principal),
        client_ip: Some(ip),
        user: None,
        username: None,
        method: "GET",
        path,
        path_template: Some(path),
        status: if path == "/missing" { 404 } else { 200 },
        response_bytes: 1_000 + (i as u64 % 5_000),
        destination_host: None,
        workload: Some("shop"),
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
