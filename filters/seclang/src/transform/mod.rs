//! Transformation functions (`t:lowercase`, `t:urlDecodeUni`, ...) with ModSecurity v3 semantics.
//!
//! CONTRACT (shared by the engine core): `Transform::from_name` and `Transform::apply`.
//! The engine never calls `apply` with `Transform::None`: `t:none` clears the chain at load time.
//!
//! Each family lives in its own module; every function reproduces libmodsecurity v3's byte-level
//! behaviour, including its quirks (they decide what CRS sees), and is pinned by unit tests plus
//! the public SecRules Test Set cases in `testdata/` (see `conformance` below).

use std::borrow::Cow;

mod ascii;
mod case;
mod cmdline;
mod comments;
mod css;
mod encoding;
mod escape;
mod hash;
mod html;
mod js;
mod nulls;
mod parity;
mod path;
mod trigger;
mod url;
mod utf8;
mod whitespace;

#[cfg(test)]
pub(crate) mod conformance;

pub(crate) use ascii::x2c;
pub(crate) use trigger::{chain_effect, ChainEffect, ValueClass};
pub(crate) use url::{percent_decode, PercentDecoding};

/// One SecLang transformation function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Transform {
    /// `t:none`: clears the transformations inherited so far.
    None,
    /// `t:base64Decode`: strict RFC 4648 decoding; invalid input gives an empty value.
    Base64Decode,
    /// `t:base64DecodeExt`: forgiving base64 decoding that skips invalid characters.
    Base64DecodeExt,
    /// `t:base64Encode`: base64 encoding.
    Base64Encode,
    /// `t:cmdLine`: normalises shell command lines (quotes, carets, separators, case).
    CmdLine,
    /// `t:compressWhitespace`: collapses runs of ASCII whitespace into one space.
    CompressWhitespace,
    /// `t:cssDecode`: decodes CSS 2 backslash escapes.
    CssDecode,
    /// `t:escapeSeqDecode`: decodes ANSI C escape sequences.
    EscapeSeqDecode,
    /// `t:hexDecode`: decodes pairs of hex digits.
    HexDecode,
    /// `t:hexEncode`: encodes every byte as two lowercase hex digits.
    HexEncode,
    /// `t:htmlEntityDecode`: decodes HTML numeric entities and a few named ones.
    HtmlEntityDecode,
    /// `t:jsDecode`: decodes JavaScript escapes.
    JsDecode,
    /// `t:length`: replaces the value by its length in bytes, in decimal.
    Length,
    /// `t:lowercase`: ASCII lowercase.
    Lowercase,
    /// `t:md5`: raw 16-byte MD5 digest.
    Md5,
    /// `t:normalizePath` / `t:normalisePath`: removes `.`/`..` segments and repeated slashes.
    NormalizePath,
    /// `t:normalizePathWin` / `t:normalisePathWin`: as `normalizePath`, backslashes first.
    NormalizePathWin,
    /// `t:parityEven7bit`: sets bit 7 for even parity.
    ParityEven7bit,
    /// `t:parityOdd7bit`: sets bit 7 for odd parity.
    ParityOdd7bit,
    /// `t:parityZero7bit`: clears bit 7.
    ParityZero7bit,
    /// `t:removeComments`: removes C, HTML and SQL comments.
    RemoveComments,
    /// `t:removeCommentsChar`: removes comment delimiter characters.
    RemoveCommentsChar,
    /// `t:removeNulls`: removes NUL bytes.
    RemoveNulls,
    /// `t:removeWhitespace`: removes whitespace and NBSP bytes.
    RemoveWhitespace,
    /// `t:replaceComments`: replaces each C comment by one space.
    ReplaceComments,
    /// `t:replaceNulls`: replaces NUL bytes by spaces.
    ReplaceNulls,
    /// `t:sha1`: raw 20-byte SHA-1 digest.
    Sha1,
    /// `t:sqlHexDecode`: decodes SQL `0x...` hex literals.
    SqlHexDecode,
    /// `t:trim`: removes leading and trailing whitespace.
    Trim,
    /// `t:trimLeft`: removes leading whitespace.
    TrimLeft,
    /// `t:trimRight`: removes trailing whitespace.
    TrimRight,
    /// `t:uppercase`: ASCII uppercase.
    Uppercase,
    /// `t:urlDecode`: decodes `%HH` and `+`.
    UrlDecode,
    /// `t:urlDecodeUni`: decodes `%HH`, IIS `%uHHHH` and `+`.
    UrlDecodeUni,
    /// `t:urlEncode`: percent-encodes everything but alphanumerics and `*`.
    UrlEncode,
    /// `t:utf8toUnicode`: rewrites UTF-8 multi-byte characters as `%uHHHH`.
    Utf8ToUnicode,
}

