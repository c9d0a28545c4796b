//! A 128-bit bitmap that estimates how many distinct items it saw (linear counting).

/// Bits in the bitmap.
pub const BITS: u32 = 128;

/// A linear-counting sketch: one bit per item hash; distinct count from the unset bits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Bitmap(pub u128);

impl Bitmap {
    /// Sets the item's bit; true when it was unset (the item is probably new).
    pub fn insert(&mut self, hash: u64) -> bool {
        let bit = 1u128 << (hash % u64::from(BITS));
        let new = self.0 & bit == 0;
        self.0 |= bit;
        new
    }

    /// Estimated distinct items: `-m ln(zeros/m)`; a full bitmap reports its ceiling, `m ln m`.
    pub fn estimate(&self) -> f64 {
        let m = f64::from(BITS);
        let zeros = f64::from(BITS - self.0.count_ones());
        if zeros == 0.0 {
            m * m.ln()
        } else {
            -m * (zeros / m).ln()
        }
    }

    /// Forgets every item.
    pub fn clear(&mut self) {
        self.0 = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spread(i: u64) -> u64 {
        crate::entity::item_hash([5, 6], 1, &format!("/item/{i}"))
    }

    #[test]
    fn estimates_track_distinct_items_within_a_quarter() {
        for n in [1u64, 10, 30, 60, 100, 200] {
            let mut b = Bitmap::default();
            for i in 0..n {
                b.insert(spread(i));
                b.insert(spread(i)); // duplicates do not count
            }
            let e = b.estimate();
            assert!((e - n as f64).abs() <= (n as f64 * 0.25).max(1.0), "n {n} estimate {e}");
        }
        assert_eq!(Bitmap::default().estimate(), 0.0);
    }

    #[test]
    fn a_full_bitmap_reports_its_ceiling() {
        let mut b = Bitmap(u128::MAX);
        assert!(b.estimate() > 600.0);
        assert!(!b.insert(5));
        b.clear();
        assert!(b.insert(5));
    }
}
