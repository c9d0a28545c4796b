//! 7-bit parity: `parityEven7bit`, `parityOdd7bit`, `parityZero7bit`.

/// True when `c` holds an odd number of ones. ModSecurity counts all 8 bits, bit 7 included.
fn odd_ones(c: u8) -> bool {
    c.count_ones() % 2 == 1
}

/// `t:parityEven7bit`: bit 7 set so that the byte has even parity.
pub(crate) fn parity_even_7bit(input: &[u8]) -> Vec<u8> {
    input
        .iter()
        .map(|&c| if odd_ones(c) { c | 0x80 } else { c & 0x7f })
        .collect()
}

/// `t:parityOdd7bit`: bit 7 set so that the byte has odd parity.
pub(crate) fn parity_odd_7bit(input: &[u8]) -> Vec<u8> {
    input
        .iter()
        .map(|&c| if odd_ones(c) { c & 0x7f } else { c | 0x80 })
        .collect()
}

/// `t:parityZero7bit`: bit 7 cleared.
pub(crate) fn parity_zero_7bit(input: &[u8]) -> Vec<u8> {
    input.iter().map(|&c| c & 0x7f).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parity() {
        // 'A' = 0x41 has two ones; 'C' = 0x43 has three; 0xC1 has three (bit 7 counts).
        assert_eq!(parity_even_7bit(b"AC\xc1"), b"A\xc3\xc1");
        assert_eq!(parity_odd_7bit(b"AC\xc1"), b"\xc1CA");
        assert_eq!(parity_zero_7bit(b"A\xc3\xff"), b"AC\x7f");
    }
}
