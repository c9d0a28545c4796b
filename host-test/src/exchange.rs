//! What a test sends through a filter: the client's `Request` and the upstream's `Response`.

use crate::error::Error;
use crate::property::Value;
use crate::Headers;

/// The builder methods `Request` and `Response` share: each is headers, body chunks and
/// trailers.
macro_rules! message_builders {
    () => {
        /// Adds a header.
        pub fn header(mut self, name: &str, value: &str) -> Self {
            self.headers.add(&name.to_ascii_lowercase(), value);
            self
        }

        /// Replaces the body with one chunk.
        pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
            self.chunks = vec![body.into()];
            self
        }

        /// Replaces the body with these chunks.
        pub fn chunks<I: IntoIterator<Item = B>, B: Into<Vec<u8>>>(mut self, chunks: I) -> Self {
            self.chunks = chunks.into_iter().map(Into::into).collect();
            self
        }

        /// Adds a trailer.
        pub fn trailer(mut self, name: &str, value: &str) -> Self {
            self.trailers
                .get_or_insert_with(Headers::new)
                .add(&name.to_ascii_lowercase(), value);
            self
        }
    };
}

/// A parsed body as one chunk (none for an empty body).
fn one_chunk(body: Vec<u8>) -> Vec<Vec<u8>> {
    if body.is_empty() {
        Vec::new()
    } else {
        vec![body]
    }
}

/// A request as the client sends it: headers, body chunks (the test picks the chunking), trailers.
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// Request headers, pseudo-headers included.
    pub headers: Headers,
    /// Body chunks, delivered one `proxy_on_request_body` at a time.
    pub chunks: Vec<Vec<u8>>,
    /// Trailers, if any.
    pub trailers: Option<Headers>,
    /// Stream-level properties (`source.address`, `connection.uri_san_peer_certificate`...).
    pub properties: Vec<(String, Value)>,
}

impl Request {
    /// A request with `:method`, `:path`, `:scheme` http and `:authority` example.com.
    pub fn new(method: &str, path: &str) -> Self {
        let mut headers = Headers::new();
        headers.add(":authority", "example.com");
        headers.add(":path", path);
        headers.add(":method", method);
        headers.add(":scheme", "http");
        Request {
            headers,
            ..Default::default()
        }
    }

    /// A GET request.
    pub fn get(path: &str) -> Self {
        Self::new("GET", path)
    }

    /// A POST request with a one-chunk body.
    pub fn post(path: &str, body: impl Into<Vec<u8>>) -> Self {
        Self::new("POST", path).body(body)
    }

    /// Parses a raw HTTP/1.1 request (chunked bodies decoded, `Host` → `:authority`).
    pub fn from_http1(raw: &[u8]) -> Result<Self, Error> {
        Ok(crate::http1::parse_request(raw)?.into())
    }

    message_builders!();

    /// Splits the current body into chunks of at most `size` bytes.
    pub fn chunked(mut self, size: usize) -> Self {
        let body: Vec<u8> = self.chunks.concat();
        self.chunks = body.chunks(size.max(1)).map(<[u8]>::to_vec).collect();
        self
    }

    /// Sets a property for this stream only.
    pub fn property(mut self, path: &str, value: impl Into<Value>) -> Self {
        self.properties.push((path.to_string(), value.into()));
        self
    }
}

/// A response as the upstream sends it.
#[derive(Debug, Clone, Default)]
pub struct Response {
    /// Response headers including `:status`.
    pub headers: Headers,
    /// Body chunks, one `proxy_on_response_body` each.
    pub chunks: Vec<Vec<u8>>,
    /// Trailers, if any.
    pub trailers: Option<Headers>,
}

impl Response {
    /// A response with this status and no body.
    pub fn status(code: u16) -> Self {
        let mut headers = Headers::new();
        headers.add(":status", code.to_string());
        Response {
            headers,
            ..Default::default()
        }
    }

    /// `200` with no body.
    pub fn ok() -> Self {
        Self::status(200)
    }

    /// Parses a raw HTTP/1.1 response.
    pub fn from_http1(raw: &[u8]) -> Result<Self, Error> {
        Ok(crate::http1::parse_response(raw)?.into())
    }

    message_builders!();
}

impl From<crate::http1::Message> for Request {
    /// The request with its body as one chunk.
    fn from(m: crate::http1::Message) -> Self {
        Request {
            headers: m.headers,
            chunks: one_chunk(m.body),
            trailers: m.trailers,
            properties: Vec::new(),
        }
    }
}

impl From<crate::http1::Message> for Response {
    /// The response with its body as one chunk.
    fn from(m: crate::http1::Message) -> Self {
        Response {
            headers: m.headers,
            chunks: one_chunk(m.body),
            trailers: m.trailers,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builders_and_chunking() {
        let r = Request::post("/p", "abcde")
            .header("X-A", "1")
            .trailer("t", "2")
            .chunked(2);
        assert_eq!(r.chunks, vec![b"ab".to_vec(), b"cd".to_vec(), b"e".to_vec()]);
        assert_eq!(r.headers.get("x-a").as_deref(), Some("1"));
        assert_eq!(r.trailers.unwrap().get("t").as_deref(), Some("2"));
        let resp = Response::status(404).chunks(["a", "b"]).body("whole");
        assert_eq!(resp.chunks, vec![b"whole".to_vec()]);
        assert_eq!(resp.headers.get(":status").as_deref(), Some("404"));
    }
}
