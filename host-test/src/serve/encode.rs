//! Messages as they left the filter, written the way Envoy's HTTP/1 codec writes them: the
//! request to the upstream (`host` from `:authority`, in its place), the response to the client
//! (hop-by-hop headers dropped after the filter, Envoy's own framing).

use crate::outcome::Message;
use meshward_testkit::http1::{self, Frame};

/// Methods whose body-less requests go without `content-length: 0` (Envoy's
/// `requestShouldHaveNoBody`); others get one.
const BODILESS_METHODS: [&str; 5] = ["GET", "HEAD", "DELETE", "TRACE", "CONNECT"];

/// Headers the connection manager removes from a response after the filter chain (the client
/// gets Envoy's own framing and connection handling).
const RESPONSE_HOP_BY_HOP: [&str; 5] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "upgrade",
];

/// The request on the wire to the upstream, and its method (to read the response by).
pub(crate) fn upstream_request(m: &Message) -> (Vec<u8>, String) {
    let method = m.headers.get(":method").unwrap_or_else(|| "GET".to_string());
    let target = m.headers.get(":path").unwrap_or_else(|| "/".to_string());
    let mut request = http1::Request::new(&method, &target);
    for (name, value) in m.headers.iter() {
        if name == ":authority" {
            request.headers.add("host", value);
        } else if !name.starts_with(':') {
            request.headers.add(name, value);
        }
    }
    request.body.clone_from(&m.body);
    request.trailers = m.trailers.clone().unwrap_or_default();
    let frame = if request.headers.contains("content-length") {
        Frame::Length
    } else if !request.body.is_empty() || !request.trailers.is_empty() {
        Frame::Chunked
    } else if BODILESS_METHODS.iter().any(|b| b.eq_ignore_ascii_case(&method)) {
        Frame::Bare
    } else {
        Frame::Length
    };
    (request.to_bytes(frame), method)
}

/// The whole response on the wire to the client; `close` adds `connection: close`.
pub(crate) fn client_response(m: &Message, head_request: bool, close: bool) -> Vec<u8> {
    let (mut response, frame) = client_head(m, head_request, close);
    if frame != Frame::Bare {
        response.body.clone_from(&m.body);
        response.trailers = m.trailers.clone().unwrap_or_default();
    }
    response.to_bytes(frame)
}

/// Only the head of the response, for a stream reset after its headers went to the client
/// (the body it announces never completes).
pub(crate) fn client_response_head(m: &Message) -> Vec<u8> {
    let (mut response, _) = client_head(m, false, true);
    if !response.headers.contains("content-length") {
        response.headers.add("transfer-encoding", "chunked");
    }
    response.to_bytes(Frame::Bare)
}

