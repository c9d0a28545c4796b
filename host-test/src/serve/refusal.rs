//! The answers Envoy's HTTP/1 codec gives, before any filter callback, to requests it cannot or
//! will not read (status, body, and the `response.code_details` the access log sees, measured
//! in Envoy 1.40 with default options; `filters/ftw`'s codec model has the finer cases), plus
//! serve's own body bound. Each closes the connection.

use crate::Headers;
use meshward_testkit::http1::{self, FieldError, Frame, FramingError, Part};

/// A status, its reason phrase and a `text/plain` body, as Envoy sends them, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Refusal {
    /// Status code.
    pub status: u16,
    /// Reason phrase of the status line (Envoy's name of the code).
    pub reason: &'static str,
    /// Body (empty for a missing `Host`).
    pub body: &'static str,
    /// Envoy's response code details (`http1.codec_error`...).
    pub details: &'static str,
}

const fn refusal(status: u16, text: &'static str, details: &'static str) -> Refusal {
    Refusal {
        status,
        reason: text,
        body: text,
        details,
    }
}

/// A malformed request line, header line, framing header or chunked body.
pub(crate) const BAD_REQUEST: Refusal = refusal(400, "Bad Request", "http1.codec_error");
/// A header value with bytes HTTP does not allow (a bad name is a codec error).
pub(crate) const INVALID_CHARACTERS: Refusal = Refusal {
    details: "http1.invalid_characters",
    ..BAD_REQUEST
};
/// Both `Content-Length` and `Transfer-Encoding`.
pub(crate) const LENGTH_AND_CHUNKED: Refusal = Refusal {
    details: "http1.content_length_and_chunked_not_allowed",
    ..BAD_REQUEST
};
/// An HTTP/1.1 request without `Host`: Envoy sends 400 with an empty body.
pub(crate) const MISSING_HOST: Refusal = Refusal {
    body: "",
    details: "missing_host_header",
    ..BAD_REQUEST
};
/// A head over the byte limit.
pub(crate) const HEADERS_TOO_LARGE: Refusal =
    refusal(431, "Request Header Fields Too Large", "http1.headers_too_large");
/// More headers than allowed.
pub(crate) const TOO_MANY_HEADERS: Refusal = Refusal {
    details: "http1.too_many_headers",
    ..HEADERS_TOO_LARGE
};
/// Any version but HTTP/1.1 (Envoy accepts HTTP/1.0 only with `accept_http_10`).
pub(crate) const UPGRADE_REQUIRED: Refusal = refusal(426, "Upgrade Required", "low_version");
/// A transfer coding other than chunked.
pub(crate) const NOT_IMPLEMENTED: Refusal = refusal(501, "Not Implemented", "http1.invalid_transfer_encoding");
/// The host failed (not a filter's doing): a bug of host-test.
pub(crate) const INTERNAL_ERROR: Refusal = refusal(500, "Internal Server Error", "internal_error");
/// A body over serve's bound (the text and details of Envoy's own 413, row E04).
pub(crate) const PAYLOAD_TOO_LARGE: Refusal = refusal(413, "Payload Too Large", "request_payload_too_large");

/// The answer to a request that could not be read; `None` when there is nobody to answer
/// (the client closed or stalled mid-request).
pub(crate) fn of_error(e: &http1::Error) -> Option<Refusal> {
    Some(match e {
        http1::Error::Io(_) | http1::Error::Truncated { .. } => return None,
        http1::Error::TooLarge {
            part: Part::Head | Part::Trailers,
            ..
        } => HEADERS_TOO_LARGE,
        http1::Error::TooManyLines { .. } => TOO_MANY_HEADERS,
        http1::Error::BodyTooLarge { .. } => PAYLOAD_TOO_LARGE,
        http1::Error::Framing(FramingError::UnsupportedCoding(_)) => NOT_IMPLEMENTED,
        http1::Error::Framing(FramingError::LengthAndTransferEncoding) => LENGTH_AND_CHUNKED,
        http1::Error::Field {
            error: FieldError::Value(_),
            ..
        } => INVALID_CHARACTERS,
        _ => BAD_REQUEST,
    })
}

/// The answer to a request whose head reads but that Envoy refuses before the filters.
pub(crate) fn of_head(request: &http1::Request) -> Option<Refusal> {
    // The codec's framing checks come first, then the connection manager's.
    if let Err(e) = request.framing() {
        return of_error(&http1::Error::Framing(e));
    }
    if request.version != "HTTP/1.1" {
        return Some(UPGRADE_REQUIRED);
    }
    if !request.headers.contains("host") && !request.target.contains("://") {
        return Some(MISSING_HOST);
    }
    None
}

