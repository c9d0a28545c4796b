//! The fixed-layout state of one entity, and its byte encoding (what a table slot holds).
//!
//! Layout (little endian, [`RECORD_LEN`] bytes): version, kind, 2 reserved, fingerprint u64,
//! first/last seen ms u64, per-detector `until` u32 seconds ×8, probing (level f32, last u32,
//! paths u128), crawling window (start u32, paths u128), auth window (start u32, distinct u128),
//! rate (bucket start u32, count u32, EWMA mean/var f32 + n u32), response size EWMA, two Bloom
//! filters of 256 bits. Anything else (another length, version or kind) decodes as empty: a
//! slot written by an older or newer build, or corrupted, restarts from nothing.

use crate::bitmap::Bitmap;
use crate::bloom::Bloom;
use crate::detectors::DETECTORS;
use crate::entity::EntityKind;
use crate::ewma::Ewma;

/// Version byte of the layout below.
pub const VERSION: u8 = 1;
/// Encoded size of a record (at most 256 by design).
pub const RECORD_LEN: usize = 220;
const _: () = assert!(RECORD_LEN <= 256);

/// A fixed window counting distinct items (crawling, brute force).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Window {
    /// Window start, seconds.
    pub start: u32,
    /// Distinct items in the window.
    pub distinct: Bitmap,
}

impl Window {
    /// Opens a new window at `now_s` when `secs` have passed since this one opened.
    pub fn roll(&mut self, now_s: u32, secs: u32) {
        if now_s >= self.start.saturating_add(secs) {
            self.distinct.clear();
            self.start = now_s;
        }
    }
}

/// A leaky bucket of distinct error paths (probing).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Leaky {
    /// Current level.
    pub level: f32,
    /// When the level was last drained, seconds.
    pub last: u32,
    /// Error paths counted since the bucket was last empty (each counts once).
    pub paths: Bitmap,
}

/// Request-rate buckets and their EWMA (rate spikes).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Rate {
    /// Start of the open bucket, seconds.
    pub start: u32,
    /// Requests in the open bucket.
    pub count: u32,
    /// EWMA of closed buckets' counts.
    pub stats: Ewma,
}

/// The state of one entity.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Record {
    /// The entity's kind.
    pub kind: EntityKind,
    /// The entity's fingerprint (0: the slot is empty); tells a slot collision from the owner.
    pub fingerprint: u64,
    /// First observation, ms.
    pub first_seen: u64,
    /// Last observation, ms.
    pub last_seen: u64,
    /// Per detector: blocked (enforce) or alert suppressed (detect) until, seconds.
    pub until: [u32; DETECTORS],
    /// Probing.
    pub probe: Leaky,
    /// Crawling.
    pub crawl: Window,
    /// Brute force: usernames per source, or sources per username.
    pub auth: Window,
    /// Rate spikes.
    pub rate: Rate,
    /// Response sizes (endpoints).
    pub size: Ewma,
    /// Seen endpoints (identities) or known callers (workloads).
    pub seen: Bloom,
    /// Known egress hosts (workloads).
    pub egress: Bloom,
}

impl Record {
    /// A new record for an entity first seen at `now` ms.
    pub fn new(kind: EntityKind, fingerprint: u64, now: u64) -> Self {
        let s = crate::time::secs(now);
        Self {
            kind,
            fingerprint,
            first_seen: now,
            last_seen: now,
            until: [0; DETECTORS],
            probe: Leaky {
                last: s,
                ..Leaky::default()
            },
            crawl: Window {
                start: s,
                ..Window::default()
            },
            auth: Window {
                start: s,
                ..Window::default()
            },
            rate: Rate {
                start: s,
                ..Rate::default()
            },
            size: Ewma::default(),
            seen: Bloom::default(),
            egress: Bloom::default(),
        }
    }

    /// The encoded record.
    pub fn to_bytes(&self) -> [u8; RECORD_LEN] {
        let mut w = Writer {
            buf: [0; RECORD_LEN],
            at: 0,
        };
        w.put(&[VERSION, self.kind.code(), 0, 0]);
        w.u64(self.fingerprint);
        w.u64(self.first_seen);
        w.u64(self.last_seen);
        for u in self.until {
            w.u32(u);
        }
        w.f32(self.probe.level);
        w.u32(self.probe.last);
        w.u128(self.probe.paths.0);
        for win in [&self.crawl, &self.auth] {
            w.u32(win.start);
            w.u128(win.distinct.0);
        }
        w.u32(self.rate.start);
        w.u32(self.rate.count);
        w.ewma(&self.rate.stats);
        w.ewma(&self.size);
        for bloom in [&self.seen, &self.egress] {
            for word in bloom.0 {
                w.u64(word);
            }
        }
        debug_assert_eq!(w.at, RECORD_LEN);
        w.buf
    }

