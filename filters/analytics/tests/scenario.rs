//! A simulated half hour: 1,000 ordinary clients (seeded generator) plus a prober, a
//! brute-forcer, a crawler and a rate spiker. Each attacker must raise its own detector's alert
//! during its attack and no ordinary client may raise any; precision and recall per detector
//! are printed.

use std::collections::{BTreeMap, BTreeSet};

use meshward_analytics::{Analytics, Config, Detector, MemoryStore, Observation};

const T0: u64 = 1_796_672_788_000;
const SECONDS: u64 = 1_800;

/// SplitMix64: a small seeded generator (reproducible runs).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// One request of the simulation (owned strings; borrowed into an `Observation`).
struct Req {
    ip: String,
    path: String,
    template: &'static str,
    method: &'static str,
    status: u16,
    bytes: u64,
    username: Option<String>,
}

impl Req {
    fn observation(&self) -> Observation<'_> {
        Observation {
            client_ip: Some(&self.ip),
            method: self.method,
            path: &self.path,
            path_template: Some(self.template),
            status: self.status,
            response_bytes: self.bytes,
            username: self.username.as_deref(),
            ..Observation::default()
        }
    }
}

fn ordinary(rng: &mut Rng, ip: &str, user: usize) -> Req {
    let roll = rng.unit();
    if roll < 0.005 {
        let fail = rng.unit() < 0.2;
        return Req {
            ip: ip.into(),
            path: "/login".into(),
            template: "/login",
            method: "POST",
            status: if fail { 401 } else { 200 },
            bytes: 300,
            username: Some(format!("user{user}")),
        };
    }
    let id = rng.below(500);
    let missing = rng.unit() < 0.01;
    Req {
        ip: ip.into(),
        path: format!("/products/{id}"),
        template: "/products/{id}",
        method: "GET",
        status: if missing { 404 } else { 200 },
        bytes: if missing { 200 } else { 5_000 + rng.below(15_000) },
        username: None,
    }
}

const PROBER: &str = "203.0.113.10";
const BRUTE: &str = "203.0.113.20";
const CRAWLER: &str = "203.0.113.30";
const SPIKER: &str = "10.99.0.1";

/// The attackers' requests in second `s` (and the attack windows, for the timing checks).
fn attacks(s: u64, rng: &mut Rng) -> Vec<Req> {
    let mut out = Vec::new();
    let req = |ip: &str, path: String, template: &'static str, method, status, username| Req {
        ip: ip.into(),
        path,
        template,
        method,
        status,
        bytes: 200,
        username,
    };
    // Prober: a new admin path every 2 s for 2 minutes (404s).
    if (600..720).contains(&s) && s.is_multiple_of(2) {
        out.push(req(
            PROBER,
            format!("/admin-{s}.php"),
            "/admin-{s}.php",
            "GET",
            404,
            None,
        ));
    }
    // Brute-forcer: a new username every 3 s for 3 minutes (401s).
    if (900..1080).contains(&s) && s.is_multiple_of(3) {
        out.push(req(
            BRUTE,
            "/login".into(),
            "/login",
            "POST",
            401,
            Some(format!("guess{s}")),
        ));
    }
    // Crawler: 3 new product pages a second for 2 minutes.
    if (1200..1320).contains(&s) {
        for k in 0..3 {
            let mut r = req(
                CRAWLER,
                format!("/products/{}", 10_000 + s * 3 + k),
                "/products/{id}",
                "GET",
                200,
                None,
            );
            r.bytes = 5_000 + rng.below(15_000);
            out.push(r);
        }
    }
    // Spiker: an ordinary client (below) that bursts to 15 requests a second for 30 s.
    if (1500..1530).contains(&s) {
        for k in 0..15 {
            let mut r = req(
                SPIKER,
                format!("/products/{}", k % 5),
                "/products/{id}",
                "GET",
                200,
                None,
            );
            r.bytes = 5_000 + rng.below(15_000);
            out.push(r);
        }
    }
    out
}

#[test]
fn each_attacker_raises_its_own_alert_and_ordinary_clients_none() {
    let config = Config {
        key: "a5a5a5a5deadbeef0123456789abcdef".into(),
        slots: 100_000,
        ..Config::default()
    };
    let engine = Analytics::new(config).unwrap();
    let mut store = MemoryStore::new(100_000);
    let mut rng = Rng(0x5eed);
    let clients: Vec<(String, f64)> = (0..1_000)
        .map(|i| {
            (
                format!("10.{}.{}.{}", 1 + i / 65_536, (i / 256) % 256, i % 256),
                0.02 + 0.28 * rng.unit(),
            )
        })
        .collect();
    let expected = [
        (Detector::Probing, PROBER, 600..720),
        (Detector::BruteForce, BRUTE, 900..1080),
        (Detector::Crawling, CRAWLER, 1200..1320),
        (Detector::RateSpike, SPIKER, 1500..1530),
    ];
    // detector → entity → second of its first alert
    let mut alerts: BTreeMap<&'static str, BTreeMap<String, u64>> = BTreeMap::new();
    let mut requests = 0u64;
    for s in 0..SECONDS {
        let mut batch = attacks(s, &mut rng);
        for (i, (ip, rate)) in clients.iter().enumerate() {
            if rng.unit() < *rate {
                batch.push(ordinary(&mut rng, ip, i));
            }
        }
        if rng.unit() < 0.2 {
            batch.push(ordinary(&mut rng, SPIKER, 9_999));
        }
        for (k, r) in batch.iter().enumerate() {
            requests += 1;
            let now = T0 + s * 1000 + (k as u64 * 997) % 1000;
            for a in engine.observe(&r.observation(), now, &mut store) {
                alerts
                    .entry(a.detector.name())
                    .or_default()
                    .entry(a.entity.clone())
                    .or_insert(s);
            }
        }
    }
    let stats = engine.stats();
    println!("{requests} requests, {} records, {stats:?}", store.occupied());
    println!("{:<20} {:>9} {:>6} {:>6}", "detector", "precision", "recall", "alerts");
    for (d, attacker, window) in &expected {
        let flagged = alerts.get(d.name()).cloned().unwrap_or_default();
        let tp = usize::from(flagged.contains_key(*attacker));
        let precision = if flagged.is_empty() {
            0.0
        } else {
            tp as f64 / flagged.len() as f64
        };
        println!(
            "{:<20} {precision:>9.3} {:>6.3} {:>6}",
            d.name(),
            tp as f64,
            flagged.len()
        );
        let at = flagged
            .get(*attacker)
            .unwrap_or_else(|| panic!("{} did not flag {attacker}: {flagged:?}", d.name()));
        assert!(
            window.contains(at),
            "{} flagged {attacker} at {at}s, outside its attack {window:?}",
            d.name()
        );
        assert_eq!(flagged.len(), 1, "{} flagged others too: {flagged:?}", d.name());
    }
    let attackers: BTreeSet<&str> = expected.iter().map(|e| e.1).collect();
    for (d, flagged) in &alerts {
        for entity in flagged.keys() {
            assert!(
                attackers.contains(entity.as_str()),
                "{d} flagged ordinary entity {entity}"
            );
        }
    }
    assert_eq!(
        alerts.len(),
        expected.len(),
        "only the four attack detectors fired: {alerts:?}"
    );
    assert!(requests > 200_000, "{requests} requests");
}
