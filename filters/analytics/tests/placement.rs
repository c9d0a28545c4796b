//! Two-choice placement through the engine: entities sharing a first slot both keep their
//! state, a new entity evicts the idler candidate and spares a running block, takes an expired
//! one first, and `verdict` finds a record in its second slot.

use meshward_analytics::config::Mode;
use meshward_analytics::{Analytics, Config, Entity, EntityKind, MemoryStore, Observation, Record, Store};

const T0: u64 = 1_796_672_788_000;
const SLOTS: u32 = 1_000;

/// Clients only (no endpoint records), so every record in the table is a client's.
fn engine(probing: Mode) -> Analytics {
    let mut c = Config {
        key: "00112233445566778899aabbccddeeff".into(),
        slots: SLOTS,
        ..Config::default()
    };
    c.response_size.common.enabled = false;
    c.probing.common.mode = probing;
    Analytics::new(c).unwrap()
}

fn miss<'a>(ip: &'a str, path: &'a str) -> Observation<'a> {
    Observation {
        client_ip: Some(ip),
        method: "GET",
        path,
        status: 404,
        response_bytes: 100,
        ..Observation::default()
    }
}

fn ip(i: u32) -> String {
    format!("10.{}.{}.{}", i >> 16, (i >> 8) & 255, i & 255)
}

/// Two client IPs whose first slots are equal (and second slots differ).
fn colliding(engine: &Analytics) -> (String, String) {
    let mut by_first = std::collections::HashMap::new();
    for i in 0..100_000 {
        let a = ip(i);
        let [first, second] = engine.candidates(&Entity::Client(&a));
        if let Some((b, b_second)) = by_first.insert(first, (a.clone(), second)) {
            if b_second != second {
                return (b, a);
            }
        }
    }
    panic!("no collision in 100k addresses");
}

/// The record in `slot`, if any.
fn record(store: &mut MemoryStore, slot: u32) -> Option<Record> {
    store.load(slot).and_then(|(b, _)| Record::from_bytes(&b))
}

/// Writes another entity's record, last seen at `last_seen`, into `slot`.
fn occupy(store: &mut MemoryStore, slot: u32, fingerprint: u64, last_seen: u64) -> Record {
    let rec = Record::new(EntityKind::Client, fingerprint, last_seen);
    store.store(slot, &rec.to_bytes(), None).unwrap();
    rec
}

/// 404s on `n` distinct paths from `ip`; the alerts raised.
fn probe(engine: &Analytics, store: &mut MemoryStore, ip: &str, tag: &str, n: usize, now: u64) -> usize {
    (0..n)
        .map(|k| engine.observe(&miss(ip, &format!("/{tag}{k}")), now, store).len())
        .sum()
}

#[test]
fn two_entities_sharing_a_first_slot_both_keep_their_state() {
    let engine = engine(Mode::Detect);
    let mut store = MemoryStore::new(SLOTS);
    let (a, b) = colliding(&engine);
    // Interleaved: each builds 15 of the 20 distinct errors probing needs.
    for k in 0..15 {
        probe(&engine, &mut store, &a, &format!("a{k}-"), 1, T0);
        probe(&engine, &mut store, &b, &format!("b{k}-"), 1, T0);
    }
    let s = engine.stats();
    assert_eq!((s.created, s.evictions), (2, 0), "{s:?}");
    let [shared, a_second] = engine.candidates(&Entity::Client(&a));
    let [_, b_second] = engine.candidates(&Entity::Client(&b));
    assert!(record(&mut store, a_second).is_none());
    // Neither forgot its errors (a record restarted by eviction would hold one; the 128-bit
    // path sketch may merge a couple of the 15).
    for (slot, who) in [(shared, "first"), (b_second, "second, in its second slot")] {
        let level = record(&mut store, slot).map_or(0.0, |r| r.probe.level);
        assert!(level >= 12.0, "the {who} entity's level is {level}");
    }
}

