//! Numeric comparisons `@eq @ge @gt @lt @le` with ModSecurity's integer parsing.
//!
//! `@eq` parses both sides with C++ `std::stoi` (an unparsable or out-of-`int` value is 0);
//! the others use C `atoll` (leading digits, saturating, invalid is 0).

/// Which comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Comparison {
    /// `@eq`
    Eq,
    /// `@ge`
    Ge,
    /// `@gt`
    Gt,
    /// `@lt`
    Lt,
    /// `@le`
    Le,
}

impl Comparison {
    /// `value <op> argument`.
    pub(crate) fn holds(self, value: &[u8], argument: &[u8]) -> bool {
        match self {
            Comparison::Eq => stoi(value) == stoi(argument),
            Comparison::Ge => atoll(value) >= atoll(argument),
            Comparison::Gt => atoll(value) > atoll(argument),
            Comparison::Lt => atoll(value) < atoll(argument),
            Comparison::Le => atoll(value) <= atoll(argument),
        }
    }
}

fn is_c_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// Leading whitespace, optional sign and digits, as `strtoll`; `None` without digits.
fn parse_prefix(s: &[u8]) -> Option<(bool, i128, bool)> {
    let mut i = 0;
    while i < s.len() && is_c_space(s[i]) {
        i += 1;
    }
    let mut negative = false;
    if i < s.len() && (s[i] == b'+' || s[i] == b'-') {
        negative = s[i] == b'-';
        i += 1;
    }
    let start = i;
    let mut v: i128 = 0;
    let mut overflow = false;
    while i < s.len() && s[i].is_ascii_digit() {
        if v > i128::from(i64::MAX) + 1 {
            overflow = true;
        } else {
            v = v * 10 + i128::from(s[i] - b'0');
        }
        i += 1;
    }
    (i > start).then_some((negative, v, overflow))
}

/// C `atoll` (glibc: saturates on overflow).
pub(crate) fn atoll(s: &[u8]) -> i64 {
    match parse_prefix(s) {
        None => 0,
        Some((neg, v, overflow)) => {
            let v = if neg { -v } else { v };
            if overflow {
                return if neg { i64::MIN } else { i64::MAX };
            }
            v.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
        }
    }
}

/// C++ `std::stoi`, with ModSecurity's `catch (...) { 0 }`.
pub(crate) fn stoi(s: &[u8]) -> i32 {
    match parse_prefix(s) {
        None => 0,
        Some((_, _, true)) => 0,
        Some((neg, v, false)) => i32::try_from(if neg { -v } else { v }).unwrap_or(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Comparison::*;

    #[test]
    fn parsing() {
        assert_eq!(atoll(b"  42abc"), 42);
        assert_eq!(atoll(b"-7"), -7);
        assert_eq!(atoll(b"+7"), 7);
        assert_eq!(atoll(b"abc"), 0);
        assert_eq!(atoll(b""), 0);
        assert_eq!(atoll(b"0x10"), 0);
        assert_eq!(atoll(b"99999999999999999999999"), i64::MAX);
        assert_eq!(atoll(b"-99999999999999999999999"), i64::MIN);
        assert_eq!(stoi(b"\t12 "), 12);
        assert_eq!(stoi(b"2147483648"), 0);
        assert_eq!(stoi(b"-2147483648"), i32::MIN);
        assert_eq!(stoi(b"x"), 0);
    }

    #[test]
    fn comparisons() {
        assert!(Eq.holds(b"5", b"5"));
        assert!(Eq.holds(b"xxx", b"0"));
        assert!(Eq.holds(b"", b"0"));
        assert!(!Eq.holds(b"-5", b"0"));
        assert!(Gt.holds(b"10", b"9"));
        assert!(!Gt.holds(b"9", b"9"));
        assert!(Ge.holds(b"9", b"9"));
        assert!(Lt.holds(b"abc", b"1"));
        assert!(Le.holds(b"1", b"1"));
        assert!(!Le.holds(b"12345678901", b"1"));
    }
}
