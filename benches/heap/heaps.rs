//! The heaps the benchmark compares, behind one small trait.
//!
//! To add a heap: implement [`BenchHeap`] for a wrapper type and add one
//! `entry::<YourHeap>()` line to [`all`]. Every heap gets the same arena (a
//! power of two in size, aligned to its size) and the same operations.

use std::alloc::Layout;
use std::ptr::NonNull;

use std::alloc::GlobalAlloc;

use cairn::mm::heap::{BuddyHeap, HeapKind, KernelHeap};
use cairn::mm::heap::{FirstFitHeap, GapTreeHeap, HeapBackend, PoolHeap, VoidPolicy};

/// What the benchmark needs from a heap. `&mut self`: no locks, every heap is
/// measured through its own single-threaded API.
pub trait BenchHeap: Sized {
    /// Name in tables and plots.
    const NAME: &'static str;
    /// A heap over `len` bytes at `arena`.
    ///
    /// # Safety
    /// `arena..arena+len` is valid, writable, aligned to `len` (a power of
    /// two), and used by nothing else while the heap lives.
    unsafe fn new(arena: *mut u8, len: usize) -> Self;
    /// Allocate for `layout` (non-zero size), or `None` when out of memory.
    fn alloc(&mut self, layout: Layout) -> Option<NonNull<u8>>;
    /// Free an allocation.
    ///
    /// # Safety
    /// `ptr` came from `alloc(layout)` on this heap and is not freed yet.
    unsafe fn free(&mut self, ptr: NonNull<u8>, layout: Layout);
}

/// One heap as the benchmark driver sees it: its name and the workloads
/// instantiated for its type.
pub struct Entry {
    pub name: &'static str,
    pub random_actions: fn(&mut [u8], usize, u64, std::time::Duration) -> crate::Throughput,
    pub scaling: fn(&mut [u8], usize, u64, usize) -> f64,
    pub efficiency: fn(&mut [u8], usize, u64) -> f64,
    pub latency: fn(&mut [u8], u64, usize) -> crate::Latency,
}

fn entry<H: BenchHeap>() -> Entry {
    Entry {
        name: H::NAME,
        random_actions: crate::random_actions::<H>,
        scaling: crate::scaling::<H>,
        efficiency: crate::efficiency::<H>,
        latency: crate::latency::<H>,
    }
}

/// Every heap in the comparison; the kernel's path first (ratios are to it).
pub fn all() -> Vec<Entry> {
    vec![
        entry::<CairnKernel>(),
        entry::<Cairn>(),
        entry::<CairnChecked>(),
        entry::<Talc>(),
        entry::<Rlsf>(),
        entry::<BuddySystem>(),
        entry::<LinkedList>(),
        entry::<Family<GapTreeHeap>>(),
        entry::<Family<FirstFitHeap>>(),
        entry::<Family<PoolHeap>>(),
    ]
}

fn log2(len: usize) -> u8 {
    assert!(len.is_power_of_two());
    len.trailing_zeros() as u8
}

/// The path the kernel runs: `KernelHeap` over the buddy design (spin lock,
/// dispatch, every free checked through the side table), as
/// `KernelHeap::over` builds it, called through `GlobalAlloc`.
pub struct CairnKernel(KernelHeap);

impl BenchHeap for CairnKernel {
    const NAME: &'static str = "cairn kernel path";
    unsafe fn new(arena: *mut u8, len: usize) -> Self {
        // SAFETY: forwarded from the caller.
        CairnKernel(unsafe { KernelHeap::over(HeapKind::Buddy, arena, len) }.expect("kernel heap"))
    }
    #[inline]
    fn alloc(&mut self, layout: Layout) -> Option<NonNull<u8>> {
        // SAFETY: the benchmark never asks for zero bytes.
        NonNull::new(unsafe { GlobalAlloc::alloc(&self.0, layout) })
    }
    #[inline]
    unsafe fn free(&mut self, ptr: NonNull<u8>, layout: Layout) {
        // SAFETY: forwarded from the caller.
        unsafe { GlobalAlloc::dealloc(&self.0, ptr.as_ptr(), layout) }
    }
}

