//! Call-outs: `proxy_http_call`, `proxy_grpc_call/stream/send/cancel/close` and
//! `proxy_get_status` (Envoy rows E19-E23). Calls are only recorded here; the plugin delivers
//! their results after the current callback, as Envoy does.

use super::{arg, envoy_map, put_bytes, put_u32, text};
use crate::memory::Ctx;
use crate::state::{HostState, PendingGrpc};
use crate::upstream::HttpCall;
use meshward_abi::pairs::{self, Pair};
use meshward_abi::Status;
use wasmtime::Linker;

/// gRPC status `INTERNAL`: a call to a plain HTTP cluster closes with it (row E23).
const GRPC_INTERNAL: u32 = 13;
/// gRPC status `UNAVAILABLE`: host-test runs no gRPC upstreams, so every call to a gRPC
/// service closes with it.
const GRPC_UNAVAILABLE: u32 = 14;

/// Adds the call-out functions.
pub(super) fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    host_fns! { linker;
        fn proxy_http_call(
            mut c, up: i32, us: i32, hp: i32, hs: i32, bp: i32, bs: i32, tp: i32, ts: i32, timeout: i32, token_ptr: i32
        ) {
            let (cluster, headers) = (arg(&mut c, up, us)?, arg(&mut c, hp, hs)?);
            let (body, trailers) = (arg(&mut c, bp, bs)?, arg(&mut c, tp, ts)?);
            // The token is 0 unless the call is made.
            put_u32(&mut c, token_ptr, 0)?;
            // Malformed maps are no pairs, as in proxy-wasm-cpp-host.
            let (headers, trailers) = (pairs::decode_lenient(&headers), pairs::decode_lenient(&trailers));
            let token = c.data_mut().http_call(&cluster, headers, body, trailers, timeout)?;
            Ok(put_u32(&mut c, token_ptr, token)?)
        }
        // A call and a stream take the same arguments up to the initial metadata; a call adds a
        // message and a timeout. Only the service name matters here.
        fn proxy_grpc_call(
            mut c, sp: i32, ss: i32, np: i32, ns: i32, mp: i32, ms: i32, ip: i32, is: i32, rp: i32, rs: i32,
            _timeout: i32, tp: i32
        ) {
            let service = grpc_service(&mut c, (sp, ss), [(np, ns), (mp, ms), (ip, is), (rp, rs)])?;
            let token = c.data_mut().grpc_open(&service, false)?;
            Ok(put_u32(&mut c, tp, token)?)
        }
        fn proxy_grpc_stream(mut c, sp: i32, ss: i32, np: i32, ns: i32, mp: i32, ms: i32, ip: i32, is: i32, tp: i32) {
            let service = grpc_service(&mut c, (sp, ss), [(np, ns), (mp, ms), (ip, is)])?;
            let token = c.data_mut().grpc_open(&service, true)?;
            Ok(put_u32(&mut c, tp, token)?)
        }
        fn proxy_grpc_send(mut c, token: i32, mp: i32, ms: i32, _eos: i32) {
            arg(&mut c, mp, ms)?;
            Ok(c.data().grpc_send(token as u32)?)
        }
        fn proxy_grpc_cancel(mut c, token: i32) {
            Ok(c.data_mut().grpc_end(token as u32)?)
        }
        fn proxy_grpc_close(mut c, token: i32) {
            Ok(c.data_mut().grpc_end(token as u32)?)
        }
        fn proxy_get_status(mut c, cp: i32, pp: i32, sp: i32) {
            let (status, message) = c.data().status.clone();
            put_u32(&mut c, cp, status)?;
            put_bytes(&mut c, &message, pp, sp)
        }
    }
    Ok(())
}

/// The service name of a gRPC call or stream, once every byte argument is in bounds.
fn grpc_service<const N: usize>(
    c: &mut Ctx<'_>,
    (ptr, len): (i32, i32),
    rest: [(i32, i32); N],
) -> Result<Vec<u8>, Status> {
    let service = arg(c, ptr, len)?;
    for (p, l) in rest {
        arg(c, p, l)?;
    }
    Ok(service)
}

