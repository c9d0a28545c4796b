//! The host calls, each status a value (wasm32 only).
//!
//! Every call that returns bytes gets them in a buffer the host allocated through the module's
//! `proxy_on_memory_allocate` (the SDK's, linked into every filter: a boxed `[u8]` of exactly
//! the requested size) and handed over; [`take`] turns it back into an owned `Vec`, so it is
//! freed once, whatever the status.

use std::ptr::{null, null_mut};
use std::time::Duration;

use meshward_abi::pairs::{self, Pair};
use meshward_abi::{BufferType, LogLevel, MapType, MetricType, Status};

use crate::encoding;
use crate::imports;
use crate::status::{absent_as_none, check};

/// Takes ownership of a buffer the host handed over (none when `data` is null).
///
/// # Safety
/// `data` must be null, or point to `size` bytes the host allocated through
/// `proxy_on_memory_allocate(size)` and gave to the module, not owned by anything else.
unsafe fn take(data: *mut u8, size: usize) -> Vec<u8> {
    if data.is_null() {
        Vec::new()
    } else {
        // SAFETY: per this function's contract the allocation is the global allocator's, of
        // exactly `size` bytes (a boxed slice: capacity = length = `size`), all written by the
        // host, and nothing else owns it.
        unsafe { Vec::from_raw_parts(data, size, size) }
    }
}

/// A call that returns bytes: runs `call` with the two out-parameters and takes what the host
/// put there, even on failure, so nothing it handed over leaks.
fn with_returned_bytes(call: impl FnOnce(*mut *mut u8, *mut usize) -> u32) -> (u32, Option<Vec<u8>>) {
    let mut data = null_mut();
    let mut size = 0usize;
    let code = call(&raw mut data, &raw mut size);
    let returned = !data.is_null();
    // SAFETY: the host either left `data` null or set `data`/`size` to a buffer it allocated
    // through `proxy_on_memory_allocate(size)` and handed to us (the ABI's contract for every
    // `return_data`/`return_size` pair); it is taken exactly once, here.
    let bytes = unsafe { take(data, size) };
    (code, returned.then_some(bytes))
}

/// Writes a log line.
pub fn log(level: LogLevel, message: &str) -> Result<(), Status> {
    // SAFETY: pointer and length describe `message`, borrowed for the whole call; the host only
    // reads it.
    check(unsafe { imports::proxy_log(level.code(), message.as_ptr(), message.len()) })
}

/// All pairs of a header map (names as the host gives them). A map the strict decoder refuses
/// is [`Status::ParseFailure`].
pub fn header_pairs(map: MapType) -> Result<Vec<Pair>, Status> {
    // SAFETY: the out-pointers are the live locals `with_returned_bytes` passes, which the host
    // writes a buffer address and length into.
    let (code, bytes) =
        with_returned_bytes(|data, size| unsafe { imports::proxy_get_header_map_pairs(map.code(), data, size) });
    check(code)?;
    encoding::header_map(&bytes.unwrap_or_default())
}

/// Bytes `[start, start+max)` of a buffer (clamped by the host); an absent buffer is empty.
pub fn buffer(buffer: BufferType, start: usize, max: usize) -> Result<Vec<u8>, Status> {
    // SAFETY: as in `header_pairs`: the out-pointers are live locals the host writes into.
    let (code, bytes) = with_returned_bytes(|data, size| unsafe {
        imports::proxy_get_buffer_bytes(buffer.code(), start, max, data, size)
    });
    Ok(absent_as_none(check(code))?.and(bytes).unwrap_or_default())
}

/// The whole plugin configuration (read in `on_configure`); none configured is empty.
pub fn plugin_configuration() -> Result<Vec<u8>, Status> {
    // The host clamps the length to what there is, as for every buffer.
    buffer(BufferType::PluginConfiguration, 0, usize::MAX)
}

/// An Envoy attribute (`["source", "address"]`); `None` when absent.
pub fn property(path: &[&str]) -> Result<Option<Vec<u8>>, Status> {
    let path = encoding::property_path(path);
    // SAFETY: pointer and length describe `path`, alive for the call; the out-pointers are live
    // locals the host writes into.
    let (code, bytes) =
        with_returned_bytes(|data, size| unsafe { imports::proxy_get_property(path.as_ptr(), path.len(), data, size) });
    // An `Ok` with no buffer is as absent as `NotFound`.
    Ok(absent_as_none(check(code))?.and(bytes))
}

/// An attribute as UTF-8 text (lossy); `None` when absent or empty.
pub fn property_text(path: &[&str]) -> Result<Option<String>, Status> {
    Ok(property(path)?.and_then(|bytes| encoding::nonempty_text(&bytes)))
}

