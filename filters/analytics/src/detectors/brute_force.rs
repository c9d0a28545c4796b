//! `brute_force`: failed authentications (401/403 on the configured endpoints) over distinct
//! usernames per source (guessing) and distinct sources per username (credential stuffing
//! spread over addresses).

use super::Finding;
use crate::config::BruteForce;
use crate::record::Window;

/// True when the request is a failed attempt on an authentication endpoint.
pub fn is_failure(cfg: &BruteForce, template: &str, status: u16) -> bool {
    cfg.statuses.contains(&status) && cfg.endpoints.iter().any(|e| e == template)
}

/// Opens a new window when the current one has ended.
pub fn decay(w: &mut Window, now_s: u32, cfg: &BruteForce) {
    w.roll(now_s, cfg.window_secs);
}

/// A source's failure on `username`; fires at `usernames_per_source` distinct usernames.
pub fn observe_source(w: &mut Window, username: u64, cfg: &BruteForce) -> Option<Finding> {
    count(w, username, cfg.usernames_per_source, cfg.window_secs)
}

/// A username's failure from `source`; fires at `sources_per_username` distinct sources.
pub fn observe_username(w: &mut Window, source: u64, cfg: &BruteForce) -> Option<Finding> {
    count(w, source, cfg.sources_per_username, cfg.window_secs)
}

fn count(w: &mut Window, item: u64, threshold: f32, window: u32) -> Option<Finding> {
    w.distinct.insert(item);
    let distinct = w.distinct.estimate();
    (distinct >= f64::from(threshold)).then(|| Finding::crossing(None, distinct, f64::from(threshold), Some(window)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(i: u64) -> u64 {
        i.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 3
    }

    #[test]
    fn only_failures_on_auth_endpoints_count() {
        let cfg = BruteForce::default();
        assert!(is_failure(&cfg, "/login", 401));
        assert!(!is_failure(&cfg, "/login", 200));
        assert!(!is_failure(&cfg, "/search", 401));
    }

    #[test]
    fn one_user_retrying_is_quiet_many_usernames_fire_and_the_window_resets() {
        let cfg = BruteForce::default();
        let mut w = Window::default();
        for _ in 0..50 {
            assert_eq!(observe_source(&mut w, h(1), &cfg), None);
        }
        let at = (2..40)
            .position(|i| observe_source(&mut w, h(i), &cfg).is_some())
            .expect("fires");
        assert!(at < 14, "fired after {at} more usernames");
        decay(&mut w, 300, &cfg);
        assert_eq!(observe_source(&mut w, h(99), &cfg), None);
    }

    #[test]
    fn many_sources_on_one_username_fire() {
        let cfg = BruteForce::default();
        let mut w = Window::default();
        let at = (0..40)
            .position(|i| observe_username(&mut w, h(i), &cfg).is_some())
            .expect("fires");
        assert!((8..14).contains(&at), "fired after {at} sources");
    }
}
