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

use crate::gate::{selective, LiteralGate};
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
    /// Whether its literals are in the automaton for every chain (`Combined`).
    in_combined: bool,
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

/// Largest literal set (total bytes) of a chain whose literals join the automaton for every
/// chain. CRS's phrase files make a few chains of 5–100 KB of literals; with them, building
/// that automaton took 195 M instructions and 10 MiB of a VM's memory (its build peak stays
/// in a wasm VM's linear memory), so those chains keep scanning with their own automaton.
const COMBINED_MAX_CHAIN_BYTES: usize = 16384;

/// Largest literal set (total bytes) compiled as a DFA. A DFA takes about a kilobyte per
/// literal byte; since most values are scanned once for every chain (`Prefilters::scan_all`),
/// the chains' own automata run rarely, and at 8192 their DFAs were 3 MiB of a VM's memory
/// for 1.5% fewer instructions per exchange.
const DFA_MAX_BYTES: usize = 1024;

/// Every chain's prefilter, indexed by `Rule::transforms_id`.
#[derive(Default)]
pub(crate) struct Prefilters {
    chains: Vec<Option<ChainPrefilter>>,
    /// Every chain's literals in one automaton, built with the rule set: a value that several
    /// chains leave unchanged (up to ASCII case) is scanned once for all of them. `None` if
    /// it could not be built: every chain then scans with its own automaton.
    combined: Option<Combined>,
}

/// The literals of every chain in one case-insensitive automaton, each knowing which chain
/// patterns it stands for.
struct Combined {
    matcher: Matcher,
    /// Pattern `g`'s owners are `owners[starts[g]..starts[g + 1]]`.
    starts: Vec<u32>,
    /// (chain, the literal's pattern index in that chain).
    owners: Vec<(u32, u32)>,
}

impl Combined {
    /// Collects the literals of `chains`, equal ones (ignoring ASCII case) once.
    fn build(chains: &[Option<ChainPrefilter>]) -> Option<Combined> {
        let mut ids: FxHashMap<Vec<u8>, usize> = FxHashMap::default();
        let mut literals: Vec<Vec<u8>> = Vec::new();
        let mut owners: Vec<Vec<(u32, u32)>> = Vec::new();
        for (chain, p) in chains.iter().enumerate() {
            let Some(p) = p.as_ref().filter(|p| p.in_combined) else {
                continue;
            };
            for (pattern, literal) in p.literals.iter().enumerate() {
                let folded = literal.to_ascii_lowercase();
                let id = *ids.entry(folded.clone()).or_insert_with(|| {
                    literals.push(folded);
                    owners.push(Vec::new());
                    literals.len() - 1
                });
                owners[id].push((u32::try_from(chain).ok()?, u32::try_from(pattern).ok()?));
            }
        }
        let mut starts = Vec::with_capacity(owners.len() + 1);
        starts.push(0);
        for o in &owners {
            starts.push(u32::try_from(starts.last().copied().unwrap_or(0) as usize + o.len()).ok()?);
        }
        Some(Combined {
            matcher: build_matcher(&literals)?,
            starts,
            owners: owners.into_iter().flatten().collect(),
        })
    }
}

impl std::fmt::Debug for Prefilters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let chains = self.chains.iter().filter(|c| c.is_some()).count();
        f.debug_struct("Prefilters")
            .field("chains", &chains)
            .finish_non_exhaustive()
    }
}

