//! The XML body processor: never panics; a parsed document's root text is exactly its text
//! nodes joined, and every attribute has a name.
#![no_main]

use libfuzzer_sys::fuzz_target;
use meshward_seclang::fuzzing::xml;

fuzz_target!(|data: &[u8]| {
    if let Ok(doc) = xml(data) {
        assert_eq!(
            doc.root_text,
            doc.text_nodes.concat(),
            "XML:/* is not the text nodes joined"
        );
        assert!(
            doc.attributes.iter().all(|(n, _)| !n.is_empty()),
            "attribute without a name"
        );
    }
});
