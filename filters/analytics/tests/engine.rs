//! The engine over the in-memory table: every detector fires through `observe`, alerts match
//! their schema, enforce mode blocks and expires, the table stays bounded and evicts, CAS
//! conflicts retry, garbage slots read as empty, and the sweep clears idle records.

use std::path::PathBuf;

use meshward_analytics::config::Mode;
use meshward_analytics::{
    Alert, Analytics, Cas, Config, Detector, Entity, EntityKind, MemoryStore, Observation, Store, StoreError,
    RECORD_LEN,
};

const T0: u64 = 1_796_672_788_000;
const KEY: &str = "0123456789abcdef0123456789abcdef";

fn config(slots: u32) -> Config {
    let mut c = Config {
        key: KEY.into(),
        slots,
        ..Config::default()
    };
    for n in [&mut c.first_seen_endpoint, &mut c.new_caller, &mut c.new_egress] {
        n.learning_secs = 60;
    }
    c
}

fn get<'a>(ip: &'a str, path: &'a str, status: u16) -> Observation<'a> {
    Observation {
        client_ip: Some(ip),
        method: "GET",
        path,
        status,
        response_bytes: 1_000,
        ..Observation::default()
    }
}

fn schema_check(alert: &Alert) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/schema/alert-event.schema.json");
    let schema: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let event: serde_json::Value = serde_json::from_str(&alert.to_json()).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&event)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{event} violates the schema: {errors:?}");
}

