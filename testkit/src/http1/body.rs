//! Message bodies: how the headers delimit one (RFC 9112 section 6.3) and reading it.

use super::error::{Error, FramingError, Part};
use super::head::{parse_field, trim_ows, Limits};
use super::headers::Headers;
use super::source::Source;
use std::io::BufRead;

/// How a received message's body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFraming {
    /// No body.
    Empty,
    /// Exactly this many bytes.
    Length(u64),
    /// Chunked transfer coding, then trailers.
    Chunked,
    /// Everything until the connection closes (responses only).
    UntilClose,
}

/// The framing of a request: chunked, Content-Length, or no body.
pub fn request_framing(headers: &Headers) -> Result<BodyFraming, FramingError> {
    if let Some(chunked) = ends_chunked(headers)? {
        return if chunked {
            Ok(BodyFraming::Chunked)
        } else {
            Err(FramingError::UnsupportedCoding(final_coding(headers)))
        };
    }
    Ok(content_length(headers)?.map_or(BodyFraming::Empty, BodyFraming::Length))
}

/// The framing of a response to a `request_method` request: none for HEAD, 1xx, 204 and 304;
/// else chunked, Content-Length, or until the connection closes.
pub fn response_framing(request_method: &str, status: u16, headers: &Headers) -> Result<BodyFraming, FramingError> {
    if request_method.eq_ignore_ascii_case("HEAD") || (100..200).contains(&status) || status == 204 || status == 304 {
        return Ok(BodyFraming::Empty);
    }
    if let Some(chunked) = ends_chunked(headers)? {
        return Ok(if chunked {
            BodyFraming::Chunked
        } else {
            BodyFraming::UntilClose
        });
    }
    Ok(content_length(headers)?.map_or(BodyFraming::UntilClose, BodyFraming::Length))
}

/// Whether the final transfer coding is `chunked`; `None` without Transfer-Encoding. Refuses
/// Transfer-Encoding together with Content-Length.
fn ends_chunked(headers: &Headers) -> Result<Option<bool>, FramingError> {
    if !headers.contains("transfer-encoding") {
        return Ok(None);
    }
    if headers.contains("content-length") {
        return Err(FramingError::LengthAndTransferEncoding);
    }
    Ok(Some(final_coding(headers).eq_ignore_ascii_case("chunked")))
}

/// The last coding of the last Transfer-Encoding field.
fn final_coding(headers: &Headers) -> String {
    let last = headers.get_all_bytes("transfer-encoding").last().unwrap_or_default();
    let coding = last.rsplit(|&c| c == b',').next().map(trim_ows).unwrap_or_default();
    String::from_utf8_lossy(coding).into_owned()
}

/// The Content-Length, if any: every field and list item must be the same decimal number
/// (RFC 9110 section 8.6 allows repeats of one value).
pub fn content_length(headers: &Headers) -> Result<Option<u64>, FramingError> {
    let mut length: Option<u64> = None;
    for value in headers.get_all_bytes("content-length") {
        for item in value.split(|&c| c == b',').map(trim_ows) {
            let text = String::from_utf8_lossy(item);
            if item.is_empty() || !item.iter().all(u8::is_ascii_digit) {
                return Err(FramingError::InvalidLength(text.into_owned()));
            }
            let n: u64 = text
                .parse()
                .map_err(|_| FramingError::LengthTooLarge(text.clone().into_owned()))?;
            if length.is_some_and(|l| l != n) {
                return Err(FramingError::ConflictingLengths);
            }
            length = Some(n);
        }
    }
    Ok(length)
}

/// Reads a body framed by `framing`, appending it to `body`, and returns the trailers of a
/// chunked body. As with `Read::read_to_end`, on an error `body` keeps what was decoded
/// before it. Error offsets count from the start of the body.
pub fn read_body(
    reader: &mut impl BufRead,
    framing: BodyFraming,
    limits: &Limits,
    body: &mut Vec<u8>,
) -> Result<Headers, Error> {
    let mut src = Source::new(reader);
    let too_large = || Error::BodyTooLarge {
        limit: limits.max_body_bytes,
    };
    match framing {
        BodyFraming::Empty => Ok(Headers::new()),
        BodyFraming::Length(n) => {
            if n > limits.max_body_bytes {
                return Err(too_large());
            }
            src.read_exact_into(n, body, Part::Body)?;
            Ok(Headers::new())
        }
        BodyFraming::UntilClose => {
            src.read_to_end_into(limits.max_body_bytes, body)?;
            Ok(Headers::new())
        }
        BodyFraming::Chunked => read_chunked(&mut src, limits, body),
    }
}