impl Refusal {
    /// The reply's headers as Envoy's access log sees them (`on_log`): `:status`, the body's
    /// length and type, `connection: close`. (The codec adds `content-length: 0` to an empty
    /// body on the wire only.)
    pub fn headers(self) -> Headers {
        let mut headers = Headers::new();
        headers.add(":status", self.status.to_string());
        if !self.body.is_empty() {
            headers.add("content-length", self.body.len().to_string());
            headers.add("content-type", "text/plain");
        }
        headers.add("connection", "close");
        headers
    }

    /// The response on the wire.
    pub fn to_bytes(self) -> Vec<u8> {
        let mut response = http1::Response::new(self.status);
        response.reason = self.reason.to_string();
        response.headers = self.headers();
        response.headers.remove(":status");
        response.body = self.body.as_bytes().to_vec();
        response.to_bytes(Frame::Length)
    }

    /// The request headers the access log sees: none, but for a request refused after its
    /// head was read (no `Host`), its `:path` and `:method`, then its headers.
    pub fn request_headers(self, request: Option<&http1::Request>) -> Headers {
        let mut headers = Headers::new();
        if let (Some(r), true) = (request, self == MISSING_HOST) {
            headers.add(":path", &r.target);
            headers.add(":method", &r.method);
            headers.extend(r.headers.iter());
            headers.lowercase_names();
        }
        headers
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(raw: &str) -> Option<Refusal> {
        let mut input = raw.as_bytes();
        let limits = http1::Limits {
            max_head_bytes: 100,
            max_head_lines: 5,
            max_body_bytes: 8,
        };
        match http1::read_request_head(&mut input, &limits) {
            Err(e) => of_error(&e),
            Ok(None) => None,
            Ok(Some((mut request, len))) => of_head(&request).or_else(|| {
                http1::read_request_body(&mut input, &mut request, len, &limits)
                    .err()
                    .and_then(|e| of_error(&e))
            }),
        }
    }

    #[test]
    fn each_malformation_gets_envoys_answer() {
        let long_target = format!("GET /{} HTTP/1.1\r\n\r\n", "0".repeat(100));
        for (raw, expected) in [
            ("GARBAGE\r\n\r\n", Some(BAD_REQUEST)),
            ("GET / HTTP/1.1\r\nHost: a\r\nno-colon\r\n\r\n", Some(BAD_REQUEST)),
            ("GET / HTTP/1.1\r\n\r\n", Some(MISSING_HOST)),
            ("GET http://a/ HTTP/1.1\r\n\r\n", None),
            ("GET / HTTP/1.0\r\nHost: a\r\n\r\n", Some(UPGRADE_REQUIRED)),
            (long_target.as_str(), Some(HEADERS_TOO_LARGE)),
            (
                "GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n",
                Some(TOO_MANY_HEADERS),
            ),
            ("GET / HTTP/1.1\r\nBad Name: 1\r\n\r\n", Some(BAD_REQUEST)),
            ("GET / HTTP/1.1\r\nA: \0\r\n\r\n", Some(INVALID_CHARACTERS)),
            (
                "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
                Some(LENGTH_AND_CHUNKED),
            ),
            (
                "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: x\r\n\r\n",
                Some(BAD_REQUEST),
            ),
            (
                "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n",
                Some(NOT_IMPLEMENTED),
            ),
            (
                "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 9\r\n\r\n",
                Some(PAYLOAD_TOO_LARGE),
            ),
            (
                "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
                Some(BAD_REQUEST),
            ),
            ("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nab", None),
            ("GET / HTTP/1.1\r\nHo", None),
            ("GET / HTTP/1.1\r\nHost: a\r\n\r\n", None),
        ] {
            assert_eq!(refused(raw), expected, "{raw:?}");
        }
    }

    #[test]
    fn refusals_are_written_as_envoy_writes_them() {
        assert_eq!(
            String::from_utf8(HEADERS_TOO_LARGE.to_bytes()).unwrap(),
            "HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 31\r\ncontent-type: text/plain\r\n\
connection: close\r\n\r\nRequest Header Fields Too Large"
        );
        assert_eq!(
            String::from_utf8(MISSING_HOST.to_bytes()).unwrap(),
            "HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n"
        );
    }
}
