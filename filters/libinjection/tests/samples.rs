//! libinjection's sample corpora (`data/*.txt` of the libinjection repository: SQLi and XSS
//! attack lists and a list of benign look-alikes), read the way libinjection's `reader` reads
//! them. Every line's answer is compared with the C library's answer, recorded in
//! `tests/data/expected/samples.tsv` (see tests/data/README.md); the pass thresholds of
//! libinjection's own `make check` are asserted as well.

use std::collections::BTreeMap;
use std::path::Path;

/// `reader`'s URL decoding: `+` is a space, `%XX` a byte, anything else kept.
fn url_decode(s: &[u8]) -> Vec<u8> {
    let hex = |c: u8| char::from(c).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b'%' if i + 2 < s.len() => match (hex(s[i + 1]), hex(s[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 3;
                }
                _ => {
                    out.push(b'%');
                    i += 1;
                }
            },
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

/// One answer: file, line number, SQLi fingerprint ("-" when not SQLi), XSS flag.
type Answer = (String, usize, String, bool);

fn expected() -> Vec<Answer> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/expected/samples.tsv");
    let text = std::fs::read_to_string(&path).expect("samples.tsv");
    text.lines()
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            assert_eq!(f.len(), 4, "bad line {l:?}");
            (
                f[0].to_owned(),
                f[1].parse().expect("line number"),
                f[2].to_owned(),
                f[3] == "1",
            )
        })
        .collect()
}

fn actual() -> Vec<Answer> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/libinjection/data");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("data dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    files.sort();
    let mut answers = Vec::new();
    for path in files {
        let name = path.file_name().and_then(|n| n.to_str()).expect("name").to_owned();
        let text = std::fs::read(&path).expect("sample file");
        for (i, line) in text.split(|&c| c == b'\n').enumerate() {
            // `reader` measures lines with strlen: a raw NUL byte ends the line.
            let line = &line[..line.iter().position(|&c| c == 0).unwrap_or(line.len())];
            let end = line
                .iter()
                .rposition(|c| !matches!(c, b' ' | b'\n' | b'\t' | b'\r'))
                .map_or(0, |i| i + 1);
            let line = &line[..end];
            if line.is_empty() || line[0] == b'#' {
                continue;
            }
            let input = url_decode(line);
            let fp = meshward_libinjection::detect_sqli(&input).unwrap_or_else(|| "-".to_owned());
            let xss = meshward_libinjection::detect_xss(&input);
            answers.push((name.clone(), i + 1, fp, xss));
        }
    }
    answers
}

#[test]
fn every_sample_line_matches_libinjection() {
    let expected = expected();
    let actual = actual();
    assert_eq!(expected.len(), 19_216);
    assert_eq!(actual.len(), expected.len());
    let mismatches: Vec<String> = expected
        .iter()
        .zip(&actual)
        .filter(|(e, a)| e != a)
        .map(|(e, a)| format!("expected {e:?}, got {a:?}"))
        .collect();
    assert!(
        mismatches.is_empty(),
        "{} mismatches:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}

#[test]
fn make_check_thresholds_hold() {
    // Misses per kind, as counted by libinjection's test-samples-*.sh.
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    let answers = actual();
    for (file, _, fp, xss) in &answers {
        if file.starts_with("sqli-") && fp == "-" {
            *counts.entry("sqli missed").or_default() += 1;
        }
        if file.starts_with("false_") && fp != "-" {
            *counts.entry("false positives").or_default() += 1;
        }
        if file.starts_with("xss") && !xss {
            *counts.entry("xss missed").or_default() += 1;
        }
    }
    // Upstream's limits are 18, 21 and 18; the C library gets exactly these counts.
    assert_eq!(counts.get("sqli missed"), Some(&18));
    assert_eq!(counts.get("false positives"), Some(&21));
    assert_eq!(counts.get("xss missed"), Some(&5));
}
