//! libinjection's own published unit tests (`tests/test-*.txt` of the libinjection repository,
//! copied into `tests/data/libinjection/tests`), run the way libinjection's `testdriver` runs
//! them: SQL tokens, folded tokens, SQLi fingerprints and HTML5 tokens, compared as text.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use meshward_libinjection::{html5, sqli};

struct Case {
    input: Vec<u8>,
    expected: String,
}

fn rtrim(s: &[u8]) -> &[u8] {
    let end = s
        .iter()
        .rposition(|c| !matches!(c, b' ' | b'\n' | b'\t' | b'\r'))
        .map_or(0, |i| i + 1);
    &s[..end]
}

/// Reads a `--TEST-- / --INPUT-- / --EXPECTED--` file.
fn parse(path: &Path) -> Case {
    let text = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut section = 0;
    let (mut input, mut expected) = (Vec::new(), Vec::new());
    for line in text.split_inclusive(|&c| c == b'\n') {
        match (section, line) {
            (0, b"--TEST--\n") => section = 1,
            (1, b"--INPUT--\n") => section = 2,
            (2, b"--EXPECTED--\n") => section = 3,
            (2, _) => input.extend_from_slice(line),
            (3, _) => expected.extend_from_slice(line),
            _ => {}
        }
    }
    assert_eq!(section, 3, "{}: malformed test file", path.display());
    Case {
        input: rtrim(&input).to_vec(),
        expected: String::from_utf8_lossy(rtrim(&expected)).into_owned(),
    }
}

fn show(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// One SQL token as libinjection's test driver prints it.
fn print_sql_token(out: &mut String, t: &sqli::Token) {
    let quoted = |out: &mut String| {
        if t.str_open != 0 {
            out.push(char::from(t.str_open));
        }
        out.push_str(&show(t.c_value()));
        if t.str_close != 0 {
            out.push(char::from(t.str_close));
        }
    };
    out.push(char::from(t.kind.code()));
    out.push(' ');
    match t.kind {
        sqli::TokenType::String => quoted(out),
        sqli::TokenType::Variable => {
            out.push_str(&"@".repeat(usize::from(t.count.min(2))));
            quoted(out);
        }
        _ => out.push_str(&show(t.c_value())),
    }
    out.push('\n');
}

fn tokens(input: &[u8]) -> String {
    let mut tz = sqli::Tokenizer::new(input, sqli::Flags::ANSI);
    let mut tok = sqli::Token::default();
    let mut out = String::new();
    while tz.next_token(&mut tok) {
        print_sql_token(&mut out, &tok);
    }
    out
}

fn folding(input: &[u8]) -> String {
    let mut tz = sqli::Tokenizer::new(input, sqli::Flags::ANSI);
    let mut tv = sqli::TokenVec::default();
    let n = sqli::fold(&mut tz, &mut tv);
    let mut out = String::new();
    for t in &tv[..n] {
        print_sql_token(&mut out, t);
    }
    out
}

fn fingerprint(input: &[u8]) -> String {
    meshward_libinjection::detect_sqli(input).unwrap_or_default()
}

fn html5_tokens(input: &[u8]) -> String {
    let mut out = String::new();
    for t in html5::Tokenizer::new(input, html5::Context::Data) {
        let text = &input[t.start..t.start + t.len];
        let text = &text[..text.iter().position(|&c| c == 0).unwrap_or(text.len())];
        let _ = writeln!(out, "{},{},{}", t.kind.name(), t.len, show(text));
    }
    out
}

fn test_files(prefix: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/libinjection/tests");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(prefix) && n.ends_with(".txt"))
        })
        .collect();
    files.sort();
    files
}

/// Runs every file of one kind; fails listing each mismatch. Returns how many ran.
fn run(prefix: &str, render: fn(&[u8]) -> String) -> usize {
    let files = test_files(prefix);
    let mut failures = String::new();
    for path in &files {
        let case = parse(path);
        let actual = render(&case.input);
        let actual = String::from_utf8_lossy(rtrim(actual.as_bytes())).into_owned();
        if actual != case.expected {
            let _ = write!(
                failures,
                "\n{}\nINPUT: {}\nEXPECTED:\n{}\nGOT:\n{}\n",
                path.display(),
                show(&case.input),
                case.expected,
                actual
            );
        }
    }
    assert!(failures.is_empty(), "mismatches:{failures}");
    files.len()
}

#[test]
fn sql_tokens() {
    assert_eq!(run("test-tokens-", tokens), 249);
}

#[test]
fn sql_folding() {
    assert_eq!(run("test-folding-", folding), 118);
}

#[test]
fn sqli_fingerprints() {
    assert_eq!(run("test-sqli-", fingerprint), 50);
}

#[test]
fn html5_tokenizer() {
    assert_eq!(run("test-html5-", html5_tokens), 63);
}

#[test]
fn every_published_file_is_run() {
    let all = test_files("test-").len();
    let known: usize = ["test-tokens-", "test-folding-", "test-sqli-", "test-html5-"]
        .iter()
        .map(|p| test_files(p).len())
        .sum();
    assert_eq!(all, known, "a test file of an unknown kind is not run");
    assert_eq!(all, 480);
}