    /// The owner's fingerprint, reading only the first 12 bytes; `None` exactly when
    /// [`Record::from_bytes`] would be (a lookup that finds someone else stops here).
    pub fn owner(bytes: &[u8; RECORD_LEN]) -> Option<u64> {
        let mut r = Reader { buf: bytes, at: 0 };
        let head = r.take::<4>()?;
        if head[0] != VERSION {
            return None;
        }
        EntityKind::from_code(head[1])?;
        r.u64().filter(|&fp| fp != 0)
    }

    /// Decodes only what placement needs (owner, idleness, blocks); `None` exactly when
    /// [`Record::from_bytes`] would be, so a slot holding a foreign entity costs no full decode.
    pub fn head(bytes: &[u8; RECORD_LEN]) -> Option<Head> {
        let fingerprint = Self::owner(bytes)?;
        // After the 12 bytes `owner` read: first seen (8), last seen (8), until (4 each).
        let mut r = Reader { buf: bytes, at: 20 };
        let last_seen = r.u64()?;
        let mut until = [0u32; DETECTORS];
        for u in &mut until {
            *u = r.u32()?;
        }
        Some(Head {
            fingerprint,
            last_seen,
            until,
        })
    }

    /// Decodes a record; `None` (an empty slot) for any other length, version or kind.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let bytes: &[u8; RECORD_LEN] = bytes.try_into().ok()?;
        let mut r = Reader { buf: bytes, at: 0 };
        let head = r.take::<4>()?;
        if head[0] != VERSION {
            return None;
        }
        let kind = EntityKind::from_code(head[1])?;
        let fingerprint = r.u64()?;
        if fingerprint == 0 {
            return None;
        }
        let first_seen = r.u64()?;
        let last_seen = r.u64()?;
        let mut until = [0u32; DETECTORS];
        for u in &mut until {
            *u = r.u32()?;
        }
        let probe = Leaky {
            level: r.f32()?,
            last: r.u32()?,
            paths: Bitmap(r.u128()?),
        };
        let crawl = Window {
            start: r.u32()?,
            distinct: Bitmap(r.u128()?),
        };
        let auth = Window {
            start: r.u32()?,
            distinct: Bitmap(r.u128()?),
        };
        let rate = Rate {
            start: r.u32()?,
            count: r.u32()?,
            stats: r.ewma()?,
        };
        let size = r.ewma()?;
        let seen = Bloom([r.u64()?, r.u64()?, r.u64()?, r.u64()?]);
        let egress = Bloom([r.u64()?, r.u64()?, r.u64()?, r.u64()?]);
        Some(Self {
            kind,
            fingerprint,
            first_seen,
            last_seen,
            until,
            probe,
            crawl,
            auth,
            rate,
            size,
            seen,
            egress,
        })
    }
}

/// The leading fields of an encoded record (see [`Record::head`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    /// The owner's fingerprint.
    pub fingerprint: u64,
    /// Last observation, ms.
    pub last_seen: u64,
    /// Per detector: blocked or alert suppressed until, seconds.
    pub until: [u32; DETECTORS],
}

struct Writer {
    buf: [u8; RECORD_LEN],
    at: usize,
}

