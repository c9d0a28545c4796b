//! The server's one VM: its plugin, a clock that follows the wall clock, and one stream run
//! through it with the stream API, waiting in real time while the filter holds it paused.

use super::forward::Upstreamed;
use super::refusal::Refusal;
use super::LogSink;
use crate::error::Error;
use crate::exchange::Request;
use crate::outcome::{Message, Outcome};
use crate::plugin::Plugin;
use crate::stream::{HttpStream, StreamId};
use meshward_testkit::http1;
use std::time::{Duration, Instant};

/// How often a paused stream looks again whether it may go on (ticks, a client gone).
const POLL: Duration = Duration::from_millis(5);
/// The longest the tick thread sleeps when no tick is due (a period may be set meanwhile).
const IDLE: Duration = Duration::from_millis(100);

/// The plugin, with the wall-clock instant its VM clock started from.
pub(crate) struct Vm {
    plugin: Plugin,
    root_id: String,
    epoch: Instant,
    epoch_ns: u64,
    log_sink: Option<LogSink>,
}

impl Vm {
    /// Wraps a built plugin; streams run on the root context `root_id`.
    pub fn new(plugin: Plugin, root_id: String, log_sink: Option<LogSink>) -> Vm {
        let epoch_ns = plugin.now_nanos();
        let mut vm = Vm {
            plugin,
            root_id,
            epoch: Instant::now(),
            epoch_ns,
            log_sink,
        };
        vm.drain();
        vm
    }

    /// The plugin, for inspection between streams.
    pub fn plugin(&mut self) -> &mut Plugin {
        &mut self.plugin
    }

    /// Moves the VM clock up to the wall clock, firing the ticks due meanwhile; returns how
    /// long until the next tick is due.
    pub fn catch_up(&mut self) -> Duration {
        let target = self.epoch_ns + u64::try_from(self.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX);
        let now = self.plugin.now_nanos();
        if target > now && !self.plugin.is_failed() {
            // A trap in on_tick fails the VM: later streams get Envoy's fail-closed 503.
            let _ = self.plugin.advance(Duration::from_nanos(target - now));
        }
        self.drain();
        match self.plugin.next_tick_at() {
            Some(at) => Duration::from_nanos(at.saturating_sub(target)).clamp(Duration::from_millis(1), IDLE),
            None => IDLE,
        }
    }

    /// Runs one stream: the request through the filter; what the filter lets through to
    /// `upstream`, whose answer goes back through the filter; then `on_log`/`on_done`/
    /// `on_delete`. While the filter holds the stream paused, time passes for real (ticks
    /// fire) for at most `timeout`, and as long as `wanted` (the client is still there).
    pub fn exchange(
        &mut self,
        request: &Request,
        upstream: impl FnOnce(&Message) -> Upstreamed,
        wanted: impl Fn() -> bool,
        timeout: Duration,
    ) -> Result<Outcome, Error> {
        self.catch_up();
        let id = self.plugin.open_stream_for(&self.root_id)?;
        let result = self.drive(id, request, upstream, &wanted, Instant::now() + timeout);
        // Whatever happened, the stream ends as in Envoy (the access log runs) and is forgotten.
        let finished = self.plugin.stream(id).finish();
        self.drain();
        result?;
        finished
    }

    /// A request Envoy answered itself (`refusal`): as in Envoy, the filter's stream context
    /// is still created and its end-of-stream callbacks run (`on_log`, `on_done`,
    /// `on_delete`), with no header or body callback; the access log sees the reply.
    pub fn refused(&mut self, refusal: Refusal, request: Option<&http1::Request>) {
        self.catch_up();
        if let Ok(id) = self.plugin.open_stream_for(&self.root_id) {
            let mut s = self.plugin.stream(id);
            s.direct_reply(
                refusal.request_headers(request),
                refusal.headers(),
                refusal.body.as_bytes().to_vec(),
                refusal.details,
            );
            // A trap here fails the VM, which later streams see; nothing else to report.
            let _ = s.finish();
        }
        self.drain();
    }

    fn drive(
        &mut self,
        id: StreamId,
        request: &Request,
        upstream: impl FnOnce(&Message) -> Upstreamed,
        wanted: &dyn Fn() -> bool,
        deadline: Instant,
    ) -> Result<(), Error> {
        self.plugin.stream(id).send_request(request)?;
        self.wait(id, |s| s.request_complete() || s.answered(), wanted, deadline)?;
        let to_upstream = {
            let mut s = self.plugin.stream(id);
            if s.request_complete() && !s.answered() {
                s.outcome().upstream_request
            } else {
                None
            }
        };
        let Some(sent) = to_upstream else { return Ok(()) };
        let answer = upstream(&sent);
        let mut s = self.plugin.stream(id);
        if answer.complete {
            s.send_response(&answer.response)?;
        } else {
            // The upstream stopped mid-response: what arrived goes through, then nothing more
            // (the stream ends without its end of stream, and the client's connection closes).
            let body = answer.response.chunks.concat();
            s.send_response_headers(answer.response.headers.clone(), false)?;
            if !body.is_empty() {
                s.send_response_body(&body, false)?;
            }
        }
        self.wait(id, |s| s.outcome().paused_at.is_none(), wanted, deadline)
    }

    /// Lets time pass until `done` holds for the stream, the deadline passes or the client
    /// is gone.
    fn wait(
        &mut self,
        id: StreamId,
        done: impl Fn(&mut HttpStream<'_>) -> bool,
        wanted: &dyn Fn() -> bool,
        deadline: Instant,
    ) -> Result<(), Error> {
        while !done(&mut self.plugin.stream(id)) && Instant::now() < deadline && wanted() {
            std::thread::sleep(POLL);
            self.catch_up();
            self.plugin.deliver_pending()?;
        }
        Ok(())
    }

    /// Hands the log lines to the sink, if there is one, and forgets them and the call-outs
    /// (a long-running server keeps no history then).
    fn drain(&mut self) {
        if let Some(sink) = &self.log_sink {
            for line in self.plugin.take_logs() {
                sink(&line);
            }
            self.plugin.take_http_calls();
        }
    }
}
