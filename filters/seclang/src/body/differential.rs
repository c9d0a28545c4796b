//! Differential tests of the body processors against independent parsers, on generated bodies
//! and on the bodies of CRS's regression tests: the JSON processor against `serde_json::Value`,
//! the multipart processor against `multer`. Both must accept and produce the same
//! `(name, value)` pairs, or both reject.

use super::json::{self, JsonConfig};
use super::multipart::{self, MultipartConfig};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

type Pair = (Vec<u8>, Vec<u8>);

/// Deterministic xorshift: the generated corpus is the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn bytes(&mut self, alphabet: &[u8], max_len: usize) -> Vec<u8> {
        let len = self.below(max_len + 1);
        (0..len).map(|_| alphabet[self.below(alphabet.len())]).collect()
    }
}

/// Request bodies from CRS's regression tests with their Content-Type (empty when none).
fn crs_bodies() -> Vec<(String, Vec<u8>)> {
    let dir = meshward_testkit::locate::crs_dir().join("tests/regression/tests");
    assert!(
        dir.is_dir(),
        "CRS tests not found at {} (set MESHWARD_CRS_DIR)",
        dir.display()
    );
    let mut files = Vec::new();
    let mut pending = vec![dir];
    while let Some(d) = pending.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "yaml") {
                files.push(path);
            }
        }
    }
    files.sort();
    files.iter().flat_map(|f| bodies_in(f)).collect()
}

fn bodies_in(file: &Path) -> Vec<(String, Vec<u8>)> {
    let text = std::fs::read_to_string(file).unwrap();
    let doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).unwrap();
    let mut out = Vec::new();
    let tests = doc.get("tests").and_then(|t| t.as_sequence()).into_iter().flatten();
    for stage in tests.flat_map(|t| t.get("stages").and_then(|s| s.as_sequence()).into_iter().flatten()) {
        let Some(input) = stage.get("input") else { continue };
        let Some(data) = input.get("data").and_then(|d| d.as_str()) else {
            continue;
        };
        let content_type = input
            .get("headers")
            .and_then(|h| h.as_mapping())
            .into_iter()
            .flatten()
            .find(|(k, _)| k.as_str().is_some_and(|k| k.eq_ignore_ascii_case("content-type")))
            .and_then(|(_, v)| v.as_str())
            .unwrap_or_default()
            .to_string();
        out.push((content_type, data.as_bytes().to_vec()));
    }
    out
}

// ---- JSON ----

/// The arguments ModSecurity names for a parsed document, from `serde_json::Value`:
/// `json.a.b`, `json.arr.array_0`, `json.empty-key`, the top-level scalar as `json`.
fn value_args(prefix: &str, value: &Value, out: &mut Vec<Pair>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                let key = if k.is_empty() { "empty-key" } else { k };
                value_args(&format!("{prefix}.{key}"), v, out);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                value_args(&format!("{prefix}.array_{i}"), v, out);
            }
        }
        Value::Null => out.push((prefix.into(), Vec::new())),
        Value::Bool(b) => out.push((prefix.into(), b.to_string().into_bytes())),
        Value::Number(n) => out.push((prefix.into(), n.to_string().into_bytes())),
        Value::String(s) => out.push((prefix.into(), s.clone().into_bytes())),
    }
}

fn counts(pairs: &[Pair]) -> BTreeMap<&Pair, usize> {
    let mut out = BTreeMap::new();
    for p in pairs {
        *out.entry(p).or_insert(0) += 1;
    }
    out
}

/// Compares one body; returns whether both accepted it.
fn compare_json(body: &[u8]) -> bool {
    let ours = json::parse(body, &JsonConfig::default());
    let reference = serde_json::from_slice::<Value>(body);
    let shown = String::from_utf8_lossy(body);
    match reference {
        Err(e) => {
            assert!(ours.error.is_some(), "serde_json rejects ({e}), ours accepts: {shown}");
            false
        }
        Ok(value) => {
            assert_eq!(ours.error, None, "serde_json accepts, ours rejects: {shown}");
            let mut expected = Vec::new();
            value_args("json", &value, &mut expected);
            // `Value` keeps the last of duplicate keys (and sorts keys): compare as multisets,
            // and with duplicates every pair it kept must be among ours.
            let (ours_counts, expected_counts) = (counts(&ours.args), counts(&expected));
            if ours.args.len() == expected.len() {
                assert_eq!(ours_counts, expected_counts, "{shown}");
            } else {
                assert!(ours.args.len() > expected.len(), "{shown}");
                for (pair, n) in &expected_counts {
                    assert!(
                        ours_counts.get(pair).is_some_and(|m| m >= n),
                        "{pair:?} missing: {shown}"
                    );
                }
            }
            true
        }
    }
}