/// Sends a local reply.
pub fn send_local_response(status: u16, headers: &[(&str, &str)], body: &[u8], details: &str) -> Result<(), Status> {
    let headers = pairs::encode(headers);
    // SAFETY: each pointer/length pair describes a live borrowed slice (`details`, `body`, the
    // encoded `headers`) that the host only reads during the call.
    check(unsafe {
        imports::proxy_send_local_response(
            u32::from(status),
            details.as_ptr(),
            details.len(),
            body.as_ptr(),
            body.len(),
            headers.as_ptr(),
            headers.len(),
            // No gRPC status: a plain HTTP reply.
            -1,
        )
    })
}

/// Dispatches an http call to `upstream` (a cluster), returning its token.
///
/// The response comes back through `proxy_on_http_call_response`, which the filter must own:
/// the SDK's dispatcher panics on a token it did not issue itself.
pub fn http_call(
    upstream: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
    trailers: &[(&str, &str)],
    timeout: Duration,
) -> Result<u32, Status> {
    let headers = pairs::encode(headers);
    let trailers = pairs::encode(trailers);
    let (body_data, body_size) = body.map_or((null(), 0), |b| (b.as_ptr(), b.len()));
    let mut token = 0u32;
    // SAFETY: each pointer/length pair describes a live borrowed slice (`upstream`, the encoded
    // maps, `body`) or is (null, 0) for no body, all only read during the call; `token` is a
    // live local the host writes into.
    check(unsafe {
        imports::proxy_http_call(
            upstream.as_ptr(),
            upstream.len(),
            headers.as_ptr(),
            headers.len(),
            body_data,
            body_size,
            trailers.as_ptr(),
            trailers.len(),
            encoding::timeout_ms(timeout),
            &mut token,
        )
    })?;
    Ok(token)
}

/// Defines a counter, returning its id.
pub fn define_counter(name: &str) -> Result<u32, Status> {
    let mut id = 0u32;
    // SAFETY: pointer and length describe `name`, alive for the call; `id` is a live local the
    // host writes into.
    check(unsafe { imports::proxy_define_metric(MetricType::Counter.code(), name.as_ptr(), name.len(), &mut id) })?;
    Ok(id)
}

/// Defines a gauge, returning its id.
pub fn define_gauge(name: &str) -> Result<u32, Status> {
    let mut id = 0u32;
    // SAFETY: pointer and length describe `name`, alive for the call; `id` is a live local the
    // host writes into.
    check(unsafe { imports::proxy_define_metric(MetricType::Gauge.code(), name.as_ptr(), name.len(), &mut id) })?;
    Ok(id)
}

/// Sets a gauge to `value`.
pub fn set_gauge(id: u32, value: u64) -> Result<(), Status> {
    // SAFETY: plain values only: no memory is shared with the host.
    check(unsafe { imports::proxy_record_metric(id, value) })
}

/// Adds one to a counter.
pub fn increment(id: u32) -> Result<(), Status> {
    // SAFETY: plain values only: no memory is shared with the host.
    check(unsafe { imports::proxy_increment_metric(id, 1) })
}

/// Host wall-clock time in ns since the Unix epoch.
pub fn now_nanos() -> Result<u64, Status> {
    let mut time = 0u64;
    // SAFETY: `time` is a live local the host writes into.
    check(unsafe { imports::proxy_get_current_time_nanoseconds(&mut time) })?;
    Ok(time)
}

/// Asks the host to call the root context's `on_tick` every `period` (milliseconds, saturating;
/// zero stops the ticks).
pub fn set_tick_period(period: Duration) -> Result<(), Status> {
    // SAFETY: plain values only: no memory is shared with the host.
    check(unsafe { imports::proxy_set_tick_period_milliseconds(encoding::timeout_ms(period)) })
}

/// A shared-data value and its CAS token; `None` when the key was never set.
pub fn shared_data(key: &str) -> Result<Option<(Vec<u8>, u32)>, Status> {
    let mut cas = 0u32;
    // SAFETY: pointer and length describe `key`, alive for the call; the out-pointers are live
    // locals the host writes a buffer address, length and token into.
    let (code, bytes) = with_returned_bytes(|data, size| unsafe {
        imports::proxy_get_shared_data(key.as_ptr(), key.len(), data, size, &mut cas)
    });
    // An empty value may come back with no buffer at all: it is still a value.
    Ok(absent_as_none(check(code))?.map(|()| (bytes.unwrap_or_default(), cas)))
}

/// Sets a shared-data value. A non-zero `cas` must be the value's current token
/// ([`Status::CasMismatch`] otherwise); zero sets it unconditionally (Envoy's meaning).
pub fn set_shared_data(key: &str, value: &[u8], cas: u32) -> Result<(), Status> {
    // SAFETY: each pointer/length pair describes a live borrowed slice the host only reads.
    check(unsafe { imports::proxy_set_shared_data(key.as_ptr(), key.len(), value.as_ptr(), value.len(), cas) })
}
