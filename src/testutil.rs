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
    /// First byte.
    pub fn start(&self) -> usize {
        self.ptr as usize
    }
    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.layout.size()
    }
    /// One past the last byte.
    pub fn end(&self) -> usize {
        self.start() + self.len()
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
