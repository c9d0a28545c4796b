//! The raw imports and their status-returning wrappers (wasm32 only).

#![allow(clashing_extern_declarations)]

use std::ptr::null_mut;

const OK: u32 = 0;
const NOT_FOUND: u32 = 1;
const METRIC_COUNTER: u32 = 0;

#[link(wasm_import_module = "env")]
extern "C" {
    fn proxy_log(level: u32, message_data: *const u8, message_size: usize) -> u32;
    fn proxy_get_header_map_pairs(map_type: u32, return_data: *mut *mut u8, return_size: *mut usize) -> u32;
    fn proxy_get_buffer_bytes(
        buffer_type: u32,
        start: usize,
        max_size: usize,
        return_data: *mut *mut u8,
        return_size: *mut usize,
    ) -> u32;
    fn proxy_get_property(
        path_data: *const u8,
        path_size: usize,
        return_data: *mut *mut u8,
        return_size: *mut usize,
    ) -> u32;
    #[allow(clippy::too_many_arguments)]
    fn proxy_send_local_response(
        status_code: u32,
        details_data: *const u8,
        details_size: usize,
        body_data: *const u8,
        body_size: usize,
        headers_data: *const u8,
        headers_size: usize,
        grpc_status: i32,
    ) -> u32;
    fn proxy_define_metric(metric_type: u32, name_data: *const u8, name_size: usize, return_id: *mut u32) -> u32;
    fn proxy_increment_metric(metric_id: u32, offset: i64) -> u32;
    fn proxy_get_current_time_nanoseconds(return_time: *mut u64) -> u32;
}

/// Takes ownership of a host-returned buffer (allocated through `proxy_on_memory_allocate`).
unsafe fn owned(data: *mut u8, size: usize) -> Vec<u8> {
    if data.is_null() {
        Vec::new()
    } else {
        Vec::from_raw_parts(data, size, size)
    }
}

/// Writes a log line; a failing log call is ignored (there is nowhere else to report it).
pub fn log(level: u32, message: &str) {
    unsafe {
        proxy_log(level, message.as_ptr(), message.len());
    }
}

/// All pairs of a header map (names as the host gives them), or the host's status
/// (`u32::MAX` for a malformed map).
pub fn header_pairs(map_type: u32) -> Result<Vec<(Vec<u8>, Vec<u8>)>, u32> {
    let mut data = null_mut();
    let mut size = 0usize;
    let status = unsafe { proxy_get_header_map_pairs(map_type, &mut data, &mut size) };
    // Owned even on error, so anything the host handed over is freed.
    let bytes = unsafe { owned(data, size) };
    if status != OK {
        return Err(status);
    }
    crate::pairs::decode(&bytes).ok_or(u32::MAX)
}

/// Bytes `[start, start+max)` of a buffer (clamped by the host), or the host's status.
pub fn buffer(buffer_type: u32, start: usize, max: usize) -> Result<Vec<u8>, u32> {
    let mut data = null_mut();
    let mut size = 0usize;
    let status = unsafe { proxy_get_buffer_bytes(buffer_type, start, max, &mut data, &mut size) };
    let bytes = unsafe { owned(data, size) };
    match status {
        OK => Ok(bytes),
        NOT_FOUND => Ok(Vec::new()),
        s => Err(s),
    }
}

/// An Envoy attribute (`["source", "address"]`), or `None` when absent or unreadable.
pub fn property(path: &[&str]) -> Option<Vec<u8>> {
    let encoded = path.join("\0");
    let mut data = null_mut();
    let mut size = 0usize;
    let status = unsafe { proxy_get_property(encoded.as_ptr(), encoded.len(), &mut data, &mut size) };
    let bytes = unsafe { owned(data, size) };
    (status == OK && !data.is_null()).then_some(bytes)
}

/// An attribute as UTF-8 text (lossy), `None` when absent or empty.
pub fn property_text(path: &[&str]) -> Option<String> {
    property(path)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .filter(|s| !s.is_empty())
}

/// Sends a local reply; returns the host's status on failure.
pub fn send_local_response(status: u16, headers: &[(&str, &str)], body: &[u8], details: &str) -> Result<(), u32> {
    let encoded = crate::pairs::encode(headers);
    let s = unsafe {
        proxy_send_local_response(
            u32::from(status),
            details.as_ptr(),
            details.len(),
            body.as_ptr(),
            body.len(),
            encoded.as_ptr(),
            encoded.len(),
            -1,
        )
    };
    if s == OK {
        Ok(())
    } else {
        Err(s)
    }
}

/// Defines a counter, returning its id or the host's status.
pub fn define_counter(name: &str) -> Result<u32, u32> {
    let mut id = 0u32;
    let s = unsafe { proxy_define_metric(METRIC_COUNTER, name.as_ptr(), name.len(), &mut id) };
    if s == OK {
        Ok(id)
    } else {
        Err(s)
    }
}

/// Adds one to a counter (errors ignored: a lost count must never fail a request).
pub fn increment(id: u32) {
    unsafe {
        proxy_increment_metric(id, 1);
    }
}

/// Host wall-clock time in ns since the Unix epoch (0 if unavailable).
pub fn now_nanos() -> u64 {
    let mut t = 0u64;
    let s = unsafe { proxy_get_current_time_nanoseconds(&mut t) };
    if s == OK {
        t
    } else {
        0
    }
}
