//! HTTP/1.1 requests and responses: reading one from a stream or from bytes, and writing one.

use super::body::{read_body, request_framing, response_framing, BodyFraming};
use super::error::{Error, FramingError, Part, StartLineError};
use super::head::{parse_request_line, parse_status_line, read_head, Limits};
use super::headers::Headers;
use std::io::BufRead;

/// A request: request line, header fields, body and the trailers of a chunked body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The method token.
    pub method: String,
    /// The request target as sent (origin form `/path?query`, absolute form, `*`...).
    pub target: String,
    /// `HTTP/1.1` or `HTTP/1.0`.
    pub version: String,
    /// Header fields in arrival order, names in arrival case.
    pub headers: Headers,
    /// The body, de-chunked.
    pub body: Vec<u8>,
    /// Trailers of a chunked body.
    pub trailers: Headers,
}

/// A response: status line, header fields, body and the trailers of a chunked body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// `HTTP/1.1` or `HTTP/1.0`.
    pub version: String,
    /// The status code.
    pub status: u16,
    /// The reason phrase (may be empty).
    pub reason: String,
    /// Header fields in arrival order, names in arrival case.
    pub headers: Headers,
    /// The body, de-chunked.
    pub body: Vec<u8>,
    /// Trailers of a chunked body.
    pub trailers: Headers,
}

/// How a written message frames its body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frame {
    /// No framing field: the body (usually none) follows the head as is.
    Bare,
    /// `content-length` (unless the headers already have one), then the body.
    Length,
    /// `transfer-encoding: chunked` (unless present), the body as one chunk, then the trailers.
    Chunked,
}

impl Request {
    /// An HTTP/1.1 request with no header and no body.
    pub fn new(method: &str, target: &str) -> Self {
        Request {
            method: method.to_string(),
            target: target.to_string(),
            version: "HTTP/1.1".to_string(),
            headers: Headers::new(),
            body: Vec::new(),
            trailers: Headers::new(),
        }
    }

    /// The first value of header `name` (case-insensitive), if it is UTF-8.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get_str(name)
    }

    /// Every value of header `name` (case-insensitive), in order.
    pub fn header_all(&self, name: &str) -> Vec<String> {
        self.headers.get_all(name)
    }

    /// How the headers delimit the body.
    pub fn framing(&self) -> Result<BodyFraming, FramingError> {
        request_framing(&self.headers)
    }

    /// The request on the wire.
    pub fn to_bytes(&self, frame: Frame) -> Vec<u8> {
        let start = format!("{} {} {}", self.method, self.target, self.version);
        write_message(&start, &self.headers, &self.body, &self.trailers, frame)
    }
}

impl Response {
    /// An HTTP/1.1 response with the standard reason phrase, no header and no body.
    pub fn new(status: u16) -> Self {
        Response {
            version: "HTTP/1.1".to_string(),
            status,
            reason: reason_phrase(status).to_string(),
            headers: Headers::new(),
            body: Vec::new(),
            trailers: Headers::new(),
        }
    }

    /// The first value of header `name` (case-insensitive), if it is UTF-8.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get_str(name)
    }

    /// Every value of header `name` (case-insensitive), in order.
    pub fn header_all(&self, name: &str) -> Vec<String> {
        self.headers.get_all(name)
    }

    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The response on the wire.
    pub fn to_bytes(&self, frame: Frame) -> Vec<u8> {
        let start = format!("{} {} {}", self.version, self.status, self.reason);
        write_message(&start, &self.headers, &self.body, &self.trailers, frame)
    }
}

/// Reads a request's line and headers, leaving the body unread (`body` and `trailers` empty):
/// for a server that records a request before its body arrives. Returns it with the bytes
/// the head took; `Ok(None)` when the input ends before a request starts.
pub fn read_request_head(reader: &mut impl BufRead, limits: &Limits) -> Result<Option<(Request, u64)>, Error> {
    let Some(((method, target, version), headers, head_len)) = read_parsed_head(reader, limits, parse_request_line)?
    else {
        return Ok(None);
    };
    let request = Request {
        headers,
        version,
        ..Request::new(&method, &target)
    };
    Ok(Some((request, head_len)))
}

