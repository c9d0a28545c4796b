//! The check shared by the novelty detectors: an item not in the entity's Bloom filter, once
//! the entity's learning period is over. During learning every item is only learned.
//!
//! A saturated filter answers "seen" for everything: an entity with far more items than the
//! filter holds goes quiet rather than alerting on every request.

use super::Finding;
use crate::bloom::Bloom;
use crate::config::Novelty;

/// Learns `item`; a finding when it was new and the learning period (from `first_seen`) is over.
pub fn check(seen: &mut Bloom, item: u64, first_seen_ms: u64, now_ms: u64, cfg: &Novelty) -> Option<Finding> {
    if seen.contains(item) {
        return None;
    }
    let known = seen.estimate();
    seen.insert(item);
    let learned = now_ms.saturating_sub(first_seen_ms) >= u64::from(cfg.learning_secs) * 1000;
    learned.then_some(Finding {
        baseline: Some(known.round()),
        observed: None,
        threshold: None,
        window_secs: Some(cfg.learning_secs),
        novelty: true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entity::item_hash;

    fn h(i: u64) -> u64 {
        item_hash([1, 2], 1, &i.to_string())
    }

    #[test]
    fn learns_silently_then_alerts_once_per_new_item() {
        let cfg = Novelty {
            learning_secs: 60,
            ..Novelty::default()
        };
        let mut b = Bloom::default();
        assert_eq!(check(&mut b, h(11), 0, 1_000, &cfg), None);
        assert_eq!(check(&mut b, h(12), 0, 59_999, &cfg), None);
        assert_eq!(check(&mut b, h(11), 0, 60_000, &cfg), None, "learned item");
        let f = check(&mut b, h(13), 0, 60_000, &cfg).expect("new item after learning");
        assert_eq!(f.baseline, Some(2.0));
        assert!(f.novelty);
        assert_eq!(check(&mut b, h(13), 0, 61_000, &cfg), None, "alerted once");
    }
}
