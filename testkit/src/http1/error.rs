//! Why a message could not be read, and where: line numbers in the head, byte offsets in the body.

use std::fmt;

/// The part of a message a reader was in when the input stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// The start line or the header fields.
    Head,
    /// A body delimited by Content-Length (or by the end of the input).
    Body,
    /// A chunk-size line of a chunked body.
    ChunkSize,
    /// The data of a chunk, or the line end after it.
    ChunkData,
    /// The trailer section of a chunked body.
    Trailers,
}

impl fmt::Display for Part {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Part::Head => "the head",
            Part::Body => "the body",
            Part::ChunkSize => "a chunk-size line",
            Part::ChunkData => "chunk data",
            Part::Trailers => "the trailers",
        })
    }
}

/// What is wrong with a request or status line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StartLineError {
    /// Not three parts separated by single spaces.
    #[error("a request line is `METHOD SP TARGET SP HTTP/1.x`")]
    RequestShape,
    /// Not `HTTP/1.x SP CODE [SP REASON]`.
    #[error("a status line is `HTTP/1.x SP CODE [SP REASON]`")]
    StatusShape,
    /// The method is not a token.
    #[error("invalid method {0:?}")]
    Method(String),
    /// The request target is empty or holds a byte outside visible ASCII.
    #[error("invalid request target {0:?}")]
    Target(String),
    /// The version is not HTTP/1.x.
    #[error("not an HTTP/1.x version: {0:?}")]
    Version(String),
    /// The status code is not three digits.
    #[error("invalid status code {0:?}")]
    Status(String),
}

/// What is wrong with one header (or trailer) field line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FieldError {
    /// The line starts with whitespace: an obsolete folded continuation (RFC 9112 section 5.2).
    #[error("folded (obs-fold) continuation line")]
    Folded,
    /// The line has no colon.
    #[error("no colon in the field line")]
    NoColon,
    /// The name is empty or not a token (whitespace before the colon included).
    #[error("invalid field name {0:?}")]
    Name(String),
    /// The value holds NUL, CR or LF (RFC 9110 section 5.5).
    #[error("byte {0:#04x} in the field value")]
    Value(u8),
}

/// Why the headers do not say how long the body is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FramingError {
    /// Both Content-Length and Transfer-Encoding: a request smuggling vector, refused.
    #[error("both Content-Length and Transfer-Encoding")]
    LengthAndTransferEncoding,
    /// A request's final transfer coding is not `chunked`, so its length is unknown.
    #[error("final transfer coding {0:?} is not chunked")]
    UnsupportedCoding(String),
    /// A Content-Length value that is not a list of digits.
    #[error("invalid Content-Length {0:?}")]
    InvalidLength(String),
    /// A Content-Length too large for 64 bits.
    #[error("Content-Length {0} is too large")]
    LengthTooLarge(String),
    /// Content-Length values that differ.
    #[error("conflicting Content-Length values")]
    ConflictingLengths,
}

/// Why a message could not be read.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The reader failed.
    #[error("reading the message: {0}")]
    Io(#[from] std::io::Error),
    /// The input ended before the message did.
    #[error("the message ends at byte {offset}, inside {part}")]
    Truncated {
        /// Bytes read when the input ended.
        offset: u64,
        /// Where in the message.
        part: Part,
    },
    /// The head (or the trailer section, or a chunk-size line) exceeds the byte limit.
    #[error("{part} is larger than {limit} bytes")]
    TooLarge {
        /// Which part.
        part: Part,
        /// The limit.
        limit: usize,
    },
    /// The head (or the trailer section) has more lines than the limit.
    #[error("{part} has more than {limit} lines")]
    TooManyLines {
        /// Which part.
        part: Part,
        /// The limit.
        limit: usize,
    },
    /// The request or status line is malformed.
    #[error("line {line}: {error}")]
    StartLine {
        /// Line number in the message (1 is the first line read).
        line: usize,
        /// What is wrong.
        error: StartLineError,
    },
    /// A header field line is malformed.
    #[error("line {line}: {error}")]
    Field {
        /// Line number in the message.
        line: usize,
        /// What is wrong.
        error: FieldError,
    },
    /// The headers do not frame the body.
    #[error(transparent)]
    Framing(#[from] FramingError),
    /// A chunk-size line is not 1 to 15 hex digits (with optional extensions).
    #[error("byte {offset}: invalid chunk-size line {line:?}")]
    ChunkSize {
        /// Offset of the line.
        offset: u64,
        /// The line (lossy UTF-8).
        line: String,
    },
    /// Chunk data is not followed by a line end.
    #[error("byte {offset}: chunk data not followed by CRLF")]
    ChunkEnd {
        /// Offset where the line end should be.
        offset: u64,
    },
    /// The body exceeds the limit (checked before reading when a length announces it).
    #[error("the body is larger than {limit} bytes")]
    BodyTooLarge {
        /// The limit.
        limit: u64,
    },
    /// A trailer field line is malformed.
    #[error("trailer line {line}: {error}")]
    Trailer {
        /// Line number within the trailer section.
        line: usize,
        /// What is wrong.
        error: FieldError,
    },
}

impl Error {
    /// The same error with its byte offsets counted from `base` bytes earlier (a body read
    /// after a head of `base` bytes reports offsets in the whole message).
    pub(crate) fn shifted(self, base: u64) -> Self {
        match self {
            Error::Truncated { offset, part } => Error::Truncated {
                offset: offset + base,
                part,
            },
            Error::ChunkSize { offset, line } => Error::ChunkSize {
                offset: offset + base,
                line,
            },
            Error::ChunkEnd { offset } => Error::ChunkEnd { offset: offset + base },
            other => other,
        }
    }
}
