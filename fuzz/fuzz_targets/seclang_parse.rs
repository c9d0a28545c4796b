//! SecLang text → a rule set or a typed error that points at a line of that text; a rule set
//! that loads then processes a fixed request and response through every phase without a panic
//! (rules the parser accepts must be safe to run).
//!
//! Files come from an empty in-memory store, so `Include` and `@pmFromFile` never touch the
//! disk: they fail with an error located on their own line.
#![no_main]

use libfuzzer_sys::fuzz_target;
use meshward_seclang::{Files, MemoryFiles, RuleSet};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let result = RuleSet::builder()
        .files(Files::new(MemoryFiles::new()))
        .add_str(
            "SecRuleEngine On\nSecRequestBodyAccess On\nSecResponseBodyAccess On\n",
            "engine.conf",
        )
        .add_str(&text, "fuzz.conf")
        .build();
    match result {
        Ok(rules) => run_request(&rules),
        Err(e) => check_error(&text, &e),
    }
});

/// One request with a query, headers, a urlencoded body and an HTML response.
fn run_request(rules: &RuleSet) {
    let mut tx = rules.transaction();
    tx.process_connection("192.0.2.1", 12345, "127.0.0.1", 80);
    tx.process_uri(b"/index.php?id=1%27%20or%201=1&q=<script>", "POST", "HTTP/1.1");
    tx.add_request_header(b"Host", b"example.com");
    tx.add_request_header(b"Content-Type", b"application/x-www-form-urlencoded");
    tx.add_request_header(b"Cookie", b"session=abc; theme=dark");
    tx.process_request_headers();
    tx.append_request_body(b"user=admin&pass=%2e%2e%2fetc%2fpasswd");
    tx.process_request_body();
    tx.add_response_header(b"Content-Type", b"text/html");
    tx.process_response_headers(200, "HTTP/1.1");
    tx.append_response_body(b"<html><body>ok</body></html>");
    tx.process_response_body();
    tx.process_logging();
}

/// The error names a line of the text it was given (1-based, within the text).
fn check_error(text: &str, e: &meshward_seclang::LoadError) {
    let lines = text.split('\n').count();
    assert_eq!(e.location.file.to_str(), Some("fuzz.conf"), "{e}");
    assert!(
        (1..=lines).contains(&e.location.line),
        "error line {} outside 1..={lines}: {e}",
        e.location.line
    );
    assert!(!e.to_string().is_empty());
}
