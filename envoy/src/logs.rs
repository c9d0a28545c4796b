//! Reading Envoy's log: wasm log lines and the probe fixture's JSON lines.

use serde_json::Value;

/// A message a wasm module logged (through `proxy_log` or WASI stdout/stderr).
#[derive(Clone, Debug, PartialEq)]
pub struct WasmLog {
    /// Envoy's level name (`trace`, `debug`, `info`, `warning`, `error`, `critical`).
    pub level: String,
    /// The ids Envoy puts before the message: `[plugin name] root_id vm_id`.
    pub ids: String,
    /// The message text after the ids.
    pub message: String,
}

/// Parses one Envoy log line; `None` unless it is a wasm module's message.
pub fn parse_wasm_log(line: &str) -> Option<WasmLog> {
    let level_end = line.find("][wasm]")?;
    let level_start = line[..level_end].rfind('[')? + 1;
    let level = line[level_start..level_end].to_string();
    let at = line.find("wasm log ")? + "wasm log ".len();
    let rest = &line[at..];
    let colon = rest
        .find(": ")
        .map(|i| (i, 2))
        .or_else(|| rest.ends_with(':').then(|| (rest.len() - 1, 1)))?;
    let ids = rest[..colon.0].to_string();
    let message = rest[colon.0 + colon.1..].to_string();
    Some(WasmLog { level, ids, message })
}

/// One `probe {...}` line of the probe fixture.
#[derive(Clone, Debug, PartialEq)]
pub struct ProbeLine {
    /// Envoy's level name of the line.
    pub level: String,
    /// The callback the line was written from (`cb`).
    pub cb: String,
    /// The context id (`ctx`).
    pub ctx: u64,
    /// The host call, or `enter`/`return`/`script_error`/`parse_script` (`call`).
    pub call: String,
    /// The call's status name, when it has one (`status`).
    pub status: Option<String>,
    /// What the call returned (`value`).
    pub value: Option<Value>,
    /// The script's label for the call (`label`).
    pub label: Option<Value>,
    /// The whole JSON object.
    pub json: Value,
}

/// Parses a probe message (the text after Envoy's prefix, starting with `probe `).
pub fn parse_probe(level: &str, message: &str) -> Option<ProbeLine> {
    let json: Value = serde_json::from_str(message.strip_prefix("probe ")?).ok()?;
    Some(ProbeLine {
        level: level.to_string(),
        cb: json.get("cb")?.as_str()?.to_string(),
        ctx: json.get("ctx")?.as_u64()?,
        call: json.get("call")?.as_str()?.to_string(),
        status: json.get("status").and_then(Value::as_str).map(str::to_string),
        value: json.get("value").cloned(),
        label: json.get("label").cloned(),
        json,
    })
}
