//! Persistent collections (IP, GLOBAL, SESSION, USER, RESOURCE) kept in memory per rule set.

use std::collections::HashMap;

use crate::collection::Collection;

/// One stored collection record with per-member expiry times (unix seconds).
#[derive(Debug, Clone, Default)]
pub(crate) struct StoredRecord {
    /// Members.
    pub(crate) values: Collection,
    /// Lower-cased member name -> expiry time.
    pub(crate) expiry: HashMap<Vec<u8>, u64>,
    /// When the whole record expires (unix seconds).
    pub(crate) expires_at: u64,
}

/// In-memory store of persistent collections, keyed by (collection, record key).
#[derive(Debug, Default)]
pub(crate) struct PersistentStore {
    records: HashMap<(String, Vec<u8>), StoredRecord>,
}

/// Most records kept; the oldest-expiring are dropped beyond it so memory stays bounded.
const MAX_RECORDS: usize = 100_000;

impl PersistentStore {
    /// Loads a live copy of a record, dropping expired members.
    pub(crate) fn load(&mut self, collection: &str, key: &[u8], now: u64) -> StoredRecord {
        let id = (collection.to_string(), key.to_vec());
        match self.records.get(&id) {
            Some(r) if r.expires_at > now => {
                let mut r = r.clone();
                let expired: Vec<Vec<u8>> = r
                    .expiry
                    .iter()
                    .filter(|(_, &t)| t <= now)
                    .map(|(k, _)| k.clone())
                    .collect();
                for k in expired {
                    r.values.remove(&k);
                    r.expiry.remove(&k);
                }
                r
            }
            Some(_) => {
                self.records.remove(&id);
                StoredRecord::default()
            }
            None => StoredRecord::default(),
        }
    }

    /// Stores a record back.
    pub(crate) fn store(&mut self, collection: &str, key: &[u8], record: StoredRecord) {
        if self.records.len() >= MAX_RECORDS {
            if let Some(oldest) = self
                .records
                .iter()
                .min_by_key(|(_, r)| r.expires_at)
                .map(|(k, _)| k.clone())
            {
                self.records.remove(&oldest);
            }
        }
        self.records.insert((collection.to_string(), key.to_vec()), record);
    }

    /// True when nothing is stored.
    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.records.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_and_members_expire() {
        let mut store = PersistentStore::default();
        let mut rec = StoredRecord {
            expires_at: 100,
            ..Default::default()
        };
        rec.values.set(b"keep", b"1".to_vec());
        rec.values.set(b"Short", b"1".to_vec());
        rec.expiry.insert(b"short".to_vec(), 50);
        store.store("ip", b"10.0.0.1", rec);
        let live = store.load("ip", b"10.0.0.1", 40);
        assert_eq!(live.values.len(), 2);
        let later = store.load("ip", b"10.0.0.1", 60);
        assert_eq!(later.values.get(b"keep"), Some(&b"1"[..]));
        assert_eq!(later.values.get(b"short"), None);
        // The whole record is gone after its own expiry.
        assert!(store.load("ip", b"10.0.0.1", 100).values.is_empty());
        assert!(store.is_empty());
        assert!(store.load("ip", b"other", 0).values.is_empty());
    }
}
