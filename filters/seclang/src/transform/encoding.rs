//! Byte encodings: base64 (`base64Decode`, `base64DecodeExt`, `base64Encode`), hex
//! (`hexDecode`, `hexEncode`) and SQL hex literals (`sqlHexDecode`).

use std::borrow::Cow;

use base64::Engine as _;

use super::ascii::x2c;

/// Value of a base64 digit, or `None` for any other byte.
fn b64_value(c: u8) -> Option<u8> {
    match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    }
}

/// `t:base64Decode`: strict decoding as ModSecurity v3 does it with mbedTLS: input ends at the
/// first NUL; spaces are allowed only before a line break or at the end, CR LF and LF are
/// skipped; padding is required (digits plus `=` a multiple of 4). Any error gives an empty value.
pub(crate) fn base64_decode(input: &[u8]) -> Vec<u8> {
    let src = match input.iter().position(|&c| c == 0) {
        Some(nul) => &input[..nul],
        None => input,
    };
    let slen = src.len();
    let mut n = 0usize;
    let mut equals = 0usize;
    let mut i = 0usize;
    while i < slen {
        let mut spaces = false;
        while i < slen && src[i] == b' ' {
            i += 1;
            spaces = true;
        }
        if i == slen {
            break;
        }
        if src[i] == b'\n' || (slen - i >= 2 && src[i] == b'\r' && src[i + 1] == b'\n') {
            i += 1;
            continue;
        }
        if spaces {
            return Vec::new();
        }
        if src[i] == b'=' {
            equals += 1;
            if equals > 2 {
                return Vec::new();
            }
        } else if equals != 0 || b64_value(src[i]).is_none() {
            return Vec::new();
        }
        n += 1;
        i += 1;
    }
    if (n - equals) % 4 == 1 || !n.is_multiple_of(4) {
        return Vec::new();
    }
    let mut out = Vec::with_capacity(n / 4 * 3);
    let mut acc: u32 = 0;
    let mut digits = 0;
    for &c in src {
        if c == b'\r' || c == b'\n' || c == b' ' {
            continue;
        }
        let Some(v) = b64_value(c) else { break };
        acc = (acc << 6) | u32::from(v);
        digits += 1;
        if digits == 4 {
            out.extend_from_slice(&[(acc >> 16) as u8, (acc >> 8) as u8, acc as u8]);
            digits = 0;
            acc = 0;
        }
    }
    match digits {
        3 => out.extend_from_slice(&[(acc >> 10) as u8, (acc >> 2) as u8]),
        2 => out.push((acc >> 4) as u8),
        _ => {}
    }
    out
}

/// `t:base64DecodeExt`: forgiving decoding: bytes outside the alphabet (NUL included) are
/// skipped, `=` is ignored, a trailing partial byte is dropped. As in ModSecurity, a `=` after
/// exactly one digit of a group (unless followed by another `=`) gives an empty value.
pub(crate) fn base64_decode_ext(input: &[u8]) -> Vec<u8> {
    // ModSecurity keeps the last byte's table value in the same variable as the '=' test, so a
    // trailing digit of value 61 ('9') is mistaken for padding; reproduced for fidelity.
    const PAD: i32 = b'=' as i32;
    let mut out: Vec<u8> = Vec::with_capacity(input.len() / 4 * 3 + 1);
    let mut pending: u8 = 0;
    let mut count = 0usize;
    let mut last: i32 = 0;
    for (idx, &c) in input.iter().enumerate() {
        if c == b'=' {
            last = PAD;
            let next_is_pad = input.get(idx + 1) == Some(&b'=');
            if !next_is_pad && count % 4 == 1 {
                return Vec::new();
            }
            continue;
        }
        let Some(v) = b64_value(c) else {
            last = -1;
            continue;
        };
        last = i32::from(v);
        match count % 4 {
            0 => pending = v << 2,
            1 => {
                out.push(pending | (v >> 4));
                pending = (v & 0x0f) << 4;
            }
            2 => {
                out.push(pending | (v >> 2));
                pending = (v & 0x03) << 6;
            }
            _ => {
                out.push(pending | v);
                pending = 0;
            }
        }
        count += 1;
    }
    if last == PAD && count % 4 == 1 {
        return Vec::new();
    }
    out
}

/// `t:base64Encode`: standard alphabet with padding.
pub(crate) fn base64_encode(input: &[u8]) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD.encode(input).into_bytes()
}

