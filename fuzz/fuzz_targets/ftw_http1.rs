//! The CRS test runner's model of Envoy's HTTP/1 codec (`filters/ftw/src/http1.rs`): a request
//! is refused (an error status, or a stall) or reaches the filter with lower-cased header names, a method, a
//! path, and no NUL or CR inside a header value.
//!
//! The module is compiled here from its source file: the `meshward-ftw` crate links wasmtime and
//! Envoy's test harness, which the module does not use and an instrumented build does not need.
#![no_main]

#[allow(dead_code, missing_docs, clippy::all)]
#[path = "../../filters/ftw/src/http1.rs"]
mod ftw_http1;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, raw)) = data.split_first() else {
        return;
    };
    let options = ftw_http1::ProxyOptions {
        accept_http_10: pick & 1 == 1,
        ..ftw_http1::ProxyOptions::default()
    };
    match ftw_http1::parse_with(raw, &options) {
        Ok(request) => {
            assert!(!request.method.is_empty());
            for (name, value) in &request.headers {
                assert!(
                    !name.iter().any(u8::is_ascii_uppercase),
                    "header name {name:?} not lower-cased"
                );
                assert!(!value.contains(&0), "NUL in header value");
                assert!(!value.contains(&b'\r'), "CR in header value");
            }
        }
        Err(rejection) => {
            // A local reply is an error status; `None` (Envoy waits, then drops) is also fine.
            if let Some(status) = rejection.status {
                assert!((400..600).contains(&status), "{rejection:?}");
            }
            assert!(!rejection.reason.is_empty());
        }
    }
});
