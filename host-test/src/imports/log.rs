//! Logging: `proxy_log`, `proxy_get_log_level` (Envoy row E28).

use super::{arg, enum_arg, put_u32};
use crate::state::{HostState, LogEntry};
use meshward_abi::LogLevel;
use wasmtime::Linker;

/// Adds the logging functions.
pub(super) fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    host_fns! { linker;
        fn proxy_log(mut c, level: i32, ptr: i32, size: i32) {
            let level = enum_arg(level, LogLevel::from_code)?;
            let message = arg(&mut c, ptr, size)?;
            c.data_mut().log(level, &message);
            Ok(())
        }
        fn proxy_get_log_level(mut c, ptr: i32) {
            let level = c.data().log_level;
            Ok(put_u32(&mut c, ptr, level)?)
        }
    }
    Ok(())
}

impl HostState {
    /// Records a line the acting context logged; Envoy drops lines below its `wasm` logger's
    /// level, which `proxy_get_log_level` reports.
    pub(crate) fn log(&mut self, level: LogLevel, message: &[u8]) {
        if level.code() < self.log_level {
            return;
        }
        let context_id = self.context();
        self.logs.push(LogEntry {
            level: level.name(),
            message: String::from_utf8_lossy(message).into_owned(),
            context_id,
        });
    }
}

#[cfg(test)]
mod tests {
    use crate::state::testing::{with_stream, ROOT, STREAM};
    use meshward_abi::LogLevel;

    #[test]
    fn lines_below_the_host_level_are_dropped() {
        let mut s = with_stream();
        assert_eq!(s.log_level, LogLevel::Info.code(), "Envoy's default wasm log level");
        s.log(LogLevel::Debug, b"hidden");
        s.log(LogLevel::Info, b"shown");
        s.log(LogLevel::Critical, b"\xffbad utf-8");
        let lines: Vec<_> = s
            .logs
            .iter()
            .map(|l| (l.level, l.message.as_str(), l.context_id))
            .collect();
        assert_eq!(
            lines,
            vec![("info", "shown", STREAM), ("critical", "\u{fffd}bad utf-8", STREAM)]
        );
    }

    #[test]
    fn lines_belong_to_the_effective_context() {
        let mut s = with_stream();
        s.log_level = LogLevel::Trace.code();
        s.effective = ROOT;
        s.log(LogLevel::Trace, b"from the root");
        assert_eq!(s.logs[0].context_id, ROOT);
        assert_eq!(s.logs[0].level, "trace");
    }
}
