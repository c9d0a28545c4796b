//! libinjection-compatible SQLi/XSS detection, in pure Rust (no C, builds for wasm32).
//!
//! A port of libinjection's algorithms (SQL tokenizer, folding and fingerprint list; HTML5
//! tokenizer and XSS blacklists). The data tables come from libinjection (BSD-3-Clause).

pub mod html5;
pub mod sqli;
pub mod xss;

/// SQL injection check; returns libinjection's fingerprint (e.g. "s&1c") when the input is SQLi.
pub fn detect_sqli(input: &[u8]) -> Option<String> {
    sqli::detect(input)
}

/// XSS check, libinjection's libinjection_xss semantics.
pub fn detect_xss(input: &[u8]) -> bool {
    xss::detect(input)
}
