//! The WASI preview1 functions Envoy provides (proxy-wasm-cpp-host), under both
//! `wasi_snapshot_preview1` and `wasi_unstable`, plus the cheap `env` legacy imports.

use crate::memory::{read, set_u32, set_u64, write, Ctx};
use crate::state::HostState;
use meshward_abi::LogLevel;
use wasmtime::{Linker, Result};

/// WASI errno values the functions Envoy provides return.
mod errno {
    pub const SUCCESS: i32 = 0;
    pub const BADF: i32 = 8;
    pub const FAULT: i32 = 21;
    pub const NOSYS: i32 = 52;
    pub const NOTSUP: i32 = 58;
}

/// Trap payload of `proc_exit`, so the host can tell it from other traps.
#[derive(Debug)]
pub struct ProcExit(pub i32);

impl std::fmt::Display for ProcExit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "wasi proc_exit({})", self.0)
    }
}

impl std::error::Error for ProcExit {}

fn add_module(linker: &mut Linker<HostState>, m: &str) -> Result<()> {
    // stdout → info, stderr → error; one trailing newline is dropped (cpp-host writevImpl).
    linker.func_wrap(
        m,
        "fd_write",
        |mut c: Ctx<'_>, fd: i32, iovs: i32, n: i32, nwritten: i32| -> i32 {
            let level = match fd {
                1 => LogLevel::Info,
                2 => LogLevel::Error,
                _ => return errno::BADF,
            };
            let mut out = Vec::new();
            for i in 0..n.max(0) {
                let Some(iov) = read(&mut c, iovs.wrapping_add(i * 8), 8) else {
                    return errno::FAULT;
                };
                let buf = i32::from_le_bytes([iov[0], iov[1], iov[2], iov[3]]);
                let len = i32::from_le_bytes([iov[4], iov[5], iov[6], iov[7]]);
                if len != 0 {
                    let Some(data) = read(&mut c, buf, len) else {
                        return errno::FAULT;
                    };
                    out.extend_from_slice(&data);
                }
            }
            let written = out.len() as u32;
            if !out.is_empty() {
                if out.last() == Some(&b'\n') {
                    out.pop();
                }
                c.data_mut().log(level, &out);
            }
            if set_u32(&mut c, nwritten, written) {
                errno::SUCCESS
            } else {
                errno::FAULT
            }
        },
    )?;
    linker.func_wrap(
        m,
        "fd_read",
        |_c: Ctx<'_>, _fd: i32, _iovs: i32, _n: i32, _nread: i32| -> i32 { errno::NOSYS },
    )?;
    linker.func_wrap(
        m,
        "fd_seek",
        |_c: Ctx<'_>, _fd: i32, _off: i64, _whence: i32, _new: i32| -> i32 { errno::SUCCESS },
    )?;
    linker.func_wrap(m, "fd_close", |_c: Ctx<'_>, _fd: i32| -> i32 { errno::SUCCESS })?;
    linker.func_wrap(m, "fd_fdstat_get", |mut c: Ctx<'_>, fd: i32, out: i32| -> i32 {
        if fd != 1 && fd != 2 {
            return errno::BADF;
        }
        // filetype 0, flags 0, rights_base = FD_WRITE (64), rights_inheriting 0.
        let mut stat = [0u8; 24];
        stat[8..16].copy_from_slice(&64u64.to_le_bytes());
        write(&mut c, out, &stat);
        errno::SUCCESS
    })?;
    linker.func_wrap(m, "fd_filestat_get", |mut c: Ctx<'_>, fd: i32, out: i32| -> i32 {
        // As Envoy: stdout/stderr only, a character device (filetype 2 at offset 16 of 64 bytes).
        if fd != 1 && fd != 2 {
            return errno::BADF;
        }
        let mut stat = [0u8; 64];
        stat[16] = 2;
        write(&mut c, out, &stat);
        errno::SUCCESS
    })?;
    // Envoy links these but grants no file system: every call fails.
    linker.func_wrap(
        m,
        "fd_readdir",
        |_c: Ctx<'_>, _fd: i32, _buf: i32, _len: i32, _cookie: i64, _used: i32| -> i32 { errno::NOSYS },
    )?;
    linker.func_wrap(
        m,
        "path_filestat_get",
        |_c: Ctx<'_>, _fd: i32, _flags: i32, _p: i32, _l: i32, _out: i32| -> i32 { errno::NOSYS },
    )?;
    linker.func_wrap(
        m,
        "path_open",
        |_c: Ctx<'_>, _fd: i32, _df: i32, _p: i32, _l: i32, _of: i32, _rb: i64, _ri: i64, _ff: i32, _out: i32| -> i32 {
            errno::NOSYS
        },
    )?;
    linker.func_wrap(m, "fd_prestat_get", |_c: Ctx<'_>, _fd: i32, _out: i32| -> i32 {
        errno::BADF
    })?;
    linker.func_wrap(
        m,
        "fd_prestat_dir_name",
        |_c: Ctx<'_>, _fd: i32, _p: i32, _l: i32| -> i32 { errno::NOSYS },
    )?;
    linker.func_wrap(m, "environ_sizes_get", |mut c: Ctx<'_>, count: i32, size: i32| -> i32 {
        let env = c.data().env.clone();
        let bytes: usize = env.iter().map(|(k, v)| k.len() + v.len() + 2).sum();
        if set_u32(&mut c, count, env.len() as u32) && set_u32(&mut c, size, bytes as u32) {
            errno::SUCCESS
        } else {
            errno::FAULT
        }
    })?;
    linker.func_wrap(
        m,
        "environ_get",
        |mut c: Ctx<'_>, mut array: i32, mut buf: i32| -> i32 {
            let env = c.data().env.clone();
            for (k, v) in env {
                let entry = format!("{k}={v}\0");
                if !set_u32(&mut c, array, buf as u32) || !write(&mut c, buf, entry.as_bytes()) {
                    return errno::FAULT;
                }
                buf = buf.wrapping_add(entry.len() as i32);
                array = array.wrapping_add(4);
            }
            errno::SUCCESS
        },
    )?;
    linker.func_wrap(m, "args_sizes_get", |mut c: Ctx<'_>, argc: i32, size: i32| -> i32 {
        if set_u32(&mut c, argc, 0) && set_u32(&mut c, size, 0) {
            errno::SUCCESS
        } else {
            errno::FAULT
        }
    })?;
    linker.func_wrap(m, "args_get", |_c: Ctx<'_>, _argv: i32, _buf: i32| -> i32 {
        errno::SUCCESS
    })?;
    linker.func_wrap(
        m,
        "clock_time_get",
        |mut c: Ctx<'_>, id: i32, _precision: i64, out: i32| -> i32 {
            // Envoy 1.40 answers the realtime (0) and monotonic (1) clocks: Rust's `Instant::now`
            // works in a filter there (seen with meshward_waf.wasm); others get ENOTSUP. The
            // monotonic clock follows the test-driven clock.
            if id != 0 && id != 1 {
                return errno::NOTSUP;
            }
            let now = c.data().now_ns;
            if set_u64(&mut c, out, now) {
                errno::SUCCESS
            } else {
                errno::FAULT
            }
        },
    )?;
    linker.func_wrap(m, "random_get", |mut c: Ctx<'_>, buf: i32, len: i32| -> i32 {
        let mut bytes = Vec::with_capacity(len.max(0) as usize);
        while bytes.len() < len.max(0) as usize {
            bytes.extend_from_slice(&c.data_mut().next_random().to_le_bytes());
        }
        bytes.truncate(len.max(0) as usize);
        if write(&mut c, buf, &bytes) {
            errno::SUCCESS
        } else {
            errno::FAULT
        }
    })?;
    linker.func_wrap(m, "proc_exit", |mut c: Ctx<'_>, code: i32| -> Result<()> {
        c.data_mut().exit_code = Some(code);
        Err(wasmtime::Error::new(ProcExit(code)))
    })?;
    linker.func_wrap(m, "sched_yield", |_c: Ctx<'_>| -> i32 { errno::SUCCESS })?;
    linker.func_wrap(
        m,
        "poll_oneoff",
        |mut c: Ctx<'_>, _in: i32, _out: i32, _n: i32, nevents: i32| -> i32 {
            if set_u32(&mut c, nevents, 0) {
                errno::SUCCESS
            } else {
                errno::FAULT
            }
        },
    )?;
    Ok(())
}

/// Adds the WASI and legacy `env` functions to the linker.
pub(crate) fn add(linker: &mut Linker<HostState>) -> Result<()> {
    add_module(linker, "wasi_snapshot_preview1")?;
    add_module(linker, "wasi_unstable")?;
    linker.func_wrap("env", "emscripten_notify_memory_growth", |_c: Ctx<'_>, _idx: i32| {})?;
    linker.func_wrap("env", "pthread_equal", |_c: Ctx<'_>, a: i32, b: i32| -> i32 {
        i32::from(a == b)
    })?;
    Ok(())
}
