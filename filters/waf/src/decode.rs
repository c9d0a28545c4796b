//! `Content-Encoding` decoding of bodies before the engine reads them: gzip (`x-gzip`), deflate
//! (zlib-wrapped or raw, as servers and browsers both send it), brotli (`br`), and stacks of
//! them (`gzip, br`: applied in that order, decoded in reverse). Streaming (fed chunk by chunk,
//! any split) and bounded: the decoded bytes stop at the caller's limit, and a ratio guard
//! stops a small input that expands past [`MAX_RATIO`] times its size (a decompression bomb)
//! once more than [`RATIO_FLOOR`] bytes came out.

// The request path: a panic here traps the VM and fails every request it serves.
#![warn(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use brotli_decompressor::{BrotliDecompressStream, BrotliResult, BrotliState, StandardAlloc};
use flate2::{Crc, Decompress, FlushDecompress, Status};

/// Decoded bytes per input byte above which a body is a decompression bomb. gzip and deflate
/// reach about 1030:1 on constant input; ordinary text, HTML and JSON compress 3:1 to 20:1.
pub const MAX_RATIO: u64 = 200;

/// Decoded bytes below which the ratio guard does not apply (a small, very repetitive body
/// is no threat).
pub const RATIO_FLOOR: u64 = 64 * 1024;

/// The `Content-Encoding` values meshward decodes (each coding of a list), as a SecLang `@rx`
/// over the lowercased header: a comma-separated list of supported codings (`identity` is a
/// no-op). The profile's rules use it; [`Coding::parse_list`] accepts exactly these.
pub const SUPPORTED_PATTERN: &str =
    r"^\s*(?:gzip|x-gzip|deflate|br|identity)(?:\s*,\s*(?:gzip|x-gzip|deflate|br|identity))*\s*$";

/// Output scratch per decoding step.
const SCRATCH: usize = 16 * 1024;

/// Longest gzip header accepted (its optional name, comment and extra field included).
const MAX_GZIP_HEADER: usize = 64 * 1024;

/// One content coding meshward decodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coding {
    /// `gzip` / `x-gzip` (RFC 1952), members concatenated.
    Gzip,
    /// `deflate`: zlib (RFC 1950) as specified, or raw deflate (RFC 1951) as some servers send.
    Deflate,
    /// `br` (RFC 7932).
    Brotli,
}

impl Coding {
    /// The codings of a `Content-Encoding` value in the order they were applied (`identity`
    /// dropped); `Err` names the first coding meshward does not decode.
    pub fn parse_list(value: &str) -> Result<Vec<Coding>, String> {
        let mut out = Vec::new();
        for name in value.split(',').map(str::trim) {
            match name.to_ascii_lowercase().as_str() {
                "gzip" | "x-gzip" => out.push(Coding::Gzip),
                "deflate" => out.push(Coding::Deflate),
                "br" => out.push(Coding::Brotli),
                "identity" => {}
                _ => return Err(name.to_string()),
            }
        }
        Ok(out)
    }

    /// The coding's name in evidence.
    pub fn name(self) -> &'static str {
        match self {
            Coding::Gzip => "gzip",
            Coding::Deflate => "deflate",
            Coding::Brotli => "br",
        }
    }
}

/// Why decoding stopped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The decoded body reached the caller's limit (what came out so far is kept).
    #[error("decoded body is larger than {limit} bytes")]
    OverLimit {
        /// The limit in bytes.
        limit: usize,
    },
    /// The body expands more than [`MAX_RATIO`] times its encoded size.
    #[error("decoded body expands {decoded} bytes from {encoded} encoded bytes (over {MAX_RATIO}:1)")]
    Bomb {
        /// Encoded bytes read.
        encoded: u64,
        /// Bytes decoded from them.
        decoded: u64,
    },
    /// The bytes are not valid for the coding.
    #[error("{coding} body is corrupt: {reason}")]
    Corrupt {
        /// The coding that failed.
        coding: &'static str,
        /// What was wrong.
        reason: String,
    },
    /// The body ended in the middle of the coded stream.
    #[error("{coding} body is truncated")]
    Truncated {
        /// The coding that failed.
        coding: &'static str,
    },
}

/// A streaming decoder for one body's `Content-Encoding`.
pub struct Decoder {
    /// In decoding order (the last coding applied first).
    stages: Vec<Stage>,
    limit: usize,
    encoded: u64,
    decoded: u64,
    failed: Option<DecodeError>,
}

impl std::fmt::Debug for Decoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decoder")
            .field("limit", &self.limit)
            .field("encoded", &self.encoded)
            .field("decoded", &self.decoded)
            .field("failed", &self.failed)
            .finish_non_exhaustive()
    }
}

