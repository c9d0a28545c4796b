//! The few proxy-wasm host calls the filter makes, as raw imports whose every status is
//! returned to the caller: the SDK's wrappers panic on statuses they do not expect (Envoy
//! answers BadArgument for a header map outside its callback), and no panic is allowed on the
//! request path.

#![allow(clashing_extern_declarations)]

use std::ptr::null_mut;

/// `proxy_log` levels.
pub const LOG_INFO: u32 = 2;
/// Error level.
pub const LOG_ERROR: u32 = 4;

/// Header map types.
pub const REQUEST_HEADERS: u32 = 0;
/// Response header map.
pub const RESPONSE_HEADERS: u32 = 2;

/// Buffer types.
pub const REQUEST_BODY: u32 = 0;
/// Response body buffer.
pub const RESPONSE_BODY: u32 = 1;
/// Plugin configuration buffer.
pub const PLUGIN_CONFIGURATION: u32 = 7;

const OK: u32 = 0;
const NOT_FOUND: u32 = 1;

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
    if data.is_null() || size == 0 {
        if !data.is_null() {
            drop(Vec::from_raw_parts(data, 0, 0));
        }
        return Vec::new();
    }
    Vec::from_raw_parts(data, size, size)
}

/// Writes a log line; a failing log call is ignored (there is nowhere else to report it).
pub fn log(level: u32, message: &str) {
    unsafe {
        proxy_log(level, message.as_ptr(), message.len());
    }
}

/// All pairs of a header map, or the host's status.
pub fn header_pairs(map_type: u32) -> Result<Vec<(Vec<u8>, Vec<u8>)>, u32> {
    let mut data = null_mut();
    let mut size = 0usize;
    let status = unsafe { proxy_get_header_map_pairs(map_type, &mut data, &mut size) };
    if status != OK {
        return Err(status);
    }
    let bytes = unsafe { owned(data, size) };
    Ok(decode_pairs(&bytes).unwrap_or_default())
}

/// Bytes `[start, start+max)` of a buffer (clamped by the host), or the host's status.
pub fn buffer(buffer_type: u32, start: usize, max: usize) -> Result<Vec<u8>, u32> {
    let mut data = null_mut();
    let mut size = 0usize;
    let status = unsafe { proxy_get_buffer_bytes(buffer_type, start, max, &mut data, &mut size) };
    match status {
        OK => Ok(unsafe { owned(data, size) }),
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
    if status != OK {
        return None;
    }
    Some(unsafe { owned(data, size) })
}

/// An attribute as UTF-8 text.
pub fn property_text(path: &[&str]) -> Option<String> {
    property(path)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .filter(|s| !s.is_empty())
}

/// Sends a local reply; returns the host's status on failure.
pub fn send_local_response(status: u16, headers: &[(&str, &str)], body: &[u8], details: &str) -> Result<(), u32> {
    let encoded = encode_pairs(headers);
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

/// Defines a counter, returning its id.
pub fn define_counter(name: &str) -> Result<u32, u32> {
    let mut id = 0u32;
    let s = unsafe { proxy_define_metric(0, name.as_ptr(), name.len(), &mut id) };
    if s == OK {
        Ok(id)
    } else {
        Err(s)
    }
}

/// Adds one to a counter (errors ignored: a metric must never fail a request).
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

/// Decodes the proxy-wasm pair encoding: count, (key len, value len)*, then NUL-terminated
/// keys and values; `None` when malformed.
fn decode_pairs(bytes: &[u8]) -> Option<Vec<(Vec<u8>, Vec<u8>)>> {
    let word = |at: usize| -> Option<usize> {
        let b = bytes.get(at..at + 4)?;
        Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
    };
    let count = word(0)?;
    // Each pair needs 8 size bytes: a count the buffer cannot hold is malformed.
    if count > bytes.len() / 8 {
        return None;
    }
    let mut sizes = Vec::with_capacity(count);
    for i in 0..count {
        sizes.push((word(4 + i * 8)?, word(8 + i * 8)?));
    }
    let mut at = count.checked_mul(8)?.checked_add(4)?;
    let mut out = Vec::with_capacity(sizes.len());
    for (k, v) in sizes {
        let key = bytes.get(at..at.checked_add(k)?)?.to_vec();
        at = at.checked_add(k)?.checked_add(1)?;
        let value = bytes.get(at..at.checked_add(v)?)?.to_vec();
        at = at.checked_add(v)?.checked_add(1)?;
        out.push((key, value));
    }
    Some(out)
}

fn encode_pairs(pairs: &[(&str, &str)]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&(pairs.len() as u32).to_le_bytes());
    for (k, v) in pairs {
        out.extend_from_slice(&(k.len() as u32).to_le_bytes());
        out.extend_from_slice(&(v.len() as u32).to_le_bytes());
    }
    for (k, v) in pairs {
        out.extend_from_slice(k.as_bytes());
        out.push(0);
        out.extend_from_slice(v.as_bytes());
        out.push(0);
    }
    out
}
