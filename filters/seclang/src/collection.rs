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

/// An ordered multi-map with case-insensitive keys (ARGS, REQUEST_HEADERS, TX...).
#[derive(Debug, Clone, Default)]
pub struct Collection {
    entries: Vec<Entry>,
    /// Lower-cased key -> indexes into `entries`.
    index: FxHashMap<Vec<u8>, Vec<usize>>,
}

impl Collection {
    /// An empty collection.
    pub fn new() -> Collection {
        Collection::default()
    }

    /// Appends a member; keys may repeat (ARGS `a=1&a=2`).
    pub fn add(&mut self, key: &[u8], value: &[u8]) {
        let i = self.entries.len();
        self.entries.push(Entry { key: key.to_vec(), value: value.to_vec() });
        self.index.entry(lower(key).into_owned()).or_default().push(i);
    }

    /// Sets a member, replacing every member with the same key (TX semantics).
    pub fn set(&mut self, key: &[u8], value: Vec<u8>) {
        let lower = lower(key);
        match self.index.get(lower.as_ref()).map(Vec::as_slice) {
            Some([i]) => {
                if let Some(e) = self.entries.get_mut(*i) {
                    e.value = value;
                }
            }
            Some(_) => {
                let lower = lower.into_owned();
                self.remove(key);
                self.push(key.to_vec(), value, lower);
            }
            None => {
                let lower = lower.into_owned();
                self.push(key.to_vec(), value, lower);
            }
        }
    }

    fn push(&mut self, key: Vec<u8>, value: Vec<u8>, lower: Vec<u8>) {
        let i = self.entries.len();
        self.entries.push(Entry { key, value });
        self.index.entry(lower).or_default().push(i);
    }

    /// Removes every member with `key`; returns whether one existed.
    pub fn remove(&mut self, key: &[u8]) -> bool {
        if self.index.remove(lower(key).as_ref()).is_none() {
            return false;
        }
        self.entries.retain(|e| !e.key.eq_ignore_ascii_case(key));
        self.reindex();
        true
    }

    fn reindex(&mut self) {
        self.index.clear();
        for (i, e) in self.entries.iter().enumerate() {
            self.index.entry(lower(&e.key).into_owned()).or_default().push(i);
        }
    }

    /// The first value stored under `key` (any case).
    pub fn get(&self, key: &[u8]) -> Option<&[u8]> {
        self.get_all_lower(&lower(key)).next().map(|e| e.value.as_slice())
    }

    /// Every member whose lower-cased key is `lower`.
    pub fn get_all_lower<'a>(&'a self, lower: &[u8]) -> impl Iterator<Item = &'a Entry> + 'a {
        self.index.get(lower).into_iter().flatten().filter_map(|&i| self.entries.get(i))
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

    /// Removes every member.
    pub fn clear(&mut self) {
        self.entries.clear();
        self.index.clear();
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
    fn set_keeps_order_of_others() {
        let mut c = Collection::new();
        c.add(b"a", b"1");
        c.add(b"b", b"2");
        c.set(b"A", b"9".to_vec());
        let keys: Vec<_> = c.iter().map(|e| e.key.clone()).collect();
        assert_eq!(keys, vec![b"a".to_vec(), b"b".to_vec()]);
    }
}
