//! The `env.proxy_*` host functions of ABI 0.2.1, one module per ABI area. Each area's
//! `add_to_linker` only moves arguments in and out of linear memory; what Envoy does with them
//! is a method of `HostState` in the same module, unit-tested there without wasm.

/// Registers host functions written like `fn`s: `fn proxy_x(mut c, a: i32, ...) { body }`
/// becomes `env.proxy_x`, a closure over the caller `c` and the arguments. The body moves the
/// arguments in and the results out of linear memory around one `HostState` call and returns
/// `Result<(), Stop>`: `?` on a `Status` answers that status, `?` on a trap traps, `Ok(())`
/// answers Ok. rustfmt leaves brace-delimited macro input alone: keep the bodies formatted.
macro_rules! host_fns {
    ($linker:ident; $(fn $name:ident($c:pat_param $(, $arg:ident: $ty:ty)* $(,)?) $body:block)*) => {
        $(
            $linker.func_wrap(
                "env",
                stringify!($name),
                |$c: $crate::memory::Ctx<'_> $(, $arg: $ty)*| -> wasmtime::Result<i32> {
                    $crate::imports::finish(|| -> Result<(), $crate::imports::Stop> { $body })
                },
            )?;
        )*
    };
}

mod buffers;
mod calls;
mod control;
mod headers;
mod log;
mod metrics;
mod misc;
mod properties;
mod shared_data;

use crate::memory::{copy_out, read, set_u32, set_u64, Ctx};
use crate::state::HostState;
use meshward_abi::Status;
use wasmtime::Linker;

/// Adds every `env.proxy_*` function to the linker.
pub(crate) fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    log::add_to_linker(linker)?;
    buffers::add_to_linker(linker)?;
    headers::add_to_linker(linker)?;
    properties::add_to_linker(linker)?;
    control::add_to_linker(linker)?;
    calls::add_to_linker(linker)?;
    shared_data::add_to_linker(linker)?;
    metrics::add_to_linker(linker)?;
    misc::add_to_linker(linker)
}

/// Why a host function answers before it is done.
pub(crate) enum Stop {
    /// The status the module gets.
    Status(Status),
    /// A trap: the module's allocator failed while the host handed it bytes.
    Trap(wasmtime::Error),
}

impl From<Status> for Stop {
    fn from(s: Status) -> Self {
        Stop::Status(s)
    }
}

impl From<wasmtime::Error> for Stop {
    fn from(e: wasmtime::Error) -> Self {
        Stop::Trap(e)
    }
}

/// Runs a host function's body: the module gets the status code, or the trap.
pub(crate) fn finish(body: impl FnOnce() -> Result<(), Stop>) -> wasmtime::Result<i32> {
    match body() {
        Ok(()) => Ok(0),
        // Status codes are 0..=12.
        Err(Stop::Status(s)) => Ok(s.code() as i32),
        Err(Stop::Trap(e)) => Err(e),
    }
}

/// The `len` bytes the module passed at `ptr`; InvalidMemoryAccess if they are out of bounds.
fn arg(c: &mut Ctx<'_>, ptr: i32, len: i32) -> Result<Vec<u8>, Status> {
    read(c, ptr, len).ok_or(Status::InvalidMemoryAccess)
}

/// An enum argument; BadArgument for a code the ABI does not define.
fn enum_arg<T>(raw: i32, from_code: fn(u32) -> Option<T>) -> Result<T, Status> {
    from_code(raw as u32).ok_or(Status::BadArgument)
}

/// Stores a `u32` result at `ptr`.
fn put_u32(c: &mut Ctx<'_>, ptr: i32, v: u32) -> Result<(), Status> {
    set_u32(c, ptr, v).then_some(()).ok_or(Status::InvalidMemoryAccess)
}

/// Stores a `u64` result at `ptr`.
fn put_u64(c: &mut Ctx<'_>, ptr: i32, v: u64) -> Result<(), Status> {
    set_u64(c, ptr, v).then_some(()).ok_or(Status::InvalidMemoryAccess)
}

/// Hands `data` to the module in a fresh allocation and stores its pointer and size (empty
/// data: a null pointer and size 0).
fn put_bytes(c: &mut Ctx<'_>, data: &[u8], ptr_ptr: i32, size_ptr: i32) -> Result<(), Stop> {
    if copy_out(c, data, ptr_ptr, size_ptr)? {
        Ok(())
    } else {
        Err(Status::InvalidMemoryAccess.into())
    }
}

/// A status as a result: `Ok(())` for Ok.
fn result_of(status: Status) -> Result<(), Status> {
    match status {
        Status::Ok => Ok(()),
        other => Err(other),
    }
}

/// Bytes as text (lossy UTF-8), for names the host keeps as strings.
fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A header name a filter handed over, as Envoy stores it: lower-cased (row E07).
fn header_name(b: &[u8]) -> String {
    text(b).to_ascii_lowercase()
}

/// A header map a filter handed over, as Envoy stores it: names lower-cased.
fn envoy_map(pairs: &[meshward_abi::pairs::Pair]) -> crate::Headers {
    crate::Headers::from_pairs(pairs.iter().map(|(k, v)| (header_name(k), v)))
}
