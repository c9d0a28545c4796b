//! `normalizePath` and `normalizePathWin`.

use std::borrow::Cow;

/// `t:normalizePath` (and `normalizePathWin` when `win`, which first turns `\` into `/`):
/// removes self references (`/./`), back references with their parent (`a/../`), and repeated
/// slashes; never climbs above the root; keeps a trailing slash only if the input had one.
/// A relative path that backs up past its start keeps its leading `..` segments.
pub(crate) fn normalize_path(input: &[u8], win: bool) -> Cow<'_, [u8]> {
    // Without separators the value is one segment, which only a final `.` or `..` can
    // remove: the usual case for argument values, where copying would cost more than the check.
    let separator = if win {
        memchr::memchr2(b'/', b'\\', input)
    } else {
        memchr::memchr(b'/', input)
    };
    if separator.is_none() && input.last().is_none_or(|&c| c != b'.') {
        return Cow::Borrowed(input);
    }
    let mut buf = input.to_vec();
    let len = normalize_in_place(&mut buf, win);
    buf.truncate(len);
    if buf == input {
        Cow::Borrowed(input)
    } else {
        Cow::Owned(buf)
    }
}

/// The in-place algorithm of ModSecurity (`src` reads ahead of `dst` in the same buffer);
/// returns the new length.
fn normalize_in_place(buf: &mut [u8], win: bool) -> usize {
    let is_sep = |c: u8| c == b'/' || (win && c == b'\\');
    let end = buf.len() - 1;
    let relative = !is_sep(buf[0]);
    let trailing = is_sep(buf[end]);
    let mut hitroot = false;
    let mut done = false;
    let mut src = 0usize;
    let mut dst = 0usize;

    while !done && src <= end && dst <= end {
        if win {
            if buf[src] == b'\\' {
                buf[src] = b'/';
            }
            if src < end && buf[src + 1] == b'\\' {
                buf[src + 1] = b'/';
            }
        }
        let mut normalize = true;
        if src == end {
            done = true;
        } else if buf[src + 1] != b'/' {
            // Not the end of a path segment.
            normalize = false;
        }
        let mut skip_copy = false;
        if normalize {
            if src != end && buf[src] == b'/' {
                // Empty segment: the copy below collapses the slashes.
            } else if buf[src] == b'.' {
                if dst > 0 && buf[dst - 1] == b'.' {
                    // Back reference.
                    if relative && (hitroot || dst <= 2) {
                        hitroot = true;
                    } else {
                        let mut d = dst as isize - 3;
                        while d > 0 && buf[d as usize] != b'/' {
                            d -= 1;
                        }
                        if d <= 0 {
                            hitroot = true;
                            d = 0;
                            if !relative && src == end {
                                d = 1;
                            }
                        }
                        dst = d as usize;
                        if done {
                            skip_copy = true;
                        } else {
                            src += 1;
                        }
                    }
                } else if dst == 0 {
                    // Relative self reference.
                    if done {
                        skip_copy = true;
                    } else {
                        src += 1;
                    }
                } else if buf[dst - 1] == b'/' {
                    // Self reference.
                    if done {
                        skip_copy = true;
                    } else {
                        dst -= 1;
                        src += 1;
                    }
                }
            } else if dst > 0 {
                hitroot = false;
            }
        }
        if skip_copy {
            continue;
        }
        if buf[src] == b'/' {
            while src < end && is_sep(buf[src + 1]) {
                src += 1;
            }
            if relative && dst == 0 {
                src += 1;
                continue;
            }
        }
        buf[dst] = buf[src];
        dst += 1;
        src += 1;
    }
    if !trailing && dst > 0 && buf[dst - 1] == b'/' {
        dst -= 1;
    }
    dst
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &[u8]) -> Vec<u8> {
        normalize_path(s, false).into_owned()
    }

    #[test]
    fn absolute_paths() {
        assert_eq!(n(b"/foo/bar/../baz"), b"/foo/baz");
        assert_eq!(n(b"/foo/./bar"), b"/foo/bar");
        assert_eq!(n(b"//foo///bar//"), b"/foo/bar/");
        assert_eq!(n(b"/../../etc/passwd"), b"/etc/passwd");
        // ModSecurity drops the root slash too here (no trailing slash in the input).
        assert_eq!(n(b"/foo/.."), b"");
        assert_eq!(n(b"/foo/../"), b"/");
        assert_eq!(n(b"/"), b"/");
    }

    #[test]
    fn relative_paths() {
        assert_eq!(n(b"../../etc/passwd"), b"../../etc/passwd");
        assert_eq!(n(b"foo/../bar"), b"bar");
        assert_eq!(n(b"./foo"), b"foo");
        assert_eq!(n(b"foo/"), b"foo/");
        assert_eq!(n(b""), b"");
    }

    #[test]
    fn windows_backslashes() {
        assert_eq!(normalize_path(b"c:\\foo\\..\\bar\\", true).into_owned(), b"c:/bar/");
        assert_eq!(normalize_path(b"\\..\\..\\boot.ini", true).into_owned(), b"/boot.ini");
        // Backslashes are ordinary bytes without `win`.
        assert_eq!(n(b"a\\..\\b"), b"a\\..\\b");
    }

    #[test]
    fn values_without_separators_or_dots_are_unchanged_by_the_full_algorithm() {
        for v in [&b"a"[..], b"abc", b"a b", b"x=1&y", b"%2e%2f", b"~", b"\\", b"a\\b"] {
            for win in [false, true] {
                if win && v.contains(&b'\\') {
                    continue;
                }
                let mut buf = v.to_vec();
                let len = normalize_in_place(&mut buf, win);
                assert_eq!(&buf[..len], v, "{v:?} win={win}");
                assert!(matches!(normalize_path(v, win), Cow::Borrowed(_)));
            }
        }
    }
}
