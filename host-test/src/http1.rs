//! A small raw HTTP/1.1 message parser for the CLI: request/status line, headers, and a body
//! framed by `Content-Length`, chunked encoding (with trailers) or the end of input.

use crate::error::Error;
use crate::headers::Headers;

/// A parsed HTTP/1.1 message, headers already in Envoy's form (pseudo-headers first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Headers, with `:method`/`:path`/`:authority`/`:scheme` or `:status` first.
    pub headers: Headers,
    /// Decoded body.
    pub body: Vec<u8>,
    /// Trailers of a chunked body, if any were sent.
    pub trailers: Option<Headers>,
}

fn bad(what: &str, line: usize) -> Error {
    Error::Http1 {
        line,
        reason: what.to_string(),
    }
}

/// Splits the head (up to the blank line) from the rest, accepting CRLF or LF line ends.
fn split_head(raw: &[u8]) -> Result<(Vec<String>, &[u8]), Error> {
    let mut lines = Vec::new();
    let mut at = 0;
    loop {
        let Some(nl) = raw[at..].iter().position(|&b| b == b'\n') else {
            // No blank line: the whole input is the head.
            let rest = &raw[at..];
            if !rest.is_empty() {
                lines.push(String::from_utf8_lossy(rest).trim_end_matches('\r').to_string());
            }
            return Ok((lines, &raw[raw.len()..]));
        };
        let line = String::from_utf8_lossy(&raw[at..at + nl])
            .trim_end_matches('\r')
            .to_string();
        at += nl + 1;
        if line.is_empty() {
            if lines.is_empty() {
                continue; // tolerate leading blank lines
            }
            return Ok((lines, &raw[at..]));
        }
        lines.push(line);
    }
}

fn parse_fields(lines: &[String], first_line: usize) -> Result<Vec<(String, String)>, Error> {
    lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let (k, v) = l
                .split_once(':')
                .ok_or_else(|| bad("header line without ':'", first_line + i))?;
            let k = k.trim();
            if k.is_empty() || k.contains(' ') {
                return Err(bad("invalid header name", first_line + i));
            }
            Ok((k.to_ascii_lowercase(), v.trim().to_string()))
        })
        .collect()
}

/// Decodes a chunked body; returns the body and trailers (if any trailer line was present).
pub fn decode_chunked(mut data: &[u8]) -> Result<(Vec<u8>, Option<Headers>), Error> {
    let mut body = Vec::new();
    loop {
        let nl = data
            .iter()
            .position(|&b| b == b'\n')
            .ok_or_else(|| bad("chunk size line not terminated", 0))?;
        let line = String::from_utf8_lossy(&data[..nl]).trim_end_matches('\r').to_string();
        data = &data[nl + 1..];
        let size_text = line.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_text, 16).map_err(|_| bad("invalid chunk size", 0))?;
        if size == 0 {
            let (lines, _) = split_head(data)?;
            let fields = parse_fields(&lines, 0)?;
            let trailers = if fields.is_empty() {
                None
            } else {
                Some(Headers::from_pairs(fields))
            };
            return Ok((body, trailers));
        }
        if data.len() < size {
            return Err(bad("chunk shorter than its size", 0));
        }
        body.extend_from_slice(&data[..size]);
        data = &data[size..];
        if data.starts_with(b"\r\n") {
            data = &data[2..];
        } else if data.starts_with(b"\n") {
            data = &data[1..];
        }
    }
}

fn parse_body(fields: &[(String, String)], rest: &[u8]) -> Result<(Vec<u8>, Option<Headers>), Error> {
    let chunked = fields
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.to_ascii_lowercase().contains("chunked"));
    if chunked {
        return decode_chunked(rest);
    }
    if let Some((_, len)) = fields.iter().find(|(k, _)| k == "content-length") {
        let len: usize = len.parse().map_err(|_| bad("invalid content-length", 0))?;
        if rest.len() < len {
            return Err(bad("body shorter than content-length", 0));
        }
        return Ok((rest[..len].to_vec(), None));
    }
    Ok((rest.to_vec(), None))
}

