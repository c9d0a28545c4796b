//! Stream control: `proxy_continue_stream`, `proxy_close_stream`, `proxy_send_local_response`,
//! the legacy `proxy_continue_request/response` and `proxy_clear_route_cache` (Envoy rows E01,
//! E16-E19, E33, E39-E41). The host only records what the filter asked for; the stream driver
//! applies it when the callback returns.

use super::{arg, enum_arg, envoy_map, text};
use crate::dir::Dir;
use crate::state::{HostState, Live, LocalResponse};
use meshward_abi::pairs::{self, Pair};
use meshward_abi::{Status, StreamType};
use wasmtime::Linker;

/// Adds the stream-control functions.
pub(super) fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    host_fns! { linker;
        fn proxy_continue_stream(mut c, ty: i32) {
            let ty = enum_arg(ty, StreamType::from_code)?;
            Ok(c.data_mut().continue_stream(ty)?)
        }
        // The legacy forms of `proxy_continue_stream`.
        fn proxy_continue_request(mut c) {
            Ok(c.data_mut().continue_stream(StreamType::HttpRequest)?)
        }
        fn proxy_continue_response(mut c) {
            Ok(c.data_mut().continue_stream(StreamType::HttpResponse)?)
        }
        fn proxy_close_stream(mut c, ty: i32) {
            let ty = enum_arg(ty, StreamType::from_code)?;
            c.data_mut().close_stream(ty);
            Ok(())
        }
        // Routes are not modelled: there is no cache to clear.
        fn proxy_clear_route_cache(_c) {
            Ok(())
        }
        fn proxy_send_local_response(mut c, status: i32, dp: i32, ds: i32, bp: i32, bs: i32, hp: i32, hs: i32, grpc: i32) {
            let (details, body, headers) = (arg(&mut c, dp, ds)?, arg(&mut c, bp, bs)?, arg(&mut c, hp, hs)?);
            // A malformed map is no headers, as in proxy-wasm-cpp-host.
            let headers = pairs::decode_lenient(&headers);
            c.data_mut().send_local_response(status as u32, &details, body, headers, grpc as u32);
            Ok(())
        }
    }
    Ok(())
}

/// The highest gRPC status code (16 UNAUTHENTICATED); a larger one means "not gRPC".
const GRPC_STATUS_MAX: u32 = 16;

impl HostState {
    /// Asks to resume a paused direction of the acting stream. Envoy then takes the request
    /// maps away from the filter, whichever direction resumes. From a root context it is Ok
    /// and does nothing (row E19); the TCP streams: downstream Ok, upstream Unimplemented.
    pub(crate) fn continue_stream(&mut self, ty: StreamType) -> Result<(), Status> {
        if ty == StreamType::Upstream {
            return Err(Status::Unimplemented);
        }
        let (Some(dir), Some(d)) = (Dir::of_stream(ty), self.stream_mut()) else {
            return Ok(());
        };
        d.dirs[dir].resume = true;
        d.dirs[Dir::Request].live = Live::default();
        Ok(())
    }

    /// Asks to reset the acting stream (row E33); Ok and nothing from a root context or for
    /// the TCP streams.
    pub(crate) fn close_stream(&mut self, ty: StreamType) {
        if let (Some(_), Some(d)) = (Dir::of_stream(ty), self.stream_mut()) {
            d.close = true;
        }
    }

    /// Asks to answer the acting stream locally; the first reply wins (row E18). Header names
    /// are lowercased, whitespace in `details` becomes `_` (Envoy's response code details),
    /// and a `grpc_status` above 16 means none. The current callback's iteration stops, even in
    /// a root context, which has no stream to answer.
    pub(crate) fn send_local_response(
        &mut self,
        status: u32,
        details: &[u8],
        body: Vec<u8>,
        headers: Vec<Pair>,
        grpc_status: u32,
    ) {
        if let Some(d) = self.stream_mut() {
            let h = envoy_map(&headers);
            d.local_response.get_or_insert(LocalResponse {
                status,
                headers: h,
                body,
                details: text(details).replace(char::is_whitespace, "_"),
                grpc_status: (grpc_status <= GRPC_STATUS_MAX).then_some(grpc_status),
            });
        }
        self.stop_next_iteration = true;
    }
}

