//! HTTP streams driven the way Envoy's filter manager drives one proxy-wasm filter:
//! `HttpStream` (event by event) and `Plugin::run`.

use crate::dir::{Dir, Part, PerDir};
use crate::error::Error;
use crate::exchange::{Request, Response};
use crate::outcome::{Message, Outcome};
use crate::plugin::Plugin;
use crate::property::Value;
use crate::state::{LocalResponse, StreamData};
use crate::Headers;
use wasmtime::{TypedFunc, WasmParams};

/// Envoy's default per-connection buffer limit (1 MiB): a paused body beyond it is refused.
pub const BUFFER_LIMIT: usize = 1024 * 1024;

/// Handle of an open stream of a plugin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StreamId(pub u32);

/// What happened to one event the test sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// The filter let it through.
    Continue,
    /// The filter stopped iteration (Envoy: StopAllIterationAndWatermark for headers,
    /// StopIterationAndBuffer for bodies, StopIteration for trailers).
    Stopped,
    /// Held by the host without calling the filter: headers are stopped, as Envoy buffers.
    Held,
    /// Not delivered: the stream was answered locally, reset or failed.
    Skipped,
}

/// Host-side flow state of one direction: where it waits, and what left the filter.
#[derive(Debug, Default)]
struct DirFlow {
    headers_stopped: bool,
    held: Vec<u8>,
    held_any: bool,
    held_end: bool,
    held_trailers: Option<Headers>,
    buffering: bool,
    stalled_end: bool,
    stalled_trailers: bool,
    input_ended: bool,
    delivered_headers: bool,
    out: Option<Message>,
}

impl DirFlow {
    /// The part this direction waits in, if the filter paused it.
    fn paused_in(&self) -> Option<Part> {
        if self.headers_stopped {
            Some(Part::Headers)
        } else if self.stalled_end || self.buffering {
            Some(Part::Body)
        } else if self.stalled_trailers {
            Some(Part::Trailers)
        } else {
            None
        }
    }

    /// Appends what the filter let through; `end` completes the direction with `trailers`.
    fn forward(&mut self, body: &[u8], end: bool, trailers: Option<Headers>) {
        if let Some(out) = self.out.as_mut() {
            out.body.extend_from_slice(body);
            if end {
                out.trailers = trailers;
                out.complete = true;
            }
        }
    }
}

/// Host-side flow state of one stream.
#[derive(Debug, Default)]
pub(crate) struct Flow {
    dirs: PerDir<DirFlow>,
    local: Option<LocalResponse>,
    replaying_local: bool,
    router_headers: bool,
    log_start: usize,
    calls_start: usize,
    reset: bool,
    trap: Option<String>,
}

impl Plugin {
    /// Opens a stream on the first root context (`proxy_on_context_create`).
    pub fn open_stream(&mut self) -> Result<StreamId, Error> {
        let root = self.first_root();
        self.open_stream_on(root)
    }

    /// Opens a stream on the root context with `root_id`.
    pub fn open_stream_for(&mut self, root_id: &str) -> Result<StreamId, Error> {
        let root = self
            .root_context(root_id)
            .ok_or_else(|| Error::Misuse(format!("no root context {root_id:?}")))?;
        self.open_stream_on(root)
    }

    fn first_root(&self) -> u32 {
        self.store.data().roots.keys().next().copied().unwrap_or(1)
    }

    fn open_stream_on(&mut self, root: u32) -> Result<StreamId, Error> {
        if self.failed {
            return Err(Error::VmFailed);
        }
        let id = self.next_context;
        self.next_context += 1;
        let start_ns = self.store.data().now_ns;
        self.store.data_mut().streams.insert(
            id,
            StreamData {
                root,
                start_ns,
                connection_id: id as u64,
                ..Default::default()
            },
        );
        let s = self.store.data();
        let flow = Flow {
            log_start: s.logs.len(),
            calls_start: s.http_calls.len(),
            ..Default::default()
        };
        self.flows.insert(id, flow);
        if let Some(f) = self.exports.on_context_create.clone() {
            self.call("proxy_on_context_create", id, &f, (id as i32, root as i32))?;
        }
        Ok(StreamId(id))
    }

