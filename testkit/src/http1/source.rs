//! A `BufRead` that counts what it consumed and reads bounded lines, so that no peer can make
//! a reader allocate more than its limits and every error can say at which byte it stopped.

use super::error::{Error, Part};
use std::io::{BufRead, Read};

/// Bytes in, with the offset of the next one.
pub(crate) struct Source<'r, R> {
    inner: &'r mut R,
    offset: u64,
}

/// A line without its LF and without one CR before the LF.
pub(crate) type Line = Vec<u8>;

impl<'r, R: BufRead> Source<'r, R> {
    pub(crate) fn new(inner: &'r mut R) -> Self {
        Source { inner, offset: 0 }
    }

    /// Bytes consumed so far.
    pub(crate) fn offset(&self) -> u64 {
        self.offset
    }

    /// Reads one line of at most `max` bytes (line end included). `Ok(None)` when the input
    /// ends before the line starts; a line the input cuts off is [`Error::Truncated`], a longer
    /// one [`Error::TooLarge`] (after reading at most `max + 1` bytes of it).
    pub(crate) fn line(&mut self, max: usize, part: Part, limit: usize) -> Result<Option<Line>, Error> {
        let mut line = Vec::new();
        let read = (&mut *self.inner).take(max as u64 + 1).read_until(b'\n', &mut line)?;
        self.offset += read as u64;
        if read == 0 {
            return Ok(None);
        }
        if read > max {
            return Err(Error::TooLarge { part, limit });
        }
        if line.last() != Some(&b'\n') {
            return Err(Error::Truncated {
                offset: self.offset,
                part,
            });
        }
        line.pop();
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        Ok(Some(line))
    }

    /// Appends exactly `n` bytes to `out`; when the input ends first, what arrived stays in
    /// `out` and the error says where. Memory grows with what arrives, not with `n`.
    pub(crate) fn read_exact_into(&mut self, n: u64, out: &mut Vec<u8>, part: Part) -> Result<(), Error> {
        let read = (&mut *self.inner).take(n).read_to_end(out)? as u64;
        self.offset += read;
        if read < n {
            return Err(Error::Truncated {
                offset: self.offset,
                part,
            });
        }
        Ok(())
    }

    /// Appends everything up to the end of the input, refusing more than `max` bytes.
    pub(crate) fn read_to_end_into(&mut self, max: u64, out: &mut Vec<u8>) -> Result<(), Error> {
        let read = (&mut *self.inner).take(max.saturating_add(1)).read_to_end(out)? as u64;
        self.offset += read;
        if read > max {
            return Err(Error::BodyTooLarge { limit: max });
        }
        Ok(())
    }

    /// The next byte without consuming it; `None` at the end of the input.
    pub(crate) fn peek(&mut self) -> Result<Option<u8>, Error> {
        Ok(self.inner.fill_buf()?.first().copied())
    }

    /// Consumes one byte previously seen with [`Source::peek`].
    pub(crate) fn skip_byte(&mut self) {
        self.inner.consume(1);
        self.offset += 1;
    }
}
