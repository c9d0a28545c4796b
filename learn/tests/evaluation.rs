//! Learning on generated traffic with a known route table: several services (numeric ids,
//! UUIDs, hashes, dates, tokens, many-sibling slugs, fixed words, nested resources, a static
//! tree, gRPC methods), callers per service, a seeded workload. Learns on a training part, then
//! evaluates the learned meshward policy with the meshward-policy engine on held-back traffic
//! (no false denies; unknown callers and unseen routes denied) and scores the templates
//! against the true routes (precision, recall). Run with `--nocapture` to see the figures.

use std::collections::{BTreeMap, BTreeSet};

use meshward_learn::{drift, learn, openapi, policy, Intake, Learned, Options, Report};
use meshward_policy::{istio, Engine, Outcome, Request};

/// A deterministic generator (splitmix64), so every run sees the same traffic.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }
    fn chars(&mut self, alphabet: &[u8], n: usize) -> String {
        (0..n).map(|_| self.pick(alphabet) as char).collect()
    }
}

const HEX: &[u8] = b"0123456789abcdef";
const B64URL: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const SLUGS: [&str; 40] = [
    "red-wool-sweater",
    "blue-denim-jacket",
    "green-rain-coat",
    "black-leather-boots",
    "white-linen-shirt",
    "grey-cotton-hoodie",
    "brown-suede-loafers",
    "navy-chino-pants",
    "pink-silk-scarf",
    "yellow-beanie",
    "orange-puffer-vest",
    "purple-yoga-mat",
    "teal-water-bottle",
    "olive-field-jacket",
    "beige-trench-coat",
    "maroon-polo",
    "cream-knit-cardigan",
    "khaki-cargo-shorts",
    "silver-watch",
    "gold-hoop-earrings",
    "canvas-tote-bag",
    "running-shoes",
    "trail-backpack",
    "camping-stove",
    "sleeping-bag",
    "hiking-poles",
    "swim-goggles",
    "cycling-gloves",
    "ski-helmet",
    "tennis-racket",
    "golf-umbrella",
    "travel-pillow",
    "desk-lamp",
    "standing-mat",
    "coffee-grinder",
    "tea-kettle",
    "chef-knife",
    "cutting-board",
    "cast-iron-pan",
    "salad-spinner",
];
const ASSETS: [&str; 24] = [
    "js/app.js",
    "js/vendor.js",
    "js/runtime.js",
    "js/chunks/cart.js",
    "js/chunks/search.js",
    "js/chunks/account.js",
    "css/site.css",
    "css/print.css",
    "css/themes/dark.css",
    "css/themes/light.css",
    "img/logo.svg",
    "img/hero.jpg",
    "img/icons/cart.svg",
    "img/icons/user.svg",
    "img/icons/search.svg",
    "img/icons/menu.svg",
    "img/products/a.webp",
    "img/products/b.webp",
    "fonts/inter.woff2",
    "fonts/mono.woff2",
    "favicon.ico",
    "manifest.json",
    "robots.txt",
    "img/icons/close.svg",
];
const GRPC: [&str; 11] = [
    "GetInvoice",
    "ListInvoices",
    "CreateInvoice",
    "VoidInvoice",
    "PayInvoice",
    "RefundInvoice",
    "GetCustomer",
    "ListCustomers",
    "UpdateCustomer",
    "GetBalance",
    "StreamEvents",
];

/// How one segment of a route is filled.
#[derive(Clone, Copy)]
enum Seg {
    Lit(&'static str),
    Num,
    Uuid,
    Hash,
    Date,
    Slug,
    Token,
    /// The rest: a static asset path (the route's template ends in `{**}`).
    Asset,
}

struct Route {
    methods: &'static [&'static str],
    segs: Vec<Seg>,
    content_type: &'static str,
}

