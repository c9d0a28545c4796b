//! Named values with ModSecurity's case-insensitive keys, in insertion order.

use std::borrow::Cow;

use rustc_hash::FxHashMap;

/// The lookup form of a key; borrows when the key has no upper-case ASCII (the usual case).
fn lower(key: &[u8]) -> Cow<'_, [u8]> {
    if key.iter().any(u8::is_ascii_uppercase) {
        Cow::Owned(key.to_ascii_lowercase())
    } else {
        Cow::Borrowed(key)
    }
}

/// One member of a collection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The key as it was first written.
    pub key: Vec<u8>,
    /// The value.
    pub value: Vec<u8>,
}

/// Marks the end of a same-key chain in `Collection::next`.
const END: usize = usize::MAX;

/// An ordered multi-map with case-insensitive keys (ARGS, REQUEST_HEADERS, TX...).
#[derive(Debug, Clone, Default)]
pub struct Collection {
    entries: Vec<Entry>,
    /// Lower-cased key -> (first, last) index into `entries` of the members with that key.
    index: FxHashMap<Vec<u8>, (usize, usize)>,
    /// Per entry: the next entry with the same key, or `END`. Chaining members this way
    /// (rather than a list per key) saves an allocation for every key added.
    next: Vec<usize>,
}

impl Collection {
    /// An empty collection.
    pub(crate) fn new() -> Collection {
        Collection::default()
    }

    /// An empty collection with room for `n` members before it grows.
    pub(crate) fn with_capacity(n: usize) -> Collection {
        Collection {
            entries: Vec::with_capacity(n),
            index: FxHashMap::with_capacity_and_hasher(n, Default::default()),
            next: Vec::with_capacity(n),
        }
    }

    /// Appends a member; keys may repeat (ARGS `a=1&a=2`).
    pub(crate) fn add(&mut self, key: &[u8], value: &[u8]) {
        let lower = lower(key);
        self.push(key.to_vec(), value.to_vec(), lower);
    }

    /// Appends a member whose key and value the caller already owns, without copying them.
    pub(crate) fn add_owned(&mut self, key: Vec<u8>, value: Vec<u8>) {
        let i = self.entries.len();
        // Linking touches only the index, so it can borrow `key` before the entry takes it.
        self.link(i, lower(&key));
        self.entries.push(Entry { key, value });
    }

    /// Sets a member, replacing every member with the same key (TX semantics).
    pub(crate) fn set(&mut self, key: &[u8], value: Vec<u8>) {
        let lower = lower(key);
        match self.index.get(lower.as_ref()) {
            Some(&(first, last)) if first == last => {
                if let Some(e) = self.entries.get_mut(first) {
                    e.value = value;
                }
            }
            Some(_) => {
                let lower = lower.into_owned();
                self.remove(key);
                self.push(key.to_vec(), value, Cow::Owned(lower));
            }
            None => self.push(key.to_vec(), value, lower),
        }
    }

    fn push(&mut self, key: Vec<u8>, value: Vec<u8>, lower: Cow<'_, [u8]>) {
        let i = self.entries.len();
        self.entries.push(Entry { key, value });
        self.link(i, lower);
    }

    /// Indexes entry `i` (the last one, or the next one to be pushed) under `lower`.
    fn link(&mut self, i: usize, lower: Cow<'_, [u8]>) {
        self.next.push(END);
        if let Some((_, last)) = self.index.get_mut(lower.as_ref()) {
            if let Some(n) = self.next.get_mut(*last) {
                *n = i;
            }
            *last = i;
        } else {
            self.index.insert(lower.into_owned(), (i, i));
        }
    }

    /// Removes every member with `key`; returns whether one existed.
    pub(crate) fn remove(&mut self, key: &[u8]) -> bool {
        if self.index.remove(lower(key).as_ref()).is_none() {
            return false;
        }
        self.entries.retain(|e| !e.key.eq_ignore_ascii_case(key));
        self.reindex();
        true
    }

    fn reindex(&mut self) {
        self.index.clear();
        self.next.clear();
        for i in 0..self.entries.len() {
            let lower = lower(&self.entries[i].key).into_owned();
            self.link(i, Cow::Owned(lower));
        }
    }

