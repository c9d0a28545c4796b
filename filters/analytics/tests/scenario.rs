//! Two simulated half hours, each attacker seeded among ordinary traffic; each attacker must
//! raise its own detector's alert in time and no ordinary entity may raise any. Precision and
//! recall for all eight detectors are printed.
//!
//! - Web: 1,000 ordinary clients plus a prober, a brute-forcer, a crawler and a rate spiker.
//! - Mesh: 22 service principals calling workload `shop`, which calls 4 egress hosts; after a
//!   10-minute learning period a principal calls an endpoint it never called, an endpoint
//!   returns an outsized response, a new principal calls the workload and the workload calls a
//!   new host (each alert due within 30 s of its start).

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;

use meshward_analytics::{
    Alert, Analytics, Cas, Config, Detector, MemoryStore, Observation, Store, StoreError, RECORD_LEN,
};

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

/// The in-memory table, counting loads and stores (the per-request cost in the filter, where
/// each is a shared-data call).
struct Counting {
    inner: MemoryStore,
    loads: u64,
    stores: u64,
}

impl Counting {
    fn new(slots: u32) -> Self {
        Self {
            inner: MemoryStore::new(slots),
            loads: 0,
            stores: 0,
        }
    }

    fn summary(&self) -> String {
        format!(
            "{} records, {:.3} loads per store",
            self.inner.occupied(),
            self.loads as f64 / self.stores.max(1) as f64
        )
    }
}

impl Store for Counting {
    fn load(&mut self, slot: u32) -> Option<(Vec<u8>, Cas)> {
        self.loads += 1;
        self.inner.load(slot)
    }
    fn load_into(&mut self, slot: u32, buf: &mut [u8; RECORD_LEN]) -> Option<(usize, Cas)> {
        self.loads += 1;
        self.inner.load_into(slot, buf)
    }
    fn store(&mut self, slot: u32, bytes: &[u8], cas: Option<Cas>) -> Result<(), StoreError> {
        self.stores += 1;
        self.inner.store(slot, bytes, cas)
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

/// What a scenario produced: per detector, who it flagged and the second of the first alert;
/// and who each detector should flag, with the seconds its first alert is due in.
#[derive(Default)]
struct Outcome {
    alerts: BTreeMap<&'static str, BTreeMap<String, u64>>,
    expected: Vec<(Detector, String, Range<u64>)>,
}

impl Outcome {
    /// Records an alert: the flagged one is the entity, except for the workload's novelties,
    /// where it is the new caller or host (the subject).
    fn record(&mut self, a: &Alert, s: u64) {
        let who = match a.detector {
            Detector::NewCaller | Detector::NewEgress => a.subject.clone().unwrap_or_default(),
            _ => a.entity.clone(),
        };
        self.alerts
            .entry(a.detector.name())
            .or_default()
            .entry(who)
            .or_insert(s);
    }

    /// Each expected attacker flagged in its window, and nothing else flagged.
    fn check(&self, scenario: &str) {
        for (d, attacker, window) in &self.expected {
            let flagged = self.alerts.get(d.name()).cloned().unwrap_or_default();
            let at = flagged
                .get(attacker)
                .unwrap_or_else(|| panic!("{scenario}: {} did not flag {attacker}: {flagged:?}", d.name()));
            assert!(
                window.contains(at),
                "{scenario}: {} flagged {attacker} at {at}s, outside {window:?}",
                d.name()
            );
        }
        let attackers: BTreeSet<(&str, &str)> = self
            .expected
            .iter()
            .map(|(d, who, _)| (d.name(), who.as_str()))
            .collect();
        for (d, flagged) in &self.alerts {
            for who in flagged.keys() {
                assert!(
                    attackers.contains(&(*d, who.as_str())),
                    "{scenario}: {d} flagged ordinary entity {who}"
                );
            }
        }
    }
}

/// Precision and recall per detector over both scenarios.
fn table(outcomes: &[&Outcome]) {
    println!(
        "{:<20} {:>9} {:>6} {:>6} {:>9}",
        "detector", "precision", "recall", "alerts", "attackers"
    );
    for d in Detector::ALL {
        let (mut flagged, mut attackers, mut tp) = (0usize, 0usize, 0usize);
        for o in outcomes {
            let got = o.alerts.get(d.name());
            flagged += got.map_or(0, BTreeMap::len);
            for (_, who, _) in o.expected.iter().filter(|e| e.0 == d) {
                attackers += 1;
                tp += usize::from(got.is_some_and(|g| g.contains_key(who)));
            }
        }
        let ratio = |n: usize, of: usize| if of == 0 { 0.0 } else { n as f64 / of as f64 };
        println!(
            "{:<20} {:>9.3} {:>6.3} {flagged:>6} {attackers:>9}",
            d.name(),
            ratio(tp, flagged),
            ratio(tp, attackers)
        );
    }
}

/// The web scenario (clients, no identities).
fn web() -> Outcome {
    let config = Config {
        key: "a5a5a5a5deadbeef0123456789abcdef".into(),
        slots: 100_000,
        ..Config::default()
    };
    let engine = Analytics::new(config).unwrap();
    let mut store = Counting::new(100_000);
    let mut rng = Rng(0x5eed);
    let clients: Vec<(String, f64)> = (0..1_000)
        .map(|i| {
            (
                format!("10.{}.{}.{}", 1 + i / 65_536, (i / 256) % 256, i % 256),
                0.02 + 0.28 * rng.unit(),
            )
        })
        .collect();
    let mut out = Outcome {
        expected: vec![
            (Detector::Probing, PROBER.into(), 600..720),
            (Detector::BruteForce, BRUTE.into(), 900..1080),
            (Detector::Crawling, CRAWLER.into(), 1200..1320),
            (Detector::RateSpike, SPIKER.into(), 1500..1530),
        ],
        ..Outcome::default()
    };
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
                out.record(&a, s);
            }
        }
    }
    println!("web: {requests} requests, {}, {:?}", store.summary(), engine.stats());
    assert!(requests > 200_000, "{requests} requests");
    out
}

