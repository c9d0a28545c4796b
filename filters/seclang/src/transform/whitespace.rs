//! Whitespace: `removeWhitespace`, `compressWhitespace`, `trim`, `trimLeft`, `trimRight`.
//!
//! "Whitespace" is C `isspace` in the C locale (space, \t, \n, \v, \f, \r), as in ModSecurity v3.

use std::borrow::Cow;

use super::ascii::is_c_space;

/// `t:removeWhitespace`: removes whitespace and the bytes 0xA0 and 0xC2 (NBSP in Latin-1 and
/// the lead byte of UTF-8 NBSP).
pub(crate) fn remove_whitespace(input: &[u8]) -> Cow<'_, [u8]> {
    let drop = |c: u8| is_c_space(c) || c == 0xa0 || c == 0xc2;
    if !input.iter().any(|&c| drop(c)) {
        return Cow::Borrowed(input);
    }
    Cow::Owned(input.iter().copied().filter(|&c| !drop(c)).collect())
}

/// `t:compressWhitespace`: every run of whitespace becomes one space.
pub(crate) fn compress_whitespace(input: &[u8]) -> Cow<'_, [u8]> {
    let needs = input.windows(2).any(|w| is_c_space(w[0]) && is_c_space(w[1]))
        || input.iter().any(|&c| is_c_space(c) && c != b' ');
    if !needs {
        return Cow::Borrowed(input);
    }
    let mut out = Vec::with_capacity(input.len());
    let mut in_space = false;
    for &c in input {
        if is_c_space(c) {
            if !in_space {
                out.push(b' ');
                in_space = true;
            }
        } else {
            out.push(c);
            in_space = false;
        }
    }
    Cow::Owned(out)
}

/// `t:trimLeft`.
pub(crate) fn trim_left(input: &[u8]) -> Cow<'_, [u8]> {
    let start = input.iter().position(|&c| !is_c_space(c)).unwrap_or(input.len());
    Cow::Borrowed(&input[start..])
}

/// `t:trimRight`.
pub(crate) fn trim_right(input: &[u8]) -> Cow<'_, [u8]> {
    let end = input.iter().rposition(|&c| !is_c_space(c)).map_or(0, |p| p + 1);
    Cow::Borrowed(&input[..end])
}

/// `t:trim`.
pub(crate) fn trim(input: &[u8]) -> Cow<'_, [u8]> {
    match trim_right(input) {
        Cow::Borrowed(s) => trim_left(s),
        Cow::Owned(_) => unreachable!("trim_right always borrows"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remove() {
        assert_eq!(&*remove_whitespace(b" a\tb\nc\x0b\x0cd\re\xa0f\xc2\xa0g"), b"abcdefg");
        assert_eq!(&*remove_whitespace(b"\0x"), b"\0x");
        assert!(matches!(remove_whitespace(b"abc"), Cow::Borrowed(_)));
    }

    #[test]
    fn compress() {
        assert_eq!(&*compress_whitespace(b"a  \t\r\nb c\x0bd"), b"a b c d");
        assert_eq!(&*compress_whitespace(b"  "), b" ");
        // 0xA0 is not whitespace in ModSecurity v3.
        assert_eq!(&*compress_whitespace(b"a\xa0\xa0b"), b"a\xa0\xa0b");
        assert!(matches!(compress_whitespace(b"a b"), Cow::Borrowed(_)));
    }

    #[test]
    fn trims() {
        assert_eq!(&*trim(b" \t a b \r\n"), b"a b");
        assert_eq!(&*trim_left(b" \t a b \r\n"), b"a b \r\n");
        assert_eq!(&*trim_right(b" \t a b \r\n"), b" \t a b");
        assert_eq!(&*trim(b"   "), b"");
        assert_eq!(&*trim(b""), b"");
        assert_eq!(&*trim(b"\0 "), b"\0");
    }
}
