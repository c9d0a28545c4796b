//! `meshward detection`: counts on a tiny fixture corpus, its errors, and the gate on the real
//! corpus (corpus/README.md) against the targets.

mod common;

use std::path::PathBuf;

use common::cli::{meshward, meshward_code};
use meshward_cli::args::Baseline;
use meshward_cli::commands::detection::{corpus_dir, measure, Route, Subject};
use meshward_cli::detection::report::{Report, Row, ALL_SPLITS};

fn fixture() -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/detection")
        .to_string_lossy()
        .into_owned()
}

fn row<'a>(json: &'a serde_json::Value, split: &str, name: &str) -> &'a serde_json::Value {
    let split = json["splits"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["split"] == split)
        .unwrap_or_else(|| panic!("split {split}"));
    if name == "attacks" || name == "benign" {
        return &split[name];
    }
    split["families"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == name)
        .unwrap_or_else(|| panic!("family {name}"))
}

#[test]
fn fixture_counts_per_split_family_and_baseline() {
    let (ok, stdout, stderr) = meshward(&["detection", "--corpus", &fixture(), "--baseline", "crs-pl1", "--json"]);
    assert!(ok, "{stderr}");
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let counts = |split, name| {
        let r = row(&json, split, name);
        (
            r["cases"].as_u64().unwrap(),
            r["hits"].as_u64().unwrap(),
            r["baseline_hits"].as_u64().unwrap(),
        )
    };
    // `[$ne]=1` in query, form, JSON, cookie and path: CRS's 942290 stops it in all but the path;
    // with the nosql pack all five are stopped.
    assert_eq!(counts("t", "nosql"), (5, 5, 4));
    // Two values in five shapes and a raw DELETE: all pass; CRS's own profile refuses DELETE.
    assert_eq!(counts("t", "benign"), (11, 11, 10));
    // CR LF Bcc: CRS stops the cookie and path shapes (a line break there), not query, form or
    // JSON; the mail pack stops those.
    assert_eq!(counts("h", "mail"), (5, 5, 2));
    assert_eq!(counts(ALL_SPLITS, "attacks"), (10, 10, 6));
    assert_eq!(json["baseline"], "crs-pl1 (profile crs, paranoia 1, no packs)");

    let (ok, table, _) = meshward(&["detection", "--corpus", &fixture(), "--packs", "none"]);
    assert!(ok);
    assert!(table.contains("packs none"), "{table}");
    let nosql = table.lines().find(|l| l.starts_with("nosql")).unwrap();
    assert_eq!(
        nosql.split_whitespace().collect::<Vec<_>>(),
        ["nosql", "5", "4", "80.0%"]
    );
}

#[test]
fn through_envoy_the_fixture_counts_are_the_engine_s() {
    let args = ["detection", "--corpus", &fixture(), "--baseline", "crs-pl1", "--json"];
    let (ok, engine, stderr) = meshward(&args);
    assert!(ok, "{stderr}");
    let (ok, envoy, stderr) = meshward(&[&args[..], &["--through", "envoy"]].concat());
    assert!(ok, "{stderr}");
    let engine: serde_json::Value = serde_json::from_str(&engine).unwrap();
    let envoy: serde_json::Value = serde_json::from_str(&envoy).unwrap();
    assert_eq!(envoy["splits"], engine["splits"]);
    assert_eq!(row(&envoy, "t", "nosql")["hits"], 5);
}

#[test]
fn misses_are_listed_with_their_rules() {
    let (ok, _, stderr) = meshward(&["detection", "--corpus", &fixture(), "--packs", "nosql", "--misses"]);
    assert!(ok);
    let lines: Vec<&str> = stderr.lines().collect();
    // Without the mail pack, the mail case passes in query, form and JSON; no rule matched.
    assert_eq!(
        lines,
        ["query", "form", "json"].map(|shape| format!(
            "h missed mail [m/{shape}]: \"ann@example.com\\r\\nBcc: victim@example.org\" rules []"
        )),
        "{stderr}"
    );
}

#[test]
fn unknown_pack_and_missing_corpus_are_errors() {
    let (code, _, stderr) = meshward_code(&["detection", "--corpus", &fixture(), "--packs", "nosql,sqlx"]);
    assert_eq!(code, Some(1));
    assert!(stderr.contains("packs[1]: unknown rule pack \"sqlx\""), "{stderr}");
    let (code, _, stderr) = meshward_code(&["detection", "--corpus", "/nonexistent/corpus"]);
    assert_eq!(code, Some(1));
    assert!(stderr.contains("/nonexistent/corpus"), "{stderr}");
}

/// The attack families meshward's packs add detection for (xss is CRS's own; the `path` pack's
/// SQLi and XSS in a path segment count under sqli and xss).
const PACK_FAMILIES: [&str; 7] = ["ldap", "mail", "nosql", "shell", "sqli", "ssti", "traversal"];

/// (cases, hits, baseline hits) summed over the pack families of one split.
fn pack_families(report: &Report, split: &str) -> (usize, usize, usize) {
    let rows: Vec<&Row> = report
        .split(split)
        .unwrap()
        .families
        .iter()
        .filter(|f| PACK_FAMILIES.contains(&f.name.as_str()))
        .collect();
    (
        rows.iter().map(|r| r.cases).sum(),
        rows.iter().map(|r| r.hits).sum(),
        rows.iter().map(|r| r.baseline_hits.unwrap()).sum(),
    )
}

fn points(hits: usize, cases: usize) -> f64 {
    hits as f64 * 100.0 / cases as f64
}

/// The targets on the repository's corpus, natively: mesh with its packs against CRS
/// PL1 alone. What is not reached is said in docs/packs.md, not asserted away: on every family
/// (xss included) the held-out sources gain about 14 points, short of 20.
#[test]
fn gate_packs_beat_crs_pl1_on_the_real_corpus() {
    let report = measure(
        &corpus_dir(None),
        &Subject::new("mesh", 1, None),
        Some(&Subject::baseline(Baseline::CrsPl1)),
        &Route::Engine,
        |_| {},
    )
    .expect("the corpus runs");
    // Attack detection on the families the packs cover: at least 20 points above CRS PL1 on the
    // tuning sources.
    let (cases, hits, base) = pack_families(&report, "tune");
    let gain = points(hits, cases) - points(base, cases);
    assert!(
        gain >= 20.0,
        "tune: {hits}/{cases} vs CRS PL1 {base}/{cases}: +{gain:.1} points"
    );
    // And on every attack family (xss, CRS's own, included): at least 20 points on the tuning
    // sources.
    let tune = &report.split("tune").unwrap().attacks;
    let gain = points(tune.hits, tune.cases) - points(tune.baseline_hits.unwrap(), tune.cases);
    assert!(gain >= 20.0, "tune, every family: {tune:?}: +{gain:.1} points");
    // Held-out sources (never tuned on): detection improves there too.
    let (cases, hits, base) = pack_families(&report, "heldout");
    assert!(hits > base, "held-out pack families: {hits}/{cases} vs {base}/{cases}");
    let heldout = &report.split("heldout").unwrap().attacks;
    assert!(
        heldout.hits > heldout.baseline_hits.unwrap(),
        "held-out attacks: {heldout:?}"
    );
    // Benign pass rate not below CRS PL1's on the same benign set.
    let benign = &report.split(ALL_SPLITS).unwrap().benign;
    assert!(benign.hits >= benign.baseline_hits.unwrap(), "benign: {benign:?}");
    // And every split's attacks improve.
    for split in &report.splits {
        assert!(
            split.attacks.hits > split.attacks.baseline_hits.unwrap(),
            "{}",
            split.split
        );
    }
}
