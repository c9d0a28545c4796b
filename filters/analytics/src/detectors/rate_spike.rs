//! `rate_spike`: requests per bucket against the entity's own EWMA mean and deviation.
//!
//! Buckets close lazily: an entity idle for k buckets folds in its count and k-1 empty buckets
//! (at most 64: by then the weight of the past is below 0.2% at the default alpha). The open
//! bucket is tested on every request, so a spike fires within its bucket.

use super::Finding;
use crate::config::RateSpike;
use crate::record::Rate;

/// Empty buckets folded in one go (beyond this the EWMA has forgotten the past anyway).
const MAX_IDLE_BUCKETS: u32 = 64;

/// Closes the open bucket (and the idle ones after it) when its time has passed.
pub fn decay(r: &mut Rate, now_s: u32, cfg: &RateSpike) {
    let b = cfg.bucket_secs.max(1);
    if now_s < r.start.saturating_add(b) {
        return;
    }
    let k = (now_s - r.start) / b;
    r.stats.update(r.count as f32, cfg.alpha);
    let idle = k - 1;
    for _ in 0..idle.min(MAX_IDLE_BUCKETS) {
        r.stats.update(0.0, cfg.alpha);
    }
    r.stats.n = r.stats.n.saturating_add(idle.saturating_sub(MAX_IDLE_BUCKETS));
    r.start = r.start.saturating_add(k.saturating_mul(b));
    r.count = 0;
}

/// Counts a request; fires when the open bucket is far above the baseline, after warm-up.
pub fn observe(r: &mut Rate, cfg: &RateSpike) -> Option<Finding> {
    r.count = r.count.saturating_add(1);
    if r.stats.n < cfg.warmup_buckets || r.count < cfg.min_count {
        return None;
    }
    // Counts are roughly Poisson: the deviation is at least the square root of the mean.
    let floor = r.stats.mean.max(1.0).sqrt();
    let threshold = r.stats.upper(cfg.z, floor);
    (r.count as f32 > threshold).then(|| {
        Finding::crossing(
            Some(f64::from(r.stats.mean)),
            f64::from(r.count),
            f64::from(threshold),
            Some(cfg.bucket_secs),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(r: &mut Rate, cfg: &RateSpike, from: u32, secs: u32, per_bucket: u32) -> Option<(u32, Finding)> {
        for t in (from..from + secs).step_by(cfg.bucket_secs as usize) {
            decay(r, t, cfg);
            for _ in 0..per_bucket {
                if let Some(f) = observe(r, cfg) {
                    return Some((t, f));
                }
            }
        }
        None
    }

    #[test]
    fn steady_traffic_is_quiet_and_a_spike_fires_in_its_bucket() {
        let cfg = RateSpike::default();
        let mut r = Rate::default();
        // 10 minutes at 8 to 12 requests per bucket.
        for (i, t) in (0..600).step_by(10).enumerate() {
            decay(&mut r, t, &cfg);
            for _ in 0..(8 + i as u32 % 5) {
                assert_eq!(observe(&mut r, &cfg), None, "at {t}");
            }
        }
        let (t, f) = run(&mut r, &cfg, 600, 60, 200).expect("spike fires");
        assert_eq!(t, 600);
        assert!(f.observed.unwrap() > f.threshold.unwrap());
        assert!((f.baseline.unwrap() - 10.0).abs() < 2.0, "{f:?}");
    }

    #[test]
    fn no_alert_before_warm_up_or_below_the_minimum() {
        let cfg = RateSpike::default();
        let mut r = Rate::default();
        assert_eq!(run(&mut r, &cfg, 0, 200, 500), None, "cold entity");
        let mut r = Rate::default();
        assert_eq!(run(&mut r, &cfg, 0, 600, 0), None);
        assert_eq!(run(&mut r, &cfg, 600, 10, 29), None, "under min_count");
    }

    #[test]
    fn a_long_idle_gap_decays_the_baseline_without_looping_over_it() {
        let cfg = RateSpike::default();
        let mut r = Rate::default();
        run(&mut r, &cfg, 0, 600, 100);
        assert!(r.stats.mean > 90.0);
        decay(&mut r, 600 + 86_400 * 365, &cfg);
        assert!(r.stats.mean < 0.5, "{:?}", r.stats);
        assert!(r.stats.n > 3_000_000);
        assert_eq!(r.count, 0);
    }
}
