//! Where records live: a table of slots read and written with compare-and-swap.
//!
//! The filter's adapter implements [`Store`] on Envoy shared data (one key per slot; the CAS
//! token is the shared-data one; a key cannot be deleted, so an expired slot is overwritten
//! with an empty value). [`MemoryStore`] is the in-process table for tests and benches.

use thiserror::Error;

use crate::record::RECORD_LEN;

/// A compare-and-swap token returned by a load.
pub type Cas = u32;

/// Why a store did not happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum StoreError {
    /// The slot changed since it was loaded (the caller retries).
    #[error("slot {slot} changed since it was loaded")]
    Conflict {
        /// The slot.
        slot: u32,
    },
    /// The slot does not exist or the value is larger than a slot holds.
    #[error("slot {slot} cannot hold {len} bytes")]
    Rejected {
        /// The slot.
        slot: u32,
        /// The value's length.
        len: usize,
    },
}

/// A table of slots holding byte strings, written with compare-and-swap.
pub trait Store {
    /// The slot's bytes and CAS token; `None` when it was never written.
    fn load(&mut self, slot: u32) -> Option<(Vec<u8>, Cas)>;

    /// Writes the slot if its token is still `cas` (`None`: the slot must still be unwritten).
    fn store(&mut self, slot: u32, bytes: &[u8], cas: Option<Cas>) -> Result<(), StoreError>;

    /// Like [`Store::load`] into `buf`: returns the stored length (the bytes are copied only
    /// when it is exactly [`RECORD_LEN`]) and the token. Stores that can avoid allocating
    /// override it; the default goes through `load`.
    fn load_into(&mut self, slot: u32, buf: &mut [u8; RECORD_LEN]) -> Option<(usize, Cas)> {
        let (bytes, cas) = self.load(slot)?;
        if let Ok(b) = <&[u8; RECORD_LEN]>::try_from(bytes.as_slice()) {
            buf.copy_from_slice(b);
        }
        Some((bytes.len(), cas))
    }
}

/// An in-memory table: `slots` × [`RECORD_LEN`] bytes in one allocation, plus length and token.
#[derive(Debug, Clone)]
pub struct MemoryStore {
    data: Vec<u8>,
    lens: Vec<u16>,
    cas: Vec<Cas>,
}

/// Marks a slot never written (a written slot may hold 0 bytes: an expired record).
const UNWRITTEN: u16 = u16::MAX;

impl MemoryStore {
    /// A table of `slots` empty slots.
    pub fn new(slots: u32) -> Self {
        let n = slots as usize;
        Self {
            data: vec![0; n * RECORD_LEN],
            lens: vec![UNWRITTEN; n],
            cas: vec![0; n],
        }
    }

    /// Slots in the table.
    pub fn slots(&self) -> u32 {
        self.lens.len() as u32
    }

    /// Bytes the table holds (its three arrays).
    pub fn memory_bytes(&self) -> usize {
        self.data.capacity() + self.lens.capacity() * 2 + self.cas.capacity() * 4
    }

    /// Slots holding a non-empty value.
    pub fn occupied(&self) -> usize {
        self.lens.iter().filter(|&&l| l != UNWRITTEN && l != 0).count()
    }

    fn bytes(&self, slot: u32) -> Option<&[u8]> {
        let len = *self.lens.get(slot as usize)?;
        if len == UNWRITTEN {
            return None;
        }
        let at = slot as usize * RECORD_LEN;
        self.data.get(at..at + usize::from(len))
    }
}

impl Store for MemoryStore {
    fn load(&mut self, slot: u32) -> Option<(Vec<u8>, Cas)> {
        let bytes = self.bytes(slot)?.to_vec();
        Some((bytes, *self.cas.get(slot as usize)?))
    }

    fn load_into(&mut self, slot: u32, buf: &mut [u8; RECORD_LEN]) -> Option<(usize, Cas)> {
        let bytes = self.bytes(slot)?;
        let len = bytes.len();
        if let Ok(b) = <&[u8; RECORD_LEN]>::try_from(bytes) {
            buf.copy_from_slice(b);
        }
        Some((len, *self.cas.get(slot as usize)?))
    }

    fn store(&mut self, slot: u32, bytes: &[u8], cas: Option<Cas>) -> Result<(), StoreError> {
        let i = slot as usize;
        let rejected = StoreError::Rejected { slot, len: bytes.len() };
        let (Some(len), Some(token)) = (self.lens.get_mut(i), self.cas.get_mut(i)) else {
            return Err(rejected);
        };
        let current = (*len != UNWRITTEN).then_some(*token);
        if current != cas {
            return Err(StoreError::Conflict { slot });
        }
        let dst = self
            .data
            .get_mut(i * RECORD_LEN..i * RECORD_LEN + bytes.len())
            .ok_or(rejected)?;
        if bytes.len() > RECORD_LEN {
            return Err(rejected);
        }
        dst.copy_from_slice(bytes);
        *len = bytes.len() as u16;
        *token = token.wrapping_add(1);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compare_and_swap_refuses_a_stale_token() {
        let mut s = MemoryStore::new(4);
        assert_eq!(s.load(1), None);
        s.store(1, b"abc", None).unwrap();
        assert_eq!(s.store(1, b"xyz", None), Err(StoreError::Conflict { slot: 1 }));
        let (bytes, cas) = s.load(1).unwrap();
        assert_eq!(bytes, b"abc");
        s.store(1, b"def", Some(cas)).unwrap();
        assert_eq!(s.store(1, b"ghi", Some(cas)), Err(StoreError::Conflict { slot: 1 }));
        assert_eq!(s.load(1).unwrap().0, b"def");
    }

    #[test]
    fn out_of_range_slots_and_oversized_values_are_rejected() {
        let mut s = MemoryStore::new(2);
        assert!(matches!(
            s.store(2, b"a", None),
            Err(StoreError::Rejected { slot: 2, .. })
        ));
        let big = vec![1u8; RECORD_LEN + 1];
        assert!(matches!(s.store(1, &big, None), Err(StoreError::Rejected { .. })));
        assert_eq!(s.load(5), None);
    }

    #[test]
    fn load_into_copies_only_whole_records() {
        let mut s = MemoryStore::new(2);
        let mut buf = [7u8; RECORD_LEN];
        s.store(0, &[1, 2, 3], None).unwrap();
        assert_eq!(s.load_into(0, &mut buf).map(|(l, _)| l), Some(3));
        assert_eq!(buf, [7u8; RECORD_LEN]);
        s.store(1, &[9u8; RECORD_LEN], None).unwrap();
        assert_eq!(s.load_into(1, &mut buf).map(|(l, _)| l), Some(RECORD_LEN));
        assert_eq!(buf, [9u8; RECORD_LEN]);
    }

    #[test]
    fn memory_is_slots_times_record_plus_six_bytes() {
        for n in [10_000u32, 100_000] {
            let s = MemoryStore::new(n);
            assert_eq!(s.memory_bytes(), n as usize * (RECORD_LEN + 6));
        }
    }
}
