//! What the in-kernel test files share: the [`Test`] entry of a table, the
//! `kassert!` macro that fails a test with a message, running a command
//! into a `String`, the kernel heap's own verdict, and heap blocks to test
//! allocators over.

// course: module 02
use crate::kernel::commands;
// course: end
// course: module 03
use crate::kernel::heap as kheap;
// course: end
// course: module 02
use crate::kernel::host::KernelHost;
// course: end
// course: module 03
use crate::kernel::playground;
// course: end
// course: module 07
use crate::mm::family::Range;
// course: end
// course: module 03
use crate::mm::heap::HeapBackend;
use crate::mm::heap::playground::DEFAULT_MAX_SCALE;
// course: end
// course: module 02
use crate::shell::Host;
// course: end
// course: module 03
use alloc::alloc::{Layout, alloc_zeroed, dealloc};
use alloc::format;
// course: end
use alloc::string::String;
// course: module 03
use core::ptr::NonNull;
// course: end

/// One in-kernel test.
pub struct Test {
    pub name: &'static str,
    pub run: fn() -> Result<(), String>,
}

/// Fail the test with a message unless `cond` holds.
#[macro_export]
macro_rules! kassert {
    ($cond:expr, $($msg:tt)*) => {
        if !$cond {
            return Err(alloc::format!($($msg)*));
        }
    };
}

/// What a test returns: `Err` carries the failure message.
pub type TestResult = Result<(), String>;

// course: module 02
/// Run a command line and return what it printed.
pub fn run_command(line: &str) -> String {
    run_command_with_room(line, 0)
}

/// Like [`run_command`], into a `String` with `bytes` reserved beforehand
/// (so writing the output does not make the heap grow and take frames).
pub fn run_command_with_room(line: &str, bytes: usize) -> String {
    let mut out = String::with_capacity(bytes);
    commands::run(line, &mut out);
    out
}

/// Run a command line and check that its output holds every one of `want`
/// and none of `not` (the output is dropped before returning, so heap
/// figures taken after it do not count it).
pub fn expect_output(line: &str, want: &[&str], not: &[&str]) -> TestResult {
    let out = run_command(line);
    for w in want {
        kassert!(out.contains(w), "`{line}` printed no `{w}`:\n{out}");
    }
    for n in not {
        kassert!(!out.contains(n), "`{line}` printed `{n}`:\n{out}");
    }
    Ok(())
}
// course: end

// course: module 03
/// The kernel heap's own verdict.
pub fn kernel_heap_ok() -> Result<(), String> {
    match kheap::with(|h| HeapBackend::check(h)) {
        Some(Ok(())) => Ok(()),
        Some(Err(e)) => Err(format!("{} heap check: {e}", kheap::kind().name())),
        None => Err("no kernel heap".into()),
    }
}

/// A block of kernel heap memory, zeroed and given back when dropped.
pub struct HeapBlock {
    pub ptr: NonNull<u8>,
    pub layout: Layout,
}

impl HeapBlock {
    pub fn new(size: usize, align: usize) -> Result<HeapBlock, String> {
        let layout = Layout::from_size_align(size, align).map_err(|e| format!("{e}"))?;
        // SAFETY: tests ask for non-zero sizes.
        let ptr = NonNull::new(unsafe { alloc_zeroed(layout) }).ok_or_else(|| {
            format!(
                "the kernel heap has no {size} bytes (grown {} times: {:?})",
                kheap::times_grown(),
                kheap::stats()
            )
        })?;
        Ok(HeapBlock { ptr, layout })
    }
    pub fn addr(&self) -> usize {
        self.ptr.as_ptr().expose_provenance()
    }
    // course: module 07
    pub fn range(&self) -> Range {
        Range {
            address: self.addr(),
            size: self.layout.size(),
            alignment: 0,
        }
    }
    // course: end
}

impl Drop for HeapBlock {
    fn drop(&mut self) {
        // SAFETY: allocated in `new` with this layout; freed once.
        unsafe { dealloc(self.ptr.as_ptr(), self.layout) };
    }
}
// course: end

/// Fill `len` bytes at `addr` with `v`.
pub fn fill(addr: usize, len: usize, v: u8) {
    // SAFETY: callers pass memory they own.
    unsafe { core::ptr::write_bytes(core::ptr::with_exposed_provenance_mut::<u8>(addr), v, len) };
}

/// True when every one of `len` bytes at `addr` is `v`.
pub fn holds(addr: usize, len: usize, v: u8) -> bool {
    // SAFETY: callers pass memory they own.
    unsafe { core::slice::from_raw_parts(core::ptr::with_exposed_provenance::<u8>(addr), len) }
        .iter()
        .all(|&b| b == v)
}

// course: module 03
/// The kernel heap's statistics, or why there are none.
pub fn heap_stats() -> Result<crate::mm::heap::HeapStats, String> {
    kheap::stats().ok_or_else(|| String::from("no kernel heap"))
}

/// Reset the playground to its boot state (1 KiB, scales 4..A) and return its
/// heap's first address.
pub fn fresh_playground() -> Result<usize, String> {
    playground::resize_playground(DEFAULT_MAX_SCALE).map_err(|e| format!("{e}"))?;
    Ok(playground::with_playground(|p| p.heap().start_addr()))
}
// course: end

// course: module 02
/// Press `keys` in hotkey mode and return what was printed, without the
/// colour sequences (refusals come in the error colour).
pub fn press(keys: &str) -> Result<String, String> {
    let mut host = KernelHost::new();
    let mut out = String::new();
    for c in keys.chars().filter(|c| !c.is_whitespace()) {
        kassert!(host.hotkey(c, &mut out), "`{c}` is not a hotkey");
    }
    let mut filter = crate::term::ColorFilter::new();
    let mut plain = alloc::vec::Vec::with_capacity(out.len());
    for b in out.bytes() {
        filter.feed(b, |c| plain.push(c));
    }
    String::from_utf8(plain).map_err(|e| alloc::format!("{e}"))
}
// course: end
