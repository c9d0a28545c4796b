//! `response_size`: per endpoint, a response far larger than its EWMA (exfiltration).
//!
//! Only successful responses (status < 400) count; an outlier is not folded into the baseline,
//! so repeated large downloads keep standing out.

use super::Finding;
use crate::config::ResponseSize;
use crate::ewma::Ewma;

/// The deviation never counts as less than a quarter of the mean or 1 KiB (flat histories).
fn floor(mean: f32) -> f32 {
    (mean * 0.25).max(1024.0)
}

/// Folds in a response size; fires on an outlier after warm-up.
pub fn observe(size: &mut Ewma, bytes: u64, cfg: &ResponseSize) -> Option<Finding> {
    let x = bytes as f32;
    if size.n >= cfg.warmup && bytes >= cfg.min_bytes {
        let threshold = size.upper(cfg.z, floor(size.mean));
        if x > threshold {
            return Some(Finding::crossing(
                Some(f64::from(size.mean)),
                bytes as f64,
                f64::from(threshold),
                None,
            ));
        }
    }
    size.update(x, cfg.alpha);
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usual_sizes_are_quiet_and_a_huge_response_fires() {
        let cfg = ResponseSize::default();
        let mut e = Ewma::default();
        for i in 0..500u64 {
            assert_eq!(
                observe(&mut e, 20_000 + (i * 7919) % 10_000, &cfg),
                None,
                "response {i}"
            );
        }
        let f = observe(&mut e, 5_000_000, &cfg).expect("outlier fires");
        assert!((f.baseline.unwrap() - 25_000.0).abs() < 3_000.0, "{f:?}");
        // Not folded in: the next one fires too.
        assert!(observe(&mut e, 5_000_000, &cfg).is_some());
    }

    #[test]
    fn small_endpoints_and_cold_baselines_do_not_fire() {
        let cfg = ResponseSize::default();
        let mut e = Ewma::default();
        for _ in 0..10 {
            assert_eq!(observe(&mut e, 100, &cfg), None);
        }
        assert_eq!(observe(&mut e, 10_000_000, &cfg), None, "before warm-up");
        let mut e = Ewma::default();
        for _ in 0..100 {
            observe(&mut e, 100, &cfg);
        }
        assert_eq!(observe(&mut e, 60_000, &cfg), None, "below min_bytes");
    }
}
