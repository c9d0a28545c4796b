//! Time, ticks and context bookkeeping: `proxy_get_current_time_nanoseconds`,
//! `proxy_set_tick_period_milliseconds`, `proxy_set_effective_context`, `proxy_done`,
//! `proxy_call_foreign_function` (Envoy rows E30, E34).

use super::{arg, put_bytes, put_u64};
use crate::state::HostState;
use meshward_abi::Status;
use wasmtime::Linker;

/// Adds the time, tick and context functions.
pub(super) fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    host_fns! { linker;
        fn proxy_get_current_time_nanoseconds(mut c, ptr: i32) {
            let now = c.data().now_ns;
            Ok(put_u64(&mut c, ptr, now)?)
        }
        fn proxy_set_tick_period_milliseconds(mut c, ms: i32) {
            c.data_mut().set_tick_period(ms as u32);
            Ok(())
        }
        fn proxy_set_effective_context(mut c, id: i32) {
            Ok(c.data_mut().set_effective_context(id as u32)?)
        }
        fn proxy_done(mut c) {
            Ok(c.data_mut().done()?)
        }
        fn proxy_call_foreign_function(mut c, np: i32, ns: i32, ap: i32, asz: i32, rp: i32, rs: i32) {
            let (name, args) = (arg(&mut c, np, ns)?, arg(&mut c, ap, asz)?);
            let results = c.data().call_foreign_function(&name, &args)?;
            put_bytes(&mut c, &results, rp, rs)
        }
    }
    Ok(())
}

impl HostState {
    /// Sets the tick period of the acting context's root (a stream sets its root's, row E34);
    /// the next tick is one period from now, 0 stops ticking.
    pub(crate) fn set_tick_period(&mut self, ms: u32) {
        let root = self.root_of(self.context());
        let now = self.now_ns;
        if let Some(r) = self.roots.get_mut(&root) {
            r.tick_ms = ms;
            r.next_tick_ns = now + u64::from(ms) * 1_000_000;
        }
    }

    /// Makes `id` the context host calls act on; BadArgument for an unknown id (row E30).
    pub(crate) fn set_effective_context(&mut self, id: u32) -> Result<(), Status> {
        if self.streams.contains_key(&id) || self.roots.contains_key(&id) {
            self.effective = id;
            Ok(())
        } else {
            Err(Status::BadArgument)
        }
    }

    /// Releases a root context whose `on_done` returned false; NotFound from any other context,
    /// streams included (row E30).
    pub(crate) fn done(&mut self) -> Result<(), Status> {
        let ctx = self.context();
        let i = self.done.iter().position(|&r| r == ctx).ok_or(Status::NotFound)?;
        self.done.remove(i);
        self.released.push(ctx);
        Ok(())
    }

    /// The results of foreign function `name`: host-test registers none, so NotFound, as
    /// Envoy answers an unknown name (row E30).
    pub(crate) fn call_foreign_function(&self, _name: &[u8], _args: &[u8]) -> Result<Vec<u8>, Status> {
        Err(Status::NotFound)
    }
}

#[cfg(test)]
mod tests {
    use crate::state::testing::{with_stream, ROOT, STREAM};
    use meshward_abi::Status;

    #[test]
    fn a_stream_sets_its_roots_tick_period() {
        let mut s = with_stream();
        s.now_ns = 5;
        s.set_tick_period(20);
        assert_eq!((s.roots[&ROOT].tick_ms, s.roots[&ROOT].next_tick_ns), (20, 20_000_005));
        s.set_tick_period(0);
        assert_eq!(s.roots[&ROOT].tick_ms, 0, "0 stops the ticks");
    }

    #[test]
    fn effective_context_must_exist() {
        let mut s = with_stream();
        assert_eq!(s.set_effective_context(99), Err(Status::BadArgument));
        assert_eq!(s.context(), STREAM);
        assert_eq!(s.set_effective_context(ROOT), Ok(()));
        assert_eq!(s.context(), ROOT);
    }

    #[test]
    fn done_only_releases_a_waiting_root() {
        let mut s = with_stream();
        assert_eq!(s.done(), Err(Status::NotFound), "from a stream");
        s.current = ROOT;
        assert_eq!(s.done(), Err(Status::NotFound), "root not waiting");
        s.done.push(ROOT);
        assert_eq!(s.done(), Ok(()));
        assert_eq!((s.done.len(), s.released.as_slice()), (0, [ROOT].as_slice()));
        assert_eq!(s.done(), Err(Status::NotFound), "only once");
    }

    #[test]
    fn no_foreign_function_exists() {
        let s = with_stream();
        assert_eq!(s.call_foreign_function(b"compress", b""), Err(Status::NotFound));
    }
}
