//! The header-map encoding of the ABI: a little-endian `u32` count, then a `u32` name size and
//! a `u32` value size per pair, then each name and value followed by a NUL byte.
//!
//! Two decoders, because the two sides of the boundary owe different things:
//! - [`decode`] is strict: a filter reading a map the host sent gets every pair or an error
//!   that says where the bytes stopped making sense, never a partial map;
//! - [`decode_lenient`] answers a malformed map with no pairs, as proxy-wasm-cpp-host does
//!   when a filter hands it one (`proxy_set_header_map_pairs`, `proxy_send_local_response`).
//!
//! Neither panics, allocates in proportion to a claimed count, or reads past the buffer.

use std::fmt;

/// One header as bytes: (name, value).
pub type Pair = (Vec<u8>, Vec<u8>);

/// Where a map stopped making sense, by byte offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PairsError {
    /// The buffer ends inside the count or the size table, which needs `needed` bytes.
    Truncated {
        /// Bytes the header and size table need.
        needed: usize,
        /// Bytes there are.
        len: usize,
    },
    /// A name or value (with its NUL) runs past the end of the buffer.
    Overrun {
        /// Index of the pair.
        pair: usize,
        /// Offset at which the string starts.
        at: usize,
    },
    /// A name or value is not followed by a NUL byte.
    MissingNul {
        /// Index of the pair.
        pair: usize,
        /// Offset where the NUL should be.
        at: usize,
    },
    /// Bytes are left over after the last pair.
    TrailingBytes {
        /// Offset of the first byte left over.
        at: usize,
    },
}

impl fmt::Display for PairsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PairsError::Truncated { needed, len } => {
                write!(
                    f,
                    "header map truncated: the size table needs {needed} bytes, there are {len}"
                )
            }
            PairsError::Overrun { pair, at } => write!(f, "header map pair {pair} at byte {at} runs past the end"),
            PairsError::MissingNul { pair, at } => write!(f, "header map pair {pair}: no NUL at byte {at}"),
            PairsError::TrailingBytes { at } => write!(f, "header map has bytes left over from byte {at}"),
        }
    }
}

impl std::error::Error for PairsError {}

/// Encodes pairs (names and values as given; the encoding does not change case).
pub fn encode<K: AsRef<[u8]>, V: AsRef<[u8]>>(pairs: &[(K, V)]) -> Vec<u8> {
    let size = 4 + pairs
        .iter()
        .map(|(k, v)| 8 + k.as_ref().len() + v.as_ref().len() + 2)
        .sum::<usize>();
    let mut out = Vec::with_capacity(size);
    out.extend_from_slice(&len_u32(pairs.len()).to_le_bytes());
    for (k, v) in pairs {
        out.extend_from_slice(&len_u32(k.as_ref().len()).to_le_bytes());
        out.extend_from_slice(&len_u32(v.as_ref().len()).to_le_bytes());
    }
    for (k, v) in pairs {
        out.extend_from_slice(k.as_ref());
        out.push(0);
        out.extend_from_slice(v.as_ref());
        out.push(0);
    }
    out
}

/// A length as the ABI's `u32`; nothing a proxy hands over comes near 4 GiB.
fn len_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Decodes a map the host sent. An empty buffer is an empty map (what Envoy sends for one).
pub fn decode(bytes: &[u8]) -> Result<Vec<Pair>, PairsError> {
    if bytes.is_empty() {
        return Ok(Vec::new());
    }
    let count = word(bytes, 0).ok_or(PairsError::Truncated {
        needed: 4,
        len: bytes.len(),
    })?;
    // Each pair needs 8 size bytes: a count the buffer cannot hold is refused before any
    // allocation, so a hostile count costs nothing.
    let table_end = count
        .checked_mul(8)
        .and_then(|n| n.checked_add(4))
        .filter(|&end| end <= bytes.len())
        .ok_or(PairsError::Truncated {
            needed: count.saturating_mul(8).saturating_add(4),
            len: bytes.len(),
        })?;
    let mut out = Vec::with_capacity(count);
    let mut at = table_end;
    for pair in 0..count {
        // In range: `table_end` covers every size word.
        let (Some(klen), Some(vlen)) = (word(bytes, 4 + pair * 8), word(bytes, 8 + pair * 8)) else {
            return Err(PairsError::Truncated {
                needed: table_end,
                len: bytes.len(),
            });
        };
        let (key, next) = string(bytes, at, klen, pair)?;
        let (value, next) = string(bytes, next, vlen, pair)?;
        at = next;
        out.push((key.to_vec(), value.to_vec()));
    }
    if at != bytes.len() {
        return Err(PairsError::TrailingBytes { at });
    }
    Ok(out)
}

