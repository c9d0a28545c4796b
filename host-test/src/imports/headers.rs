//! Header maps: `proxy_get/set_header_map_pairs`, `proxy_get/add/replace/remove_header_map_value`,
//! `proxy_get_header_map_size` (Envoy rows E05-E08, E22, E35).

use super::{arg, enum_arg, envoy_map, header_name, put_bytes, put_u32, text};
use crate::dir::{Dir, Part};
use crate::memory::Ctx;
use crate::state::HostState;
use crate::Headers;
use meshward_abi::pairs::{self, Pair};
use meshward_abi::{MapType, Status};
use wasmtime::Linker;

/// Adds the header-map functions.
pub(super) fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    host_fns! { linker;
        fn proxy_get_header_map_pairs(mut c, ty: i32, pp: i32, sp: i32) {
            let map = enum_arg(ty, MapType::from_code)?;
            let encoded = pairs::encode(&c.data().get_header_map_pairs(map));
            put_bytes(&mut c, &encoded, pp, sp)
        }
        fn proxy_set_header_map_pairs(mut c, ty: i32, p: i32, s: i32) {
            let map = enum_arg(ty, MapType::from_code)?;
            // A malformed map is no pairs, as in proxy-wasm-cpp-host.
            let new = pairs::decode_lenient(&arg(&mut c, p, s)?);
            Ok(c.data_mut().set_header_map_pairs(map, new)?)
        }
        fn proxy_get_header_map_value(mut c, ty: i32, kp: i32, ks: i32, vpp: i32, vsp: i32) {
            let map = enum_arg(ty, MapType::from_code)?;
            let key = arg(&mut c, kp, ks)?;
            let value = c.data().get_header_map_value(map, &key)?;
            put_bytes(&mut c, &value, vpp, vsp)
        }
        fn proxy_add_header_map_value(mut c, ty: i32, kp: i32, ks: i32, vp: i32, vs: i32) {
            Ok(write_value(&mut c, ty, (kp, ks), (vp, vs), HostState::add_header_map_value)?)
        }
        fn proxy_replace_header_map_value(mut c, ty: i32, kp: i32, ks: i32, vp: i32, vs: i32) {
            Ok(write_value(&mut c, ty, (kp, ks), (vp, vs), HostState::replace_header_map_value)?)
        }
        fn proxy_remove_header_map_value(mut c, ty: i32, kp: i32, ks: i32) {
            let map = enum_arg(ty, MapType::from_code)?;
            let key = arg(&mut c, kp, ks)?;
            Ok(c.data_mut().remove_header_map_value(map, &key)?)
        }
        fn proxy_get_header_map_size(mut c, ty: i32, rp: i32) {
            let size = c.data_mut().header_map_size(enum_arg(ty, MapType::from_code)?)?;
            Ok(put_u32(&mut c, rp, size)?)
        }
    }
    Ok(())
}

/// `HostState::add_header_map_value` or `replace_header_map_value`.
type WriteValue = fn(&mut HostState, MapType, &[u8], Vec<u8>) -> Result<(), Status>;

/// Adds or replaces a value (`write`) with the key and value the module passed.
fn write_value(
    c: &mut Ctx<'_>,
    ty: i32,
    (kp, ks): (i32, i32),
    (vp, vs): (i32, i32),
    write: WriteValue,
) -> Result<(), Status> {
    let map = enum_arg(ty, MapType::from_code)?;
    let (key, value) = (arg(c, kp, ks)?, arg(c, vp, vs)?);
    write(c.data_mut(), map, &key, value)
}