/// Reads the body of `request` (read with [`read_request_head`], whose head took `head_len`
/// bytes) into it.
pub fn read_request_body(
    reader: &mut impl BufRead,
    request: &mut Request,
    head_len: u64,
    limits: &Limits,
) -> Result<(), Error> {
    let framing = request.framing();
    request.trailers = read_framed_body(reader, framing, head_len, limits, &mut request.body)?;
    Ok(())
}

/// Reads one request; `Ok(None)` when the input ends before a request starts.
pub fn read_request(reader: &mut impl BufRead, limits: &Limits) -> Result<Option<Request>, Error> {
    let Some((mut request, head_len)) = read_request_head(reader, limits)? else {
        return Ok(None);
    };
    read_request_body(reader, &mut request, head_len, limits)?;
    Ok(Some(request))
}

/// Reads a response's status line and headers, leaving the body unread: for a client that
/// tells a broken head from a broken body. Returns it with the bytes the head took;
/// `Ok(None)` when the input ends before a response starts.
pub fn read_response_head(reader: &mut impl BufRead, limits: &Limits) -> Result<Option<(Response, u64)>, Error> {
    let Some(((version, status, reason), headers, head_len)) = read_parsed_head(reader, limits, parse_status_line)?
    else {
        return Ok(None);
    };
    let response = Response {
        version,
        reason,
        headers,
        ..Response::new(status)
    };
    Ok(Some((response, head_len)))
}

/// Reads the body of `response` to a `request_method` request (read with
/// [`read_response_head`], whose head took `head_len` bytes) into it.
pub fn read_response_body(
    reader: &mut impl BufRead,
    response: &mut Response,
    request_method: &str,
    head_len: u64,
    limits: &Limits,
) -> Result<(), Error> {
    let framing = response_framing(request_method, response.status, &response.headers);
    response.trailers = read_framed_body(reader, framing, head_len, limits, &mut response.body)?;
    Ok(())
}

/// Reads one response to a `request_method` request (a 1xx is a whole message: its caller
/// reads the next one); `Ok(None)` when the input ends before a response starts.
pub fn read_response(
    reader: &mut impl BufRead,
    request_method: &str,
    limits: &Limits,
) -> Result<Option<Response>, Error> {
    let Some((mut response, head_len)) = read_response_head(reader, limits)? else {
        return Ok(None);
    };
    read_response_body(reader, &mut response, request_method, head_len, limits)?;
    Ok(Some(response))
}

/// Parses the request at the start of `bytes`; returns it and the bytes it took (what follows
/// is a pipelined next message, not looked at). Bounded by the input's own size.
pub fn parse_request(bytes: &[u8]) -> Result<(Request, usize), Error> {
    parse_whole(bytes, |input, limits| read_request(input, limits))
}

/// Parses the response (to a `request_method` request) at the start of `bytes`; returns it
/// and the bytes it took.
pub fn parse_response(bytes: &[u8], request_method: &str) -> Result<(Response, usize), Error> {
    parse_whole(bytes, |input, limits| read_response(input, request_method, limits))
}

/// A head whose start line `parse` understands: (start line parts, headers, bytes taken).
type ParsedHead<T> = (T, Headers, u64);

fn read_parsed_head<T>(
    reader: &mut impl BufRead,
    limits: &Limits,
    parse: fn(&[u8]) -> Result<T, StartLineError>,
) -> Result<Option<ParsedHead<T>>, Error> {
    let Some(head) = read_head(reader, limits)? else {
        return Ok(None);
    };
    let start = parse(&head.start_line).map_err(|error| Error::StartLine {
        line: head.start_line_number,
        error,
    })?;
    Ok(Some((start, head.headers()?, head.len)))
}

/// Reads a body after a head of `head_len` bytes; returns its trailers.
fn read_framed_body(
    reader: &mut impl BufRead,
    framing: Result<BodyFraming, FramingError>,
    head_len: u64,
    limits: &Limits,
    body: &mut Vec<u8>,
) -> Result<Headers, Error> {
    read_body(reader, framing?, limits, body).map_err(|e| e.shifted(head_len))
}

/// One message read from all of `bytes`, with the bytes it took; no message is an error.
fn parse_whole<T>(
    bytes: &[u8],
    read: impl FnOnce(&mut &[u8], &Limits) -> Result<Option<T>, Error>,
) -> Result<(T, usize), Error> {
    let mut input = bytes;
    match read(&mut input, &Limits::within(bytes.len()))? {
        Some(message) => Ok((message, bytes.len() - input.len())),
        None => Err(Error::Truncated {
            offset: bytes.len() as u64,
            part: Part::Head,
        }),
    }
}

