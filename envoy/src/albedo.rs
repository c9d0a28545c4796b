//! CRS's test backend, albedo (a Go net/http server): `POST /reflect` answers with the status,
//! headers and body the request's JSON asks for; every other path answers 200 with an empty
//! body. Used by the test upstream (real Envoy runs) and by the CRS regression runner, which
//! synthesizes the upstream's answer without a socket.
//!
//! Go's own behaviour is kept where it changes what a WAF sees: the sniffed Content-Type of
//! bodies (`http.DetectContentType`), `Content-Length`, the 301 that `ServeMux` sends for
//! unclean paths, and the 400 for targets whose %-escapes are invalid.

use base64::Engine as _;
use meshward_testkit::http1::{Headers, Request, Response};
use serde::Deserialize;
use std::collections::BTreeMap;

/// albedo's reflection spec (the JSON body of `POST /reflect`).
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct ReflectionSpec {
    status: i64,
    headers: BTreeMap<String, String>,
    body: String,
    encoded_body: String,
}

/// How albedo answers `request` (its target as the upstream receives it, origin form).
pub fn respond(request: &Request) -> Response {
    let method = request.method.as_str();
    let (path, query) = split_query(request.target.as_bytes());
    if method == "CONNECT" || path == b"*" {
        return finish(200, BTreeMap::new(), Vec::new());
    }
    let Some(decoded) = percent_decode(path) else {
        return finish(400, BTreeMap::new(), b"400 Bad Request".to_vec());
    };
    let cleaned = clean_path(&decoded);
    if cleaned != decoded {
        let mut location = cleaned;
        if let Some(q) = query {
            location.push(b'?');
            location.extend_from_slice(q);
        }
        let mut headers = BTreeMap::new();
        let mut body = Vec::new();
        if method == "GET" || method == "HEAD" {
            headers.insert("Content-Type".to_string(), b"text/html; charset=utf-8".to_vec());
            body = format!(
                "<a href=\"{}\">Moved Permanently</a>.\n\n",
                String::from_utf8_lossy(&location)
            )
            .into_bytes();
        }
        headers.insert("Location".to_string(), location);
        return finish(301, headers, body);
    }
    let reflect_path = decoded == b"/reflect" || decoded.starts_with(b"/reflect/");
    if reflect_path && method == "POST" {
        return reflect(&request.body);
    }
    finish(200, BTreeMap::new(), Vec::new())
}

/// albedo's `/reflect` handler: `body` is the JSON spec of the response to send.
pub fn reflect(body: &[u8]) -> Response {
    let Ok(spec) = serde_json::from_slice::<ReflectionSpec>(body) else {
        return finish(400, BTreeMap::new(), b"Invalid JSON in request body".to_vec());
    };
    if (spec.status > 0 && spec.status < 100) || spec.status >= 600 || spec.status < 0 {
        let text = format!("Invalid status code: {}", spec.status);
        return finish(400, BTreeMap::new(), text.into_bytes());
    }
    let status = if spec.status == 0 { 200 } else { spec.status as u16 };
    let body = if !spec.body.is_empty() {
        spec.body.into_bytes()
    } else if spec.encoded_body.is_empty() {
        Vec::new()
    } else {
        match base64::engine::general_purpose::STANDARD.decode(spec.encoded_body.as_bytes()) {
            Ok(bytes) => bytes,
            Err(_) => {
                return finish(
                    status,
                    BTreeMap::new(),
                    b"invalid base64 encoding of response body".to_vec(),
                )
            }
        }
    };
    let headers = spec
        .headers
        .into_iter()
        .filter(|(n, v)| valid_header(n, v))
        .map(|(n, v)| (canonical_header_name(&n), v.into_bytes()))
        .collect();
    finish(status, headers, body)
}

/// Adds what Go's server adds: Content-Type (sniffed) for non-empty bodies, Content-Length;
/// headers in the order Go writes them (sorted by name).
fn finish(status: u16, mut headers: BTreeMap<String, Vec<u8>>, body: Vec<u8>) -> Response {
    if !body.is_empty() && !headers.contains_key("Content-Type") {
        headers.insert(
            "Content-Type".to_string(),
            detect_content_type(&body).as_bytes().to_vec(),
        );
    }
    if !headers.contains_key("Content-Length") {
        headers.insert("Content-Length".to_string(), body.len().to_string().into_bytes());
    }
    headers.insert("Date".to_string(), b"Thu, 01 Jan 2026 00:00:00 GMT".to_vec());
    Response {
        headers: Headers::from_pairs(headers),
        body,
        ..Response::new(status)
    }
}