/// A random JSON value up to `depth` levels, with keys and strings that need escaping.
fn random_value(rng: &mut Rng, depth: usize) -> Value {
    let kinds = if depth == 0 { 5 } else { 7 };
    match rng.below(kinds) {
        0 => Value::Null,
        1 => Value::Bool(rng.below(2) == 0),
        2 => Value::from(rng.next() as i64 >> rng.below(64)),
        3 => serde_json::Number::from_f64((rng.next() % 100_000) as f64 / 7.0).map_or(Value::Null, Value::Number),
        4 => Value::String(random_text(rng)),
        5 => Value::Array((0..rng.below(4)).map(|_| random_value(rng, depth - 1)).collect()),
        _ => Value::Object(
            (0..rng.below(4))
                .map(|_| (random_text(rng), random_value(rng, depth - 1)))
                .collect(),
        ),
    }
}

fn random_text(rng: &mut Rng) -> String {
    const PIECES: &[&str] = &[
        "a",
        "b",
        "key",
        "",
        ".",
        "\"",
        "\\",
        "\u{e9}",
        "\u{1F600}",
        "\n",
        "\0",
        " ",
        "'--",
        "<x>",
    ];
    (0..rng.below(4)).map(|_| PIECES[rng.below(PIECES.len())]).collect()
}

#[test]
fn json_agrees_with_serde_json_on_generated_documents() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let (mut accepted, mut rejected) = (0, 0);
    for _ in 0..3000 {
        let text = serde_json::to_vec(&random_value(&mut rng, 4)).unwrap();
        assert!(compare_json(&text));
        accepted += 1;
        // Broken variants: cut short, a byte replaced, a duplicate key appended.
        let mut variants = vec![text[..rng.below(text.len().max(1))].to_vec()];
        let mut flipped = text.clone();
        if !flipped.is_empty() {
            let at = rng.below(flipped.len());
            const BREAKERS: &[u8] = b"{}[],:\"\\x0 \xff";
            flipped[at] = BREAKERS[rng.below(BREAKERS.len())];
        }
        variants.push(flipped);
        if text.first() == Some(&b'{') && text.len() > 2 {
            let mut dup = text[..text.len() - 1].to_vec();
            dup.extend_from_slice(b",\"a\":1,\"a\":2}");
            variants.push(dup);
        }
        for v in variants {
            if compare_json(&v) {
                accepted += 1;
            } else {
                rejected += 1;
            }
        }
    }
    // The corpus exercises both sides.
    assert!(
        accepted > 3000 && rejected > 1000,
        "accepted {accepted}, rejected {rejected}"
    );
}

#[test]
fn json_agrees_with_serde_json_on_crs_bodies() {
    let bodies = crs_bodies();
    let mut compared = 0;
    for (content_type, body) in &bodies {
        let first = body.iter().find(|b| !b.is_ascii_whitespace());
        if content_type.contains("json") || matches!(first, Some(b'{' | b'[')) {
            compare_json(body);
            compared += 1;
        }
    }
    assert!(compared >= 20, "only {compared} JSON bodies in CRS's tests");
}

// ---- multipart ----

/// What a multipart parser produced: form fields and files `(name, filename, content)`.
#[derive(Debug, PartialEq, Eq)]
struct Form {
    fields: Vec<Pair>,
    files: Vec<(Vec<u8>, Vec<u8>, Vec<u8>)>,
}

fn ours_multipart(content_type: &str, body: &[u8]) -> Result<Form, String> {
    let out = multipart::parse(content_type.as_bytes(), body, &MultipartConfig::default());
    if let Some(e) = out.error {
        return Err(e);
    }
    Ok(Form {
        fields: out.args,
        files: out.files.into_iter().map(|f| (f.name, f.filename, f.content)).collect(),
    })
}

/// Polls a future that never waits (the whole body is in memory) to its end.
fn complete<F: std::future::Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    loop {
        if let std::task::Poll::Ready(v) = future.as_mut().poll(&mut cx) {
            return v;
        }
    }
}

