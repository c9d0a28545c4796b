//! `htmlEntityDecode`.

use std::borrow::Cow;

/// `t:htmlEntityDecode`: decodes `&#D..;`, `&#xH..;` and the named entities quot, amp, lt, gt and
/// nbsp (to byte 0xA0); the `;` is optional. Anything else is copied unchanged. All digits are
/// consumed (leading zeros included, CVE-2025-27110) and the value, saturated like C `strtol`,
/// is truncated to one byte, as ModSecurity (v2 and v3.0.14+) does.
pub(crate) fn html_entity_decode(input: &[u8]) -> Cow<'_, [u8]> {
    if !input.contains(&b'&') {
        return Cow::Borrowed(input);
    }
    let len = input.len();
    let mut out = Vec::with_capacity(len);
    let mut i = 0;
    while i < len {
        if input[i] == b'&' && i + 1 < len {
            if let Some((byte, next)) = decode_entity(input, i) {
                out.push(byte);
                i = next;
                continue;
            }
            // Not decodable: copy the part ModSecurity already looked at.
            let copy = undecoded_span(input, i);
            out.extend_from_slice(&input[i..i + copy]);
            i += copy;
        } else {
            out.push(input[i]);
            i += 1;
        }
    }
    Cow::Owned(out)
}

/// Decodes the entity starting at `&` at `at`; returns the byte and the index after it.
fn decode_entity(input: &[u8], at: usize) -> Option<(u8, usize)> {
    let len = input.len();
    let mut j = at + 1;
    let (byte, end) = if input[j] == b'#' {
        j += 1;
        if j >= len {
            return None;
        }
        if input[j] == b'x' || input[j] == b'X' {
            j += 1;
            let start = j;
            while j < len && input[j].is_ascii_hexdigit() {
                j += 1;
            }
            if j == start {
                return None;
            }
            (parse_radix(&input[start..j], 16), j)
        } else {
            let start = j;
            while j < len && input[j].is_ascii_digit() {
                j += 1;
            }
            if j == start {
                return None;
            }
            (parse_radix(&input[start..j], 10), j)
        }
    } else {
        let start = j;
        while j < len && input[j].is_ascii_alphanumeric() {
            j += 1;
        }
        if j == start {
            return None;
        }
        // ModSecurity compares only the prefix of the name, then skips the whole name.
        let name = &input[start..j];
        let byte = [
            (&b"quot"[..], b'"'),
            (b"amp", b'&'),
            (b"lt", b'<'),
            (b"gt", b'>'),
            (b"nbsp", 0xa0),
        ]
        .iter()
        .find(|(n, _)| name.len() >= n.len() && name[..n.len()].eq_ignore_ascii_case(n))
        .map(|&(_, b)| b)?;
        (byte, j)
    };
    let next = if end < len && input[end] == b';' { end + 1 } else { end };
    Some((byte, next))
}

/// How many bytes to copy unchanged when the entity at `at` cannot be decoded.
fn undecoded_span(input: &[u8], at: usize) -> usize {
    let len = input.len();
    let j = at + 1;
    if input[j] == b'#' {
        // "&#" or "&#x" without digits.
        if j + 1 < len && (input[j + 1] == b'x' || input[j + 1] == b'X') {
            3
        } else {
            2
        }
    } else {
        let name = input[j..].iter().take_while(|c| c.is_ascii_alphanumeric()).count();
        name + 1
    }
}

/// C `strtol` on a run of digits (saturating at `i64::MAX`), truncated to a byte.
fn parse_radix(digits: &[u8], radix: u32) -> u8 {
    let mut v: i64 = 0;
    for &d in digits {
        let digit = i64::from((d as char).to_digit(radix).unwrap_or(0));
        v = v.saturating_mul(i64::from(radix)).saturating_add(digit);
    }
    v as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &[u8]) -> Vec<u8> {
        html_entity_decode(s).into_owned()
    }

    #[test]
    fn numeric_entities() {
        assert_eq!(d(b"&#65;&#x41;&#X42&#66"), b"AABB");
        // All digits are consumed; values are truncated to a byte.
        assert_eq!(d(b"&#x414"), b"\x14");
        assert_eq!(d(b"&#0065;"), b"A");
        assert_eq!(d(b"&#000000000000000000000000000000123;"), b"{");
        assert_eq!(d(b"&#256;"), b"\0");
        assert_eq!(d(b"&#99999999999999999999999;"), b"\xff");
        assert_eq!(d(b"&#0;"), b"\0");
    }

    #[test]
    fn named_entities() {
        assert_eq!(d(b"&lt;script&gt;&quot;&amp;&nbsp;"), b"<script>\"&\xa0");
        assert_eq!(d(b"&LT;&Gt"), b"<>");
        // The whole alphanumeric name is consumed once its prefix matches.
        assert_eq!(d(b"&ltfoo;x"), b"<x");
    }

    #[test]
    fn invalid_entities_are_kept() {
        assert_eq!(d(b"&"), b"&");
        assert_eq!(d(b"&#"), b"&#");
        assert_eq!(d(b"&#x"), b"&#x");
        assert_eq!(d(b"&#xg;"), b"&#xg;");
        assert_eq!(d(b"&#a"), b"&#a");
        assert_eq!(d(b"&foo;"), b"&foo;");
        assert_eq!(d(b"& &;"), b"& &;");
        assert!(matches!(html_entity_decode(b"none"), Cow::Borrowed(_)));
    }
}
