//! URL encodings: `urlDecode`, `urlDecodeUni`, `urlEncode`.

use std::borrow::Cow;

use super::ascii::x2c;

/// `t:urlDecode`: `%HH` becomes the byte, `+` a space; invalid or truncated `%` stays as is.
pub(crate) fn url_decode(input: &[u8]) -> Cow<'_, [u8]> {
    if memchr::memchr2(b'%', b'+', input).is_none() {
        return Cow::Borrowed(input);
    }
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        let c = input[i];
        if c == b'%' && i + 2 < input.len() && is_hex_pair(input, i + 1) {
            out.push(x2c(input[i + 1], input[i + 2]));
            i += 3;
        } else {
            out.push(if c == b'+' { b' ' } else { c });
            i += 1;
        }
    }
    Cow::Owned(out)
}

/// `t:urlDecodeUni`: as `urlDecode`, plus IIS `%uHHHH`, of which only the low byte is kept
/// (full-width ASCII `%uFF01`..`%uFF5E` is mapped back to ASCII, as IIS does).
pub(crate) fn url_decode_uni(input: &[u8]) -> Cow<'_, [u8]> {
    if memchr::memchr2(b'%', b'+', input).is_none() {
        return Cow::Borrowed(input);
    }
    let len = input.len();
    let mut out = Vec::with_capacity(len);
    let mut i = 0;
    while i < len {
        let c = input[i];
        if c == b'%' {
            if i + 1 < len && (input[i + 1] == b'u' || input[i + 1] == b'U') {
                if i + 5 < len && is_hex_pair(input, i + 2) && is_hex_pair(input, i + 4) {
                    let mut b = x2c(input[i + 4], input[i + 5]);
                    if b > 0x00 && b < 0x5f && (input[i + 2] | 0x20) == b'f' && (input[i + 3] | 0x20) == b'f' {
                        b += 0x20;
                    }
                    out.push(b);
                    i += 6;
                } else {
                    // Invalid or truncated %u: both characters are copied and skipped.
                    out.extend_from_slice(&input[i..i + 2]);
                    i += 2;
                }
            } else if i + 2 < len && is_hex_pair(input, i + 1) {
                out.push(x2c(input[i + 1], input[i + 2]));
                i += 3;
            } else {
                out.push(c);
                i += 1;
            }
        } else {
            out.push(if c == b'+' { b' ' } else { c });
            i += 1;
        }
    }
    Cow::Owned(out)
}

/// `t:urlEncode`: keeps `*`, ASCII letters and digits, turns space into `+`, the rest `%hh`.
pub(crate) fn url_encode(input: &[u8]) -> Cow<'_, [u8]> {
    let keep = |c: u8| c == b'*' || c.is_ascii_alphanumeric();
    if input.iter().all(|&c| keep(c)) {
        return Cow::Borrowed(input);
    }
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = Vec::with_capacity(input.len() * 3);
    for &c in input {
        if c == b' ' {
            out.push(b'+');
        } else if keep(c) {
            out.push(c);
        } else {
            out.extend_from_slice(&[b'%', HEX[(c >> 4) as usize], HEX[(c & 15) as usize]]);
        }
    }
    Cow::Owned(out)
}

fn is_hex_pair(input: &[u8], at: usize) -> bool {
    input.get(at).is_some_and(u8::is_ascii_hexdigit) && input.get(at + 1).is_some_and(u8::is_ascii_hexdigit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_decode_valid_and_plus() {
        assert_eq!(&*url_decode(b"a%20b+c%2Fd%2f"), b"a b c/d/");
        assert_eq!(&*url_decode(b"%00%ff%FF"), b"\0\xff\xff");
    }

    #[test]
    fn url_decode_invalid_is_kept() {
        assert_eq!(&*url_decode(b"%zz%4"), b"%zz%4");
        assert_eq!(&*url_decode(b"%"), b"%");
        assert_eq!(&*url_decode(b"%4g%41"), b"%4gA");
        assert_eq!(&*url_decode(b"%%41"), b"%A");
        // %u is not decoded by urlDecode.
        assert_eq!(&*url_decode(b"%u0041"), b"%u0041");
    }

    #[test]
    fn url_decode_borrows_when_nothing_to_do() {
        assert!(matches!(url_decode(b"plain"), Cow::Borrowed(_)));
        assert!(matches!(url_decode(b""), Cow::Borrowed(_)));
    }

    #[test]
    fn url_decode_uni_u_encoding() {
        assert_eq!(&*url_decode_uni(b"%u0041%U0062"), b"Ab");
        // Only the low byte is kept.
        assert_eq!(&*url_decode_uni(b"%u1234"), b"\x34");
        // Full-width ASCII maps back to ASCII.
        assert_eq!(&*url_decode_uni(b"%uff1c%uFF0E"), b"<.");
        // Invalid or truncated %u keeps "%u" and continues after it.
        assert_eq!(&*url_decode_uni(b"%u12"), b"%u12");
        assert_eq!(&*url_decode_uni(b"%uzz41"), b"%uzz41");
        assert_eq!(&*url_decode_uni(b"%u%41"), b"%uA");
        assert_eq!(&*url_decode_uni(b"%41+%zz%4"), b"A %zz%4");
    }

    #[test]
    fn url_encode_reserved() {
        assert_eq!(&*url_encode(b"a b*/\0\xff"), b"a+b*%2f%00%ff");
        assert!(matches!(url_encode(b"abc*09"), Cow::Borrowed(_)));
    }
}
