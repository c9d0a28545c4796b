//! Reading and writing the module's linear memory from host functions.

use crate::state::HostState;
use wasmtime::Caller;

/// The caller type of every host function.
pub(crate) type Ctx<'a> = Caller<'a, HostState>;

/// Copies `len` bytes at `ptr`; None if out of bounds or no memory is exported.
pub(crate) fn read(c: &mut Ctx<'_>, ptr: i32, len: i32) -> Option<Vec<u8>> {
    let mem = c.data().memory?;
    let (p, l) = (ptr as u32 as usize, len as u32 as usize);
    mem.data(&*c).get(p..p.checked_add(l)?).map(<[u8]>::to_vec)
}

/// Writes `bytes` at `ptr`; false if out of bounds.
pub(crate) fn write(c: &mut Ctx<'_>, ptr: i32, bytes: &[u8]) -> bool {
    let Some(mem) = c.data().memory else { return false };
    let p = ptr as u32 as usize;
    match p
        .checked_add(bytes.len())
        .and_then(|end| mem.data_mut(&mut *c).get_mut(p..end))
    {
        Some(dst) => {
            dst.copy_from_slice(bytes);
            true
        }
        None => false,
    }
}

/// Writes a little-endian u32.
pub(crate) fn set_u32(c: &mut Ctx<'_>, ptr: i32, v: u32) -> bool {
    write(c, ptr, &v.to_le_bytes())
}

/// Writes a little-endian u64.
pub(crate) fn set_u64(c: &mut Ctx<'_>, ptr: i32, v: u64) -> bool {
    write(c, ptr, &v.to_le_bytes())
}

/// Allocates `size` bytes in the module (`malloc` or `proxy_on_memory_allocate`).
pub(crate) fn alloc(c: &mut Ctx<'_>, size: usize) -> wasmtime::Result<Option<u32>> {
    let Some(f) = c.data().malloc.clone() else {
        return Ok(None);
    };
    let p = f.call(&mut *c, size as i32)?;
    Ok(if p == 0 { None } else { Some(p as u32) })
}

/// Copies `data` into a fresh allocation and stores its pointer and size (cpp-host
/// `copyToPointerSize`; empty data stores a null pointer and size 0).
pub(crate) fn copy_out(c: &mut Ctx<'_>, data: &[u8], ptr_ptr: i32, size_ptr: i32) -> wasmtime::Result<bool> {
    let mut p = 0u32;
    if !data.is_empty() {
        match alloc(c, data.len())? {
            Some(x) => p = x,
            None => return Ok(false),
        }
        if !write(c, p as i32, data) {
            return Ok(false);
        }
    }
    Ok(set_u32(c, ptr_ptr, p) && set_u32(c, size_ptr, data.len() as u32))
}
