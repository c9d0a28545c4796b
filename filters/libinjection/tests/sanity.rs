//! Everyday payloads (the kind CRS rules 942100 / 941100 see) and robustness on any bytes.

use meshward_libinjection::{detect_sqli, detect_xss};

#[test]
fn sql_injection_payloads_get_libinjections_fingerprints() {
    // Fingerprints as the C libinjection reports them.
    let cases: &[(&str, &str)] = &[
        ("1' or '1'='1", "s&sos"),
        ("1 UNION SELECT password FROM users--", "1UEnk"),
        ("admin'--", "sc"),
        ("1; DROP TABLE users", "1;Tnn"),
        ("' OR 1=1 #", "s&1c"),
        ("1 AND SLEEP(5)", "1&f(1"),
        ("-1' UNION ALL SELECT NULL,NULL--", "sUEvc"),
        // libinjection flags arithmetic comparisons joined by a logic word too.
        ("5 < 6 and 7 > 3", "1&1"),
    ];
    for (input, fp) in cases {
        assert_eq!(detect_sqli(input.as_bytes()).as_deref(), Some(*fp), "{input}");
    }
}

#[test]
fn benign_text_is_not_sqli() {
    for input in [
        "hello world",
        "O'Reilly",
        "john.doe@example.com",
        "select a product",
        "1e5",
        "",
        "<script>alert(1)</script>",
    ] {
        assert_eq!(detect_sqli(input.as_bytes()), None, "{input}");
    }
}

#[test]
fn xss_payloads_are_detected() {
    for input in [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "<a href=\"javascript:alert(1)\">x</a>",
        "\" onmouseover=\"alert(1)",
        "<p style=\"color:red\">hi</p>",
        "<!DOCTYPE html>",
        "<svg/onload=alert(1)>",
        // entity-encoded scheme
        "<a href=\"jav&#x61;script:alert(1)\">",
    ] {
        assert!(detect_xss(input.as_bytes()), "{input}");
    }
}

#[test]
fn benign_html_and_text_are_not_xss() {
    for input in [
        "<b>bold</b>",
        "javascript:alert(1)",
        "hello world",
        "1' or '1'='1",
        "<a href=\"https://example.com/\">x</a>",
        "",
    ] {
        assert!(!detect_xss(input.as_bytes()), "{input}");
    }
}

/// Small deterministic generator (xorshift64*), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[test]
fn arbitrary_bytes_never_panic() {
    // Half the bytes from a syntax-heavy alphabet so the tokenizers reach deep states.
    const ALPHABET: &[u8] =
        b"'\"`/*-#;(),.=<>!&|^~+%@$:{}[]\\ \t\n\r\x00\x0b\x0c\xa0\xff\x800123456789aeEnNqQxXbBuU_onsrc&#x;";
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut buf = Vec::new();
    for _ in 0..40_000 {
        buf.clear();
        let len = rng.below(96);
        for _ in 0..len {
            let byte = if rng.below(2) == 0 {
                ALPHABET[rng.below(ALPHABET.len())]
            } else {
                rng.below(256) as u8
            };
            buf.push(byte);
        }
        let fp = detect_sqli(&buf);
        if let Some(fp) = &fp {
            assert!((1..=5).contains(&fp.len()), "fingerprint {fp:?}");
        }
        let _ = detect_xss(&buf);
    }
}

#[test]
fn long_inputs_are_handled() {
    let mut long = "1' or '1'='1 ".repeat(10_000).into_bytes();
    assert!(detect_sqli(&long).is_some());
    long.extend_from_slice(b"<script>");
    assert!(detect_xss(&long));
    let zeros = vec![0u8; 100_000];
    assert_eq!(detect_sqli(&zeros), None);
    assert!(!detect_xss(&zeros));
}
