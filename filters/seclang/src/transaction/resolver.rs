//! Macro expansion (`%{tx.score}`, `%{MATCHED_VAR}`, `%{rule.id}`) against a transaction.

use crate::macros::MacroResolver;
use crate::rule::Rule;
use crate::variable::{Selector, Variable};

use super::state::Transaction;

/// Resolves macros for one rule evaluation.
pub(crate) struct Resolver<'a> {
    pub(crate) tx: &'a Transaction,
    pub(crate) rule: Option<&'a Rule>,
}

impl MacroResolver for Resolver<'_> {
    fn resolve(&self, reference: &str) -> Option<Vec<u8>> {
        let mut out = Vec::new();
        let found = self.find(reference, &mut out);
        found.then_some(out)
    }

    fn resolve_into(&self, reference: &str, out: &mut Vec<u8>) {
        self.find(reference, out);
    }
}

impl Resolver<'_> {
    /// Appends the value of `reference` to `out`; false when it is unset.
    fn find(&self, reference: &str, out: &mut Vec<u8>) -> bool {
        let reference = reference.trim();
        let (name, key) = match reference.split_once(['.', ':']) {
            Some((n, k)) => (n, Some(k)),
            None => (reference, None),
        };
        // `%{tx.name}`, by far the most common macro (setvar arithmetic on anomaly scores):
        // the collection's own case-insensitive lookup gives the same first value as `visit`.
        if let (true, Some(k)) = (name.eq_ignore_ascii_case("tx"), key) {
            let Some(v) = self.tx.tx.get(k.as_bytes()) else {
                return false;
            };
            out.extend_from_slice(v);
            return true;
        }
        let Some(variable) = Variable::from_name(name) else {
            return false;
        };
        let selector = match key {
            Some(k) if variable.is_collection() => Selector::Key(k.to_ascii_lowercase()),
            Some(_) => return false,
            None => Selector::All,
        };
        let mut found = false;
        self.tx.visit(variable, &selector, self.rule, &|_| true, &mut |_, v| {
            if !found {
                found = true;
                out.extend_from_slice(v);
            }
        });
        found
    }
}
