//! How often each rule ran on this thread (feature `rule-counts`, for profiling only): where
//! an exchange's evaluation work goes, rule by rule, deterministically. Chain links count
//! under the chain's first rule.

use std::cell::RefCell;
use std::collections::BTreeMap;

/// The counts of one rule.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RuleCount {
    /// Times the rule was evaluated: reached in its phase, not skipped, removed or stopped.
    pub evaluations: u64,
    /// Values its operators tested (those the prefilter did not rule out).
    pub operator_calls: u64,
}

thread_local! {
    static COUNTS: RefCell<BTreeMap<u64, RuleCount>> = const { RefCell::new(BTreeMap::new()) };
}

fn bump(id: u64, f: impl FnOnce(&mut RuleCount)) {
    let _ = COUNTS.try_with(|c| f(c.borrow_mut().entry(id).or_default()));
}

/// Counts one evaluation of rule `id`.
pub(crate) fn evaluated(id: u64) {
    bump(id, |c| c.evaluations += 1);
}

/// Counts one value tested by an operator of rule `id`.
pub(crate) fn operator_called(id: u64) {
    bump(id, |c| c.operator_calls += 1);
}

/// This thread's counts by rule id, reset to nothing.
pub fn take() -> BTreeMap<u64, RuleCount> {
    COUNTS
        .try_with(|c| std::mem::take(&mut *c.borrow_mut()))
        .unwrap_or_default()
}
