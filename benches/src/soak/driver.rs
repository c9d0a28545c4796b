//! The paced client: HTTP/1.1 connections (a thread each) and h2c connections (a task each on a
//! small tokio runtime), each sending its share of the rate on a fixed schedule and cycling
//! through its protocol's kinds. Every answer is tallied into the current interval.

use std::collections::BTreeMap;
use std::io::{BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bytes::Bytes;
use meshward_testkit::http1::{self, Limits};

use super::traffic::{http2_headers, Kind};
use super::SoakError;
use crate::load::client::answer_status;
use crate::requests::HOST;

/// Longest wait for one answer before the request counts as failed.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// HTTP/1.1 connections.
pub const HTTP1_CONNECTIONS: usize = 4;
/// h2c connections (one request in flight on each).
pub const HTTP2_CONNECTIONS: usize = 2;

/// What the client saw since the last sample.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Tally {
    /// Latency of every answered request, in microseconds.
    pub latencies_us: Vec<u32>,
    /// Requests sent (answered or not).
    pub requests: u64,
    /// Requests not answered, or answered with another status than their kind expects.
    pub errors: u64,
    /// The errors by kind and what happened instead (`got 200`, `no answer`).
    pub unexpected: BTreeMap<String, u64>,
}

impl Tally {
    fn record(&mut self, kind: &Kind, started: Instant, status: Option<u16>) {
        self.requests += 1;
        if status.is_some() {
            let micros = started.elapsed().as_micros();
            self.latencies_us.push(u32::try_from(micros).unwrap_or(u32::MAX));
        }
        if status != Some(kind.expected) {
            self.errors += 1;
            let what = status.map_or_else(|| "no answer".to_string(), |s| format!("got {s}"));
            *self.unexpected.entry(format!("{}: {what}", kind.name)).or_default() += 1;
        }
    }
}