impl HostState {
    /// Records an http call to `cluster` and returns its token. Envoy refuses a negative
    /// timeout, an unknown cluster and headers without `:method`, `:path` or `:authority`
    /// (`host`) with BadArgument (row E20), and sets `content-length` for a body.
    pub(crate) fn http_call(
        &mut self,
        cluster: &[u8],
        headers: Vec<Pair>,
        body: Vec<u8>,
        trailers: Vec<Pair>,
        timeout_ms: i32,
    ) -> Result<u32, Status> {
        let timeout_ms = u32::try_from(timeout_ms).map_err(|_| Status::BadArgument)?;
        let cluster = text(cluster);
        if !self.upstreams.clusters.contains_key(&cluster) {
            return Err(Status::BadArgument);
        }
        let mut headers = envoy_map(&headers);
        let missing = |name: &str| headers.get_bytes(name).is_none();
        if missing(":path") || missing(":method") || missing(":authority") && missing("host") {
            return Err(Status::BadArgument);
        }
        if !body.is_empty() {
            headers.set("content-length", body.len().to_string());
        }
        let trailers = envoy_map(&trailers);
        let token = self.next_http_token;
        self.next_http_token += 1;
        let context_id = self.context();
        self.http_calls.push(HttpCall {
            token,
            cluster,
            headers,
            body,
            trailers,
            timeout_ms,
            context_id,
        });
        self.pending_http.push(token);
        Ok(token)
    }

    /// Opens a gRPC call (odd token) or stream (even token) to `service`, to be closed on the
    /// acting context's root: UNAVAILABLE for a gRPC service cluster (host-test runs none),
    /// INTERNAL for a plain HTTP cluster (row E23); ParseFailure for an unknown name.
    pub(crate) fn grpc_open(&mut self, service: &[u8], stream: bool) -> Result<u32, Status> {
        let name = text(service);
        let (status, message): (u32, &'static [u8]) = if self.upstreams.grpc.contains(&name) {
            (GRPC_UNAVAILABLE, b"unavailable: host-test runs no gRPC upstreams")
        } else if self.upstreams.clusters.contains_key(&name) {
            (GRPC_INTERNAL, b"protocol error: the cluster is not a gRPC service")
        } else {
            return Err(Status::ParseFailure);
        };
        let token = self.next_grpc_token + u32::from(stream);
        self.next_grpc_token += 2;
        let root = self.root_of(self.context());
        self.pending_grpc.push(PendingGrpc {
            root,
            token,
            status,
            message,
        });
        Ok(token)
    }

    /// Sends a message on an open gRPC stream: BadArgument on a call's (odd) token, NotFound
    /// once the stream is closed.
    pub(crate) fn grpc_send(&self, token: u32) -> Result<(), Status> {
        if token & 1 == 1 {
            return Err(Status::BadArgument);
        }
        if self.pending_grpc.iter().any(|g| g.token == token) {
            Ok(())
        } else {
            Err(Status::NotFound)
        }
    }

