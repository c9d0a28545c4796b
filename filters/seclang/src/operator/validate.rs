//! Encoding validators: `@validateByteRange`, `@validateUtf8Encoding`, `@validateUrlEncoding`.
//! Each matches when the value is NOT valid.

/// A set of allowed bytes parsed from `@validateByteRange` (`9,10,13,32-126`).
#[derive(Debug, Clone)]
pub(crate) struct ByteRange {
    allowed: [bool; 256],
}

impl ByteRange {
    /// Parses a comma-separated list of bytes and inclusive ranges (0..=255).
    pub(crate) fn parse(arg: &str) -> Result<ByteRange, String> {
        let mut allowed = [false; 256];
        for part in arg.split(',') {
            let (start, end) = match part.split_once('-') {
                None => {
                    let v = parse_byte(part)?;
                    (v, v)
                }
                Some((a, b)) => (parse_byte(a)?, parse_byte(b)?),
            };
            if start > end {
                return Err(format!("invalid range {start}-{end}"));
            }
            for b in start..=end {
                allowed[usize::from(b)] = true;
            }
        }
        Ok(ByteRange { allowed })
    }

    /// True when some byte of `value` is outside the allowed set.
    pub(crate) fn violated_by(&self, value: &[u8]) -> bool {
        value.iter().any(|&b| !self.allowed[usize::from(b)])
    }
}

/// A byte value as `std::stoi` reads it (leading whitespace, trailing junk ignored).
fn parse_byte(s: &str) -> Result<u8, String> {
    let t = s.trim_start();
    let digits: String = t
        .char_indices()
        .take_while(|&(i, c)| c.is_ascii_digit() || (i == 0 && (c == '+' || c == '-')))
        .map(|(_, c)| c)
        .collect();
    let v: i64 = digits.parse().map_err(|_| format!("'{s}' is not a number"))?;
    u8::try_from(v).map_err(|_| format!("{v} is not a byte value (0-255)"))
}

/// `@validateUtf8Encoding`: true when `value` has a truncated or invalid sequence, an overlong
/// form, a surrogate or a lead byte 0xF5..0xFF. As in ModSecurity, 4-byte sequences led by 0xF4
/// above U+10FFFF are not flagged.
pub(crate) fn invalid_utf8(value: &[u8]) -> bool {
    let mut i = 0;
    while i < value.len() {
        match utf8_char_len(&value[i..]) {
            Some(n) => i += n,
            None => return true,
        }
    }
    false
}

/// Length of the valid character at the start of `s` (non-empty), `None` when invalid.
fn utf8_char_len(s: &[u8]) -> Option<usize> {
    let c = s[0];
    let cont = |k: usize| s.get(k).is_some_and(|b| b & 0xC0 == 0x80);
    let low = |k: usize| u32::from(s[k] & 0x3F);
    let (len, d) = if c & 0x80 == 0 {
        return Some(1);
    } else if c & 0xE0 == 0xC0 {
        (cont(1)).then_some(())?;
        (2, (u32::from(c & 0x1F) << 6) | low(1))
    } else if c & 0xF0 == 0xE0 {
        (cont(1) && cont(2)).then_some(())?;
        (3, (u32::from(c & 0x0F) << 12) | (low(1) << 6) | low(2))
    } else if c & 0xF8 == 0xF0 && c < 0xF5 {
        (cont(1) && cont(2) && cont(3)).then_some(())?;
        (4, (u32::from(c & 0x07) << 18) | (low(1) << 12) | (low(2) << 6) | low(3))
    } else {
        return None;
    };
    let surrogate = (0xD800..=0xDFFF).contains(&d);
    let overlong = match len {
        2 => d < 0x80,
        3 => d < 0x800,
        _ => d < 0x10000,
    };
    (!surrogate && !overlong).then_some(len)
}

/// `@validateUrlEncoding`: true when a `%` is not followed by two hex digits. An empty value is
/// valid.
pub(crate) fn invalid_url_encoding(value: &[u8]) -> bool {
    let mut i = 0;
    while i < value.len() {
        if value[i] == b'%' {
            if i + 2 >= value.len() {
                return true;
            }
            if !(value[i + 1].is_ascii_hexdigit() && value[i + 2].is_ascii_hexdigit()) {
                return true;
            }
            i += 3;
        } else {
            i += 1;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_ranges() {
        let r = ByteRange::parse("9,10,13,32-126,128-255").expect("valid");
        assert!(!r.violated_by(b"Hello\tworld\r\n\xff"));
        assert!(r.violated_by(b"a\0b"));
        assert!(r.violated_by(b"\x7f"));
        assert!(!r.violated_by(b""));
        let one = ByteRange::parse("1-255").expect("valid");
        assert!(one.violated_by(b"\0"));
        assert!(!one.violated_by(b"\x01\xff"));
        assert!(ByteRange::parse(" 9 ,10").is_ok());
        for bad in ["", "xxx", "1-", "300", "20-10", "-1", "1-256"] {
            assert!(ByteRange::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn utf8() {
        assert!(!invalid_utf8("é€😀 plain".as_bytes()));
        assert!(!invalid_utf8(b""));
        assert!(invalid_utf8(b"\xc0\xaf")); // overlong '/'
        assert!(invalid_utf8(b"\xe0\x80\xaf")); // overlong
        assert!(invalid_utf8(b"\xed\xa0\x80")); // surrogate
        assert!(!invalid_utf8(b"\xf4\x90\x80\x80")); // above U+10FFFF: not checked by ModSecurity
        assert!(invalid_utf8(b"\xf5\x80\x80\x80")); // restricted lead byte
        assert!(invalid_utf8(b"a\xc3")); // truncated
        assert!(invalid_utf8(b"\x80")); // stray continuation
        assert!(!invalid_utf8(b"a\0b"));
    }

    #[test]
    fn url_encoding() {
        assert!(!invalid_url_encoding(b"a%20b%2F%fF"));
        assert!(!invalid_url_encoding(b""));
        assert!(invalid_url_encoding(b"%zz"));
        assert!(invalid_url_encoding(b"%4"));
        assert!(invalid_url_encoding(b"abc%"));
        assert!(invalid_url_encoding(b"%41%g1"));
        assert!(invalid_url_encoding(b"%u0041"));
    }
}
