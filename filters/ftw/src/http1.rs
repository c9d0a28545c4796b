//! Reads a raw HTTP/1.x request the way Envoy's HTTP/1 codec and connection manager hand it
//! to an HTTP filter, or says why Envoy would answer it itself.
//!
//! What the filter sees (checked with a filter dumping its headers in Envoy 1.40): the method,
//! `:path` (origin form; an absolute-form target is split into authority and path), the
//! version, and headers with lower-cased names: Host (`:authority`) first, then the others
//! in arrival order, with Envoy's edits: hop-by-hop headers removed (Connection and the
//! headers it names, Keep-Alive, Proxy-Connection, Transfer-Encoding, Upgrade, TE other than
//! `trailers`), repeats of the headers Envoy stores inline joined with `,` (others, such as
//! Cookie, stay separate), a Referer that is not a plain URI reference removed, bare CRs
//! inside values dropped, and `x-forwarded-proto` and `x-request-id` added when absent. The
//! body arrives de-chunked.
//!
//! Envoy's own answers modelled here were checked against Envoy 1.40 with default HTTP/1
//! options on every CRS test request: 400 for malformed request lines, methods outside the
//! codec's known list, targets that are not a path or carry a fragment, control or non-ASCII
//! bytes, bad header names, NUL in values, folded headers, a missing Host on HTTP/1.1,
//! Content-Length with Transfer-Encoding and broken chunked framing; 426 for any version other
//! than HTTP/1.1 (HTTP/1.0 unless `accept_http_10`); 404 for the asterisk-form target (`*`);
//! 501 for transfer codings other than chunked. A request whose body never completes reaches
//! the filter's header phase and then times out (408); a CONNECT reaches the header phase and
//! is then refused by the router (403, no upgrade_configs).
//!
//! The parsing Envoy's codec shares with any HTTP/1.1 reader (the head's lines, field lines,
//! body framing, chunked decoding) is `meshward_testkit::http1`'s; this module adds what is
//! Envoy's own: which requests it refuses and with what, and how it edits the headers.

use meshward_testkit::http1::{self, trim_ows, FieldError, FramingError, Headers};

/// A request as a proxy-wasm filter behind Envoy receives it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Request {
    /// The method token.
    pub method: String,
    /// `:path` as Envoy forwards it (query string included).
    pub path: Vec<u8>,
    /// The request target exactly as it appeared on the request line.
    pub raw_target: Vec<u8>,
    /// `HTTP/1.0` or `HTTP/1.1`.
    pub version: String,
    /// Headers in arrival order, names lower-cased, values trimmed.
    pub headers: Vec<(Vec<u8>, Vec<u8>)>,
    /// The body, de-chunked (what arrived, when incomplete).
    pub body: Vec<u8>,
    /// False when the body never completes: Envoy runs the header phase, then times out.
    pub body_complete: bool,
    /// What Envoy changed between the wire and the filter, in words (empty when nothing).
    pub edits: Vec<String>,
}

/// Envoy options that change which requests it answers itself.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProxyOptions {
    /// `http_protocol_options.accept_http_10` (off by default: HTTP/1.0 gets 426).
    pub accept_http_10: bool,
    /// Hand the filter the target and headers exactly as sent (names in their case, no
    /// Envoy edits); for telling engine differences from proxy differences.
    pub headers_as_sent: bool,
}

/// Methods Envoy's HTTP/1 codec accepts (the http-parser method table); others get 400.
const KNOWN_METHODS: [&str; 34] = [
    "DELETE",
    "GET",
    "HEAD",
    "POST",
    "PUT",
    "CONNECT",
    "OPTIONS",
    "TRACE",
    "COPY",
    "LOCK",
    "MKCOL",
    "MOVE",
    "PROPFIND",
    "PROPPATCH",
    "SEARCH",
    "UNLOCK",
    "BIND",
    "REBIND",
    "UNBIND",
    "ACL",
    "REPORT",
    "MKACTIVITY",
    "CHECKOUT",
    "MERGE",
    "M-SEARCH",
    "NOTIFY",
    "SUBSCRIBE",
    "UNSUBSCRIBE",
    "PATCH",
    "PURGE",
    "MKCALENDAR",
    "LINK",
    "UNLINK",
    "SOURCE",
];

