//! What the calls send and receive, in the shapes the ABI and the filters want.

use std::time::Duration;

use meshward_abi::pairs::{self, Pair};
use meshward_abi::Status;

/// A header map the host sent; a map the strict decoder refuses is [`Status::ParseFailure`]
/// (never a partial map).
pub fn header_map(bytes: &[u8]) -> Result<Vec<Pair>, Status> {
    pairs::decode(bytes).map_err(|_| Status::ParseFailure)
}

/// A property path as the ABI wants it: the segments joined with NUL
/// (`["source", "address"]` is `source\0address`).
pub fn property_path(path: &[&str]) -> Vec<u8> {
    path.join("\0").into_bytes()
}

/// A property value as text (lossy), `None` when empty.
pub fn nonempty_text(bytes: &[u8]) -> Option<String> {
    Some(String::from_utf8_lossy(bytes).into_owned()).filter(|s| !s.is_empty())
}

/// An http call timeout in the ABI's `u32` milliseconds, saturating (49 days) rather than
/// wrapping to a short timeout.
pub fn timeout_ms(timeout: Duration) -> u32 {
    u32::try_from(timeout.as_millis()).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_maps_decode_whole_or_not_at_all() {
        let bytes = pairs::encode(&[(":path", "/a"), ("X-Debug", "1")]);
        let map = header_map(&bytes).unwrap();
        assert_eq!(map[0], (b":path".to_vec(), b"/a".to_vec()));
        assert_eq!(map[1].0, b"X-Debug", "names keep the host's case");
        assert_eq!(header_map(&[]), Ok(Vec::new()));
        assert_eq!(header_map(&bytes[..bytes.len() - 1]), Err(Status::ParseFailure));
        assert_eq!(header_map(&u32::MAX.to_le_bytes()), Err(Status::ParseFailure));
    }

    #[test]
    fn property_paths_join_segments_with_nul() {
        assert_eq!(property_path(&["source", "address"]), b"source\0address");
        assert_eq!(property_path(&["listener_direction"]), b"listener_direction");
        assert_eq!(property_path(&[]), b"");
    }

    #[test]
    fn property_text_is_lossy_and_empty_is_absent() {
        assert_eq!(nonempty_text(b"10.0.0.1:80").as_deref(), Some("10.0.0.1:80"));
        assert_eq!(nonempty_text(b"a\xffb").as_deref(), Some("a\u{fffd}b"));
        assert_eq!(nonempty_text(b""), None);
    }

    #[test]
    fn timeouts_are_milliseconds_and_saturate() {
        assert_eq!(timeout_ms(Duration::from_millis(500)), 500);
        assert_eq!(timeout_ms(Duration::from_micros(1500)), 1);
        assert_eq!(timeout_ms(Duration::from_millis(u64::from(u32::MAX))), u32::MAX);
        assert_eq!(timeout_ms(Duration::from_millis(u64::from(u32::MAX) + 5)), u32::MAX);
    }
}