    /// Applies stream actions root callbacks requested (continue, local response, close
    /// through `proxy_set_effective_context`).
    pub(crate) fn settle_streams(&mut self) -> Result<(), Error> {
        let waiting: Vec<u32> = self
            .store
            .data()
            .streams
            .iter()
            .filter(|(_, d)| Dir::BOTH.iter().any(|&dir| d.dirs[dir].resume) || d.close || d.local_response.is_some())
            .map(|(id, _)| *id)
            .collect();
        for id in waiting {
            self.stream(StreamId(id)).after_callback()?;
        }
        Ok(())
    }

    /// A view to drive an open stream.
    pub fn stream(&mut self, id: StreamId) -> HttpStream<'_> {
        HttpStream { plugin: self, id: id.0 }
    }

    /// Runs a whole exchange on the first root: request, then (if the request went upstream)
    /// the response, then on_log/on_done/on_delete.
    pub fn run(&mut self, request: &Request, response: &Response) -> Result<Outcome, Error> {
        let id = self.open_stream()?;
        self.run_on(id, request, response)
    }

    /// Like `run`, on the root context `root_id`.
    pub fn run_for(&mut self, root_id: &str, request: &Request, response: &Response) -> Result<Outcome, Error> {
        let id = self.open_stream_for(root_id)?;
        self.run_on(id, request, response)
    }

    fn run_on(&mut self, id: StreamId, request: &Request, response: &Response) -> Result<Outcome, Error> {
        let mut s = self.stream(id);
        s.send_request(request)?;
        if s.request_complete() && !s.answered() {
            s.send_response(response)?;
        }
        s.finish()
    }
}

/// The message as the peer reads it: a body rewritten by the filter is not re-framed, so the
/// peer reads only `content-length` bytes of it (Envoy row E11).
fn as_read(mut m: Message) -> Message {
    if let Some(len) = m.headers.get("content-length").and_then(|v| v.parse::<usize>().ok()) {
        m.body.truncate(len);
    }
    m
}

/// One stream of a plugin, driven event by event.
pub struct HttpStream<'a> {
    plugin: &'a mut Plugin,
    id: u32,
}

