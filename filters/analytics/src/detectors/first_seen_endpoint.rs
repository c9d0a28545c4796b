//! `first_seen_endpoint`: an identity (principal or user) calls an endpoint template it never called, after its learning period.
//!
//! The engine keeps the item set in the entity record's Bloom filter; see [`super::novelty`].

use super::novelty;
use super::Finding;
use crate::bloom::Bloom;
use crate::config::Novelty;

/// Learns `item` (a keyed hash); a finding when it is new after learning.
pub fn observe(seen: &mut Bloom, item: u64, first_seen_ms: u64, now_ms: u64, cfg: &Novelty) -> Option<Finding> {
    novelty::check(seen, item, first_seen_ms, now_ms, cfg)
}