/// Go's `textproto.CanonicalMIMEHeaderKey` for valid names: `content-type` -> `Content-Type`.
fn canonical_header_name(name: &str) -> String {
    let mut upper = true;
    name.chars()
        .map(|c| {
            let out = if upper {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            };
            upper = c == '-';
            out
        })
        .collect()
}

fn valid_header(name: &str, value: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&c))
        && !value.bytes().any(|c| c == b'\r' || c == b'\n' || c == 0)
}

fn split_query(path: &[u8]) -> (&[u8], Option<&[u8]>) {
    match path.iter().position(|&c| c == b'?') {
        Some(q) => (&path[..q], Some(&path[q + 1..])),
        None => (path, None),
    }
}

/// Decodes %-escapes as Go's URL parser does; `None` when one is invalid.
fn percent_decode(path: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(path.len());
    let mut i = 0;
    while i < path.len() {
        if path[i] == b'%' {
            let hex = path.get(i + 1..i + 3)?;
            let text = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(text, 16).ok()?);
            i += 3;
        } else {
            out.push(path[i]);
            i += 1;
        }
    }
    Some(out)
}

/// Go's `path.Clean` plus ServeMux's rule of keeping a trailing slash.
fn clean_path(path: &[u8]) -> Vec<u8> {
    if path.is_empty() {
        return b"/".to_vec();
    }
    let mut parts: Vec<&[u8]> = Vec::new();
    for segment in path.split(|&c| c == b'/') {
        match segment {
            b"" | b"." => {}
            b".." => {
                parts.pop();
            }
            s => parts.push(s),
        }
    }
    let mut out = Vec::with_capacity(path.len());
    for p in &parts {
        out.push(b'/');
        out.extend_from_slice(p);
    }
    if out.is_empty() || path.ends_with(b"/") {
        out.push(b'/');
    }
    out
}