impl Request {
    /// Values of header `name` (lower-case), in order.
    pub fn header_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.headers
            .iter()
            .filter(move |(n, _)| n == name.as_bytes())
            .map(|(_, v)| v.as_slice())
    }
}

/// Envoy's answer to a request it does not pass to filters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// The local reply status, or `None` when Envoy would wait and then drop the connection.
    pub status: Option<u16>,
    /// Why, in Envoy's terms.
    pub reason: String,
}

fn reject(status: u16, reason: impl Into<String>) -> Rejection {
    Rejection {
        status: Some(status),
        reason: reason.into(),
    }
}

fn stall(reason: impl Into<String>) -> Rejection {
    Rejection {
        status: None,
        reason: reason.into(),
    }
}

/// Parses `raw` with Envoy's default options.
pub fn parse(raw: &[u8]) -> Result<Request, Rejection> {
    parse_with(raw, &ProxyOptions::default())
}

/// Parses `raw` (one request; bytes after it are ignored as a pipelined next request).
pub fn parse_with(raw: &[u8], options: &ProxyOptions) -> Result<Request, Rejection> {
    // The message is in memory: its own size bounds every read, and a body a length
    // announces beyond it is one that never completes.
    let limits = http1::Limits {
        max_body_bytes: u64::MAX,
        ..http1::Limits::within(raw.len())
    };
    let mut input = raw;
    // Blank lines before the request line are skipped (RFC 9112 section 2.2), as Envoy does.
    let head = match http1::read_head(&mut input, &limits) {
        Ok(Some(head)) => head,
        Ok(None) | Err(http1::Error::Truncated { .. }) => return Err(stall("incomplete request headers")),
        Err(e) => return Err(reject(400, format!("http1.codec_error: {e}"))),
    };
    let mut request = parse_request_line(&head.start_line, options)?;

    for line in &head.field_lines {
        // Envoy drops a bare CR inside a header line rather than refusing it.
        let owned: Vec<u8>;
        let line: &[u8] = if line.contains(&b'\r') {
            owned = line.iter().copied().filter(|&c| c != b'\r').collect();
            &owned
        } else {
            line
        };
        let (name, value) = http1::parse_field(line).map_err(|e| match e {
            FieldError::Folded => reject(400, "http1.codec_error: folded (obs-fold) header line"),
            FieldError::NoColon => reject(400, "http1.codec_error: header line without colon"),
            FieldError::Name(name) => reject(400, format!("http1.invalid_characters: header name {name:?}")),
            FieldError::Value(0) => reject(400, "http1.invalid_characters: NUL in header value"),
            FieldError::Value(byte) => reject(
                400,
                format!("http1.invalid_characters: byte {byte:#04x} in header value"),
            ),
        })?;
        request.headers.push((name.as_bytes().to_vec(), value.to_vec()));
    }

    let as_sent = std::mem::take(&mut request.headers);
    request.headers = as_sent
        .iter()
        .map(|(n, v)| (n.to_ascii_lowercase(), v.clone()))
        .collect();
    if let Some(authority) = absolute_form_authority(&request.raw_target) {
        // Envoy moves an absolute-form authority into Host (:authority).
        request.headers.retain(|(n, _)| n != b"host");
        request.headers.insert(0, (b"host".to_vec(), authority));
        request.edits.push(format!(
            "target {:?} became :path {:?}",
            String::from_utf8_lossy(&request.raw_target),
            String::from_utf8_lossy(&request.path)
        ));
    }
    if request.version == "HTTP/1.1" && request.header_values("host").next().is_none() {
        return Err(reject(400, "missing_host_header"));
    }

    if request.path == b"*" {
        return Err(reject(404, "Envoy answers an asterisk-form target itself (no route)"));
    }
    let framing = http1::request_framing(&Headers::from_pairs(
        request.headers.iter().map(|(n, v)| (String::from_utf8_lossy(n), v)),
    ))
    .map_err(framing_rejection)?;
    match http1::read_body(&mut input, framing, &limits, &mut request.body) {
        Ok(_trailers) => {}
        // Envoy runs the header phase, then waits for the rest.
        Err(http1::Error::Truncated { .. }) => request.body_complete = false,
        Err(http1::Error::ChunkSize { .. }) => return Err(reject(400, "http1.codec_error: invalid chunk size")),
        Err(http1::Error::ChunkEnd { .. }) => return Err(reject(400, "http1.codec_error: chunk not followed by CRLF")),
        // A malformed trailer line: the codec refuses it as it refuses a header line.
        Err(e) => return Err(reject(400, format!("http1.codec_error: {e}"))),
    }
    if request.method == "CONNECT" {
        // A CONNECT stream's body is the tunnel: it never ends. The filter sees the headers;
        // without upgrade_configs the router then refuses the stream.
        request.body_complete = false;
        request
            .edits
            .push("CONNECT: the filter sees only the headers, the router refuses the tunnel".into());
    }
    if options.headers_as_sent {
        request.headers = as_sent;
        request.path = request.raw_target.clone();
        request.edits.clear();
    } else {
        let (headers, edits) = filter_view(std::mem::take(&mut request.headers));
        request.headers = headers;
        request.edits.extend(edits);
    }
    Ok(request)
}

