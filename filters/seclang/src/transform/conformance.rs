//! Conformance with the SecRules Test Set (github.com/owasp-modsecurity/secrules-language-tests,
//! the unit tests libmodsecurity runs). The JSON files in `testdata/` are that public test data;
//! inputs are decoded the way ModSecurity's unit-test runner decodes them (`json2bin`).

use super::Transform;

/// One test case of the SecRules Test Set.
#[derive(Debug, serde::Deserialize)]
pub(crate) struct Case {
    pub(crate) name: String,
    #[serde(default)]
    pub(crate) param: Option<String>,
    pub(crate) input: String,
    #[serde(default)]
    pub(crate) output: Option<String>,
    #[serde(default)]
    pub(crate) ret: Option<i64>,
}

/// Parses a test file.
pub(crate) fn load(json: &str) -> Vec<Case> {
    serde_json::from_str(json).expect("valid SecRules Test Set JSON")
}

/// What ModSecurity's runner feeds the function for a JSON string: the C string (cut at the
/// first NUL), with literal `\xHH` and `\uHHHH` sequences turned into single bytes.
pub(crate) fn json2bin(s: &str) -> Vec<u8> {
    let cut = s.split('\0').next().unwrap_or("");
    let mut v = cut.as_bytes().to_vec();
    replace_escapes(&mut v, b'x', 2);
    replace_escapes(&mut v, b'u', 4);
    v
}

/// Replaces `\<marker>` + `digits` alphanumerics by the byte they encode, repeatedly, as the
/// runner's regex loop does.
fn replace_escapes(v: &mut Vec<u8>, marker: u8, digits: usize) {
    loop {
        let found = (0..v.len()).find(|&i| {
            v[i] == b'\\'
                && v.get(i + 1) == Some(&marker)
                && v.len() >= i + 2 + digits
                && v[i + 2..i + 2 + digits].iter().all(u8::is_ascii_alphanumeric)
        });
        let Some(at) = found else { return };
        let seq = v[at..at + 2 + digits].to_vec();
        let hex: String = seq[2..]
            .iter()
            .map(|&c| c as char)
            .take_while(char::is_ascii_hexdigit)
            .collect();
        let byte = u32::from_str_radix(&hex, 16).unwrap_or(0) as u8;
        let mut out = Vec::with_capacity(v.len());
        let mut i = 0;
        while i < v.len() {
            if v[i..].starts_with(&seq) {
                out.push(byte);
                i += seq.len();
            } else {
                out.push(v[i]);
                i += 1;
            }
        }
        *v = out;
    }
}

macro_rules! files {
    ($($f:literal),* $(,)?) => {
        &[$(($f, include_str!(concat!("testdata/", $f)))),*]
    };
}

const FILES: &[(&str, &str)] = files!(
    "base64Decode.json",
    "base64DecodeExt.json",
    "base64Encode.json",
    "cmdLine.json",
    "compressWhitespace.json",
    "cssDecode.json",
    "escapeSeqDecode.json",
    "hexDecode.json",
    "hexEncode.json",
    "htmlEntityDecode.json",
    "jsDecode.json",
    "length.json",
    "lowercase.json",
    "md5.json",
    "normalisePath.json",
    "normalisePathWin.json",
    "parityEven7bit.json",
    "parityOdd7bit.json",
    "parityZero7bit.json",
    "removeComments.json",
    "removeCommentsChar.json",
    "removeNulls.json",
    "removeWhitespace.json",
    "replaceComments.json",
    "replaceNulls.json",
    "sha1.json",
    "sqlHexDecode.json",
    "trim.json",
    "trimLeft.json",
    "trimRight.json",
    "urlDecode.json",
    "urlDecodeUni.json",
    "urlEncode.json",
    "utf8toUnicode.json",
);

fn show(v: &[u8]) -> String {
    v.iter()
        .flat_map(|&b| std::ascii::escape_default(b))
        .map(char::from)
        .collect()
}

#[test]
fn secrules_test_set_transformations() {
    let mut total = 0;
    let mut failures = Vec::new();
    for (file, json) in FILES {
        for case in load(json) {
            let t = Transform::from_name(&case.name)
                .unwrap_or_else(|| panic!("{file}: unknown transformation {}", case.name));
            let input = json2bin(&case.input);
            let expected = json2bin(case.output.as_deref().unwrap_or(""));
            let got = t.apply(&input);
            total += 1;
            if *got != *expected {
                failures.push(format!(
                    "{file}: {}({}) = {} expected {}",
                    case.name,
                    show(&input),
                    show(&got),
                    show(&expected)
                ));
            }
        }
    }
    assert!(total > 300, "only {total} cases loaded");
    assert!(
        failures.is_empty(),
        "{} of {total} failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn json2bin_matches_the_runner() {
    assert_eq!(json2bin("a\\x41\\u0042c"), b"aABc");
    assert_eq!(json2bin("a\u{0}b"), b"a");
    assert_eq!(json2bin("\\x5cx41"), b"A");
    assert_eq!(json2bin("é"), "é".as_bytes());
}