impl Decoder {
    /// A decoder for `codings` (in the order applied) whose output stops at `limit` bytes;
    /// `None` when there is nothing to decode.
    pub fn new(codings: &[Coding], limit: usize) -> Option<Decoder> {
        if codings.is_empty() {
            return None;
        }
        Some(Decoder {
            stages: codings.iter().rev().map(|&c| Stage::new(c)).collect(),
            limit,
            encoded: 0,
            decoded: 0,
            failed: None,
        })
    }

    /// Decodes the next chunk of encoded bytes, appending what comes out to `out`. After an
    /// error every later call returns it again and decodes nothing.
    pub fn push(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<(), DecodeError> {
        self.run(input, false, out)
    }

    /// The end of the body: a stream that stopped in the middle is [`DecodeError::Truncated`].
    pub fn finish(&mut self, out: &mut Vec<u8>) -> Result<(), DecodeError> {
        self.run(&[], true, out)
    }

    /// Why decoding stopped, once it has.
    pub fn error(&self) -> Option<&DecodeError> {
        self.failed.as_ref()
    }

    /// Encoded bytes read so far.
    pub fn encoded(&self) -> u64 {
        self.encoded
    }

    /// Decoded bytes produced so far.
    pub fn decoded(&self) -> u64 {
        self.decoded
    }

    fn run(&mut self, input: &[u8], end: bool, out: &mut Vec<u8>) -> Result<(), DecodeError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        self.encoded += input.len() as u64;
        let decoded = usize::try_from(self.decoded).unwrap_or(usize::MAX);
        let by_limit = self.limit.saturating_sub(decoded);
        // One byte past the ratio's allowance shows the bomb without decoding any more of it.
        let allowance = RATIO_FLOOR
            .max(self.encoded.saturating_mul(MAX_RATIO))
            .saturating_add(1);
        let by_ratio = usize::try_from(allowance).unwrap_or(usize::MAX).saturating_sub(decoded);
        let result = self.pipe(input, end, by_limit.min(by_ratio), out).map_err(|e| match e {
            DecodeError::OverLimit { .. } if by_ratio < by_limit => DecodeError::Bomb {
                encoded: self.encoded,
                decoded: self.decoded,
            },
            e => e,
        });
        if let Err(e) = &result {
            self.failed = Some(e.clone());
        }
        result
    }

    /// Runs `input` through every stage; each stage's output is the next one's input.
    fn pipe(&mut self, input: &[u8], end: bool, room: usize, out: &mut Vec<u8>) -> Result<(), DecodeError> {
        let mut data = input.to_vec();
        let last = self.stages.len().saturating_sub(1);
        let mut cut = false;
        for (i, stage) in self.stages.iter_mut().enumerate() {
            let mut next = Vec::new();
            // Intermediate stages are bounded by the same limit (a stacked bomb stops early).
            let full = stage.push(&data, &mut next, room)?;
            cut |= full;
            if end && !cut {
                stage.finish()?;
            }
            if i == last {
                self.decoded += next.len() as u64;
                out.extend_from_slice(&next);
            }
            data = next;
        }
        if cut {
            return Err(DecodeError::OverLimit { limit: self.limit });
        }
        Ok(())
    }
}

/// One coding's decoder state.
enum Stage {
    Gzip(Gzip),
    Deflate(Deflate),
    Brotli(Box<Brotli>),
}

impl Stage {
    fn new(coding: Coding) -> Stage {
        match coding {
            Coding::Gzip => Stage::Gzip(Gzip::new()),
            Coding::Deflate => Stage::Deflate(Deflate::Sniffing(Vec::new())),
            Coding::Brotli => Stage::Brotli(Box::new(Brotli::new())),
        }
    }

    /// Decodes `input` into `out`, at most `room` bytes; `true` when more would have come out.
    fn push(&mut self, input: &[u8], out: &mut Vec<u8>, room: usize) -> Result<bool, DecodeError> {
        match self {
            Stage::Gzip(g) => g.push(input, out, room),
            Stage::Deflate(d) => d.push(input, out, room),
            Stage::Brotli(b) => b.push(input, out, room),
        }
    }

    /// Whether the stream ended where the body ended.
    fn finish(&self) -> Result<(), DecodeError> {
        let (done, coding) = match self {
            Stage::Gzip(g) => (g.complete(), "gzip"),
            Stage::Deflate(d) => (d.complete(), "deflate"),
            Stage::Brotli(b) => (b.done || b.total_in == 0, "br"),
        };
        if done {
            Ok(())
        } else {
            Err(DecodeError::Truncated { coding })
        }
    }
}

/// Appends `produced` to `out` within `room`; `true` when it did not all fit.
fn take(out: &mut Vec<u8>, produced: &[u8], room: usize) -> bool {
    let left = room.saturating_sub(out.len());
    let fits = produced.len().min(left);
    out.extend_from_slice(produced.get(..fits).unwrap_or_default());
    fits < produced.len()
}

