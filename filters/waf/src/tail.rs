//! The leak scan of a response body past its inspection limit. Phase 4 inspects the first
//! `response_body.limit` bytes; with `process_partial` the rest used to pass unread. In the mesh
//! profile the rest is cut into windows of at most [`WINDOW`] bytes as it streams, each starting
//! with the last [`OVERLAP`] bytes of the one before (a signature split across two chunks or
//! windows is whole in one of them), and the caller runs the phase-4 rules over each window.
//! Every byte is scanned in the callback that brought it, before it is passed on; memory stays
//! at one window whatever the body's length.

// The request path: a panic here traps the VM and fails every request it serves.
#![warn(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

/// Most bytes scanned at once.
pub const WINDOW: usize = 64 * 1024;

/// Bytes of the previous window each window starts with: longer than the leak signatures CRS's
/// response rules look for (error messages, directory-listing and web-shell markers).
pub const OVERLAP: usize = 2 * 1024;

/// One stretch of the body to scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window<'a> {
    /// The window's number, from 0.
    pub index: u64,
    /// Offset of its first byte in the (decoded) body.
    pub offset: u64,
    /// Its bytes.
    pub bytes: &'a [u8],
}

/// Where a scan found something.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Found {
    /// The window's number.
    pub index: u64,
    /// Offset of the window's first byte in the body.
    pub offset: u64,
}

/// The scan of one response body past its limit.
#[derive(Debug, Clone)]
pub struct TailScan {
    /// The overlap kept from the last window, then bytes added since.
    buffer: Vec<u8>,
    /// Body offset of `buffer[0]`.
    start: u64,
    windows: u64,
}

impl TailScan {
    /// A scan whose first byte is at body offset `offset`.
    pub fn new(offset: u64) -> TailScan {
        TailScan {
            buffer: Vec::new(),
            start: offset,
            windows: 0,
        }
    }

    /// Windows scanned so far.
    pub fn windows(&self) -> u64 {
        self.windows
    }

    /// Adds `chunk` and hands every window it completes to `scan`, which says whether it found
    /// something; scanning stops at the first find, which is returned.
    pub fn push(&mut self, mut chunk: &[u8], mut scan: impl FnMut(Window<'_>) -> bool) -> Option<Found> {
        while !chunk.is_empty() {
            let room = WINDOW.saturating_sub(self.buffer.len()).max(1);
            let (now, later) = chunk.split_at(room.min(chunk.len()));
            self.buffer.extend_from_slice(now);
            chunk = later;
            let window = Window {
                index: self.windows,
                offset: self.start,
                bytes: &self.buffer,
            };
            self.windows += 1;
            if scan(window) {
                return Some(Found {
                    index: window.index,
                    offset: window.offset,
                });
            }
            let drop = self.buffer.len().saturating_sub(OVERLAP);
            self.buffer.drain(..drop);
            self.start += drop as u64;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Offsets where `needle` was found scanning `body` pushed in `chunk`-byte pieces.
    fn find(body: &[u8], chunk: usize, needle: &[u8]) -> Option<(Found, u64)> {
        let mut scan = TailScan::new(1000);
        let mut max = 0;
        for piece in body.chunks(chunk) {
            let found = scan.push(piece, |w| {
                max = max.max(w.bytes.len());
                w.bytes.windows(needle.len()).any(|x| x == needle)
            });
            if let Some(f) = found {
                assert!(max <= WINDOW, "bounded: {max}");
                return Some((f, scan.windows()));
            }
        }
        assert!(max <= WINDOW, "bounded: {max}");
        None
    }

    #[test]
    fn a_signature_is_found_whatever_the_split() {
        let needle = b"You have an error in your SQL syntax";
        for at in [0, 5, WINDOW - 10, WINDOW + 3, 3 * WINDOW - 17, 300_000] {
            let mut body = vec![b'.'; 400_000];
            body[at..at + needle.len()].copy_from_slice(needle);
            for chunk in [1 << 20, WINDOW, 16_384, 1000, 7] {
                let (found, _) = find(&body, chunk, needle).unwrap_or_else(|| panic!("at {at} in {chunk}s"));
                let start = found.offset - 1000;
                assert!(start <= at as u64, "window starts before the signature");
                assert!(at as u64 + needle.len() as u64 <= start + WINDOW as u64, "and holds it");
            }
        }
    }

    #[test]
    fn clean_bodies_are_scanned_whole_and_nothing_is_found() {
        let body = vec![b'.'; 1_000_000];
        assert_eq!(find(&body, 16_384, b"leak"), None);
        let mut scan = TailScan::new(0);
        let mut covered = 0u64;
        scan.push(&body, |w| {
            assert!(w.offset <= covered, "no gap before window {}", w.index);
            covered = w.offset + w.bytes.len() as u64;
            false
        });
        assert_eq!(covered, body.len() as u64);
    }
}