/// Envoy's answer to headers that do not frame the body.
fn framing_rejection(e: FramingError) -> Rejection {
    match e {
        FramingError::LengthAndTransferEncoding => reject(400, "http1.content_length_and_chunked_not_allowed"),
        FramingError::UnsupportedCoding(_) => reject(501, "http1.invalid_transfer_encoding"),
        FramingError::InvalidLength(_) => reject(400, "http1.content_length_not_allowed: invalid Content-Length"),
        FramingError::LengthTooLarge(_) => reject(400, "http1.content_length_not_allowed: Content-Length too large"),
        FramingError::ConflictingLengths => reject(400, "http1.content_length_not_allowed: conflicting Content-Length"),
    }
}

/// Headers as `(name, value)` pairs in order.
type HeaderList = Vec<(Vec<u8>, Vec<u8>)>;

/// Headers Envoy stores inline, whose repeats its HTTP/1 codec joins with `,`
/// (observed on Envoy 1.40; the others stay separate entries).
const INLINE_HEADERS: [&str; 23] = [
    "host",
    "user-agent",
    "referer",
    "accept",
    "accept-encoding",
    "authorization",
    "content-type",
    "content-encoding",
    "content-length",
    "if-range",
    "if-modified-since",
    "origin",
    "via",
    "expect",
    "x-forwarded-for",
    "x-forwarded-proto",
    "x-forwarded-host",
    "x-request-id",
    "cache-control",
    "pragma",
    "access-control-request-method",
    "grpc-timeout",
    "x-envoy-original-path",
];

/// Hop-by-hop headers the connection manager removes before any filter runs.
const HOP_BY_HOP: [&str; 5] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "upgrade",
];

/// The value of `x-request-id` the model adds (Envoy generates a random UUID).
pub const MODEL_REQUEST_ID: &[u8] = b"00000000-0000-4000-8000-000000000000";

