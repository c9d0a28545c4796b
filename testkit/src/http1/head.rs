//! A message head: its lines (bounded), the request and status lines, and header field lines.

use super::error::{Error, FieldError, Part, StartLineError};
use super::headers::Headers;
use super::source::Source;
use std::io::BufRead;

/// Bounds on what a reader keeps in memory, whatever the peer sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Bytes of a head (start line and fields, line ends included); also bounds a trailer
    /// section and each chunk-size line.
    pub max_head_bytes: usize,
    /// Lines of a head (blank lines before the start line included); also of a trailer section.
    pub max_head_lines: usize,
    /// Bytes of a decoded body.
    pub max_body_bytes: u64,
}

impl Default for Limits {
    /// 256 KiB of head in at most 1000 lines (Envoy refuses far less: 60 KiB, 100 headers),
    /// and 64 MiB of body.
    fn default() -> Self {
        Limits {
            max_head_bytes: 256 * 1024,
            max_head_lines: 1000,
            max_body_bytes: 64 * 1024 * 1024,
        }
    }
}

impl Limits {
    /// Limits that only the size of the input bounds: for a message already in memory.
    pub fn within(len: usize) -> Self {
        Limits {
            max_head_bytes: len,
            max_head_lines: len,
            max_body_bytes: len as u64,
        }
    }
}

/// A head as lines of bytes, before any interpretation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawHead {
    /// The request or status line.
    pub start_line: Vec<u8>,
    /// Its line number (blank lines before it are skipped, as RFC 9112 section 2.2 allows).
    pub start_line_number: usize,
    /// The header field lines, in order.
    pub field_lines: Vec<Vec<u8>>,
    /// Bytes the head took, up to and including the blank line that ends it.
    pub len: u64,
}

/// Reads a head: lines up to a blank line, with LF or CRLF line ends (one CR before the LF
/// is removed; other CRs stay for the caller to judge). `Ok(None)` when the input ends before
/// a start line does (a closed keep-alive connection).
pub fn read_head(reader: &mut impl BufRead, limits: &Limits) -> Result<Option<RawHead>, Error> {
    let mut src = Source::new(reader);
    let mut lines = 0usize;
    let mut start: Option<(Vec<u8>, usize)> = None;
    let mut field_lines = Vec::new();
    loop {
        let used = usize::try_from(src.offset()).unwrap_or(usize::MAX);
        let budget = limits.max_head_bytes.saturating_sub(used);
        let Some(line) = src.line(budget, Part::Head, limits.max_head_bytes)? else {
            if start.is_none() {
                return Ok(None);
            }
            return Err(Error::Truncated {
                offset: src.offset(),
                part: Part::Head,
            });
        };
        lines += 1;
        if lines > limits.max_head_lines {
            return Err(Error::TooManyLines {
                part: Part::Head,
                limit: limits.max_head_lines,
            });
        }
        match (&start, line.is_empty()) {
            (None, true) => {}
            (None, false) => start = Some((line, lines)),
            (Some(_), false) => field_lines.push(line),
            (Some(_), true) => break,
        }
    }
    let (start_line, start_line_number) = start.unwrap_or_default();
    Ok(Some(RawHead {
        start_line,
        start_line_number,
        field_lines,
        len: src.offset(),
    }))
}

impl RawHead {
    /// The header fields, or the first malformed line.
    pub fn headers(&self) -> Result<Headers, Error> {
        let mut headers = Headers::new();
        for (i, line) in self.field_lines.iter().enumerate() {
            let (name, value) = parse_field(line).map_err(|error| Error::Field {
                line: self.start_line_number + 1 + i,
                error,
            })?;
            headers.add(name, value);
        }
        Ok(headers)
    }
}

/// Splits a field line into name and value (optional whitespace around the value removed).
pub fn parse_field(line: &[u8]) -> Result<(&str, &[u8]), FieldError> {
    if matches!(line.first(), Some(b' ' | b'\t')) {
        return Err(FieldError::Folded);
    }
    let colon = line.iter().position(|&b| b == b':').ok_or(FieldError::NoColon)?;
    let name = &line[..colon];
    let bad_name = || FieldError::Name(String::from_utf8_lossy(name).into_owned());
    if name.is_empty() || !name.iter().all(|&c| is_tchar(c)) {
        return Err(bad_name());
    }
    let name = std::str::from_utf8(name).map_err(|_| bad_name())?;
    let value = trim_ows(&line[colon + 1..]);
    if let Some(&byte) = value.iter().find(|&&c| matches!(c, 0 | b'\r' | b'\n')) {
        return Err(FieldError::Value(byte));
    }
    Ok((name, value))
}

