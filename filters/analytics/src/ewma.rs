//! Exponentially weighted mean and variance, and the z-score test on them.

/// An EWMA of a value and of its variance, with the number of samples folded in.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Ewma {
    /// Weighted mean.
    pub mean: f32,
    /// Weighted variance.
    pub var: f32,
    /// Samples folded in (saturating).
    pub n: u32,
}

impl Ewma {
    /// Folds in `x` with weight `alpha` (the first sample sets the mean).
    pub fn update(&mut self, x: f32, alpha: f32) {
        if self.n == 0 {
            self.mean = x;
            self.var = 0.0;
        } else {
            // West's incremental form: var follows the same weighting as the mean.
            let diff = x - self.mean;
            let incr = alpha * diff;
            self.mean += incr;
            self.var = (1.0 - alpha) * (self.var + diff * incr);
        }
        self.n = self.n.saturating_add(1);
    }

    /// Standard deviation, never below `floor` (a flat history must not make every step an outlier).
    pub fn sd(&self, floor: f32) -> f32 {
        self.var.max(0.0).sqrt().max(floor)
    }

    /// The value above which `x` is an outlier at `z` standard deviations.
    pub fn upper(&self, z: f32, floor: f32) -> f32 {
        self.mean + z * self.sd(floor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steady_values_keep_the_mean_and_a_small_variance() {
        let mut e = Ewma::default();
        for i in 0..200 {
            e.update(if i % 2 == 0 { 9.0 } else { 11.0 }, 0.1);
        }
        assert!((e.mean - 10.0).abs() < 0.2, "{e:?}");
        assert!((e.sd(0.0) - 1.0).abs() < 0.2, "{e:?}");
        assert!(e.upper(6.0, 0.0) < 17.0);
        assert_eq!(e.n, 200);
    }

    #[test]
    fn the_floor_bounds_the_deviation_of_a_flat_history() {
        let mut e = Ewma::default();
        for _ in 0..10 {
            e.update(5.0, 0.2);
        }
        assert_eq!(e.sd(0.0), 0.0);
        assert_eq!(e.sd(2.0), 2.0);
        assert_eq!(e.upper(3.0, 2.0), 11.0);
    }
}