/// Serializes a message: start line, headers as given, the framing field `frame` asks for,
/// body, and (chunked) trailers.
fn write_message(start: &str, headers: &Headers, body: &[u8], trailers: &Headers, frame: Frame) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 256);
    out.extend_from_slice(start.as_bytes());
    out.extend_from_slice(b"\r\n");
    write_fields(&mut out, headers);
    match frame {
        Frame::Bare => {
            out.extend_from_slice(b"\r\n");
            out.extend_from_slice(body);
        }
        Frame::Length => {
            if !headers.contains("content-length") {
                out.extend_from_slice(format!("content-length: {}\r\n", body.len()).as_bytes());
            }
            out.extend_from_slice(b"\r\n");
            out.extend_from_slice(body);
        }
        Frame::Chunked => {
            if !headers.contains("transfer-encoding") {
                out.extend_from_slice(b"transfer-encoding: chunked\r\n");
            }
            out.extend_from_slice(b"\r\n");
            if !body.is_empty() {
                out.extend_from_slice(format!("{:x}\r\n", body.len()).as_bytes());
                out.extend_from_slice(body);
                out.extend_from_slice(b"\r\n");
            }
            out.extend_from_slice(b"0\r\n");
            write_fields(&mut out, trailers);
            out.extend_from_slice(b"\r\n");
        }
    }
    out
}

fn write_fields(out: &mut Vec<u8>, fields: &Headers) {
    for (name, value) in fields {
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value);
        out.extend_from_slice(b"\r\n");
    }
}