impl Writer {
    fn put(&mut self, b: &[u8]) {
        // The layout is fixed and sized by RECORD_LEN; a short write would be a layout bug,
        // caught by the round-trip tests, never a request-path panic.
        if let Some(dst) = self.buf.get_mut(self.at..self.at + b.len()) {
            dst.copy_from_slice(b);
        }
        self.at += b.len();
    }
    fn u32(&mut self, v: u32) {
        self.put(&v.to_le_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.put(&v.to_le_bytes());
    }
    fn u128(&mut self, v: u128) {
        self.put(&v.to_le_bytes());
    }
    fn f32(&mut self, v: f32) {
        self.put(&v.to_le_bytes());
    }
    fn ewma(&mut self, e: &Ewma) {
        self.f32(e.mean);
        self.f32(e.var);
        self.u32(e.n);
    }
}

struct Reader<'a> {
    buf: &'a [u8; RECORD_LEN],
    at: usize,
}

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        let b = self.buf.get(self.at..self.at + N)?.try_into().ok()?;
        self.at += N;
        Some(b)
    }
    fn u32(&mut self) -> Option<u32> {
        self.take().map(u32::from_le_bytes)
    }
    fn u64(&mut self) -> Option<u64> {
        self.take().map(u64::from_le_bytes)
    }
    fn u128(&mut self) -> Option<u128> {
        self.take().map(u128::from_le_bytes)
    }
    fn f32(&mut self) -> Option<f32> {
        // A NaN or infinity (corruption) would poison every later comparison: read it as 0.
        self.take()
            .map(f32::from_le_bytes)
            .map(|v| if v.is_finite() { v } else { 0.0 })
    }
    fn ewma(&mut self) -> Option<Ewma> {
        Some(Ewma {
            mean: self.f32()?,
            var: self.f32()?,
            n: self.u32()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Record {
        let mut r = Record::new(EntityKind::Client, 0xdead_beef_0bad_cafe, 1_796_672_788_123);
        r.last_seen += 5_000;
        r.until = [1, 2, 3, 4, 5, 6, 7, u32::MAX];
        r.probe.level = 3.5;
        r.probe.paths.insert(17);
        r.crawl.distinct.insert(99);
        r.auth.distinct.insert(3);
        r.rate.count = 12;
        r.rate.stats = Ewma {
            mean: 4.25,
            var: 1.5,
            n: 31,
        };
        r.size = Ewma {
            mean: 2048.0,
            var: 100.0,
            n: 7,
        };
        r.seen.insert(0x1234_5678_9abc_def0);
        r.egress.insert(42);
        r
    }

    #[test]
    fn round_trips_every_field() {
        let r = sample();
        let bytes = r.to_bytes();
        assert_eq!(bytes.len(), RECORD_LEN);
        assert_eq!(Record::from_bytes(&bytes), Some(r));
    }

    #[test]
    fn the_head_agrees_with_the_full_decode() {
        let r = sample();
        let bytes = r.to_bytes();
        let h = Record::head(&bytes).unwrap();
        assert_eq!(
            (h.fingerprint, h.last_seen, h.until),
            (r.fingerprint, r.last_seen, r.until)
        );
        for (at, value) in [(0, 0u8), (1, 0), (1, 7), (4, 0)] {
            let mut b = bytes;
            b[at] = value;
            if at == 4 {
                b[4..12].fill(0);
            }
            assert_eq!(
                Record::head(&b).is_some(),
                Record::from_bytes(&b).is_some(),
                "byte {at}"
            );
            assert!(Record::head(&b).is_none(), "byte {at} = {value}");
            assert!(Record::owner(&b).is_none(), "byte {at} = {value}");
        }
    }

    #[test]
    fn every_cut_and_every_extension_is_empty() {
        let bytes = sample().to_bytes();
        for cut in 0..RECORD_LEN {
            assert_eq!(Record::from_bytes(&bytes[..cut]), None, "first {cut} bytes");
        }
        let mut longer = bytes.to_vec();
        longer.push(0);
        assert_eq!(Record::from_bytes(&longer), None);
    }

    #[test]
    fn another_version_kind_or_a_zero_fingerprint_is_empty() {
        let bytes = sample().to_bytes();
        for (at, value) in [(0, 0u8), (0, 2), (1, 0), (1, 7), (1, 255)] {
            let mut b = bytes;
            b[at] = value;
            assert_eq!(Record::from_bytes(&b), None, "byte {at} = {value}");
        }
        let mut b = bytes;
        b[4..12].fill(0);
        assert_eq!(Record::from_bytes(&b), None);
    }

    #[test]
    fn any_byte_flip_decodes_without_panicking_and_never_to_nan() {
        let bytes = sample().to_bytes();
        for at in 0..RECORD_LEN {
            for v in [0u8, 0x7f, 0x80, 0xff] {
                let mut b = bytes;
                b[at] = v;
                if let Some(r) = Record::from_bytes(&b) {
                    for f in [
                        r.probe.level,
                        r.rate.stats.mean,
                        r.rate.stats.var,
                        r.size.mean,
                        r.size.var,
                    ] {
                        assert!(f.is_finite(), "byte {at} = {v}");
                    }
                }
            }
        }
    }
}