    /// The first value stored under `key` (any case).
    pub fn get(&self, key: &[u8]) -> Option<&[u8]> {
        self.get_all_lower(&lower(key)).next().map(|e| e.value.as_slice())
    }

    /// Every member whose lower-cased key is `lower`.
    pub fn get_all_lower<'a>(&'a self, lower: &[u8]) -> impl Iterator<Item = &'a Entry> + 'a {
        let first = self.index.get(lower).map(|&(first, _)| first);
        std::iter::successors(first, |&i| self.next.get(i).copied().filter(|&n| n != END))
            .filter_map(|i| self.entries.get(i))
    }

    /// All members in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = &Entry> {
        self.entries.iter()
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_case_insensitive() {
        let mut c = Collection::new();
        c.add(b"Foo", b"1");
        c.add(b"foo", b"2");
        assert_eq!(c.get(b"FOO"), Some(&b"1"[..]));
        assert_eq!(c.get_all_lower(b"foo").count(), 2);
        c.set(b"FOO", b"3".to_vec());
        assert_eq!(c.len(), 1);
        assert_eq!(c.get(b"foo"), Some(&b"3"[..]));
        assert!(c.remove(b"fOo"));
        assert!(c.is_empty());
        assert!(!c.remove(b"foo"));
    }

    #[test]
    fn repeated_keys_keep_insertion_order_across_removals() {
        let mut c = Collection::with_capacity(2);
        c.add(b"a", b"1");
        c.add(b"B", b"2");
        c.add(b"A", b"3");
        c.add(b"b", b"4");
        c.add(b"a", b"5");
        let values = |c: &Collection, k: &[u8]| c.get_all_lower(k).map(|e| e.value.clone()).collect::<Vec<_>>();
        assert_eq!(values(&c, b"a"), vec![b"1".to_vec(), b"3".to_vec(), b"5".to_vec()]);
        assert_eq!(values(&c, b"b"), vec![b"2".to_vec(), b"4".to_vec()]);
        assert!(c.remove(b"b"));
        assert_eq!(values(&c, b"a"), vec![b"1".to_vec(), b"3".to_vec(), b"5".to_vec()]);
        assert_eq!(values(&c, b"b"), Vec::<Vec<u8>>::new());
        c.set(b"a", b"9".to_vec());
        assert_eq!(values(&c, b"a"), vec![b"9".to_vec()]);
        c.add(b"c", b"7");
        c.set(b"C", b"8".to_vec());
        assert_eq!(values(&c, b"c"), vec![b"8".to_vec()]);
        assert_eq!(c.len(), 2);
    }

    #[test]
    fn add_owned_is_add_without_the_copy() {
        let pairs: [(&[u8], &[u8]); 4] = [(b"a", b"1"), (b"A", b"2"), (b"Mixed", b"3"), (b"mixed", b"4")];
        let mut copied = Collection::new();
        let mut owned = Collection::new();
        for (k, v) in pairs {
            copied.add(k, v);
            owned.add_owned(k.to_vec(), v.to_vec());
        }
        assert_eq!(copied.iter().collect::<Vec<_>>(), owned.iter().collect::<Vec<_>>());
        for key in [&b"a"[..], b"mixed", b"none"] {
            let values = |c: &Collection| c.get_all_lower(key).map(|e| e.value.clone()).collect::<Vec<_>>();
            assert_eq!(values(&copied), values(&owned));
        }
        assert_eq!(owned.get_all_lower(b"mixed").count(), 2);
        assert_eq!(owned.get(b"MIXED"), Some(&b"3"[..]));
    }

    #[test]
    fn set_keeps_order_of_others() {
        let mut c = Collection::new();
        c.add(b"a", b"1");
        c.add(b"b", b"2");
        c.set(b"A", b"9".to_vec());
        let keys: Vec<_> = c.iter().map(|e| e.key.clone()).collect();
        assert_eq!(keys, vec![b"a".to_vec(), b"b".to_vec()]);
    }
}
