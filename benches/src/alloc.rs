//! A global allocator that counts the heap bytes in use, for memory figures.
//!
//! ```no_run
//! use meshward_benches::alloc::CountingAlloc;
//! #[global_allocator]
//! static ALLOC: CountingAlloc = CountingAlloc::new();
//! let before = ALLOC.current();
//! let v = vec![0u8; 4096];
//! assert!(ALLOC.current() >= before + 4096);
//! # drop(v);
//! ```

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

/// The system allocator plus counters of bytes in use (current and peak) and allocations made.
pub struct CountingAlloc {
    current: AtomicUsize,
    peak: AtomicUsize,
    allocations: AtomicUsize,
}

impl CountingAlloc {
    /// A counter starting at zero.
    pub const fn new() -> Self {
        CountingAlloc {
            current: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
            allocations: AtomicUsize::new(0),
        }
    }

    /// Bytes currently allocated (as requested by callers, without allocator overhead).
    pub fn current(&self) -> usize {
        self.current.load(Ordering::Relaxed)
    }

    /// Highest value [`CountingAlloc::current`] reached since the last [`CountingAlloc::reset_peak`].
    pub fn peak(&self) -> usize {
        self.peak.load(Ordering::Relaxed)
    }

    /// Number of allocations (including reallocations) made so far.
    pub fn allocations(&self) -> usize {
        self.allocations.load(Ordering::Relaxed)
    }

    /// Starts a new peak measurement from the current level.
    pub fn reset_peak(&self) {
        self.peak.store(self.current(), Ordering::Relaxed);
    }

    fn grew(&self, by: usize) {
        let now = self.current.fetch_add(by, Ordering::Relaxed) + by;
        self.peak.fetch_max(now, Ordering::Relaxed);
    }

    fn shrank(&self, by: usize) {
        self.current.fetch_sub(by, Ordering::Relaxed);
    }
}

impl Default for CountingAlloc {
    fn default() -> Self {
        Self::new()
    }
}

// SAFETY: every call is forwarded unchanged to `System`; the counters only observe sizes.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as ours.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            self.allocations.fetch_add(1, Ordering::Relaxed);
            self.grew(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as ours.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            self.allocations.fetch_add(1, Ordering::Relaxed);
            self.grew(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) };
        self.shrank(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: same contract as ours.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            self.allocations.fetch_add(1, Ordering::Relaxed);
            if new_size >= layout.size() {
                self.grew(new_size - layout.size());
            } else {
                self.shrank(layout.size() - new_size);
            }
        }
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // A private instance (not the global allocator) driven directly, so tests running in
    // parallel do not disturb the figures.
    #[test]
    fn counts_current_and_peak_through_alloc_realloc_dealloc() {
        let a = CountingAlloc::new();
        let layout = Layout::from_size_align(1000, 8).unwrap();
        // SAFETY: non-zero sizes; each pointer is checked non-null before use, reallocated and freed
        // with the layout it currently has, and freed once.
        unsafe {
            let p = a.alloc(layout);
            assert!(!p.is_null());
            assert_eq!(a.current(), 1000);
            let p = a.realloc(p, layout, 3000);
            assert_eq!(a.current(), 3000);
            assert_eq!(a.peak(), 3000);
            let big = Layout::from_size_align(3000, 8).unwrap();
            let p = a.realloc(p, big, 500);
            assert_eq!(a.current(), 500);
            assert_eq!(a.peak(), 3000);
            a.reset_peak();
            assert_eq!(a.peak(), 500);
            let z = a.alloc_zeroed(layout);
            assert_eq!(*z, 0);
            assert_eq!(a.current(), 1500);
            a.dealloc(z, layout);
            a.dealloc(p, Layout::from_size_align(500, 8).unwrap());
        }
        assert_eq!(a.current(), 0);
        assert_eq!(a.peak(), 1500);
        assert_eq!(a.allocations(), 4);
    }
}