/// Go's `http.DetectContentType` for the signatures a test body can realistically carry.
pub fn detect_content_type(body: &[u8]) -> &'static str {
    let data = &body[..body.len().min(512)];
    if data.starts_with(b"\xFE\xFF") {
        return "text/plain; charset=utf-16be";
    }
    if data.starts_with(b"\xFF\xFE") {
        return "text/plain; charset=utf-16le";
    }
    if data.starts_with(b"\xEF\xBB\xBF") {
        return "text/plain; charset=utf-8";
    }
    let start = data
        .iter()
        .position(|&c| !matches!(c, b'\t' | b'\n' | b'\x0c' | b'\r' | b' '))
        .unwrap_or(data.len());
    let trimmed = &data[start..];
    const HTML: [&[u8]; 17] = [
        b"<!DOCTYPE HTML",
        b"<HTML",
        b"<HEAD",
        b"<SCRIPT",
        b"<IFRAME",
        b"<H1",
        b"<DIV",
        b"<FONT",
        b"<TABLE",
        b"<A",
        b"<STYLE",
        b"<TITLE",
        b"<B",
        b"<BODY",
        b"<BR",
        b"<P",
        b"<!--",
    ];
    for sig in HTML {
        if trimmed.len() > sig.len()
            && trimmed[..sig.len()].eq_ignore_ascii_case(sig)
            && matches!(trimmed[sig.len()], b' ' | b'>')
        {
            return "text/html; charset=utf-8";
        }
    }
    if trimmed.starts_with(b"<?xml") {
        return "text/xml; charset=utf-8";
    }
    if data.starts_with(b"%PDF-") {
        return "application/pdf";
    }
    if data.starts_with(b"%!PS-Adobe-") {
        return "application/postscript";
    }
    if data.starts_with(b"GIF87a") || data.starts_with(b"GIF89a") {
        return "image/gif";
    }
    if data.starts_with(b"\x89PNG\x0D\x0A\x1A\x0A") {
        return "image/png";
    }
    if data.starts_with(b"\xFF\xD8\xFF") {
        return "image/jpeg";
    }
    if data.starts_with(b"PK\x03\x04") {
        return "application/zip";
    }
    if data.starts_with(b"\x1F\x8B\x08") {
        return "application/x-gzip";
    }
    let binary = data
        .iter()
        .any(|&c| c <= 0x08 || c == 0x0B || (0x0E..=0x1A).contains(&c) || (0x1C..=0x1F).contains(&c));
    if binary {
        "application/octet-stream"
    } else {
        "text/plain; charset=utf-8"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use meshward_testkit::http1::Frame;

    fn request(method: &str, path: &str, body: &str) -> Request {
        Request {
            body: body.into(),
            ..Request::new(method, path)
        }
    }

    fn respond(r: Request) -> Response {
        super::respond(&r)
    }

    #[test]
    fn default_path_is_empty_200() {
        let r = respond(request("GET", "/get?x=1", ""));
        assert_eq!(r.status, 200);
        assert!(r.body.is_empty());
        assert_eq!(r.header("Content-Length"), Some("0"));
        assert_eq!(r.header("Content-Type"), None);
    }

    #[test]
    fn reflect_body_with_sniffed_type() {
        let r = respond(request(
            "POST",
            "/reflect",
            r#"{"body": "Maximum allowed file size is 10 MB"}"#,
        ));
        assert_eq!(r.status, 200);
        assert_eq!(r.body, b"Maximum allowed file size is 10 MB");
        assert_eq!(r.header("content-type"), Some("text/plain; charset=utf-8"));
        assert_eq!(r.header("Content-Length"), Some("34"));
        let html = respond(request(
            "POST",
            "/reflect",
            r#"{"body": "<html><body>x</body></html>"}"#,
        ));
        assert_eq!(html.header("Content-Type"), Some("text/html; charset=utf-8"));
    }

    #[test]
    fn reflect_status_headers_and_encoded_body() {
        let r = respond(request(
            "POST",
            "/reflect",
            r#"{"status": 404, "headers": {"content-type": "application/json", "x-a": "1"}, "encodedBody": "eyJhIjoxfQ=="}"#,
        ));
        assert_eq!(r.status, 404);
        assert_eq!(r.body, br#"{"a":1}"#);
        assert_eq!(r.header("Content-Type"), Some("application/json"));
        assert_eq!(r.header("X-A"), Some("1"));
    }

    #[test]
    fn reflect_errors() {
        assert_eq!(respond(request("POST", "/reflect", "not json")).status, 400);
        assert_eq!(respond(request("POST", "/reflect", r#"{"status": 42}"#)).status, 400);
        // GET /reflect is the default handler.
        assert_eq!(respond(request("GET", "/reflect", "")).body, b"");
    }

    #[test]
    fn unclean_paths_redirect_and_bad_escapes_fail() {
        let r = respond(request("GET", "/a/../etc/passwd?x", ""));
        assert_eq!(r.status, 301);
        assert_eq!(r.header("Location"), Some("/etc/passwd?x"));
        assert_eq!(respond(request("GET", "/a//b/", "")).header("Location"), Some("/a/b/"));
        assert_eq!(respond(request("GET", "/%2e%2e/x", "")).status, 301);
        assert_eq!(respond(request("GET", "/%zz", "")).status, 400);
        assert_eq!(respond(request("GET", "/ok/", "")).status, 200);
    }

    #[test]
    fn sniffing() {
        assert_eq!(detect_content_type(b"  <!DOCTYPE html><p>"), "text/html; charset=utf-8");
        assert_eq!(
            detect_content_type(b"<?xml version='1.0'?><a/>"),
            "text/xml; charset=utf-8"
        );
        assert_eq!(detect_content_type(b"<?php echo 1; ?>"), "text/plain; charset=utf-8");
        assert_eq!(detect_content_type(b"\x00\x01"), "application/octet-stream");
        assert_eq!(detect_content_type(b"<a>"), "text/html; charset=utf-8");
        assert_eq!(detect_content_type(b"<ab>"), "text/plain; charset=utf-8");
        assert_eq!(detect_content_type(b"<a href>"), "text/html; charset=utf-8");
    }

    #[test]
    fn wire_form() {
        let r = respond(request("GET", "/", ""));
        let text = String::from_utf8(r.to_bytes(Frame::Bare)).unwrap();
        assert!(
            text.starts_with("HTTP/1.1 200 OK\r\nContent-Length: 0\r\nDate: "),
            "{text}"
        );
        assert!(text.ends_with("\r\n\r\n"));
    }
}
