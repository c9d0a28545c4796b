//! `cssDecode`.

use std::borrow::Cow;

use super::ascii::{hex_val, is_c_space, x2c};

/// `t:cssDecode`: decodes CSS 2 escapes `\H`..`\HHHHHH` to one byte (the last two hex digits;
/// full-width ASCII mapped back to ASCII), skips one whitespace after a hex escape, drops
/// `\` + newline and a trailing `\`, and keeps the character after any other `\`.
pub(crate) fn css_decode(input: &[u8]) -> Cow<'_, [u8]> {
    if !input.contains(&b'\\') {
        return Cow::Borrowed(input);
    }
    let len = input.len();
    let mut out = Vec::with_capacity(len);
    let mut i = 0;
    while i < len {
        if input[i] != b'\\' {
            out.push(input[i]);
            i += 1;
            continue;
        }
        if i + 1 >= len {
            // Backslash at the end: continuation to nothing.
            i += 1;
            continue;
        }
        i += 1;
        let mut j = 0;
        while j < 6 && i + j < len && input[i + j].is_ascii_hexdigit() {
            j += 1;
        }
        if j > 0 {
            let h = &input[i..i + j];
            let mut b = if j == 1 { hex_val(h[0]) } else { x2c(h[j - 2], h[j - 1]) };
            let full_check = match j {
                4 => true,
                5 => h[0] == b'0',
                6 => h[0] == b'0' && h[1] == b'0',
                _ => false,
            };
            if full_check && b > 0x00 && b < 0x5f && (h[j - 3] | 0x20) == b'f' && (h[j - 4] | 0x20) == b'f' {
                b += 0x20;
            }
            out.push(b);
            if i + j < len && is_c_space(input[i + j]) {
                j += 1;
            }
            i += j;
        } else if input[i] == b'\n' {
            i += 1;
        } else {
            out.push(input[i]);
            i += 1;
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &[u8]) -> Vec<u8> {
        css_decode(s).into_owned()
    }

    #[test]
    fn hex_escapes() {
        assert_eq!(d(b"\\41"), b"A");
        assert_eq!(d(b"\\a"), b"\x0a");
        assert_eq!(d(b"\\041 B"), b"AB");
        assert_eq!(d(b"\\0000411"), b"A1");
        assert_eq!(d(b"\\1234"), b"\x34");
        // Full-width ASCII.
        assert_eq!(d(b"\\ff3c"), b"\\");
        assert_eq!(d(b"\\0ff1c"), b"<");
        assert_eq!(d(b"\\1ff1c"), b"\x1c");
    }

    #[test]
    fn other_escapes() {
        assert_eq!(d(b"a\\\nb"), b"ab");
        assert_eq!(d(b"\\zx"), b"zx");
        assert_eq!(d(b"abc\\"), b"abc");
        assert_eq!(d(b"\\"), b"");
        assert_eq!(d(b"\\\\"), b"\\");
        assert!(matches!(css_decode(b"x"), Cow::Borrowed(_)));
    }
}
