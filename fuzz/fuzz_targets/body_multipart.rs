//! The multipart body processor: never panics, answers the same twice, and every field and
//! file comes from bytes of the body (none longer than the body). The first line of the input
//! is the Content-Type header value, the rest the body.
#![no_main]

use libfuzzer_sys::fuzz_target;
use meshward_seclang::fuzzing::multipart;

fuzz_target!(|data: &[u8]| {
    let (content_type, body) = match data.iter().position(|&b| b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let out = multipart(content_type, body);
    for (name, value) in &out.args {
        assert!(name.len() + value.len() <= body.len(), "field longer than the body");
    }
    let contents: usize = out.files.iter().map(|(_, _, c)| c.len()).sum();
    assert!(contents <= body.len(), "file contents longer than the body");
    assert_eq!(out, multipart(content_type, body), "not deterministic");
});
