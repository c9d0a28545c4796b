//! Raw HTTP/1.1 messages for the CLI, in Envoy's form: the message is read by
//! `meshward_testkit::http1` (framing, chunked bodies and trailers, bounded), then its headers
//! become what Envoy's codec hands a filter — names lower-cased, pseudo-headers first, `Host`
//! as `:authority`.

use crate::error::Error;
use crate::Headers;
use meshward_testkit::http1;

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

/// Parses a raw HTTP/1.1 request into Envoy-style headers (`Host` becomes `:authority`; an
/// absolute-form target gives `:scheme`, `:authority` and `:path`). Bytes after the request
/// are ignored.
pub fn parse_request(raw: &[u8]) -> Result<Message, Error> {
    let (request, _) = http1::parse_request(raw)?;
    Ok(request_message(request))
}

/// A request read by `meshward_testkit::http1` in Envoy's form, as its codec hands it on:
/// pseudo-headers first (`Host` as `:authority`; an absolute-form target split into
/// `:scheme`, `:authority` and `:path`), then the other headers in arrival order.
pub fn request_message(request: http1::Request) -> Message {
    let mut path = request.target.clone();
    let mut authority = request.headers.get("host");
    let mut scheme = "http".to_string();
    if let Some((s, after)) = request.target.split_once("://") {
        scheme = s.to_ascii_lowercase();
        let (auth, p) = after.split_at(after.find('/').unwrap_or(after.len()));
        authority = Some(auth.to_string());
        path = if p.is_empty() { "/".to_string() } else { p.to_string() };
    }
    let mut headers = Headers::new();
    headers.add(":authority", authority.unwrap_or_default());
    headers.add(":path", path);
    headers.add(":method", &request.method);
    headers.add(":scheme", scheme);
    headers.extend(request.headers.iter().filter(|(k, _)| !k.eq_ignore_ascii_case("host")));
    envoy_form(headers, request.body, request.trailers)
}

/// Parses a raw HTTP/1.1 response (`HTTP/1.1 200 OK` ...) into headers with `:status`.
pub fn parse_response(raw: &[u8]) -> Result<Message, Error> {
    let (response, _) = http1::parse_response(raw, "GET")?;
    Ok(response_message(response))
}

/// A response read by `meshward_testkit::http1` in Envoy's form: `:status`, then the headers.
pub fn response_message(response: http1::Response) -> Message {
    let mut headers = Headers::new();
    headers.add(":status", response.status.to_string());
    headers.extend(response.headers.iter());
    envoy_form(headers, response.body, response.trailers)
}

fn envoy_form(mut headers: Headers, body: Vec<u8>, mut trailers: Headers) -> Message {
    headers.lowercase_names();
    trailers.lowercase_names();
    Message {
        headers,
        body,
        trailers: (!trailers.is_empty()).then_some(trailers),
    }
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
        let names: Vec<&str> = m.headers.iter().map(|(k, _)| k).collect();
        assert_eq!(
            names,
            [":authority", ":path", ":method", ":scheme", "content-length", "x-y"]
        );
    }

    #[test]
    fn chunked_request_with_trailers_and_lf_endings() {
        let raw = b"POST / HTTP/1.1\nHost: h\nTransfer-Encoding: chunked\n\n3\nabc\n2;ext=1\nde\n0\nX-T: 1\n\n";
        let m = parse_request(raw).unwrap();
        assert_eq!(m.body, b"abcde");
        let trailers = m.trailers.unwrap();
        assert_eq!(trailers.get("x-t").as_deref(), Some("1"));
        assert_eq!(trailers.iter().next().map(|(k, _)| k), Some("x-t"));
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
        assert!(
            matches!(err, Error::Http1(http1::Error::StartLine { line: 1, .. })),
            "{err}"
        );
        let err = parse_request(b"GET / HTTP/1.1\r\nno-colon\r\n\r\n").unwrap_err();
        assert!(
            matches!(err, Error::Http1(http1::Error::Field { line: 2, .. })),
            "{err}"
        );
    }

    #[test]
    fn response_parses_status() {
        let m = parse_response(b"HTTP/1.1 404 Not Found\r\ncontent-length: 2\r\n\r\nno").unwrap();
        assert_eq!(m.headers.get(":status").as_deref(), Some("404"));
        assert_eq!(m.body, b"no");
        assert!(parse_response(b"HTTP/1.1 abc\r\n\r\n").is_err());
    }

    #[test]
    fn a_truncated_message_is_an_error() {
        let raw = b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nabc";
        let err = parse_request(raw).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid HTTP/1.1 message: the message ends at byte 50, inside the body"
        );
    }
}