/// Runs `steps` and returns every alert with the step index it came from.
fn run(engine: &Analytics, store: &mut MemoryStore, steps: &[(u64, Observation<'_>)]) -> Vec<(usize, Alert)> {
    let mut out = Vec::new();
    for (i, (t, obs)) in steps.iter().enumerate() {
        for a in engine.observe(obs, *t, store) {
            out.push((i, a));
        }
    }
    out
}

#[test]
fn every_detector_fires_through_observe_with_a_schema_valid_alert() {
    let engine = Analytics::new(config(10_000)).unwrap();
    let mut store = MemoryStore::new(10_000);
    let paths: Vec<String> = (0..200).map(|i| format!("/p/{i}")).collect();
    let users: Vec<String> = (0..30).map(|i| format!("user{i}@example.com")).collect();
    let ips: Vec<String> = (0..30).map(|i| format!("192.0.2.{i}")).collect();
    let mut seen = std::collections::HashMap::new();
    let mut note = |alerts: Vec<Alert>| {
        for a in alerts {
            schema_check(&a);
            seen.entry(a.detector).or_insert(a);
        }
    };
    // probing: distinct 404s.
    for (i, p) in paths.iter().take(40).enumerate() {
        note(engine.observe(&get("198.51.100.1", p, 404), T0 + i as u64 * 500, &mut store));
    }
    // crawling: distinct 200s.
    for (i, p) in paths.iter().enumerate() {
        note(engine.observe(&get("198.51.100.2", p, 200), T0 + i as u64 * 200, &mut store));
    }
    // brute_force: one source, many usernames; one username, many sources.
    for (i, u) in users.iter().enumerate() {
        let obs = Observation {
            username: Some(u),
            ..get("198.51.100.3", "/login", 401)
        };
        note(engine.observe(&obs, T0 + i as u64 * 1000, &mut store));
    }
    for (i, ip) in ips.iter().enumerate() {
        let obs = Observation {
            username: Some("victim"),
            ..get(ip, "/login", 401)
        };
        note(engine.observe(&obs, T0 + i as u64 * 1000, &mut store));
    }
    // rate_spike: 10 minutes at 5 per 10 s, then 300 in 10 s.
    let mut t = T0;
    for _ in 0..60 {
        for k in 0..5 {
            note(engine.observe(&get("198.51.100.4", "/", 200), t + k * 1000, &mut store));
        }
        t += 10_000;
    }
    for k in 0..300 {
        note(engine.observe(&get("198.51.100.4", "/", 200), t + k * 30, &mut store));
    }
    // first_seen_endpoint and new_caller: a principal calls /a during learning, /b after.
    let caller = |p: &'static str, path: &'static str| Observation {
        principal: Some(p),
        workload: Some("shop"),
        ..get("10.0.0.9", path, 200)
    };
    note(engine.observe(&caller("spiffe://td/ns/a/sa/x", "/a"), T0, &mut store));
    note(engine.observe(&caller("spiffe://td/ns/a/sa/x", "/b"), T0 + 61_000, &mut store));
    note(engine.observe(&caller("spiffe://td/ns/a/sa/new", "/a"), T0 + 62_000, &mut store));
    // new_egress.
    let egress = |host: &'static str| Observation {
        destination_host: Some(host),
        workload: Some("billing"),
        ..get("10.0.0.8", "/", 200)
    };
    note(engine.observe(&egress("api.stripe.com"), T0, &mut store));
    note(engine.observe(&egress("evil.example"), T0 + 61_000, &mut store));
    // response_size: 100 small responses, then a huge one.
    for i in 0..100 {
        let obs = Observation {
            response_bytes: 2_000 + i % 50,
            ..get("10.0.0.7", "/export", 200)
        };
        note(engine.observe(&obs, T0 + i * 1000, &mut store));
    }
    let obs = Observation {
        response_bytes: 50_000_000,
        ..get("10.0.0.7", "/export", 200)
    };
    note(engine.observe(&obs, T0 + 200_000, &mut store));

    for d in Detector::ALL {
        assert!(
            seen.contains_key(&d),
            "{} never fired; fired: {:?}",
            d.name(),
            seen.keys()
        );
    }
    let json = seen.values().map(Alert::to_json).collect::<Vec<_>>().join("\n");
    assert!(
        !json.contains("victim") && !json.contains("@example.com"),
        "a username leaked: {json}"
    );
    let bf: Vec<&Alert> = seen.values().filter(|a| a.detector == Detector::BruteForce).collect();
    assert_eq!(bf[0].entity_kind, EntityKind::Client);
    assert_eq!(seen[&Detector::FirstSeenEndpoint].subject.as_deref(), Some("GET /b"));
    assert_eq!(
        seen[&Detector::NewCaller].subject.as_deref(),
        Some("spiffe://td/ns/a/sa/new")
    );
    assert_eq!(seen[&Detector::NewEgress].subject.as_deref(), Some("evil.example"));
    assert_eq!(seen[&Detector::ResponseSize].entity, "GET /export");
    assert!(engine.stats().alerts >= 8);
}

#[test]
fn crawling_watches_clients_and_users_but_not_service_principals() {
    let engine = Analytics::new(config(10_000)).unwrap();
    let mut store = MemoryStore::new(10_000);
    let paths: Vec<String> = (0..200).map(|i| format!("/products/{i}")).collect();
    let mut fired = Vec::new();
    for (i, p) in paths.iter().enumerate() {
        let obs = Observation {
            principal: Some("spiffe://cluster.local/ns/web/sa/frontend"),
            user: Some("carol"),
            ..Observation {
                client_ip: None,
                ..get("", p, 200)
            }
        };
        for a in engine.observe(&obs, T0 + i as u64 * 100, &mut store) {
            fired.push((a.detector, a.entity_kind));
        }
    }
    assert_eq!(
        fired,
        [(Detector::Crawling, EntityKind::User)],
        "a service's distinct ids are its data"
    );
}

#[test]
fn distributed_failures_on_one_username_alert_on_the_hashed_username() {
    let engine = Analytics::new(config(1_000)).unwrap();
    let mut store = MemoryStore::new(1_000);
    let ips: Vec<String> = (0..30).map(|i| format!("203.0.113.{i}")).collect();
    let alerts: Vec<Alert> = ips
        .iter()
        .enumerate()
        .flat_map(|(i, ip)| {
            let obs = Observation {
                username: Some("alice"),
                ..get(ip, "/login", 401)
            };
            engine.observe(&obs, T0 + i as u64 * 1000, &mut store)
        })
        .collect();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    let a = &alerts[0];
    assert_eq!(
        (a.detector, a.entity_kind),
        (Detector::BruteForce, EntityKind::Username)
    );
    assert!(a.entity.starts_with("fp:") && !a.to_json().contains("alice"));
    schema_check(a);
}

#[test]
fn enforce_mode_blocks_until_the_duration_ends_and_detect_mode_never_blocks() {
    let mut c = config(1_000);
    c.probing.common.mode = Mode::Enforce;
    c.probing.common.action.status = 403;
    c.probing.common.action.duration_secs = 120;
    let engine = Analytics::new(c).unwrap();
    let mut store = MemoryStore::new(1_000);
    let who = [Entity::Client("198.51.100.1")];
    let paths: Vec<String> = (0..40).map(|i| format!("/wp-{i}.php")).collect();
    let mut fired_at = None;
    for (i, p) in paths.iter().enumerate() {
        let now = T0 + i as u64 * 100;
        if engine.verdict(&who, now, &mut store).is_some() {
            break;
        }
        for a in engine.observe(&get("198.51.100.1", p, 404), now, &mut store) {
            assert!(a.enforced && a.status == Some(403));
            schema_check(&a);
            println!("{}", a.to_json());
            fired_at = Some(now);
        }
    }
    let at = fired_at.expect("probing fired");
    let v = engine.verdict(&who, at + 1_000, &mut store).expect("blocked");
    assert_eq!(
        (v.detector, v.status, v.entity_kind),
        (Detector::Probing, 403, EntityKind::Client)
    );
    assert!(v.until_ms > at + 119_000 && v.until_ms <= at + 121_000);
    assert_eq!(
        engine.verdict(&[Entity::Client("198.51.100.2")], at, &mut store),
        None,
        "another client"
    );
    assert_eq!(engine.verdict(&who, v.until_ms + 1_000, &mut store), None, "expired");

    let engine = Analytics::new(config(1_000)).unwrap();
    let mut store = MemoryStore::new(1_000);
    let alerts = run(
        &engine,
        &mut store,
        &paths
            .iter()
            .map(|p| (T0, get("198.51.100.1", p, 404)))
            .collect::<Vec<_>>(),
    );
    assert_eq!(alerts.len(), 1, "detect mode: one alert per episode");
    assert!(!alerts[0].1.enforced);
    assert_eq!(engine.verdict(&who, T0 + 1, &mut store), None);
}

#[test]
fn an_episode_alerts_once_and_after_decay_the_entity_is_quiet_again() {
    let engine = Analytics::new(config(1_000)).unwrap();
    let mut store = MemoryStore::new(1_000);
    let paths: Vec<String> = (0..300).map(|i| format!("/scan/{i}")).collect();
    let scan: Vec<_> = paths
        .iter()
        .take(40)
        .enumerate()
        .map(|(i, p)| (T0 + i as u64 * 500, get("198.51.100.9", p, 404)))
        .collect();
    assert_eq!(run(&engine, &mut store, &scan).len(), 1);
    // An hour later: ordinary traffic with a stray 404 or two raises nothing.
    let later = T0 + 3_600_000;
    let calm: Vec<_> = (0..100u64)
        .map(|i| {
            (
                later + i * 5_000,
                get(
                    "198.51.100.9",
                    if i % 40 == 0 { "/favicon.ico" } else { "/" },
                    if i % 40 == 0 { 404 } else { 200 },
                ),
            )
        })
        .collect();
    assert_eq!(run(&engine, &mut store, &calm), Vec::new());
    // A new scan after the quiet period alerts again.
    let again: Vec<_> = paths
        .iter()
        .skip(100)
        .take(40)
        .enumerate()
        .map(|(i, p)| (later + 600_000 + i as u64 * 500, get("198.51.100.9", p, 404)))
        .collect();
    let alerts = run(&engine, &mut store, &again);
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].1.detector, Detector::Probing);
}