/// Fewest prefiltered links a chain needs for a prefilter. One: since most values are
/// scanned once for every chain (`Prefilters::scan_all`), a chain's own scan is rarely run,
/// and a slot lets a rule skip a whole variable at once (measured on CRS traffic: with 3,
/// the 16 KB JSON exchange cost 20% more).
const MIN_SLOTS: u32 = 1;

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
        // Each `@rx` link's literals, in the order the links are visited, kept for the gate
        // of a link that ends up without a slot (computing them is the costly part).
        let mut regex_literals: Vec<Option<Vec<Vec<u8>>>> = Vec::new();
        for rule in phases.iter_mut().flatten() {
            let mut link = Some(rule);
            while let Some(r) = link {
                r.prefilter_slot = None;
                r.gate = None;
                let literals = match &r.kind {
                    RuleKind::Rule { operator, .. } => operator.required_literals().filter(|l| selective(l)),
                    _ => None,
                };
                let is_regex = matches!(&r.kind, RuleKind::Rule { operator, .. } if operator.is_regex());
                // multiMatch links test intermediate values too: their slot speaks for those
                // only where the chain changes a value at most in case (see `eval`).
                if let Some(literals) = &literals {
                    let chain = r.transforms_id as usize;
                    if builders.len() <= chain {
                        builders.resize_with(chain + 1, ChainBuilder::default);
                    }
                    let b = &mut builders[chain];
                    let slot = b.slots;
                    b.slots += 1;
                    for lit in literals {
                        let next = b.owners.len();
                        let index = *b.patterns.entry(lit.clone()).or_insert(next);
                        if index == next {
                            b.owners.push(Vec::new());
                        }
                        b.owners[index].push(slot);
                    }
                    r.prefilter_slot = Some(slot);
                }
                regex_literals.push(literals.filter(|_| is_regex));
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
                let literals: Vec<Vec<u8>> = patterns.into_iter().map(|p| p.0).collect();
                let words = (b.slots as usize).div_ceil(64);
                let mut masks = vec![0u64; words * b.owners.len()];
                for (pattern, slots) in b.owners.iter().enumerate() {
                    for &slot in slots {
                        masks[pattern * words + slot as usize / 64] |= 1 << (slot % 64);
                    }
                }
                let in_combined = literals.iter().map(Vec::len).sum::<usize>() <= COMBINED_MAX_CHAIN_BYTES;
                Some(ChainPrefilter {
                    matcher: OnceLock::new(),
                    literals,
                    masks,
                    words,
                    in_combined,
                })
            })
            .collect::<Vec<_>>();
        // A chain without a prefilter (too few slots) leaves its links without a slot; an
        // `@rx` link without one, or testing intermediate values (multiMatch), gets its own gate.
        let mut literals = regex_literals.into_iter();
        for rule in phases.iter_mut().flatten() {
            let mut link = Some(rule);
            while let Some(r) = link {
                if chains.get(r.transforms_id as usize).is_none_or(Option::is_none) {
                    r.prefilter_slot = None;
                }
                let own = literals.next().flatten();
                if r.prefilter_slot.is_none() || r.actions.multi_match {
                    r.gate = own.and_then(|l| LiteralGate::new(&l)).map(Box::new);
                }
                link = r.chained.as_deref_mut();
            }
        }
        // Built now rather than on first use: every request scans its values with it, so
        // deferring it only moved its cost into a VM's first request.
        let combined = Combined::build(&chains);
        Prefilters { chains, combined }
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

impl Prefilters {
    /// Scans `value` once for every chain's literals and appends to `found` the (chain,
    /// pattern) pairs of those found, in order; false when that automaton could not be
    /// built (scan per chain then). `ids` is scratch space.
    pub(crate) fn scan_all(&self, value: &[u8], ids: &mut Vec<u32>, found: &mut Vec<(u32, u32)>) -> bool {
        let Some(c) = &self.combined else {
            return false;
        };
        ids.clear();
        let complete = match &c.matcher {
            Matcher::Dfa(a) => walk_ids(a, value, ids),
            Matcher::Nfa(a) => walk_ids(a, value, ids),
        };
        ids.sort_unstable();
        ids.dedup();
        let start = found.len();
        for &id in ids.iter() {
            let from = c.starts.get(id as usize).copied().unwrap_or(0) as usize;
            let to = c.starts.get(id as usize + 1).copied().unwrap_or(0) as usize;
            found.extend_from_slice(c.owners.get(from..to).unwrap_or(&[]));
        }
        if let Some(new) = found.get_mut(start..) {
            new.sort_unstable();
        }
        complete
    }

    /// The slot bits `chain`'s own scan would give a value in which [`Prefilters::scan_all`]
    /// found `found`, provided the chain leaves the value unchanged up to ASCII case (its
    /// automaton ignores case). Appended to `words` like [`Prefilters::scan`]'s.
    pub(crate) fn scan_found(&self, chain: u32, found: &[(u32, u32)], words: &mut Vec<u64>) -> Option<u32> {
        let n = self
            .chains
            .get(chain as usize)?
            .as_ref()
            .filter(|p| p.in_combined)?
            .words;
        let start = words.len();
        let offset = u32::try_from(start).ok()?;
        words.resize(start + n, 0);
        self.or_found(chain, found, &mut words[start..]);
        Some(offset)
    }

    /// Whether `chain`'s literals are in the automaton for every chain, so that
    /// [`Prefilters::scan_found`] and [`Prefilters::or_found`] speak for it.
    pub(crate) fn in_combined(&self, chain: u32) -> bool {
        self.chains
            .get(chain as usize)
            .is_some_and(|p| p.as_ref().is_some_and(|p| p.in_combined))
    }