/// At most 15 hex digits: a chunk size below 2^60, so sums of sizes cannot overflow.
const MAX_CHUNK_SIZE_DIGITS: usize = 15;

fn read_chunked<R: BufRead>(src: &mut Source<'_, R>, limits: &Limits, body: &mut Vec<u8>) -> Result<Headers, Error> {
    let mut decoded: u64 = 0;
    loop {
        let at = src.offset();
        let line = src
            .line(limits.max_head_bytes, Part::ChunkSize, limits.max_head_bytes)?
            .ok_or(Error::Truncated {
                offset: at,
                part: Part::ChunkSize,
            })?;
        let size_text = line.split(|&c| c == b';').next().map(trim_ows).unwrap_or_default();
        if size_text.is_empty()
            || size_text.len() > MAX_CHUNK_SIZE_DIGITS
            || !size_text.iter().all(u8::is_ascii_hexdigit)
        {
            return Err(Error::ChunkSize {
                offset: at,
                line: String::from_utf8_lossy(&line).into_owned(),
            });
        }
        let size = size_text.iter().fold(0u64, |n, &d| {
            (n << 4) | u64::from((d as char).to_digit(16).unwrap_or(0))
        });
        if size == 0 {
            return read_trailers(src, limits);
        }
        decoded = decoded.saturating_add(size);
        if decoded > limits.max_body_bytes {
            return Err(Error::BodyTooLarge {
                limit: limits.max_body_bytes,
            });
        }
        src.read_exact_into(size, body, Part::ChunkData)?;
        let end = src.offset();
        let truncated = Error::Truncated {
            offset: end,
            part: Part::ChunkData,
        };
        match src.peek()? {
            None => return Err(truncated),
            Some(b'\n') => src.skip_byte(),
            Some(b'\r') => {
                src.skip_byte();
                match src.peek()? {
                    None => {
                        return Err(Error::Truncated {
                            offset: end + 1,
                            part: Part::ChunkData,
                        })
                    }
                    Some(b'\n') => src.skip_byte(),
                    Some(_) => return Err(Error::ChunkEnd { offset: end }),
                }
            }
            Some(_) => return Err(Error::ChunkEnd { offset: end }),
        }
    }
}

