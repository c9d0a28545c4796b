//! Per-field indexes that narrow a request to the clauses that could match it.
//!
//! Each index returns a superset of the matching clauses (as a bit set); the engine then checks
//! only those clauses in full, so a decision never walks every rule.

use regex::RegexSet;
use rustc_hash::FxHashMap;

use crate::pattern::StrPattern;

/// A fixed-size set of clause numbers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BitSet {
    words: Vec<u64>,
}

impl BitSet {
    /// An empty set for `n` clauses.
    pub fn new(n: usize) -> Self {
        BitSet {
            words: vec![0; n.div_ceil(64)],
        }
    }

    /// Adds clause `i`.
    pub fn insert(&mut self, i: usize) {
        self.words[i / 64] |= 1 << (i % 64);
    }

    /// Removes everything.
    pub fn clear(&mut self) {
        self.words.iter_mut().for_each(|w| *w = 0);
    }

    /// Sets every bit of the first `n`.
    pub fn fill(&mut self, n: usize) {
        self.clear();
        for i in 0..n {
            self.insert(i);
        }
    }

    /// `self |= other`.
    pub fn union_with(&mut self, other: &BitSet) {
        self.words.iter_mut().zip(&other.words).for_each(|(a, b)| *a |= b);
    }

    /// `self &= other`.
    pub fn intersect_with(&mut self, other: &BitSet) {
        self.words.iter_mut().zip(&other.words).for_each(|(a, b)| *a &= b);
    }

    /// Members in increasing order.
    pub fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        self.words.iter().enumerate().flat_map(|(wi, &w)| {
            let mut w = w;
            std::iter::from_fn(move || {
                if w == 0 {
                    return None;
                }
                let bit = w.trailing_zeros() as usize;
                w &= w - 1;
                Some(wi * 64 + bit)
            })
        })
    }
}

/// A byte trie whose nodes carry the clauses of the patterns ending there.
#[derive(Debug, Default)]
struct Trie {
    /// Node 0 is the root; children sorted by byte.
    nodes: Vec<TrieNode>,
    sets: Vec<BitSet>,
}

#[derive(Debug, Default)]
struct TrieNode {
    children: Vec<(u8, u32)>,
    set: Option<u32>,
}

impl Trie {
    fn insert(&mut self, key: impl Iterator<Item = u8>, clause: usize, n: usize) {
        if self.nodes.is_empty() {
            self.nodes.push(TrieNode::default());
        }
        let mut node = 0usize;
        for b in key {
            node = match self.nodes[node].children.binary_search_by_key(&b, |c| c.0) {
                Ok(i) => self.nodes[node].children[i].1 as usize,
                Err(i) => {
                    let next = self.nodes.len();
                    self.nodes.push(TrieNode::default());
                    self.nodes[node].children.insert(i, (b, next as u32));
                    next
                }
            };
        }
        let set = match self.nodes[node].set {
            Some(s) => s as usize,
            None => {
                self.sets.push(BitSet::new(n));
                self.nodes[node].set = Some((self.sets.len() - 1) as u32);
                self.sets.len() - 1
            }
        };
        self.sets[set].insert(clause);
    }

    /// ORs into `out` the clauses of every key that is a prefix of `input`.
    fn collect(&self, input: impl Iterator<Item = u8>, out: &mut BitSet) {
        if self.nodes.is_empty() {
            return;
        }
        let mut node = 0usize;
        if let Some(s) = self.nodes[0].set {
            out.union_with(&self.sets[s as usize]);
        }
        for b in input {
            match self.nodes[node].children.binary_search_by_key(&b, |c| c.0) {
                Ok(i) => node = self.nodes[node].children[i].1 as usize,
                Err(_) => return,
            }
            if let Some(s) = self.nodes[node].set {
                out.union_with(&self.sets[s as usize]);
            }
        }
    }
}

