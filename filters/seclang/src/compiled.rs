//! What loading produces and every transaction shares: the rules of each phase with the phase
//! defaults, engine settings, prefilters and persistent collections they run with.

use std::sync::Mutex;

use crate::config::EngineConfig;
use crate::error::LoadWarning;
use crate::persist::PersistentStore;
use crate::phase::Phase;
use crate::prefilter::Prefilters;
use crate::rule::{DefaultAction, Rule};

/// Counts of what was loaded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RuleStats {
    /// `SecRule` directives, counting every chain link.
    pub sec_rules: usize,
    /// `SecAction` directives.
    pub sec_actions: usize,
    /// `SecMarker` directives.
    pub markers: usize,
    /// Distinct rule ids.
    pub ids: usize,
    /// `chain` actions (links joined to a following rule), as CRS's inventory counts chains.
    pub chains: usize,
    /// Rules that start a chain (a chain of three links counts once here, twice in `chains`).
    pub chain_starters: usize,
}

/// A compiled rule set's contents.
pub(crate) struct CompiledRules {
    /// Rules of each phase in evaluation order, markers included (index: [`Phase::index`]).
    pub(crate) phases: [Vec<Rule>; 5],
    pub(crate) config: EngineConfig,
    /// `SecDefaultAction` of each phase (index: [`Phase::index`]).
    pub(crate) defaults: [DefaultAction; 5],
    pub(crate) warnings: Vec<LoadWarning>,
    pub(crate) store: Mutex<PersistentStore>,
    pub(crate) stats: RuleStats,
    /// Per-chain literal prefilters for `@rx` / `@pm` links.
    pub(crate) prefilters: Prefilters,
}

impl CompiledRules {
    /// Rules of `phase` in evaluation order, markers included.
    pub(crate) fn rules(&self, phase: Phase) -> &[Rule] {
        &self.phases[phase.index()]
    }

    /// The default actions of `phase`.
    pub(crate) fn defaults(&self, phase: Phase) -> &DefaultAction {
        &self.defaults[phase.index()]
    }

    /// Finds a rule by id.
    pub(crate) fn rule(&self, id: u64) -> Option<&Rule> {
        self.phases
            .iter()
            .flatten()
            .find(|r| r.id == id && r.marker().is_none())
    }
}