#[test]
fn the_table_stays_bounded_and_colliding_entities_evict() {
    let slots = 10_000u32;
    // Clients only (no endpoint records), so every store is one client's.
    let mut c = config(slots);
    c.response_size.common.enabled = false;
    let engine = Analytics::new(c).unwrap();
    let mut store = MemoryStore::new(slots);
    let before = store.memory_bytes();
    let ips: Vec<String> = (0..50_000u32)
        .map(|i| format!("10.{}.{}.{}", i >> 16, (i >> 8) & 255, i & 255))
        .collect();
    for (i, ip) in ips.iter().enumerate() {
        engine.observe(&get(ip, "/", 200), T0 + i as u64, &mut store);
    }
    assert_eq!(store.memory_bytes(), before, "no growth");
    assert!(
        store.memory_bytes() <= slots as usize * 256,
        "{} bytes",
        store.memory_bytes()
    );
    assert!(store.occupied() <= slots as usize);
    let s = engine.stats();
    assert_eq!(s.created + s.evictions, 50_000, "{s:?}");
    assert!(s.evictions >= 40_000, "{s:?}");
    assert!(store.occupied() > 9_000, "{} occupied", store.occupied());

    // One slot: a second entity replaces the first, whose state restarts from nothing.
    let engine = Analytics::new(c_one_slot()).unwrap();
    let mut store = MemoryStore::new(1);
    let scan: Vec<String> = (0..15).map(|i| format!("/x{i}")).collect();
    for p in &scan {
        engine.observe(&get("198.51.100.1", p, 404), T0, &mut store);
    }
    engine.observe(&get("198.51.100.2", "/", 200), T0, &mut store);
    assert_eq!(engine.stats().evictions, 1);
    let alerts: usize = scan
        .iter()
        .map(|p| {
            engine
                .observe(&get("198.51.100.1", &format!("{p}b"), 404), T0, &mut store)
                .len()
        })
        .sum();
    assert_eq!(alerts, 0, "the evicted prober's 15 errors were forgotten");
}

