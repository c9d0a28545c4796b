//! The SQLi and XSS detectors: never panic, answer the same twice, and a SQLi fingerprint is
//! 1 to 5 token-type characters (libinjection folds to at most five tokens).
#![no_main]

use libfuzzer_sys::fuzz_target;
use meshward_libinjection::{detect_sqli, detect_xss};

fuzz_target!(|data: &[u8]| {
    let fingerprint = detect_sqli(data);
    if let Some(fp) = &fingerprint {
        assert!((1..=5).contains(&fp.len()), "fingerprint {fp:?}");
        assert!(fp.bytes().all(|b| b.is_ascii_graphic()), "fingerprint {fp:?}");
    }
    assert_eq!(fingerprint, detect_sqli(data), "detect_sqli is not deterministic");
    let xss = detect_xss(data);
    assert_eq!(xss, detect_xss(data), "detect_xss is not deterministic");
});