impl HostState {
    /// The map the filter may read in the acting context (Envoy `getConstMap`): a stream's
    /// maps only in their own callbacks, except that `on_log` reads the request and response
    /// headers and the response trailers (not the request trailers); the call-out maps only
    /// in `proxy_on_http_call_response`; never gRPC metadata (row E05).
    fn readable_map(&self, map: MapType) -> Option<&Headers> {
        match map {
            MapType::HttpCallResponseHeaders => return self.call_response.as_ref().map(|r| &r.headers),
            MapType::HttpCallResponseTrailers => return self.call_response.as_ref().and_then(|r| r.trailers.as_ref()),
            _ => {}
        }
        let (dir, part) = Dir::of_map(map)?;
        let d = self.stream()?;
        let side = &d.dirs[dir];
        match part {
            Part::Headers => (d.access_log_phase || side.live.headers).then_some(&side.headers),
            Part::Trailers => {
                let visible = if d.access_log_phase {
                    dir == Dir::Response
                } else {
                    side.live.trailers
                };
                side.trailers.as_ref().filter(|_| visible)
            }
            Part::Body => None,
        }
    }

    /// The map the filter may change in the acting context (Envoy `getMap`): a stream's maps
    /// in their own callbacks only, never in `on_log`. Trailers are created on demand in the
    /// last body callback, as Envoy's `addDecodedTrailers`/`addEncodedTrailers` do (row E35).
    fn writable_map(&mut self, map: MapType) -> Option<&mut Headers> {
        let (dir, part) = Dir::of_map(map)?;
        let d = self.stream_mut()?;
        let last_body = d.end_of_stream;
        let side = &mut d.dirs[dir];
        match part {
            Part::Headers => side.live.headers.then_some(&mut side.headers),
            Part::Trailers => {
                if side.trailers.is_none() && side.live.body && last_body {
                    side.trailers = Some(Headers::new());
                    side.live.trailers = true;
                }
                side.trailers.as_mut().filter(|_| side.live.trailers)
            }
            Part::Body => None,
        }
    }

    /// Every pair of `map` in order, one per value; no pairs (Ok) when the map is not
    /// readable here (row E05).
    pub(crate) fn get_header_map_pairs(&self, map: MapType) -> Vec<Pair> {
        self.readable_map(map).map(Headers::to_pairs).unwrap_or_default()
    }

    /// Replaces every pair of `map`; BadArgument when it is not writable here.
    pub(crate) fn set_header_map_pairs(&mut self, map: MapType, new: Vec<Pair>) -> Result<(), Status> {
        *self.writable_map(map).ok_or(Status::BadArgument)? = envoy_map(&new);
        Ok(())
    }

    /// The first value of `key` (case-insensitive; `host` is `:authority` in the request
    /// headers), rows E06, E07. NotFound for a missing key; a map not readable here is
    /// BadArgument, or NotFound in `on_log` (row E05).
    pub(crate) fn get_header_map_value(&self, map: MapType, key: &[u8]) -> Result<Vec<u8>, Status> {
        let mut key = text(key).to_ascii_lowercase();
        if key == "host" && map == MapType::HttpRequestHeaders {
            key = ":authority".into();
        }
        match self.readable_map(map) {
            Some(m) => m.get_bytes(&key).map(<[u8]>::to_vec).ok_or(Status::NotFound),
            None if self.stream().is_some_and(|d| d.access_log_phase) => Err(Status::NotFound),
            None => Err(Status::BadArgument),
        }
    }

    /// Appends a value, even if the name exists (row E08); names are lowercased (row E07).
    pub(crate) fn add_header_map_value(&mut self, map: MapType, key: &[u8], value: Vec<u8>) -> Result<(), Status> {
        self.writable_map(map)
            .ok_or(Status::BadArgument)?
            .add(&header_name(key), value);
        Ok(())
    }

    /// Removes every value of `key` and appends the new one at the end (row E06).
    pub(crate) fn replace_header_map_value(&mut self, map: MapType, key: &[u8], value: Vec<u8>) -> Result<(), Status> {
        self.writable_map(map)
            .ok_or(Status::BadArgument)?
            .set(&header_name(key), value);
        Ok(())
    }

    /// Removes every value of `key`; an absent key is Ok (row E08).
    pub(crate) fn remove_header_map_value(&mut self, map: MapType, key: &[u8]) -> Result<(), Status> {
        self.writable_map(map).ok_or(Status::BadArgument)?.remove(&text(key));
        Ok(())
    }

