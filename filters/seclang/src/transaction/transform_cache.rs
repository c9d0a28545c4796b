//! Per-transaction cache of transformed request values and their prefilter scans.
//!
//! CRS applies a few dozen distinct transformation chains to the same request values over
//! and over; each (value, chain) pair is transformed (and scanned by the chain's prefilter)
//! once. Values are identified by address and length, which is sound only for variables
//! whose buffers do not change once rules run (see `eval::is_stable`). Transformed bytes
//! live in one arena so a cached value costs no allocation of its own.

use rustc_hash::FxHashMap;

use std::borrow::Cow;

use super::value_table::{Row, Table, ValueTables};
use crate::prefilter::{self, Prefilters};
use crate::transform::{apply_chain, chain_effect, ChainEffect, Transform, ValueClass};
use crate::variable::Variable;

/// Most (value, chain) pairs cached per transaction. A JSON body with a few hundred fields
/// reaches tens of thousands of pairs, and once the cache is full every further test
/// transforms its value again. An entry takes 32 bytes of table.
const MAX_ENTRIES: usize = 65_536;

/// Largest value whose transformations are cached: one copy per distinct chain is kept, so
/// big values (a large argument) are transformed again rather than multiplied in memory.
const MAX_VALUE: usize = 4096;

/// Most bytes of transformed values kept per transaction.
const MAX_BYTES: usize = 4 << 20;

/// Marks "none" in the packed `u32` fields below.
const NONE: u32 = u32::MAX;

/// Identifies a value and a chain: (address, length, chain id).
pub(crate) type Key = (usize, u32, u32);

/// A value transformed by one chain, as cached: read it with [`TransformCache::value`] and
/// [`TransformCache::may_match`].
#[derive(Clone, Copy)]
pub(crate) struct Entry {
    /// Start of the transformed bytes in `bytes`, or `NONE` when the chain left the value
    /// unchanged.
    start: u32,
    len: u32,
    /// Start of the scan's slot bits in `words`, or `NONE` without a scan.
    scan: u32,
    /// The chain changed the value in ASCII case at most, so the value's one scan for every
    /// chain's literals (`ValueInfo::found`) gives this chain's scan too.
    folded: bool,
}

impl Entry {
    const UNCHANGED: Entry = Entry {
        start: NONE,
        len: 0,
        scan: NONE,
        folded: false,
    };
}

/// What the cache knows of a value whatever the chain.
#[derive(Clone, Copy)]
struct ValueInfo {
    /// What tells what most chains do to it without running them.
    class: ValueClass,
    /// Where the (chain, pattern) pairs of the literals found in it start in `found`, or
    /// `NONE` before that scan.
    found: u32,
    found_len: u32,
}

/// Transformed values keyed by (value address, length, chain id).
#[derive(Default)]
pub(crate) struct TransformCache {
    entries: FxHashMap<Key, Entry>,
    bytes: Vec<u8>,
    words: Vec<u64>,
    /// Per value (address, length): see [`ValueInfo`].
    values: FxHashMap<(usize, u32), ValueInfo>,
    /// (chain, pattern) pairs of the literals found by the values' scans for every chain's
    /// literals, sorted within each value.
    found: Vec<(u32, u32)>,
    /// Scratch space for those scans.
    ids: Vec<u32>,
    /// Per variable, its values grouped by class, for its unions.
    tables: ValueTables,
    /// Scratch space: per class of a table, whether the chain at hand changes it at most in case.
    folded: Vec<bool>,
    /// Per (variable, chain): where the OR of the scans of all the variable's values starts
    /// in `words` (`NONE`: some value could not be scanned, any slot may match). Valid while
    /// the variable's values do not change, so cleared at every phase.
    unions: FxHashMap<UnionKey, u32>,
    /// How many (value, chain) pairs this cache transformed (its misses), for tests and
    /// profiles that check what a transaction computed again.
    transformed: u64,
}

/// Identifies a union: a variable, a chain, and whether it speaks for the intermediate values
/// of the chain too (multiMatch links test those).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct UnionKey {
    pub(crate) variable: Variable,
    pub(crate) chain: u32,
    pub(crate) intermediates: bool,
}

/// Caches kept for reuse by later transactions on the same thread, so a transaction's
/// tables and arenas are allocated once per thread rather than grown on every request.
const POOL_SIZE: usize = 4;

/// A pooled cache whose buffers grew beyond this (a large request) is freed instead.
const POOL_MAX_BYTES: usize = 256 << 10;

thread_local! {
    static POOL: std::cell::RefCell<Vec<TransformCache>> = const { std::cell::RefCell::new(Vec::new()) };
}

impl TransformCache {
    /// An empty cache, reusing the buffers of one a finished transaction released.
    pub(crate) fn take() -> TransformCache {
        POOL.try_with(|p| p.borrow_mut().pop())
            .ok()
            .flatten()
            .unwrap_or_default()
    }

