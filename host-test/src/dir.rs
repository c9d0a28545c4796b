//! The two directions of an HTTP stream and a value held once per direction.

use meshward_abi::{BufferType, MapType, StreamType};
use std::ops::{Index, IndexMut};

/// A direction of an HTTP stream: the request (decoding) or the response (encoding).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dir {
    /// Client to upstream.
    Request,
    /// Upstream to client.
    Response,
}

impl Dir {
    /// Both directions, request first.
    pub const BOTH: [Dir; 2] = [Dir::Request, Dir::Response];

    /// The direction a stream type names (`None` for the TCP streams).
    pub fn of_stream(stream: StreamType) -> Option<Dir> {
        match stream {
            StreamType::HttpRequest => Some(Dir::Request),
            StreamType::HttpResponse => Some(Dir::Response),
            StreamType::Downstream | StreamType::Upstream => None,
        }
    }

    /// The direction whose body a buffer type names (`None` for every other buffer).
    pub fn of_body(buffer: BufferType) -> Option<Dir> {
        match buffer {
            BufferType::HttpRequestBody => Some(Dir::Request),
            BufferType::HttpResponseBody => Some(Dir::Response),
            _ => None,
        }
    }

    /// The direction and part a stream's header map type names (`None` for call-out and gRPC
    /// maps).
    pub fn of_map(map: MapType) -> Option<(Dir, Part)> {
        match map {
            MapType::HttpRequestHeaders => Some((Dir::Request, Part::Headers)),
            MapType::HttpRequestTrailers => Some((Dir::Request, Part::Trailers)),
            MapType::HttpResponseHeaders => Some((Dir::Response, Part::Headers)),
            MapType::HttpResponseTrailers => Some((Dir::Response, Part::Trailers)),
            _ => None,
        }
    }

    /// The export Envoy calls with this direction's `part`, as named in stats.
    pub fn callback(self, part: Part) -> &'static str {
        match (self, part) {
            (Dir::Request, Part::Headers) => "proxy_on_request_headers",
            (Dir::Request, Part::Body) => "proxy_on_request_body",
            (Dir::Request, Part::Trailers) => "proxy_on_request_trailers",
            (Dir::Response, Part::Headers) => "proxy_on_response_headers",
            (Dir::Response, Part::Body) => "proxy_on_response_body",
            (Dir::Response, Part::Trailers) => "proxy_on_response_trailers",
        }
    }

    /// `request_<part>` or `response_<part>`: where an outcome says a stream is paused.
    pub fn place(self, part: Part) -> &'static str {
        let callback = self.callback(part);
        callback.strip_prefix("proxy_on_").unwrap_or(callback)
    }
}

/// The three parts of one direction, in the order they arrive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Part {
    /// The header map.
    Headers,
    /// The body.
    Body,
    /// The trailer map.
    Trailers,
}

/// One `T` per direction, indexed by [`Dir`].
#[derive(Debug, Default)]
pub(crate) struct PerDir<T> {
    request: T,
    response: T,
}

impl<T> PerDir<T> {
    /// Holds `request` and `response`.
    pub fn new(request: T, response: T) -> Self {
        PerDir { request, response }
    }
}

impl<T> Index<Dir> for PerDir<T> {
    type Output = T;

    fn index(&self, d: Dir) -> &T {
        match d {
            Dir::Request => &self.request,
            Dir::Response => &self.response,
        }
    }
}

impl<T> IndexMut<Dir> for PerDir<T> {
    fn index_mut(&mut self, d: Dir) -> &mut T {
        match d {
            Dir::Request => &mut self.request,
            Dir::Response => &mut self.response,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn abi_codes_map_to_directions_and_parts() {
        assert_eq!(Dir::of_stream(StreamType::HttpResponse), Some(Dir::Response));
        assert_eq!(Dir::of_stream(StreamType::Downstream), None);
        assert_eq!(Dir::of_body(BufferType::HttpRequestBody), Some(Dir::Request));
        assert_eq!(Dir::of_body(BufferType::HttpCallResponseBody), None);
        assert_eq!(
            Dir::of_map(MapType::HttpResponseTrailers),
            Some((Dir::Response, Part::Trailers))
        );
        assert_eq!(Dir::of_map(MapType::HttpCallResponseHeaders), None);
        assert_eq!(Dir::Request.callback(Part::Body), "proxy_on_request_body");
        assert_eq!(Dir::Response.place(Part::Trailers), "response_trailers");
    }

    #[test]
    fn per_dir_indexes_each_direction() {
        let mut v = PerDir::new(1, 2);
        v[Dir::Response] += 10;
        assert_eq!((v[Dir::Request], v[Dir::Response]), (1, 12));
    }
}
