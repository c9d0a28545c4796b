//! `utf8toUnicode`.

use std::borrow::Cow;

/// `t:utf8toUnicode`: every well-formed UTF-8 multi-byte sequence becomes `%uHHHH` (lowercase,
/// at least 4 digits), with ModSecurity's quirks kept: overlong forms and surrogates get their
/// lead byte appended after the `%u` form, a lead byte whose sequence is truncated or broken is
/// dropped, a NUL byte followed by more input is dropped, lead bytes 0xF5..0xF7 are copied before
/// their `%u` form, and other invalid bytes (0x80..0xBF, 0xF8..0xFF as leads) are copied.
pub(crate) fn utf8_to_unicode(input: &[u8]) -> Cow<'_, [u8]> {
    if input.iter().all(|&c| c != 0 && c < 0x80) {
        return Cow::Borrowed(input);
    }
    let len = input.len();
    // ModSecurity reads past the value into the string's NUL terminator.
    let at = |k: usize| input.get(k).copied().unwrap_or(0);
    let cont = |k: usize| at(k) & 0xC0 == 0x80;
    let mut out = Vec::with_capacity(len * 2);
    let mut i = 0;
    while i < len {
        let c = input[i];
        let mut seq_len = 0usize;
        let mut d: u32 = 0;
        if c & 0x80 == 0 {
            if c != 0 || i + 1 >= len {
                out.push(c);
            }
        } else if c & 0xE0 == 0xC0 {
            if len >= 2 && cont(i + 1) {
                seq_len = 2;
                d = (u32::from(c & 0x1F) << 6) | u32::from(at(i + 1) & 0x3F);
            }
        } else if c & 0xF0 == 0xE0 {
            if len >= 3 && cont(i + 1) && cont(i + 2) {
                seq_len = 3;
                d = (u32::from(c & 0x0F) << 12) | (u32::from(at(i + 1) & 0x3F) << 6) | u32::from(at(i + 2) & 0x3F);
            }
        } else if c & 0xF8 == 0xF0 {
            if c >= 0xF5 {
                out.push(c);
            }
            if len >= 4 && cont(i + 1) && cont(i + 2) && cont(i + 3) {
                seq_len = 4;
                d = (u32::from(c & 0x07) << 18)
                    | (u32::from(at(i + 1) & 0x3F) << 12)
                    | (u32::from(at(i + 2) & 0x3F) << 6)
                    | u32::from(at(i + 3) & 0x3F);
            }
        } else {
            out.push(c);
        }
        if seq_len > 0 {
            out.extend_from_slice(format!("%u{d:04x}").as_bytes());
        }
        if (0xD800..=0xDFFF).contains(&d) {
            out.push(c);
        }
        let overlong = match seq_len {
            4 => d < 0x10000,
            3 => d < 0x800,
            2 => d < 0x80,
            _ => false,
        };
        if overlong {
            out.push(c);
        }
        i += seq_len.max(1);
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(s: &[u8]) -> Vec<u8> {
        utf8_to_unicode(s).into_owned()
    }

    #[test]
    fn well_formed() {
        assert_eq!(u("é".as_bytes()), b"%u00e9");
        assert_eq!(u("a€b".as_bytes()), b"a%u20acb");
        assert_eq!(u("😀".as_bytes()), b"%u1f600");
        assert_eq!(u("\u{10FFFF}".as_bytes()), b"%u10ffff");
        assert!(matches!(utf8_to_unicode(b"plain"), Cow::Borrowed(_)));
    }

    #[test]
    fn overlong_and_surrogates_keep_lead_byte() {
        assert_eq!(u(b"\xc0\xaf"), b"%u002f\xc0");
        assert_eq!(u(b"\xe0\x80\xaf"), b"%u002f\xe0");
        assert_eq!(u(b"\xed\xa0\x80"), b"%ud800\xed");
    }

    #[test]
    fn broken_sequences() {
        // Truncated or broken sequences drop the lead byte only.
        assert_eq!(u(b"a\xc3"), b"a");
        assert_eq!(u(b"\xc3A"), b"A");
        assert_eq!(u(b"\xe4\xb8"), b"\xb8");
        // Stray continuation bytes and 0xF8.. are copied.
        assert_eq!(u(b"\x80\xff"), b"\x80\xff");
        // NUL followed by more input is dropped; a final NUL is kept.
        assert_eq!(u(b"a\0b\0"), b"ab\0");
    }
}
