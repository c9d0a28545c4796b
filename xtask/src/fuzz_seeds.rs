//! Seed corpora for the fuzz targets, written at run time into `fuzz/corpus/<target>/`: requests
//! from the CRS regression tests (`$MESHWARD_CRS_DIR/tests/regression/tests`: method, uri,
//! headers, body, raw `encoded_request`), directives from CRS's rule files, and the project's
//! own policy examples. Nothing derived from CRS is committed.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result};
use base64::Engine as _;
use serde_yaml_ng::Value;

/// One request of a CRS test stage.
#[derive(Debug, Default)]
struct TestRequest {
    method: String,
    uri: Vec<u8>,
    version: String,
    headers: Vec<(String, String)>,
    data: Vec<u8>,
    /// A raw request, when the test sends bytes instead of fields.
    raw: Option<Vec<u8>>,
}

impl TestRequest {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The request as HTTP/1.1 bytes.
    fn http1(&self) -> Vec<u8> {
        if let Some(raw) = &self.raw {
            return raw.clone();
        }
        let mut out = format!("{} ", self.method).into_bytes();
        out.extend_from_slice(&self.uri);
        out.extend_from_slice(format!(" {}\r\n", self.version).as_bytes());
        for (n, v) in &self.headers {
            out.extend_from_slice(format!("{n}: {v}\r\n").as_bytes());
        }
        if !self.data.is_empty() && self.header("content-length").is_none() {
            out.extend_from_slice(format!("Content-Length: {}\r\n", self.data.len()).as_bytes());
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&self.data);
        out
    }

    /// The request in the transaction target's shape: `METHOD URI`, header lines, "", body.
    fn transaction(&self) -> Vec<u8> {
        let mut out = format!("{} ", self.method).into_bytes();
        out.extend_from_slice(&self.uri);
        out.push(b'\n');
        for (n, v) in &self.headers {
            out.extend_from_slice(format!("{n}: {v}\n").as_bytes());
        }
        out.push(b'\n');
        out.extend_from_slice(&self.data);
        out
    }
}

/// Seeds by target: file contents, deduplicated by a content hash that names the file.
#[derive(Default)]
struct Seeds(BTreeMap<&'static str, BTreeMap<String, Vec<u8>>>);

impl Seeds {
    fn add(&mut self, target: &'static str, bytes: Vec<u8>) {
        self.0.entry(target).or_default().insert(name(&bytes), bytes);
    }

    fn with_pick(&mut self, target: &'static str, pick: u8, input: &[u8]) {
        let mut bytes = vec![pick];
        bytes.extend_from_slice(input);
        self.add(target, bytes);
    }
}

/// FNV-1a of the content: a stable file name, so a second run writes nothing new.
fn name(bytes: &[u8]) -> String {
    let hash = bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("seed-{hash:016x}")
}

/// Writes every target's seeds under `corpus`; returns how many inputs were written.
pub fn write_all(root: &Path, corpus: &Path) -> Result<usize> {
    let crs = meshward_testkit::locate::crs_dir();
    let mut seeds = Seeds::default();
    let tests = crs.join("tests/regression/tests");
    let mut requests = Vec::new();
    for file in yaml_files(&tests)? {
        let text = std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
        let doc: Value = serde_yaml_ng::from_str(&text).with_context(|| format!("parsing {}", file.display()))?;
        collect_requests(&doc, &mut requests);
    }
    anyhow::ensure!(
        !requests.is_empty(),
        "no CRS test requests under {} (set MESHWARD_CRS_DIR)",
        tests.display()
    );
    for (i, r) in requests.iter().enumerate() {
        add_request(&mut seeds, i, r);
    }
    for file in rule_files(&crs.join("rules"))? {
        let text = std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
        // One seed per paragraph: a directive with its continuation lines and comments.
        for paragraph in text.split("\n\n").filter(|p| p.contains("Sec")) {
            seeds.add("seclang_parse", paragraph.as_bytes().to_vec());
        }
    }
    for file in yaml_files(&root.join("rules/policy/examples"))? {
        let text = std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
        seeds.add("policy_document", text);
    }
    let mut written = 0;
    for (target, inputs) in &seeds.0 {
        let dir = crate::fuzz::corpus_dir(corpus, target);
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        for (file, bytes) in inputs {
            let path = dir.join(file);
            if !path.exists() {
                std::fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))?;
                written += 1;
            }
        }
    }
    Ok(written)
}