    /// ORs into `bits` (one scan's words of `chain`) the slots of the pairs in `found`, as
    /// [`Prefilters::scan_all`] made them, under the same proviso as [`Prefilters::scan_found`].
    pub(crate) fn or_found(&self, chain: u32, found: &[(u32, u32)], bits: &mut [u64]) {
        let first = found.partition_point(|&(owner, _)| owner < chain);
        let Some(Some(p)) = self.chains.get(chain as usize) else {
            return;
        };
        if !p.in_combined {
            // Its literals were not looked for: any slot may match.
            bits.fill(u64::MAX);
            return;
        }
        for &(owner, pattern) in found.get(first..).unwrap_or(&[]) {
            if owner != chain {
                break;
            }
            let at = pattern as usize * p.words;
            match p.masks.get(at..at + p.words) {
                Some(mask) => bits.iter_mut().zip(mask).for_each(|(w, m)| *w |= m),
                None => bits.fill(u64::MAX),
            }
        }
    }
}

/// Runs `automaton` over `value`, calling `on_match` with the pattern index of every literal
/// found (repeats included). The automaton is walked byte by byte (see `Matcher`); false if it
/// has no start state (cannot happen for an unanchored one; then nothing is known).
fn each_match<A: Automaton>(automaton: &A, value: &[u8], mut on_match: impl FnMut(usize)) -> bool {
    let Ok(mut sid) = automaton.start_state(Anchored::No) else {
        return false;
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
            on_match(automaton.match_pattern(sid, i).as_usize());
        }
    }
    true
}

