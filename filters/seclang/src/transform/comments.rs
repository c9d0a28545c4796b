//! Comments: `replaceComments`, `removeComments`, `removeCommentsChar`.

use std::borrow::Cow;

/// `t:replaceComments`: each `/* ... */` becomes one space; an unterminated comment runs to
/// the end and is also replaced by a space. A lone `*/` is kept.
pub(crate) fn replace_comments(input: &[u8]) -> Cow<'_, [u8]> {
    if !input.windows(2).any(|w| w == b"/*") {
        return Cow::Borrowed(input);
    }
    let len = input.len();
    let mut out = Vec::with_capacity(len);
    let mut in_comment = false;
    let mut i = 0;
    while i < len {
        if !in_comment {
            if input[i] == b'/' && i + 1 < len && input[i + 1] == b'*' {
                in_comment = true;
                i += 2;
            } else {
                out.push(input[i]);
                i += 1;
            }
        } else if input[i] == b'*' && i + 1 < len && input[i + 1] == b'/' {
            in_comment = false;
            i += 2;
            out.push(b' ');
        } else {
            i += 1;
        }
    }
    if in_comment {
        out.push(b' ');
    }
    Cow::Owned(out)
}

/// `t:removeComments`: removes `/* */` and `<!-- -->` comments; `--` or `#` outside a comment
/// ends the value there. An unterminated comment leaves a single space. As in ModSecurity, the
/// byte after a comment terminator is copied unexamined (a NUL when the comment ends the value).
pub(crate) fn remove_comments(input: &[u8]) -> Cow<'_, [u8]> {
    let len = input.len();
    let at = |k: usize, b: u8| k < len && input[k] == b;
    let mut out = Vec::with_capacity(len);
    let mut in_comment = false;
    let mut changed = false;
    let mut i = 0;
    while i < len {
        if !in_comment {
            if at(i, b'/') && at(i + 1, b'*') {
                in_comment = true;
                changed = true;
                i += 2;
            } else if at(i, b'<') && at(i + 1, b'!') && at(i + 2, b'-') && at(i + 3, b'-') {
                in_comment = true;
                changed = true;
                i += 4;
            } else if (at(i, b'-') && at(i + 1, b'-')) || at(i, b'#') {
                changed = true;
                break;
            } else {
                out.push(input[i]);
                i += 1;
            }
        } else if at(i, b'*') && at(i + 1, b'/') {
            in_comment = false;
            i += 2;
            // ModSecurity copies the byte right after the terminator without inspecting it; at
            // the end of the value that byte is the string's NUL terminator, which is kept.
            out.push(input.get(i).copied().unwrap_or(0));
            i += 1;
        } else if at(i, b'-') && at(i + 1, b'-') && at(i + 2, b'>') {
            in_comment = false;
            i += 3;
            out.push(input.get(i).copied().unwrap_or(0));
            i += 1;
        } else {
            i += 1;
        }
    }
    if in_comment {
        out.push(b' ');
    }
    if changed {
        Cow::Owned(out)
    } else {
        Cow::Borrowed(input)
    }
}

/// `t:removeCommentsChar`: removes the comment delimiters `/*`, `*/`, `<!--`, `-->`, `--` and `#`.
pub(crate) fn remove_comments_char(input: &[u8]) -> Cow<'_, [u8]> {
    let len = input.len();
    let at = |k: usize, b: u8| k < len && input[k] == b;
    let mut out = Vec::with_capacity(len);
    let mut i = 0;
    while i < len {
        if (at(i, b'/') && at(i + 1, b'*')) || (at(i, b'*') && at(i + 1, b'/')) {
            i += 2;
        } else if at(i, b'<') && at(i + 1, b'!') && at(i + 2, b'-') && at(i + 3, b'-') {
            i += 4;
        } else if at(i, b'-') && at(i + 1, b'-') && at(i + 2, b'>') {
            i += 3;
        } else if at(i, b'-') && at(i + 1, b'-') {
            i += 2;
        } else if at(i, b'#') {
            i += 1;
        } else {
            out.push(input[i]);
            i += 1;
        }
    }
    if out.len() == len {
        Cow::Borrowed(input)
    } else {
        Cow::Owned(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replace() {
        assert_eq!(&*replace_comments(b"a/* x */b"), b"a b");
        assert_eq!(&*replace_comments(b"a/* x"), b"a ");
        assert_eq!(&*replace_comments(b"a*/b"), b"a*/b");
        assert_eq!(&*replace_comments(b"/**/"), b" ");
        assert!(matches!(replace_comments(b"a/b*c"), Cow::Borrowed(_)));
    }

    #[test]
    fn remove() {
        assert_eq!(&*remove_comments(b"a/* x */b"), b"ab");
        assert_eq!(&*remove_comments(b"a<!-- x -->b"), b"ab");
        assert_eq!(&*remove_comments(b"a/* x */"), b"a\0");
        assert_eq!(&*remove_comments(b"a/* x */#b"), b"a#b");
        assert_eq!(&*remove_comments(b"select 1 -- x"), b"select 1 ");
        assert_eq!(&*remove_comments(b"select 1 # x"), b"select 1 ");
        assert_eq!(&*remove_comments(b"a/* x"), b"a ");
        assert!(matches!(remove_comments(b"a-b"), Cow::Borrowed(_)));
    }

    #[test]
    fn remove_chars() {
        assert_eq!(&*remove_comments_char(b"a/*b*/c<!--d-->e--f#g"), b"abcdefg");
        assert_eq!(&*remove_comments_char(b"-a-"), b"-a-");
        assert!(matches!(remove_comments_char(b"abc"), Cow::Borrowed(_)));
    }
}
