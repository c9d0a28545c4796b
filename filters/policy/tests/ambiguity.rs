//! The path-ambiguity corpus (tests/data/ambiguity.yaml) against a policy that denies `/admin`
//! and `/admin/*`: every path that some backend of the oracle (tests/backends) routes to a
//! protected path is stopped by default (`backend: common`), and said why in the event; every
//! ordinary path passes; `backend: strict` lets attacks through (the corpus bites: that is what
//! the default is for).

mod backends;

use std::collections::BTreeMap;

use meshward_policy::{Engine, Request, Ruling};
use meshward_vocab::Decision;
use serde::Deserialize;

#[derive(Deserialize)]
struct Corpus {
    policy: String,
    classes: BTreeMap<String, String>,
    attacks: Vec<Attack>,
    ordinary: Vec<String>,
    accepted: Vec<Accepted>,
}

#[derive(Deserialize)]
struct Attack {
    class: String,
    path: String,
}

#[derive(Deserialize)]
struct Accepted {
    path: String,
    #[allow(dead_code)]
    why: String,
}

fn corpus() -> Corpus {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/ambiguity.yaml")).unwrap();
    serde_yaml_ng::from_str(&text).unwrap()
}

fn decide<'e>(e: &'e Engine, path: &'e str) -> Ruling<'e> {
    e.decide(&Request {
        method: "GET",
        path,
        authority: "app.example.com",
        source_address: Some("10.0.0.1:40000"),
        ..Request::default()
    })
}

