//! Buffers: `proxy_get_buffer_bytes`, `proxy_get_buffer_status`, `proxy_set_buffer_bytes` and
//! the legacy `proxy_get_configuration` (Envoy rows E09, E10, E12).

use super::{arg, enum_arg, put_bytes, put_u32};
use crate::dir::Dir;
use crate::state::HostState;
use meshward_abi::{BufferType, Status};
use wasmtime::Linker;

/// Adds the buffer functions.
pub(super) fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    host_fns! { linker;
        fn proxy_get_buffer_bytes(mut c, ty: i32, start: i32, max: i32, pp: i32, sp: i32) {
            let ty = enum_arg(ty, BufferType::from_code)?;
            let bytes = c.data().get_buffer_bytes(ty, start as u32, max as u32)?;
            // Envoy copies nothing out for an empty range: the module's pointers stay as they are.
            if !bytes.is_empty() {
                put_bytes(&mut c, &bytes, pp, sp)?;
            }
            Ok(())
        }
        fn proxy_get_buffer_status(mut c, ty: i32, len_ptr: i32, flags_ptr: i32) {
            let len = c.data().buffer_len(enum_arg(ty, BufferType::from_code)?)?;
            put_u32(&mut c, len_ptr, len)?;
            Ok(put_u32(&mut c, flags_ptr, 0)?)
        }
        fn proxy_set_buffer_bytes(mut c, ty: i32, start: i32, size: i32, dp: i32, ds: i32) {
            let ty = enum_arg(ty, BufferType::from_code)?;
            let data = arg(&mut c, dp, ds)?;
            Ok(c.data_mut().set_buffer_bytes(ty, start as u32, size as u32, data)?)
        }
        fn proxy_get_configuration(mut c, pp: i32, sp: i32) {
            let config = c.data().configuration().to_vec();
            put_bytes(&mut c, &config, pp, sp)
        }
    }
    Ok(())
}

/// A buffer as Envoy's `getBuffer` returns it.
enum Buffer<'a> {
    /// None in this callback: NotFound.
    Missing,
    /// A wrapper around no buffer: reads as empty, refuses writes.
    Null,
    /// Read-only bytes (configurations, an http call's response body).
    Const(&'a [u8]),
    /// A direction's body, while its callback may use it.
    Body(Dir, &'a [u8]),
}

impl HostState {
    /// The buffer `ty` names in the acting context.
    fn buffer(&self, ty: BufferType) -> Buffer<'_> {
        if let Some(dir) = Dir::of_body(ty) {
            // The other direction's body, or one outside its callbacks, is a null buffer (E10, E12).
            return match self.stream().map(|d| &d.dirs[dir]) {
                Some(side) if side.live.body => Buffer::Body(dir, &side.body),
                _ => Buffer::Null,
            };
        }
        match ty {
            BufferType::HttpCallResponseBody => self
                .call_response
                .as_ref()
                .map_or(Buffer::Missing, |r| Buffer::Const(&r.body)),
            // Envoy answers Ok [] when no VM configuration was given.
            BufferType::VmConfiguration => Buffer::Const(&self.vm_config),
            // Only `on_configure` sees the plugin configuration (E12).
            BufferType::PluginConfiguration => self.configuring.as_deref().map_or(Buffer::Missing, Buffer::Const),
            BufferType::CallData => Buffer::Const(&[]),
            _ => Buffer::Null,
        }
    }

    /// The bytes of buffer `ty`; NotFound when Envoy has none here.
    fn buffer_contents(&self, ty: BufferType) -> Result<&[u8], Status> {
        match self.buffer(ty) {
            Buffer::Missing => Err(Status::NotFound),
            Buffer::Null => Ok(&[]),
            Buffer::Const(bytes) | Buffer::Body(_, bytes) => Ok(bytes),
        }
    }

    /// Up to `max` bytes of buffer `ty` from `start`. Envoy clamps the range to the buffer
    /// (a start past the end reads nothing) and refuses only a `start + max` that overflows
    /// 32 bits (E09).
    pub(crate) fn get_buffer_bytes(&self, ty: BufferType, start: u32, max: u32) -> Result<Vec<u8>, Status> {
        let bytes = self.buffer_contents(ty)?;
        let end = start.checked_add(max).ok_or(Status::BadArgument)?;
        let end = (end as usize).min(bytes.len());
        Ok(bytes.get(start as usize..end).unwrap_or_default().to_vec())
    }

    /// The length of buffer `ty` (`proxy_get_buffer_status`).
    pub(crate) fn buffer_len(&self, ty: BufferType) -> Result<u32, Status> {
        let bytes = self.buffer_contents(ty)?;
        Ok(u32::try_from(bytes.len()).unwrap_or(u32::MAX))
    }

    /// Replaces `size` bytes of a live body at `start` with `data`, in the only forms Envoy
    /// accepts (E10): at 0, `data` replaces the first `size` bytes (size 0 prepends, a size
    /// past the end replaces all); at or past the end, `data` is appended; anything else is
    /// BadArgument. Every buffer but a live body is read-only.
    pub(crate) fn set_buffer_bytes(
        &mut self,
        ty: BufferType,
        start: u32,
        size: u32,
        data: Vec<u8>,
    ) -> Result<(), Status> {
        let dir = match self.buffer(ty) {
            Buffer::Missing => return Err(Status::NotFound),
            Buffer::Null | Buffer::Const(_) => return Err(Status::BadArgument),
            Buffer::Body(dir, _) => dir,
        };
        let body = &mut self.stream_mut().ok_or(Status::BadArgument)?.dirs[dir].body;
        let (start, size) = (start as usize, size as usize);
        if start == 0 {
            let replaced = size.min(body.len());
            body.splice(..replaced, data);
        } else if start >= body.len() {
            body.extend_from_slice(&data);
        } else {
            return Err(Status::BadArgument);
        }
        Ok(())
    }

    /// The legacy `proxy_get_configuration`: the plugin configuration in `on_configure`, the
    /// VM configuration otherwise.
    pub(crate) fn configuration(&self) -> &[u8] {
        self.configuring.as_deref().unwrap_or(&self.vm_config)
    }
}

