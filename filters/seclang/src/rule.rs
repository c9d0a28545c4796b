//! A compiled rule: targets, operator, transformations and actions, with defaults applied.

use crate::action::{ActionList, Disruptive};
use crate::error::Location;
use crate::operator::Operator;
use crate::transform::Transform;
use crate::variable::Targets;

/// What a rule-list entry is.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // one per rule, built at load time
pub enum RuleKind {
    /// `SecRule`: tests targets with an operator.
    Rule {
        /// Variables inspected.
        targets: Targets,
        /// The compiled operator.
        operator: Operator,
        /// `!@op`: the rule matches when the operator does not.
        negated: bool,
    },
    /// `SecAction`: matches unconditionally, once.
    Action,
    /// `SecMarker`: a `skipAfter` destination.
    Marker(String),
}

/// One rule (or one link of a chain).
#[derive(Debug)]
pub struct Rule {
    /// Rule id (0 for chain links and markers).
    pub id: u64,
    /// Phase 1-5.
    pub phase: u8,
    /// Rule, action or marker.
    pub kind: RuleKind,
    /// The operator as written (`@rx ...`), for logs.
    pub operator_text: String,
    /// Effective transformations (defaults unless `t:none`, then the rule's own).
    pub transforms: Vec<Transform>,
    /// Identifies `transforms` among the rule set's distinct chains (for the per-transaction
    /// cache of transformed values).
    pub transforms_id: u32,
    /// This link's slot in its chain's prefilter (`None`: the operator always runs).
    pub(crate) prefilter_slot: Option<u32>,
    /// The rule's actions as written.
    pub actions: ActionList,
    /// Effective disruptive action (`block` resolved at run time from the phase default).
    pub disruptive: Disruptive,
    /// Effective `log` flag.
    pub log: bool,
    /// Effective `auditlog` flag.
    pub auditlog: bool,
    /// The next link when this rule has `chain`.
    pub chained: Option<Box<Rule>>,
    /// Where the rule was written.
    pub location: Location,
}

impl Rule {
    /// The rule's tags (chain starters only carry them).
    pub fn tags(&self) -> &[String] {
        &self.actions.tags
    }

    /// The marker name, when this entry is a `SecMarker`.
    pub fn marker(&self) -> Option<&str> {
        match &self.kind {
            RuleKind::Marker(m) => Some(m),
            _ => None,
        }
    }

    /// Number of links in this chain (1 for a rule without `chain`).
    pub fn chain_len(&self) -> usize {
        1 + self.chained.as_ref().map_or(0, |c| c.chain_len())
    }
}