/// Runs `automaton` over `value`, appending the id of every literal found (repeats
/// included); false if nothing is known.
fn walk_ids<A: Automaton>(automaton: &A, value: &[u8], found: &mut Vec<u32>) -> bool {
    each_match(automaton, value, |p| found.push(u32::try_from(p).unwrap_or(u32::MAX)))
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
    let mut found = |pattern: usize| {
        let start = pattern * words;
        let mask = masks.get(start..start + words).unwrap_or(&[]);
        for (w, m) in bits.iter_mut().zip(mask) {
            *w |= m;
        }
    };
    if !each_match(automaton, value, &mut found) {
        // Nothing is known: every slot may match.
        bits.fill(u64::MAX);
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
        matched_in(RULES, query)
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

    const GATED: &str = r#"
SecRuleEngine DetectionOnly
SecRule ARGS "@rx __proto__|constructor\s*prototype" "id:11,phase:1,pass,log,t:none,t:urlDecodeUni,multiMatch"
SecRule ARGS "@rx (?i)<script" "id:12,phase:1,pass,log,t:none,t:htmlEntityDecode"
SecRule ARGS "!@rx (?i)<script" "id:13,phase:1,pass,log,t:none,t:htmlEntityDecode"
SecRule ARGS "@rx (?:a|b|c|d)" "id:14,phase:1,pass,log,t:none,t:lowercase"
SecRule ARGS "@rx __proto__" "id:15,phase:1,pass,log,t:none,t:lowercase,multiMatch"
"#;

    fn matched_in(rules: &str, query: &str) -> Vec<u64> {
        let rules = RuleSet::from_str(rules, "prefilter-test").expect("loads");
        let mut tx = rules.transaction();
        tx.process_connection("10.0.0.1", 1, "10.0.0.2", 80);
        tx.process_uri(format!("/?{query}").as_bytes(), "GET", "1.1");
        tx.process_request_headers();
        let mut ids: Vec<u64> = tx.matched_rules().iter().map(|m| m.id).collect();
        ids.sort_unstable();
        ids
    }

    #[test]
    fn links_without_a_slot_get_a_literal_gate() {
        let rules = RuleSet::from_str(GATED, "prefilter-test").expect("loads");
        let links = rules.compiled().rules(Phase::RequestHeaders);
        let gated: Vec<(u64, bool, bool)> = links
            .iter()
            .map(|r| (r.id, r.prefilter_slot.is_some(), r.gate.is_some()))
            .collect();
        // The multiMatch link also tests intermediate values no scan sees: it gets a gate
        // beside its slot. The others get a slot each, but for the one whose literals are
        // single letters.
        assert_eq!(
            gated,
            vec![
                (11, true, true),
                (12, true, false),
                (13, true, false),
                (14, false, false),
                (15, true, true)
            ]
        );
    }

    #[test]
    fn gated_results_match_the_operators() {
        assert_eq!(matched_in(GATED, "a=hello"), vec![13]);
        // multiMatch: found only after URL decoding, in an intermediate value.
        assert_eq!(matched_in(GATED, "a=%255f%255fproto%255f%255f"), vec![11, 13]);
        assert_eq!(matched_in(GATED, "a=%26lt;SCRIPT"), vec![12, 14]);
        assert_eq!(matched_in(GATED, "a=B"), vec![13, 14]);
        // multiMatch over a chain that changes only case: the literal is found in the value
        // ignoring case, so the lowercased intermediate value is still tested.
        assert_eq!(matched_in(GATED, "a=__PROTO__"), vec![13, 15]);
        assert_eq!(matched_in(GATED, "a=x&b=__PROTO__&c=y"), vec![13, 15]);
        assert_eq!(matched_in(GATED, "a=x&b=__PRO_TO__&c=y"), vec![13]);
    }

    /// Rules over several chains, literals shared between them and differing in case.
    const CHAINS: &str = r#"
SecRuleEngine DetectionOnly
SecRule ARGS "@rx (?i)union\s+select" "id:21,phase:1,pass,log,t:none"
SecRule ARGS "@pm UNION drop" "id:22,phase:1,pass,log,t:none,t:lowercase"
SecRule ARGS "@rx <script" "id:23,phase:1,pass,log,t:none,t:urlDecodeUni,t:lowercase"
SecRule ARGS "@rx javascript:" "id:24,phase:1,pass,log,t:none,t:htmlEntityDecode,t:removeWhitespace"
SecRule ARGS "@rx etc/passwd" "id:25,phase:1,pass,log,t:none,t:normalizePath"
"#;

    #[test]
    fn one_scan_for_all_chains_gives_each_chains_own_scan() {
        use crate::transform::{apply_chain, chain_effect, ChainEffect, ValueClass};
        let rules = RuleSet::from_str(CHAINS, "prefilter-test").expect("loads");
        let prefilters = &rules.compiled().prefilters;
        let links = rules.compiled().rules(Phase::RequestHeaders);
        let values: &[&[u8]] = &[
            b"",
            b"plain words",
            b"UNION Select",
            b"Union%20Select",
            b"<SCRIPT>",
            b"java script:",
            b"Drop-table",
            b"../etc/passwd",
            b"etc/passwd.",
            b"jAvAsCrIpT:alert",
        ];
        let (mut ids, mut found, mut compared) = (Vec::new(), Vec::new(), 0);
        for value in values {
            found.clear();
            assert!(prefilters.scan_all(value, &mut ids, &mut found));
            for link in links {
                let chain = link.transforms_id;
                if chain_effect(&link.transforms, ValueClass::of(value)) == ChainEffect::Unknown {
                    continue;
                }
                let mut own = Vec::new();
                let mut shared = Vec::new();
                prefilters.scan(chain, &apply_chain(&link.transforms, value), &mut own);
                prefilters.scan_found(chain, &found, &mut shared);
                assert_eq!(own, shared, "rule {} on {:?}", link.id, String::from_utf8_lossy(value));
                compared += 1;
            }
        }
        assert!(compared > 30, "{compared}");
    }

    #[test]
    fn chains_with_large_literal_sets_keep_their_own_scan() {
        let phrases: Vec<String> = (0..2000).map(|i| format!("phrase{i:04}x")).collect();
        let rules = format!(
            "SecRuleEngine DetectionOnly\n\
             SecRule ARGS \"@pm {}\" \"id:31,phase:1,pass,log,t:none,t:lowercase\"\n\
             SecRule ARGS \"@pm small words\" \"id:32,phase:1,pass,log,t:none,t:urlDecodeUni\"\n",
            phrases.join(" ")
        );
        let set = RuleSet::from_str(&rules, "prefilter-test").expect("loads");
        let prefilters = &set.compiled().prefilters;
        let links = set.compiled().rules(Phase::RequestHeaders);
        let (big, small) = (links[0].transforms_id, links[1].transforms_id);
        assert!(!prefilters.in_combined(big) && prefilters.in_combined(small));
        let (mut ids, mut found) = (Vec::new(), Vec::new());
        assert!(prefilters.scan_all(b"PHRASE0042X small", &mut ids, &mut found));
        assert!(found.iter().all(|&(chain, _)| chain != big), "{found:?}");
        assert_eq!(prefilters.scan_found(big, &found, &mut Vec::new()), None);
        assert_eq!(matched_in(&rules, "a=x&b=PHRASE0042X&c=y"), vec![31]);
        assert_eq!(matched_in(&rules, "a=phrase0042&b=small"), vec![32]);
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
