//! HTTP/1.1 messages for test clients, test upstreams and message files: one [`Headers`]
//! type; readers for a request or a response from any `BufRead` (a socket) or from bytes,
//! with RFC 9112's framing rules (Content-Length, chunked with trailers, close-delimited
//! responses, no body for HEAD, 1xx, 204 and 304); and writers.
//!
//! Reading is bounded ([`Limits`]): a head is refused past its byte and line limits after
//! reading at most one byte more, and no length a peer announces is allocated up front. A
//! message the input cuts off is an error ([`Error::Truncated`]), never a partial message;
//! every error says where (a line number in the head, a byte offset in the body).
//!
//! Lenient where test tools have always been: LF-only line ends and blank lines before the
//! start line are accepted. The lower layers ([`read_head`], [`parse_field`],
//! [`request_framing`], [`read_body`]) are public so that a model of a particular proxy's
//! codec (`meshward-ftw`'s Envoy model) can add its own rules on top.

mod body;
mod error;
mod head;
mod headers;
mod message;
mod source;

pub use body::{content_length, read_body, request_framing, response_framing, BodyFraming};
pub use error::{Error, FieldError, FramingError, Part, StartLineError};
pub use head::{is_tchar, parse_field, parse_request_line, parse_status_line, read_head, trim_ows, Limits, RawHead};
pub use headers::Headers;
pub use message::{
    parse_request, parse_response, read_request, read_request_body, read_request_head, read_response,
    read_response_body, read_response_head, reason_phrase, Frame, Request, Response,
};