    /// Empties the cache and keeps its buffers for the next [`TransformCache::take`].
    pub(crate) fn release(mut self) {
        if self.bytes.capacity() > POOL_MAX_BYTES
            || self.words.capacity() * 8 > POOL_MAX_BYTES
            || self.entries.capacity() > MAX_ENTRIES / 4
        {
            return;
        }
        self.entries.clear();
        self.values.clear();
        self.found.clear();
        self.bytes.clear();
        self.words.clear();
        self.unions.clear();
        self.tables.clear();
        self.transformed = 0;
        let _ = POOL.try_with(|p| {
            let mut p = p.borrow_mut();
            if p.len() < POOL_SIZE {
                p.push(self);
            }
        });
    }

    /// `value` transformed by chain `chain` (`transforms`, numbered `chain`) and, with `scan`,
    /// the chain's prefilter scan of it. `None` when `value` is too
    /// large or the cache is full: the caller transforms it itself.
    pub(crate) fn get_or_transform(
        &mut self,
        prefilters: &Prefilters,
        value: &[u8],
        (chain, transforms): (u32, &[Transform]),
        scan: bool,
    ) -> Option<Entry> {
        let key = key(value, chain)?;
        let cached = self.entries.get(&key).copied();
        let mut entry = match cached {
            Some(e) => e,
            None => self.transform(transforms, value)?,
        };
        let mut changed = cached.is_none();
        if scan && entry.scan == NONE {
            let offset = if entry.folded {
                self.scan_folded(prefilters, chain, value)
            } else {
                None
            };
            let offset = match offset {
                Some(o) => Some(o),
                None => {
                    let transformed = if entry.start == NONE {
                        value
                    } else {
                        arena(&self.bytes, &entry)?
                    };
                    prefilters.scan(chain, transformed, &mut self.words)
                }
            };
            if let Some(offset) = offset.filter(|&o| o != NONE) {
                entry.scan = offset;
                changed = true;
            }
        }
        if changed {
            self.entries.insert(key, entry);
        }
        Some(entry)
    }

    /// Computes `transforms` over `value`, keeping changed bytes in the arena; `None` when
    /// the cache is full.
    fn transform(&mut self, transforms: &[Transform], value: &[u8]) -> Option<Entry> {
        if self.entries.len() >= MAX_ENTRIES {
            return None;
        }
        self.transformed += 1;
        let effect = chain_effect(transforms, self.info(value).class);
        if effect == ChainEffect::Unchanged {
            return Some(Entry {
                folded: true,
                ..Entry::UNCHANGED
            });
        }
        let entry = match apply_chain(transforms, value) {
            // Borrowed: unchanged, or a shorter slice of `value` (`trim`).
            Cow::Borrowed(s) if s.len() == value.len() => Entry::UNCHANGED,
            out => self.store(&out)?,
        };
        Some(Entry {
            folded: effect == ChainEffect::CaseOnly,
            ..entry
        })
    }

    /// Whether slot `slot` of chain `chain` (`transforms`) may match `value` or any of the
    /// intermediate values the chain makes of it: false only when the chain changes `value`
    /// at most in case and none of the slot's literals occurs in it.
    pub(crate) fn intermediates_may_match(
        &mut self,
        prefilters: &Prefilters,
        value: &[u8],
        (chain, transforms): (u32, &[Transform]),
        slot: u32,
    ) -> bool {
        if key(value, chain).is_none() {
            return true;
        }
        let Some(info) = self.scanned_info(prefilters, value) else {
            return true;
        };
        if chain_effect(transforms, info.class) == ChainEffect::Unknown {
            return true;
        }
        let start = self.words.len();
        let known = prefilters.scan_found(chain, found_of(&self.found, &info), &mut self.words);
        let may = known.is_none_or(|offset| prefilter::may_match(&self.words, offset, slot));
        self.words.truncate(start);
        may
    }

    /// The record of `value` (a cacheable one), made on first use.
    fn info(&mut self, value: &[u8]) -> &mut ValueInfo {
        self.values
            .entry((value.as_ptr() as usize, value.len() as u32))
            .or_insert_with(|| ValueInfo {
                class: ValueClass::of(value),
                found: NONE,
                found_len: 0,
            })
    }

    /// The record of `value` with its scan for every chain's literals made (on first use);
    /// `None` when that scan is not available.
    fn scanned_info(&mut self, prefilters: &Prefilters, value: &[u8]) -> Option<ValueInfo> {
        let mut info = *self.info(value);
        if info.found == NONE {
            let start = self.found.len();
            if !prefilters.scan_all(value, &mut self.ids, &mut self.found) {
                self.found.truncate(start);
                return None;
            }
            info.found = u32::try_from(start).ok()?;
            info.found_len = u32::try_from(self.found.len() - start).ok()?;
            *self.info(value) = info;
        }
        Some(info)
    }

