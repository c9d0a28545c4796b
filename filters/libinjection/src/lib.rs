//! libinjection-compatible SQLi/XSS detection.

/// SQL injection check; returns libinjection's fingerprint (e.g. "s&1c") when the input is SQLi.
pub fn detect_sqli(input: &[u8]) -> Option<String> {
    let result = libinjectionrs::detect_sqli(input);
    if !result.is_injection() {
        return None;
    }
    result.fingerprint.map(|fp| fp.as_str().to_owned())
}

/// XSS check, libinjection's libinjection_xss semantics.
pub fn detect_xss(input: &[u8]) -> bool {
    libinjectionrs::detect_xss(input).is_injection()
}
