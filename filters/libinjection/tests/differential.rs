//! Differential corpus: 4,719 synthesized inputs (mutations of libinjection's test inputs and
//! random bytes, including NULs and high bytes) with the answers of the C libinjection
//! (see tests/data/README.md). Each line: hex input, fingerprint ("-" when not SQLi), XSS 0/1.

use std::path::Path;

fn unhex(s: &str) -> Vec<u8> {
    assert!(s.len().is_multiple_of(2), "odd hex length");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

#[test]
fn synthesized_inputs_match_libinjection() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/expected/differential.tsv");
    let text = std::fs::read_to_string(&path).expect("differential.tsv");
    let mut cases = 0;
    let mut mismatches = Vec::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split('\t').collect();
        assert_eq!(f.len(), 3, "bad line {line:?}");
        let input = unhex(f[0]);
        let fp = meshward_libinjection::detect_sqli(&input).unwrap_or_else(|| "-".to_owned());
        let xss = if meshward_libinjection::detect_xss(&input) {
            "1"
        } else {
            "0"
        };
        if fp != f[1] || xss != f[2] {
            mismatches.push(format!("{}: expected {} {}, got {fp} {xss}", f[0], f[1], f[2]));
        }
        cases += 1;
    }
    assert_eq!(cases, 4_719);
    assert!(
        mismatches.is_empty(),
        "{} mismatches:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}
