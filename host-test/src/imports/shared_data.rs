//! Shared data and queues: `proxy_get/set_shared_data`,
//! `proxy_register/resolve/enqueue/dequeue_shared_queue` (Envoy rows E25, E26), scoped to the
//! plugin's VM id in the host-wide `SharedStore`.

use super::{arg, put_bytes, put_u32, result_of, text};
use crate::state::HostState;
use meshward_abi::Status;
use wasmtime::Linker;

/// Adds the shared data and queue functions.
pub(super) fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    host_fns! { linker;
        fn proxy_get_shared_data(mut c, kp: i32, ks: i32, vpp: i32, vsp: i32, casp: i32) {
            let key = arg(&mut c, kp, ks)?;
            let (value, cas) = c.data().get_shared_data(&key)?;
            put_bytes(&mut c, &value, vpp, vsp)?;
            Ok(put_u32(&mut c, casp, cas)?)
        }
        fn proxy_set_shared_data(mut c, kp: i32, ks: i32, vp: i32, vs: i32, cas: i32) {
            let (key, value) = (arg(&mut c, kp, ks)?, arg(&mut c, vp, vs)?);
            Ok(c.data().set_shared_data(&key, &value, cas as u32)?)
        }
        fn proxy_register_shared_queue(mut c, np: i32, ns: i32, tp: i32) {
            let name = arg(&mut c, np, ns)?;
            let token = c.data().register_shared_queue(&name);
            Ok(put_u32(&mut c, tp, token)?)
        }
        fn proxy_resolve_shared_queue(mut c, vp: i32, vs: i32, np: i32, ns: i32, tp: i32) {
            let (vm_id, name) = (arg(&mut c, vp, vs)?, arg(&mut c, np, ns)?);
            let token = c.data().resolve_shared_queue(&vm_id, &name)?;
            Ok(put_u32(&mut c, tp, token)?)
        }
        fn proxy_dequeue_shared_queue(mut c, token: i32, pp: i32, sp: i32) {
            let item = c.data().dequeue_shared_queue(token as u32)?;
            put_bytes(&mut c, &item, pp, sp)
        }
        fn proxy_enqueue_shared_queue(mut c, token: i32, p: i32, s: i32) {
            let item = arg(&mut c, p, s)?;
            Ok(c.data().enqueue_shared_queue(token as u32, &item)?)
        }
    }
    Ok(())
}

impl HostState {
    /// The value of `key` and its CAS; NotFound if it was never set.
    pub(crate) fn get_shared_data(&self, key: &[u8]) -> Result<(Vec<u8>, u32), Status> {
        self.shared.get(&self.vm_id, key)
    }

    /// Sets `key`; a non-zero `cas` must be the value's current one (CasMismatch otherwise).
    pub(crate) fn set_shared_data(&self, key: &[u8], value: &[u8], cas: u32) -> Result<(), Status> {
        result_of(self.shared.set(&self.vm_id, key, value, cas))
    }

    /// Registers a queue (again: the same token) whose ready events go to the acting
    /// context's root.
    pub(crate) fn register_shared_queue(&self, name: &[u8]) -> u32 {
        let root = self.root_of(self.context());
        self.shared.register_queue(&self.vm_id, name, self.plugin_uid, root)
    }

    /// The token of queue `name` in VM `vm_id`; an empty `vm_id` is the caller's own, as in
    /// Envoy 1.40's proxy-wasm-cpp-host (row E26). NotFound for an unknown name.
    pub(crate) fn resolve_shared_queue(&self, vm_id: &[u8], name: &[u8]) -> Result<u32, Status> {
        let vm_id = if vm_id.is_empty() {
            self.vm_id.clone()
        } else {
            text(vm_id)
        };
        self.shared.resolve_queue(&vm_id, name)
    }

    /// Queues an item and schedules `proxy_on_queue_ready` for the queue's owner.
    pub(crate) fn enqueue_shared_queue(&self, token: u32, item: &[u8]) -> Result<(), Status> {
        result_of(self.shared.enqueue(token, item))
    }

    /// The oldest item: Empty for an empty queue, NotFound for an unknown token.
    pub(crate) fn dequeue_shared_queue(&self, token: u32) -> Result<Vec<u8>, Status> {
        self.shared.dequeue(token)
    }
}

#[cfg(test)]
mod tests {
    use crate::state::testing::{with_stream, ROOT};
    use crate::state::HostState;
    use meshward_abi::Status;

    fn vm(id: &str, uid: u64) -> HostState {
        let mut s = with_stream();
        s.vm_id = id.into();
        s.plugin_uid = uid;
        s
    }

    #[test]
    fn data_is_shared_within_a_vm_id_with_cas() {
        let a = vm("vm", 1);
        let mut b = vm("vm", 2);
        b.shared = a.shared.clone();
        let mut other = vm("other", 3);
        other.shared = a.shared.clone();
        assert_eq!(a.get_shared_data(b"k"), Err(Status::NotFound));
        assert_eq!(a.set_shared_data(b"k", b"", 0), Ok(()), "empty values are stored");
        let (value, cas) = b.get_shared_data(b"k").unwrap();
        assert_eq!(value, b"");
        assert_eq!(b.set_shared_data(b"k", b"v", cas + 1), Err(Status::CasMismatch));
        assert_eq!(b.set_shared_data(b"k", b"v", cas), Ok(()));
        assert_eq!(
            a.set_shared_data(b"k", b"w", cas),
            Err(Status::CasMismatch),
            "stale cas"
        );
        assert_eq!(a.get_shared_data(b"k").map(|(v, _)| v), Ok(b"v".to_vec()));
        assert_eq!(other.get_shared_data(b"k"), Err(Status::NotFound), "another VM id");
    }

    #[test]
    fn queues_resolve_in_the_own_vm_and_notify_the_owner_root() {
        let s = vm("vm", 7);
        let token = s.register_shared_queue(b"q");
        assert_eq!(s.register_shared_queue(b"q"), token, "registering again");
        assert_eq!(s.resolve_shared_queue(b"", b"q"), Ok(token), "empty vm_id is our own");
        assert_eq!(s.resolve_shared_queue(b"vm", b"q"), Ok(token));
        assert_eq!(s.resolve_shared_queue(b"other", b"q"), Err(Status::NotFound));
        assert_eq!(s.dequeue_shared_queue(token), Err(Status::Empty));
        assert_eq!(s.enqueue_shared_queue(token, b"item"), Ok(()));
        assert_eq!(s.enqueue_shared_queue(token + 1, b"x"), Err(Status::NotFound));
        assert_eq!(s.shared.take_ready(7), vec![(ROOT, token)], "the stream's root owns it");
        assert_eq!(s.dequeue_shared_queue(token), Ok(b"item".to_vec()));
        assert_eq!(s.dequeue_shared_queue(token + 1), Err(Status::NotFound));
    }
}
