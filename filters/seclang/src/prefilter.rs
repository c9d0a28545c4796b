//! Multi-rule prefilter: for each transformation chain, one Aho-Corasick pass over a value
//! transformed by that chain tells which `@rx` / `@pm` rule links using the chain can
//! possibly match it, so most regexes and phrase sets never run.
//!
//! Built once when the rule set is loaded. Each eligible link gets a slot in its chain's
//! prefilter; a value's scan sets the slot bits of every link one of whose required
//! literals (see `operator::literals`) occurs in it. A link whose bit is clear cannot match
//! that value; links without a slot always run their operator.

use aho_corasick::automaton::Automaton;
use aho_corasick::dfa::DFA;
use aho_corasick::nfa::contiguous::NFA;
use aho_corasick::{Anchored, MatchKind};
use rustc_hash::FxHashMap;
use std::sync::OnceLock;

use crate::rule::{Rule, RuleKind};

/// The literals of every prefiltered link sharing one transformation chain.
struct ChainPrefilter {
    /// Built on the chain's first scan: building every chain's automaton was a third of a
    /// rule set's load, and a VM's traffic may never reach some chains. `None` if the build
    /// failed (every slot then may match).
    matcher: OnceLock<Option<Matcher>>,
    /// The literals, indexed like `masks`, for that build.
    literals: Vec<Vec<u8>>,
    /// Pattern `p`'s slot bits (the links requiring that literal) at `words * p`.
    masks: Vec<u64>,
    /// 64-bit words needed for one bit per slot.
    words: usize,
}

/// A chain's automaton, walked byte by byte (rather than through `find_overlapping_iter`,
/// whose per-match overhead dominated on short values). Standard semantics: a match state
/// lists every literal ending there, which is what setting one bit per literal found needs.
enum Matcher {
    /// Fastest per byte; used for small literal sets.
    Dfa(DFA),
    /// For large sets (CRS's phrase files): as DFAs they took ~80 MB.
    Nfa(NFA),
}

/// Largest literal set (total bytes) compiled as a DFA.
const DFA_MAX_BYTES: usize = 8192;

/// Every chain's prefilter, indexed by `Rule::transforms_id`.
#[derive(Default)]
pub(crate) struct Prefilters {
    chains: Vec<Option<ChainPrefilter>>,
}

impl std::fmt::Debug for Prefilters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let chains = self.chains.iter().filter(|c| c.is_some()).count();
        f.debug_struct("Prefilters")
            .field("chains", &chains)
            .finish_non_exhaustive()
    }
}

/// Fewest prefiltered links a chain needs for its scan to pay: with one or two, scanning
/// costs about what their regexes' own literal prefilters do (measured on CRS traffic).
const MIN_SLOTS: u32 = 3;

/// Literals collected for one chain while building.
#[derive(Default)]
struct ChainBuilder {
    slots: u32,
    patterns: FxHashMap<Vec<u8>, usize>,
    owners: Vec<Vec<u32>>,
}

impl Prefilters {
    /// Assigns prefilter slots to the links of `phases` (after `transforms_id` is set) and
    /// builds one matcher per chain.
    pub(crate) fn build(phases: &mut [Vec<Rule>; 5]) -> Prefilters {
        let mut builders: Vec<ChainBuilder> = Vec::new();
        for rule in phases.iter_mut().flatten() {
            let mut link = Some(rule);
            while let Some(r) = link {
                r.prefilter_slot = None;
                // multiMatch links test intermediate values that are never cached or scanned.
                if let (RuleKind::Rule { operator, .. }, false) = (&r.kind, r.actions.multi_match) {
                    if let Some(literals) = operator.required_literals() {
                        let chain = r.transforms_id as usize;
                        if builders.len() <= chain {
                            builders.resize_with(chain + 1, ChainBuilder::default);
                        }
                        let b = &mut builders[chain];
                        let slot = b.slots;
                        b.slots += 1;
                        for lit in literals {
                            let next = b.owners.len();
                            let index = *b.patterns.entry(lit).or_insert(next);
                            if index == next {
                                b.owners.push(Vec::new());
                            }
                            b.owners[index].push(slot);
                        }
                        r.prefilter_slot = Some(slot);
                    }
                }
                link = r.chained.as_deref_mut();
            }
        }
        let chains = builders
            .into_iter()
            .map(|b| {
                if b.slots < MIN_SLOTS {
                    return None;
                }
                let mut patterns: Vec<(Vec<u8>, usize)> = b.patterns.into_iter().collect();
                patterns.sort_unstable_by_key(|p| p.1);
                let literals = patterns.into_iter().map(|p| p.0).collect();
                let words = (b.slots as usize).div_ceil(64);
                let mut masks = vec![0u64; words * b.owners.len()];
                for (pattern, slots) in b.owners.iter().enumerate() {
                    for &slot in slots {
                        masks[pattern * words + slot as usize / 64] |= 1 << (slot % 64);
                    }
                }
                Some(ChainPrefilter {
                    matcher: OnceLock::new(),
                    literals,
                    masks,
                    words,
                })
            })
            .collect::<Vec<_>>();
        // A chain without a prefilter (too few slots) leaves its links without a slot.
        for rule in phases.iter_mut().flatten() {
            let mut link = Some(rule);
            while let Some(r) = link {
                if chains.get(r.transforms_id as usize).is_none_or(Option::is_none) {
                    r.prefilter_slot = None;
                }
                link = r.chained.as_deref_mut();
            }
        }
        Prefilters { chains }
    }