/// Cairn's buddy heap used directly, no lock, unchecked free: `alloc_layout`
/// + `dealloc` (for a caller that trusts its pointers).
pub struct Cairn(BuddyHeap);

impl BenchHeap for Cairn {
    const NAME: &'static str = "cairn raw fast path";
    unsafe fn new(arena: *mut u8, len: usize) -> Self {
        // SAFETY: forwarded from the caller.
        Cairn(unsafe { BuddyHeap::new(arena, len, 4, log2(len)) }.expect("cairn heap"))
    }
    #[inline]
    fn alloc(&mut self, layout: Layout) -> Option<NonNull<u8>> {
        self.0.alloc_layout(layout).ok()
    }
    #[inline]
    unsafe fn free(&mut self, ptr: NonNull<u8>, layout: Layout) {
        // SAFETY: forwarded from the caller.
        unsafe { self.0.dealloc(ptr, layout) }
    }
}

/// Cairn's buddy heap with every free fully checked (`free_layout`).
pub struct CairnChecked(BuddyHeap);

impl BenchHeap for CairnChecked {
    const NAME: &'static str = "cairn raw, checked free";
    unsafe fn new(arena: *mut u8, len: usize) -> Self {
        // SAFETY: forwarded from the caller.
        CairnChecked(unsafe { BuddyHeap::new(arena, len, 4, log2(len)) }.expect("cairn heap"))
    }
    #[inline]
    fn alloc(&mut self, layout: Layout) -> Option<NonNull<u8>> {
        self.0.alloc_layout(layout).ok()
    }
    #[inline]
    unsafe fn free(&mut self, ptr: NonNull<u8>, layout: Layout) {
        self.0.free_layout(ptr, layout).expect("valid free");
    }
}

/// talc 5 (`Talc<Manual, DefaultBinning>`), raw API.
pub struct Talc(talc::base::Talc<talc::source::Manual, talc::DefaultBinning>);

impl BenchHeap for Talc {
    const NAME: &'static str = "talc";
    unsafe fn new(arena: *mut u8, len: usize) -> Self {
        let mut t = talc::base::Talc::new(talc::source::Manual);
        // SAFETY: forwarded from the caller.
        unsafe { t.claim(arena, len) }.expect("talc claim");
        Talc(t)
    }
    #[inline]
    fn alloc(&mut self, layout: Layout) -> Option<NonNull<u8>> {
        // SAFETY: the benchmark never asks for zero bytes.
        unsafe { self.0.allocate(layout) }
    }
    #[inline]
    unsafe fn free(&mut self, ptr: NonNull<u8>, layout: Layout) {
        // SAFETY: forwarded from the caller.
        unsafe { self.0.deallocate(ptr.as_ptr(), layout) }
    }
}

/// rlsf 0.2 TLSF, configured as in talc's own benchmarks.
pub struct Rlsf(
    rlsf::Tlsf<'static, usize, usize, { usize::BITS as usize - 12 }, { usize::BITS as usize }>,
);

impl BenchHeap for Rlsf {
    const NAME: &'static str = "rlsf";
    unsafe fn new(arena: *mut u8, len: usize) -> Self {
        let mut t = rlsf::Tlsf::new();
        let block = NonNull::slice_from_raw_parts(NonNull::new(arena).expect("arena"), len);
        // SAFETY: forwarded from the caller.
        unsafe { t.insert_free_block_ptr(block) }.expect("rlsf pool");
        Rlsf(t)
    }
    #[inline]
    fn alloc(&mut self, layout: Layout) -> Option<NonNull<u8>> {
        self.0.allocate(layout)
    }
    #[inline]
    unsafe fn free(&mut self, ptr: NonNull<u8>, layout: Layout) {
        // SAFETY: forwarded from the caller.
        unsafe { self.0.deallocate(ptr, layout.align()) }
    }
}