fn corrupt(coding: &'static str, reason: impl Into<String>) -> DecodeError {
    DecodeError::Corrupt {
        coding,
        reason: reason.into(),
    }
}

/// An inflate stream (zlib or raw); `done` once its end was decoded.
struct Inflate {
    z: Decompress,
    done: bool,
    scratch: Vec<u8>,
}

impl Inflate {
    fn new(zlib: bool) -> Inflate {
        Inflate {
            z: Decompress::new(zlib),
            done: false,
            scratch: vec![0; SCRATCH],
        }
    }

    /// Inflates from `input` until the stream ends, the input runs out or `room` is reached;
    /// returns the bytes of `input` consumed and whether the output was cut at `room`.
    fn push(
        &mut self,
        coding: &'static str,
        mut input: &[u8],
        out: &mut Vec<u8>,
        room: usize,
        mut crc: Option<&mut Crc>,
    ) -> Result<(usize, bool), DecodeError> {
        let mut consumed = 0;
        while !self.done {
            let (in0, out0) = (self.z.total_in(), self.z.total_out());
            let status = self
                .z
                .decompress(input, &mut self.scratch, FlushDecompress::None)
                .map_err(|e| corrupt(coding, e.to_string()))?;
            let used = usize::try_from(self.z.total_in() - in0).unwrap_or(usize::MAX);
            let made = usize::try_from(self.z.total_out() - out0).unwrap_or(usize::MAX);
            let produced = self.scratch.get(..made).unwrap_or_default();
            if let Some(c) = crc.as_deref_mut() {
                c.update(produced);
            }
            consumed += used;
            input = input.get(used..).unwrap_or_default();
            if take(out, produced, room) {
                return Ok((consumed, true));
            }
            if status == Status::StreamEnd {
                self.done = true;
            } else if used == 0 && made < self.scratch.len() {
                // Nothing more until more input comes.
                break;
            }
        }
        Ok((consumed, false))
    }
}

/// `deflate`: the first two bytes say whether it is zlib-wrapped or raw.
enum Deflate {
    Sniffing(Vec<u8>),
    Inflating(Inflate),
}

impl Deflate {
    fn push(&mut self, input: &[u8], out: &mut Vec<u8>, room: usize) -> Result<bool, DecodeError> {
        if let Deflate::Sniffing(head) = self {
            head.extend_from_slice(input);
            let [cmf, flg, ..] = head[..] else {
                return Ok(false);
            };
            // RFC 1950: CM 8, window at most 32 KiB, header check multiple of 31.
            let zlib = cmf & 0x0f == 8 && cmf >> 4 <= 7 && (u16::from(cmf) << 8 | u16::from(flg)) % 31 == 0;
            let head = std::mem::take(head);
            let mut inflate = Inflate::new(zlib);
            let (used, full) = inflate.push("deflate", &head, out, room, None)?;
            *self = Deflate::Inflating(inflate);
            return trailing("deflate", &head, used, full, self.complete());
        }
        match self {
            Deflate::Inflating(inflate) => {
                let (used, full) = inflate.push("deflate", input, out, room, None)?;
                trailing("deflate", input, used, full, inflate.done)
            }
            Deflate::Sniffing(_) => Ok(false),
        }
    }

    fn complete(&self) -> bool {
        match self {
            Deflate::Sniffing(head) => head.is_empty(),
            Deflate::Inflating(i) => i.done,
        }
    }
}

/// After a stream ended, what follows it in the same body is not part of it.
fn trailing(coding: &'static str, input: &[u8], used: usize, full: bool, done: bool) -> Result<bool, DecodeError> {
    if !full && done && used < input.len() {
        return Err(corrupt(coding, "data after the end of the stream"));
    }
    Ok(full)
}

/// `gzip`: header, raw deflate with a CRC-32, 8-byte trailer; members may follow each other.
struct Gzip {
    part: GzPart,
    members: usize,
}

enum GzPart {
    /// Header bytes gathered so far.
    Header(Vec<u8>),
    Body(Inflate, Crc),
    /// Trailer bytes gathered so far, and the member's CRC.
    Trailer(Vec<u8>, Crc),
}

impl Gzip {
    fn new() -> Gzip {
        Gzip {
            part: GzPart::Header(Vec::new()),
            members: 0,
        }
    }

    fn complete(&self) -> bool {
        matches!(&self.part, GzPart::Header(h) if h.is_empty())
    }

