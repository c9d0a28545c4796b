//! The upstream every configuration forwards to: HTTP/1.1 (a thread per connection) answering
//! the bench's HTML page, and h2c (gRPC) answering one message and `grpc-status: 0`. It records
//! nothing, so its cost stays the same through a long run.

use std::collections::HashMap;
use std::io::{BufReader, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use bytes::Bytes;
use meshward_testkit::http1::{self, Frame, Limits};

use super::proxy::UpstreamAddrs;
use super::workload::{grpc_frame, search_message};
use super::LoadError;
use crate::requests::html_response;

/// The running upstream; stops when dropped.
pub struct Upstream {
    addrs: UpstreamAddrs,
    stop: Arc<AtomicBool>,
    connections: Arc<Connections>,
    accept: Option<JoinHandle<()>>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl Upstream {
    /// Listens on two free 127.0.0.1 ports (HTTP/1.1 and h2c).
    pub fn start() -> Result<Upstream, LoadError> {
        let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| LoadError::io("binding the upstream", e))?;
        let http1 = listener
            .local_addr()
            .map_err(|e| LoadError::io("reading the upstream address", e))?;
        listener
            .set_nonblocking(true)
            .map_err(|e| LoadError::io("making the upstream socket non-blocking", e))?;
        let stop = Arc::new(AtomicBool::new(false));
        let connections = Arc::new(Connections::default());
        let answer = Arc::new(html_response().to_bytes(Frame::Length));
        let accept = {
            let (stop, connections) = (Arc::clone(&stop), Arc::clone(&connections));
            std::thread::Builder::new()
                .name("upstream-http1".into())
                .spawn(move || accept_http1(&listener, &stop, &connections, &answer))
                .map_err(|e| LoadError::io("spawning the upstream thread", e))?
        };
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("upstream-h2c")
            .enable_all()
            .build()
            .map_err(|e| LoadError::io("starting the h2c upstream runtime", e))?;
        let h2_listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .map_err(|e| LoadError::io("binding the h2c upstream", e))?;
        let h2c = h2_listener
            .local_addr()
            .map_err(|e| LoadError::io("reading the h2c upstream address", e))?;
        runtime.spawn(accept_h2c(h2_listener));
        Ok(Upstream {
            addrs: UpstreamAddrs { http1, h2c },
            stop,
            connections,
            accept: Some(accept),
            runtime: Some(runtime),
        })
    }

    /// Where it listens.
    pub fn addrs(&self) -> UpstreamAddrs {
        self.addrs
    }
}

impl Drop for Upstream {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
        for (_, stream) in self
            .connections
            .open
            .lock()
            .map(|mut c| std::mem::take(&mut *c))
            .unwrap_or_default()
        {
            let _ = stream.shutdown(Shutdown::Both);
        }
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// The open HTTP/1.1 connections (a clone of each, to shut them down on drop), by id: a
/// connection leaves when its thread ends, so a long run (the soak) does not keep a descriptor
/// per connection it ever accepted.
#[derive(Default)]
struct Connections {
    next: AtomicU64,
    open: Mutex<HashMap<u64, TcpStream>>,
}

fn accept_http1(listener: &TcpListener, stop: &AtomicBool, connections: &Arc<Connections>, answer: &Arc<Vec<u8>>) {
    while !stop.load(Ordering::SeqCst) {
        match listener.accept() {
            Ok((stream, _)) => {
                let _ = stream.set_nonblocking(false);
                let _ = stream.set_nodelay(true);
                let Ok(registered) = stream.try_clone() else { continue };
                let id = connections.next.fetch_add(1, Ordering::Relaxed);
                if let Ok(mut open) = connections.open.lock() {
                    open.insert(id, registered);
                }
                let answer = Arc::clone(answer);
                let connections = Arc::clone(connections);
                // Detached: the thread ends when its connection closes (or is shut down on drop).
                let _ = std::thread::Builder::new().name("upstream-conn".into()).spawn(move || {
                    serve_http1(stream, &answer);
                    if let Ok(mut open) = connections.open.lock() {
                        open.remove(&id);
                    }
                });
            }
            Err(_) => std::thread::sleep(Duration::from_millis(5)),
        }
    }
}

fn serve_http1(stream: TcpStream, answer: &[u8]) {
    let Ok(mut writer) = stream.try_clone() else { return };
    let mut reader = BufReader::new(stream);
    let limits = Limits::default();
    while let Ok(Some((mut request, head_len))) = http1::read_request_head(&mut reader, &limits) {
        if http1::read_request_body(&mut reader, &mut request, head_len, &limits).is_err()
            || writer.write_all(answer).is_err()
        {
            break;
        }
    }
    let _ = writer.shutdown(Shutdown::Both);
}

async fn accept_h2c(listener: tokio::net::TcpListener) {
    let answer = Bytes::from(grpc_frame(&search_reply()));
    while let Ok((socket, _)) = listener.accept().await {
        let _ = socket.set_nodelay(true);
        tokio::spawn(serve_h2c(socket, answer.clone()));
    }
}

async fn serve_h2c(socket: tokio::net::TcpStream, answer: Bytes) {
    let Ok(mut connection) = h2::server::handshake(socket).await else {
        return;
    };
    while let Some(Ok((request, respond))) = connection.accept().await {
        tokio::spawn(answer_call(request, respond, answer.clone()));
    }
}

/// Reads the call's message, answers with `answer` and `grpc-status: 0`.
async fn answer_call(
    request: http::Request<h2::RecvStream>,
    mut respond: h2::server::SendResponse<Bytes>,
    answer: Bytes,
) -> Result<(), h2::Error> {
    let mut body = request.into_body();
    while let Some(chunk) = body.data().await {
        let chunk = chunk?;
        let _ = body.flow_control().release_capacity(chunk.len());
    }
    let mut response = http::Response::new(());
    response
        .headers_mut()
        .insert("content-type", http::HeaderValue::from_static("application/grpc"));
    let mut stream = respond.send_response(response, false)?;
    stream.send_data(answer, false)?;
    let mut trailers = http::HeaderMap::new();
    trailers.insert("grpc-status", http::HeaderValue::from_static("0"));
    stream.send_trailers(trailers)
}

/// The `SearchResponse` the upstream returns: the request's message repeated as three results.
fn search_reply() -> Vec<u8> {
    let item = search_message();
    let mut out = Vec::new();
    for _ in 0..3 {
        out.push(1 << 3 | 2);
        out.push(item.len() as u8);
        out.extend_from_slice(&item);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn closed_connections_leave_the_register() {
        let upstream = Upstream::start().unwrap();
        let addr = upstream.addrs().http1;
        for _ in 0..50 {
            let mut c = TcpStream::connect(addr).unwrap();
            c.write_all(b"GET / HTTP/1.1\r\nhost: a\r\n\r\n").unwrap();
            let mut first = [0u8; 12];
            c.read_exact(&mut first).unwrap();
            assert_eq!(&first, b"HTTP/1.1 200");
        }
        // Each connection's thread ends once the client has closed it.
        let open = || upstream.connections.open.lock().unwrap().len();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while open() > 0 && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(open(), 0);
    }
}
