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
        let reference = reference.trim();
        let (name, key) = match reference.split_once(['.', ':']) {
            Some((n, k)) => (n, Some(k)),
            None => (reference, None),
        };
        // `%{tx.name}`, by far the most common macro (setvar arithmetic on anomaly scores):
        // the collection's own case-insensitive lookup gives the same first value as `visit`.
        if let (true, Some(k)) = (name.eq_ignore_ascii_case("tx"), key) {
            return self.tx.tx.get(k.as_bytes()).map(<[u8]>::to_vec);
        }
        let variable = Variable::from_name(name)?;
        let selector = match key {
            Some(k) if variable.is_collection() => Selector::Key(k.to_ascii_lowercase()),
            Some(_) => return None,
            None => Selector::All,
        };
        let mut found: Option<Vec<u8>> = None;
        self.tx.visit(variable, &selector, self.rule, &|_| true, &mut |_, v| {
            if found.is_none() {
                found = Some(v.to_vec());
            }
        });
        found
    }
}
