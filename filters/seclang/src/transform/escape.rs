//! `escapeSeqDecode`.

use std::borrow::Cow;

use super::ascii::x2c;

/// `t:escapeSeqDecode`: decodes ANSI C escapes `\a \b \f \n \r \t \v \\ \? \' \"`, `\xHH` and
/// octal `\O`..`\OOO`; for an unknown escape the backslash is dropped. A trailing backslash is kept.
pub(crate) fn escape_seq_decode(input: &[u8]) -> Cow<'_, [u8]> {
    if !input.contains(&b'\\') {
        return Cow::Borrowed(input);
    }
    let len = input.len();
    let oct = |k: usize| input.get(k).is_some_and(|c| (b'0'..=b'7').contains(c));
    let mut out = Vec::with_capacity(len);
    let mut i = 0;
    while i < len {
        if input[i] != b'\\' || i + 1 >= len {
            out.push(input[i]);
            i += 1;
            continue;
        }
        let simple = match input[i + 1] {
            b'a' => Some(0x07),
            b'b' => Some(0x08),
            b'f' => Some(0x0c),
            b'n' => Some(b'\n'),
            b'r' => Some(b'\r'),
            b't' => Some(b'\t'),
            b'v' => Some(0x0b),
            b'\\' => Some(b'\\'),
            b'?' => Some(b'?'),
            b'\'' => Some(b'\''),
            b'"' => Some(b'"'),
            _ => None,
        };
        if let Some(c) = simple {
            out.push(c);
            i += 2;
            continue;
        }
        let n = input[i + 1];
        if (n == b'x' || n == b'X')
            && i + 3 < len
            && input[i + 2].is_ascii_hexdigit()
            && input[i + 3].is_ascii_hexdigit()
        {
            out.push(x2c(input[i + 2], input[i + 3]));
            i += 4;
        } else if oct(i + 1) {
            let mut j = 1;
            while j < 3 && oct(i + 1 + j) {
                j += 1;
            }
            let v = input[i + 1..i + 1 + j]
                .iter()
                .fold(0u32, |v, &d| v * 8 + u32::from(d - b'0'));
            out.push(v as u8);
            i += 1 + j;
        } else {
            // Unrecognised: drop the backslash, keep the next byte.
            out.push(n);
            i += 2;
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &[u8]) -> Vec<u8> {
        escape_seq_decode(s).into_owned()
    }

    #[test]
    fn decodes() {
        assert_eq!(d(b"\\n\\t\\\\\\?\\'\\\""), b"\n\t\\?'\"");
        assert_eq!(d(b"\\x41\\X42\\x4"), b"ABx4");
        assert_eq!(d(b"\\101\\0\\7"), b"A\0\x07");
        // Three octal digits above 0377 wrap to one byte (no 2-digit fallback here).
        assert_eq!(d(b"\\777"), b"\xff");
        assert_eq!(d(b"\\z\\"), b"z\\");
        assert!(matches!(escape_seq_decode(b"abc"), Cow::Borrowed(_)));
    }
}