/// Status line and headers, and how the body is framed.
fn client_head(m: &Message, head_request: bool, close: bool) -> (http1::Response, Frame) {
    let status = m.headers.get(":status").and_then(|s| s.parse().ok()).unwrap_or(500);
    let mut response = http1::Response::new(status);
    for (name, value) in m.headers.iter() {
        if !name.starts_with(':') && !RESPONSE_HOP_BY_HOP.contains(&name) {
            response.headers.add(name, value);
        }
    }
    if close {
        response.headers.add("connection", "close");
    }
    let no_body = head_request || (100..200).contains(&status) || status == 204 || status == 304;
    let frame = if no_body {
        Frame::Bare
    } else if response.headers.contains("content-length") || (m.body.is_empty() && m.trailers.is_none()) {
        Frame::Length
    } else {
        Frame::Chunked
    };
    (response, frame)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Headers;

    fn message(headers: &[(&str, &str)], body: &str, trailers: Option<&[(&str, &str)]>) -> Message {
        Message {
            headers: Headers::from_pairs(headers.iter().copied()),
            body: body.as_bytes().to_vec(),
            trailers: trailers.map(|t| Headers::from_pairs(t.iter().copied())),
            complete: true,
        }
    }

    fn text(bytes: Vec<u8>) -> String {
        String::from_utf8(bytes).unwrap()
    }

    #[test]
    fn requests_carry_host_in_place_and_envoys_framing() {
        let m = message(
            &[
                (":authority", "a.example"),
                (":path", "/p?q"),
                (":method", "POST"),
                (":scheme", "http"),
                ("x-a", "1"),
            ],
            "abc",
            None,
        );
        let (bytes, method) = upstream_request(&m);
        assert_eq!(method, "POST");
        assert_eq!(
            text(bytes),
            "POST /p?q HTTP/1.1\r\nhost: a.example\r\nx-a: 1\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
        );
        let with_length = message(
            &[(":path", "/"), (":method", "PUT"), ("content-length", "3")],
            "abc",
            None,
        );
        assert_eq!(
            text(upstream_request(&with_length).0),
            "PUT / HTTP/1.1\r\ncontent-length: 3\r\n\r\nabc"
        );
        let empty_post = message(&[(":path", "/"), (":method", "POST")], "", None);
        assert_eq!(
            text(upstream_request(&empty_post).0),
            "POST / HTTP/1.1\r\ncontent-length: 0\r\n\r\n"
        );
        let get = message(&[(":path", "/"), (":method", "GET")], "", None);
        assert_eq!(text(upstream_request(&get).0), "GET / HTTP/1.1\r\n\r\n");
        let trailers = message(&[(":path", "/"), (":method", "POST")], "", Some(&[("x-t", "1")]));
        assert_eq!(
            text(upstream_request(&trailers).0),
            "POST / HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n0\r\nx-t: 1\r\n\r\n"
        );
    }

    #[test]
    fn responses_lose_hop_by_hop_headers_and_get_envoys_framing() {
        let m = message(
            &[(":status", "200"), ("connection", "keep-alive"), ("x-b", "2")],
            "body",
            None,
        );
        assert_eq!(
            text(client_response(&m, false, false)),
            "HTTP/1.1 200 OK\r\nx-b: 2\r\ntransfer-encoding: chunked\r\n\r\n4\r\nbody\r\n0\r\n\r\n"
        );
        assert_eq!(
            text(client_response(&m, true, true)),
            "HTTP/1.1 200 OK\r\nx-b: 2\r\nconnection: close\r\n\r\n",
            "a response to HEAD has no body"
        );
        let local = message(&[(":status", "403"), ("content-length", "2")], "no", None);
        assert_eq!(
            text(client_response(&local, false, false)),
            "HTTP/1.1 403 Forbidden\r\ncontent-length: 2\r\n\r\nno"
        );
        let empty = message(&[(":status", "503")], "", None);
        assert_eq!(
            text(client_response(&empty, false, false)),
            "HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\r\n"
        );
        let no_content = message(&[(":status", "204")], "", None);
        assert_eq!(
            text(client_response(&no_content, false, false)),
            "HTTP/1.1 204 No Content\r\n\r\n"
        );
        let trailers = message(&[(":status", "200")], "b", Some(&[("x-t", "u")]));
        assert_eq!(
            text(client_response(&trailers, false, false)),
            "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n1\r\nb\r\n0\r\nx-t: u\r\n\r\n"
        );
    }

    #[test]
    fn a_reset_writes_only_a_head_whose_body_never_ends() {
        let m = message(&[(":status", "200"), ("content-length", "10")], "abc", None);
        assert_eq!(
            text(client_response_head(&m)),
            "HTTP/1.1 200 OK\r\ncontent-length: 10\r\nconnection: close\r\n\r\n"
        );
        let chunked = message(&[(":status", "200")], "abc", None);
        assert_eq!(
            text(client_response_head(&chunked)),
            "HTTP/1.1 200 OK\r\nconnection: close\r\ntransfer-encoding: chunked\r\n\r\n"
        );
    }
}
