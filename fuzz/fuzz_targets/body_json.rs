//! The JSON body processor: never panics, and agrees with serde_json on which documents are
//! well-formed (inside serde_json's own nesting limit, which both hit alike).
#![no_main]

use libfuzzer_sys::fuzz_target;
use meshward_seclang::fuzzing::json;

fuzz_target!(|data: &[u8]| {
    let ours = json(data);
    let reference = serde_json::from_slice::<serde_json::Value>(data);
    assert_eq!(
        ours.error.is_none(),
        reference.is_ok(),
        "accept/reject differs from serde_json: ours {:?}, serde_json {:?}",
        ours.error,
        reference.err()
    );
    if ours.error.is_none() {
        // Every name is rooted at `json`.
        assert!(ours.args.iter().all(|(n, _)| n.starts_with(b"json")));
    }
});