/// Parses a raw HTTP/1.1 request into Envoy-style headers (`Host` becomes `:authority`).
pub fn parse_request(raw: &[u8]) -> Result<Message, Error> {
    let (lines, rest) = split_head(raw)?;
    let first = lines.first().ok_or_else(|| bad("empty request", 1))?;
    let mut parts = first.split_whitespace();
    let (Some(method), Some(target), Some(version)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(bad("request line must be `METHOD TARGET HTTP/1.x`", 1));
    };
    if !version.starts_with("HTTP/1.") {
        return Err(bad("only HTTP/1.x requests are supported", 1));
    }
    let fields = parse_fields(&lines[1..], 2)?;
    let (body, trailers) = parse_body(&fields, rest)?;
    let mut headers = Headers::new();
    let mut path = target.to_string();
    let mut authority = fields.iter().find(|(k, _)| k == "host").map(|(_, v)| v.clone());
    let mut scheme = "http".to_string();
    // Absolute-form targets carry scheme and authority.
    if let Some((s, after)) = target.split_once("://") {
        scheme = s.to_ascii_lowercase();
        let (auth, p) = after.split_at(after.find('/').unwrap_or(after.len()));
        authority = Some(auth.to_string());
        path = if p.is_empty() { "/".to_string() } else { p.to_string() };
    }
    headers.add(":authority", authority.unwrap_or_default());
    headers.add(":path", path);
    headers.add(":method", method);
    headers.add(":scheme", scheme);
    for (k, v) in fields {
        if k == "host" {
            continue;
        }
        headers.add(&k, v);
    }
    Ok(Message {
        headers,
        body,
        trailers,
    })
}

/// Parses a raw HTTP/1.1 response (`HTTP/1.1 200 OK` ...) into headers with `:status`.
pub fn parse_response(raw: &[u8]) -> Result<Message, Error> {
    let (lines, rest) = split_head(raw)?;
    let first = lines.first().ok_or_else(|| bad("empty response", 1))?;
    let mut parts = first.split_whitespace();
    let (Some(version), Some(code)) = (parts.next(), parts.next()) else {
        return Err(bad("status line must be `HTTP/1.x CODE [REASON]`", 1));
    };
    if !version.starts_with("HTTP/1.") || code.parse::<u16>().is_err() {
        return Err(bad("status line must be `HTTP/1.x CODE [REASON]`", 1));
    }
    let fields = parse_fields(&lines[1..], 2)?;
    let (body, trailers) = parse_body(&fields, rest)?;
    let mut headers = Headers::new();
    headers.add(":status", code);
    for (k, v) in fields {
        headers.add(&k, v);
    }
    Ok(Message {
        headers,
        body,
        trailers,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_with_content_length() {
        let m =
            parse_request(b"POST /a?b=1 HTTP/1.1\r\nHost: example.com\r\nContent-Length: 3\r\nX-Y: z\r\n\r\nabcdef")
                .unwrap();
        assert_eq!(m.headers.get(":authority").as_deref(), Some("example.com"));
        assert_eq!(m.headers.get(":path").as_deref(), Some("/a?b=1"));
        assert_eq!(m.headers.get(":method").as_deref(), Some("POST"));
        assert_eq!(m.headers.get(":scheme").as_deref(), Some("http"));
        assert_eq!(m.headers.get("host"), None);
        assert_eq!(m.headers.get("x-y").as_deref(), Some("z"));
        assert_eq!(m.body, b"abc");
    }

    #[test]
    fn chunked_request_with_trailers_and_lf_endings() {
        let raw = b"POST / HTTP/1.1\nHost: h\nTransfer-Encoding: chunked\n\n3\nabc\n2;ext=1\nde\n0\nX-T: 1\n\n";
        let m = parse_request(raw).unwrap();
        assert_eq!(m.body, b"abcde");
        assert_eq!(m.trailers.unwrap().get("x-t").as_deref(), Some("1"));
    }

    #[test]
    fn absolute_form_target() {
        let m = parse_request(b"GET https://h.example:8443 HTTP/1.1\r\n\r\n").unwrap();
        assert_eq!(m.headers.get(":authority").as_deref(), Some("h.example:8443"));
        assert_eq!(m.headers.get(":path").as_deref(), Some("/"));
        assert_eq!(m.headers.get(":scheme").as_deref(), Some("https"));
    }

    #[test]
    fn bad_request_line_names_line() {
        let err = parse_request(b"GARBAGE\r\n\r\n").unwrap_err();
        assert!(matches!(err, Error::Http1 { line: 1, .. }), "{err}");
        let err = parse_request(b"GET / HTTP/1.1\r\nno-colon\r\n\r\n").unwrap_err();
        assert!(matches!(err, Error::Http1 { line: 2, .. }), "{err}");
    }

    #[test]
    fn response_parses_status() {
        let m = parse_response(b"HTTP/1.1 404 Not Found\r\ncontent-length: 2\r\n\r\nno").unwrap();
        assert_eq!(m.headers.get(":status").as_deref(), Some("404"));
        assert_eq!(m.body, b"no");
        assert!(parse_response(b"HTTP/1.1 abc\r\n\r\n").is_err());
    }
}
