//! The policy document parser and compiler: any text gives a document or a typed error, and a
//! parsed document written back as JSON parses to the same document (what the CLI and the
//! generated examples rely on). Compiling never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use meshward_policy::{parse_document, Engine};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(doc) = parse_document(text) else {
        assert!(
            Engine::from_text(text).is_err(),
            "from_text accepted what parse_document refused"
        );
        return;
    };
    let json = serde_json::to_string(&doc).expect("a document serializes");
    let again = parse_document(&json).expect("a serialized document parses");
    assert_eq!(doc, again, "JSON round trip changed the document: {json}");
    let compiled = Engine::compile(&doc);
    assert_eq!(
        compiled.is_ok(),
        Engine::from_text(text).is_ok(),
        "compile and from_text disagree"
    );
});
