//! String comparisons: `@streq`, `@strmatch`, `@contains`, `@containsWord`, `@beginsWith`,
//! `@endsWith`, `@within` (all case-sensitive, byte-wise, as in ModSecurity).

/// `@streq`: the value equals the argument.
pub(crate) fn streq(value: &[u8], arg: &[u8]) -> bool {
    value == arg
}

/// `@contains` and `@strmatch`: the argument occurs in the value (an empty argument always does).
pub(crate) fn contains(value: &[u8], arg: &[u8]) -> bool {
    find(value, arg, 0).is_some()
}

/// `@beginsWith`.
pub(crate) fn begins_with(value: &[u8], arg: &[u8]) -> bool {
    value.starts_with(arg)
}

/// `@endsWith`.
pub(crate) fn ends_with(value: &[u8], arg: &[u8]) -> bool {
    value.ends_with(arg)
}

/// `@within`: the value occurs in the argument; an empty value always matches.
pub(crate) fn within(value: &[u8], arg: &[u8]) -> bool {
    value.is_empty() || find(arg, value, 0).is_some()
}

/// `@containsWord`: the argument occurs in the value delimited by non-letters (ModSecurity
/// only treats ASCII letters as word characters; digits and `_` are boundaries). An empty
/// argument always matches; an empty value never does.
pub(crate) fn contains_word(value: &[u8], word: &[u8]) -> bool {
    if word.is_empty() {
        return true;
    }
    if value.is_empty() {
        return false;
    }
    if value == word {
        return true;
    }
    let boundary = |pos: Option<usize>| match pos.and_then(|p| value.get(p)) {
        Some(c) => !c.is_ascii_alphabetic(),
        None => false,
    };
    let mut from = 0;
    while let Some(pos) = find(value, word, from) {
        let after = pos + word.len();
        let before = pos.checked_sub(1);
        if pos == 0 && boundary(Some(after)) {
            return true;
        }
        if after == value.len() && boundary(before) {
            return true;
        }
        if boundary(before) && boundary(Some(after)) {
            return true;
        }
        from = pos + 1;
    }
    false
}

/// First index of `needle` in `hay` at or after `from`.
fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if needle.is_empty() {
        return (from <= hay.len()).then_some(from);
    }
    memchr::memmem::find(hay.get(from..)?, needle).map(|p| p + from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equality_and_affixes() {
        assert!(streq(b"abc", b"abc"));
        assert!(!streq(b"abc", b"ABC"));
        assert!(streq(b"", b""));
        assert!(begins_with(b"abcdef", b"abc"));
        assert!(!begins_with(b"ab", b"abc"));
        assert!(begins_with(b"x", b""));
        assert!(ends_with(b"abcdef", b"def"));
        assert!(!ends_with(b"ef", b"def"));
        assert!(contains(b"a\0bc", b"\0b"));
        assert!(contains(b"", b""));
        assert!(!contains(b"", b"a"));
    }

    #[test]
    fn within_list() {
        assert!(within(b"GET", b"GET HEAD POST"));
        assert!(within(b"ET H", b"GET HEAD POST"));
        assert!(!within(b"PUT", b"GET HEAD POST"));
        assert!(within(b"", b"anything"));
    }

    #[test]
    fn words() {
        assert!(contains_word(b"select x", b"select"));
        assert!(contains_word(b"x select", b"select"));
        assert!(contains_word(b"1select2", b"select"));
        assert!(contains_word(b"a_select_b", b"select"));
        assert!(!contains_word(b"selection", b"select"));
        assert!(!contains_word(b"preselect", b"select"));
        assert!(contains_word(b"preselect select", b"select"));
        assert!(contains_word(b"select", b"select"));
        assert!(contains_word(b"", b""));
        assert!(!contains_word(b"", b"a"));
    }
}