/// Seeds from one CRS test request for every target its parts fit.
fn add_request(seeds: &mut Seeds, index: usize, r: &TestRequest) {
    // The pick byte chooses a transformation, a normalization setting or a parser mode.
    let pick = u8::try_from(index % 256).unwrap_or(0);
    let http1 = r.http1();
    seeds.with_pick("http1", 0, &http1);
    seeds.with_pick("ftw_http1", pick, &http1);
    if r.raw.is_none() {
        seeds.add("transaction", r.transaction());
    }
    let (path, query) = match r.uri.iter().position(|&b| b == b'?') {
        Some(q) => (&r.uri[..q], &r.uri[q + 1..]),
        None => (&r.uri[..], &[][..]),
    };
    seeds.with_pick("policy_path", pick, path);
    seeds.with_pick("transform", pick, &r.uri);
    if !query.is_empty() {
        seeds.with_pick("body_urlencoded", 0, query);
        seeds.add("libinjection", query.to_vec());
    }
    seeds.add(
        "abi_pairs",
        meshward_abi::pairs::encode(
            &r.headers
                .iter()
                .map(|(n, v)| (n.as_bytes(), v.as_bytes()))
                .collect::<Vec<_>>(),
        ),
    );
    if r.data.is_empty() {
        return;
    }
    seeds.with_pick("transform", pick.wrapping_add(1), &r.data);
    seeds.add("libinjection", r.data.clone());
    let content_type = r.header("content-type").unwrap_or_default().to_ascii_lowercase();
    let first = r.data.iter().find(|b| !b.is_ascii_whitespace()).copied();
    if content_type.contains("multipart") {
        let mut input = r.header("content-type").unwrap_or_default().as_bytes().to_vec();
        input.push(b'\n');
        input.extend_from_slice(&r.data);
        seeds.add("body_multipart", input);
    } else if content_type.contains("json") || matches!(first, Some(b'{' | b'[')) {
        seeds.add("body_json", r.data.clone());
    } else if content_type.contains("xml") || first == Some(b'<') {
        seeds.add("body_xml", r.data.clone());
    } else {
        seeds.with_pick("body_urlencoded", 0, &r.data);
    }
}

/// Every `stages[].input` of every test in a CRS test file.
fn collect_requests(doc: &Value, out: &mut Vec<TestRequest>) {
    let tests = doc.get("tests").and_then(Value::as_sequence).into_iter().flatten();
    let stages = tests.flat_map(|t| t.get("stages").and_then(Value::as_sequence).into_iter().flatten());
    for input in stages.filter_map(|s| s.get("input")) {
        let text = |key: &str| input.get(key).and_then(Value::as_str).map(str::to_string);
        let headers = input
            .get("headers")
            .and_then(Value::as_mapping)
            .into_iter()
            .flatten()
            .filter_map(|(k, v)| Some((scalar(k)?, scalar(v)?)))
            .collect();
        let raw = text("encoded_request").and_then(|b| base64::engine::general_purpose::STANDARD.decode(b.trim()).ok());
        out.push(TestRequest {
            method: text("method").unwrap_or_else(|| "GET".to_string()),
            uri: text("uri").unwrap_or_else(|| "/".to_string()).into_bytes(),
            version: text("version").unwrap_or_else(|| "HTTP/1.1".to_string()),
            headers,
            data: input.get("data").and_then(scalar).unwrap_or_default().into_bytes(),
            raw,
        });
    }
}

/// A YAML scalar as text (numbers and booleans as written).
fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// `*.yaml` files under `dir`, recursively, sorted.
fn yaml_files(dir: &Path) -> Result<Vec<std::path::PathBuf>> {
    let mut out = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        for entry in std::fs::read_dir(&d).with_context(|| format!("listing {}", d.display()))? {
            let path = entry?.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// CRS's `rules/*.conf`, sorted.
fn rule_files(dir: &Path) -> Result<Vec<std::path::PathBuf>> {
    let mut out: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("listing {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "conf"))
        .collect();
    out.sort();
    Ok(out)
}
