//! A hash index over [`KEYWORDS`], built at compile time, so that looking a word up costs one
//! hash of the word and usually one comparison instead of a binary search (~14 comparisons)
//! over the 9,352 words and fingerprints.

use super::keywords::KEYWORDS;

/// Slots in the open-addressing table: a power of two well above the number of keywords, so
/// probe runs stay short (load factor ~0.57).
const SLOTS: usize = 1 << 14;
/// An unused slot.
const EMPTY: u16 = u16::MAX;

// Every keyword index fits a slot, and empty slots remain so that every probe run ends.
const _: () = assert!(KEYWORDS.len() < EMPTY as usize && KEYWORDS.len() < SLOTS);

/// Slot -> index into [`KEYWORDS`] (or [`EMPTY`]), linear probing from [`slot_of`] the word.
static INDEX: [u16; SLOTS] = build();

/// FNV-1a over the word's bytes, reduced to a slot.
const fn slot_of(word: &[u8]) -> usize {
    let mut h: u32 = 0x811c_9dc5;
    let mut i = 0;
    while i < word.len() {
        h ^= word[i] as u32;
        h = h.wrapping_mul(0x0100_0193);
        i += 1;
    }
    // Fold the high bits in: FNV's low bits alone spread short words poorly.
    ((h ^ (h >> 15)) as usize) & (SLOTS - 1)
}

const fn build() -> [u16; SLOTS] {
    let mut table = [EMPTY; SLOTS];
    let mut i = 0;
    while i < KEYWORDS.len() {
        let mut slot = slot_of(KEYWORDS[i].0);
        while table[slot] != EMPTY {
            slot = (slot + 1) & (SLOTS - 1);
        }
        table[slot] = i as u16;
        i += 1;
    }
    table
}

/// The token type code of `key` (exact bytes, already upper-cased) in [`KEYWORDS`].
pub(crate) fn code_of(key: &[u8]) -> Option<u8> {
    let mut slot = slot_of(key);
    loop {
        let index = *INDEX.get(slot)?;
        if index == EMPTY {
            return None;
        }
        let (word, code) = *KEYWORDS.get(usize::from(index))?;
        if word == key {
            return Some(code);
        }
        slot = (slot + 1) & (SLOTS - 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_keyword_is_found_with_its_code() {
        for &(word, code) in KEYWORDS.iter() {
            assert_eq!(code_of(word), Some(code), "{:?}", String::from_utf8_lossy(word));
        }
    }

    #[test]
    fn answers_as_binary_search_does_for_near_misses() {
        let binary = |key: &[u8]| {
            KEYWORDS
                .binary_search_by(|(w, _)| (*w).cmp(key))
                .ok()
                .map(|i| KEYWORDS[i].1)
        };
        // Every keyword with its last byte dropped, changed or doubled: mostly not keywords,
        // sometimes other ones.
        for &(word, _) in KEYWORDS.iter() {
            let mut variants = vec![
                word[..word.len() - 1].to_vec(),
                [word, b"X"].concat(),
                [word, word].concat(),
            ];
            let mut changed = word.to_vec();
            if let Some(last) = changed.last_mut() {
                *last = last.wrapping_add(1);
            }
            variants.push(changed);
            for key in variants {
                assert_eq!(code_of(&key), binary(&key), "{:?}", String::from_utf8_lossy(&key));
            }
        }
        assert_eq!(code_of(b""), None);
        assert_eq!(code_of(b"select"), None, "keys are matched upper-cased only");
    }
}
