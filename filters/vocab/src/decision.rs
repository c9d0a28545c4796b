//! What a filter did with a request: the `decision` of its evidence event and its counter.

use serde::{Serialize, Serializer};

/// What happened to a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Decision {
    /// Nothing stops it.
    Allow,
    /// Stopped (enforce mode).
    Block,
    /// Detect mode: it would have been stopped, and passes.
    WouldBlock,
    /// Stopped because the input cannot be inspected (a body over its limit or unparsable, a path
    /// or host that does not normalize), enforce mode.
    Refused,
}

impl Decision {
    /// Every decision, in this order.
    pub const ALL: [Decision; 4] = [
        Decision::Allow,
        Decision::Block,
        Decision::WouldBlock,
        Decision::Refused,
    ];

    /// The wire name (event `decision` field).
    pub const fn as_str(self) -> &'static str {
        match self {
            Decision::Allow => "allow",
            Decision::Block => "block",
            Decision::WouldBlock => "would_block",
            Decision::Refused => "refused",
        }
    }

    /// The name of the counter this decision bumps, without the filter's metric prefix.
    pub const fn counter(self) -> &'static str {
        match self {
            Decision::Allow => "allowed",
            Decision::Block => "blocked",
            Decision::WouldBlock => "would_block",
            Decision::Refused => "refused",
        }
    }

    /// Whether the request is stopped (`block` or `refused`).
    pub const fn stops(self) -> bool {
        matches!(self, Decision::Block | Decision::Refused)
    }
}

impl Decision {
    /// The decision a wire name stands for (`allow`, `block`, `would_block`, `refused`).
    pub fn from_wire(word: &str) -> Option<Decision> {
        Decision::ALL.into_iter().find(|d| d.as_str() == word)
    }
}

/// Requests per decision, written as an object with all four wire names (observation events,
/// and what the learner sums from them).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct DecisionCounts {
    /// Allowed.
    pub allow: u64,
    /// Blocked (enforce mode).
    pub block: u64,
    /// Would have been blocked (detect mode): the request went through.
    pub would_block: u64,
    /// Refused (the input cannot be inspected, enforce mode).
    pub refused: u64,
}

impl DecisionCounts {
    /// The count of `decision`.
    pub fn get(&self, decision: Decision) -> u64 {
        match decision {
            Decision::Allow => self.allow,
            Decision::Block => self.block,
            Decision::WouldBlock => self.would_block,
            Decision::Refused => self.refused,
        }
    }

    /// The count of `decision`, to change.
    pub fn get_mut(&mut self, decision: Decision) -> &mut u64 {
        match decision {
            Decision::Allow => &mut self.allow,
            Decision::Block => &mut self.block,
            Decision::WouldBlock => &mut self.would_block,
            Decision::Refused => &mut self.refused,
        }
    }

    /// Counts one request decided `decision` (saturating).
    pub fn record(&mut self, decision: Decision) {
        let n = self.get_mut(decision);
        *n = n.saturating_add(1);
    }

    /// Adds another tally's counts (saturating).
    pub fn add(&mut self, o: &DecisionCounts) {
        for d in Decision::ALL {
            let n = self.get_mut(d);
            *n = n.saturating_add(o.get(d));
        }
    }

    /// Requests that reached the service (allow and would_block).
    pub fn passed(&self) -> u64 {
        self.allow.saturating_add(self.would_block)
    }

    /// Requests the filter stopped (block and refused).
    pub fn stopped(&self) -> u64 {
        self.block.saturating_add(self.refused)
    }
}

impl std::fmt::Display for Decision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Decision {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_and_counter_names() {
        let names: Vec<_> = Decision::ALL
            .iter()
            .map(|d| (d.as_str(), d.counter(), d.stops()))
            .collect();
        assert_eq!(
            names,
            [
                ("allow", "allowed", false),
                ("block", "blocked", true),
                ("would_block", "would_block", false),
                ("refused", "refused", true)
            ]
        );
        assert_eq!(serde_json::to_string(&Decision::WouldBlock).unwrap(), "\"would_block\"");
        assert_eq!(Decision::Refused.to_string(), "refused");
        for d in Decision::ALL {
            assert_eq!(Decision::from_wire(d.as_str()), Some(d));
        }
        assert_eq!(Decision::from_wire("allowed"), None);
    }

    #[test]
    fn counts_record_add_and_saturate() {
        let mut c = DecisionCounts::default();
        c.record(Decision::Allow);
        c.record(Decision::WouldBlock);
        c.record(Decision::Refused);
        assert_eq!((c.passed(), c.stopped()), (2, 1));
        let mut total = DecisionCounts { block: u64::MAX, ..c };
        total.add(&c);
        assert_eq!(
            total,
            DecisionCounts {
                allow: 2,
                block: u64::MAX,
                would_block: 2,
                refused: 2
            }
        );
        assert_eq!(
            serde_json::to_string(&c).unwrap(),
            r#"{"allow":1,"block":0,"would_block":1,"refused":1}"#
        );
    }
}
