//! Keyed SipHash (1-3 for fingerprints), streamed so composite keys hash without a buffer.
//!
//! The key comes from the configuration: a fixed, public key would let a client pick entity
//! names that all land in one slot and evict each other (HashDoS on the table).

/// A streaming SipHash with `C` compression and `D` finalization rounds.
#[derive(Clone, Copy, Debug)]
pub struct Sip<const C: usize, const D: usize> {
    v: [u64; 4],
    tail: u64,
    ntail: u32,
    length: u64,
}

/// SipHash-1-3: the fingerprint hash (fast, and keyed, which is what the table needs).
pub type Sip13 = Sip<1, 3>;

impl<const C: usize, const D: usize> Sip<C, D> {
    /// A hasher keyed with `key` (two 64-bit halves).
    pub fn new(key: [u64; 2]) -> Self {
        let [k0, k1] = key;
        Self {
            v: [
                k0 ^ 0x736f_6d65_7073_6575,
                k1 ^ 0x646f_7261_6e64_6f6d,
                k0 ^ 0x6c79_6765_6e65_7261,
                k1 ^ 0x7465_6462_7974_6573,
            ],
            tail: 0,
            ntail: 0,
            length: 0,
        }
    }

    #[inline]
    fn round(v: &mut [u64; 4]) {
        v[0] = v[0].wrapping_add(v[1]);
        v[1] = v[1].rotate_left(13) ^ v[0];
        v[0] = v[0].rotate_left(32);
        v[2] = v[2].wrapping_add(v[3]);
        v[3] = v[3].rotate_left(16) ^ v[2];
        v[0] = v[0].wrapping_add(v[3]);
        v[3] = v[3].rotate_left(21) ^ v[0];
        v[2] = v[2].wrapping_add(v[1]);
        v[1] = v[1].rotate_left(17) ^ v[2];
        v[2] = v[2].rotate_left(32);
    }

    #[inline]
    fn compress(&mut self, m: u64) {
        self.v[3] ^= m;
        for _ in 0..C {
            Self::round(&mut self.v);
        }
        self.v[0] ^= m;
    }

    /// Feeds `bytes`.
    pub fn write(&mut self, bytes: &[u8]) {
        self.length = self.length.wrapping_add(bytes.len() as u64);
        let mut rest = bytes;
        // Top up a partial word first; then whole words go straight to the compression.
        while self.ntail != 0 {
            let Some((&b, r)) = rest.split_first() else { return };
            self.tail |= u64::from(b) << (8 * self.ntail);
            self.ntail += 1;
            rest = r;
            if self.ntail == 8 {
                let m = self.tail;
                self.compress(m);
                self.tail = 0;
                self.ntail = 0;
            }
        }
        let mut words = rest.chunks_exact(8);
        for w in &mut words {
            let mut a = [0u8; 8];
            a.copy_from_slice(w);
            self.compress(u64::from_le_bytes(a));
        }
        for (i, &b) in words.remainder().iter().enumerate() {
            self.tail |= u64::from(b) << (8 * i);
        }
        self.ntail = words.remainder().len() as u32;
    }

    /// Feeds one byte (a domain or separator tag).
    pub fn write_u8(&mut self, b: u8) {
        self.write(&[b]);
    }

    /// The 64-bit hash of everything fed.
    pub fn finish(mut self) -> u64 {
        let b = ((self.length & 0xff) << 56) | self.tail;
        self.compress(b);
        self.v[2] ^= 0xff;
        for _ in 0..D {
            Self::round(&mut self.v);
        }
        self.v[0] ^ self.v[1] ^ self.v[2] ^ self.v[3]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[allow(deprecated)] // std's SipHasher (2-4) is the reference this implementation must match.
    fn reference(key: [u64; 2], bytes: &[u8]) -> u64 {
        use std::hash::Hasher;
        let mut h = std::hash::SipHasher::new_with_keys(key[0], key[1]);
        h.write(bytes);
        h.finish()
    }

    #[test]
    fn matches_std_siphash_2_4_at_every_length_and_split() {
        let key = [0x0706_0504_0302_0100, 0x0f0e_0d0c_0b0a_0908];
        let data: Vec<u8> = (0u8..64).collect();
        for len in 0..data.len() {
            let whole = reference(key, &data[..len]);
            for split in 0..=len {
                let mut h = Sip::<2, 4>::new(key);
                h.write(&data[..split]);
                h.write(&data[split..len]);
                assert_eq!(h.finish(), whole, "len {len} split {split}");
            }
        }
    }

    #[test]
    fn the_key_changes_the_hash() {
        let mut a = Sip13::new([1, 2]);
        let mut b = Sip13::new([1, 3]);
        a.write(b"10.0.0.1");
        b.write(b"10.0.0.1");
        assert_ne!(a.finish(), b.finish());
    }
}
