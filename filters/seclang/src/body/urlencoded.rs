//! `application/x-www-form-urlencoded` bodies and query strings, split and decoded as
//! ModSecurity v3 does (`Transaction::extractArguments`).

use crate::transform::{percent_decode, PercentDecoding};

/// The arguments of one urlencoded string, in order, with ModSecurity's error flag.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct UrlEncoded {
    /// Decoded `(name, value)` pairs in input order; duplicates are kept.
    pub(crate) args: Vec<(Vec<u8>, Vec<u8>)>,
    /// True when a value held an invalid `%` encoding (ModSecurity's URLENCODED_ERROR).
    pub(crate) invalid_encoding: bool,
}

/// Splits `input` on `separator` then on the first `=`, URL-decoding names and values.
///
/// ModSecurity details kept on purpose: a trailing separator adds no empty pair (the split
/// follows `std::getline`), but an empty piece between two separators adds an argument with
/// an empty name and value; `a` alone is the name `a` with an empty value; only the value's
/// invalid encodings raise the error flag, because ModSecurity resets its counter when it
/// decodes the value after the name. (The engine calls [`parse_limited`]; this is its
/// reference in tests.)
#[cfg(test)]
pub(crate) fn parse(input: &[u8], separator: u8) -> UrlEncoded {
    parse_limited(input, separator, usize::MAX)
}

/// As [`parse`], keeping at most `limit` arguments (`SecArgumentsLimit`). The pieces past the
/// limit are still checked for invalid encodings (the flag is the same as `parse`'s) but never
/// stored, so a string of a million arguments costs the memory of `limit` of them: a wasm VM's
/// linear memory never shrinks once grown.
pub(crate) fn parse_limited(input: &[u8], separator: u8, limit: usize) -> UrlEncoded {
    let mut out = UrlEncoded::default();
    for piece in split_like_getline(input, separator) {
        if out.args.len() >= limit {
            if !out.invalid_encoding {
                let value = piece
                    .iter()
                    .position(|&b| b == b'=')
                    .map_or(&[][..], |eq| &piece[eq + 1..]);
                out.invalid_encoding = percent_decode(value, PercentDecoding::FORM).1 > 0;
            }
            continue;
        }
        let (name, value) = match piece.iter().position(|&b| b == b'=') {
            Some(eq) => (&piece[..eq], &piece[eq + 1..]),
            None => (piece, &piece[piece.len()..]),
        };
        let (name, _name_invalid) = decode_nonstrict(name);
        let (value, value_invalid) = decode_nonstrict(value);
        if value_invalid > 0 {
            out.invalid_encoding = true;
        }
        out.args.push((name, value));
    }
    out
}

/// Splits like repeated `std::getline`: no piece after a trailing separator, none for "".
fn split_like_getline(input: &[u8], separator: u8) -> impl Iterator<Item = &[u8]> {
    let trimmed = match input.last() {
        Some(&last) if last == separator => &input[..input.len() - 1],
        _ => input,
    };
    let empty = input.is_empty();
    trimmed.split(move |&b| b == separator).filter(move |_| !empty)
}

/// URL-decodes `%HH` and `+` without failing; returns the bytes and how many `%` were invalid.
///
/// An invalid or truncated `%` sequence is kept as it is, as ModSecurity's
/// `urldecode_nonstrict_inplace` does.
pub(crate) fn decode_nonstrict(input: &[u8]) -> (Vec<u8>, usize) {
    let (decoded, invalid) = percent_decode(input, PercentDecoding::FORM);
    (decoded.into_owned(), invalid)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(input: &str, sep: u8) -> Vec<(String, String)> {
        parse(input.as_bytes(), sep)
            .args
            .into_iter()
            .map(|(n, v)| {
                (
                    String::from_utf8_lossy(&n).into_owned(),
                    String::from_utf8_lossy(&v).into_owned(),
                )
            })
            .collect()
    }

    fn p(n: &str, v: &str) -> (String, String) {
        (n.to_string(), v.to_string())
    }

    #[test]
    fn a_limit_keeps_the_first_arguments_and_the_encoding_flag_of_all() {
        let limited = parse_limited(b"a=1&b=2&c=%zz&d=4", b'&', 2);
        assert_eq!(limited.args, parse(b"a=1&b=2", b'&').args);
        assert!(limited.invalid_encoding, "the flag comes from past the limit too");
        assert!(!parse_limited(b"a=1&b=2&c=3", b'&', 1).invalid_encoding);
        assert_eq!(
            parse_limited(b"a=1&b=2&c=3", b'&', usize::MAX),
            parse(b"a=1&b=2&c=3", b'&')
        );
    }

    #[test]
    fn splits_and_decodes() {
        assert_eq!(
            pairs("a=1&b=x+y%20z&c=%3D", b'&'),
            [p("a", "1"), p("b", "x y z"), p("c", "=")]
        );
    }

    #[test]
    fn name_without_equals_and_empty_values() {
        assert_eq!(pairs("a&b=&=c", b'&'), [p("a", ""), p("b", ""), p("", "c")]);
    }

    #[test]
    fn empty_pieces_follow_getline() {
        // Middle empty piece is an argument, trailing separator adds nothing.
        assert_eq!(pairs("a=1&&b=2&", b'&'), [p("a", "1"), p("", ""), p("b", "2")]);
        assert_eq!(pairs("&a=1", b'&'), [p("", ""), p("a", "1")]);
        assert!(pairs("", b'&').is_empty());
        assert_eq!(pairs("&", b'&'), [p("", "")]);
    }

    #[test]
    fn only_first_equals_splits() {
        assert_eq!(pairs("a=b=c", b'&'), [p("a", "b=c")]);
    }

    #[test]
    fn configurable_separator() {
        assert_eq!(pairs("a=1;b=2&c", b';'), [p("a", "1"), p("b", "2&c")]);
    }

    #[test]
    fn invalid_encoding_in_value_is_flagged_and_kept() {
        let r = parse(b"a=%zz&b=%4", b'&');
        assert!(r.invalid_encoding);
        assert_eq!(r.args[0].1, b"%zz");
        assert_eq!(r.args[1].1, b"%4");
        assert!(!parse(b"a=%41", b'&').invalid_encoding);
    }

    #[test]
    fn invalid_encoding_in_name_only_is_not_flagged() {
        // ModSecurity resets its invalid counter when it decodes the value.
        let r = parse(b"%zz=1", b'&');
        assert!(!r.invalid_encoding);
        assert_eq!(r.args[0].0, b"%zz");
    }

    #[test]
    fn decodes_nul_and_high_bytes() {
        let (v, invalid) = decode_nonstrict(b"%00%ff%C0%AF");
        assert_eq!(v, [0x00, 0xff, 0xc0, 0xaf]);
        assert_eq!(invalid, 0);
    }

    #[test]
    fn trailing_percent_counts_invalid() {
        assert_eq!(decode_nonstrict(b"100%"), (b"100%".to_vec(), 1));
        assert_eq!(decode_nonstrict(b"%%41"), (b"%A".to_vec(), 1));
    }
}
