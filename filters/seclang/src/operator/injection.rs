//! `@detectSQLi` and `@detectXSS` through meshward-libinjection.

/// `@detectSQLi`: libinjection's fingerprint when `value` is SQL injection.
pub(crate) fn sqli(value: &[u8]) -> Option<String> {
    meshward_libinjection::detect_sqli(value)
}

/// `@detectXSS`.
pub(crate) fn xss(value: &[u8]) -> bool {
    meshward_libinjection::detect_xss(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqli_cases() {
        assert!(sqli(b"1' OR '1'='1").is_some());
        assert!(sqli(b"ascii(substring(version() from 1 for 1))").is_some());
        assert_eq!(sqli(b"this is not isqli"), None);
        assert_eq!(sqli(b""), None);
    }

    #[test]
    fn xss_cases() {
        assert!(xss(b"<script>alert(1)</script>"));
        assert!(xss(b"<a href=\"javascript:alert(1)\">)"));
        assert!(!xss(b"this is not an XSS"));
        assert!(!xss(b""));
    }
}