/// Index of one request field over all clauses.
#[derive(Debug)]
pub struct FieldIndex {
    n: usize,
    /// Clauses that do not constrain this field through the index.
    always: BitSet,
    /// Clauses with a `*` value: any present value.
    any_present: BitSet,
    exact: FxHashMap<Box<str>, BitSet>,
    prefix: Trie,
    suffix: Trie,
    regexes: Vec<(String, usize)>,
    regex_set: Option<RegexSet>,
}

impl FieldIndex {
    /// An empty index for `n` clauses.
    pub fn new(n: usize) -> Self {
        FieldIndex {
            n,
            always: BitSet::new(n),
            any_present: BitSet::new(n),
            exact: FxHashMap::default(),
            prefix: Trie::default(),
            suffix: Trie::default(),
            regexes: Vec::new(),
            regex_set: None,
        }
    }

    /// `clause` is not narrowed by this field.
    pub fn add_unconstrained(&mut self, clause: usize) {
        self.always.insert(clause);
    }

    /// `clause` requires the field to match `pattern`.
    pub fn add_pattern(&mut self, clause: usize, pattern: &StrPattern) {
        match pattern {
            StrPattern::Any => self.any_present.insert(clause),
            StrPattern::Exact(s) => {
                let n = self.n;
                self.exact
                    .entry(s.clone())
                    .or_insert_with(|| BitSet::new(n))
                    .insert(clause)
            }
            StrPattern::Prefix(s) => self.prefix.insert(s.bytes(), clause, self.n),
            StrPattern::Suffix(s) => self.suffix.insert(s.bytes().rev(), clause, self.n),
        }
    }

    /// `clause` requires the field to match the (already validated) regex `pattern`.
    pub fn add_regex(&mut self, clause: usize, pattern: &str) {
        self.regexes.push((pattern.to_string(), clause));
    }

    /// Builds the regex set; call once after all patterns are added.
    pub fn finish(&mut self) -> Result<(), regex::Error> {
        if !self.regexes.is_empty() {
            self.regex_set = Some(RegexSet::new(self.regexes.iter().map(|(p, _)| p.as_str()))?);
        }
        Ok(())
    }

    /// Writes into `out` every clause that may match `value` (`None`: the field is unknown).
    pub fn candidates(&self, value: Option<&str>, out: &mut BitSet) {
        out.clone_from(&self.always);
        let Some(v) = value else { return };
        out.union_with(&self.any_present);
        if let Some(set) = self.exact.get(v) {
            out.union_with(set);
        }
        self.prefix.collect(v.bytes(), out);
        self.suffix.collect(v.bytes().rev(), out);
        if let Some(rs) = &self.regex_set {
            for i in rs.matches(v).iter() {
                out.insert(self.regexes[i].1);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_returns_matching_clauses() {
        let mut ix = FieldIndex::new(70);
        ix.add_pattern(0, &StrPattern::parse("/a").unwrap());
        ix.add_pattern(1, &StrPattern::parse("/a*").unwrap());
        ix.add_pattern(2, &StrPattern::parse("*.png").unwrap());
        ix.add_pattern(65, &StrPattern::parse("*").unwrap());
        ix.add_unconstrained(66);
        ix.add_regex(67, "^/a/[0-9]+$");
        ix.finish().unwrap();
        let mut out = BitSet::new(70);
        ix.candidates(Some("/a"), &mut out);
        assert_eq!(out.iter().collect::<Vec<_>>(), vec![0, 1, 65, 66]);
        ix.candidates(Some("/a/1"), &mut out);
        assert_eq!(out.iter().collect::<Vec<_>>(), vec![1, 65, 66, 67]);
        ix.candidates(Some("/b/x.png"), &mut out);
        assert_eq!(out.iter().collect::<Vec<_>>(), vec![2, 65, 66]);
        ix.candidates(None, &mut out);
        assert_eq!(out.iter().collect::<Vec<_>>(), vec![66]);
    }
}