impl Route {
    fn template(&self) -> String {
        let mut t = String::new();
        for s in &self.segs {
            t.push('/');
            t.push_str(match s {
                Seg::Lit(l) => l,
                Seg::Asset => "{**}",
                _ => "{*}",
            });
        }
        t
    }
    fn path(&self, rng: &mut Rng) -> String {
        let mut p = String::new();
        for s in &self.segs {
            p.push('/');
            match s {
                Seg::Lit(l) => p.push_str(l),
                Seg::Num => p.push_str(&(1 + rng.below(99_999)).to_string()),
                Seg::Uuid => {
                    let h = rng.chars(HEX, 32);
                    p.push_str(&format!(
                        "{}-{}-{}-{}-{}",
                        &h[..8],
                        &h[8..12],
                        &h[12..16],
                        &h[16..20],
                        &h[20..]
                    ));
                }
                Seg::Hash => p.push_str(&rng.chars(HEX, 40)),
                Seg::Date => p.push_str(&format!("2026-{:02}-{:02}", 1 + rng.below(12), 1 + rng.below(28))),
                Seg::Slug => p.push_str(rng.pick(&SLUGS)),
                Seg::Token => p.push_str(&rng.chars(B64URL, 22)),
                Seg::Asset => p.push_str(rng.pick(&ASSETS)),
            }
        }
        p
    }
}

fn route(methods: &'static [&'static str], segs: &[Seg], content_type: &'static str) -> Route {
    Route {
        methods,
        segs: segs.to_vec(),
        content_type,
    }
}

