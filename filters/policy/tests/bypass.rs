//! The CVE-derived bypass corpus (tests/data/bypass.yaml): every attack stopped (`block` or
//! `refused`) in enforce mode, recorded as `would_block` (never blocked) in detect mode, and
//! every control case allowed.

use meshward_policy::{Engine, Request};
use meshward_vocab::Decision;
use serde::Deserialize;

#[derive(Deserialize)]
struct Corpus {
    policy: String,
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    id: String,
    cve: String,
    path: String,
    #[serde(default = "default_host")]
    host: String,
    #[serde(default)]
    headers: Vec<(String, String)>,
    expect: String,
}

fn default_host() -> String {
    "app.example.com".into()
}

fn corpus() -> Corpus {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/bypass.yaml")).unwrap();
    serde_yaml_ng::from_str(&text).unwrap()
}

fn decide(e: &Engine, c: &Case) -> (Decision, Option<u16>) {
    let headers: Vec<(String, String)> = c
        .headers
        .iter()
        .map(|(n, v)| (n.to_ascii_lowercase(), v.clone()))
        .collect();
    let r = Request {
        method: "GET",
        path: &c.path,
        authority: &c.host,
        headers: &headers,
        source_address: Some("10.0.0.1:40000"),
        ..Request::default()
    };
    let d = e.decide(&r);
    (d.decision, d.status)
}

#[test]
fn every_bypass_is_stopped_in_enforce_mode() {
    let corpus = corpus();
    let e = Engine::from_text(&corpus.policy).unwrap();
    let mut attacks = 0;
    for c in &corpus.cases {
        let got = decide(&e, c);
        let want = match c.expect.as_str() {
            "block" => (Decision::Block, Some(403)),
            "refused" => (Decision::Refused, Some(400)),
            "allow" => (Decision::Allow, None),
            other => panic!("{}: unknown expectation {other}", c.id),
        };
        assert_eq!(
            got, want,
            "case {} ({}) path {:?} host {:?}",
            c.id, c.cve, c.path, c.host
        );
        if c.cve != "none" {
            attacks += 1;
            assert_ne!(c.expect, "allow", "{}: an attack case must be stopped", c.id);
        }
    }
    assert!(attacks >= 30, "corpus too small: {attacks}");
    for cve in [
        "CVE-2019-9901",
        "CVE-2021-31920",
        "CVE-2021-39156",
        "CVE-2021-39155",
        "CVE-2026-26308",
    ] {
        assert!(corpus.cases.iter().any(|c| c.cve == cve), "no case for {cve}");
    }
}

#[test]
fn detect_records_every_bypass_without_blocking() {
    let corpus = corpus();
    let e = Engine::from_text(&corpus.policy.replace("mode: enforce", "mode: detect")).unwrap();
    for c in &corpus.cases {
        let want = if c.expect == "allow" {
            Decision::Allow
        } else {
            Decision::WouldBlock
        };
        assert_eq!(decide(&e, c), (want, None), "case {}", c.id);
    }
}