/// Decodes a map a filter sent: a malformed one is no pairs, as in proxy-wasm-cpp-host.
pub fn decode_lenient(bytes: &[u8]) -> Vec<Pair> {
    decode(bytes).unwrap_or_default()
}

/// The little-endian `u32` at `at`, if the buffer holds it.
fn word(bytes: &[u8], at: usize) -> Option<usize> {
    let b: [u8; 4] = bytes.get(at..at.checked_add(4)?)?.try_into().ok()?;
    usize::try_from(u32::from_le_bytes(b)).ok()
}

/// The `len` bytes at `at` and the offset after their NUL.
fn string(bytes: &[u8], at: usize, len: usize, pair: usize) -> Result<(&[u8], usize), PairsError> {
    let end = at.checked_add(len).ok_or(PairsError::Overrun { pair, at })?;
    let s = bytes.get(at..end).ok_or(PairsError::Overrun { pair, at })?;
    match bytes.get(end) {
        Some(0) => Ok((s, end + 1)),
        Some(_) => Err(PairsError::MissingNul { pair, at: end }),
        None => Err(PairsError::Overrun { pair, at }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<u8> {
        encode(&[
            (":path", "/a"),
            ("X-Debug", "1"),
            ("x-empty", ""),
            ("x-debug", "\u{e9}"),
        ])
    }

    #[test]
    fn round_trip_keeps_order_case_and_bytes() {
        let map = decode(&sample()).unwrap();
        assert_eq!(map.len(), 4);
        assert_eq!(map[0], (b":path".to_vec(), b"/a".to_vec()));
        assert_eq!(map[1].0, b"X-Debug", "case is the caller's business");
        assert_eq!(map[2], (b"x-empty".to_vec(), Vec::new()));
        assert_eq!(map[3].1, "\u{e9}".as_bytes());
        assert_eq!(&sample()[..4], &4u32.to_le_bytes());
        assert_eq!(decode_lenient(&sample()), map);
    }

    #[test]
    fn empty_buffer_and_zero_count_are_empty_maps() {
        assert_eq!(decode(&[]), Ok(Vec::new()));
        assert_eq!(decode(&encode::<&str, &str>(&[])), Ok(Vec::new()));
    }

    #[test]
    fn every_cut_is_an_error_never_a_partial_map() {
        let bytes = sample();
        for cut in 1..bytes.len() {
            assert!(decode(&bytes[..cut]).is_err(), "strict decode of the first {cut} bytes");
            assert!(
                decode_lenient(&bytes[..cut]).is_empty(),
                "lenient decode of the first {cut} bytes"
            );
        }
    }

    #[test]
    fn every_flipped_terminator_or_extra_byte_is_an_error() {
        let bytes = sample();
        for (i, b) in bytes.iter().enumerate().skip(4 + 4 * 8) {
            if *b == 0 {
                let mut bad = bytes.clone();
                bad[i] = b'x';
                assert!(matches!(decode(&bad), Err(PairsError::MissingNul { .. })), "NUL at {i}");
            }
        }
        let mut extra = bytes.clone();
        extra.push(0);
        assert_eq!(decode(&extra), Err(PairsError::TrailingBytes { at: bytes.len() }));
    }

    #[test]
    fn hostile_sizes_are_refused_without_reading_past_the_end() {
        assert!(matches!(
            decode(&u32::MAX.to_le_bytes()),
            Err(PairsError::Truncated { .. })
        ));
        let mut huge_key = encode(&[("a", "b")]);
        huge_key[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(decode(&huge_key), Err(PairsError::Overrun { pair: 0, .. })));
        let mut huge_value = encode(&[("a", "b")]);
        huge_value[8..12].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(decode(&huge_value), Err(PairsError::Overrun { pair: 0, .. })));
        assert!(decode_lenient(&huge_value).is_empty());
    }

    #[test]
    fn errors_say_where() {
        let e = decode(&[1, 0, 0]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "header map truncated: the size table needs 4 bytes, there are 3"
        );
    }
}
