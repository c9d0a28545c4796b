//! libinjection-compatible SQLi/XSS detection.