/// The running client; [`Driver::stop`] ends it.
pub struct Driver {
    tally: Arc<Mutex<Tally>>,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl Driver {
    /// Starts sending `rate` requests per second to `target`, spread evenly over the
    /// connections, HTTP/1.1 connections cycling through `http1` and h2c ones through `http2`.
    pub fn start(target: SocketAddr, rate: f64, http1: Vec<Kind>, http2: Vec<Kind>) -> Result<Driver, SoakError> {
        let connections = HTTP1_CONNECTIONS + HTTP2_CONNECTIONS;
        let period = Duration::from_secs_f64(connections as f64 / rate);
        let tally = Arc::new(Mutex::new(Tally::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let start = Instant::now();
        let http1 = Arc::new(http1);
        let mut threads = Vec::new();
        for i in 0..HTTP1_CONNECTIONS {
            // Connections start a fraction of a period apart, so the requests are spread evenly.
            let schedule = Schedule::new(start + period.mul_f64(i as f64 / connections as f64), period);
            let worker = Worker {
                target,
                kinds: Arc::clone(&http1),
                first_kind: i,
                tally: Arc::clone(&tally),
                stop: Arc::clone(&stop),
            };
            let thread = std::thread::Builder::new()
                .name(format!("soak-h1-{i}"))
                .spawn(move || http1_connection(&worker, schedule))
                .map_err(|e| SoakError::io("spawning a client thread", e))?;
            threads.push(thread);
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("soak-h2c")
            .enable_all()
            .build()
            .map_err(|e| SoakError::io("starting the h2c client runtime", e))?;
        let http2 = Arc::new(http2);
        for i in 0..HTTP2_CONNECTIONS {
            let offset = (HTTP1_CONNECTIONS + i) as f64 / connections as f64;
            let schedule = Schedule::new(start + period.mul_f64(offset), period);
            let worker = Worker {
                target,
                kinds: Arc::clone(&http2),
                first_kind: i,
                tally: Arc::clone(&tally),
                stop: Arc::clone(&stop),
            };
            runtime.spawn(http2_connection(worker, schedule));
        }
        Ok(Driver {
            tally,
            stop,
            threads,
            runtime: Some(runtime),
        })
    }

    /// What was tallied since the last call.
    pub fn take(&self) -> Tally {
        self.tally
            .lock()
            .map(|mut t| std::mem::take(&mut *t))
            .unwrap_or_default()
    }

    /// Stops every connection and returns what was tallied since the last [`Driver::take`].
    pub fn stop(mut self) -> Tally {
        self.halt();
        self.take()
    }

    fn halt(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_timeout(REQUEST_TIMEOUT);
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        self.halt();
    }
}

/// When a connection sends its next request: every `period` from `next`. A connection that
/// falls behind (an answer slower than its period) sends at once and does not make up the lost
/// requests in a burst.
struct Schedule {
    next: Instant,
    period: Duration,
}

impl Schedule {
    fn new(first: Instant, period: Duration) -> Self {
        Schedule { next: first, period }
    }

    /// The time of the next request, and moves on.
    fn advance(&mut self) -> Instant {
        let now = Instant::now();
        let at = self.next.max(now);
        self.next = at + self.period;
        at
    }
}

/// What one connection needs.
struct Worker {
    target: SocketAddr,
    kinds: Arc<Vec<Kind>>,
    first_kind: usize,
    tally: Arc<Mutex<Tally>>,
    stop: Arc<AtomicBool>,
}

impl Worker {
    fn stopped(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    fn kind(&self, n: usize) -> Option<&Kind> {
        let len = self.kinds.len();
        (len > 0).then(|| self.kinds.get((self.first_kind + n) % len)).flatten()
    }

    fn record(&self, kind: &Kind, started: Instant, status: Option<u16>) {
        if let Ok(mut tally) = self.tally.lock() {
            tally.record(kind, started, status);
        }
    }
}

/// Sleeps until `at` in short steps, so that a stop is seen; false when stopped.
fn sleep_until(worker: &Worker, at: Instant) -> bool {
    loop {
        if worker.stopped() {
            return false;
        }
        let now = Instant::now();
        if now >= at {
            return true;
        }
        std::thread::sleep((at - now).min(Duration::from_millis(100)));
    }
}

fn http1_connection(worker: &Worker, mut schedule: Schedule) {
    let limits = Limits::default();
    let mut connection: Option<(TcpStream, BufReader<TcpStream>)> = None;
    for n in 0.. {
        if !sleep_until(worker, schedule.advance()) {
            return;
        }
        let Some(kind) = worker.kind(n) else { return };
        let started = Instant::now();
        if connection.is_none() {
            connection = connect(worker.target);
        }
        let answer = connection.as_mut().and_then(|(writer, reader)| {
            writer.write_all(&kind.wire).ok().and_then(|()| {
                http1::read_response(reader, &kind.request.method, &limits)
                    .ok()
                    .flatten()
            })
        });
        worker.record(kind, started, answer.as_ref().map(|r| r.status));
        let keep = answer.is_some_and(|r| !r.header("connection").is_some_and(|v| v.eq_ignore_ascii_case("close")));
        if !keep {
            connection = None;
        }
    }
}

fn connect(target: SocketAddr) -> Option<(TcpStream, BufReader<TcpStream>)> {
    let stream = TcpStream::connect_timeout(&target, REQUEST_TIMEOUT).ok()?;
    stream.set_nodelay(true).ok()?;
    stream.set_read_timeout(Some(REQUEST_TIMEOUT)).ok()?;
    stream.set_write_timeout(Some(REQUEST_TIMEOUT)).ok()?;
    let reader = BufReader::with_capacity(64 * 1024, stream.try_clone().ok()?);
    Some((stream, reader))
}

async fn http2_connection(worker: Worker, mut schedule: Schedule) {
    let mut client: Option<h2::client::SendRequest<Bytes>> = None;
    for n in 0.. {
        let at = schedule.advance();
        while !worker.stopped() && Instant::now() < at {
            let left = at.saturating_duration_since(Instant::now());
            tokio::time::sleep(left.min(Duration::from_millis(100))).await;
        }
        if worker.stopped() {
            return;
        }
        let Some(kind) = worker.kind(n) else { return };
        let started = Instant::now();
        if client.is_none() {
            client = tokio::time::timeout(REQUEST_TIMEOUT, http2_connect(worker.target))
                .await
                .ok()
                .flatten();
        }
        let mut status = None;
        if let Some(sender) = client.take() {
            if let Ok(Ok((sender, got))) = tokio::time::timeout(REQUEST_TIMEOUT, http2_send(sender, kind)).await {
                status = Some(got);
                client = Some(sender);
            }
        }
        worker.record(kind, started, status);
    }
}

async fn http2_connect(target: SocketAddr) -> Option<h2::client::SendRequest<Bytes>> {
    let socket = tokio::net::TcpStream::connect(target).await.ok()?;
    socket.set_nodelay(true).ok()?;
    let (client, connection) = h2::client::handshake(socket).await.ok()?;
    tokio::spawn(connection);
    Some(client)
}

/// One request on an h2c connection; returns the sender for the next and the status.
async fn http2_send(
    sender: h2::client::SendRequest<Bytes>,
    kind: &Kind,
) -> Result<(h2::client::SendRequest<Bytes>, u16), h2::Error> {
    let mut sender = sender.ready().await?;
    let mut builder = http::Request::builder()
        .method(kind.request.method.as_str())
        .uri(format!("http://{HOST}{}", kind.request.target));
    for (name, value) in http2_headers(&kind.request) {
        builder = builder.header(name, value);
    }
    let Ok(request) = builder.body(()) else {
        return Ok((sender, 0));
    };
    let body = &kind.request.body;
    let (response, mut body_out) = sender.send_request(request, body.is_empty())?;
    if !body.is_empty() {
        body_out.send_data(Bytes::copy_from_slice(body), true)?;
    }
    Ok((sender, answer_status(response, kind.grpc).await?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::soak::traffic::http1_kinds;

    #[test]
    fn a_tally_counts_unexpected_statuses_and_missing_answers() {
        let kinds = http1_kinds();
        let (benign, attack) = (&kinds[0], &kinds[1]);
        let mut t = Tally::default();
        let now = Instant::now();
        t.record(benign, now, Some(200));
        t.record(attack, now, Some(403));
        t.record(attack, now, Some(200));
        t.record(benign, now, None);
        assert_eq!((t.requests, t.errors, t.latencies_us.len()), (4, 2, 3));
        assert_eq!(t.unexpected.get(&format!("{}: got 200", attack.name)), Some(&1));
        assert_eq!(t.unexpected.get(&format!("{}: no answer", benign.name)), Some(&1));
    }

    #[test]
    fn a_late_schedule_does_not_burst() {
        let start = Instant::now() - Duration::from_secs(10);
        let mut s = Schedule::new(start, Duration::from_millis(100));
        let first = s.advance();
        assert!(
            first >= start + Duration::from_secs(9),
            "late: now, not the missed slot"
        );
        assert_eq!(s.advance(), first + Duration::from_millis(100));
    }
}