    /// `chain`'s scan of `value` taken from the value's scan for every chain's literals
    /// (made on first use); `None` when that scan is not available.
    fn scan_folded(&mut self, prefilters: &Prefilters, chain: u32, value: &[u8]) -> Option<u32> {
        let info = self.scanned_info(prefilters, value)?;
        prefilters.scan_found(chain, found_of(&self.found, &info), &mut self.words)
    }

    /// Copies transformed bytes into the arena.
    fn store(&mut self, out: &[u8]) -> Option<Entry> {
        let start = self.bytes.len();
        if start + out.len() > MAX_BYTES {
            return None;
        }
        let entry = Entry {
            start: u32::try_from(start).ok()?,
            len: u32::try_from(out.len()).ok()?,
            ..Entry::UNCHANGED
        };
        self.bytes.extend_from_slice(out);
        Some(entry)
    }

    /// Whether prefilter slot `slot` may match any value of the union `key`, as far as a
    /// union built by [`TransformCache::build_union`] knows (`None`: not built yet).
    pub(crate) fn union_may_match(&self, key: UnionKey, slot: u32) -> Option<bool> {
        let offset = *self.unions.get(&key)?;
        Some(offset == NONE || prefilter::may_match(&self.words, offset, slot))
    }

    /// Builds the union of the prefilter scans of `values` (every value of the key's variable)
    /// under the key's chain (`transforms`); `values` hands each value to the callback it is
    /// given (it may be called twice). With `cached`, values go through the cache (their
    /// addresses identify them, see `eval::is_stable`); otherwise each is transformed and
    /// scanned on its own. A union for intermediate values is known only when the chain
    /// changes every value at most in case (then each intermediate value is the value, up to
    /// case, and the case-insensitive literals found in it stand for all of them).
    pub(crate) fn build_union(
        &mut self,
        prefilters: &Prefilters,
        key: UnionKey,
        transforms: &[Transform],
        cached: bool,
        values: impl Fn(&mut dyn FnMut(&[u8])),
    ) {
        let UnionKey { variable, chain, .. } = key;
        let Some(words) = prefilters.words(chain) else {
            self.unions.insert(key, NONE);
            return;
        };
        let start = self.words.len();
        self.words.resize(start + words, 0);
        let mut offset = u32::try_from(start).unwrap_or(NONE);
        let table = if cached && offset != NONE {
            self.table(prefilters, variable, &values)
        } else {
            None
        };
        // Classes the chain changes at most in case take their literals from the one scan
        // made for every chain; only the values of other classes are transformed.
        let mut folded = std::mem::take(&mut self.folded);
        folded.clear();
        let mut run_values = table.is_none();
        if let Some(t) = table {
            // A chain outside that scan transforms and scans every value itself.
            let combined = prefilters.in_combined(chain);
            folded.extend(
                self.tables
                    .classes(t)
                    .map(|c| combined && chain_effect(transforms, c) != ChainEffect::Unknown),
            );
            run_values = folded.contains(&false);
            if run_values && key.intermediates {
                offset = NONE;
            }
            let union = self.words.get_mut(start..start + words).unwrap_or(&mut []);
            for (k, _) in folded.iter().enumerate().filter(|(_, &f)| f) {
                for row in self.tables.with_found(t, k) {
                    let (from, n) = (row.found.0 as usize, row.found.1 as usize);
                    prefilters.or_found(chain, self.found.get(from..from + n).unwrap_or(&[]), union);
                }
            }
        }
        if key.intermediates && table.is_none() {
            offset = NONE;
        }
        if run_values && offset != NONE {
            let mut index = 0u32;
            values(&mut |value| {
                if offset == NONE {
                    return;
                }
                if let Some(t) = table {
                    let row = self.tables.row(t, index);
                    index = index.saturating_add(1);
                    if row.is_some_and(|(r, class)| r.is(value) && folded.get(class) == Some(&true)) {
                        return;
                    }
                }
                let scan = if cached {
                    self.get_or_transform(prefilters, value, (chain, transforms), true)
                        .map(|e| e.scan)
                } else {
                    prefilters.scan(chain, &apply_chain(transforms, value), &mut self.words)
                };
                match scan {
                    Some(from) if from != NONE => {
                        let (from, to) = (from as usize, offset as usize);
                        for i in 0..words {
                            let w = self.words.get(from + i).copied().unwrap_or(u64::MAX);
                            if let Some(d) = self.words.get_mut(to + i) {
                                *d |= w;
                            }
                        }
                    }
                    // Not cached (too large, cache full) or not scanned: unknown.
                    _ => offset = NONE,
                }
            });
        }
        self.folded = folded;
        self.unions.insert(key, offset);
    }

