//! `crawling`: distinct paths per entity in a fixed window.

use super::Finding;
use crate::config::Crawling;
use crate::record::Window;

/// Opens a new window when the current one has ended.
pub fn decay(w: &mut Window, now_s: u32, cfg: &Crawling) {
    w.roll(now_s, cfg.window_secs);
}

/// Counts the path; fires when the window's distinct paths reach the threshold.
pub fn observe(w: &mut Window, path: u64, cfg: &Crawling) -> Option<Finding> {
    w.distinct.insert(path);
    let distinct = w.distinct.estimate();
    (distinct >= f64::from(cfg.distinct_paths))
        .then(|| Finding::crossing(None, distinct, f64::from(cfg.distinct_paths), Some(cfg.window_secs)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn many_distinct_paths_in_a_window_fire_and_a_new_window_is_quiet() {
        let cfg = Crawling::default();
        let mut w = Window {
            start: 0,
            ..Window::default()
        };
        // Browsing: 20 pages in a minute, revisited.
        for i in 0..200u64 {
            assert_eq!(
                observe(&mut w, (i % 20).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 5, &cfg),
                None
            );
        }
        // Crawling: 2 new pages a second.
        let fired = (0..120u64)
            .position(|i| observe(&mut w, (1000 + i).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 5, &cfg).is_some());
        let at = fired.expect("crawling fires");
        assert!(at < 80, "fired after {at} new paths");
        decay(&mut w, 61, &cfg);
        assert_eq!(w.start, 61);
        assert_eq!(observe(&mut w, 12345, &cfg), None);
    }
}