#[cfg(test)]
mod tests {
    use crate::dir::Dir;
    use crate::state::testing::with_stream;
    use crate::state::{CallResponse, HostState};
    use meshward_abi::{BufferType, Status};

    const REQUEST_BODY: BufferType = BufferType::HttpRequestBody;

    /// A stream in its request body callback, with `body`.
    fn in_request_body(body: &[u8]) -> HostState {
        let mut s = with_stream();
        let side = &mut s.stream_mut().unwrap().dirs[Dir::Request];
        side.body = body.to_vec();
        side.live.body = true;
        s
    }

    fn body(s: &HostState) -> String {
        String::from_utf8_lossy(&s.stream().unwrap().dirs[Dir::Request].body).into_owned()
    }

    #[test]
    fn reads_are_clamped_to_the_buffer() {
        let s = in_request_body(b"hello world");
        let get = |start, max| s.get_buffer_bytes(REQUEST_BODY, start, max);
        assert_eq!(get(0, 5), Ok(b"hello".to_vec()));
        assert_eq!(get(6, 100), Ok(b"world".to_vec()), "truncated at the end");
        assert_eq!(get(0, u32::MAX), Ok(b"hello world".to_vec()));
        assert_eq!(get(11, 1), Ok(Vec::new()), "start at the end");
        assert_eq!(get(50, 1), Ok(Vec::new()), "start past the end");
        assert_eq!(get(3, 0), Ok(Vec::new()), "size 0");
        assert_eq!(get(2, u32::MAX), Err(Status::BadArgument), "start + size overflows");
        assert_eq!(s.buffer_len(REQUEST_BODY), Ok(11));
    }

