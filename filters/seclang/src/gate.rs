//! Per-link literal gate: for an `@rx` link the chain prefilter does not cover (a
//! `multiMatch` link, whose intermediate values are never cached or scanned, or a link whose
//! chain has too few prefiltered links to be worth a shared scan), one small case-insensitive
//! literal search that proves most values cannot match before the regex runs.
//!
//! Running a `regex` costs a fixed few hundred instructions per call before it reads a byte
//! (cache acquisition, strategy dispatch); CRS runs such links on every argument, so on a
//! body with hundreds of fields that fixed cost dominated the links' time. The gate uses the
//! same required literals as the prefilter (`operator::literals`): every match of the regex
//! contains one of them, compared ASCII case-insensitively, so a value without any cannot
//! match and skipping the regex never changes a result.

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};

/// Most single-byte literals a gate may hold: a set of many single letters is found in
/// almost every value, so its search would cost without rejecting anything.
const MAX_SINGLE_BYTES: usize = 3;

/// Largest literal set (total bytes) searched with a DFA.
const DFA_MAX_BYTES: usize = 4096;

/// Whether a required-literal set can reject values: not empty, no empty literal, and not
/// a handful of single letters (found in almost every value, so a search for them, in a
/// gate or a chain prefilter, costs without rejecting anything).
pub(crate) fn selective(literals: &[Vec<u8>]) -> bool {
    !literals.is_empty()
        && literals.iter().all(|l| !l.is_empty())
        && literals.iter().filter(|l| l.len() == 1).count() <= MAX_SINGLE_BYTES
}

/// A literal set one of whose members every match of a link's operator contains.
#[derive(Debug)]
pub(crate) struct LiteralGate {
    automaton: AhoCorasick,
}

impl LiteralGate {
    /// A gate over `literals`, or `None` when the set cannot gate (empty, an empty literal)
    /// or would reject too little to pay for its search.
    pub(crate) fn new(literals: &[Vec<u8>]) -> Option<LiteralGate> {
        if !selective(literals) {
            return None;
        }
        // A DFA walks a byte in a few instructions where the NFA follows failure links; its
        // size grows with the literals, so large sets keep the builder's own choice.
        let bytes: usize = literals.iter().map(Vec::len).sum();
        let kind = (bytes <= DFA_MAX_BYTES).then_some(AhoCorasickKind::DFA);
        let automaton = AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .kind(kind)
            .build(literals)
            .ok()?;
        Some(LiteralGate { automaton })
    }

    /// Whether the operator may match `value`: false only when no literal occurs in it.
    pub(crate) fn may_match(&self, value: &[u8]) -> bool {
        self.automaton.is_match(value)
    }
}

#[cfg(test)]
mod tests {
    use super::LiteralGate;

    fn gate(literals: &[&str]) -> Option<LiteralGate> {
        let l: Vec<Vec<u8>> = literals.iter().map(|s| s.as_bytes().to_vec()).collect();
        LiteralGate::new(&l)
    }

    #[test]
    fn rejects_values_without_a_literal_in_any_case() {
        let g = gate(&["__proto__", "constructor"]).expect("gate");
        assert!(g.may_match(b"a.__PROTO__.b"));
        assert!(g.may_match(b"Constructor"));
        assert!(!g.may_match(b"Trail running shoe"));
        assert!(!g.may_match(b""));
    }

    #[test]
    fn sets_that_cannot_gate_give_none() {
        assert!(gate(&[]).is_none());
        assert!(gate(&["a", ""]).is_none());
        assert!(
            gate(&["a", "b", "c", "d"]).is_none(),
            "four single letters reject nothing"
        );
        assert!(gate(&["<", "abc"]).is_some(), "one rare byte still gates");
    }
}
