//! NUL bytes: `removeNulls`, `replaceNulls`.

use std::borrow::Cow;

/// `t:removeNulls`.
pub(crate) fn remove_nulls(input: &[u8]) -> Cow<'_, [u8]> {
    if input.contains(&0) {
        Cow::Owned(input.iter().copied().filter(|&c| c != 0).collect())
    } else {
        Cow::Borrowed(input)
    }
}

/// `t:replaceNulls`: each NUL byte becomes a space.
pub(crate) fn replace_nulls(input: &[u8]) -> Cow<'_, [u8]> {
    if input.contains(&0) {
        Cow::Owned(input.iter().map(|&c| if c == 0 { b' ' } else { c }).collect())
    } else {
        Cow::Borrowed(input)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nulls() {
        assert_eq!(&*remove_nulls(b"\0a\0\0b\0"), b"ab");
        assert_eq!(&*replace_nulls(b"\0a\0\0b\0"), b" a  b ");
        assert!(matches!(remove_nulls(b"ab"), Cow::Borrowed(_)));
        assert_eq!(&*remove_nulls(b""), b"");
    }
}
