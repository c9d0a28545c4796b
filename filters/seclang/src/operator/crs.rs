//! Every operator of OWASP CRS v4.28 compiles (all `@rx` patterns with the `regex` crate, all
//! `@pmFromFile` data files). CRS is located through `MESHWARD_CRS_DIR` (default
//! `../shared/crs/v4.28.0` relative to the workspace root); the test fails if it is missing.

use std::path::PathBuf;
use std::time::Instant;

use meshward_testkit::locate::crs_dir;

use super::{CompileEnv, Operator};

/// (file, negated, operator name, argument) for every SecRule in the CRS rule files.
fn crs_operators() -> Vec<(String, bool, String, String)> {
    let rules = crs_dir().join("rules");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&rules)
        .unwrap_or_else(|e| panic!("CRS rules not found at {} ({e}); set MESHWARD_CRS_DIR", rules.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "conf"))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(&path).expect("readable rule file");
        let joined = text.replace("\\\n", "");
        for line in joined.lines() {
            let line = line.trim_start();
            if !line.starts_with("SecRule ") {
                continue;
            }
            let Some(start) = line.find(" \"@").or_else(|| line.find(" \"!@")) else {
                panic!("no operator in {line}");
            };
            let rest = &line[start + 2..];
            let negated = rest.starts_with('!');
            let rest = rest.trim_start_matches('!').trim_start_matches('@');
            // The operator string ends at the first unescaped double quote.
            let bytes = rest.as_bytes();
            let mut end = 0;
            while end < bytes.len() && bytes[end] != b'"' {
                end += if bytes[end] == b'\\' { 2 } else { 1 };
            }
            let op = &rest[..end.min(rest.len())];
            let (name, arg) = op.split_once(' ').unwrap_or((op, ""));
            let file = path
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_default();
            out.push((file, negated, name.to_string(), arg.to_string()));
        }
    }
    out
}

#[test]
fn every_crs_operator_compiles() {
    let env = CompileEnv {
        base_dir: crs_dir().join("rules"),
        ..CompileEnv::default()
    };
    let ops = crs_operators();
    let mut rx = 0;
    let mut failures = Vec::new();
    let started = Instant::now();
    for (file, _, name, arg) in &ops {
        if name == "rx" {
            rx += 1;
        }
        if let Err(e) = Operator::compile(name, arg, &env) {
            failures.push(format!("{file}: @{name} {arg}: {e}"));
        }
    }
    let elapsed = started.elapsed();
    eprintln!("compiled {} CRS operators ({rx} @rx) in {elapsed:?}", ops.len());
    assert!(
        failures.is_empty(),
        "{} failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // CRS v4.28: 695 SecRules, of which 318 use @rx.
    assert_eq!(ops.len(), 695, "SecRule count");
    assert_eq!(rx, 318, "@rx count");
}

#[test]
fn crs_regexes_keep_byte_semantics() {
    // The patterns that use \x{HH} >= 0x80 must match the raw bytes.
    let ops = crs_operators();
    let high: Vec<_> = ops
        .iter()
        .filter(|(_, _, n, a)| n == "rx" && a.to_ascii_lowercase().contains("\\x{"))
        .collect();
    eprintln!("{} @rx patterns use \\x{{...}}", high.len());
    for (file, _, _, arg) in high {
        let re = super::regex::compile(arg).unwrap_or_else(|e| panic!("{file}: {e}"));
        let translated = super::regex::translate(arg).expect("translates");
        assert!(!translated.contains("\\x{"), "{file}: untranslated {translated}");
        let _ = re;
    }
}

/// Every line of the CRS regression tests, raw, URL-decoded and lowercased: realistic payloads.
fn crs_payload_corpus() -> Vec<Vec<u8>> {
    fn walk(dir: &std::path::Path, out: &mut Vec<PathBuf>) {
        let entries =
            std::fs::read_dir(dir).unwrap_or_else(|e| panic!("CRS tests not found at {} ({e})", dir.display()));
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else {
                out.push(p);
            }
        }
    }
    let mut files = Vec::new();
    walk(&crs_dir().join("tests/regression/tests"), &mut files);
    let mut corpus = Vec::new();
    for f in files {
        let text = std::fs::read(&f).expect("readable test file");
        for line in text.split(|&c| c == b'\n').filter(|l| !l.is_empty()) {
            let decoded = crate::transform::Transform::UrlDecodeUni.apply(line).into_owned();
            corpus.push(line.to_vec());
            corpus.push(decoded.to_ascii_lowercase());
            corpus.push(decoded);
        }
    }
    corpus.sort_unstable();
    corpus.dedup();
    corpus
}

#[test]
fn translation_preserves_patterns_the_regex_crate_reads_alike() {
    // For CRS patterns without `\x{..}` (whose meaning differs: a byte in PCRE, a code point in
    // the regex crate), the translated regex must find exactly what the untranslated one finds.
    let corpus = crs_payload_corpus();
    assert!(corpus.len() > 10_000, "corpus of {} lines", corpus.len());
    let mut compared = 0;
    let mut diffs = Vec::new();
    for (file, _, name, arg) in crs_operators() {
        if name != "rx" || arg.contains("\\x{") {
            continue;
        }
        let Ok(raw) = regex::bytes::RegexBuilder::new(&arg)
            .unicode(false)
            .dot_matches_new_line(true)
            .multi_line(true)
            .size_limit(1 << 28)
            .build()
        else {
            continue;
        };
        let ours = super::regex::compile(&arg).expect("compiles");
        compared += 1;
        if let Some(line) = corpus
            .iter()
            .find(|c| ours.find(c).map(|m| m.range()) != raw.find(c).map(|m| m.range()))
        {
            diffs.push(format!("{file}: {arg} on {:?}", String::from_utf8_lossy(line)));
        }
    }
    assert!(compared > 300, "only {compared} patterns compared");
    assert!(diffs.is_empty(), "{}", diffs.join("\n"));
}
