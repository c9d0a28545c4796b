//! The proxy-wasm header-map encoding: a count, (key size, value size) pairs, then the
//! NUL-terminated keys and values. Decoding never panics on a malformed map.

fn read_u32(b: &[u8], at: usize) -> Option<usize> {
    let s = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([s[0], s[1], s[2], s[3]]) as usize)
}

/// Decodes a map as sent (bytes, case untouched); `None` when malformed. An empty buffer is an
/// empty map.
pub fn decode(b: &[u8]) -> Option<Vec<(Vec<u8>, Vec<u8>)>> {
    if b.is_empty() {
        return Some(Vec::new());
    }
    let n = read_u32(b, 0)?;
    let mut data = 4usize.checked_add(n.checked_mul(8)?)?;
    // Each pair needs 8 size bytes: a count the buffer cannot hold is malformed.
    if data > b.len() {
        return None;
    }
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let ks = read_u32(b, 4 + i * 8)?;
        let vs = read_u32(b, 8 + i * 8)?;
        let key = b.get(data..data.checked_add(ks)?)?;
        data = data.checked_add(ks)?.checked_add(1)?;
        let value = b.get(data..data.checked_add(vs)?)?;
        data = data.checked_add(vs)?.checked_add(1)?;
        out.push((key.to_vec(), value.to_vec()));
    }
    Some(out)
}

/// Encodes pairs (for `proxy_send_local_response`).
pub fn encode(pairs: &[(&str, &str)]) -> Vec<u8> {
    let mut map = Vec::new();
    map.extend_from_slice(&(pairs.len() as u32).to_le_bytes());
    for (k, v) in pairs {
        map.extend_from_slice(&(k.len() as u32).to_le_bytes());
        map.extend_from_slice(&(v.len() as u32).to_le_bytes());
    }
    for (k, v) in pairs {
        map.extend_from_slice(k.as_bytes());
        map.push(0);
        map.extend_from_slice(v.as_bytes());
        map.push(0);
    }
    map
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_malformed_maps() {
        let bytes = encode(&[(":path", "/a"), ("X-Debug", "1"), ("x-debug", "\u{e9}")]);
        let map = decode(&bytes).unwrap();
        assert_eq!(map[0], (b":path".to_vec(), b"/a".to_vec()));
        assert_eq!(map[1].0, b"X-Debug", "case is the caller's business");
        assert_eq!(map[2].1, "\u{e9}".as_bytes());
        assert_eq!(decode(&[]), Some(Vec::new()));
        for cut in 1..bytes.len() - 1 {
            assert!(decode(&bytes[..cut]).is_none(), "truncated at {cut}");
        }
        assert!(decode(&[0xff, 0xff, 0xff, 0xff]).is_none());
        let mut huge = encode(&[("a", "b")]);
        huge[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(decode(&huge).is_none());
    }
}