fn engine(policy: &str, backend: &str) -> Engine {
    let doc = format!("normalization:\n  backend: {backend}\n{policy}");
    Engine::from_text(&doc).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn every_attack_reaches_a_protected_path_under_some_backend() {
    let corpus = corpus();
    for a in &corpus.attacks {
        assert!(
            corpus.classes.contains_key(&a.class),
            "{:?}: unknown class {}",
            a.path,
            a.class
        );
        assert!(
            !backends::reaching(&a.path).is_empty(),
            "{:?} ({}) reaches no protected path under any backend: not an attack",
            a.path,
            a.class
        );
    }
    for class in corpus.classes.keys() {
        let n = corpus.attacks.iter().filter(|a| &a.class == class).count();
        assert!(n >= 4, "class {class} has {n} cases");
    }
    for p in &corpus.ordinary {
        assert_eq!(backends::reaching(p), Vec::<&str>::new(), "ordinary {p:?}");
    }
}

#[test]
fn the_default_stops_every_attack_and_passes_every_ordinary_path() {
    let corpus = corpus();
    let e = Engine::from_text(&corpus.policy).unwrap();
    let mut by_reading: BTreeMap<String, usize> = BTreeMap::new();
    for a in &corpus.attacks {
        let r = decide(&e, &a.path);
        assert!(
            matches!(
                (r.decision, r.status),
                (Decision::Block, Some(403)) | (Decision::Refused, Some(400))
            ),
            "{:?} ({}), read as protected by {:?}: {:?} ({})",
            a.path,
            a.class,
            backends::reaching(&a.path),
            r.decision,
            r.reason
        );
        // The event says why: the policy, or the refusal, and the reading when it was one.
        let event: serde_json::Value = serde_json::from_str(&r.event_json()).unwrap();
        if let Some(reading) = r.facts.path_reading {
            assert_eq!(event["path_reading"], reading);
            assert!(event["path_read_as"].is_string(), "{event}");
            assert!(event["reason"].as_str().unwrap().contains(reading), "{event}");
        }
        *by_reading
            .entry(r.facts.path_reading.unwrap_or("canonical").to_string())
            .or_default() += 1;
    }
    println!("attacks stopped, by the reading that decided: {by_reading:?}");
    // The loose readings carry their weight: most attacks are stopped only by one of them.
    assert!(by_reading.len() >= 6, "{by_reading:?}");
    for p in &corpus.ordinary {
        let r = decide(&e, p);
        assert_eq!(r.decision, Decision::Allow, "ordinary {p:?}: {}", r.event_json());
    }
    for a in &corpus.accepted {
        assert_eq!(
            decide(&e, &a.path).decision,
            Decision::Refused,
            "accepted cost {:?}",
            a.path
        );
    }
}

#[test]
fn a_strict_backend_profile_lets_the_attacks_through() {
    let corpus = corpus();
    let strict = engine(&corpus.policy, "strict");
    let reached: Vec<&str> = corpus
        .attacks
        .iter()
        .filter(|a| decide(&strict, &a.path).decision == Decision::Allow)
        .map(|a| a.path.as_str())
        .collect();
    println!(
        "backend: strict lets {} of {} attacks reach the application: {reached:?}",
        reached.len(),
        corpus.attacks.len()
    );
    assert!(reached.len() * 4 >= corpus.attacks.len(), "{reached:?}");
    for p in &corpus.ordinary {
        assert_eq!(decide(&strict, p).decision, Decision::Allow, "{p:?}");
    }
}

#[test]
fn detect_mode_records_every_attack_without_blocking() {
    let corpus = corpus();
    let e = Engine::from_text(&corpus.policy.replace("mode: enforce", "mode: detect")).unwrap();
    for a in &corpus.attacks {
        let r = decide(&e, &a.path);
        assert_eq!((r.decision, r.status), (Decision::WouldBlock, None), "{:?}", a.path);
    }
}

#[test]
fn an_allow_list_holds_against_the_loose_readings_too() {
    // Only /public/* is allowed: a path the canonical reading keeps under /public but a
    // backend reads elsewhere must not pass.
    let e = Engine::from_text(
        "mode: enforce\npolicies:\n  - name: public-only\n    action: ALLOW\n    rules:\n      - to: [{ paths: [\"/public/*\"] }]\n",
    )
    .unwrap();
    for p in [
        "/public/..;/admin",
        "/public/%252e%252e/admin",
        "/public/%C0%AE%C0%AE/admin",
    ] {
        let r = decide(&e, p);
        assert!(r.stops(), "{p}: {}", r.event_json());
    }
    for p in ["/public/index.html", "/public/a;v=1/b", "/public/Report.PDF"] {
        assert_eq!(decide(&e, p).decision, Decision::Allow, "{p}");
    }
}

#[test]
fn case_folding_reads_the_patterns_folded_too() {
    // A gRPC allow-list: service and method names are mixed case, and the case-folding reading
    // of a call must still be allowed (the patterns are folded with it).
    let e = Engine::from_text(
        "mode: enforce\npolicies:\n  - name: grpc\n    action: ALLOW\n    rules:\n      - to: [{ paths: [\"/helloworld.Greeter/*\"] }]\n      - to: [{ pathRegex: [\"^/shop\\\\.v1\\\\.Cart/(Get|Put)$\"] }]\n",
    )
    .unwrap();
    for p in ["/helloworld.Greeter/SayHello", "/shop.v1.Cart/Get"] {
        let r = decide(&e, p);
        assert_eq!(r.decision, Decision::Allow, "{p}: {}", r.event_json());
    }
    assert!(decide(&e, "/shop.v1.Cart/Delete").stops());
    // A DENY written with capitals stops the other spellings.
    let e = Engine::from_text(
        "mode: enforce\npolicies:\n  - name: d\n    action: DENY\n    rules:\n      - to: [{ paths: [\"/Admin/*\"] }]\n",
    )
    .unwrap();
    for p in ["/Admin/x", "/admin/x", "/ADMIN/X"] {
        assert!(decide(&e, p).stops(), "{p}");
    }
    assert_eq!(decide(&e, "/Admins").decision, Decision::Allow);
}

#[test]
fn a_raw_path_is_stopped_whenever_its_canonical_form_is() {
    // Found by the `policy_path` fuzz target: with `backslash: slash` the trim reading of the
    // raw path saw `\.git.\.` as one segment, while on the canonical `/g/*/.git./` it reads
    // `/g/*/.git/`, which the regex denies. Readings now apply to both forms.
    let e = Engine::from_text(
        "mode: enforce\nnormalization: { backslash: slash }\npolicies:\n  - name: git\n    action: DENY\n    rules:\n      - to: [{ pathRegex: [\".*/\\\\.git/.*\"] }]\n",
    )
    .unwrap();
    let raw = "/g/*/\\.git.\\./.";
    let canonical = decide(&e, raw).facts.path_normalized.clone().unwrap();
    assert_eq!(canonical, "/g/*/.git./");
    assert!(decide(&e, &canonical).stops());
    let r = decide(&e, raw);
    assert!(r.stops(), "{}", r.event_json());
}
