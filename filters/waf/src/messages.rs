//! gRPC's length-prefixed messages (1 flag byte, 4-byte big-endian length, payload) cut out of a
//! request body as its bytes arrive, so each message can be inspected, and released, on its own.
//!
//! Memory is bounded by the inspection limit: a message is buffered whole only while it fits in
//! `limit` bytes (prefix included); of a bigger one only its first `limit + 1` bytes are kept
//! (enough for the engine's limit action to apply) and the rest is skipped.

// The request path: a panic here traps the VM and fails every request it serves.
#![warn(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

/// Bytes of a message's prefix: the compressed flag and the length.
const PREFIX: usize = 5;

/// Whether a request `Content-Type` carries length-prefixed messages: `application/grpc`,
/// `application/grpc+proto`, `application/grpc-web(+proto)`. `application/grpc-web-text` is
/// base64 text, not framed bytes, so it is not one of them.
pub fn is_framed(content_type: &str) -> bool {
    let mime = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    let Some(rest) = mime.strip_prefix("application/grpc") else {
        return false;
    };
    let rest = rest.strip_prefix("-web").unwrap_or(rest);
    rest.is_empty() || rest.starts_with('+')
}

/// One piece of the body, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    /// A whole message, prefix included.
    Message(Vec<u8>),
    /// The first `limit + 1` bytes of a message bigger than the limit; its other bytes are
    /// skipped (they pass uninspected, or never, per the limit action).
    Oversized(Vec<u8>),
}

/// Splits a body into [`Piece`]s across any chunking.
#[derive(Debug, Clone)]
pub struct Splitter {
    limit: usize,
    /// Bytes of the current message not yet complete.
    pending: Vec<u8>,
    /// Bytes of an oversized message still to skip.
    skip: usize,
}

impl Splitter {
    /// A splitter that buffers at most `limit + 1` bytes of one message.
    pub fn new(limit: usize) -> Splitter {
        Splitter {
            limit,
            pending: Vec::new(),
            skip: 0,
        }
    }

    /// Takes the next bytes of the body; returns the pieces they complete.
    pub fn push(&mut self, mut bytes: &[u8]) -> Vec<Piece> {
        let mut pieces = Vec::new();
        loop {
            let skipped = self.skip.min(bytes.len());
            self.skip -= skipped;
            bytes = bytes.get(skipped..).unwrap_or_default();
            if bytes.is_empty() {
                return pieces;
            }
            // Only as much as the current message (or the oversized part kept) still needs.
            let want = match self.declared() {
                Some(total) if total > self.limit => self.limit.saturating_add(1),
                Some(total) => total,
                None => PREFIX,
            }
            .saturating_sub(self.pending.len());
            let (now, rest) = bytes.split_at(want.min(bytes.len()));
            self.pending.extend_from_slice(now);
            bytes = rest;
            match self.declared() {
                Some(total) if total > self.limit && self.pending.len() > self.limit => {
                    self.skip = total - self.pending.len();
                    pieces.push(Piece::Oversized(std::mem::take(&mut self.pending)));
                }
                Some(total) if total <= self.limit && self.pending.len() == total => {
                    pieces.push(Piece::Message(std::mem::take(&mut self.pending)));
                }
                _ => {}
            }
        }
    }

    /// The body ended: what is left of an incomplete message (`None` when the body ended on a
    /// message boundary).
    pub fn finish(&mut self) -> Option<Vec<u8>> {
        self.skip = 0;
        Some(std::mem::take(&mut self.pending)).filter(|p| !p.is_empty())
    }

    /// True when no message is partly received: everything pushed so far was handed out.
    pub fn at_boundary(&self) -> bool {
        self.pending.is_empty()
    }

    /// The current message's size, prefix included, once its prefix is in.
    fn declared(&self) -> Option<usize> {
        let prefix: [u8; PREFIX] = self.pending.get(..PREFIX)?.try_into().ok()?;
        let [_, a, b, c, d] = prefix;
        let len = usize::try_from(u32::from_be_bytes([a, b, c, d])).unwrap_or(usize::MAX);
        Some(len.saturating_add(PREFIX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(payload: &[u8]) -> Vec<u8> {
        let mut m = vec![0];
        m.extend_from_slice(&(payload.len() as u32).to_be_bytes());
        m.extend_from_slice(payload);
        m
    }

    #[test]
    fn grpc_content_types_are_framed() {
        for ct in [
            "application/grpc",
            "application/grpc+proto",
            "Application/GRPC; charset=x",
            "application/grpc-web",
            "application/grpc-web+proto",
        ] {
            assert!(is_framed(ct), "{ct}");
        }
        for ct in ["application/grpc-web-text", "application/grpcx", "application/json", ""] {
            assert!(!is_framed(ct), "{ct}");
        }
    }

    #[test]
    fn messages_split_at_every_byte_come_out_whole_and_in_order() {
        let messages = [frame(b"one"), frame(b""), frame(b"three three"), frame(b"4")];
        let body: Vec<u8> = messages.concat();
        for cut in 0..=body.len() {
            for second in cut..=body.len() {
                let mut s = Splitter::new(64);
                let (a, rest) = body.split_at(cut);
                let (b, c) = rest.split_at(second - cut);
                let mut got = Vec::new();
                for part in [a, b, c] {
                    got.extend(s.push(part));
                }
                let want: Vec<Piece> = messages.iter().cloned().map(Piece::Message).collect();
                assert_eq!(got, want, "cut at {cut} and {second}");
                assert!(s.at_boundary());
                assert_eq!(s.finish(), None);
            }
        }
    }

    #[test]
    fn boundary_is_known_byte_by_byte() {
        let body = [frame(b"ab"), frame(b"c")].concat();
        let mut s = Splitter::new(64);
        let mut boundaries = Vec::new();
        for (i, b) in body.iter().enumerate() {
            s.push(std::slice::from_ref(b));
            if s.at_boundary() {
                boundaries.push(i + 1);
            }
        }
        assert_eq!(boundaries, vec![7, 13]);
    }

    #[test]
    fn an_oversized_message_keeps_limit_plus_one_bytes_and_skips_the_rest() {
        let big = frame(&[b'x'; 40]);
        let body = [big.clone(), frame(b"after")].concat();
        for step in 1..=body.len() {
            let mut s = Splitter::new(20);
            let mut got = Vec::new();
            for chunk in body.chunks(step) {
                got.extend(s.push(chunk));
            }
            assert_eq!(
                got,
                vec![Piece::Oversized(big[..21].to_vec()), Piece::Message(frame(b"after"))],
                "chunks of {step}"
            );
        }
    }

    #[test]
    fn an_incomplete_message_is_what_finish_returns() {
        let mut s = Splitter::new(64);
        assert!(s.push(&frame(b"abcdef")[..8]).is_empty());
        assert!(!s.at_boundary());
        assert_eq!(s.finish(), Some(frame(b"abcdef")[..8].to_vec()));
        assert!(s.at_boundary());
    }
}