impl HttpStream<'_> {
    fn flow(&mut self) -> &mut Flow {
        self.plugin.flows.entry(self.id).or_default()
    }

    fn data(&mut self) -> &mut StreamData {
        self.plugin.store.data_mut().streams.entry(self.id).or_default()
    }

    fn dir(&mut self, d: Dir) -> &mut DirFlow {
        &mut self.flow().dirs[d]
    }

    /// Context id of this stream.
    pub fn context_id(&self) -> u32 {
        self.id
    }

    /// Sets a property for this stream (ignored once the stream is finished).
    pub fn set_property(&mut self, path: &str, value: impl Into<Value>) {
        if self.alive().is_ok() {
            self.data().properties.insert(path.to_string(), value.into());
        }
    }

    /// True once the whole request went upstream.
    pub fn request_complete(&mut self) -> bool {
        self.alive().is_ok() && self.dir(Dir::Request).out.as_ref().is_some_and(|m| m.complete)
    }

    /// True once the stream was answered locally, reset or failed.
    pub fn answered(&mut self) -> bool {
        if self.alive().is_err() {
            return true;
        }
        let f = self.flow();
        f.local.is_some() || f.reset || f.trap.is_some()
    }

    fn alive(&self) -> Result<(), Error> {
        if self.plugin.flows.contains_key(&self.id) {
            Ok(())
        } else {
            Err(Error::Misuse(format!(
                "stream {} is finished or was never opened",
                self.id
            )))
        }
    }

    fn skip(&mut self, d: Dir) -> bool {
        let f = self.flow();
        if f.reset || f.trap.is_some() {
            return true;
        }
        match d {
            Dir::Request => f.local.is_some(),
            Dir::Response => f.local.is_some() && !f.replaying_local,
        }
    }

    /// Sends the request as Envoy's HTTP/1 connection manager delivers it: headers (plus
    /// `x-forwarded-proto` and `x-request-id` if absent), each chunk with end_of_stream false,
    /// then an empty end_of_stream chunk, or the trailers (Envoy rows E02, E37).
    pub fn send_request(&mut self, r: &Request) -> Result<(), Error> {
        for (k, v) in &r.properties {
            self.set_property(k, v.clone());
        }
        let mut headers = r.headers.clone();
        // The connection manager drops hop-by-hop headers before any filter runs.
        for h in [
            "connection",
            "keep-alive",
            "proxy-connection",
            "transfer-encoding",
            "upgrade",
        ] {
            headers.remove(h);
        }
        if headers.get("te").is_some_and(|v| !v.eq_ignore_ascii_case("trailers")) {
            headers.remove("te");
        }
        if headers.get_bytes("x-forwarded-proto").is_none() {
            let scheme = headers.get(":scheme").unwrap_or_else(|| "http".into());
            headers.add("x-forwarded-proto", scheme);
        }
        if headers.get_bytes("x-request-id").is_none() {
            let s = self.plugin.store.data_mut();
            let (a, b) = (s.next_random(), s.next_random());
            let id = format!(
                "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
                a >> 32,
                (a >> 16) & 0xffff,
                a & 0xfff,
                (b >> 48) & 0x3fff | 0x8000,
                b & 0xffff_ffff_ffff
            );
            headers.add("x-request-id", id);
        }
        self.flow().router_headers = true;
        self.send_whole(Dir::Request, headers, &r.chunks, r.trailers.clone())
    }

    /// Sends the upstream response the way Envoy delivers an HTTP/1 response (chunks, then an
    /// empty end_of_stream chunk or the trailers).
    pub fn send_response(&mut self, r: &Response) -> Result<(), Error> {
        self.send_whole(Dir::Response, r.headers.clone(), &r.chunks, r.trailers.clone())
    }

    fn send_whole(
        &mut self,
        d: Dir,
        headers: Headers,
        chunks: &[Vec<u8>],
        trailers: Option<Headers>,
    ) -> Result<(), Error> {
        let no_body = chunks.is_empty() && trailers.is_none();
        self.headers(d, headers, no_body)?;
        for c in chunks {
            self.body(d, c.clone(), false)?;
        }
        match trailers {
            Some(t) => {
                self.trailers(d, t)?;
            }
            None if !chunks.is_empty() => {
                self.body(d, Vec::new(), true)?;
            }
            None => {}
        }
        Ok(())
    }

    /// Delivers request headers (`proxy_on_request_headers`).
    pub fn send_request_headers(&mut self, h: Headers, end_of_stream: bool) -> Result<Step, Error> {
        self.headers(Dir::Request, h, end_of_stream)
    }
    /// Delivers one request body chunk (`proxy_on_request_body`).
    pub fn send_request_body(&mut self, chunk: &[u8], end_of_stream: bool) -> Result<Step, Error> {
        self.body(Dir::Request, chunk.to_vec(), end_of_stream)
    }
    /// Delivers request trailers (`proxy_on_request_trailers`).
    pub fn send_request_trailers(&mut self, t: Headers) -> Result<Step, Error> {
        self.trailers(Dir::Request, t)
    }
    /// Delivers upstream response headers (`proxy_on_response_headers`).
    pub fn send_response_headers(&mut self, h: Headers, end_of_stream: bool) -> Result<Step, Error> {
        self.headers(Dir::Response, h, end_of_stream)
    }
    /// Delivers one response body chunk (`proxy_on_response_body`).
    pub fn send_response_body(&mut self, chunk: &[u8], end_of_stream: bool) -> Result<Step, Error> {
        self.body(Dir::Response, chunk.to_vec(), end_of_stream)
    }
    /// Delivers response trailers (`proxy_on_response_trailers`).
    pub fn send_response_trailers(&mut self, t: Headers) -> Result<Step, Error> {
        self.trailers(Dir::Response, t)
    }

    /// Calls the stream callback of `d`'s `part` (Continue if the module lacks it); a trap
    /// fails the stream the way Envoy's fail-closed policy does (None).
    fn invoke<P: WasmParams>(
        &mut self,
        d: Dir,
        part: Part,
        f: Option<TypedFunc<P, i32>>,
        args: P,
    ) -> Result<Option<i32>, Error> {
        let Some(f) = f else { return Ok(Some(0)) };
        let r = self.plugin.call(d.callback(part), self.id, &f, args);
        self.trap_guard(r)
    }

    fn trap_guard<T>(&mut self, r: Result<T, Error>) -> Result<Option<T>, Error> {
        match r {
            Ok(v) => Ok(Some(v)),
            Err(Error::Trap { callback, message }) => {
                let f = self.flow();
                f.trap = Some(format!("{callback}: {message}"));
                if f.dirs[Dir::Response].out.is_none() {
                    let mut h = Headers::new();
                    h.add(":status", "503");
                    f.dirs[Dir::Response].out = Some(Message {
                        headers: h,
                        body: Vec::new(),
                        trailers: None,
                        complete: true,
                    });
                    f.local = Some(LocalResponse {
                        status: 503,
                        headers: Headers::new(),
                        body: Vec::new(),
                        details: "wasm_fail_stream".into(),
                        grpc_status: Some(14),
                    });
                }
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    fn stop_next(&mut self) -> bool {
        self.plugin.store.data().stop_next_iteration
    }

    fn headers(&mut self, d: Dir, mut h: Headers, eos: bool) -> Result<Step, Error> {
        // Envoy's codec lower-cases every name it receives.
        h.lowercase_names();
        self.alive()?;
        if self.skip(d) {
            return Ok(Step::Skipped);
        }
        let n = h.len() as i32;
        let sd = self.data();
        sd.end_of_stream = eos;
        sd.dirs[d].headers = h;
        sd.dirs[d].live.headers = true;
        if d == Dir::Response && !self.flow().replaying_local {
            self.data().code_details = Some("via_upstream".into());
        }
        let df = self.dir(d);
        df.input_ended = eos;
        df.delivered_headers = true;
        let f = self.plugin.exports.on_headers[d].clone();
        let Some(r) = self.invoke(d, Part::Headers, f, (self.id as i32, n, i32::from(eos)))? else {
            return Ok(Step::Skipped);
        };
        // Envoy turns a headers Pause into StopAllIterationAndWatermark (ABI 0.2.x default).
        // A close_stream reset runs before Envoy looks at the return value (row E33).
        let stop = self.stop_next() || r != 0 || self.data().close;
        if stop {
            self.dir(d).headers_stopped = true;
        } else {
            self.forward_headers(d);
        }
        self.after_callback()?;
        Ok(if stop { Step::Stopped } else { Step::Continue })
    }

    fn forward_headers(&mut self, d: Dir) {
        let side = &mut self.data().dirs[d];
        side.live.headers = false;
        if d == Dir::Response {
            // The connection manager drops the upstream framing header after the filters
            // (the filter saw it; on_log and the client's map do not).
            side.headers.remove("transfer-encoding");
        }
        if d == Dir::Request && self.flow().router_headers {
            // The router adds its timeout header to the same map after the filter chain (row
            // E37), so on_log sees it too.
            self.data().dirs[d]
                .headers
                .add("x-envoy-expected-rq-timeout-ms", "15000");
        }
        let headers = self.data().dirs[d].headers.clone();
        if d == Dir::Request {
            self.data().upstream_contacted = true;
        }
        let df = self.dir(d);
        df.headers_stopped = false;
        let complete = df.input_ended && !df.held_any && df.held_trailers.is_none();
        df.out = Some(Message {
            headers,
            body: Vec::new(),
            trailers: None,
            complete,
        });
    }

    fn body(&mut self, d: Dir, chunk: Vec<u8>, eos: bool) -> Result<Step, Error> {
        self.alive()?;
        if self.skip(d) {
            return Ok(Step::Skipped);
        }
        if d == Dir::Request {
            self.data().request_bytes += chunk.len() as u64;
        }
        let df = self.dir(d);
        df.input_ended = eos;
        if df.headers_stopped {
            df.held.extend_from_slice(&chunk);
            df.held_any = true;
            df.held_end = eos;
            return Ok(Step::Held);
        }
        self.deliver_body(d, chunk, eos)
    }

    fn deliver_body(&mut self, d: Dir, chunk: Vec<u8>, eos: bool) -> Result<Step, Error> {
        let buffering = self.dir(d).buffering;
        let sd = self.data();
        sd.end_of_stream = eos;
        let side = &mut sd.dirs[d];
        if buffering {
            side.body.extend_from_slice(&chunk);
        } else {
            side.body = chunk;
        }
        side.live.body = true;
        let size = side.body.len();
        if buffering && size > BUFFER_LIMIT {
            // Envoy refuses a buffered body over the limit: 413 on requests, 500 on responses.
            let (code, text) = if d == Dir::Request {
                (413, "Payload Too Large")
            } else {
                (500, "Internal Server Error")
            };
            let mut headers = Headers::new();
            headers.add("connection", "close");
            self.apply_local(LocalResponse {
                status: code,
                headers,
                body: text.as_bytes().to_vec(),
                details: if d == Dir::Request {
                    "request_payload_too_large".into()
                } else {
                    "response_payload_too_large".into()
                },
                grpc_status: None,
            })?;
            return Ok(Step::Skipped);
        }
        let f = self.plugin.exports.on_body[d].clone();
        let Some(r) = self.invoke(d, Part::Body, f, (self.id as i32, size as i32, i32::from(eos)))? else {
            return Ok(Step::Skipped);
        };
        let stop_next = self.stop_next() || self.data().close;
        self.dir(d).buffering = false;
        let step = if stop_next || r == 3 {
            // StopIterationNoBuffer: the chunk is neither forwarded nor kept.
            self.take_body(d);
            Step::Stopped
        } else if r == 0 {
            self.forward_body(d, eos);
            Step::Continue
        } else {
            let df = self.dir(d);
            df.buffering = true;
            if eos {
                df.stalled_end = true;
            }
            Step::Stopped
        };
        self.after_callback()?;
        Ok(step)
    }

    /// Counts response bytes sent downstream (`response.size`).
    fn count_forwarded(&mut self, d: Dir, body: &[u8]) {
        if d == Dir::Response {
            self.data().response_bytes += body.len() as u64;
        }
    }

    /// Takes the body away from the filter, to forward or drop it.
    fn take_body(&mut self, d: Dir) -> Vec<u8> {
        let side = &mut self.data().dirs[d];
        side.live.body = false;
        std::mem::take(&mut side.body)
    }

    /// Takes the trailers away from the filter, to forward them (`on_log` still reads them).
    fn take_trailers(&mut self, d: Dir) -> Option<Headers> {
        let side = &mut self.data().dirs[d];
        side.live.trailers = false;
        side.trailers.clone()
    }

    /// Forwards the body the filter holds; `end` completes the direction with its trailers.
    fn forward_body(&mut self, d: Dir, end: bool) {
        let body = self.take_body(d);
        self.count_forwarded(d, &body);
        let trailers = if end { self.take_trailers(d) } else { None };
        self.dir(d).forward(&body, end, trailers);
    }

    fn trailers(&mut self, d: Dir, mut t: Headers) -> Result<Step, Error> {
        t.lowercase_names();
        self.alive()?;
        if self.skip(d) {
            return Ok(Step::Skipped);
        }
        let df = self.dir(d);
        df.input_ended = true;
        if df.headers_stopped {
            df.held_trailers = Some(t);
            return Ok(Step::Held);
        }
        self.deliver_trailers(d, t)
    }

    fn deliver_trailers(&mut self, d: Dir, t: Headers) -> Result<Step, Error> {
        let n = t.len() as i32;
        let side = &mut self.data().dirs[d];
        side.trailers = Some(t);
        side.live.trailers = true;
        let f = self.plugin.exports.on_trailers[d].clone();
        let Some(r) = self.invoke(d, Part::Trailers, f, (self.id as i32, n))? else {
            return Ok(Step::Skipped);
        };
        let stop = self.stop_next() || r != 0 || self.data().close;
        if stop {
            self.dir(d).stalled_trailers = true;
        } else {
            self.forward_rest(d);
        }
        self.after_callback()?;
        Ok(if stop { Step::Stopped } else { Step::Continue })
    }

    /// Forwards a buffered body and the trailers, completing the direction.
    fn forward_rest(&mut self, d: Dir) {
        let buffering = self.dir(d).buffering;
        let body = if buffering { self.take_body(d) } else { Vec::new() };
        self.count_forwarded(d, &body);
        let trailers = self.take_trailers(d);
        let df = self.dir(d);
        df.buffering = false;
        df.stalled_trailers = false;
        df.stalled_end = false;
        df.forward(&body, true, trailers);
    }

    /// Resumes a stopped direction (`proxy_continue_stream`), as Envoy's continueDecoding does.
    fn resume(&mut self, d: Dir) -> Result<(), Error> {
        let df = self.dir(d);
        if df.headers_stopped {
            self.forward_headers(d);
            let df = self.dir(d);
            let (held_any, held_end) = (df.held_any, df.held_end);
            let held = std::mem::take(&mut df.held);
            df.held_any = false;
            let trailers = df.held_trailers.take();
            if held_any {
                self.deliver_body(d, held, held_end && trailers.is_none())?;
            }
            if let Some(t) = trailers {
                if !self.skip(d) {
                    self.deliver_trailers(d, t)?;
                }
            }
        } else if df.stalled_trailers {
            self.forward_rest(d);
        } else if df.buffering {
            let end = df.stalled_end;
            df.buffering = false;
            df.stalled_end = false;
            self.forward_body(d, end);
        }
        Ok(())
    }

    /// Applies what the filter asked for during the last callback(s).
    fn after_callback(&mut self) -> Result<(), Error> {
        for _ in 0..1000 {
            let pumped = self.plugin.pump();
            self.trap_guard(pumped)?;
            let sd = self.data();
            if std::mem::take(&mut sd.close) {
                self.flow().reset = true;
                return Ok(());
            }
            if let Some(lr) = sd.local_response.take() {
                self.apply_local(lr)?;
                continue;
            }
            // The request resumes first when the filter continued both.
            let Some(d) = Dir::BOTH.into_iter().find(|&d| sd.dirs[d].resume) else {
                break;
            };
            self.data().dirs[d].resume = false;
            if !self.skip(d) {
                self.resume(d)?;
            }
        }
        Ok(())
    }

    /// Answers the stream locally. Before the response started, Envoy sends the local reply
    /// through this filter's response callbacks; after response headers went out, it resets.
    fn apply_local(&mut self, lr: LocalResponse) -> Result<(), Error> {
        let f = self.flow();
        if f.local.is_some() {
            return Ok(());
        }
        if f.dirs[Dir::Response].out.is_some() {
            f.reset = true;
            return Ok(());
        }
        let in_response_phase = f.dirs[Dir::Response].delivered_headers;
        f.local = Some(lr.clone());
        self.data().code_details = Some(lr.details.clone());
        let mut h = Headers::new();
        h.add(":status", lr.status.to_string());
        for (k, v) in lr.headers.iter() {
            h.add(k, v);
        }
        if !lr.body.is_empty() {
            h.set("content-length", lr.body.len().to_string());
            if h.get_bytes("content-type").is_none() {
                h.add("content-type", "text/plain");
            }
        }
        if in_response_phase {
            // The filter itself replied while encoding; the reply goes on to the client.
            self.data().response_bytes = lr.body.len() as u64;
            *self.dir(Dir::Response) = DirFlow {
                out: Some(Message {
                    headers: h,
                    body: lr.body,
                    trailers: None,
                    complete: true,
                }),
                ..Default::default()
            };
            return Ok(());
        }
        let f = self.flow();
        f.dirs[Dir::Response] = DirFlow::default();
        f.replaying_local = true;
        let eos = lr.body.is_empty();
        let r = self.headers(Dir::Response, h, eos);
        let r2 = match (&r, eos) {
            (Ok(_), false) => self.body(Dir::Response, lr.body, true).map(|_| ()),
            _ => Ok(()),
        };
        self.flow().replaying_local = false;
        r?;
        r2
    }

    /// Envoy answered the stream itself before any filter callback (its codec or connection
    /// manager refused the request): the access log (`on_log`) sees `request` and the reply's
    /// `headers` as the maps, `details` as `response.code_details` and the body's length as
    /// `response.size`; no filter callback runs for the reply.
    pub(crate) fn direct_reply(&mut self, request: Headers, headers: Headers, body: Vec<u8>, details: &str) {
        if self.alive().is_err() {
            return;
        }
        let sd = self.data();
        sd.dirs[Dir::Request].headers = request;
        sd.dirs[Dir::Response].headers = headers.clone();
        sd.response_bytes = body.len() as u64;
        sd.code_details = Some(details.to_string());
        self.dir(Dir::Response).out = Some(Message {
            headers,
            body,
            trailers: None,
            complete: true,
        });
    }

    /// The outcome so far (the stream stays open); verdict `finished` once `finish` ran.
    pub fn outcome(&mut self) -> Outcome {
        if self.alive().is_err() {
            return Outcome {
                verdict: "finished",
                ..Default::default()
            };
        }
        let id = self.id;
        let (log_start, calls_start) = {
            let f = self.flow();
            (f.log_start, f.calls_start)
        };
        let s = self.plugin.store.data();
        // Only entries made since the stream opened can be this stream's (take_logs may have
        // emptied the list meanwhile, hence the clamp).
        let logs = s.logs[log_start.min(s.logs.len())..]
            .iter()
            .filter(|l| l.context_id == id)
            .cloned()
            .collect();
        let http_calls = s.http_calls[calls_start.min(s.http_calls.len())..]
            .iter()
            .filter(|c| c.context_id == id)
            .cloned()
            .collect();
        let metrics = s.metrics.all().clone();
        let f = self.flow();
        let paused_at = if f.local.is_some() || f.reset || f.trap.is_some() {
            None
        } else {
            Dir::BOTH
                .into_iter()
                .find_map(|d| f.dirs[d].paused_in().map(|part| d.place(part)))
        };
        let verdict = if f.trap.is_some() {
            "failed"
        } else if f.reset {
            "reset"
        } else if f.local.is_some() {
            "local_response"
        } else if paused_at.is_some() {
            "paused"
        } else {
            "continue"
        };
        Outcome {
            verdict,
            local_response: f.local.clone(),
            // A request cut short by a local reply or reset never reaches the upstream server.
            upstream_request: f.dirs[Dir::Request]
                .out
                .clone()
                .filter(|m| m.complete || (f.local.is_none() && !f.reset))
                .map(as_read),
            downstream_response: f.dirs[Dir::Response].out.clone().map(as_read),
            paused_at,
            reset: f.reset,
            trap: f.trap.clone(),
            logs,
            http_calls,
            metrics,
        }
    }

    /// Ends the stream: `proxy_on_log` (access-log phase), `proxy_on_done`, `proxy_on_delete`.
    pub fn finish(&mut self) -> Result<Outcome, Error> {
        self.alive()?;
        if !self.plugin.failed {
            let id = self.id as i32;
            self.data().access_log_phase = true;
            if let Some(f) = self.plugin.exports.on_log.clone() {
                let r = self.plugin.call("proxy_on_log", self.id, &f, id);
                self.trap_guard(r)?;
            }
            self.data().access_log_phase = false;
            if let Some(f) = self.plugin.exports.on_done.clone() {
                if !self.plugin.failed {
                    let r = self.plugin.call("proxy_on_done", self.id, &f, id).map(|_| ());
                    self.trap_guard(r)?;
                }
            }
            if let Some(f) = self.plugin.exports.on_delete.clone() {
                if !self.plugin.failed {
                    let r = self.plugin.call("proxy_on_delete", self.id, &f, id);
                    self.trap_guard(r)?;
                }
            }
            let pumped = self.plugin.pump();
            self.trap_guard(pumped)?;
        }
        let o = self.outcome();
        // Forget the stream so long benchmark runs keep constant memory.
        self.plugin.flows.remove(&self.id);
        self.plugin.store.data_mut().streams.remove(&self.id);
        Ok(o)
    }
}