/// The reason phrase Go's `net/http` sends with `status` (empty for unknown codes).
pub fn reason_phrase(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        101 => "Switching Protocols",
        102 => "Processing",
        103 => "Early Hints",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        203 => "Non-Authoritative Information",
        204 => "No Content",
        205 => "Reset Content",
        206 => "Partial Content",
        207 => "Multi-Status",
        208 => "Already Reported",
        226 => "IM Used",
        300 => "Multiple Choices",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        305 => "Use Proxy",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        402 => "Payment Required",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        407 => "Proxy Authentication Required",
        408 => "Request Timeout",
        409 => "Conflict",
        410 => "Gone",
        411 => "Length Required",
        412 => "Precondition Failed",
        413 => "Payload Too Large",
        414 => "Request URI Too Long",
        415 => "Unsupported Media Type",
        416 => "Requested Range Not Satisfiable",
        417 => "Expectation Failed",
        418 => "I'm a teapot",
        421 => "Misdirected Request",
        422 => "Unprocessable Entity",
        423 => "Locked",
        424 => "Failed Dependency",
        425 => "Too Early",
        426 => "Upgrade Required",
        428 => "Precondition Required",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        451 => "Unavailable For Legal Reasons",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        506 => "Variant Also Negotiates",
        507 => "Insufficient Storage",
        508 => "Loop Detected",
        510 => "Not Extended",
        511 => "Network Authentication Required",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http1::error::{FieldError, StartLineError};

    /// A request using every part of the format: blank line before it, LF-only and CRLF
    /// line ends, repeated fields, chunk extensions, trailers.
    const REQUEST: &[u8] = b"\r\nPOST /a?b=1 HTTP/1.1\r\nHost: example.com\nX-Dup: 1\r\nx-dup: 2\r\n\
Transfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n2\nde\r\n0\r\nX-Trailer: t\r\n\r\n";

    const RESPONSE: &[u8] = b"HTTP/1.1 201 Created\r\nContent-Length: 5\r\nX-A: 1\r\n\r\nhello";

    #[test]
    fn a_request_parses_into_its_parts() {
        let (r, len) = parse_request(REQUEST).unwrap();
        assert_eq!(len, REQUEST.len());
        assert_eq!(
            (r.method.as_str(), r.target.as_str(), r.version.as_str()),
            ("POST", "/a?b=1", "HTTP/1.1")
        );
        assert_eq!(
            r.headers,
            Headers::from_pairs([
                ("Host", "example.com"),
                ("X-Dup", "1"),
                ("x-dup", "2"),
                ("Transfer-Encoding", "chunked")
            ])
        );
        assert_eq!(r.header("host"), Some("example.com"));
        assert_eq!(r.header_all("X-DUP"), ["1", "2"]);
        assert_eq!(r.body, b"abcde");
        assert_eq!(r.trailers, Headers::from_pairs([("X-Trailer", "t")]));
    }

    #[test]
    fn every_cut_of_a_request_is_an_error_never_a_partial_request() {
        for cut in 0..REQUEST.len() {
            let err = parse_request(&REQUEST[..cut]).expect_err(&format!("cut at {cut}"));
            assert!(
                matches!(err, Error::Truncated { offset, .. } if offset == cut as u64),
                "cut at {cut}: {err:?}"
            );
            // The stream reader agrees, and says "no request" only before the first line.
            match read_request(&mut &REQUEST[..cut], &Limits::default()) {
                Ok(None) => assert!(cut <= 2, "cut at {cut}"),
                Ok(Some(r)) => panic!("cut at {cut}: {r:?}"),
                Err(Error::Truncated { offset, .. }) => assert_eq!(offset, cut as u64),
                Err(e) => panic!("cut at {cut}: {e:?}"),
            }
        }
    }

    #[test]
    fn every_cut_of_a_response_is_an_error_never_a_partial_response() {
        let (r, len) = parse_response(RESPONSE, "GET").unwrap();
        assert_eq!((r.status, r.reason.as_str(), len), (201, "Created", RESPONSE.len()));
        assert_eq!((r.header("x-a"), r.text().as_str()), (Some("1"), "hello"));
        for cut in 0..RESPONSE.len() {
            let err = parse_response(&RESPONSE[..cut], "GET").expect_err(&format!("cut at {cut}"));
            assert!(
                matches!(err, Error::Truncated { offset, .. } if offset == cut as u64),
                "cut at {cut}: {err:?}"
            );
        }
        let chunked = Response {
            trailers: Headers::from_pairs([("x-t", "1")]),
            body: b"chunky".to_vec(),
            ..Response::new(200)
        }
        .to_bytes(Frame::Chunked);
        assert_eq!(parse_response(&chunked, "GET").unwrap().0.body, b"chunky");
        for cut in 0..chunked.len() {
            assert!(parse_response(&chunked[..cut], "GET").is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn close_delimited_and_bodiless_responses() {
        let close = b"HTTP/1.0 200 OK\r\nX: 1\r\n\r\nall of it";
        assert_eq!(parse_response(close, "GET").unwrap().0.body, b"all of it");
        let (head, len) = parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nnext", "HEAD").unwrap();
        assert!(head.body.is_empty());
        assert_eq!(len, 38);
        for status in [100, 204, 304] {
            let raw = format!("HTTP/1.1 {status} X\r\nContent-Length: 3\r\n\r\nabc");
            let (r, len) = parse_response(raw.as_bytes(), "GET").unwrap();
            assert!(r.body.is_empty(), "{status}");
            assert_eq!(len, raw.len() - 3);
        }
    }

    #[test]
    fn pipelined_messages_are_read_one_at_a_time() {
        let two = b"GET /1 HTTP/1.1\r\nContent-Length: 2\r\n\r\nhiGET /2 HTTP/1.1\r\n\r\n";
        let mut input = &two[..];
        let first = read_request(&mut input, &Limits::default()).unwrap().unwrap();
        assert_eq!((first.target.as_str(), first.body.as_slice()), ("/1", &b"hi"[..]));
        let second = read_request(&mut input, &Limits::default()).unwrap().unwrap();
        assert_eq!(second.target, "/2");
        assert!(read_request(&mut input, &Limits::default()).unwrap().is_none());
        assert_eq!(parse_request(two).unwrap().1, 40);
    }

    #[test]
    fn the_head_can_be_read_before_the_body() {
        let raw = b"PUT /x HTTP/1.1\r\nContent-Length: 4\r\n\r\nda";
        let mut input = &raw[..];
        let (mut request, head_len) = read_request_head(&mut input, &Limits::default()).unwrap().unwrap();
        assert_eq!((request.method.as_str(), head_len), ("PUT", 38));
        let err = read_request_body(&mut input, &mut request, head_len, &Limits::default()).unwrap_err();
        assert!(
            matches!(
                err,
                Error::Truncated {
                    offset: 40,
                    part: Part::Body
                }
            ),
            "offsets count from the message start: {err:?}"
        );
        assert_eq!(request.body, b"da", "what arrived is kept");
    }

    #[test]
    fn a_response_head_can_be_read_before_its_body() {
        let raw = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nwi";
        let mut input = &raw[..];
        let limits = Limits::default();
        let (mut interim, len) = read_response_head(&mut input, &limits).unwrap().unwrap();
        assert_eq!((interim.status, len), (100, 25));
        read_response_body(&mut input, &mut interim, "GET", len, &limits).unwrap();
        assert!(interim.body.is_empty(), "a 1xx has no body");
        let (mut last, len) = read_response_head(&mut input, &limits).unwrap().unwrap();
        assert_eq!((last.status, len), (200, 47));
        let err = read_response_body(&mut input, &mut last, "GET", len, &limits).unwrap_err();
        assert!(
            matches!(
                err,
                Error::Truncated {
                    offset: 52,
                    part: Part::ChunkData
                }
            ),
            "{err:?}"
        );
        assert_eq!(last.body, b"wi");
        assert!(read_response_head(&mut &b""[..], &limits).unwrap().is_none());
    }

    #[test]
    fn errors_name_the_line_or_the_rule() {
        let err = parse_request(b"GARBAGE\r\n\r\n").unwrap_err();
        assert!(
            matches!(
                err,
                Error::StartLine {
                    line: 1,
                    error: StartLineError::RequestShape
                }
            ),
            "{err:?}"
        );
        let err = parse_request(b"GET / HTTP/1.1\r\nA: 1\r\nno-colon\r\n\r\n").unwrap_err();
        assert_eq!(err.to_string(), "line 3: no colon in the field line");
        let err = parse_request(b"\r\nGET / HTTP/1.1\r\n folded\r\n\r\n").unwrap_err();
        assert!(
            matches!(
                err,
                Error::Field {
                    line: 3,
                    error: FieldError::Folded
                }
            ),
            "{err:?}"
        );
        let err = parse_request(b"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab").unwrap_err();
        assert_eq!(err.to_string(), "conflicting Content-Length values");
        let err = parse_response(b"HTTP/1.1 abc\r\n\r\n", "GET").unwrap_err();
        assert_eq!(err.to_string(), "line 1: invalid status code \"abc\"");
        let err = parse_request(b"GET / HTTP/1.1\r\n\r").unwrap_err();
        assert_eq!(err.to_string(), "the message ends at byte 17, inside the head");
    }

    #[test]
    fn io_errors_pass_through() {
        struct Broken;
        impl std::io::Read for Broken {
            fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
                Err(std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset"))
            }
        }
        let err = read_request(&mut std::io::BufReader::new(Broken), &Limits::default()).unwrap_err();
        assert!(
            matches!(&err, Error::Io(e) if e.kind() == std::io::ErrorKind::ConnectionReset),
            "{err:?}"
        );
    }

    #[test]
    fn written_messages_read_back_the_same() {
        let mut request = Request::new("POST", "/p");
        request.headers.add("Host", "h");
        request.headers.add("X-Case", "Kept");
        request.body = b"body bytes".to_vec();
        let bytes = request.to_bytes(Frame::Length);
        assert_eq!(
            bytes,
            b"POST /p HTTP/1.1\r\nHost: h\r\nX-Case: Kept\r\ncontent-length: 10\r\n\r\nbody bytes"
        );
        let (back, _) = parse_request(&bytes).unwrap();
        assert_eq!(back.body, request.body);
        assert_eq!(back.header("content-length"), Some("10"));

        request.trailers.add("x-t", "1");
        let (back, _) = parse_request(&request.to_bytes(Frame::Chunked)).unwrap();
        assert_eq!(
            (back.body.as_slice(), &back.trailers),
            (&b"body bytes"[..], &request.trailers)
        );

        let get = Request::new("GET", "/").to_bytes(Frame::Bare);
        assert_eq!(get, b"GET / HTTP/1.1\r\n\r\n");

        let mut response = Response::new(404);
        response.headers.add("Content-Length", "2");
        response.body = b"no".to_vec();
        assert_eq!(
            response.to_bytes(Frame::Length),
            b"HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\nno",
            "a Content-Length already there is not repeated"
        );
        let empty = Response::new(200).to_bytes(Frame::Chunked);
        assert_eq!(empty, b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n");
        assert_eq!(Response::new(299).to_bytes(Frame::Bare), b"HTTP/1.1 299 \r\n\r\n");
        assert_eq!(parse_response(b"HTTP/1.1 299 \r\n\r\n", "HEAD").unwrap().0.status, 299);
    }
}