    /// `variable`'s value table, made (from `values`) on its first union.
    fn table(
        &mut self,
        prefilters: &Prefilters,
        variable: Variable,
        values: &impl Fn(&mut dyn FnMut(&[u8])),
    ) -> Option<Table> {
        if let Some(table) = self.tables.get(variable) {
            return table;
        }
        let mut rows = Some(Vec::new());
        values(&mut |value| {
            if let Some(list) = rows.as_mut() {
                match self.row(prefilters, value) {
                    Some(r) => list.push(r),
                    // Not cacheable, or no scan for every chain: no table.
                    None => rows = None,
                }
            }
        });
        self.tables.insert(variable, rows)
    }

    /// The row and class of `value`, with its scan for every chain's literals made, or
    /// `None` when the value is not cacheable or that scan is not available.
    fn row(&mut self, prefilters: &Prefilters, value: &[u8]) -> Option<(Row, ValueClass)> {
        key(value, 0)?;
        let info = self.scanned_info(prefilters, value)?;
        Some((Row::new(value, (info.found, info.found_len))?, info.class))
    }

    /// How many (value, chain) pairs were transformed rather than found in the cache.
    pub(crate) fn transformed(&self) -> u64 {
        self.transformed
    }

    /// Forgets the unions (the values of variables may have changed).
    pub(crate) fn clear_unions(&mut self) {
        self.unions.clear();
        self.tables.clear();
    }

    /// The transformed bytes of `entry`, where `original` is the value it was made from.
    pub(crate) fn value<'a>(&'a self, entry: &Entry, original: &'a [u8]) -> &'a [u8] {
        if entry.start == NONE {
            original
        } else {
            arena(&self.bytes, entry).unwrap_or(original)
        }
    }

    /// Whether the prefilter slot `slot` may match `entry`'s value (true without a scan).
    pub(crate) fn may_match(&self, entry: &Entry, slot: u32) -> bool {
        entry.scan == NONE || prefilter::may_match(&self.words, entry.scan, slot)
    }
}

/// The cache key of `value` under chain `chain`, or `None` when the value is too large to
/// be cached.
fn key(value: &[u8], chain: u32) -> Option<Key> {
    if value.len() > MAX_VALUE {
        return None;
    }
    Some((value.as_ptr() as usize, u32::try_from(value.len()).ok()?, chain))
}

/// The (chain, pattern) pairs found in the value `info` describes (none before its scan).
fn found_of<'a>(found: &'a [(u32, u32)], info: &ValueInfo) -> &'a [(u32, u32)] {
    if info.found == NONE {
        return &[];
    }
    found
        .get(info.found as usize..(info.found + info.found_len) as usize)
        .unwrap_or(&[])
}

/// The arena bytes an entry points at.
fn arena<'a>(bytes: &'a [u8], entry: &Entry) -> Option<&'a [u8]> {
    bytes.get(entry.start as usize..entry.start as usize + entry.len as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOWER: &[Transform] = &[Transform::Lowercase];
    const LOWER_TRIM: &[Transform] = &[Transform::Lowercase, Transform::Trim];

    #[test]
    fn caches_changed_and_unchanged_values() {
        let none = Prefilters::default();
        let mut c = TransformCache::default();
        let v = b"A B".to_vec();
        let e = c.get_or_transform(&none, &v, (0, LOWER), false).expect("cached");
        assert_eq!(c.value(&e, &v), b"a b");
        assert_eq!(c.entries.len(), 1);
        let e = c.get_or_transform(&none, &v, (0, LOWER), false).expect("cached");
        assert_eq!(c.value(&e, &v), b"a b");
        assert_eq!(c.entries.len(), 1, "second lookup hits the cache");
        let plain = b"ab".to_vec();
        let e = c.get_or_transform(&none, &plain, (0, LOWER), false).expect("cached");
        assert_eq!(c.value(&e, &plain), b"ab");
        assert!(c.bytes.len() == 3, "unchanged values take no arena bytes");
        assert!(c.may_match(&e, 0), "no scan: every slot may match");
    }

    #[test]
    fn trim_results_are_kept() {
        let mut c = TransformCache::default();
        let v = b" A ".to_vec();
        let e = c
            .get_or_transform(&Prefilters::default(), &v, (1, LOWER_TRIM), false)
            .expect("cached");
        assert_eq!(c.value(&e, &v), b"a");
        let t = b" a ".to_vec();
        let e = c
            .get_or_transform(&Prefilters::default(), &t, (2, &[Transform::Trim]), false)
            .expect("cached");
        assert_eq!(c.value(&e, &t), b"a");
    }

    #[test]
    fn large_values_are_not_cached() {
        let big = vec![0u8; MAX_VALUE + 1];
        assert!(TransformCache::default()
            .get_or_transform(&Prefilters::default(), &big, (0, LOWER), false)
            .is_none());
    }
}