/// Applies the connection manager's edits to the codec's headers (see the module doc), and
/// says which ones changed what a rule can see.
fn filter_view(headers: HeaderList) -> (HeaderList, Vec<String>) {
    let mut removed: Vec<String> = Vec::new();
    let mut joined: Vec<String> = Vec::new();
    let nominated: Vec<Vec<u8>> = headers
        .iter()
        .filter(|(n, _)| n == b"connection")
        .flat_map(|(_, v)| {
            v.split(|&c| c == b',')
                .map(|t| trim_ows(t).to_ascii_lowercase())
                .collect::<Vec<_>>()
        })
        .filter(|t| !t.is_empty())
        .collect();
    let mut out: Vec<(Vec<u8>, Vec<u8>)> = Vec::with_capacity(headers.len() + 2);
    for (name, value) in headers {
        let shown = String::from_utf8_lossy(&name).into_owned();
        if HOP_BY_HOP.iter().any(|h| h.as_bytes() == name) || nominated.contains(&name) {
            // go-ftw adds `Connection: close` to nearly every request; not worth a note.
            if !(name == b"connection" && value.eq_ignore_ascii_case(b"close")) {
                removed.push(shown);
            }
            continue;
        }
        if name == b"referer" && !is_plain_uri_reference(&value) {
            removed.push("referer (not a URI reference)".to_string());
            continue;
        }
        let value = if name == b"te" {
            let trailers = value
                .split(|&c| c == b',')
                .any(|t| trim_ows(t).eq_ignore_ascii_case(b"trailers"));
            if !trailers {
                removed.push(shown);
                continue;
            }
            b"trailers".to_vec()
        } else {
            value
        };
        let inline = INLINE_HEADERS.iter().any(|h| h.as_bytes() == name);
        match out.iter_mut().find(|(n, _)| inline && *n == name) {
            Some((_, existing)) => {
                existing.push(b',');
                existing.extend_from_slice(&value);
                if !joined.contains(&shown) {
                    joined.push(shown);
                }
            }
            None => out.push((name, value)),
        }
    }
    if let Some(at) = out.iter().position(|(n, _)| n == b"host") {
        let host = out.remove(at);
        out.insert(0, host);
    }
    if !out.iter().any(|(n, _)| n == b"x-forwarded-proto") {
        out.push((b"x-forwarded-proto".to_vec(), b"http".to_vec()));
    }
    if !out.iter().any(|(n, _)| n == b"x-request-id") {
        out.push((b"x-request-id".to_vec(), MODEL_REQUEST_ID.to_vec()));
    }
    let mut edits = Vec::new();
    if !removed.is_empty() {
        edits.push(format!("removed {}", removed.join(", ")));
    }
    if !joined.is_empty() {
        edits.push(format!("joined repeated {}", joined.join(", ")));
    }
    (out, edits)
}

/// Envoy drops a Referer that is not a URI reference: any byte outside RFC 3986's URI
/// characters, or a fragment (`#`), removes it (observed on every CRS Referer value).
fn is_plain_uri_reference(value: &[u8]) -> bool {
    value
        .iter()
        .all(|&c| c.is_ascii_alphanumeric() || b"-._~:/?[]@!$&'()*+,;=%".contains(&c))
}

fn parse_request_line(line: &[u8], options: &ProxyOptions) -> Result<Request, Rejection> {
    if matches!(line.first(), Some(b' ' | b'\t')) {
        return Err(reject(400, "http1.codec_error: whitespace before the method"));
    }
    let parts: Vec<&[u8]> = line
        .split(|&b| b == b' ' || b == b'\t')
        .filter(|p| !p.is_empty())
        .collect();
    let [method, target, version] = parts.as_slice() else {
        return Err(if parts.len() == 2 {
            reject(426, "http1.upgrade_required: no version (HTTP/0.9 request)")
        } else {
            reject(400, "http1.codec_error: malformed request line")
        });
    };
    if !KNOWN_METHODS.iter().any(|m| m.as_bytes() == *method) {
        return Err(reject(
            400,
            format!(
                "http1.codec_error: unknown method {:?}",
                String::from_utf8_lossy(method)
            ),
        ));
    }
    let version = match *version {
        b"HTTP/1.1" => "HTTP/1.1",
        b"HTTP/1.0" if options.accept_http_10 => "HTTP/1.0",
        other if is_numbered_version(other) => {
            return Err(reject(
                426,
                format!("http1.upgrade_required: version {:?}", String::from_utf8_lossy(other)),
            ))
        }
        other => {
            return Err(reject(
                400,
                format!(
                    "http1.codec_error: invalid version {:?}",
                    String::from_utf8_lossy(other)
                ),
            ))
        }
    };
    if target.iter().any(|&c| !(0x20..0x7f).contains(&c)) {
        return Err(reject(
            400,
            "http1.codec_error: control or non-ASCII byte in request target",
        ));
    }
    if target.contains(&b'#') {
        return Err(reject(400, "http1.invalid_url: fragment in request target"));
    }
    let method = String::from_utf8_lossy(method).into_owned();
    let path = if method == "CONNECT" {
        // Authority form host:port.
        match target.iter().rposition(|&c| c == b':') {
            Some(colon) if colon + 1 < target.len() && target[colon + 1..].iter().all(u8::is_ascii_digit) => {
                target.to_vec()
            }
            _ => return Err(reject(400, "http1.invalid_url: CONNECT target is not host:port")),
        }
    } else if target == b"*" {
        if method != "OPTIONS" {
            return Err(reject(400, "http1.invalid_url: '*' target outside OPTIONS"));
        }
        target.to_vec()
    } else if target.starts_with(b"/") {
        target.to_vec()
    } else if let Some(rest) = strip_scheme(target) {
        match rest.iter().position(|&c| c == b'/' || c == b'?') {
            Some(i) if rest[i] == b'/' => rest[i..].to_vec(),
            Some(i) => [&b"/"[..], &rest[i..]].concat(),
            None => b"/".to_vec(),
        }
    } else {
        return Err(reject(400, "http1.invalid_url: request target is not a path"));
    };
    Ok(Request {
        method,
        path,
        raw_target: target.to_vec(),
        version: version.to_string(),
        headers: Vec::new(),
        body: Vec::new(),
        body_complete: true,
        edits: Vec::new(),
    })
}

