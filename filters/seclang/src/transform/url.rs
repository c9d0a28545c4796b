//! Percent-decoding, the one implementation the engine has, and the URL transformations:
//! `urlDecode`, `urlDecodeUni`, `urlEncode`.
//!
//! ModSecurity decodes `%` escapes in three flavours, which differ only in what they accept
//! besides `%HH`; [`PercentDecoding`] names them. All keep an invalid or truncated escape as
//! it is and never fail.

use std::borrow::Cow;

use super::ascii::x2c;

/// What a percent-decoder accepts besides `%HH`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PercentDecoding {
    /// `+` decodes to a space (form encoding); otherwise it stays.
    plus_is_space: bool,
    /// IIS `%uHHHH` decodes to its low byte, full-width ASCII mapped back to ASCII.
    iis_unicode: bool,
}

impl PercentDecoding {
    /// ModSecurity's `urldecode_nonstrict`: `t:urlDecode`, query strings and form bodies.
    pub(crate) const FORM: PercentDecoding = PercentDecoding {
        plus_is_space: true,
        iis_unicode: false,
    };

    /// ModSecurity's `urldecode_uni_nonstrict`: `t:urlDecodeUni` (form encoding plus `%u`).
    pub(crate) const FORM_UNICODE: PercentDecoding = PercentDecoding {
        plus_is_space: true,
        iis_unicode: true,
    };

    /// ModSecurity's `uri_decode`: REQUEST_URI and REQUEST_FILENAME, where `+` is a `+`.
    pub(crate) const URI: PercentDecoding = PercentDecoding {
        plus_is_space: false,
        iis_unicode: false,
    };
}

/// Decodes `%HH`, plus what `how` accepts; an invalid or truncated escape is kept as is.
/// Returns the bytes (borrowed when there was nothing to decode) and how many escapes were
/// invalid (ModSecurity's URLENCODED_ERROR counts them).
pub(crate) fn percent_decode(input: &[u8], how: PercentDecoding) -> (Cow<'_, [u8]>, usize) {
    let first = if how.plus_is_space {
        memchr::memchr2(b'%', b'+', input)
    } else {
        memchr::memchr(b'%', input)
    };
    let Some(first) = first else {
        return (Cow::Borrowed(input), 0);
    };
    let len = input.len();
    let mut out = Vec::with_capacity(len);
    out.extend_from_slice(&input[..first]);
    let mut invalid = 0;
    let mut i = first;
    while i < len {
        let c = input[i];
        if c != b'%' {
            out.push(if c == b'+' && how.plus_is_space { b' ' } else { c });
            i += 1;
        } else if how.iis_unicode && matches!(input.get(i + 1), Some(b'u' | b'U')) {
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
                invalid += 1;
                i += 2;
            }
        } else if i + 2 < len && is_hex_pair(input, i + 1) {
            out.push(x2c(input[i + 1], input[i + 2]));
            i += 3;
        } else {
            out.push(c);
            invalid += 1;
            i += 1;
        }
    }
    (Cow::Owned(out), invalid)
}

/// `t:urlDecode`: `%HH` becomes the byte, `+` a space; invalid or truncated `%` stays as is.
pub(crate) fn url_decode(input: &[u8]) -> Cow<'_, [u8]> {
    percent_decode(input, PercentDecoding::FORM).0
}

/// `t:urlDecodeUni`: as `urlDecode`, plus IIS `%uHHHH`, of which only the low byte is kept
/// (full-width ASCII `%uFF01`..`%uFF5E` is mapped back to ASCII, as IIS does).
pub(crate) fn url_decode_uni(input: &[u8]) -> Cow<'_, [u8]> {
    percent_decode(input, PercentDecoding::FORM_UNICODE).0
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
    fn flavours_differ_only_in_plus_and_u() {
        let input = b"a+b%20%u0041%zz";
        let decode = |how| {
            let (v, invalid) = percent_decode(input, how);
            (v.into_owned(), invalid)
        };
        assert_eq!(decode(PercentDecoding::FORM), (b"a b %u0041%zz".to_vec(), 2));
        assert_eq!(decode(PercentDecoding::FORM_UNICODE), (b"a b A%zz".to_vec(), 1));
        assert_eq!(decode(PercentDecoding::URI), (b"a+b %u0041%zz".to_vec(), 2));
        assert!(matches!(
            percent_decode(b"a+b", PercentDecoding::URI),
            (Cow::Borrowed(_), 0)
        ));
        assert_eq!(&*percent_decode(b"a+b", PercentDecoding::FORM).0, b"a b");
    }

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
