//! The closed-loop load client: a fixed number of connections, each sending its next request as
//! soon as the previous answer is complete, every latency kept (no coordinated sampling).
//!
//! HTTP/1.1 runs a blocking thread per connection; gRPC runs an h2c connection per task on a
//! small tokio runtime, one call in flight on each. Requests started during the warm-up are not
//! counted.

use std::io::{BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use meshward_testkit::http1::{self, Limits};

use super::stats::Outcome;
use super::workload::{grpc_authority, grpc_headers, Request, GRPC_PATH};
use super::LoadError;

/// Longest wait for one answer before the request counts as failed.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// Status recorded for a gRPC call answered 200 with a non-zero `grpc-status`.
pub const GRPC_FAILED: u16 = 502;

/// When a measurement starts and stops.
#[derive(Clone, Copy, Debug)]
pub struct Window {
    /// End of the warm-up: requests started from here on count.
    pub measure_from: Instant,
    /// No request starts from here on.
    pub end: Instant,
}

impl Window {
    /// A window starting now: `warmup`, then `duration` measured.
    pub fn starting_now(warmup: Duration, duration: Duration) -> Self {
        let measure_from = Instant::now() + warmup;
        Window {
            measure_from,
            end: measure_from + duration,
        }
    }
}

/// Sends `request` to `target` over `connections` connections through `window`.
pub fn run(target: SocketAddr, request: &Request, connections: usize, window: Window) -> Result<Outcome, LoadError> {
    let mut outcome = match request {
        Request::Http1(bytes) => run_http1(target, Arc::new(bytes.clone()), connections, window)?,
        Request::Grpc(message) => run_grpc(target, Bytes::from(message.clone()), connections, window)?,
    };
    outcome.elapsed = window.end.saturating_duration_since(window.measure_from);
    Ok(outcome)
}

fn run_http1(
    target: SocketAddr,
    bytes: Arc<Vec<u8>>,
    connections: usize,
    window: Window,
) -> Result<Outcome, LoadError> {
    let mut threads = Vec::with_capacity(connections);
    for i in 0..connections {
        let bytes = Arc::clone(&bytes);
        let thread = std::thread::Builder::new()
            .name(format!("load-{i}"))
            .spawn(move || http1_connection(target, &bytes, window))
            .map_err(|e| LoadError::io("spawning a client thread", e))?;
        threads.push(thread);
    }
    let mut outcome = Outcome::default();
    for thread in threads {
        let part = thread
            .join()
            .map_err(|_| LoadError::Setup("a client thread panicked".into()))?;
        outcome.merge(part);
    }
    Ok(outcome)
}

/// One connection's loop; reconnects after an error or a `Connection: close` answer.
fn http1_connection(target: SocketAddr, bytes: &[u8], window: Window) -> Outcome {
    let limits = Limits::default();
    let mut outcome = Outcome::default();
    let mut connection: Option<(TcpStream, BufReader<TcpStream>)> = None;
    loop {
        let started = Instant::now();
        if started >= window.end {
            return outcome;
        }
        let counted = started >= window.measure_from;
        if connection.is_none() {
            connection = connect(target);
            if connection.is_none() {
                if counted {
                    outcome.errors += 1;
                }
                std::thread::sleep(Duration::from_millis(10));
                continue;
            }
        }
        let Some((writer, reader)) = connection.as_mut() else {
            continue;
        };
        let answer = writer
            .write_all(bytes)
            .ok()
            .and_then(|()| http1::read_response(reader, "POST", &limits).ok().flatten());
        match answer {
            Some(response) => {
                if counted {
                    record(&mut outcome, started, response.status);
                }
                let close = response
                    .header("connection")
                    .is_some_and(|v| v.eq_ignore_ascii_case("close"));
                if close {
                    connection = None;
                }
            }
            None => {
                if counted {
                    outcome.errors += 1;
                }
                connection = None;
            }
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

fn record(outcome: &mut Outcome, started: Instant, status: u16) {
    let micros = started.elapsed().as_micros();
    outcome.latencies_us.push(u32::try_from(micros).unwrap_or(u32::MAX));
    *outcome.statuses.entry(status).or_default() += 1;
}

fn run_grpc(target: SocketAddr, message: Bytes, connections: usize, window: Window) -> Result<Outcome, LoadError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("load-grpc")
        .enable_all()
        .build()
        .map_err(|e| LoadError::io("starting the gRPC client runtime", e))?;
    let outcome = runtime.block_on(async move {
        let tasks: Vec<_> = (0..connections)
            .map(|_| tokio::spawn(grpc_connection(target, message.clone(), window)))
            .collect();
        let mut outcome = Outcome::default();
        for task in tasks {
            if let Ok(part) = task.await {
                outcome.merge(part);
            }
        }
        outcome
    });
    runtime.shutdown_background();
    Ok(outcome)
}

/// One h2c connection's loop of unary calls; reconnects after an error.
async fn grpc_connection(target: SocketAddr, message: Bytes, window: Window) -> Outcome {
    let mut outcome = Outcome::default();
    let mut client: Option<h2::client::SendRequest<Bytes>> = None;
    loop {
        let started = Instant::now();
        if started >= window.end {
            return outcome;
        }
        let counted = started >= window.measure_from;
        if client.is_none() {
            client = tokio::time::timeout(REQUEST_TIMEOUT, grpc_connect(target))
                .await
                .ok()
                .flatten();
            if client.is_none() {
                if counted {
                    outcome.errors += 1;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        }
        let Some(sender) = client.take() else { continue };
        let call = tokio::time::timeout(REQUEST_TIMEOUT, grpc_call(sender, message.clone())).await;
        match call {
            Ok(Ok((sender, status))) => {
                if counted {
                    record(&mut outcome, started, status);
                }
                client = Some(sender);
            }
            _ => {
                if counted {
                    outcome.errors += 1;
                }
            }
        }
    }
}

async fn grpc_connect(target: SocketAddr) -> Option<h2::client::SendRequest<Bytes>> {
    let socket = tokio::net::TcpStream::connect(target).await.ok()?;
    socket.set_nodelay(true).ok()?;
    let (client, connection) = h2::client::handshake(socket).await.ok()?;
    tokio::spawn(connection);
    Some(client)
}

/// One unary call; returns the sender for the next and the status to record.
async fn grpc_call(
    sender: h2::client::SendRequest<Bytes>,
    message: Bytes,
) -> Result<(h2::client::SendRequest<Bytes>, u16), h2::Error> {
    let mut sender = sender.ready().await?;
    let mut request = http::Request::builder()
        .method("POST")
        .uri(format!("http://{}{GRPC_PATH}", grpc_authority()));
    for (name, value) in grpc_headers() {
        request = request.header(name, value);
    }
    let Ok(request) = request.body(()) else {
        return Ok((sender, GRPC_FAILED));
    };
    let (response, mut body_out) = sender.send_request(request, false)?;
    body_out.send_data(message, true)?;
    Ok((sender, answer_status(response, true).await?))
}

/// The status to record for an HTTP/2 answer, its body read to the end: `GRPC_FAILED` for a
/// gRPC call (`grpc`) answered 200 without `grpc-status: 0`.
pub async fn answer_status(response: h2::client::ResponseFuture, grpc: bool) -> Result<u16, h2::Error> {
    let response = response.await?;
    let status = response.status().as_u16();
    // A trailers-only answer (e.g. a proxy's refusal) has `grpc-status` in the headers.
    let mut grpc_status = response.headers().get("grpc-status").cloned();
    let mut body = response.into_body();
    while let Some(chunk) = body.data().await {
        let chunk = chunk?;
        let _ = body.flow_control().release_capacity(chunk.len());
    }
    if let Some(trailers) = body.trailers().await? {
        grpc_status = trailers.get("grpc-status").cloned().or(grpc_status);
    }
    let ok = grpc_status.is_some_and(|s| s.as_bytes() == b"0");
    Ok(if grpc && status == 200 && !ok {
        GRPC_FAILED
    } else {
        status
    })
}