fn c_one_slot() -> Config {
    let mut c = config(1);
    c.response_size.common.enabled = false;
    c
}

/// A store whose next `fail` stores conflict, as if another VM wrote the slot first.
struct Contended {
    inner: MemoryStore,
    fail: u32,
}

impl Store for Contended {
    fn load(&mut self, slot: u32) -> Option<(Vec<u8>, Cas)> {
        self.inner.load(slot)
    }
    fn store(&mut self, slot: u32, bytes: &[u8], cas: Option<Cas>) -> Result<(), StoreError> {
        if self.fail > 0 {
            self.fail -= 1;
            return Err(StoreError::Conflict { slot });
        }
        self.inner.store(slot, bytes, cas)
    }
}

#[test]
fn conflicts_retry_without_duplicate_alerts_and_give_up_after_the_limit() {
    let engine = Analytics::new(config(100)).unwrap();
    let mut store = Contended {
        inner: MemoryStore::new(100),
        fail: 0,
    };
    let paths: Vec<String> = (0..40).map(|i| format!("/y{i}")).collect();
    let mut alerts = 0;
    for p in &paths {
        store.fail = 2; // two conflicts, then the third attempt lands
        alerts += engine.observe(&get("198.51.100.1", p, 404), T0, &mut store).len();
    }
    assert_eq!(alerts, 1);
    let s = engine.stats();
    assert_eq!((s.conflicts, s.dropped), (80, 0));
    store.fail = 3;
    engine.observe(&get("198.51.100.5", "/", 200), T0, &mut store);
    assert_eq!(engine.stats().dropped, 1);
}

#[test]
fn garbage_in_a_slot_reads_as_empty_and_the_sweep_clears_idle_records() {
    let engine = Analytics::new(config(16)).unwrap();
    let mut store = MemoryStore::new(16);
    let client = Entity::Client("198.51.100.7");
    let [slot, _] = engine.candidates(&client);
    store.store(slot, &[0xff; 100], None).unwrap();
    assert!(engine
        .observe(&get("198.51.100.7", "/", 200), T0, &mut store)
        .is_empty());
    assert_eq!(store.load(slot).unwrap().0.len(), RECORD_LEN, "rewritten as a record");
    let other = (0..16).find(|&s| store.load(s).is_none()).unwrap();
    store.store(other, &[1, 2, 3], None).unwrap();
    assert_eq!(engine.decay(T0 + 1_000, &mut store, 100), 16);
    assert_eq!(store.load(other).unwrap().0.len(), 0, "garbage cleared");
    assert_eq!(store.occupied(), 2, "the live records (client, endpoint) stay");
    engine.decay(T0 + 3_600_000, &mut store, 16);
    assert_eq!(store.occupied(), 0, "idle for idle_secs: expired");
    assert_eq!(engine.stats().expired, 2);
}

#[test]
fn the_sweep_is_incremental() {
    let engine = Analytics::new(config(100)).unwrap();
    let mut store = MemoryStore::new(100);
    let ips: Vec<String> = (0..200).map(|i| format!("10.9.0.{i}")).collect();
    for ip in &ips {
        engine.observe(&get(ip, "/", 200), T0, &mut store);
    }
    let live = store.occupied();
    let idle = T0 + 7_200_000;
    assert_eq!(engine.decay(idle, &mut store, 30), 30);
    assert!(store.occupied() >= live - 30 && store.occupied() < live);
    engine.decay(idle, &mut store, 70);
    assert_eq!(store.occupied(), 0);
}