/// `HTTP/<digit>.<digit>`: a version Envoy recognises but does not serve (426).
fn is_numbered_version(v: &[u8]) -> bool {
    matches!(v, [b'H', b'T', b'T', b'P', b'/', major, b'.', minor] if major.is_ascii_digit() && minor.is_ascii_digit())
}

fn strip_scheme(target: &[u8]) -> Option<&[u8]> {
    let lower = target.get(..8).map(|p| p.to_ascii_lowercase()).unwrap_or_default();
    if lower.starts_with(b"http://") {
        Some(&target[7..])
    } else if lower.starts_with(b"https://") {
        Some(&target[8..])
    } else {
        None
    }
}

fn absolute_form_authority(target: &[u8]) -> Option<Vec<u8>> {
    let rest = strip_scheme(target)?;
    let end = rest.iter().position(|&c| c == b'/' || c == b'?').unwrap_or(rest.len());
    Some(rest[..end].to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(raw: &str) -> Request {
        parse(raw.as_bytes()).unwrap_or_else(|r| panic!("{raw:?}: {r:?}"))
    }

    fn rejected(raw: &str) -> Rejection {
        parse(raw.as_bytes()).expect_err(raw)
    }

    const HTTP10: ProxyOptions = ProxyOptions {
        accept_http_10: true,
        headers_as_sent: false,
    };

    #[test]
    fn simple_get_with_duplicate_headers() {
        let r = ok("GET /a?b=1 HTTP/1.1\r\nHost: x\r\nX-A: 1\r\nx-a:  2 \r\n\r\n");
        assert_eq!(r.method, "GET");
        assert_eq!(r.path, b"/a?b=1");
        assert_eq!(r.version, "HTTP/1.1");
        assert_eq!(r.header_values("x-a").collect::<Vec<_>>(), [&b"1"[..], &b"2"[..]]);
        assert!(r.body.is_empty());
        assert!(r.body_complete);
    }

    #[test]
    fn envoy_header_edits() {
        let r = ok(
            "POST / HTTP/1.1\r\nAccept: a\r\nHost: h\r\nConnection: x-foo, close\r\nX-Foo: 1\r\n\
                    Keep-Alive: 300\r\nProxy-Connection: keep-alive\r\nUpgrade: websocket\r\nTE: gzip\r\n\
                    Content-Type: a\r\nContent-Type: b\r\nCookie: a=1\r\nCookie: b=2\r\n\
                    Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        );
        let names: Vec<String> = r
            .headers
            .iter()
            .map(|(n, _)| String::from_utf8_lossy(n).into_owned())
            .collect();
        assert_eq!(
            names,
            [
                "host",
                "accept",
                "content-type",
                "cookie",
                "cookie",
                "x-forwarded-proto",
                "x-request-id"
            ]
        );
        assert_eq!(r.header_values("content-type").collect::<Vec<_>>(), [&b"a,b"[..]]);
        assert_eq!(
            r.edits,
            [
                "removed connection, x-foo, keep-alive, proxy-connection, upgrade, te, transfer-encoding",
                "joined repeated content-type",
            ]
        );
        let sent = parse_with(
            b"GET http://h/p HTTP/1.1\r\nHost: h\r\nConnection: close\r\nX-A: 1\r\n\r\n",
            &ProxyOptions {
                headers_as_sent: true,
                ..ProxyOptions::default()
            },
        )
        .unwrap();
        assert_eq!(sent.path, b"http://h/p");
        assert_eq!(sent.headers.len(), 3);
        assert_eq!(sent.headers[1], (b"Connection".to_vec(), b"close".to_vec()));
        assert!(sent.edits.is_empty());
        let r = ok("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\nTE: trailers, deflate\r\nX-Request-Id: mine\r\n\r\n");
        assert_eq!(r.header_values("host").collect::<Vec<_>>(), [&b"a,b"[..]]);
        assert_eq!(r.header_values("te").collect::<Vec<_>>(), [&b"trailers"[..]]);
        assert_eq!(r.header_values("x-request-id").collect::<Vec<_>>(), [&b"mine"[..]]);
        for (referer, kept) in [
            ("http://example.com/a?b=c+d", true),
            ("/bin/ca't'+/et*/passwd", true),
            ("anything%00", true),
            ("cat /etc/passwd", false),
            ("https://example.com/#frag", false),
            ("www.example.com<script>", false),
        ] {
            let r = ok(&format!("GET / HTTP/1.1\r\nHost: h\r\nReferer: {referer}\r\n\r\n"));
            assert_eq!(r.header_values("referer").next().is_some(), kept, "{referer}");
        }
    }

    #[test]
    fn content_length_body_and_pipelined_rest() {
        let r = ok("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabcGET / HTTP/1.1\r\n");
        assert_eq!(r.body, b"abc");
    }

    #[test]
    fn chunked_body() {
        let r = ok(
            "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nHi \r\n3;ext=1\r\nCRS\r\n0\r\n\r\n",
        );
        assert_eq!(r.body, b"Hi CRS");
        assert!(r.body_complete);
    }

    #[test]
    fn lf_only_lines_and_http10_when_accepted() {
        let r = parse_with(b"GET / HTTP/1.0\nUser-Agent: a\n\n", &HTTP10).unwrap();
        assert_eq!(r.version, "HTTP/1.0");
        assert_eq!(r.headers[0], (b"user-agent".to_vec(), b"a".to_vec()));
        assert_eq!(rejected("GET / HTTP/1.0\r\n\r\n").status, Some(426));
    }

    #[test]
    fn absolute_form_moves_authority() {
        let r = ok("GET http://example.com:8080/p?q HTTP/1.1\r\nHost: other\r\n\r\n");
        assert_eq!(r.path, b"/p?q");
        assert_eq!(r.header_values("host").collect::<Vec<_>>(), [&b"example.com:8080"[..]]);
        let r = ok("GET http://example.com HTTP/1.1\r\n\r\n");
        assert_eq!(r.path, b"/");
    }

    #[test]
    fn request_line_rejections() {
        for (raw, status) in [
            ("\tGET / HTTP/1.1\r\nHost: x\r\n\r\n", 400),
            ("     GET / HTTP/1.1\r\nHost: x\r\n\r\n", 400),
            ("GET / HTTP/0.9\r\nHost: x\r\n\r\n", 426),
            ("GET / HTTP/4.0\r\nHost: x\r\n\r\n", 426),
            ("GET / HTTP/2\r\nHost: x\r\n\r\n", 400),
            ("GET / 1.1\r\nHost: x\r\n\r\n", 400),
            ("GET / JUNK/1.0\r\nHost: x\r\n\r\n", 400),
            ("GET /\r\nHost: x\r\n\r\n", 426),
            ("G(T / HTTP/1.1\r\nHost: x\r\n\r\n", 400),
            ("FOO / HTTP/1.1\r\nHost: x\r\n\r\n", 400),
            ("|GET / HTTP/1.1\r\nHost: x\r\n\r\n", 400),
            ("GET \\ HTTP/1.1\r\nHost: x\r\n\r\n", 400),
            ("GET /#frag HTTP/1.1\r\nHost: x\r\n\r\n", 400),
            ("GET /\u{e9} HTTP/1.1\r\nHost: x\r\n\r\n", 400),
            ("GET * HTTP/1.1\r\nHost: x\r\n\r\n", 400),
            ("OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n", 404),
            ("CONNECT www.example.org HTTP/1.1\r\nHost: x\r\n\r\n", 400),
            ("GET /a b HTTP/1.1\r\nHost: x\r\n\r\n", 400),
        ] {
            assert_eq!(rejected(raw).status, Some(status), "{raw:?}");
        }
        let connect = ok("CONNECT www.example.org:443 HTTP/1.1\r\nHost: x\r\n\r\n");
        assert_eq!(connect.path, b"www.example.org:443");
        assert!(!connect.body_complete);
        for method in ["PROPFIND", "SUBSCRIBE", "PATCH", "M-SEARCH"] {
            ok(&format!("{method} / HTTP/1.1\r\nHost: x\r\n\r\n"));
        }
    }

    #[test]
    fn header_rejections() {
        for raw in [
            "GET / HTTP/1.1\r\nHost: x\r\nBad Name: 1\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: x\r\nX-A : 1\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: x\r\nno colon\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: x\r\n: v\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: x\0y\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n folded\r\n\r\n",
            "GET / HTTP/1.1\r\nUser-Agent: a\r\n\r\n",
        ] {
            assert_eq!(rejected(raw).status, Some(400), "{raw:?}");
        }
        assert_eq!(
            rejected("GET / HTTP/1.1\r\nUser-Agent: a\r\n\r\n").reason,
            "missing_host_header"
        );
        // Underscores and dots are token characters: Envoy passes them on.
        ok("GET / HTTP/1.1\r\nHost: x\r\nX_Filename: a\r\nX.Filename: b\r\n\r\n");
        // HTTP/1.0 needs no Host.
        parse_with(b"GET / HTTP/1.0\r\n\r\n", &HTTP10).unwrap();
        // %-escapes in Host are not decoded or refused.
        ok("GET / HTTP/1.1\r\nHost: localhost%00\r\n\r\n");
    }

    #[test]
    fn bare_cr_in_header_is_dropped() {
        let r = ok("GET / HTTP/1.1\r\nHost: x\r\nA: b\rInjected: c\r\n\r\n");
        assert_eq!(r.header_values("a").collect::<Vec<_>>(), [&b"bInjected: c"[..]]);
    }

    #[test]
    fn framing_rejections() {
        let both = "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
        assert_eq!(rejected(both).reason, "http1.content_length_and_chunked_not_allowed");
        let gzip = "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n";
        assert_eq!(rejected(gzip).status, Some(501));
        for raw in [
            "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
            "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
            "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nabc\r\n",
        ] {
            assert_eq!(rejected(raw).status, Some(400), "{raw:?}");
        }
        ok("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nab");
    }

    #[test]
    fn incomplete_bodies_reach_the_header_phase() {
        let r = ok("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 9\r\n\r\nab");
        assert!(!r.body_complete);
        assert_eq!(r.body, b"ab");
        let r = ok("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nHi \r\n");
        assert!(!r.body_complete);
        assert_eq!(r.body, b"Hi ");
    }

    #[test]
    fn a_chunk_cut_after_its_cr_is_incomplete() {
        // The LF may still come: Envoy waits (the head went to the filter already).
        let r = ok("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nHi \r");
        assert!(!r.body_complete);
        assert_eq!(r.body, b"Hi ");
    }

    #[test]
    fn incomplete_headers_stall() {
        assert_eq!(rejected("GET / HTTP/1.1\r\nHost: x\r\n").status, None);
        assert_eq!(rejected("").status, None);
    }

    #[test]
    fn leading_empty_lines_are_skipped() {
        assert_eq!(ok("\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n").method, "GET");
    }
}
