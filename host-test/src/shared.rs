//! Shared key-value data (with compare-and-swap) and shared queues, shared by every plugin
//! created from one `Host` with the same VM id, as Envoy shares them between VMs.

use meshward_abi::Status;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

#[derive(Debug, Default)]
struct Queue {
    owner_plugin: u64,
    owner_context: u32,
    items: VecDeque<Vec<u8>>,
}

#[derive(Debug)]
struct Inner {
    // (vm_id, key) -> (value, cas)
    data: HashMap<(String, Vec<u8>), (Vec<u8>, u32)>,
    next_cas: u32,
    queues: HashMap<u32, Queue>,
    queue_names: HashMap<(String, Vec<u8>), u32>,
    next_token: u32,
    // plugin id -> (root context id, queue token) notifications waiting for delivery
    ready: HashMap<u64, Vec<(u32, u32)>>,
}

/// Host-wide shared data and queues (cheap to clone; clones share state).
#[derive(Debug, Clone)]
pub struct SharedStore {
    inner: Arc<Mutex<Inner>>,
}

impl Default for SharedStore {
    fn default() -> Self {
        SharedStore {
            inner: Arc::new(Mutex::new(Inner {
                data: HashMap::new(),
                next_cas: 1,
                queues: HashMap::new(),
                queue_names: HashMap::new(),
                next_token: 1,
                ready: HashMap::new(),
            })),
        }
    }
}

impl SharedStore {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves plain data behind; keep using it.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `proxy_get_shared_data`: value and CAS, or NotFound.
    pub fn get(&self, vm_id: &str, key: &[u8]) -> Result<(Vec<u8>, u32), Status> {
        self.lock()
            .data
            .get(&(vm_id.to_string(), key.to_vec()))
            .cloned()
            .ok_or(Status::NotFound)
    }

    /// `proxy_set_shared_data`: a non-zero `cas` must match the current one.
    pub fn set(&self, vm_id: &str, key: &[u8], value: &[u8], cas: u32) -> Status {
        let mut g = self.lock();
        let cas_now = g.next_cas;
        if let Some(entry) = g.data.get(&(vm_id.to_string(), key.to_vec())) {
            if cas != 0 && cas != entry.1 {
                return Status::CasMismatch;
            }
        }
        // The CAS counter moves only on successful writes (Envoy row E25).
        g.next_cas = g.next_cas.wrapping_add(1).max(1);
        match g.data.get_mut(&(vm_id.to_string(), key.to_vec())) {
            Some(entry) => {
                if cas != 0 && cas != entry.1 {
                    return Status::CasMismatch;
                }
                *entry = (value.to_vec(), cas_now);
            }
            None => {
                g.data
                    .insert((vm_id.to_string(), key.to_vec()), (value.to_vec(), cas_now));
            }
        }
        Status::Ok
    }

    /// All shared data of a VM id, for inspection by tests.
    pub fn snapshot(&self, vm_id: &str) -> Vec<(Vec<u8>, Vec<u8>)> {
        let mut v: Vec<_> = self
            .lock()
            .data
            .iter()
            .filter(|((vm, _), _)| vm == vm_id)
            .map(|((_, k), (v, _))| (k.clone(), v.clone()))
            .collect();
        v.sort();
        v
    }

    /// `proxy_register_shared_queue`: re-registering a name returns the same token.
    pub fn register_queue(&self, vm_id: &str, name: &[u8], plugin: u64, context: u32) -> u32 {
        let mut g = self.lock();
        let key = (vm_id.to_string(), name.to_vec());
        if let Some(&token) = g.queue_names.get(&key) {
            if let Some(q) = g.queues.get_mut(&token) {
                q.owner_plugin = plugin;
                q.owner_context = context;
            }
            return token;
        }
        let token = g.next_token;
        g.next_token += 1;
        g.queue_names.insert(key, token);
        g.queues.insert(
            token,
            Queue {
                owner_plugin: plugin,
                owner_context: context,
                items: VecDeque::new(),
            },
        );
        token
    }

    /// `proxy_resolve_shared_queue`.
    pub fn resolve_queue(&self, vm_id: &str, name: &[u8]) -> Result<u32, Status> {
        self.lock()
            .queue_names
            .get(&(vm_id.to_string(), name.to_vec()))
            .copied()
            .ok_or(Status::NotFound)
    }

    /// `proxy_enqueue_shared_queue`: queues the item and notifies the owner.
    pub fn enqueue(&self, token: u32, data: &[u8]) -> Status {
        let mut g = self.lock();
        let Some(q) = g.queues.get_mut(&token) else {
            return Status::NotFound;
        };
        q.items.push_back(data.to_vec());
        let (plugin, ctx) = (q.owner_plugin, q.owner_context);
        g.ready.entry(plugin).or_default().push((ctx, token));
        Status::Ok
    }

    /// `proxy_dequeue_shared_queue`: NotFound for an unknown token, Empty for an empty queue.
    pub fn dequeue(&self, token: u32) -> Result<Vec<u8>, Status> {
        let mut g = self.lock();
        let q = g.queues.get_mut(&token).ok_or(Status::NotFound)?;
        q.items.pop_front().ok_or(Status::Empty)
    }

    /// Takes the queue-ready notifications waiting for `plugin`.
    pub fn take_ready(&self, plugin: u64) -> Vec<(u32, u32)> {
        self.lock().ready.remove(&plugin).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cas_semantics() {
        let s = SharedStore::default();
        assert_eq!(s.get("", b"k"), Err(Status::NotFound));
        assert_eq!(s.set("", b"k", b"v1", 0), Status::Ok);
        let (v, cas) = s.get("", b"k").unwrap();
        assert_eq!(v, b"v1");
        assert_eq!(s.set("", b"k", b"v2", cas + 100), Status::CasMismatch);
        assert_eq!(s.set("", b"k", b"v2", cas), Status::Ok);
        assert_eq!(s.set("", b"k", b"v3", cas), Status::CasMismatch);
        assert_eq!(s.get("other", b"k"), Err(Status::NotFound));
    }

    #[test]
    fn queues() {
        let s = SharedStore::default();
        let t = s.register_queue("", b"q", 1, 1);
        assert_eq!(s.register_queue("", b"q", 1, 1), t);
        assert_eq!(s.resolve_queue("", b"q"), Ok(t));
        assert_eq!(s.resolve_queue("", b"nope"), Err(Status::NotFound));
        assert_eq!(s.dequeue(t), Err(Status::Empty));
        assert_eq!(s.enqueue(t + 9, b"x"), Status::NotFound);
        assert_eq!(s.enqueue(t, b"x"), Status::Ok);
        assert_eq!(s.take_ready(1), vec![(1, t)]);
        assert_eq!(s.dequeue(t), Ok(b"x".to_vec()));
        assert_eq!(s.dequeue(99), Err(Status::NotFound));
    }
}