#[cfg(test)]
mod tests {
    use crate::dir::Dir;
    use crate::state::testing::{with_stream, ROOT};
    use meshward_abi::{Status, StreamType};

    #[test]
    fn continue_marks_the_direction_and_releases_the_request_maps() {
        let mut s = with_stream();
        for dir in Dir::BOTH {
            let side = &mut s.stream_mut().unwrap().dirs[dir];
            side.live.headers = true;
            side.live.body = true;
        }
        assert_eq!(s.continue_stream(StreamType::HttpResponse), Ok(()));
        let d = s.stream().unwrap();
        assert!(d.dirs[Dir::Response].resume && !d.dirs[Dir::Request].resume);
        let (request, response) = (&d.dirs[Dir::Request], &d.dirs[Dir::Response]);
        assert!(
            !request.live.headers && !request.live.body,
            "request maps go, whichever direction resumes"
        );
        assert!(response.live.headers && response.live.body, "response maps stay");
        assert_eq!(s.continue_stream(StreamType::HttpRequest), Ok(()));
        assert!(s.stream().unwrap().dirs[Dir::Request].resume);
    }

    #[test]
    fn continue_statuses_for_tcp_streams_and_root_contexts() {
        let mut s = with_stream();
        assert_eq!(s.continue_stream(StreamType::Downstream), Ok(()));
        assert_eq!(s.continue_stream(StreamType::Upstream), Err(Status::Unimplemented));
        s.current = ROOT;
        assert_eq!(
            s.continue_stream(StreamType::HttpRequest),
            Ok(()),
            "Ok, nothing resumes (E19)"
        );
        assert_eq!(s.continue_stream(StreamType::Upstream), Err(Status::Unimplemented));
        s.current = crate::state::testing::STREAM;
        assert!(Dir::BOTH.iter().all(|&d| !s.stream().unwrap().dirs[d].resume));
    }

    #[test]
    fn close_resets_only_for_http_directions() {
        let mut s = with_stream();
        s.close_stream(StreamType::Downstream);
        assert!(!s.stream().unwrap().close);
        s.close_stream(StreamType::HttpRequest);
        assert!(s.stream().unwrap().close);
    }

    #[test]
    fn first_local_response_wins_and_is_normalized() {
        let mut s = with_stream();
        let headers = vec![(b"X-Reason".to_vec(), b"Blocked".to_vec())];
        s.send_local_response(403, b"denied by policy", b"no".to_vec(), headers, 99);
        s.send_local_response(500, b"second", Vec::new(), Vec::new(), 3);
        assert!(s.stop_next_iteration);
        let lr = s.stream().unwrap().local_response.clone().unwrap();
        assert_eq!(
            (lr.status, lr.details.as_str(), lr.body.as_slice()),
            (403, "denied_by_policy", &b"no"[..])
        );
        assert_eq!(lr.headers.get("x-reason").as_deref(), Some("Blocked"));
        assert_eq!(
            lr.headers.iter().next().map(|(k, _)| k),
            Some("x-reason"),
            "name lowercased"
        );
        assert_eq!(lr.grpc_status, None, "99 is no gRPC status");
    }

    #[test]
    fn a_root_context_has_nothing_to_answer() {
        let mut s = with_stream();
        s.current = ROOT;
        s.send_local_response(403, b"", Vec::new(), Vec::new(), 16);
        assert!(s.stop_next_iteration);
        assert!(s.stream().is_none());
        assert!(s.streams[&crate::state::testing::STREAM].local_response.is_none());
    }
}
