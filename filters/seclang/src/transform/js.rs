//! `jsDecode`.

use std::borrow::Cow;

use super::ascii::x2c;

/// `t:jsDecode`: decodes `\uHHHH` (low byte kept, full-width ASCII mapped to ASCII), `\xHH`,
/// octal `\OOO` (at most one byte), the C escapes `\a\b\f\n\r\t\v`, and drops the backslash of
/// any other escape. A trailing lone backslash is kept.
pub(crate) fn js_decode(input: &[u8]) -> Cow<'_, [u8]> {
    if !input.contains(&b'\\') {
        return Cow::Borrowed(input);
    }
    let len = input.len();
    let hex = |k: usize| input.get(k).is_some_and(u8::is_ascii_hexdigit);
    let oct = |k: usize| input.get(k).is_some_and(|c| (b'0'..=b'7').contains(c));
    let mut out = Vec::with_capacity(len);
    let mut i = 0;
    while i < len {
        if input[i] != b'\\' {
            out.push(input[i]);
            i += 1;
            continue;
        }
        if i + 5 < len && input[i + 1] == b'u' && hex(i + 2) && hex(i + 3) && hex(i + 4) && hex(i + 5) {
            let mut b = x2c(input[i + 4], input[i + 5]);
            if b > 0x00 && b < 0x5f && (input[i + 2] | 0x20) == b'f' && (input[i + 3] | 0x20) == b'f' {
                b += 0x20;
            }
            out.push(b);
            i += 6;
        } else if i + 3 < len && input[i + 1] == b'x' && hex(i + 2) && hex(i + 3) {
            out.push(x2c(input[i + 2], input[i + 3]));
            i += 4;
        } else if i + 1 < len && oct(i + 1) {
            let mut j = 1;
            while j < 3 && oct(i + 1 + j) {
                j += 1;
            }
            // Three digits only when the value fits in a byte.
            if j == 3 && input[i + 1] > b'3' {
                j = 2;
            }
            let v = input[i + 1..i + 1 + j]
                .iter()
                .fold(0u32, |v, &d| v * 8 + u32::from(d - b'0'));
            out.push(v as u8);
            i += 1 + j;
        } else if i + 1 < len {
            out.push(match input[i + 1] {
                b'a' => 0x07,
                b'b' => 0x08,
                b'f' => 0x0c,
                b'n' => b'\n',
                b'r' => b'\r',
                b't' => b'\t',
                b'v' => 0x0b,
                other => other,
            });
            i += 2;
        } else {
            out.push(b'\\');
            i += 1;
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &[u8]) -> Vec<u8> {
        js_decode(s).into_owned()
    }

    #[test]
    fn unicode_and_hex() {
        assert_eq!(d(b"\\u0041\\x42"), b"AB");
        assert_eq!(d(b"\\u1234"), b"\x34");
        assert_eq!(d(b"\\uff1c\\uFF3E"), b"<^");
        assert_eq!(d(b"\\U0041"), b"U0041");
        assert_eq!(d(b"\\u004"), b"u004");
        assert_eq!(d(b"\\x4"), b"x4");
        assert_eq!(d(b"\\xzz"), b"xzz");
    }

    #[test]
    fn octal() {
        assert_eq!(d(b"\\101\\0\\7x"), b"A\0\x07x");
        assert_eq!(d(b"\\377"), b"\xff");
        // 3 digits starting above 3 would overflow a byte: only two are used.
        assert_eq!(d(b"\\477"), b"\x277");
        assert_eq!(d(b"\\1234"), b"S4");
    }

    #[test]
    fn c_escapes_and_trailing_backslash() {
        assert_eq!(d(b"\\n\\t\\r\\a\\b\\f\\v"), b"\n\t\r\x07\x08\x0c\x0b");
        assert_eq!(d(b"\\\"\\'\\\\\\z"), b"\"'\\z");
        assert_eq!(d(b"abc\\"), b"abc\\");
        assert_eq!(d(b"\\"), b"\\");
        assert!(matches!(js_decode(b"plain"), Cow::Borrowed(_)));
    }
}
