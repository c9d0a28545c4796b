//! Digests: `md5`, `sha1` (raw binary digests, as ModSecurity produces them).

use md5::Digest as _;

/// `t:md5`: the 16-byte MD5 digest.
pub(crate) fn md5(input: &[u8]) -> Vec<u8> {
    md5::Md5::digest(input).to_vec()
}

/// `t:sha1`: the 20-byte SHA-1 digest.
pub(crate) fn sha1(input: &[u8]) -> Vec<u8> {
    sha1::Sha1::digest(input).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(v: &[u8]) -> String {
        v.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn digests() {
        assert_eq!(hex(&md5(b"")), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(hex(&md5(b"TestCase")), "c9aba2c3e60126169e80e9a26ba273c1");
        assert_eq!(hex(&sha1(b"")), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
        assert_eq!(hex(&sha1(b"abc")), "a9993e364706816aba3e25717850c26c9cd0d89d");
    }
}
