//! The host calls the filter makes, in the shapes the adapter wants, over
//! `meshward-hostcalls` (every status a value: no SDK panic on the request path).

use meshward_hostcalls as abi;

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
    abi::log(level as u32, message);
}

/// Reads a property (`source.address` is `["source", "address"]`); None when absent or on error.
pub fn property(path: &[&str]) -> Option<Vec<u8>> {
    abi::property(path)
}

/// A string property (lossy for invalid UTF-8, which Envoy does not produce for these).
pub fn property_string(path: &[&str]) -> Option<String> {
    property(path).map(|b| String::from_utf8_lossy(&b).into_owned())
}

/// The request headers, names lowercased. Err on a host error or malformed map.
pub fn request_headers() -> Result<Vec<(String, String)>, u32> {
    let pairs = abi::header_pairs(abi::REQUEST_HEADERS)?;
    Ok(pairs
        .into_iter()
        .map(|(k, v)| {
            (
                String::from_utf8_lossy(&k).to_ascii_lowercase(),
                String::from_utf8_lossy(&v).into_owned(),
            )
        })
        .collect())
}

/// Sends a local reply; Err with the host status when refused.
pub fn send_local_response(status: u16, body: &str, headers: &[(&str, &str)]) -> Result<(), u32> {
    abi::send_local_response(status, headers, body.as_bytes(), "meshward_policy")
}

/// Defines a counter; Err with the host status.
pub fn define_counter(name: &str) -> Result<u32, u32> {
    abi::define_counter(name)
}

/// Adds one to a counter; failures are ignored (a lost count must not fail the request).
pub fn increment(id: u32) {
    abi::increment(id);
}
