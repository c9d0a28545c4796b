//! The HTTP/1.1 reader behind host-test's message files and servers
//! (`meshward_testkit::http1`, wrapped by `host-test/src/http1.rs`): requests and responses.
//! A message read from the start of the input takes no more bytes than there are, and reading
//! just the bytes it took gives the same message.
//!
//! host-test's own wrapper (Envoy-form header edits) is not linked here: it would pull wasmtime
//! into an instrumented build for a few lines of header renaming.
#![no_main]

use libfuzzer_sys::fuzz_target;
use meshward_testkit::http1::{parse_request, parse_response};

fuzz_target!(|data: &[u8]| {
    let Some((&pick, raw)) = data.split_first() else {
        return;
    };
    if pick & 1 == 0 {
        if let Ok((request, used)) = parse_request(raw) {
            assert!(used <= raw.len(), "took {used} of {} bytes", raw.len());
            let again = parse_request(&raw[..used]);
            assert_eq!(again.ok(), Some((request, used)), "the bytes taken read differently");
        }
    } else {
        let method = if pick & 2 == 0 { "GET" } else { "HEAD" };
        if let Ok((response, used)) = parse_response(raw, method) {
            assert!(used <= raw.len(), "took {used} of {} bytes", raw.len());
            let again = parse_response(&raw[..used], method);
            assert_eq!(again.ok(), Some((response, used)), "the bytes taken read differently");
        }
    }
});