struct Service {
    host: &'static str,
    routes: Vec<Route>,
    /// Caller (principal or `ip:` address) → the routes it uses (indexes).
    callers: Vec<(&'static str, Vec<usize>)>,
}

fn services() -> Vec<Service> {
    use Seg::*;
    let json = "application/json";
    vec![
        Service {
            host: "users.shop.svc.cluster.local",
            routes: vec![
                route(&["GET", "POST"], &[Lit("api"), Lit("v1"), Lit("users")], json),
                route(
                    &["GET", "PUT", "DELETE"],
                    &[Lit("api"), Lit("v1"), Lit("users"), Num],
                    json,
                ),
                route(&["GET"], &[Lit("api"), Lit("v1"), Lit("users"), Lit("me")], json),
                route(
                    &["GET"],
                    &[Lit("api"), Lit("v1"), Lit("users"), Num, Lit("orders")],
                    json,
                ),
                route(
                    &["GET"],
                    &[Lit("api"), Lit("v1"), Lit("users"), Num, Lit("orders"), Uuid],
                    json,
                ),
                route(&["GET"], &[Lit("health")], "text/plain"),
            ],
            callers: vec![
                ("spiffe://cluster.local/ns/shop/sa/frontend", vec![0, 1, 2, 3, 4]),
                ("spiffe://cluster.local/ns/shop/sa/checkout", vec![1, 4]),
                ("spiffe://cluster.local/ns/ops/sa/admin", vec![0, 1]),
                ("ip:10.0.9.9", vec![5]),
            ],
        },
        Service {
            host: "catalog.shop.svc.cluster.local:8080",
            routes: vec![
                route(&["GET"], &[Lit("products")], "text/html"),
                route(&["GET"], &[Lit("products"), Slug], "text/html"),
                route(&["GET", "POST"], &[Lit("products"), Slug, Lit("reviews")], json),
                route(&["GET"], &[Lit("search")], "text/html"),
                route(&["GET", "POST"], &[Lit("cart")], "text/html"),
                route(&["POST"], &[Lit("checkout")], "text/html"),
                route(&["GET", "HEAD"], &[Lit("static"), Asset], "application/octet-stream"),
            ],
            callers: vec![
                (
                    "spiffe://cluster.local/ns/edge/sa/ingress-gateway",
                    vec![0, 1, 2, 3, 4, 5, 6],
                ),
                ("spiffe://cluster.local/ns/shop/sa/recommender", vec![1]),
            ],
        },
        Service {
            host: "billing.pay.svc.cluster.local",
            routes: GRPC
                .iter()
                .map(|m| {
                    route(
                        &["POST"],
                        &[Lit("acme.billing.v1.Invoices"), Lit(m)],
                        "application/grpc",
                    )
                })
                .collect(),
            callers: vec![
                ("spiffe://cluster.local/ns/shop/sa/checkout", (0..6).collect()),
                ("spiffe://cluster.local/ns/pay/sa/ledger", (6..11).collect()),
            ],
        },
        Service {
            host: "files.store.svc.cluster.local",
            routes: vec![
                route(&["GET", "PUT"], &[Lit("files"), Hash], "application/octet-stream"),
                route(&["GET"], &[Lit("reports"), Date], "text/csv"),
                route(&["GET"], &[Lit("reports"), Date, Lit("summary")], json),
                route(&["POST"], &[Lit("sessions")], json),
                route(&["GET", "DELETE"], &[Lit("sessions"), Token], json),
            ],
            callers: vec![
                ("spiffe://cluster.local/ns/shop/sa/frontend", vec![0, 3, 4]),
                ("spiffe://cluster.local/ns/ops/sa/reporting", vec![1, 2]),
            ],
        },
    ]
}

/// One request of the workload.
#[derive(Clone)]
struct Generated {
    caller: &'static str,
    host: &'static str,
    method: &'static str,
    path: String,
    content_type: &'static str,
}

fn workload(seed: u64, n: usize) -> Vec<Generated> {
    let svcs = services();
    let mut rng = Rng(seed);
    (0..n)
        .map(|_| {
            let s = &svcs[rng.below(svcs.len())];
            let (caller, routes) = &s.callers[rng.below(s.callers.len())];
            let r = &s.routes[rng.pick(routes)];
            Generated {
                caller,
                host: s.host,
                method: rng.pick(r.methods),
                path: r.path(&mut rng),
                content_type: r.content_type,
            }
        })
        .collect()
}

/// The training traffic as the filter logs it: observation lines aggregated per key and
/// one-minute window (a window per 500 requests), half behind Envoy's log prefix, with other
/// log lines between them.
fn observation_log(reqs: &[Generated]) -> String {
    let mut out = String::new();
    for (w, window) in reqs.chunks(500).enumerate() {
        let (start, end) = (format!("2026-12-07T10:{w:02}:00Z"), format!("2026-12-07T10:{w:02}:59Z"));
        let mut keys: BTreeMap<(&str, &str, &str, &str, &str), u64> = BTreeMap::new();
        for g in window {
            *keys
                .entry((g.caller, g.host, g.method, &g.path, g.content_type))
                .or_default() += 1;
        }
        for (i, ((caller, host, method, path, ct), count)) in keys.into_iter().enumerate() {
            let (principal, ns, ip) = match caller.strip_prefix("ip:") {
                Some(ip) => (None, None, ip.to_owned()),
                None => (
                    Some(caller),
                    caller.split("/ns/").nth(1).and_then(|r| r.split('/').next()),
                    "10.1.0.7".to_owned(),
                ),
            };
            let json = serde_json::json!({
                "v": 1, "type": "observation", "window_start": start, "window_end": end,
                "first_seen": format!("2026-12-07T10:{w:02}:01Z"), "last_seen": format!("2026-12-07T10:{w:02}:58Z"),
                "mode": "detect", "principal": principal, "namespace": ns, "source_ip": ip, "remote_ip": ip,
                "request_principal": null, "host": host, "destination": "10.2.0.1:8080", "sni": null,
                "direction": "ingress", "internet": false, "method": method, "path": path,
                "status_class": "2xx", "content_type": ct, "count": count, "decisions": {"allow": count},
                "request_bytes": {"sum": 0, "max": 0}, "response_bytes": {"sum": 100, "max": 10},
                "latency_ms": {"sum": 3, "max": 1}
            });
            if i % 2 == 0 {
                out.push_str(&format!("[2026-12-07 10:{w:02}:59.000][21][warning][wasm] [source/extensions/common/wasm/context.cc:1192] wasm log meshward-netpolicy: meshward.policy.observation {json}\n"));
            } else {
                out.push_str(&format!("{json}\n"));
            }
        }
        out.push_str("[2026-12-07 10:00:59.000][21][info][main] some other Envoy line\n");
    }
    out
}

/// The engine's request for one generated request.
fn decide(engine: &Engine, g: &Generated) -> Outcome {
    let addr;
    let mut req = Request {
        method: g.method,
        path: &g.path,
        authority: g.host,
        source_address: Some("10.1.0.7:40000"),
        ..Request::default()
    };
    match g.caller.strip_prefix("ip:") {
        Some(ip) => {
            addr = format!("{ip}:40000");
            req.source_address = Some(&addr);
        }
        None => {
            req.mtls = true;
            req.peer_uri_san = Some(g.caller);
        }
    }
    engine.decide(&req).all_enforced
}

fn learned(train: &[Generated]) -> (Intake, Learned) {
    let mut intake = Intake::default();
    intake.read("train.log", observation_log(train).as_bytes()).unwrap();
    assert!(intake.malformed.is_empty(), "{:?}", intake.malformed);
    let l = learn(&intake, &Options::default());
    (intake, l)
}

/// What one learning run scores on held-back traffic and against the route table.
struct Scores {
    false_denies: usize,
    held_back: usize,
    observations: u64,
    learned: usize,
    true_routes: usize,
    correct: usize,
    replay_allowed: u64,
    replay_denied: u64,
}

impl Scores {
    fn precision(&self) -> f64 {
        self.correct as f64 / self.learned as f64
    }
    fn recall(&self) -> f64 {
        self.correct as f64 / self.true_routes as f64
    }
}

/// Learns on `train_n` requests, evaluates on 5,000 held-back ones (another seed: new ids).
fn evaluate(train_n: usize, verbose: bool) -> Scores {
    let train = workload(0x5EED_0001, train_n);
    let held_back = workload(0x5EED_0002, 5_000);
    let (intake, l) = learned(&train);
    let text = policy::render(&l);
    let engine = Engine::from_text(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    // All policies as if enforced: a detect-mode `would_block` counts as a deny.
    let false_denies: Vec<&Generated> = held_back
        .iter()
        .filter(|g| decide(&engine, g) == Outcome::Block)
        .collect();
    let (mut learned_n, mut correct, mut true_n) = (0usize, 0usize, 0usize);
    for s in services() {
        let truth: BTreeSet<String> = s.routes.iter().map(Route::template).collect();
        let got: BTreeSet<String> = l
            .services
            .iter()
            .find(|x| x.host == s.host)
            .map(|x| x.templates.iter().map(|t| t.template.clone()).collect())
            .unwrap_or_default();
        if verbose {
            for t in got.difference(&truth) {
                eprintln!("{}: learned {t}, not a route", s.host);
            }
            for t in truth.difference(&got) {
                eprintln!("{}: route {t} not learned", s.host);
            }
        }
        learned_n += got.len();
        true_n += truth.len();
        correct += got.intersection(&truth).count();
    }
    if verbose {
        for g in false_denies.iter().take(10) {
            eprintln!("false deny: {} {} {}{}", g.caller, g.method, g.host, g.path);
        }
    }
    let report = Report::build(&l, &intake).unwrap();
    Scores {
        false_denies: false_denies.len(),
        held_back: held_back.len(),
        observations: l.observations,
        learned: learned_n,
        true_routes: true_n,
        correct,
        replay_allowed: report.replay.allowed,
        replay_denied: report.replay.denied,
    }
}

#[test]
fn learned_policy_allows_held_back_traffic_and_templates_match_the_routes() {
    let train_n = 20_000;
    let s = evaluate(train_n, true);
    println!(
        "learn evaluation: trained on {train_n} requests ({} observation lines), held back {}: false denies {} ({:.4}); templates learned {}, true routes {}, correct {}, precision {:.3}, recall {:.3}; replay of training: {} allowed, {} denied",
        s.observations, s.held_back, s.false_denies, s.false_denies as f64 / s.held_back as f64,
        s.learned, s.true_routes, s.correct, s.precision(), s.recall(), s.replay_allowed, s.replay_denied
    );
    assert_eq!(s.false_denies, 0);
    // Every route was hit often in training: each should come back as exactly its template.
    // The bar leaves room for a wrong template or two of the heuristics, not a systematic miss.
    assert!(s.precision() >= 0.9, "precision {}", s.precision());
    assert!(s.recall() >= 0.9, "recall {}", s.recall());
    // The learned document allows everything it was learned from.
    assert_eq!((s.replay_denied, s.replay_allowed), (0, train_n as u64));

    // Less traffic, for the record: a caller × route pair never seen is denied, and word
    // parameters seen fewer than 10 times stay literal. Printed, and held to what must hold at
    // any size: the training traffic itself is never denied.
    for n in [200, 500, 1_000] {
        let s = evaluate(n, false);
        println!(
            "learn evaluation: trained on {n} requests: false denies {} of {} ({:.4}); precision {:.3}, recall {:.3}",
            s.false_denies,
            s.held_back,
            s.false_denies as f64 / s.held_back as f64,
            s.precision(),
            s.recall()
        );
        assert_eq!((s.replay_denied, s.replay_allowed), (0, n as u64));
    }
}

#[test]
fn unknown_callers_unseen_routes_and_other_services_are_denied() {
    let train = workload(0x5EED_0001, 20_000);
    let (_, l) = learned(&train);
    let engine = Engine::from_text(&policy::render(&l)).unwrap();
    let g = |caller: &'static str, host: &'static str, method: &'static str, path: &str| Generated {
        caller,
        host,
        method,
        path: path.to_owned(),
        content_type: "",
    };
    let users = "users.shop.svc.cluster.local";
    let frontend = "spiffe://cluster.local/ns/shop/sa/frontend";
    // The known caller, a learned route: allowed (the control).
    assert_eq!(
        decide(&engine, &g(frontend, users, "GET", "/api/v1/users/424242")),
        Outcome::Allow
    );
    // A new principal on the same route.
    assert_eq!(
        decide(
            &engine,
            &g(
                "spiffe://cluster.local/ns/shop/sa/intruder",
                users,
                "GET",
                "/api/v1/users/424242"
            )
        ),
        Outcome::Block
    );
    // A known caller on a route of the service it never used (checkout does not list users),
    // and with a method it never used on a route it did.
    let checkout = "spiffe://cluster.local/ns/shop/sa/checkout";
    assert_eq!(
        decide(&engine, &g(checkout, users, "GET", "/api/v1/users/1")),
        Outcome::Allow
    );
    assert_eq!(
        decide(&engine, &g(checkout, users, "GET", "/api/v1/users")),
        Outcome::Block
    );
    assert_eq!(
        decide(&engine, &g(checkout, users, "POST", "/api/v1/users/1")),
        Outcome::Block
    );
    // A known caller on a path no route has.
    assert_eq!(decide(&engine, &g(frontend, users, "GET", "/admin")), Outcome::Block);
    // A caller known to one service calling another it never called.
    assert_eq!(
        decide(
            &engine,
            &g(
                "spiffe://cluster.local/ns/ops/sa/reporting",
                users,
                "GET",
                "/api/v1/users"
            )
        ),
        Outcome::Block
    );
    // An unknown address on the health route the monitor (an address) uses.
    assert_eq!(
        decide(&engine, &g("ip:10.0.9.10", users, "GET", "/health")),
        Outcome::Block
    );
    assert_eq!(
        decide(&engine, &g("ip:10.0.9.9", users, "GET", "/health")),
        Outcome::Allow
    );
}

#[test]
fn the_emitted_documents_parse_and_compile_and_the_istio_one_imports() {
    let train = workload(0x5EED_0003, 4_000);
    let (intake, l) = learned(&train);
    let text = policy::render(&l);
    let yaml: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).unwrap();
    assert_eq!(yaml["mode"].as_str(), Some("detect"));
    let engine = Engine::from_text(&text).unwrap();
    assert_eq!(engine.policy_count(), services().len());
    // Evidence rides as comments: every path line carries its hits.
    assert!(text
        .lines()
        .filter(|x| x.trim_start().starts_with("- \"/"))
        .all(|x| x.contains("# ") && x.contains(" hit")));

