//! `@verifyCC`: credit card numbers found by a regex and confirmed by the Luhn checksum.

use regex::bytes::Regex;

/// A compiled `@verifyCC`.
#[derive(Debug)]
pub(crate) struct VerifyCc {
    regex: Regex,
}

impl VerifyCc {
    /// Compiles the regex that finds candidate numbers.
    pub(crate) fn new(pattern: &str) -> Result<VerifyCc, String> {
        Ok(VerifyCc {
            regex: super::regex::compile(pattern)?,
        })
    }

    /// The first regex match, searched from every start offset, that passes the Luhn check.
    pub(crate) fn find<'v>(&self, value: &'v [u8]) -> Option<&'v [u8]> {
        let mut offset = 0;
        while offset < value.len() {
            let m = self.regex.find_at(value, offset)?;
            if luhn(m.as_bytes()) {
                return Some(m.as_bytes());
            }
            // Every search starting in (offset, m.start()] finds this same match again.
            offset = m.start() + 1;
        }
        None
    }
}

/// Luhn mod-10 over the digits of `text` (other bytes are skipped); false without digits.
fn luhn(text: &[u8]) -> bool {
    let digits: Vec<u32> = text
        .iter()
        .filter(|c| c.is_ascii_digit())
        .map(|&c| u32::from(c - b'0'))
        .collect();
    if digits.is_empty() {
        return false;
    }
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        // Every second digit from the right is doubled, minus 9 when that exceeds 9.
        .map(|(i, &d)| if i % 2 == 1 { (d * 2) % 10 + (d * 2) / 10 } else { d })
        .sum();
    sum.is_multiple_of(10)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn luhn_checksum() {
        assert!(luhn(b"4111111111111111"));
        assert!(luhn(b"4111-1111-1111-1111"));
        assert!(!luhn(b"4111111111111112"));
        assert!(luhn(b"0"));
        assert!(!luhn(b""));
        assert!(!luhn(b"abc"));
    }

    #[test]
    fn finds_valid_numbers_only() {
        let cc = VerifyCc::new("\\d{13,16}").expect("compiles");
        assert_eq!(cc.find(b"card 4111111111111111 ok"), Some(&b"4111111111111111"[..]));
        // Every start offset is tried: a valid number inside an invalid run is found.
        assert_eq!(cc.find(b"card 4111111111111112"), Some(&b"1111111111112"[..]));
        let exact = VerifyCc::new("\\b\\d{16}\\b").expect("compiles");
        assert_eq!(exact.find(b"card 4111111111111112 x"), None);
        assert!(exact.find(b"card 4111111111111111 x").is_some());
        assert_eq!(cc.find(b"94111111111111111"), Some(&b"4111111111111111"[..]));
        assert_eq!(cc.find(b""), None);
    }
}
