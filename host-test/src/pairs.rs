//! The proxy-wasm serialization of header pairs: count, (name len, value len)*, then
//! NUL-terminated names and values.

/// Encodes pairs in the proxy-wasm wire format.
pub fn encode<K: AsRef<[u8]>, V: AsRef<[u8]>>(pairs: &[(K, V)]) -> Vec<u8> {
    let mut size = 4 + pairs.len() * 8;
    for (k, v) in pairs {
        size += k.as_ref().len() + v.as_ref().len() + 2;
    }
    let mut out = Vec::with_capacity(size);
    out.extend_from_slice(&(pairs.len() as u32).to_le_bytes());
    for (k, v) in pairs {
        out.extend_from_slice(&(k.as_ref().len() as u32).to_le_bytes());
        out.extend_from_slice(&(v.as_ref().len() as u32).to_le_bytes());
    }
    for (k, v) in pairs {
        out.extend_from_slice(k.as_ref());
        out.push(0);
        out.extend_from_slice(v.as_ref());
        out.push(0);
    }
    out
}

/// Decodes pairs; malformed input yields no pairs, as in proxy-wasm-cpp-host.
pub fn decode(buf: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
    let word = |at: usize| -> Option<usize> {
        buf.get(at..at + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
    };
    let Some(count) = word(0) else { return Vec::new() };
    if count
        .checked_mul(8)
        .and_then(|n| n.checked_add(4))
        .is_none_or(|n| n > buf.len())
    {
        return Vec::new();
    }
    let mut lens = Vec::with_capacity(count);
    for i in 0..count {
        let (Some(k), Some(v)) = (word(4 + i * 8), word(8 + i * 8)) else {
            return Vec::new();
        };
        lens.push((k, v));
    }
    let mut at = 4 + count * 8;
    let mut out = Vec::with_capacity(count);
    for (k, v) in lens {
        let Some(key) = buf.get(at..at + k) else {
            return Vec::new();
        };
        at += k + 1;
        let Some(value) = buf.get(at..at + v) else {
            return Vec::new();
        };
        at += v + 1;
        out.push((key.to_vec(), value.to_vec()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let pairs = vec![(":path", "/a"), ("x-empty", "")];
        let enc = encode(&pairs);
        assert_eq!(&enc[..4], &2u32.to_le_bytes());
        let dec = decode(&enc);
        assert_eq!(
            dec,
            vec![(b":path".to_vec(), b"/a".to_vec()), (b"x-empty".to_vec(), b"".to_vec())]
        );
    }

    #[test]
    fn truncated_input_gives_nothing() {
        let enc = encode(&[("a", "b")]);
        assert!(decode(&enc[..enc.len() - 3]).is_empty());
        assert!(decode(&[1, 0]).is_empty());
        assert!(decode(&[]).is_empty());
    }
}