    #[test]
    fn writes_take_only_envoys_forms() {
        let mut s = in_request_body(b"body");
        let mut set = |start, size, data: &[u8]| s.set_buffer_bytes(REQUEST_BODY, start, size, data.to_vec());
        assert_eq!(set(0, 0, b">"), Ok(()), "prepend");
        assert_eq!(set(99, 0, b"<"), Ok(()), "append past the end");
        assert_eq!(set(0, 2, b"["), Ok(()), "replace the first bytes");
        assert_eq!(set(1, 1, b"x"), Err(Status::BadArgument), "inside the body");
        assert_eq!(body(&s), "[ody<");
        assert_eq!(
            s.set_buffer_bytes(REQUEST_BODY, 0, 100, b"new".to_vec()),
            Ok(()),
            "replace all"
        );
        assert_eq!(body(&s), "new");
        assert_eq!(
            s.set_buffer_bytes(REQUEST_BODY, 3, 0, b"!".to_vec()),
            Ok(()),
            "append at the end"
        );
        assert_eq!(body(&s), "new!");
    }

    #[test]
    fn a_body_outside_its_callback_reads_empty_and_refuses_writes() {
        let mut s = in_request_body(b"kept");
        let response = BufferType::HttpResponseBody;
        assert_eq!(s.get_buffer_bytes(response, 0, 10), Ok(Vec::new()), "other direction");
        assert_eq!(
            s.set_buffer_bytes(response, 0, 0, b"x".to_vec()),
            Err(Status::BadArgument)
        );
        s.stream_mut().unwrap().dirs[Dir::Request].live.body = false;
        assert_eq!(s.get_buffer_bytes(REQUEST_BODY, 0, 10), Ok(Vec::new()));
        assert_eq!(s.buffer_len(REQUEST_BODY), Ok(0));
        assert_eq!(
            s.set_buffer_bytes(REQUEST_BODY, 0, 0, b"x".to_vec()),
            Err(Status::BadArgument)
        );
        s.current = crate::state::testing::ROOT;
        assert_eq!(s.get_buffer_bytes(REQUEST_BODY, 0, 10), Ok(Vec::new()), "root context");
    }

    #[test]
    fn configurations_are_read_only_and_scoped() {
        let mut s = with_stream();
        let plugin = BufferType::PluginConfiguration;
        let vm = BufferType::VmConfiguration;
        assert_eq!(
            s.get_buffer_bytes(plugin, 0, 10),
            Err(Status::NotFound),
            "outside on_configure"
        );
        assert_eq!(s.buffer_len(plugin), Err(Status::NotFound));
        assert_eq!(s.set_buffer_bytes(plugin, 0, 0, b"x".to_vec()), Err(Status::NotFound));
        assert_eq!(s.get_buffer_bytes(vm, 0, 10), Ok(Vec::new()), "no VM configuration");
        assert_eq!(s.configuration(), b"");
        s.vm_config = b"vm".to_vec();
        s.configuring = Some(b"plugin".to_vec());
        assert_eq!(s.get_buffer_bytes(plugin, 0, 10), Ok(b"plugin".to_vec()));
        assert_eq!(
            s.set_buffer_bytes(plugin, 0, 0, b"x".to_vec()),
            Err(Status::BadArgument)
        );
        assert_eq!(s.set_buffer_bytes(vm, 0, 0, b"x".to_vec()), Err(Status::BadArgument));
        assert_eq!(s.configuration(), b"plugin", "legacy call in on_configure");
        s.configuring = None;
        assert_eq!(s.configuration(), b"vm", "legacy call elsewhere");
        for other in [
            BufferType::DownstreamData,
            BufferType::GrpcReceiveBuffer,
            BufferType::CallData,
        ] {
            assert_eq!(s.get_buffer_bytes(other, 0, 10), Ok(Vec::new()), "{other:?}");
        }
    }

    #[test]
    fn the_call_response_body_exists_only_in_its_callback() {
        let mut s = with_stream();
        let call = BufferType::HttpCallResponseBody;
        assert_eq!(s.get_buffer_bytes(call, 0, 10), Err(Status::NotFound));
        s.call_response = Some(CallResponse {
            body: b"reply".to_vec(),
            ..Default::default()
        });
        assert_eq!(s.get_buffer_bytes(call, 1, 3), Ok(b"epl".to_vec()));
        assert_eq!(s.set_buffer_bytes(call, 0, 0, b"x".to_vec()), Err(Status::BadArgument));
    }
}