    /// The byte size of `map` (names and values); Envoy looks it up as a writable map, so
    /// it is BadArgument wherever writes are.
    pub(crate) fn header_map_size(&mut self, map: MapType) -> Result<u32, Status> {
        let m = self.writable_map(map).ok_or(Status::BadArgument)?;
        Ok(u32::try_from(m.byte_size()).unwrap_or(u32::MAX))
    }
}

#[cfg(test)]
mod tests {
    use crate::dir::Dir;
    use crate::state::testing::{headers, with_stream, ROOT};
    use crate::state::{CallResponse, HostState};
    use meshward_abi::pairs::Pair;
    use meshward_abi::{MapType, Status};

    const REQUEST: MapType = MapType::HttpRequestHeaders;
    const RESPONSE: MapType = MapType::HttpResponseHeaders;

    /// A stream in `on_http_request_headers` with these request headers.
    fn in_request_headers(pairs: &[(&str, &str)]) -> HostState {
        let mut s = with_stream();
        let side = &mut s.stream_mut().unwrap().dirs[Dir::Request];
        side.headers = headers(pairs);
        side.live.headers = true;
        s
    }

    fn names(pairs: Vec<Pair>) -> Vec<String> {
        pairs.into_iter().map(|(k, _)| String::from_utf8(k).unwrap()).collect()
    }

    #[test]
    fn values_are_looked_up_like_envoy() {
        let s = in_request_headers(&[(":authority", "a.example"), ("x-multi", "1"), ("x-multi", "2")]);
        assert_eq!(
            s.get_header_map_value(REQUEST, b"X-MULTI"),
            Ok(b"1".to_vec()),
            "first value"
        );
        assert_eq!(s.get_header_map_value(REQUEST, b"Host"), Ok(b"a.example".to_vec()));
        assert_eq!(s.get_header_map_value(REQUEST, b"absent"), Err(Status::NotFound));
        assert_eq!(s.get_header_map_pairs(REQUEST).len(), 3, "one pair per value");
    }

    #[test]
    fn maps_outside_their_callback_are_unavailable() {
        let mut s = in_request_headers(&[(":path", "/")]);
        assert_eq!(s.get_header_map_pairs(RESPONSE), Vec::new(), "Ok []");
        assert_eq!(s.get_header_map_value(RESPONSE, b":status"), Err(Status::BadArgument));
        assert_eq!(
            s.add_header_map_value(RESPONSE, b"a", b"b".to_vec()),
            Err(Status::BadArgument)
        );
        assert_eq!(
            s.replace_header_map_value(RESPONSE, b"a", b"b".to_vec()),
            Err(Status::BadArgument)
        );
        assert_eq!(s.remove_header_map_value(RESPONSE, b"a"), Err(Status::BadArgument));
        assert_eq!(s.set_header_map_pairs(RESPONSE, Vec::new()), Err(Status::BadArgument));
        assert_eq!(s.header_map_size(RESPONSE), Err(Status::BadArgument));
        for grpc in [
            MapType::GrpcReceiveInitialMetadata,
            MapType::GrpcReceiveTrailingMetadata,
        ] {
            assert_eq!(s.get_header_map_pairs(grpc), Vec::new());
            assert_eq!(s.get_header_map_value(grpc, b"a"), Err(Status::BadArgument));
        }
        s.current = ROOT;
        assert_eq!(
            s.get_header_map_value(REQUEST, b":path"),
            Err(Status::BadArgument),
            "root context"
        );
    }

    #[test]
    fn mutations_lowercase_append_and_move() {
        let mut s = in_request_headers(&[(":path", "/"), ("x-a", "1"), ("x-a", "2"), ("x-b", "3")]);
        assert_eq!(s.add_header_map_value(REQUEST, b"X-B", b"4".to_vec()), Ok(()));
        assert_eq!(s.replace_header_map_value(REQUEST, b"x-a", b"9".to_vec()), Ok(()));
        assert_eq!(s.remove_header_map_value(REQUEST, b"absent"), Ok(()));
        assert_eq!(s.add_header_map_value(REQUEST, b"x-empty", Vec::new()), Ok(()));
        let pairs = s.get_header_map_pairs(REQUEST);
        assert_eq!(names(pairs.clone()), [":path", "x-b", "x-b", "x-a", "x-empty"]);
        assert_eq!(pairs[3].1, b"9", "replace appends the new value at the end");
        assert_eq!(s.header_map_size(REQUEST), Ok(5 + 1 + 3 + 1 + 3 + 1 + 3 + 1 + 7));
        let new = vec![(b"X-New".to_vec(), b"v".to_vec())];
        assert_eq!(s.set_header_map_pairs(REQUEST, new), Ok(()));
        assert_eq!(names(s.get_header_map_pairs(REQUEST)), ["x-new"]);
    }

