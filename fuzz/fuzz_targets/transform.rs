//! Every SecLang transformation: deterministic (the same input twice gives the same output)
//! and of bounded growth: `output.len() <= K * input.len() + C`, with K and C per
//! transformation below. The first byte picks the transformation, the rest is the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use meshward_seclang::fuzzing::{transform, transform_names};
use std::sync::OnceLock;

/// The growth bound (K, C) of a transformation, from what it does to one input byte.
fn bound(name: &str) -> (usize, usize) {
    match name {
        // One byte becomes two hex digits.
        "hexEncode" => (2, 0),
        // Three bytes become four characters, padded to a multiple of four.
        "base64Encode" => (2, 4),
        // One byte becomes `%HH`.
        "urlEncode" => (3, 0),
        // A 2-byte UTF-8 character becomes the 6 bytes of `%uHHHH`; an overlong one (ModSecurity's
        // quirk, kept) also gets its lead byte appended: 7 bytes for 2.
        "utf8toUnicode" => (4, 0),
        // The decimal length of the input.
        "length" => (0, 20),
        // Fixed-size raw digests.
        "md5" => (0, 16),
        "sha1" => (0, 20),
        // Everything else decodes, removes, replaces or re-cases: never longer.
        _ => (1, 0),
    }
}

fn names() -> &'static [&'static str] {
    static NAMES: OnceLock<Vec<&'static str>> = OnceLock::new();
    NAMES.get_or_init(transform_names)
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, input)) = data.split_first() else {
        return;
    };
    let names = names();
    let name = names[usize::from(pick) % names.len()];
    let first = transform(name, input).expect("a listed name is known");
    let second = transform(name, input).expect("a listed name is known");
    assert_eq!(first, second, "t:{name} is not deterministic");
    let (k, c) = bound(name);
    assert!(
        first.len() <= k * input.len() + c,
        "t:{name} grew {} bytes into {} (bound {k}*n+{c})",
        input.len(),
        first.len()
    );
});
