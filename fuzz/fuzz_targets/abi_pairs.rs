//! The ABI's header-map decoding: the strict decoder accepts exactly the canonical encoding
//! (decode → encode gives back the same bytes, so decode → encode → decode is stable), the
//! lenient one is the strict one or nothing.
//! Out-of-range reads would panic in safe Rust; claimed counts never allocate.
#![no_main]

use libfuzzer_sys::fuzz_target;
use meshward_abi::pairs::{decode, decode_lenient, encode};

fuzz_target!(|data: &[u8]| {
    let strict = decode(data);
    assert_eq!(decode_lenient(data), strict.clone().unwrap_or_default());
    if let Ok(pairs) = &strict {
        let bytes = encode(pairs);
        if !data.is_empty() {
            assert_eq!(bytes, data, "a decoded map encodes to other bytes");
        }
        assert_eq!(
            decode(&bytes).as_ref(),
            Ok(pairs),
            "decode → encode → decode changed the map"
        );
    }
    // The other direction: the input cut into pairs encodes and decodes back unchanged.
    let pairs: Vec<(&[u8], &[u8])> = data
        .split(|&b| b == b'\n')
        .map(|line| line.split_at(line.len() / 2))
        .collect();
    let encoded = encode(&pairs);
    let decoded = decode(&encoded).expect("an encoded map decodes");
    assert!(decoded
        .iter()
        .map(|(k, v)| (k.as_slice(), v.as_slice()))
        .eq(pairs.iter().copied()));
});