/// buddy_system_allocator 0.13 (`Heap<32>`): headerless buddy, free scans a list.
pub struct BuddySystem(buddy_system_allocator::Heap<32>);

impl BenchHeap for BuddySystem {
    const NAME: &'static str = "buddy_system_allocator";
    unsafe fn new(arena: *mut u8, len: usize) -> Self {
        let mut h = buddy_system_allocator::Heap::<32>::new();
        // SAFETY: forwarded from the caller.
        unsafe { h.init(arena.addr(), len) };
        BuddySystem(h)
    }
    #[inline]
    fn alloc(&mut self, layout: Layout) -> Option<NonNull<u8>> {
        self.0.alloc(layout).ok()
    }
    #[inline]
    unsafe fn free(&mut self, ptr: NonNull<u8>, layout: Layout) {
        // SAFETY: forwarded from the caller.
        unsafe { self.0.dealloc(ptr, layout) }
    }
}

/// linked_list_allocator 0.10: address-ordered first fit.
pub struct LinkedList(linked_list_allocator::Heap);

impl BenchHeap for LinkedList {
    const NAME: &'static str = "linked_list_allocator";
    unsafe fn new(arena: *mut u8, len: usize) -> Self {
        let mut h = linked_list_allocator::Heap::empty();
        // SAFETY: forwarded from the caller.
        unsafe { h.init(arena, len) };
        LinkedList(h)
    }
    #[inline]
    fn alloc(&mut self, layout: Layout) -> Option<NonNull<u8>> {
        self.0.allocate_first_fit(layout).ok()
    }
    #[inline]
    unsafe fn free(&mut self, ptr: NonNull<u8>, layout: Layout) {
        // SAFETY: forwarded from the caller.
        unsafe { self.0.deallocate(ptr, layout) }
    }
}

/// The allocator family's kernel heaps, measured through `HeapBackend` (the
/// path the kernel's global allocator takes, checked frees included): each
/// needs only its name and an empty heap; one adapter does the rest.
pub trait FamilyHeap: HeapBackend {
    const NAME: &'static str;
    fn empty() -> Self;
}

impl FamilyHeap for GapTreeHeap {
    /// Seed 002's heap: AVL trees by length and address, best fit.
    const NAME: &'static str = "cairn gaptree";
    fn empty() -> Self {
        GapTreeHeap::new(VoidPolicy::NoVoid)
    }
}

impl FamilyHeap for FirstFitHeap {
    /// Seed 004's first-fit free list.
    const NAME: &'static str = "cairn firstfit";
    fn empty() -> Self {
        FirstFitHeap::new()
    }
}

impl FamilyHeap for PoolHeap {
    /// FreeNOS PoolAllocator over a page arena.
    const NAME: &'static str = "cairn pool";
    fn empty() -> Self {
        PoolHeap::new()
    }
}

/// A [`FamilyHeap`] as a benchmarked heap.
pub struct Family<H>(H);

impl<H: FamilyHeap> BenchHeap for Family<H> {
    const NAME: &'static str = H::NAME;
    unsafe fn new(arena: *mut u8, len: usize) -> Self {
        let mut h = H::empty();
        // SAFETY: forwarded from the caller.
        unsafe { HeapBackend::add_region(&mut h, arena as usize, len) }.expect(H::NAME);
        Family(h)
    }
    #[inline]
    fn alloc(&mut self, layout: Layout) -> Option<NonNull<u8>> {
        HeapBackend::alloc(&mut self.0, layout).ok()
    }
    #[inline]
    unsafe fn free(&mut self, ptr: NonNull<u8>, layout: Layout) {
        HeapBackend::dealloc(&mut self.0, ptr, layout).expect("valid free");
    }
}
