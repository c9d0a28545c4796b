//! Case: `lowercase`, `uppercase` (ASCII only, as C `tolower`/`toupper` in the C locale).

use std::borrow::Cow;

/// `t:lowercase`.
pub(crate) fn lowercase(input: &[u8]) -> Cow<'_, [u8]> {
    if input.iter().any(u8::is_ascii_uppercase) {
        Cow::Owned(input.to_ascii_lowercase())
    } else {
        Cow::Borrowed(input)
    }
}

/// `t:uppercase`.
pub(crate) fn uppercase(input: &[u8]) -> Cow<'_, [u8]> {
    if input.iter().any(u8::is_ascii_lowercase) {
        Cow::Owned(input.to_ascii_uppercase())
    } else {
        Cow::Borrowed(input)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_only() {
        assert_eq!(&*lowercase(b"AbC\xc3\x89\0Z"), b"abc\xc3\x89\0z");
        assert_eq!(&*uppercase(b"aBc\xc3\xa9\0z"), b"ABC\xc3\xa9\0Z");
        assert!(matches!(lowercase(b"abc1"), Cow::Borrowed(_)));
        assert!(matches!(uppercase(b"ABC1"), Cow::Borrowed(_)));
    }
}