/// A request line: (method, request target, version).
pub fn parse_request_line(line: &[u8]) -> Result<(String, String, String), StartLineError> {
    let mut parts = line.splitn(3, |&b| b == b' ');
    let (Some(method), Some(target), Some(version)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(StartLineError::RequestShape);
    };
    let lossy = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    if method.is_empty() || !method.iter().all(|&c| is_tchar(c)) {
        return Err(StartLineError::Method(lossy(method)));
    }
    if target.is_empty() || !target.iter().all(|&c| (0x21..0x7f).contains(&c)) {
        return Err(StartLineError::Target(lossy(target)));
    }
    if !is_http1_version(version) {
        return Err(StartLineError::Version(lossy(version)));
    }
    Ok((lossy(method), lossy(target), lossy(version)))
}

/// A status line: (version, status code, reason phrase).
pub fn parse_status_line(line: &[u8]) -> Result<(String, u16, String), StartLineError> {
    let mut parts = line.splitn(3, |&b| b == b' ');
    let (Some(version), Some(code)) = (parts.next(), parts.next()) else {
        return Err(StartLineError::StatusShape);
    };
    let reason = parts.next().unwrap_or_default();
    let lossy = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    if !is_http1_version(version) {
        return Err(StartLineError::Version(lossy(version)));
    }
    if code.len() != 3 || !code.iter().all(u8::is_ascii_digit) {
        return Err(StartLineError::Status(lossy(code)));
    }
    if reason.iter().any(|&c| c.is_ascii_control() && c != b'\t') {
        return Err(StartLineError::StatusShape);
    }
    let status = code.iter().fold(0u16, |n, d| n * 10 + u16::from(d - b'0'));
    Ok((lossy(version), status, lossy(reason)))
}

/// `HTTP/1.<digit>`.
fn is_http1_version(v: &[u8]) -> bool {
    matches!(v, [b'H', b'T', b'T', b'P', b'/', b'1', b'.', minor] if minor.is_ascii_digit())
}

/// RFC 9110 token characters (methods and field names).
pub fn is_tchar(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&c)
}