    fn push(&mut self, mut input: &[u8], out: &mut Vec<u8>, room: usize) -> Result<bool, DecodeError> {
        while !input.is_empty() {
            match &mut self.part {
                GzPart::Header(head) => {
                    let before = head.len();
                    head.extend_from_slice(input);
                    match gzip_header(head)? {
                        Some(len) => {
                            input = input.get(len.saturating_sub(before)..).unwrap_or_default();
                            self.part = GzPart::Body(Inflate::new(false), Crc::new());
                        }
                        None if head.len() > MAX_GZIP_HEADER => return Err(corrupt("gzip", "header too long")),
                        None => return Ok(false),
                    }
                }
                GzPart::Body(inflate, crc) => {
                    let (used, full) = inflate.push("gzip", input, out, room, Some(crc))?;
                    if full {
                        return Ok(true);
                    }
                    input = input.get(used..).unwrap_or_default();
                    if inflate.done {
                        let crc = std::mem::replace(crc, Crc::new());
                        self.part = GzPart::Trailer(Vec::new(), crc);
                    }
                }
                GzPart::Trailer(tail, crc) => {
                    let want = 8usize.saturating_sub(tail.len()).min(input.len());
                    tail.extend_from_slice(input.get(..want).unwrap_or_default());
                    input = input.get(want..).unwrap_or_default();
                    if let [c0, c1, c2, c3, n0, n1, n2, n3] = tail[..] {
                        if u32::from_le_bytes([c0, c1, c2, c3]) != crc.sum() {
                            return Err(corrupt("gzip", "CRC mismatch"));
                        }
                        if u32::from_le_bytes([n0, n1, n2, n3]) != crc.amount() {
                            return Err(corrupt("gzip", "length mismatch"));
                        }
                        self.members += 1;
                        self.part = GzPart::Header(Vec::new());
                    }
                }
            }
        }
        Ok(false)
    }
}

/// The length of the gzip header at the start of `b` (RFC 1952 2.3), `None` while incomplete.
fn gzip_header(b: &[u8]) -> Result<Option<usize>, DecodeError> {
    const FHCRC: u8 = 2;
    const FEXTRA: u8 = 4;
    const FNAME: u8 = 8;
    const FCOMMENT: u8 = 16;
    if let Some(magic) = b.get(..2) {
        if magic != [0x1f, 0x8b] {
            return Err(corrupt("gzip", "not a gzip member"));
        }
    }
    let (Some(&method), Some(&flags)) = (b.get(2), b.get(3)) else {
        return Ok(None);
    };
    if method != 8 {
        return Err(corrupt("gzip", format!("compression method {method}")));
    }
    let mut at = 10;
    if flags & FEXTRA != 0 {
        let (Some(&x0), Some(&x1)) = (b.get(10), b.get(11)) else {
            return Ok(None);
        };
        at = 12 + usize::from(u16::from_le_bytes([x0, x1]));
    }
    for flag in [FNAME, FCOMMENT] {
        if flags & flag != 0 {
            match b.get(at..).and_then(|rest| rest.iter().position(|&c| c == 0)) {
                Some(nul) => at += nul + 1,
                None => return Ok(None),
            }
        }
    }
    if flags & FHCRC != 0 {
        at += 2;
    }
    Ok((b.len() >= at).then_some(at))
}

/// `br`, through brotli-decompressor's streaming state.
struct Brotli {
    state: BrotliState<StandardAlloc, StandardAlloc, StandardAlloc>,
    done: bool,
    total_in: usize,
    scratch: Vec<u8>,
}

impl Brotli {
    fn new() -> Brotli {
        let mut state = BrotliState::new(
            StandardAlloc::default(),
            StandardAlloc::default(),
            StandardAlloc::default(),
        );
        // RFC 7932 windows only (at most 16 MiB): the large-window extension would let a body
        // ask for a 1 GiB window.
        state.large_window = false;
        Brotli {
            state,
            done: false,
            total_in: 0,
            scratch: vec![0; SCRATCH],
        }
    }

    fn push(&mut self, input: &[u8], out: &mut Vec<u8>, room: usize) -> Result<bool, DecodeError> {
        self.total_in += input.len();
        let mut offset = 0;
        loop {
            if self.done {
                return trailing("br", input, offset, false, true);
            }
            let mut available_in = input.len().saturating_sub(offset);
            let mut available_out = self.scratch.len();
            let mut out_offset = 0;
            let mut total = 0;
            let result = BrotliDecompressStream(
                &mut available_in,
                &mut offset,
                input,
                &mut available_out,
                &mut out_offset,
                &mut self.scratch,
                &mut total,
                &mut self.state,
            );
            if take(out, self.scratch.get(..out_offset).unwrap_or_default(), room) {
                return Ok(true);
            }
            match result {
                BrotliResult::ResultSuccess => self.done = true,
                BrotliResult::NeedsMoreOutput => {}
                BrotliResult::NeedsMoreInput => return Ok(false),
                BrotliResult::ResultFailure => return Err(corrupt("br", "invalid brotli stream")),
            }
        }
    }
}

#[cfg(test)]
mod tests;
