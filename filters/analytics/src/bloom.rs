//! A 256-bit Bloom filter: "was this item (endpoint, caller, host) seen before?".

const BITS: u32 = 256;
const HASHES: u32 = 3;

/// A Bloom filter of 256 bits and 3 probes (about 1% false positives at 30 items).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Bloom(pub [u64; 4]);

impl Bloom {
    fn probes(hash: u64) -> impl Iterator<Item = (usize, u64)> {
        // Double hashing: h1 + i*h2 (h2 odd, so the probes differ).
        let h1 = hash as u32;
        let h2 = ((hash >> 32) as u32) | 1;
        (0..HASHES).map(move |i| {
            let bit = h1.wrapping_add(i.wrapping_mul(h2)) % BITS;
            ((bit / 64) as usize, 1u64 << (bit % 64))
        })
    }

    /// True when the item was probably inserted before (never false for an inserted item).
    pub fn contains(&self, hash: u64) -> bool {
        Self::probes(hash).all(|(w, m)| self.0.get(w).is_some_and(|x| x & m != 0))
    }

    /// Inserts the item.
    pub fn insert(&mut self, hash: u64) {
        for (w, m) in Self::probes(hash) {
            if let Some(x) = self.0.get_mut(w) {
                *x |= m;
            }
        }
    }

    /// Estimated items inserted (Swamidass & Baldi): `-(m/k) ln(1 - X/m)`.
    pub fn estimate(&self) -> f64 {
        let m = f64::from(BITS);
        let set: u32 = self.0.iter().map(|w| w.count_ones()).sum();
        if set >= BITS {
            return m;
        }
        -(m / f64::from(HASHES)) * (1.0 - f64::from(set) / m).ln()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entity::item_hash;

    #[test]
    fn inserted_items_are_found_and_few_others_are() {
        let key = [3, 4];
        let mut b = Bloom::default();
        for i in 0..30 {
            b.insert(item_hash(key, 1, &format!("/api/v1/items/{i}")));
        }
        for i in 0..30 {
            assert!(b.contains(item_hash(key, 1, &format!("/api/v1/items/{i}"))));
        }
        let false_hits = (0..1000)
            .filter(|i| b.contains(item_hash(key, 1, &format!("/other/{i}"))))
            .count();
        assert!(false_hits < 50, "{false_hits} false positives in 1000");
        let e = b.estimate();
        assert!((e - 30.0).abs() < 6.0, "estimate {e}");
    }
}