#[test]
fn a_new_entity_evicts_the_idler_candidate() {
    for (first_seen, second_seen, evicted) in [(T0 - 9_000, T0 - 1_000, 0), (T0 - 1_000, T0 - 9_000, 1)] {
        let engine = engine(Mode::Detect);
        let mut store = MemoryStore::new(SLOTS);
        let c = ip(7);
        let slots = engine.candidates(&Entity::Client(&c));
        let olds = [
            occupy(&mut store, slots[0], 0x1111, first_seen),
            occupy(&mut store, slots[1], 0x2222, second_seen),
        ];
        engine.observe(&miss(&c, "/"), T0, &mut store);
        assert_eq!(engine.stats().evictions, 1);
        let kept = 1 - evicted;
        assert_eq!(
            record(&mut store, slots[kept]),
            Some(olds[kept]),
            "the busier one stays"
        );
        let new = record(&mut store, slots[evicted]).unwrap();
        assert!(new.fingerprint != 0x1111 && new.fingerprint != 0x2222 && new.first_seen == T0);
    }
}

#[test]
fn a_running_enforce_block_is_spared_even_when_idler() {
    for (mode, evicted) in [(Mode::Enforce, 1), (Mode::Detect, 0)] {
        let engine = engine(mode);
        let mut store = MemoryStore::new(SLOTS);
        let c = ip(9);
        let slots = engine.candidates(&Entity::Client(&c));
        // The first is the idler but has a probing block (or, in detect mode, a quiet period)
        // running for another 100 s.
        let mut blocked = Record::new(EntityKind::Client, 0x1111, T0 - 60_000);
        blocked.until[0] = (T0 / 1000) as u32 + 100;
        store.store(slots[0], &blocked.to_bytes(), None).unwrap();
        occupy(&mut store, slots[1], 0x2222, T0 - 1_000);
        engine.observe(&miss(&c, "/"), T0, &mut store);
        assert_eq!(engine.stats().evictions, 1, "{mode:?}");
        let gone = record(&mut store, slots[evicted]).unwrap().fingerprint;
        assert!(gone != 0x1111 && gone != 0x2222, "{mode:?}");
        if mode == Mode::Enforce {
            assert_eq!(record(&mut store, slots[0]), Some(blocked), "the block survives");
        }
    }
}

#[test]
fn an_expired_candidate_is_reclaimed_before_a_live_one_is_evicted() {
    let engine = engine(Mode::Detect);
    let mut store = MemoryStore::new(SLOTS);
    let c = ip(11);
    let slots = engine.candidates(&Entity::Client(&c));
    let live = occupy(&mut store, slots[0], 0x1111, T0 - 1_000);
    // Idle for two hours (idle_secs is one).
    occupy(&mut store, slots[1], 0x2222, T0 - 7_200_000);
    engine.observe(&miss(&c, "/"), T0, &mut store);
    let s = engine.stats();
    assert_eq!((s.created, s.evictions, s.expired), (1, 0, 1), "{s:?}");
    assert_eq!(record(&mut store, slots[0]), Some(live));
    assert_eq!(record(&mut store, slots[1]).unwrap().first_seen, T0);
}

#[test]
fn verdict_finds_a_block_in_the_second_slot() {
    let engine = engine(Mode::Enforce);
    let mut store = MemoryStore::new(SLOTS);
    let c = ip(13);
    let slots = engine.candidates(&Entity::Client(&c));
    let other = occupy(&mut store, slots[0], 0x1111, T0);
    assert_eq!(probe(&engine, &mut store, &c, "p", 40, T0), 1, "probing fired");
    assert_eq!(
        record(&mut store, slots[0]),
        Some(other),
        "the first slot is someone else's"
    );
    assert!(record(&mut store, slots[1]).is_some_and(|r| r.until[0] > 0));
    let v = engine.verdict(&[Entity::Client(&c)], T0 + 1_000, &mut store);
    assert!(v.is_some(), "the block in the second slot is found");
    assert_eq!(engine.verdict(&[Entity::Client(&ip(14))], T0 + 1_000, &mut store), None);
}
