//! Two-choice placement: where an entity's record may live, and which slot a new entity takes.
//!
//! Each fingerprint has two candidate slots, from its low and its high 32 bits (independent
//! bits of one keyed hash, so two entities sharing a first slot rarely share the second). A
//! lookup reads the first and, only when that does not hold its record, the second (an entity
//! placed second stays there even after its first slot empties). A new entity takes
//! a free candidate (never written, empty, undecodable, or expired), else evicts the one whose
//! owner is idler — sparing a running enforce-mode block when the other is not blocked.

use crate::detectors::DETECTORS;
use crate::record::{Head, Record, RECORD_LEN};
use crate::store::{Cas, Store};

/// The two candidate slots of fingerprint `fp` in a table of `slots` (distinct unless the
/// table has one slot).
pub fn candidates(fp: u64, slots: u32) -> [u32; 2] {
    let n = u64::from(slots.max(1));
    let first = (fp & 0xffff_ffff) % n;
    let mut second = (fp >> 32) % n;
    if second == first {
        // Same bucket from both halves: the neighbour is as good as a second hash.
        second = (first + 1) % n;
    }
    // Both are below `slots`, a u32.
    [first as u32, second as u32]
}

/// What a candidate slot holds, as placement sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Occupant {
    /// The entity's own record (the buffer holds it).
    Mine,
    /// Nothing usable: never written, emptied by the sweep, or not a record of this build.
    Free,
    /// Another entity's record, idle long enough to expire and with no block running.
    Expired,
    /// Another entity's live record.
    Taken {
        /// Its last observation, ms.
        last_seen: u64,
        /// It has an enforce-mode block running.
        blocked: bool,
    },
}

/// One candidate as loaded: its slot, CAS token (`None`: never written) and occupant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seen {
    /// The slot.
    pub slot: u32,
    /// The token to store back with.
    pub cas: Option<Cas>,
    /// What it holds.
    pub occupant: Occupant,
}

/// The clock and rules an occupant is judged by.
#[derive(Debug, Clone, Copy)]
pub struct Judge<'a> {
    /// Now, ms.
    pub now: u64,
    /// Now, seconds.
    pub now_s: u32,
    /// Idle time after which a record without a running block expires, ms.
    pub idle_ms: u64,
    /// Per detector: in enforce mode.
    pub enforcing: &'a [bool; DETECTORS],
}

impl Judge<'_> {
    /// Loads `slot` into `buf` and says what it holds for fingerprint `fp`.
    pub fn load<S: Store>(&self, store: &mut S, slot: u32, fp: u64, buf: &mut [u8; RECORD_LEN]) -> Seen {
        let (occupant, cas) = match store.load_into(slot, buf) {
            None => (Occupant::Free, None),
            Some((RECORD_LEN, cas)) if Record::owner(buf) == Some(fp) => (Occupant::Mine, Some(cas)),
            Some((RECORD_LEN, cas)) => (self.occupant(Record::head(buf)), Some(cas)),
            Some((_, cas)) => (Occupant::Free, Some(cas)),
        };
        Seen { slot, cas, occupant }
    }

    /// What a slot holding someone else's record (or nothing decodable) is to a new entity.
    fn occupant(&self, head: Option<Head>) -> Occupant {
        let Some(h) = head else {
            return Occupant::Free;
        };
        let running = h.until.iter().any(|&u| u > self.now_s);
        // Same rule as the sweep: idle for idle_secs and nothing running.
        if !running && self.now.saturating_sub(h.last_seen) >= self.idle_ms {
            return Occupant::Expired;
        }
        let blocked = h.until.iter().zip(self.enforcing).any(|(&u, &on)| on && u > self.now_s);
        Occupant::Taken {
            last_seen: h.last_seen,
            blocked,
        }
    }
}

/// Where a new entity goes, of its two candidates (neither holds its record): the first free,
/// then the first expired, else the one to evict.
pub fn choose(first: Seen, second: Seen) -> Seen {
    for wanted in [Occupant::Free, Occupant::Expired] {
        if let Some(s) = [first, second].into_iter().find(|s| s.occupant == wanted) {
            return s;
        }
    }
    match (first.occupant, second.occupant) {
        (
            Occupant::Taken {
                last_seen: a,
                blocked: a_blocked,
            },
            Occupant::Taken {
                last_seen: b,
                blocked: b_blocked,
            },
        ) => {
            let take_second = match (a_blocked, b_blocked) {
                (true, false) => true,
                (false, true) => false,
                // Idler loses; a tie keeps the first, the cheaper one to find again.
                _ => b < a,
            };
            if take_second {
                second
            } else {
                first
            }
        }
        _ => first,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(slot: u32, occupant: Occupant) -> Seen {
        Seen {
            slot,
            cas: Some(1),
            occupant,
        }
    }

    fn taken(last_seen: u64, blocked: bool) -> Occupant {
        Occupant::Taken { last_seen, blocked }
    }

    #[test]
    fn candidates_are_distinct_in_range_and_from_both_halves() {
        for slots in [2u32, 3, 7, 10_000, 100_000] {
            for i in 0..10_000u64 {
                let fp = i.wrapping_mul(0x9e37_79b9_7f4a_7c15);
                let [a, b] = candidates(fp, slots);
                assert!(a < slots && b < slots, "{fp:x} in {slots}: {a} {b}");
                assert_ne!(a, b, "{fp:x} in {slots}");
            }
        }
        assert_eq!(candidates(u64::MAX, 1), [0, 0]);
        // The first slot is the low half's, the second the high half's.
        assert_eq!(candidates(0x0000_0005_0000_0003, 100), [3, 5]);
        assert_eq!(candidates(0x0000_0003_0000_0003, 100), [3, 4]);
        assert_eq!(candidates(0x0000_0063_0000_0063, 100), [99, 0]);
    }

    #[test]
    fn a_free_or_expired_candidate_is_taken_before_anyone_is_evicted() {
        let busy = taken(50, false);
        assert_eq!(choose(seen(1, busy), seen(2, Occupant::Free)).slot, 2);
        assert_eq!(choose(seen(1, Occupant::Free), seen(2, Occupant::Free)).slot, 1);
        assert_eq!(choose(seen(1, busy), seen(2, Occupant::Expired)).slot, 2);
        assert_eq!(choose(seen(1, Occupant::Expired), seen(2, Occupant::Free)).slot, 2);
    }

    #[test]
    fn the_idler_is_evicted_and_a_block_is_spared() {
        assert_eq!(choose(seen(1, taken(10, false)), seen(2, taken(20, false))).slot, 1);
        assert_eq!(choose(seen(1, taken(20, false)), seen(2, taken(10, false))).slot, 2);
        assert_eq!(choose(seen(1, taken(20, false)), seen(2, taken(20, false))).slot, 1);
        assert_eq!(choose(seen(1, taken(10, true)), seen(2, taken(20, false))).slot, 2);
        assert_eq!(choose(seen(1, taken(20, false)), seen(2, taken(10, true))).slot, 1);
        assert_eq!(choose(seen(1, taken(10, true)), seen(2, taken(20, true))).slot, 1);
    }
}
