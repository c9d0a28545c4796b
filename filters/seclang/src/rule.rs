//! A compiled rule: targets, operator, transformations and actions, with defaults applied.

use crate::action::{ActionList, Disruptive};
use crate::error::Location;
use crate::gate::LiteralGate;
use crate::operator::Operator;
use crate::phase::Phase;
use crate::transform::Transform;
use crate::variable::Targets;

/// The default actions of one phase (`SecDefaultAction`).
#[derive(Debug, Clone)]
pub(crate) struct DefaultAction {
    /// Transformations every rule of the phase starts with (unless it says `t:none`).
    pub(crate) transforms: Vec<Transform>,
    /// What `block` means in this phase.
    pub(crate) disruptive: Disruptive,
    /// Default `status`.
    pub(crate) status: Option<u16>,
    /// Default `log` flag.
    pub(crate) log: bool,
    /// Default `auditlog` flag.
    pub(crate) auditlog: bool,
}

impl Default for DefaultAction {
    /// ModSecurity's built-in `SecDefaultAction "phase:2,log,auditlog,pass"`.
    fn default() -> Self {
        DefaultAction {
            transforms: Vec::new(),
            disruptive: Disruptive::Pass,
            status: None,
            log: true,
            auditlog: true,
        }
    }
}

/// What a rule-list entry is.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // one per rule, built at load time
pub(crate) enum RuleKind {
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
pub(crate) struct Rule {
    /// Rule id (0 for chain links and markers).
    pub(crate) id: u64,
    /// The phase the rule runs in (a chain link's is its starter's).
    pub(crate) phase: Phase,
    /// Rule, action or marker.
    pub(crate) kind: RuleKind,
    /// Effective transformations (defaults unless `t:none`, then the rule's own).
    pub(crate) transforms: Vec<Transform>,
    /// Identifies `transforms` among the rule set's distinct chains (for the per-transaction
    /// cache of transformed values).
    pub(crate) transforms_id: u32,
    /// This link's slot in its chain's prefilter (`None`: the operator always runs).
    pub(crate) prefilter_slot: Option<u32>,
    /// This link's own literal gate when it has no prefilter slot (see `gate`).
    pub(crate) gate: Option<Box<LiteralGate>>,
    /// The rule's actions as written.
    pub(crate) actions: ActionList,
    /// Effective disruptive action (`block` resolved at run time from the phase default).
    pub(crate) disruptive: Disruptive,
    /// Effective `log` flag.
    pub(crate) log: bool,
    /// Effective `auditlog` flag.
    pub(crate) auditlog: bool,
    /// The next link when this rule has `chain`.
    pub(crate) chained: Option<Box<Rule>>,
    /// Where the rule was written.
    pub(crate) location: Location,
}

impl Rule {
    /// The marker name, when this entry is a `SecMarker`.
    pub(crate) fn marker(&self) -> Option<&str> {
        match &self.kind {
            RuleKind::Marker(m) => Some(m),
            _ => None,
        }
    }

    /// Number of links in this chain (1 for a rule without `chain`).
    pub(crate) fn chain_len(&self) -> usize {
        1 + self.chained.as_ref().map_or(0, |c| c.chain_len())
    }
}