const WORKLOAD: &str = "shop";
/// Ordinary until 1000 s, then also calls an endpoint it never called.
const REPORTING: &str = "spiffe://cluster.local/ns/shop/sa/reporting";
/// Ordinary until 1200 s, then downloads an outsized order.
const BATCH: &str = "spiffe://cluster.local/ns/shop/sa/batch";
/// Calls the workload from 1400 s on, never before.
const INTRUDER: &str = "spiffe://cluster.local/ns/other/sa/intruder";
/// The workload calls it from 1600 s on, never before.
const EXFIL_HOST: &str = "exfil.example.net";
const ORDERS: &str = "/api/orders/{id}";
const NEW_ENDPOINT: &str = "/api/admin/export";

/// The workload's endpoints: method, template, usual response bytes.
const ENDPOINTS: [(&str, &str, u64); 8] = [
    ("GET", "/api/items/{id}", 4_000),
    ("GET", "/api/items", 12_000),
    ("POST", "/api/cart", 800),
    ("GET", "/api/cart", 2_000),
    ("GET", ORDERS, 5_000),
    ("POST", "/api/orders", 1_500),
    ("GET", "/api/users/{id}", 1_200),
    ("GET", "/healthz", 20),
];

/// Its usual egress hosts: host, method, template.
const EGRESS: [(&str, &str, &str); 4] = [
    ("payments.internal", "POST", "/v1/charges"),
    ("inventory.internal", "GET", "/v1/stock/{sku}"),
    ("api.stripe.com", "POST", "/v1/payment_intents"),
    ("mail.internal", "POST", "/v1/send"),
];

/// One request of the mesh: ingress (a principal calls the workload) or egress (the workload
/// calls a host).
struct Call {
    principal: Option<String>,
    host: Option<&'static str>,
    method: &'static str,
    template: &'static str,
    path: String,
    status: u16,
    bytes: u64,
}

impl Call {
    fn observation(&self) -> Observation<'_> {
        Observation {
            principal: self.principal.as_deref(),
            method: self.method,
            path: &self.path,
            path_template: Some(self.template),
            status: self.status,
            response_bytes: self.bytes,
            destination_host: self.host,
            workload: Some(WORKLOAD),
            ..Observation::default()
        }
    }
}