    let istio_text = meshward_learn::istio::render(&l);
    for doc in serde_yaml_ng::Deserializer::from_str(&istio_text) {
        let v = <serde_yaml_ng::Value as serde::Deserialize>::deserialize(doc).unwrap();
        assert_eq!(v["kind"].as_str(), Some("AuthorizationPolicy"));
        assert_eq!(v["metadata"]["annotations"]["istio.io/dry-run"].as_str(), Some("true"));
    }
    let imported = istio::import(&istio_text).unwrap_or_else(|e| panic!("{e}\n{istio_text}"));
    assert!(imported.warnings.is_empty(), "{:?}", imported.warnings);
    let istio_engine = Engine::compile(&imported.document).unwrap();
    // The Istio resources allow what the meshward document allows.
    for g in workload(0x5EED_0004, 300) {
        assert_eq!(
            decide(&istio_engine, &g),
            decide(&engine, &g),
            "{} {} {}",
            g.caller,
            g.method,
            g.path
        );
    }

    let enforce = learn(
        &intake,
        &Options {
            mode: meshward_vocab::Mode::Enforce,
            ..Options::default()
        },
    );
    assert!(policy::render(&enforce).contains("\nmode: enforce\n"));
    assert!(!meshward_learn::istio::render(&enforce).contains("dry-run"));
    let report = Report::build(&l, &intake).unwrap();
    let md = report.markdown();
    assert!(md.contains("## Service `billing.pay.svc.cluster.local`"), "{md}");
    assert!(md.contains("gRPC methods of one service are a closed set"), "{md}");
    let json: serde_json::Value = serde_json::from_str(&report.json()).unwrap();
    assert_eq!(json["replay"]["denied"], 0);
}

