//! Helpers shared by the host tests: the seeded random generator
//! (`crate::rand::Rng`) and the operation count of the model ("property") tests.
//!
//! Every allocator's model test runs `soak_ops()` random operations: a modest
//! number under `make test`, `CAIRN_SOAK_OPS` (1,000,000 from `make soak`) when set.

/// Operations a model test runs under Miri when `CAIRN_SOAK_OPS` is not
/// forwarded (Miri interprets every instruction: thousands of times slower).
pub const MIRI_SOAK_OPS: usize = 300;

/// Operations a model test runs: `CAIRN_SOAK_OPS` if set, else `default`
/// (at most [`MIRI_SOAK_OPS`] under Miri).
pub fn soak_ops(default: usize) -> usize {
    let default = if cfg!(miri) {
        default.min(MIRI_SOAK_OPS)
    } else {
        default
    };
    std::env::var("CAIRN_SOAK_OPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// `normal` on the host, `miri` under Miri: the sizes (arenas, simulated
/// memory, loop counts, check intervals) a test scales down so the
/// interpreter runs it in seconds while it still reaches every path it
/// asserts on.
pub const fn miri_or(normal: usize, miri: usize) -> usize {
    if cfg!(miri) { miri } else { normal }
}

pub use crate::rand::Rng;
use core::alloc::Layout;

/// Page-aligned zeroed host memory that stands in for a heap region (never empty).
#[allow(clippy::len_without_is_empty)] // an arena is never empty
pub struct Arena {
    ptr: *mut u8,
    layout: Layout,
}

impl Arena {
    /// `size` zeroed bytes aligned to 4096.
    pub fn new(size: usize) -> Arena {
        let layout = Layout::from_size_align(size, 4096).unwrap();
        // SAFETY: size is non-zero in every use.
        let ptr = unsafe { std::alloc::alloc_zeroed(layout) };
        assert!(!ptr.is_null());
        Arena { ptr, layout }
    }
    /// First byte, as an address for the allocators that keep addresses as
    /// integers (the family's `Range`, a heap's regions): the arena's
    /// provenance is exposed here, as the kernel's memory map exposes RAM,
    /// so their `with_exposed_provenance` finds it. Tests hand pointers
    /// from [`ptr`](Self::ptr), [`at`](Self::at) or [`pointer`](Self::pointer).
    pub fn start(&self) -> usize {
        self.ptr.expose_provenance()
    }
    /// The first byte as a pointer (with the arena's provenance).
    pub fn ptr(&self) -> *mut u8 {
        self.ptr
    }
    /// A pointer to address `addr` of the arena (`start..=end`), derived
    /// from the arena's own pointer: the pointer a test hands to the
    /// allocator it tests, never one made from an integer alone.
    pub fn at(&self, addr: usize) -> *mut u8 {
        assert!(
            (self.start()..=self.end()).contains(&addr),
            "{addr:#x} is outside the arena {:#x}..{:#x}",
            self.start(),
            self.end()
        );
        self.ptr.with_addr(addr)
    }
    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.layout.size()
    }
    /// One past the last byte.
    pub fn end(&self) -> usize {
        self.start() + self.len()
    }
    /// A non-null pointer to `addr` for a test to hand to an allocator: with
    /// the arena's provenance inside it (or one past its end), with none
    /// outside (a wild pointer of a bad-input test, which the allocator
    /// must refuse without reading through it).
    pub fn pointer(&self, addr: usize) -> core::ptr::NonNull<u8> {
        let p = if (self.start()..=self.end()).contains(&addr) {
            self.at(addr)
        } else {
            core::ptr::without_provenance_mut(addr)
        };
        core::ptr::NonNull::new(p).expect("a test address is never 0")
    }
    /// A copy of the contents.
    pub fn snapshot(&self) -> Vec<u8> {
        // SAFETY: the arena is valid for its whole length.
        unsafe { core::slice::from_raw_parts(self.ptr, self.len()).to_vec() }
    }
}

impl Drop for Arena {
    fn drop(&mut self) {
        // SAFETY: allocated in `new` with this layout.
        unsafe { std::alloc::dealloc(self.ptr, self.layout) }
    }
}

#[path = "../tests/common/ansi.rs"]
mod ansi;
pub use ansi::strip_ansi;