/// `value` without leading and trailing spaces and tabs.
pub fn trim_ows(value: &[u8]) -> &[u8] {
    let start = value
        .iter()
        .position(|&c| c != b' ' && c != b'\t')
        .unwrap_or(value.len());
    let end = value
        .iter()
        .rposition(|&c| c != b' ' && c != b'\t')
        .map_or(start, |e| e + 1);
    &value[start..end.max(start)]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(bytes: &[u8]) -> Result<Option<RawHead>, Error> {
        read_head(&mut &bytes[..], &Limits::default())
    }

    #[test]
    fn lines_end_with_crlf_or_lf_and_leading_blank_lines_are_skipped() {
        let h = head(b"\r\n\nGET / HTTP/1.1\r\nA: 1\nB:2\r\n\r\nbody").unwrap().unwrap();
        assert_eq!(h.start_line, b"GET / HTTP/1.1");
        assert_eq!(h.start_line_number, 3);
        assert_eq!(h.field_lines, [b"A: 1".to_vec(), b"B:2".to_vec()]);
        assert_eq!(h.len, 31);
        // A CR that is not part of a line end is left for the caller.
        let h = head(b"GET / HTTP/1.1\r\nA: b\rc\r\n\r\n").unwrap().unwrap();
        assert_eq!(h.field_lines, [b"A: b\rc".to_vec()]);
    }

    #[test]
    fn an_input_without_a_start_line_is_no_message() {
        assert_eq!(head(b"").unwrap(), None);
        assert_eq!(head(b"\r\n\n").unwrap(), None);
    }

    #[test]
    fn every_cut_of_a_head_is_an_error() {
        let bytes = b"\r\nGET /a HTTP/1.1\r\nHost: x\r\nX-Long: value\r\n\r\n";
        assert!(head(bytes).unwrap().is_some());
        assert_eq!(head(&bytes[..2]).unwrap(), None, "only a blank line");
        for cut in (1..bytes.len()).filter(|&cut| cut != 2) {
            match head(&bytes[..cut]) {
                Err(Error::Truncated { offset, part }) => {
                    assert_eq!((offset, part), (cut as u64, Part::Head), "cut at {cut}")
                }
                other => panic!("cut at {cut}: {other:?}"),
            }
        }
    }

    #[test]
    fn heads_are_bounded_in_bytes_and_lines() {
        let limits = Limits {
            max_head_bytes: 32,
            max_head_lines: 3,
            max_body_bytes: 0,
        };
        let long = [&b"GET / HTTP/1.1\r\nX: "[..], &[b'a'; 1 << 20], b"\r\n\r\n"].concat();
        assert!(matches!(
            read_head(&mut &long[..], &limits),
            Err(Error::TooLarge {
                part: Part::Head,
                limit: 32
            })
        ));
        let many = b"GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\n\r\n";
        assert!(matches!(
            read_head(
                &mut &many[..],
                &Limits {
                    max_head_bytes: 1024,
                    ..limits
                }
            ),
            Err(Error::TooManyLines {
                part: Part::Head,
                limit: 3
            })
        ));
        let fits = b"GET / HTTP/1.1\r\nA: 1\r\n\r\n";
        assert_eq!(read_head(&mut &fits[..], &limits).unwrap().unwrap().len, 24);
        let exactly = [&b"GET / HTTP/1.1\r\nA: 123456789"[..], b"\r\n\r\n"].concat();
        assert_eq!(exactly.len(), 32);
        assert!(read_head(&mut &exactly[..], &limits).is_ok());
        let one_more = [&b"GET / HTTP/1.1\r\nA: 1234567890"[..], b"\r\n\r\n"].concat();
        assert!(matches!(
            read_head(&mut &one_more[..], &limits),
            Err(Error::TooLarge {
                part: Part::Head,
                limit: 32
            })
        ));
    }

    #[test]
    fn field_lines() {
        assert_eq!(parse_field(b"X-A:  v 1 \t"), Ok(("X-A", &b"v 1"[..])));
        assert_eq!(parse_field(b"x:"), Ok(("x", &b""[..])));
        assert_eq!(parse_field(b"x: a:b"), Ok(("x", &b"a:b"[..])));
        assert_eq!(parse_field(b" folded"), Err(FieldError::Folded));
        assert_eq!(parse_field(b"\tfolded: x"), Err(FieldError::Folded));
        assert_eq!(parse_field(b"no colon"), Err(FieldError::NoColon));
        assert_eq!(parse_field(b": v"), Err(FieldError::Name(String::new())));
        assert_eq!(parse_field(b"X-A : v"), Err(FieldError::Name("X-A ".into())));
        assert_eq!(parse_field(b"B\xe9: v"), Err(FieldError::Name("B\u{fffd}".into())));
        assert_eq!(parse_field(b"A: x\0y"), Err(FieldError::Value(0)));
        assert_eq!(parse_field(b"A: x\ry"), Err(FieldError::Value(b'\r')));
        assert_eq!(parse_field(b"A: \x01\x7f\xff"), Ok(("A", &b"\x01\x7f\xff"[..])));
    }

    #[test]
    fn a_bad_field_names_its_line() {
        let h = head(b"\r\nGET / HTTP/1.1\r\nA: 1\r\nbad\r\n\r\n").unwrap().unwrap();
        let err = h.headers().unwrap_err();
        assert!(
            matches!(
                err,
                Error::Field {
                    line: 4,
                    error: FieldError::NoColon
                }
            ),
            "{err:?}"
        );
        assert_eq!(err.to_string(), "line 4: no colon in the field line");
    }

    #[test]
    fn request_lines() {
        assert_eq!(
            parse_request_line(b"GET /a?b HTTP/1.1"),
            Ok(("GET".into(), "/a?b".into(), "HTTP/1.1".into()))
        );
        assert_eq!(
            parse_request_line(b"OPTIONS * HTTP/1.0").map(|r| r.1),
            Ok("*".to_string())
        );
        assert_eq!(parse_request_line(b"GARBAGE"), Err(StartLineError::RequestShape));
        assert_eq!(parse_request_line(b"GET /"), Err(StartLineError::RequestShape));
        assert_eq!(
            parse_request_line(b"GET  / HTTP/1.1"),
            Err(StartLineError::Target(String::new()))
        );
        assert_eq!(
            parse_request_line(b"G(T / HTTP/1.1"),
            Err(StartLineError::Method("G(T".into()))
        );
        assert_eq!(
            parse_request_line(b"GET /\xe9 HTTP/1.1"),
            Err(StartLineError::Target("/\u{fffd}".into()))
        );
        assert_eq!(
            parse_request_line(b"GET / HTTP/2.0"),
            Err(StartLineError::Version("HTTP/2.0".into()))
        );
        assert_eq!(
            parse_request_line(b"GET / HTTP/1.1 x"),
            Err(StartLineError::Version("HTTP/1.1 x".into()))
        );
    }

    #[test]
    fn status_lines() {
        assert_eq!(
            parse_status_line(b"HTTP/1.1 404 Not Found"),
            Ok(("HTTP/1.1".into(), 404, "Not Found".into()))
        );
        assert_eq!(
            parse_status_line(b"HTTP/1.0 200"),
            Ok(("HTTP/1.0".into(), 200, String::new()))
        );
        assert_eq!(parse_status_line(b"HTTP/1.1 204 ").map(|s| s.1), Ok(204));
        assert_eq!(parse_status_line(b"HTTP/1.1"), Err(StartLineError::StatusShape));
        assert_eq!(
            parse_status_line(b"HTTP/1.1 abc"),
            Err(StartLineError::Status("abc".into()))
        );
        assert_eq!(
            parse_status_line(b"HTTP/1.1 2000 OK"),
            Err(StartLineError::Status("2000".into()))
        );
        assert_eq!(
            parse_status_line(b"ICY 200 OK"),
            Err(StartLineError::Version("ICY".into()))
        );
        assert_eq!(
            parse_status_line(b"HTTP/1.1 200 O\0K"),
            Err(StartLineError::StatusShape)
        );
    }

    #[test]
    fn ows_trimming() {
        assert_eq!(trim_ows(b" \t a b \t"), b"a b");
        assert_eq!(trim_ows(b"   "), b"");
        assert_eq!(trim_ows(b""), b"");
    }
}