/// The official OpenAPI 3.0 JSON Schema (see tests/data/README.md).
fn openapi_validator() -> jsonschema::Validator {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/openapi-3.0-schema-2021-09-28.json"
    );
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let schema: serde_json::Value = serde_json::from_str(&text).unwrap();
    jsonschema::validator_for(&schema).unwrap()
}

fn assert_valid_openapi(validator: &jsonschema::Validator, doc: &serde_json::Value) {
    let errors: Vec<String> = validator
        .iter_errors(doc)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{}\n{doc:#}", errors.join("\n"));
}

#[test]
fn the_api_inventory_is_valid_openapi_and_its_paths_are_the_true_routes() {
    let train = workload(0x5EED_0001, 20_000);
    let (intake, _) = learned(&train);
    let apis = openapi::inventory(&intake, &meshward_learn::template::Options::default());
    let validator = openapi_validator();
    assert_eq!(apis.len(), services().len());
    for s in services() {
        let api = apis.iter().find(|a| a.host == s.host).unwrap();
        let doc = openapi::document(api);
        assert_valid_openapi(&validator, &doc);
        let truth: BTreeSet<String> = s
            .routes
            .iter()
            .map(|r| openapi::openapi_path(&r.template()).0)
            .collect();
        let got: BTreeSet<String> = doc["paths"].as_object().unwrap().keys().cloned().collect();
        assert_eq!(got, truth, "{}", s.host);
        // Every route's methods are its operations, answered 2XX with its media type.
        for r in &s.routes {
            let item = &doc["paths"][openapi::openapi_path(&r.template()).0.as_str()];
            for m in r.methods {
                let op = &item[m.to_ascii_lowercase().as_str()];
                assert!(
                    op["responses"]["2XX"]["content"][r.content_type].is_object(),
                    "{} {m} {}",
                    s.host,
                    r.template()
                );
                assert!(op["x-meshward-evidence"]["hits"].as_u64().unwrap() > 0);
                assert!(op["x-meshward-evidence"]["callers"].as_u64().unwrap() >= 1);
            }
            assert_eq!(
                item["x-meshward-tail"].as_bool(),
                r.template().ends_with("{**}").then_some(true)
            );
        }
        // The generated document read back as a spec: no drift.
        let spec = drift::Spec::from_value("own", &doc).unwrap();
        let d = drift::drift(&intake, &apis, s.host, "own", &spec);
        assert!(d.is_clean(), "{}", drift::markdown(&[d]));
    }
}

#[test]
fn drift_finds_the_missing_route_and_the_one_never_called() {
    let train = workload(0x5EED_0005, 4_000);
    let (intake, _) = learned(&train);
    let apis = openapi::inventory(&intake, &meshward_learn::template::Options::default());
    let host = "users.shop.svc.cluster.local";
    let mut doc = openapi::document(apis.iter().find(|a| a.host == host).unwrap());
    let paths = doc["paths"].as_object_mut().unwrap();
    let missing = paths.remove("/api/v1/users/{userId}/orders").unwrap();
    paths.insert(
        "/api/v1/users/{userId}/avatar".into(),
        serde_json::json!({"put": {"responses": {"204": {"description": "stored"}}}}),
    );
    let validator = openapi_validator();
    assert_valid_openapi(&validator, &doc);
    // The schema is strict where the output could go wrong: a lower-case range is no key.
    let mut bad = doc.clone();
    bad["paths"]["/api/v1/users/{userId}/avatar"]["put"]["responses"] =
        serde_json::json!({"2xx": {"description": "stored"}});
    assert!(!validator.is_valid(&bad));
    let spec = drift::Spec::from_value("users.yaml", &doc).unwrap();
    let d = drift::drift(&intake, &apis, host, "users.yaml", &spec);
    let undeclared: Vec<(&str, &str)> = d
        .undeclared
        .iter()
        .map(|u| (u.template.as_str(), u.method.as_str()))
        .collect();
    assert_eq!(undeclared, vec![("/api/v1/users/{*}/orders", "GET")]);
    assert_eq!(
        d.undeclared[0].seen.hits,
        missing["get"]["x-meshward-evidence"]["hits"].as_u64().unwrap()
    );
    assert!(d.undeclared[0].seen.sample.ends_with("/orders"));
    let unused: Vec<(&str, &str)> = d.unused.iter().map(|u| (u.path.as_str(), u.method.as_str())).collect();
    assert_eq!(unused, vec![("/api/v1/users/{userId}/avatar", "PUT")]);
    assert!(d.undeclared_methods.is_empty() && d.undeclared_statuses.is_empty());
}