    #[test]
    fn on_log_reads_headers_and_response_trailers_but_writes_nothing() {
        let mut s = in_request_headers(&[(":path", "/p")]);
        {
            let d = s.stream_mut().unwrap();
            d.dirs[Dir::Request].live.headers = false;
            d.dirs[Dir::Request].trailers = Some(headers(&[("x-req-trailer", "1")]));
            d.dirs[Dir::Response].headers = headers(&[(":status", "200")]);
            d.dirs[Dir::Response].trailers = Some(headers(&[("x-resp-trailer", "2")]));
            d.access_log_phase = true;
        }
        assert_eq!(s.get_header_map_value(REQUEST, b":path"), Ok(b"/p".to_vec()));
        assert_eq!(s.get_header_map_value(RESPONSE, b":status"), Ok(b"200".to_vec()));
        let response_trailers = MapType::HttpResponseTrailers;
        assert_eq!(names(s.get_header_map_pairs(response_trailers)), ["x-resp-trailer"]);
        let request_trailers = MapType::HttpRequestTrailers;
        assert_eq!(s.get_header_map_pairs(request_trailers), Vec::new());
        assert_eq!(
            s.get_header_map_value(request_trailers, b"x-req-trailer"),
            Err(Status::NotFound),
            "unavailable maps are NotFound in on_log"
        );
        assert_eq!(
            s.add_header_map_value(REQUEST, b"a", b"b".to_vec()),
            Err(Status::BadArgument)
        );
        assert_eq!(s.header_map_size(REQUEST), Err(Status::BadArgument));
    }

    #[test]
    fn the_last_body_callback_may_add_trailers() {
        let mut s = with_stream();
        let trailers = MapType::HttpResponseTrailers;
        {
            let d = s.stream_mut().unwrap();
            d.dirs[Dir::Response].live.body = true;
            d.end_of_stream = false;
        }
        assert_eq!(
            s.add_header_map_value(trailers, b"x-t", b"1".to_vec()),
            Err(Status::BadArgument)
        );
        s.stream_mut().unwrap().end_of_stream = true;
        assert_eq!(s.add_header_map_value(trailers, b"X-T", b"1".to_vec()), Ok(()));
        assert_eq!(s.get_header_map_value(trailers, b"x-t"), Ok(b"1".to_vec()));
        let request_trailers = MapType::HttpRequestTrailers;
        assert_eq!(
            s.add_header_map_value(request_trailers, b"x-t", b"1".to_vec()),
            Err(Status::BadArgument),
            "only the direction whose body is live"
        );
    }

    #[test]
    fn call_out_maps_exist_only_in_the_call_response() {
        let mut s = with_stream();
        let call = MapType::HttpCallResponseHeaders;
        assert_eq!(s.get_header_map_pairs(call), Vec::new());
        assert_eq!(s.get_header_map_value(call, b":status"), Err(Status::BadArgument));
        s.call_response = Some(CallResponse {
            headers: headers(&[(":status", "200")]),
            ..Default::default()
        });
        assert_eq!(s.get_header_map_value(call, b":status"), Ok(b"200".to_vec()));
        assert_eq!(
            s.add_header_map_value(call, b"a", b"b".to_vec()),
            Err(Status::BadArgument),
            "read-only"
        );
        let call_trailers = MapType::HttpCallResponseTrailers;
        assert_eq!(
            s.get_header_map_pairs(call_trailers),
            Vec::new(),
            "no trailers in the reply"
        );
    }
}
