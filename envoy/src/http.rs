//! HTTP/1.1 message reading and writing shared by the test client and the test upstream.

use std::io::{self, BufRead};

/// Header lines as received: names keep their case, order and repetitions are preserved.
pub type Headers = Vec<(String, String)>;

/// The first value of header `name` (ASCII case-insensitive).
pub fn header<'a>(headers: &'a Headers, name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// All values of header `name` (ASCII case-insensitive), in order.
pub fn header_all<'a>(headers: &'a Headers, name: &str) -> Vec<&'a str> {
    headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
        .collect()
}

/// A parsed start line plus headers.
pub struct Head {
    /// The start line split at its first two spaces.
    pub parts: [String; 3],
    pub headers: Headers,
}

const MAX_HEAD: usize = 256 * 1024;

/// Reads a start line and headers; `Ok(None)` on a clean end of stream before any byte.
pub fn read_head(reader: &mut impl BufRead) -> io::Result<Option<Head>> {
    let mut lines = Vec::new();
    let mut total = 0usize;
    loop {
        let mut line = Vec::new();
        let n = reader.read_until(b'\n', &mut line)?;
        if n == 0 {
            if lines.is_empty() && total == 0 {
                return Ok(None);
            }
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection closed inside the head",
            ));
        }
        total += n;
        if total > MAX_HEAD {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "head larger than 256 KiB"));
        }
        while line.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
            line.pop();
        }
        if line.is_empty() {
            if lines.is_empty() {
                continue; // tolerate a stray CRLF between messages
            }
            break;
        }
        lines.push(String::from_utf8_lossy(&line).into_owned());
    }
    let start = lines.remove(0);
    let mut split = start.splitn(3, ' ');
    let parts = [
        split.next().unwrap_or_default().to_string(),
        split.next().unwrap_or_default().to_string(),
        split.next().unwrap_or_default().to_string(),
    ];
    let mut headers = Vec::with_capacity(lines.len());
    for line in lines {
        let (name, value) = line.split_once(':').ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("header line without colon: {line:?}"),
            )
        })?;
        headers.push((name.to_string(), value.trim().to_string()));
    }
    Ok(Some(Head { parts, headers }))
}

/// How a message body is delimited.
pub enum Framing {
    None,
    Length(usize),
    Chunked,
    UntilClose,
}

/// The framing the headers announce; `default` when they announce none.
pub fn framing(headers: &Headers, default: Framing) -> io::Result<Framing> {
    if header_all(headers, "transfer-encoding")
        .iter()
        .any(|v| v.to_ascii_lowercase().contains("chunked"))
    {
        return Ok(Framing::Chunked);
    }
    match header(headers, "content-length") {
        Some(v) => v
            .trim()
            .parse()
            .map(Framing::Length)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, format!("bad content-length {v:?}"))),
        None => Ok(default),
    }
}

/// Reads a body with the given framing; returns the body and any chunked trailers.
pub fn read_body(reader: &mut impl BufRead, framing: Framing) -> io::Result<(Vec<u8>, Headers)> {
    match framing {
        Framing::None => Ok((Vec::new(), Vec::new())),
        Framing::Length(n) => {
            let mut body = vec![0; n];
            reader.read_exact(&mut body)?;
            Ok((body, Vec::new()))
        }
        Framing::UntilClose => {
            let mut body = Vec::new();
            reader.read_to_end(&mut body)?;
            Ok((body, Vec::new()))
        }
        Framing::Chunked => read_chunked(reader),
    }
}

fn read_chunked(reader: &mut impl BufRead) -> io::Result<(Vec<u8>, Headers)> {
    let mut body = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection closed inside a chunked body",
            ));
        }
        let size_text = line.trim().split(';').next().unwrap_or_default().to_string();
        let size = usize::from_str_radix(&size_text, 16)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, format!("bad chunk size {size_text:?}")))?;
        if size == 0 {
            break;
        }
        let start = body.len();
        body.resize(start + size, 0);
        reader.read_exact(&mut body[start..])?;
        let mut crlf = [0u8; 2];
        reader.read_exact(&mut crlf)?;
    }
    let mut trailers = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            break;
        }
        let line = line.trim_end_matches(['\r', '\n']);
        if line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            trailers.push((k.to_string(), v.trim().to_string()));
        }
    }
    Ok((body, trailers))
}

/// How a written message frames its body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Frame {
    /// No framing header at all (a bodiless request).
    Bare,
    /// `content-length` (unless the caller's headers already have one).
    Length,
    /// `transfer-encoding: chunked`, followed by the trailers.
    Chunked,
}

/// Serializes a message: start line, headers (as given), framing header, body, trailers.
pub fn write_message(start: &str, headers: &Headers, body: &[u8], trailers: &Headers, frame: Frame) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 256);
    out.extend_from_slice(start.as_bytes());
    out.extend_from_slice(b"\r\n");
    for (k, v) in headers {
        out.extend_from_slice(format!("{k}: {v}\r\n").as_bytes());
    }
    let has = |name: &str| header(headers, name).is_some();
    match frame {
        Frame::Bare => {
            out.extend_from_slice(b"\r\n");
            out.extend_from_slice(body);
        }
        Frame::Length => {
            if !has("content-length") {
                out.extend_from_slice(format!("content-length: {}\r\n", body.len()).as_bytes());
            }
            out.extend_from_slice(b"\r\n");
            out.extend_from_slice(body);
        }
        Frame::Chunked => {
            if !has("transfer-encoding") {
                out.extend_from_slice(b"transfer-encoding: chunked\r\n");
            }
            out.extend_from_slice(b"\r\n");
            if !body.is_empty() {
                out.extend_from_slice(format!("{:x}\r\n", body.len()).as_bytes());
                out.extend_from_slice(body);
                out.extend_from_slice(b"\r\n");
            }
            out.extend_from_slice(b"0\r\n");
            for (k, v) in trailers {
                out.extend_from_slice(format!("{k}: {v}\r\n").as_bytes());
            }
            out.extend_from_slice(b"\r\n");
        }
    }
    out
}