    /// Number of 64-bit slot words a scan of `chain` produces, or `None` without a prefilter.
    pub(crate) fn words(&self, chain: u32) -> Option<usize> {
        Some(self.chains.get(chain as usize)?.as_ref()?.words)
    }

    /// Scans `value` (already transformed by `chain`) and appends the chain's slot bits to
    /// `words`; returns where they start, or `None` when the chain has no prefilter.
    pub(crate) fn scan(&self, chain: u32, value: &[u8], words: &mut Vec<u64>) -> Option<u32> {
        let p = self.chains.get(chain as usize)?.as_ref()?;
        let start = words.len();
        let offset = u32::try_from(start).ok()?;
        words.resize(start + p.words, 0);
        let bits = &mut words[start..];
        match p.matcher.get_or_init(|| build_matcher(&p.literals)) {
            Some(Matcher::Dfa(a)) => walk(a, &p.masks, value, bits),
            Some(Matcher::Nfa(a)) => walk(a, &p.masks, value, bits),
            None => bits.fill(u64::MAX),
        }
        Some(offset)
    }
}

/// A chain's automaton over its literals: a DFA for small sets, a contiguous NFA for large ones.
fn build_matcher(literals: &[Vec<u8>]) -> Option<Matcher> {
    if literals.iter().map(Vec::len).sum::<usize>() <= DFA_MAX_BYTES {
        let mut b = DFA::builder();
        b.ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .prefilter(false);
        Some(Matcher::Dfa(b.build(literals).ok()?))
    } else {
        let mut b = NFA::builder();
        b.ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .prefilter(false);
        Some(Matcher::Nfa(b.build(literals).ok()?))
    }
}

/// Runs `automaton` over `value`, setting the bit of every slot owning a literal found
/// (`masks` holds each pattern's bits, `bits.len()` words per pattern).
fn walk<A: Automaton>(automaton: &A, masks: &[u64], value: &[u8], bits: &mut [u64]) {
    let words = bits.len();
    let Ok(mut sid) = automaton.start_state(Anchored::No) else {
        // Cannot happen for an unanchored automaton; if it did, every slot may match.
        bits.fill(u64::MAX);
        return;
    };
    for &byte in value {
        sid = automaton.next_state(Anchored::No, sid, byte);
        if !automaton.is_special(sid) {
            continue;
        }
        if automaton.is_dead(sid) {
            break;
        }
        if !automaton.is_match(sid) {
            continue;
        }
        for i in 0..automaton.match_len(sid) {
            let start = automaton.match_pattern(sid, i).as_usize() * words;
            let mask = masks.get(start..start + words).unwrap_or(&[]);
            for (w, m) in bits.iter_mut().zip(mask) {
                *w |= m;
            }
        }
    }
}

/// Whether the slot's bit is set in the words a scan produced at `offset`.
pub(crate) fn may_match(words: &[u64], offset: u32, slot: u32) -> bool {
    words
        .get(offset as usize + slot as usize / 64)
        .is_none_or(|w| w & (1 << (slot % 64)) != 0)
}

#[cfg(test)]
mod tests {
    use crate::phase::Phase;
    use crate::RuleSet;

    const RULES: &str = r#"
SecRuleEngine DetectionOnly
SecRule ARGS "@rx fo+bar" "id:1,phase:1,pass,log,t:none"
SecRule ARGS "@rx (?i)select\s+from" "id:2,phase:1,pass,log,t:none"
SecRule ARGS "@pm baz qux" "id:3,phase:1,pass,log,t:none"
SecRule ARGS "!@rx fo+bar" "id:4,phase:1,pass,log,t:none"
SecRule ARGS "@rx fo+bar" "id:5,phase:1,pass,log,t:none,capture,setvar:tx.seen=%{tx.0}"
"#;

    fn matched(query: &str) -> Vec<u64> {
        let rules = RuleSet::from_str(RULES, "prefilter-test").expect("loads");
        let mut tx = rules.transaction();
        tx.process_connection("10.0.0.1", 1, "10.0.0.2", 80);
        tx.process_uri(format!("/?{query}").as_bytes(), "GET", "1.1");
        tx.process_request_headers();
        let mut ids: Vec<u64> = tx.matched_rules().iter().map(|m| m.id).collect();
        ids.sort_unstable();
        ids
    }

    #[test]
    fn links_sharing_a_chain_get_slots() {
        let rules = RuleSet::from_str(RULES, "prefilter-test").expect("loads");
        let slots: Vec<_> = rules
            .compiled()
            .rules(Phase::RequestHeaders)
            .iter()
            .map(|r| r.prefilter_slot)
            .collect();
        assert!(slots.iter().all(Option::is_some), "{slots:?}");
    }

    #[test]
    fn prefiltered_results_match_the_operators() {
        assert_eq!(matched("a=hello"), vec![4]);
        assert_eq!(matched("a=fooobar"), vec![1, 5]);
        assert_eq!(matched("a=SELECT%20%20FROM"), vec![2, 4]);
        assert_eq!(matched("a=SELECT%20*%20FROM"), vec![4]);
        assert_eq!(matched("a=QUX"), vec![3, 4]);
        assert_eq!(matched("a="), vec![4]);
        // One value rejected, one accepted: each rule sees both.
        assert_eq!(matched("a=x&b=foobar"), vec![1, 4, 5]);
    }
}
