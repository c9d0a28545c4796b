//! The few proxy-wasm host calls the filter makes on the request path, as `Result`s.
//!
//! The Rust SDK panics when the host answers a status it does not expect; a panic aborts the
//! VM, so the request path calls the ABI directly and turns every status into a value.

use std::ptr::null_mut;

#[allow(clashing_extern_declarations)]
#[link(wasm_import_module = "env")]
extern "C" {
    fn proxy_log(level: u32, message_data: *const u8, message_size: usize) -> u32;
    fn proxy_get_property(
        path_data: *const u8,
        path_size: usize,
        return_data: *mut *mut u8,
        return_size: *mut usize,
    ) -> u32;
    fn proxy_get_header_map_pairs(map_type: u32, return_data: *mut *mut u8, return_size: *mut usize) -> u32;
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
}

const OK: u32 = 0;
const NOT_FOUND: u32 = 1;
const MAP_REQUEST_HEADERS: u32 = 0;
const METRIC_COUNTER: u32 = 0;

/// Log levels of the ABI.
#[derive(Clone, Copy)]
pub enum LogLevel {
    Debug = 1,
    Info = 2,
    Warn = 3,
    Error = 4,
}

/// Logs a message; a failure to log is ignored (there is nowhere to report it).
pub fn log(level: LogLevel, message: &str) {
    unsafe {
        proxy_log(level as u32, message.as_ptr(), message.len());
    }
}

/// Takes ownership of a host-allocated buffer (allocated through `proxy_on_memory_allocate`).
unsafe fn take(data: *mut u8, size: usize) -> Vec<u8> {
    if data.is_null() {
        Vec::new()
    } else {
        Vec::from_raw_parts(data, size, size)
    }
}

/// Reads a property (`source.address` is `["source", "address"]`); None when absent or on error.
pub fn property(path: &[&str]) -> Option<Vec<u8>> {
    let serialized = path.join("\0");
    let mut data: *mut u8 = null_mut();
    let mut size: usize = 0;
    let status = unsafe { proxy_get_property(serialized.as_ptr(), serialized.len(), &mut data, &mut size) };
    match status {
        OK if !data.is_null() => Some(unsafe { take(data, size) }),
        OK | NOT_FOUND => None,
        _ => {
            // Free anything the host may have handed over despite the error.
            drop(unsafe { take(data, size) });
            None
        }
    }
}

/// A string property (lossy for invalid UTF-8, which Envoy does not produce for these).
pub fn property_string(path: &[&str]) -> Option<String> {
    property(path).map(|b| String::from_utf8_lossy(&b).into_owned())
}

/// The request headers; names lowercase as Envoy gives them. Err on a host error or malformed map.
pub fn request_headers() -> Result<Vec<(String, String)>, u32> {
    let mut data: *mut u8 = null_mut();
    let mut size: usize = 0;
    let status = unsafe { proxy_get_header_map_pairs(MAP_REQUEST_HEADERS, &mut data, &mut size) };
    let bytes = unsafe { take(data, size) };
    if status != OK {
        return Err(status);
    }
    crate::pairs::decode(&bytes).ok_or(u32::MAX)
}

/// Sends a local reply; Err with the host status when refused.
pub fn send_local_response(status: u16, body: &str, headers: &[(&str, &str)]) -> Result<(), u32> {
    let map = crate::pairs::encode(headers);
    let details = "meshward_policy";
    let st = unsafe {
        proxy_send_local_response(
            u32::from(status),
            details.as_ptr(),
            details.len(),
            body.as_ptr(),
            body.len(),
            map.as_ptr(),
            map.len(),
            -1,
        )
    };
    if st == OK {
        Ok(())
    } else {
        Err(st)
    }
}

/// Defines a counter; Err with the host status.
pub fn define_counter(name: &str) -> Result<u32, u32> {
    let mut id = 0u32;
    let st = unsafe { proxy_define_metric(METRIC_COUNTER, name.as_ptr(), name.len(), &mut id) };
    if st == OK {
        Ok(id)
    } else {
        Err(st)
    }
}

/// Adds one to a counter; failures are ignored (a lost count must not fail the request).
pub fn increment(id: u32) {
    unsafe {
        proxy_increment_metric(id, 1);
    }
}
