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
    }
}