/// SecLang names, as ModSecurity spells them, with their transformation.
const NAMES: &[(&str, Transform)] = &[
    ("none", Transform::None),
    ("base64Decode", Transform::Base64Decode),
    ("base64DecodeExt", Transform::Base64DecodeExt),
    ("base64Encode", Transform::Base64Encode),
    ("cmdLine", Transform::CmdLine),
    // ModSecurity's own test set spells these two with underscores; both spellings load.
    ("cmd_line", Transform::CmdLine),
    ("compressWhitespace", Transform::CompressWhitespace),
    ("compress_whitespace", Transform::CompressWhitespace),
    ("cssDecode", Transform::CssDecode),
    ("escapeSeqDecode", Transform::EscapeSeqDecode),
    ("hexDecode", Transform::HexDecode),
    ("hexEncode", Transform::HexEncode),
    ("htmlEntityDecode", Transform::HtmlEntityDecode),
    ("jsDecode", Transform::JsDecode),
    ("length", Transform::Length),
    ("lowercase", Transform::Lowercase),
    ("md5", Transform::Md5),
    ("normalizePath", Transform::NormalizePath),
    ("normalisePath", Transform::NormalizePath),
    ("normalizePathWin", Transform::NormalizePathWin),
    ("normalisePathWin", Transform::NormalizePathWin),
    ("parityEven7bit", Transform::ParityEven7bit),
    ("parityOdd7bit", Transform::ParityOdd7bit),
    ("parityZero7bit", Transform::ParityZero7bit),
    ("removeComments", Transform::RemoveComments),
    ("removeCommentsChar", Transform::RemoveCommentsChar),
    ("removeNulls", Transform::RemoveNulls),
    ("removeWhitespace", Transform::RemoveWhitespace),
    ("replaceComments", Transform::ReplaceComments),
    ("replaceNulls", Transform::ReplaceNulls),
    ("sha1", Transform::Sha1),
    ("sqlHexDecode", Transform::SqlHexDecode),
    ("trim", Transform::Trim),
    ("trimLeft", Transform::TrimLeft),
    ("trimRight", Transform::TrimRight),
    ("uppercase", Transform::Uppercase),
    ("urlDecode", Transform::UrlDecode),
    ("urlDecodeUni", Transform::UrlDecodeUni),
    ("urlEncode", Transform::UrlEncode),
    ("utf8toUnicode", Transform::Utf8ToUnicode),
];

impl Transform {
    /// Looks up a transformation by its SecLang name, case-insensitively.
    pub(crate) fn from_name(name: &str) -> Option<Transform> {
        NAMES
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|&(_, t)| t)
    }

    /// The canonical SecLang name of this transformation.
    #[cfg(test)]
    pub(crate) fn name(self) -> &'static str {
        NAMES
            .iter()
            .find(|&&(_, t)| t == self)
            .map(|&(n, _)| n)
            .unwrap_or("none")
    }

    /// Every supported SecLang name (aliases included).
    #[cfg(any(test, feature = "fuzzing"))]
    pub(crate) fn all_names() -> impl Iterator<Item = &'static str> {
        NAMES.iter().map(|&(n, _)| n)
    }

    /// Applies the transformation; borrows the input when it does not change.
    pub(crate) fn apply(self, input: &[u8]) -> Cow<'_, [u8]> {
        match self {
            Transform::None => Cow::Borrowed(input),
            Transform::Base64Decode => Cow::Owned(encoding::base64_decode(input)),
            Transform::Base64DecodeExt => Cow::Owned(encoding::base64_decode_ext(input)),
            Transform::Base64Encode => Cow::Owned(encoding::base64_encode(input)),
            Transform::CmdLine => cmdline::cmd_line(input),
            Transform::CompressWhitespace => whitespace::compress_whitespace(input),
            Transform::CssDecode => css::css_decode(input),
            Transform::EscapeSeqDecode => escape::escape_seq_decode(input),
            Transform::HexDecode => Cow::Owned(encoding::hex_decode(input)),
            Transform::HexEncode => Cow::Owned(encoding::hex_encode(input)),
            Transform::HtmlEntityDecode => html::html_entity_decode(input),
            Transform::JsDecode => js::js_decode(input),
            Transform::Length => Cow::Owned(input.len().to_string().into_bytes()),
            Transform::Lowercase => case::lowercase(input),
            Transform::Md5 => Cow::Owned(hash::md5(input)),
            Transform::NormalizePath => path::normalize_path(input, false),
            Transform::NormalizePathWin => path::normalize_path(input, true),
            Transform::ParityEven7bit => Cow::Owned(parity::parity_even_7bit(input)),
            Transform::ParityOdd7bit => Cow::Owned(parity::parity_odd_7bit(input)),
            Transform::ParityZero7bit => Cow::Owned(parity::parity_zero_7bit(input)),
            Transform::RemoveComments => comments::remove_comments(input),
            Transform::RemoveCommentsChar => comments::remove_comments_char(input),
            Transform::RemoveNulls => nulls::remove_nulls(input),
            Transform::RemoveWhitespace => whitespace::remove_whitespace(input),
            Transform::ReplaceComments => comments::replace_comments(input),
            Transform::ReplaceNulls => nulls::replace_nulls(input),
            Transform::Sha1 => Cow::Owned(hash::sha1(input)),
            Transform::SqlHexDecode => encoding::sql_hex_decode(input),
            Transform::Trim => whitespace::trim(input),
            Transform::TrimLeft => whitespace::trim_left(input),
            Transform::TrimRight => whitespace::trim_right(input),
            Transform::Uppercase => case::uppercase(input),
            Transform::UrlDecode => url::url_decode(input),
            Transform::UrlDecodeUni => url::url_decode_uni(input),
            Transform::UrlEncode => url::url_encode(input),
            Transform::Utf8ToUnicode => utf8::utf8_to_unicode(input),
        }
    }
}