    /// Cancels or closes a gRPC call or stream; it gets no close callback. NotFound if it is
    /// not open.
    pub(crate) fn grpc_end(&mut self, token: u32) -> Result<(), Status> {
        let i = self
            .pending_grpc
            .iter()
            .position(|g| g.token == token)
            .ok_or(Status::NotFound)?;
        self.pending_grpc.remove(i);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::{GRPC_INTERNAL, GRPC_UNAVAILABLE};
    use crate::state::testing::{with_stream, ROOT, STREAM};
    use crate::state::HostState;
    use crate::upstream::{CallReply, HttpCall};
    use meshward_abi::pairs::Pair;
    use meshward_abi::Status;
    use std::sync::Arc;

    fn pairs(p: &[(&str, &str)]) -> Vec<Pair> {
        p.iter()
            .map(|(k, v)| (k.as_bytes().to_vec(), v.as_bytes().to_vec()))
            .collect()
    }

    fn with_clusters() -> HostState {
        let mut s = with_stream();
        s.upstreams
            .clusters
            .insert("auth".into(), Arc::new(|_: &HttpCall| CallReply::status(200, "")));
        s.upstreams.grpc.insert("grpc".into());
        s
    }

    const GET: &[(&str, &str)] = &[(":method", "GET"), (":path", "/"), (":authority", "auth")];

    #[test]
    fn http_call_arguments_are_checked_like_envoy() {
        let mut s = with_clusters();
        let mut call = |cluster: &[u8], headers: &[(&str, &str)], timeout| {
            s.http_call(cluster, pairs(headers), Vec::new(), Vec::new(), timeout)
        };
        assert_eq!(call(b"nope", GET, 100), Err(Status::BadArgument), "unknown cluster");
        assert_eq!(call(b"auth", GET, -1), Err(Status::BadArgument), "negative timeout");
        assert_eq!(call(b"auth", &GET[1..], 100), Err(Status::BadArgument), "no :method");
        assert_eq!(call(b"auth", &GET[..2], 100), Err(Status::BadArgument), "no :authority");
        let with_host = [(":method", "GET"), (":path", "/"), ("Host", "auth")];
        assert_eq!(call(b"auth", &with_host, 100), Ok(1), "host stands for :authority");
        assert_eq!(s.http_calls.len(), 1, "refused calls are not recorded");
    }

    #[test]
    fn http_calls_are_recorded_with_their_context_and_body_length() {
        let mut s = with_clusters();
        let trailers = pairs(&[("X-T", "1")]);
        assert_eq!(s.http_call(b"auth", pairs(GET), b"abc".to_vec(), trailers, 250), Ok(1));
        assert_eq!(s.http_call(b"auth", pairs(GET), Vec::new(), Vec::new(), 0), Ok(2));
        let call = &s.http_calls[0];
        assert_eq!((call.token, call.context_id, call.timeout_ms), (1, STREAM, 250));
        assert_eq!(call.headers.get("content-length").as_deref(), Some("3"));
        assert_eq!(call.trailers.get("x-t").as_deref(), Some("1"));
        assert_eq!(
            s.http_calls[1].headers.get("content-length"),
            None,
            "no body, no length"
        );
        assert_eq!(s.pending_http, vec![1, 2]);
    }

    #[test]
    fn grpc_calls_close_on_the_root_with_the_clusters_status() {
        let mut s = with_clusters();
        assert_eq!(s.grpc_open(b"missing", false), Err(Status::ParseFailure));
        assert_eq!(s.grpc_open(b"grpc", false), Ok(1));
        assert_eq!(s.grpc_open(b"grpc", true), Ok(4), "a stream's token is even");
        assert_eq!(s.grpc_open(b"auth", false), Ok(5));
        let closes: Vec<_> = s.pending_grpc.iter().map(|g| (g.root, g.token, g.status)).collect();
        assert_eq!(
            closes,
            vec![
                (ROOT, 1, GRPC_UNAVAILABLE),
                (ROOT, 4, GRPC_UNAVAILABLE),
                (ROOT, 5, GRPC_INTERNAL)
            ]
        );
    }

    #[test]
    fn grpc_send_and_end_need_an_open_token() {
        let mut s = with_clusters();
        let call = s.grpc_open(b"grpc", false).unwrap();
        let stream = s.grpc_open(b"grpc", true).unwrap();
        assert_eq!((call & 1, stream & 1), (1, 0));
        assert_eq!(s.grpc_send(call), Err(Status::BadArgument), "a call takes no messages");
        assert_eq!(s.grpc_send(stream), Ok(()));
        assert_eq!(s.grpc_end(stream), Ok(()));
        assert_eq!(s.grpc_send(stream), Err(Status::NotFound));
        assert_eq!(s.grpc_end(stream), Err(Status::NotFound));
        assert_eq!(s.grpc_end(call), Ok(()));
        assert!(s.pending_grpc.is_empty());
    }
}
