//! `probing`: a leaky bucket filled by distinct error paths (404/403) per entity.
//!
//! Each distinct path adds 1 once per episode (a client retrying one missing asset is not a
//! scanner); the bucket drains by `leak_per_min`; it fires at `capacity`. When it drains empty
//! the path sketch is cleared.

use super::Finding;
use crate::config::Probing;
use crate::record::Leaky;

/// Drains the bucket by the time elapsed since it was last drained.
pub fn decay(p: &mut Leaky, now_s: u32, cfg: &Probing) {
    let elapsed = now_s.saturating_sub(p.last);
    if elapsed == 0 {
        return;
    }
    p.level = (p.level - elapsed as f32 * cfg.leak_per_min / 60.0).max(0.0);
    p.last = now_s;
    if p.level == 0.0 {
        p.paths.clear();
    }
}

/// Counts an error response on a path not counted yet; fires at capacity.
pub fn observe(p: &mut Leaky, status: u16, path: u64, cfg: &Probing) -> Option<Finding> {
    if !cfg.statuses.contains(&status) {
        return None;
    }
    if p.paths.insert(path) {
        // Capped so that a long scan does not take hours to drain after it stops.
        p.level = (p.level + 1.0).min(cfg.capacity * 2.0);
    }
    let window = (cfg.capacity / cfg.leak_per_min * 60.0) as u32;
    (p.level >= cfg.capacity)
        .then(|| Finding::crossing(None, f64::from(p.level), f64::from(cfg.capacity), Some(window)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distinct_errors_fire_repeats_and_successes_do_not_and_it_drains() {
        let cfg = Probing::default();
        let mut p = Leaky {
            last: 1000,
            ..Leaky::default()
        };
        // One missing asset requested 100 times: level 1.
        for _ in 0..100 {
            assert_eq!(observe(&mut p, 404, 7, &cfg), None);
        }
        assert_eq!(observe(&mut p, 200, 8, &cfg), None);
        assert_eq!(p.level, 1.0);
        // A scan: 20 more distinct 404s within a minute fires.
        let mut fired = None;
        for (i, t) in (0..40u64).zip(1000..) {
            decay(&mut p, t, &cfg);
            if let Some(f) = observe(&mut p, 404, 1000 + i * 0x1_0001, &cfg) {
                fired = Some((i, f));
                break;
            }
        }
        let (i, f) = fired.expect("probing fires");
        assert!(i < 30, "fired after {i} paths");
        assert_eq!(f.threshold, Some(20.0));
        // Ten minutes later the bucket is empty and the sketch forgotten.
        decay(&mut p, 1000 + 40 + 600, &cfg);
        assert_eq!(p.level, 0.0);
        assert_eq!(p.paths.0, 0);
        assert_eq!(observe(&mut p, 404, 5, &cfg), None);
    }

    #[test]
    fn a_slow_trickle_of_errors_never_fills() {
        let cfg = Probing::default();
        let mut p = Leaky::default();
        // One new 404 every 15 s drains faster (6/min) than it fills (4/min).
        for i in 0..500u32 {
            decay(&mut p, i * 15, &cfg);
            assert_eq!(observe(&mut p, 404, u64::from(i) * 0x9e37_79b9, &cfg), None, "at {i}");
        }
    }
}