/// Applies `chain` in order, copying only when a transformation changes the value.
pub(crate) fn apply_chain<'v>(chain: &[Transform], value: &'v [u8]) -> Cow<'v, [u8]> {
    let mut current: Cow<'v, [u8]> = Cow::Borrowed(value);
    for &t in chain {
        current = match current {
            Cow::Borrowed(b) => t.apply(b),
            Cow::Owned(o) => {
                // A transformation may also answer with a shorter slice of its input (`trim`).
                let changed = match t.apply(&o) {
                    Cow::Owned(n) => Some(n),
                    Cow::Borrowed(s) if s.len() == o.len() => None,
                    Cow::Borrowed(s) => Some(s.to_vec()),
                };
                Cow::Owned(changed.unwrap_or(o))
            }
        };
    }
    current
}

#[cfg(test)]
mod chain_tests {
    use super::*;

    #[test]
    fn chains_keep_trimmed_slices_after_a_change() {
        assert_eq!(&*apply_chain(&[Transform::Lowercase, Transform::Trim], b" A "), b"a");
        assert_eq!(&*apply_chain(&[Transform::Trim, Transform::Lowercase], b" A "), b"a");
        assert!(matches!(apply_chain(&[Transform::Lowercase], b"a"), Cow::Borrowed(_)));
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn names_round_trip_case_insensitively() {
        for name in Transform::all_names() {
            let t = Transform::from_name(name).expect(name);
            assert!(Transform::from_name(&name.to_ascii_uppercase()).is_some());
            assert_eq!(Transform::from_name(t.name()), Some(t));
        }
        assert_eq!(Transform::from_name("urldecodeuni"), Some(Transform::UrlDecodeUni));
        assert_eq!(Transform::from_name("normalisePath"), Some(Transform::NormalizePath));
        assert_eq!(Transform::from_name("nosuch"), None);
        assert_eq!(Transform::from_name(""), None);
    }

    #[test]
    fn every_crs_transformation_is_known() {
        let crs = [
            "urlDecodeUni",
            "lowercase",
            "jsDecode",
            "htmlEntityDecode",
            "utf8toUnicode",
            "removeNulls",
            "cssDecode",
            "cmdLine",
            "removeWhitespace",
            "replaceComments",
            "normalizePath",
            "normalizePathWin",
            "escapeSeqDecode",
            "compressWhitespace",
            "length",
            "base64Decode",
            "sha1",
            "hexEncode",
            "removeCommentsChar",
            "none",
        ];
        for name in crs {
            assert!(Transform::from_name(name).is_some(), "{name}");
        }
    }

    #[test]
    fn length_counts_bytes() {
        assert_eq!(&*Transform::Length.apply(b""), b"0");
        assert_eq!(&*Transform::Length.apply(b"a\0\xff"), b"3");
        assert_eq!(&*Transform::Length.apply(&vec![b'x'; 100_000]), b"100000");
    }

    #[test]
    fn none_borrows() {
        assert!(matches!(Transform::None.apply(b"abc"), Cow::Borrowed(b"abc")));
    }

    /// Deterministic xorshift stream for the fuzz tests.
    pub(crate) fn random_inputs(alphabet: &[u8], count: usize, max_len: usize) -> Vec<Vec<u8>> {
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        (0..count)
            .map(|_| {
                let len = (next() % max_len as u64) as usize;
                (0..len)
                    .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                    .collect()
            })
            .collect()
    }

    #[test]
    fn escape_heavy_inputs_do_not_panic() {
        let alphabet = b"%uUxX0fF9aA+&#;\\/.*-<!>'\"^ \t\n\r\0\xc0\xaf\xe2\x80\xf4=";
        for input in random_inputs(alphabet, 20_000, 24) {
            for (_, t) in NAMES {
                let _ = t.apply(&input);
            }
        }
    }

    #[test]
    fn huge_values_do_not_panic() {
        let mut big = Vec::new();
        for i in 0..200_000u32 {
            big.push((i % 256) as u8);
        }
        big.extend_from_slice(b"%u%%4&#x;\\u12\\");
        for (_, t) in NAMES {
            let _ = t.apply(&big);
            let _ = t.apply(b"");
            for b in 0..=255u8 {
                let _ = t.apply(&[b]);
                let _ = t.apply(&[b, b]);
            }
        }
    }
}
