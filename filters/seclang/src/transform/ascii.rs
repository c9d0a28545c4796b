//! Byte classes and hex digit values computed as ModSecurity's C code computes them, shared by
//! the decoders.

/// Value of one ASCII hex digit; callers check `is_ascii_hexdigit` first.
pub(crate) fn hex_val(c: u8) -> u8 {
    // Same arithmetic as ModSecurity's xsingle2c, which hexDecode also applies to non-hex bytes.
    if c >= b'A' {
        (c & 0xdf).wrapping_sub(b'A').wrapping_add(10)
    } else {
        c.wrapping_sub(b'0')
    }
}

/// Byte from two hex digits (ModSecurity's x2c).
pub(crate) fn x2c(hi: u8, lo: u8) -> u8 {
    hex_val(hi).wrapping_mul(16).wrapping_add(hex_val(lo))
}

/// C `isspace` in the "C" locale: space, \t, \n, \v, \f, \r.
pub(crate) fn is_c_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}
