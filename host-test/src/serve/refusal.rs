//! The answers Envoy's HTTP/1 codec gives, before any filter runs, to requests it cannot or
//! will not read (measured in Envoy 1.40 with default options; `filters/ftw`'s codec model has
//! the finer cases), plus serve's own body bound. Each closes the connection.

use meshward_testkit::http1::{self, Frame, FramingError, Part};

/// A status, its reason phrase and a `text/plain` body, as Envoy sends them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Refusal {
    /// Status code.
    pub status: u16,
    /// Reason phrase of the status line (Envoy's name of the code).
    pub reason: &'static str,
    /// Body (empty for a missing `Host`).
    pub body: &'static str,
}

const fn refusal(status: u16, text: &'static str) -> Refusal {
    Refusal {
        status,
        reason: text,
        body: text,
    }
}

/// A malformed request line, header line, framing header or chunked body.
pub(crate) const BAD_REQUEST: Refusal = refusal(400, "Bad Request");
/// An HTTP/1.1 request without `Host`: Envoy sends 400 with an empty body.
pub(crate) const MISSING_HOST: Refusal = Refusal {
    body: "",
    ..BAD_REQUEST
};
/// A head over the byte limit, or more headers than allowed.
pub(crate) const HEADERS_TOO_LARGE: Refusal = refusal(431, "Request Header Fields Too Large");
/// Any version but HTTP/1.1 (Envoy accepts HTTP/1.0 only with `accept_http_10`).
pub(crate) const UPGRADE_REQUIRED: Refusal = refusal(426, "Upgrade Required");
/// A transfer coding other than chunked.
pub(crate) const NOT_IMPLEMENTED: Refusal = refusal(501, "Not Implemented");
/// The host failed (not a filter's doing): a bug of host-test.
pub(crate) const INTERNAL_ERROR: Refusal = refusal(500, "Internal Server Error");
/// A body over serve's bound (the text of Envoy's own 413, row E04).
pub(crate) const PAYLOAD_TOO_LARGE: Refusal = refusal(413, "Payload Too Large");

/// The answer to a request that could not be read; `None` when there is nobody to answer
/// (the client closed or stalled mid-request).
pub(crate) fn of_error(e: &http1::Error) -> Option<Refusal> {
    Some(match e {
        http1::Error::Io(_) | http1::Error::Truncated { .. } => return None,
        http1::Error::TooLarge {
            part: Part::Head | Part::Trailers,
            ..
        }
        | http1::Error::TooManyLines { .. } => HEADERS_TOO_LARGE,
        http1::Error::BodyTooLarge { .. } => PAYLOAD_TOO_LARGE,
        http1::Error::Framing(FramingError::UnsupportedCoding(_)) => NOT_IMPLEMENTED,
        _ => BAD_REQUEST,
    })
}

/// The answer to a request whose head reads but that Envoy refuses before the filters.
pub(crate) fn of_head(request: &http1::Request) -> Option<Refusal> {
    if request.version != "HTTP/1.1" {
        return Some(UPGRADE_REQUIRED);
    }
    if !request.headers.contains("host") && !request.target.contains("://") {
        return Some(MISSING_HOST);
    }
    if let Err(e) = request.framing() {
        return of_error(&http1::Error::Framing(e));
    }
    None
}

impl Refusal {
    /// The response on the wire, with `connection: close`.
    pub fn to_bytes(self) -> Vec<u8> {
        let mut response = http1::Response::new(self.status);
        response.reason = self.reason.to_string();
        if !self.body.is_empty() {
            response.headers.add("content-length", self.body.len().to_string());
            response.headers.add("content-type", "text/plain");
        }
        response.headers.add("connection", "close");
        response.body = self.body.as_bytes().to_vec();
        response.to_bytes(Frame::Length)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(raw: &str) -> Option<Refusal> {
        let mut input = raw.as_bytes();
        let limits = http1::Limits {
            max_head_bytes: 64,
            max_head_lines: 4,
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
        for (raw, expected) in [
            ("GARBAGE\r\n\r\n", Some(BAD_REQUEST)),
            ("GET / HTTP/1.1\r\nHost: a\r\nno-colon\r\n\r\n", Some(BAD_REQUEST)),
            ("GET / HTTP/1.1\r\n\r\n", Some(MISSING_HOST)),
            ("GET http://a/ HTTP/1.1\r\n\r\n", None),
            ("GET / HTTP/1.0\r\nHost: a\r\n\r\n", Some(UPGRADE_REQUIRED)),
            (
                "GET /0123456789012345678901234567890123456789012345678901234 HTTP/1.1\r\n\r\n",
                Some(HEADERS_TOO_LARGE),
            ),
            (
                "GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\n\r\n",
                Some(HEADERS_TOO_LARGE),
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