fn read_trailers<R: BufRead>(src: &mut Source<'_, R>, limits: &Limits) -> Result<Headers, Error> {
    let start = src.offset();
    let mut trailers = Headers::new();
    for number in 1.. {
        let used = usize::try_from(src.offset() - start).unwrap_or(usize::MAX);
        let budget = limits.max_head_bytes.saturating_sub(used);
        let line = src
            .line(budget, Part::Trailers, limits.max_head_bytes)?
            .ok_or(Error::Truncated {
                offset: src.offset(),
                part: Part::Trailers,
            })?;
        if number > limits.max_head_lines {
            return Err(Error::TooManyLines {
                part: Part::Trailers,
                limit: limits.max_head_lines,
            });
        }
        if line.is_empty() {
            break;
        }
        let (name, value) = parse_field(&line).map_err(|error| Error::Trailer { line: number, error })?;
        trailers.add(name, value);
    }
    Ok(trailers)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http1::error::FieldError;

    fn headers(pairs: &[(&str, &str)]) -> Headers {
        Headers::from_pairs(pairs.iter().copied())
    }

    fn body(framing: BodyFraming, bytes: &[u8]) -> Result<(Vec<u8>, Headers), Error> {
        let mut out = Vec::new();
        let trailers = read_body(&mut &bytes[..], framing, &Limits::default(), &mut out)?;
        Ok((out, trailers))
    }

    #[test]
    fn request_framing_rules() {
        use BodyFraming::*;
        assert_eq!(request_framing(&headers(&[])), Ok(Empty));
        assert_eq!(request_framing(&headers(&[("Content-Length", "12")])), Ok(Length(12)));
        assert_eq!(
            request_framing(&headers(&[("content-length", "2, 2"), ("Content-Length", "2")])),
            Ok(Length(2))
        );
        assert_eq!(
            request_framing(&headers(&[("transfer-encoding", "gzip, Chunked")])),
            Ok(Chunked)
        );
        assert_eq!(
            request_framing(&headers(&[
                ("transfer-encoding", "chunked"),
                ("transfer-encoding", "gzip")
            ])),
            Err(FramingError::UnsupportedCoding("gzip".into()))
        );
        assert_eq!(
            request_framing(&headers(&[("transfer-encoding", "chunked, ")])),
            Err(FramingError::UnsupportedCoding(String::new()))
        );
        assert_eq!(
            request_framing(&headers(&[("Content-Length", "3"), ("Transfer-Encoding", "chunked")])),
            Err(FramingError::LengthAndTransferEncoding)
        );
        assert_eq!(
            request_framing(&headers(&[("content-length", "1"), ("content-length", "2")])),
            Err(FramingError::ConflictingLengths)
        );
        for (bad, item) in [
            ("", ""),
            ("abc", "abc"),
            ("-1", "-1"),
            ("+1", "+1"),
            ("1 2", "1 2"),
            ("1,", ""),
        ] {
            assert_eq!(
                request_framing(&headers(&[("content-length", bad)])),
                Err(FramingError::InvalidLength(item.into())),
                "{bad:?}"
            );
        }
        assert_eq!(
            request_framing(&headers(&[("content-length", "18446744073709551616")])),
            Err(FramingError::LengthTooLarge("18446744073709551616".into()))
        );
    }

    #[test]
    fn response_framing_rules() {
        use BodyFraming::*;
        let cl = headers(&[("content-length", "5")]);
        assert_eq!(response_framing("GET", 200, &cl), Ok(Length(5)));
        for (method, status) in [
            ("HEAD", 200),
            ("head", 404),
            ("GET", 100),
            ("GET", 101),
            ("GET", 204),
            ("GET", 304),
        ] {
            assert_eq!(response_framing(method, status, &cl), Ok(Empty), "{method} {status}");
        }
        assert_eq!(response_framing("GET", 200, &headers(&[])), Ok(UntilClose));
        assert_eq!(
            response_framing("GET", 200, &headers(&[("transfer-encoding", "chunked")])),
            Ok(Chunked)
        );
        assert_eq!(
            response_framing("GET", 200, &headers(&[("transfer-encoding", "gzip")])),
            Ok(UntilClose)
        );
        assert_eq!(
            response_framing(
                "GET",
                200,
                &headers(&[("transfer-encoding", "chunked"), ("content-length", "1")])
            ),
            Err(FramingError::LengthAndTransferEncoding)
        );
    }

    const CHUNKED: &[u8] = b"4;ext=1\r\nwiki\r\n5\npedia\n0\r\nX-T: 1\r\nx-u:2\r\n\r\n";

    #[test]
    fn chunked_bodies_with_extensions_trailers_and_lf_line_ends() {
        let (out, trailers) = body(BodyFraming::Chunked, CHUNKED).unwrap();
        assert_eq!(out, b"wikipedia");
        assert_eq!(trailers, headers(&[("X-T", "1"), ("x-u", "2")]));
        let (out, trailers) = body(BodyFraming::Chunked, b"0\r\n\r\n").unwrap();
        assert!(out.is_empty() && trailers.is_empty());
        assert_eq!(
            body(BodyFraming::Chunked, b" A \r\n0123456789\r\n0\r\n\r\n")
                .unwrap()
                .0
                .len(),
            10
        );
    }

    #[test]
    fn every_cut_of_a_chunked_body_is_an_error_keeping_what_arrived() {
        for cut in 0..CHUNKED.len() {
            let mut out = Vec::new();
            let result = read_body(&mut &CHUNKED[..cut], BodyFraming::Chunked, &Limits::default(), &mut out);
            match result {
                Err(Error::Truncated { offset, .. }) => assert_eq!(offset, cut as u64, "cut at {cut}"),
                other => panic!("cut at {cut}: {other:?}"),
            }
            assert!(b"wikipedia".starts_with(&out), "cut at {cut}: {out:?}");
        }
        let mut out = Vec::new();
        let err = read_body(&mut &b"4\r\nwi"[..], BodyFraming::Chunked, &Limits::default(), &mut out).unwrap_err();
        assert_eq!(out, b"wi");
        assert_eq!(err.to_string(), "the message ends at byte 5, inside chunk data");
    }

    #[test]
    fn every_cut_of_a_length_body_is_an_error() {
        let bytes = b"0123456789";
        for cut in 0..bytes.len() {
            let mut out = Vec::new();
            let err = read_body(
                &mut &bytes[..cut],
                BodyFraming::Length(10),
                &Limits::default(),
                &mut out,
            );
            assert!(
                matches!(err, Err(Error::Truncated { offset, part: Part::Body }) if offset == cut as u64),
                "cut at {cut}"
            );
            assert_eq!(out, &bytes[..cut]);
        }
        assert_eq!(body(BodyFraming::Length(4), bytes).unwrap().0, b"0123");
        assert_eq!(body(BodyFraming::UntilClose, bytes).unwrap().0, bytes);
        assert!(body(BodyFraming::Empty, bytes).unwrap().0.is_empty());
    }

    #[test]
    fn malformed_chunks_say_where() {
        let err = body(BodyFraming::Chunked, b"3\r\nabc\r\nzz\r\n").unwrap_err();
        assert!(
            matches!(&err, Error::ChunkSize { offset: 8, line } if line == "zz"),
            "{err:?}"
        );
        assert_eq!(err.to_string(), "byte 8: invalid chunk-size line \"zz\"");
        assert!(matches!(
            body(BodyFraming::Chunked, b"1\r\nabc\r\n"),
            Err(Error::ChunkEnd { offset: 4 })
        ));
        assert!(matches!(
            body(BodyFraming::Chunked, b"1\r\na\rb"),
            Err(Error::ChunkEnd { offset: 4 })
        ));
        for bad in [&b"\r\n"[..], b";x\r\n", b"-1\r\n", b"1 2\r\n", b"1000000000000000\r\n"] {
            assert!(
                matches!(body(BodyFraming::Chunked, bad), Err(Error::ChunkSize { offset: 0, .. })),
                "{bad:?}"
            );
        }
        let err = body(BodyFraming::Chunked, b"0\r\nbad trailer\r\n\r\n").unwrap_err();
        assert!(
            matches!(
                err,
                Error::Trailer {
                    line: 1,
                    error: FieldError::NoColon
                }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn hostile_lengths_are_refused_before_any_allocation() {
        let limits = Limits {
            max_body_bytes: 1 << 20,
            ..Limits::default()
        };
        let mut out = Vec::new();
        let huge = read_body(&mut &b"x"[..], BodyFraming::Length(u64::MAX), &limits, &mut out);
        assert!(matches!(huge, Err(Error::BodyTooLarge { limit: 1_048_576 })));
        assert_eq!(out.capacity(), 0);
        let chunk = read_body(
            &mut &b"fffffffffffffff\r\nx"[..],
            BodyFraming::Chunked,
            &limits,
            &mut out,
        );
        assert!(matches!(chunk, Err(Error::BodyTooLarge { .. })));
        assert_eq!(out.capacity(), 0);
        // Many small chunks count together.
        let many = b"80000\r\n"
            .iter()
            .copied()
            .chain(std::iter::repeat_n(b'a', 0x80000))
            .chain(*b"\r\n80001\r\n");
        let many: Vec<u8> = many.collect();
        assert!(matches!(
            read_body(&mut &many[..], BodyFraming::Chunked, &limits, &mut out),
            Err(Error::BodyTooLarge { .. })
        ));
        let close = vec![b'a'; (1 << 20) + 1];
        assert!(matches!(
            read_body(&mut &close[..], BodyFraming::UntilClose, &limits, &mut Vec::new()),
            Err(Error::BodyTooLarge { .. })
        ));
        // A trailer section is bounded like a head.
        let small = Limits {
            max_head_lines: 2,
            ..Limits::default()
        };
        assert!(matches!(
            read_body(
                &mut &b"0\r\na: 1\r\nb: 2\r\n\r\n"[..],
                BodyFraming::Chunked,
                &small,
                &mut Vec::new()
            ),
            Err(Error::TooManyLines {
                part: Part::Trailers,
                limit: 2
            })
        ));
    }
}