fn ingress(rng: &mut Rng, principal: &str, (method, template, size): (&'static str, &'static str, u64)) -> Call {
    Call {
        principal: Some(principal.into()),
        host: None,
        method,
        template,
        path: template.replace("{id}", &rng.below(10_000).to_string()),
        status: 200,
        bytes: size / 2 + rng.below(size.max(2)),
    }
}

/// The mesh scenario (identities, endpoints, the workload).
fn mesh() -> Outcome {
    let mut config = Config {
        key: "0f1e2d3c4b5a69788796a5b4c3d2e1f0".into(),
        slots: 10_000,
        ..Config::default()
    };
    for n in [
        &mut config.first_seen_endpoint,
        &mut config.new_caller,
        &mut config.new_egress,
    ] {
        n.learning_secs = 600;
    }
    let engine = Analytics::new(config).unwrap();
    let mut store = Counting::new(10_000);
    let mut rng = Rng(0xfeed);
    // 20 services, each calling 4 of the endpoints at its own rate; the two seeded ones call
    // the orders endpoint only.
    let mut callers: Vec<(String, Vec<usize>, f64)> = (0..20)
        .map(|i| {
            let uses = (0..4).map(|k| (i + 2 * k) % ENDPOINTS.len()).collect();
            (
                format!("spiffe://cluster.local/ns/shop/sa/svc-{i}"),
                uses,
                0.1 + 0.4 * rng.unit(),
            )
        })
        .collect();
    callers.push((REPORTING.into(), vec![4], 0.2));
    callers.push((BATCH.into(), vec![4], 0.2));
    let mut out = Outcome {
        expected: vec![
            (Detector::FirstSeenEndpoint, REPORTING.into(), 1000..1030),
            (Detector::ResponseSize, format!("GET {ORDERS}"), 1200..1230),
            (Detector::NewCaller, INTRUDER.into(), 1400..1430),
            (Detector::NewEgress, EXFIL_HOST.into(), 1600..1630),
        ],
        ..Outcome::default()
    };
    let mut requests = 0u64;
    for s in 0..SECONDS {
        let mut batch = Vec::new();
        for (principal, uses, rate) in &callers {
            if rng.unit() < *rate {
                let e = uses[rng.below(uses.len() as u64) as usize];
                batch.push(ingress(&mut rng, principal, ENDPOINTS[e]));
            }
        }
        for _ in 0..2 {
            let (host, method, template) = EGRESS[rng.below(EGRESS.len() as u64) as usize];
            batch.push(Call {
                principal: None,
                host: Some(host),
                method,
                template,
                path: template.replace("{sku}", &rng.below(1_000).to_string()),
                status: 200,
                bytes: 500 + rng.below(2_000),
            });
        }
        if (1000..1060).contains(&s) && s.is_multiple_of(10) {
            let mut c = ingress(&mut rng, REPORTING, ("GET", NEW_ENDPOINT, 30_000));
            c.path = NEW_ENDPOINT.into();
            batch.push(c);
        }
        if (1200..1260).contains(&s) && s.is_multiple_of(20) {
            let mut c = ingress(&mut rng, BATCH, ENDPOINTS[4]);
            c.bytes = 5_000_000;
            batch.push(c);
        }
        if (1400..1500).contains(&s) && s.is_multiple_of(5) {
            batch.push(ingress(&mut rng, INTRUDER, ENDPOINTS[1]));
        }
        if (1600..1700).contains(&s) && s.is_multiple_of(10) {
            batch.push(Call {
                principal: None,
                host: Some(EXFIL_HOST),
                method: "POST",
                template: "/upload",
                path: "/upload".into(),
                status: 200,
                bytes: 100,
            });
        }
        for (k, c) in batch.iter().enumerate() {
            requests += 1;
            let now = T0 + s * 1000 + (k as u64 * 997) % 1000;
            for a in engine.observe(&c.observation(), now, &mut store) {
                out.record(&a, s);
            }
        }
    }
    let stats = engine.stats();
    println!("mesh: {requests} requests, {}, {stats:?}", store.summary());
    assert_eq!(stats.evictions, 0, "{stats:?}");
    assert!(requests > 8_000, "{requests} requests");
    out
}

#[test]
fn each_attacker_raises_its_own_alert_and_ordinary_entities_none() {
    let web = web();
    let mesh = mesh();
    table(&[&web, &mesh]);
    web.check("web");
    mesh.check("mesh");
}
