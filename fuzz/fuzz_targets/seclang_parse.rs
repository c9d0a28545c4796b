//! SecLang text → a rule set or a typed error that points at a line of that text.
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
        .add_str(&text, "fuzz.conf")
        .build();
    if let Err(e) = result {
        // The error names a line of the text it was given (1-based, within the text).
        let lines = text.split('\n').count();
        assert_eq!(e.location.file.to_str(), Some("fuzz.conf"), "{e}");
        assert!(
            (1..=lines).contains(&e.location.line),
            "error line {} outside 1..={lines}: {e}",
            e.location.line
        );
        assert!(!e.to_string().is_empty());
    }
});