fn multer_multipart(content_type: &str, body: &[u8]) -> Result<Form, String> {
    let boundary = multer::parse_boundary(content_type).map_err(|e| e.to_string())?;
    let chunk: Result<bytes::Bytes, std::convert::Infallible> = Ok(bytes::Bytes::copy_from_slice(body));
    let mut form = multer::Multipart::new(futures_util::stream::iter([chunk]), boundary);
    complete(async {
        let mut out = Form {
            fields: Vec::new(),
            files: Vec::new(),
        };
        while let Some(field) = form.next_field().await.map_err(|e| e.to_string())? {
            let name = field.name().unwrap_or_default().as_bytes().to_vec();
            let filename = field.file_name().map(|f| f.as_bytes().to_vec());
            let content = field.bytes().await.map_err(|e| e.to_string())?.to_vec();
            match filename {
                Some(filename) => out.files.push((name, filename, content)),
                None => out.fields.push((name, content)),
            }
        }
        Ok(out)
    })
}

/// `body` with every bare LF made CRLF.
fn crlf(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + body.len() / 16);
    for (i, &b) in body.iter().enumerate() {
        if b == b'\n' && (i == 0 || body[i - 1] != b'\r') {
            out.push(b'\r');
        }
        out.push(b);
    }
    out
}

const BOUNDARY: &str = "----meshwardBoundary7MA4YWxk";

/// A well-formed body with random fields and files; values may hold CR, LF, quotes, NUL and
/// bytes that look like a boundary without being one.
fn random_form(rng: &mut Rng) -> Vec<u8> {
    const VALUE: &[u8] = b"ab=&;\r\n\"'%-\0\xff <>/\\";
    let mut body = Vec::new();
    for i in 0..rng.below(5) {
        body.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
        let name = format!("f{i}_{}", rng.below(1000));
        if rng.below(3) == 0 {
            let filename = format!("up{}.txt", rng.below(100));
            body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"; filename=\"{filename}\"\r\nContent-Type: text/plain\r\n\r\n").as_bytes(),
            );
        } else {
            body.extend_from_slice(format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes());
        }
        let mut value = rng.bytes(VALUE, 40);
        if rng.below(4) == 0 {
            value.extend_from_slice(b"\r\n--not-the-boundary");
        }
        body.extend_from_slice(&value);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

#[test]
fn multipart_agrees_with_multer_on_generated_forms() {
    let content_type = format!("multipart/form-data; boundary={BOUNDARY}");
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let mut truncated_checked = 0;
    for _ in 0..2000 {
        let body = random_form(&mut rng);
        let (ours, theirs) = (
            ours_multipart(&content_type, &body),
            multer_multipart(&content_type, &body),
        );
        assert_eq!(ours, theirs, "{}", String::from_utf8_lossy(&body));
        // Cut before the final boundary: both must refuse it (an empty body is no multipart
        // body at all, which the engine never hands to the processor).
        if body.len() == BOUNDARY.len() + 6 {
            continue;
        }
        let cut = &body[..body.len() - BOUNDARY.len() - 6];
        let (ours, theirs) = (ours_multipart(&content_type, cut), multer_multipart(&content_type, cut));
        assert!(
            ours.is_err() && theirs.is_err(),
            "truncated body: ours {ours:?}, multer {theirs:?}\n{}",
            String::from_utf8_lossy(cut)
        );
        truncated_checked += 1;
    }
    assert!(truncated_checked > 1000, "{truncated_checked}");
}

#[test]
fn multipart_agrees_with_multer_on_crs_bodies() {
    let mut both_accept = 0;
    let mut stricter = Vec::new();
    for (content_type, body) in crs_bodies() {
        if !content_type.to_ascii_lowercase().starts_with("multipart/form-data") {
            continue;
        }
        // CRS's YAML bodies are written with LF line ends, which ModSecurity accepts (with
        // MULTIPART_LF_LINE) and multer does not: both parsers get them with CRLF.
        let body = crlf(&body);
        match (
            ours_multipart(&content_type, &body),
            multer_multipart(&content_type, &body),
        ) {
            (Ok(ours), Ok(theirs)) => {
                assert_eq!(ours, theirs, "{content_type}\n{}", String::from_utf8_lossy(&body));
                both_accept += 1;
            }
            (Err(_), Err(_)) => {}
            // ModSecurity is stricter than multer on part headers (an invalid header name, a
            // part with an empty name): it stops there and reports the final boundary missing.
            (Err(ours), Ok(_)) => stricter.push(format!("{ours}: {:?}", String::from_utf8_lossy(&body))),
            (Ok(_), Err(theirs)) => panic!(
                "multer rejects ({theirs}), ours accepts: {content_type}\n{}",
                String::from_utf8_lossy(&body)
            ),
        }
    }
    assert!(
        both_accept >= 100,
        "only {both_accept} CRS multipart bodies accepted by both"
    );
    // Today 2 of 152 (CRS's tests of invalid part headers); a growing number means a change.
    assert!(stricter.len() <= 2, "{stricter:#?}");
}