/// `t:hexEncode`: two lowercase hex digits per byte.
pub(crate) fn hex_encode(input: &[u8]) -> Vec<u8> {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = Vec::with_capacity(input.len() * 2);
    for &c in input {
        out.push(HEX[usize::from(c >> 4)]);
        out.push(HEX[usize::from(c & 15)]);
    }
    out
}

/// `t:hexDecode`: each pair of bytes becomes one byte; a trailing odd byte is dropped. Like
/// ModSecurity, digits are not validated (non-hex bytes give arbitrary values); a single byte
/// (which ModSecurity mishandles) gives an empty value.
pub(crate) fn hex_decode(input: &[u8]) -> Vec<u8> {
    input.chunks_exact(2).map(|p| x2c(p[0], p[1])).collect()
}

/// `t:sqlHexDecode`: decodes `0xHH...` literals (at least one pair) in place, keeping the rest.
pub(crate) fn sql_hex_decode(input: &[u8]) -> Cow<'_, [u8]> {
    let len = input.len();
    let hex = |k: usize| input[k].is_ascii_hexdigit();
    let mut out: Option<Vec<u8>> = None;
    let mut i = 0;
    while i < len {
        if i + 3 < len && input[i] == b'0' && (input[i + 1] | 0x20) == b'x' && hex(i + 2) && hex(i + 3) {
            let o = out.get_or_insert_with(|| input[..i].to_vec());
            i += 2;
            loop {
                o.push(x2c(input[i], input[i + 1]));
                i += 2;
                if !(i + 1 < len && hex(i) && hex(i + 1)) {
                    break;
                }
            }
        } else {
            if let Some(o) = out.as_mut() {
                o.push(input[i]);
            }
            i += 1;
        }
    }
    match out {
        Some(o) => Cow::Owned(o),
        None => Cow::Borrowed(input),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_strict() {
        assert_eq!(base64_decode(b"VGVzdENhc2U="), b"TestCase");
        assert_eq!(base64_decode(b"VGVzdENhc2UxMg=="), b"TestCase12");
        assert_eq!(base64_decode(b"VGVz\r\ndENh\nc2Ux"), b"TestCase1");
        assert_eq!(base64_decode(b"VGVzdENhc2U=  "), b"TestCase");
        // Ends at the first NUL.
        assert_eq!(base64_decode(b"VGVzdENhc2U=\0VGVzdENhc2U="), b"TestCase");
        // Invalid input gives an empty value.
        assert_eq!(base64_decode(b"VGVz dENh"), b"");
        assert_eq!(base64_decode(b"VGVzdA"), b"");
        assert_eq!(base64_decode(b"VG!zdA=="), b"");
        assert_eq!(base64_decode(b"VGVzd==="), b"");
        assert_eq!(base64_decode(b"VG=z"), b"");
        assert_eq!(base64_decode(b"\xc3\xa9AAA"), b"");
        assert_eq!(base64_decode(b""), b"");
    }

    #[test]
    fn base64_forgiving() {
        assert_eq!(base64_decode_ext(b"VGVzdENhc2U="), b"TestCase");
        assert_eq!(base64_decode_ext(b"VGVz!dENh*c2U"), b"TestCase");
        assert_eq!(base64_decode_ext(b"VGVzdA"), b"Test");
        assert_eq!(base64_decode_ext(b"VGVzd\0ENhc2U"), b"TestCase");
        // '=' after one digit of a group.
        assert_eq!(base64_decode_ext(b"VGVzd=x"), b"");
        assert_eq!(base64_decode_ext(b""), b"");
    }

    #[test]
    fn base64_encode_standard() {
        assert_eq!(base64_encode(b"TestCase"), b"VGVzdENhc2U=");
        assert_eq!(base64_encode(b"\xff\xfe"), b"//4=");
    }

    #[test]
    fn hex() {
        assert_eq!(hex_encode(b"\0A\xff"), b"0041ff");
        assert_eq!(hex_decode(b"0041fF"), b"\0A\xff");
        assert_eq!(hex_decode(b"414"), b"A");
        assert_eq!(hex_decode(b"4"), b"");
        assert_eq!(hex_decode(b""), b"");
    }

    #[test]
    fn sql_hex() {
        assert_eq!(&*sql_hex_decode(b"SELECT 0x414243,0x4"), b"SELECT ABC,0x4");
        assert_eq!(&*sql_hex_decode(b"0X41zz"), b"Azz");
        assert_eq!(&*sql_hex_decode(b"0x4142434"), b"ABC4");
        assert!(matches!(sql_hex_decode(b"0x4"), Cow::Borrowed(_)));
    }
}
