//! BitAllocator: one bit per fixed-size chunk of a range, its allocations
//! kept as runs over two bit arrays ([`crate::mm::runs::Runs`], shared with
//! the frame allocators).
//!
//! ```text
//!   range:  base                                                  base+size
//!           | c0 | c1 | c2 | c3 | c4 | c5 | c6 | c7 | c8 | c9 | ...
//!   used:      #    #    #    .    #    #    .    .    #    .
//!   starts:    #    .    .    .    #    .    .    .    #    .
//!              └─ one allocation ─┘ └─ one ─┘           └ one ┘
//! ```
//!
//! FreeNOS keeps only the `used` bits, so releasing a run of several chunks
//! frees its first chunk and leaks the rest, and releasing a free chunk or an
//! address inside a run goes unnoticed (an `assert` at best). Cairn keeps a
//! second bit array marking where each allocation starts: `release` frees
//! the whole run, and refuses an address that is not the start of a live
//! allocation (double free, interior or wild pointer) without changing
//! anything. Alignment is of the *address* (FreeNOS aligned the chunk index,
//! which is the same only when the base is aligned).
//!
//! Use it when all requests are multiples of one size (pages, fixed
//! objects), when a dense picture of use is wanted (one bit per chunk), and
//! when "allocate exactly this address" must be possible (`allocate_at`).

use super::{AllocError, Allocator, FamilyCheckError, Range};
use crate::mm::bitmap::Bitmap;
use crate::mm::runs::{Runs, RunsCheckError};
use core::fmt;

/// A bitmap allocator of `chunk`-byte pieces over one range.
pub struct BitAllocator<S> {
    range: Range,
    chunk: usize,
    runs: Runs<S>,
}

/// Bit storage inside raw memory (for allocators that keep their bitmap
/// in the memory they manage, like the pools and the kernel page arena).
pub struct RawWords {
    ptr: *mut u32,
    len: usize,
}

impl RawWords {
    /// `len` words at `ptr`.
    ///
    /// # Safety
    /// `ptr` must be 4-aligned and valid for reads and writes of `len` words
    /// for as long as the value (and anything built on it) lives, and be used
    /// by nothing else.
    pub unsafe fn new(ptr: *mut u32, len: usize) -> RawWords {
        RawWords { ptr, len }
    }
}

impl AsRef<[u32]> for RawWords {
    fn as_ref(&self) -> &[u32] {
        // SAFETY: the contract of `new`.
        unsafe { core::slice::from_raw_parts(self.ptr, self.len) }
    }
}

impl AsMut<[u32]> for RawWords {
    fn as_mut(&mut self) -> &mut [u32] {
        // SAFETY: the contract of `new`; `&mut self` makes the borrow unique.
        unsafe { core::slice::from_raw_parts_mut(self.ptr, self.len) }
    }
}

// SAFETY: RawWords exclusively owns its words (contract of `new`).
unsafe impl Send for RawWords {}

impl<S: AsRef<[u32]> + AsMut<[u32]>> BitAllocator<S> {
    /// Storage words each of the two bit arrays needs for `size` bytes of `chunk`-byte chunks.
    pub const fn words_needed(size: usize, chunk: usize) -> usize {
        Bitmap::<S>::words_for(size / chunk)
    }

    /// An allocator of `chunk_size`-byte chunks over `range` (a trailing
    /// partial chunk is not used), with `used` and `starts` as storage of
    /// at least [`words_needed`](Self::words_needed) words each. Errors:
    /// `InvalidSize` (no whole chunk, zero chunk size, storage too small),
    /// `InvalidAlignment` (range alignment not a power of two).
    pub fn new(range: Range, chunk_size: usize, used: S, starts: S) -> Result<Self, AllocError> {
        if chunk_size == 0
            || range.size < chunk_size
            || range.address.checked_add(range.size).is_none()
        {
            return Err(AllocError::InvalidSize);
        }
        if range.alignment != 0 && !range.alignment.is_power_of_two() {
            return Err(AllocError::InvalidAlignment);
        }
        let n = range.size / chunk_size;
        let used = Bitmap::new(used, n).map_err(|_| AllocError::InvalidSize)?;
        let starts = Bitmap::new(starts, n).map_err(|_| AllocError::InvalidSize)?;
        Ok(BitAllocator {
            range: Range {
                size: n * chunk_size,
                ..range
            },
            chunk: chunk_size,
            runs: Runs::new(used, starts),
        })
    }

    /// Bytes per chunk.
    pub fn chunk_size(&self) -> usize {
        self.chunk
    }

    /// Number of chunks.
    pub fn chunks(&self) -> usize {
        self.runs.len()
    }

    /// Live allocations (runs).
    pub fn allocations(&self) -> usize {
        self.runs.allocations()
    }

    /// Chunk alignment and phase for an address alignment, or an error.
    fn chunk_alignment(&self, alignment: usize) -> Result<(usize, usize), AllocError> {
        let base = self.range.address;
        let a = match alignment {
            0 | 1 => return Ok((1, 0)),
            a if a <= self.chunk && self.chunk.is_multiple_of(a) => {
                if !base.is_multiple_of(a) {
                    return Err(AllocError::InvalidAlignment);
                }
                return Ok((1, 0));
            }
            a if a.is_multiple_of(self.chunk) => {
                if !base.is_multiple_of(self.chunk) {
                    return Err(AllocError::InvalidAlignment);
                }
                a / self.chunk
            }
            _ => return Err(AllocError::InvalidAlignment),
        };
        let first = (base / self.chunk) % a;
        Ok((a, (a - first) % a))
    }

    /// The first free run of `count` chunks whose index is `phase` mod `a`,
    /// searching from chunk `from` and wrapping once.
    fn find_run(&self, count: usize, a: usize, phase: usize, from: usize) -> Option<usize> {
        if phase == 0 {
            return self.runs.used().find_clear_run(count, a, from);
        }
        let n = self.chunks();
        let scan = |lo: usize, hi: usize| {
            let mut s = lo + (phase + a - lo % a) % a;
            while s < hi && s + count <= n {
                if self.runs.is_free(s, count) {
                    return Some(s);
                }
                s += a;
            }
            None
        };
        let from = if from < n { from } else { 0 };
        scan(from, n).or_else(|| scan(0, from))
    }

    /// Allocate like [`Allocator::allocate`] but start the search at byte
    /// offset `offset` from the base (FreeNOS `allocate(args, allocStart)`),
    /// wrapping once. The answer's size is the whole chunks reserved.
    pub fn allocate_from(&mut self, request: Range, offset: usize) -> Result<Range, AllocError> {
        if request.size == 0 {
            return Err(AllocError::InvalidSize);
        }
        let (a, phase) = self.chunk_alignment(request.alignment)?;
        let count = request.size.div_ceil(self.chunk);
        if count > self.chunks() {
            return Err(AllocError::OutOfMemory);
        }
        let start = self
            .find_run(count, a, phase, offset / self.chunk)
            .ok_or(AllocError::OutOfMemory)?;
        self.runs.mark(start, count);
        Ok(Range {
            address: self.range.address + start * self.chunk,
            size: count * self.chunk,
            alignment: request.alignment,
        })
    }

    /// Reserve the chunks covering `[address, address + size)` exactly
    /// there (FreeNOS `allocate(Address)`, which took one chunk). Errors:
    /// `InvalidAddress` (not chunk-aligned, outside, or partly in use),
    /// `InvalidSize` (zero).
    pub fn allocate_at(&mut self, address: usize, size: usize) -> Result<Range, AllocError> {
        if size == 0 {
            return Err(AllocError::InvalidSize);
        }
        let i = self.index_of(address).ok_or(AllocError::InvalidAddress)?;
        let count = size.div_ceil(self.chunk);
        if !self.runs.is_free(i, count) {
            return Err(AllocError::InvalidAddress);
        }
        self.runs.mark(i, count);
        Ok(Range {
            address,
            size: count * self.chunk,
            alignment: 0,
        })
    }

    /// The chunk index of `address`, when it is a chunk start inside the range.
    fn index_of(&self, address: usize) -> Option<usize> {
        let off = address.checked_sub(self.range.address)?;
        if off >= self.range.size || !off.is_multiple_of(self.chunk) {
            return None;
        }
        Some(off / self.chunk)
    }

    /// True when the chunk holding `address` is in use (false outside the range).
    pub fn is_allocated(&self, address: usize) -> bool {
        match address.checked_sub(self.range.address) {
            Some(off) if off < self.range.size => self.runs.is_used(off / self.chunk),
            _ => false,
        }
    }

    /// Bytes of the live allocation starting at `address`; `InvalidAddress`
    /// when no allocation starts there.
    pub fn allocation_size(&self, address: usize) -> Result<usize, AllocError> {
        let i = self.index_of(address).ok_or(AllocError::InvalidAddress)?;
        let len = self
            .runs
            .run_at(i, None)
            .map_err(|_| AllocError::InvalidAddress)?;
        Ok(len * self.chunk)
    }

    /// Bytes of the longest run of free chunks.
    pub fn largest_free(&self) -> usize {
        let n = self.chunks();
        let used = self.runs.used();
        let (mut best, mut i) = (0, 0);
        while let Some(s) = used.next_clear(i) {
            let e = used.next_set(s).unwrap_or(n);
            best = best.max(e - s);
            i = e;
        }
        best * self.chunk
    }

    /// Integrity check: both bit arrays are sound, every start is in use,
    /// and every used chunk either starts a run or continues one.
    pub fn check(&self) -> Result<(), FamilyCheckError> {
        self.runs.check().map_err(|e| match e {
            RunsCheckError::Used(b) | RunsCheckError::Starts(b) => FamilyCheckError::Bitmap(b),
            RunsCheckError::StartOnFree(_) => FamilyCheckError::StartOnFree,
            RunsCheckError::Orphan(_) => FamilyCheckError::Orphan,
        })
    }

    /// A summary line, then the used bits (`#`) 64 chunks to a line.
    pub fn dump(&self, out: &mut dyn fmt::Write) -> fmt::Result {
        writeln!(
            out,
            "bitalloc [{:#010x} , {:#010x}] chunk {}: {} of {} chunks used, {} allocations",
            self.range.address,
            self.range.end() - 1,
            self.chunk,
            self.runs.used().count_ones(),
            self.chunks(),
            self.allocations()
        )?;
        let mut s = alloc::string::String::new();
        self.runs.used().dump(&mut s, 0, self.chunks())?;
        out.write_str(&s)
    }

    /// The bits, for before/after comparisons in tests.
    #[cfg(test)]
    pub(crate) fn words(&self) -> (alloc::vec::Vec<u32>, alloc::vec::Vec<u32>) {
        (
            self.runs.used().as_words().to_vec(),
            self.runs.starts().as_words().to_vec(),
        )
    }
}

impl<S: AsRef<[u32]> + AsMut<[u32]>> Allocator for BitAllocator<S> {
    /// First fit from the base (FreeNOS's current `allocate`).
    fn allocate(&mut self, request: Range) -> Result<Range, AllocError> {
        self.allocate_from(request, 0)
    }

    /// Free the whole run that starts at `address`.
    fn release(&mut self, address: usize) -> Result<(), AllocError> {
        let i = self.index_of(address).ok_or(AllocError::InvalidAddress)?;
        let len = self
            .runs
            .run_at(i, None)
            .map_err(|_| AllocError::InvalidAddress)?;
        self.runs.unmark(i, len);
        Ok(())
    }

    fn size(&self) -> usize {
        self.range.size
    }

    fn available(&self) -> usize {
        self.runs.free_count() * self.chunk
    }

    fn base(&self) -> usize {
        self.range.address
    }

    fn alignment(&self) -> usize {
        self.range.alignment
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mm::layout::PAGE_SIZE;
    use crate::testutil::{Rng, miri_or, soak_ops};
    use alloc::collections::BTreeMap;
    use alloc::vec;
    use alloc::vec::Vec;

    type Bits = BitAllocator<Vec<u32>>;

    fn bits(base: usize, size: usize, chunk: usize) -> Bits {
        let w = Bits::words_needed(size, chunk);
        BitAllocator::new(
            Range {
                address: base,
                size,
                alignment: 4,
            },
            chunk,
            vec![0; w],
            vec![0; w],
        )
        .unwrap()
    }

    fn random_base(seed: u64) -> usize {
        Rng::new(seed).range(0, u32::MAX as usize) & !(PAGE_SIZE - 1)
    }

    // FreeNOS BitConstruct.
    #[test]
    fn construct() {
        let base = random_base(1);
        let b = bits(base, 32 * 64, 32);
        assert_eq!(b.chunk_size(), 32);
        assert_eq!(b.available(), 32 * 64);
        assert_eq!(b.base(), base);
        assert_eq!(b.size(), 32 * 64);
        assert_eq!(b.alignment(), 4);
        assert!(!b.is_allocated(base));
        b.check().unwrap();
    }

    #[test]
    fn construct_rejects_bad_input() {
        let r = Range {
            address: 0,
            size: 64,
            alignment: 4,
        };
        assert!(matches!(
            Bits::new(r, 0, vec![0], vec![0]),
            Err(AllocError::InvalidSize)
        ));
        assert!(matches!(
            Bits::new(r, 128, vec![0], vec![0]),
            Err(AllocError::InvalidSize)
        ));
        let big = Range { size: 33 * 32, ..r };
        assert!(matches!(
            Bits::new(big, 32, vec![0], vec![0; 2]),
            Err(AllocError::InvalidSize)
        ));
        let odd = Range { alignment: 3, ..r };
        assert!(matches!(
            Bits::new(odd, 4, vec![0], vec![0]),
            Err(AllocError::InvalidAlignment)
        ));
    }

    // FreeNOS BitAllocateChunks.
    #[test]
    fn allocate_chunks() {
        let base = random_base(2);
        let mut b = bits(base, 32 * 64, 32);
        for i in 0..10 {
            let r = b.allocate(Range::request(32, 0)).unwrap();
            assert_eq!(r.address, base + 32 * i);
            assert_eq!(r.size, 32);
            assert!(b.is_allocated(r.address));
        }
        for i in 0..64 {
            assert_eq!(b.is_allocated(base + 32 * i), i < 10);
        }
    }

    // FreeNOS BitAllocateBytes: sizes round up to whole chunks.
    #[test]
    fn allocate_bytes() {
        let base = random_base(3);
        let mut b = bits(base, 32 * 256, 32);
        for i in 1..=32 {
            let r = b.allocate(Range::request(i, 0)).unwrap();
            assert_eq!(r.address, base + 32 * (i - 1));
            assert_eq!(r.size, 32);
        }
        let mut next = base + 32 * 32;
        for i in 33..=96 {
            let r = b.allocate(Range::request(i, 0)).unwrap();
            assert_eq!(r.address, next);
            assert_eq!(r.size, i.div_ceil(32) * 32);
            next += r.size;
        }
        for c in (base..base + 32 * 256).step_by(32) {
            assert_eq!(b.is_allocated(c), c < next);
        }
        b.check().unwrap();
    }

    // FreeNOS BitAllocateAlignment, plus an unaligned base.
    #[test]
    fn allocate_alignment() {
        let mut b = bits(32 * 999, 32 * 64, 32);
        let r = b.allocate(Range::request(32, 0)).unwrap();
        assert!(r.address.is_multiple_of(32));
        for i in 1..=10 {
            assert!(
                b.allocate(Range::request(i, 0))
                    .unwrap()
                    .address
                    .is_multiple_of(32)
            );
        }
        for i in 1..=10 {
            let r = b.allocate(Range::request(i, 32 * 3)).unwrap();
            assert!(r.address.is_multiple_of(32 * 3));
        }
        assert_eq!(
            b.allocate(Range::request(1, 33)),
            Err(AllocError::InvalidAlignment)
        );
        // Base 0x1020 is not 256-aligned: the address, not the index, is aligned.
        let mut c = bits(0x1020, 32 * 64, 32);
        let r = c.allocate(Range::request(10, 256)).unwrap();
        assert!(r.address.is_multiple_of(256));
        assert_eq!(r.address, 0x1100);
        assert_eq!(c.allocate(Range::request(1, 16)).unwrap().address, 0x1020);
        c.check().unwrap();
    }

    // FreeNOS BitAllocateStartFrom.
    #[test]
    fn allocate_start_from() {
        let base = random_base(4);
        let mut b = bits(base, 32 * 64, 32);
        let r = b.allocate_from(Range::request(32, 0), 32).unwrap();
        assert_eq!(r.address, base + 32);
        let r = b.allocate_from(Range::request(32, 0), 33).unwrap();
        assert_eq!(r.address, base + 64);
        assert!(b.is_allocated(base + 64));
        // Past the end the search wraps to the start.
        let r = b.allocate_from(Range::request(32, 0), 32 * 63 + 5).unwrap();
        assert_eq!(r.address, base + 32 * 63);
        let r = b.allocate_from(Range::request(64, 0), 32 * 63).unwrap();
        assert_eq!(r.address, base + 32 * 3, "wraps and skips chunks 1 and 2");
    }

    // FreeNOS BitAllocateSpecific.
    #[test]
    fn allocate_specific() {
        let base = random_base(5);
        let mut b = bits(base, 32 * 256, 32);
        for i in 0..32 {
            b.allocate_at(base + 32 * i, 1).unwrap();
        }
        for i in 0..256 {
            assert_eq!(b.is_allocated(base + 32 * i), i < 32);
        }
        assert_eq!(
            b.allocate_at(base + 32 * 5, 1),
            Err(AllocError::InvalidAddress)
        );
        assert_eq!(
            b.allocate_at(base + 32 * 40 + 1, 1),
            Err(AllocError::InvalidAddress)
        );
        assert_eq!(
            b.allocate_at(base + 32 * 256, 1),
            Err(AllocError::InvalidAddress)
        );
        assert_eq!(
            b.allocate_at(base + 32 * 31, 64),
            Err(AllocError::InvalidAddress)
        );
        assert_eq!(
            b.allocate_at(base.wrapping_sub(32), 1),
            Err(AllocError::InvalidAddress)
        );
    }

    // FreeNOS BitAllocateFull.
    #[test]
    fn allocate_full() {
        let mut b = bits(0xabcd_0000, PAGE_SIZE * 10, PAGE_SIZE);
        for i in 0..10 {
            let r = b.allocate(Range::request(PAGE_SIZE, 0)).unwrap();
            assert_eq!(r.address, 0xabcd_0000 + PAGE_SIZE * i);
        }
        let before = b.words();
        assert_eq!(
            b.allocate(Range::request(PAGE_SIZE, 0)),
            Err(AllocError::OutOfMemory)
        );
        assert_eq!(b.available(), 0);
        assert_eq!(b.words(), before);
    }

    // FreeNOS BitRelease.
    #[test]
    fn release() {
        let base = 0xabcd_0000;
        let mut b = bits(base, PAGE_SIZE * 10, PAGE_SIZE);
        for _ in 0..10 {
            b.allocate(Range::request(PAGE_SIZE, 0)).unwrap();
        }
        for i in 0..10 {
            b.release(base + i * PAGE_SIZE).unwrap();
            assert!(!b.is_allocated(base + i * PAGE_SIZE));
            for j in i + 1..10 {
                assert!(b.is_allocated(base + j * PAGE_SIZE));
            }
        }
        assert_eq!(b.available(), PAGE_SIZE * 10);
        assert_eq!(
            b.allocate(Range::request(PAGE_SIZE, 0)).unwrap().address,
            base
        );
    }

    /// FreeNOS freed only the first chunk of a run; here the whole run goes,
    /// and bad releases change nothing.
    #[test]
    fn release_frees_whole_runs_and_refuses_bad_addresses() {
        let mut b = bits(0x10000, 32 * 16, 32);
        let a = b.allocate(Range::request(32 * 3, 0)).unwrap();
        let c = b.allocate(Range::request(32 * 2, 0)).unwrap();
        assert_eq!(b.allocation_size(a.address), Ok(96));
        assert_eq!(b.allocation_size(c.address), Ok(64));
        let before = b.words();
        assert_eq!(b.release(a.address + 32), Err(AllocError::InvalidAddress));
        assert_eq!(b.release(a.address + 1), Err(AllocError::InvalidAddress));
        assert_eq!(
            b.release(0x10000 + 32 * 10),
            Err(AllocError::InvalidAddress)
        );
        assert_eq!(b.release(0xFFFF), Err(AllocError::InvalidAddress));
        assert_eq!(b.words(), before);
        b.release(a.address).unwrap();
        assert_eq!(b.available(), 32 * 14);
        assert_eq!(
            b.release(a.address),
            Err(AllocError::InvalidAddress),
            "double free"
        );
        assert!(b.is_allocated(c.address) && b.is_allocated(c.address + 32));
        assert_eq!(b.largest_free(), 32 * 11);
        b.check().unwrap();
        let mut s = alloc::string::String::new();
        b.dump(&mut s).unwrap();
        assert!(s.starts_with(
            "bitalloc [0x00010000 , 0x000101ff] chunk 32: 2 of 16 chunks used, 1 allocations\n"
        ));
        assert!(s.contains("...##..........."), "{s}");
    }

    #[test]
    fn bitalloc_soak_against_model() {
        let chunk = 64;
        let n = miri_or(300, 64);
        let base = 0x8000_0000;
        let mut b = bits(base, chunk * n, chunk);
        // Model: start chunk -> length in chunks.
        let mut model: BTreeMap<usize, usize> = BTreeMap::new();
        let mut occ = vec![false; n];
        let mut rng = Rng::new(0xB17);
        // Under Miri, half its usual count: every step compares the bitmaps.
        for step in 0..miri_or(soak_ops(60_000), 150) {
            match rng.range(0, 10) {
                0..=4 => {
                    let size = rng.range(1, chunk * 8);
                    let align = [0, 32, 64, 128, 192, 512][rng.range(0, 6)];
                    let count = size.div_ceil(chunk);
                    let a = if align <= chunk { 1 } else { align / chunk };
                    let fits = (0..n)
                        .filter(|s| (base / chunk + s).is_multiple_of(a))
                        .any(|s| s + count <= n && !occ[s..s + count].contains(&true));
                    let before = b.words();
                    match b.allocate_from(Range::request(size, align), rng.range(0, chunk * n)) {
                        Ok(r) => {
                            assert!(fits);
                            if align > 0 {
                                assert!(r.address.is_multiple_of(align));
                            }
                            let s = (r.address - base) / chunk;
                            assert_eq!(r.size, count * chunk);
                            assert!(!occ[s..s + count].contains(&true), "overlap");
                            occ[s..s + count].fill(true);
                            model.insert(s, count);
                        }
                        Err(e) => {
                            assert_eq!(e, AllocError::OutOfMemory);
                            assert!(!fits);
                            assert_eq!(b.words(), before);
                        }
                    }
                }
                5..=8 if !model.is_empty() => {
                    let k = *model.keys().nth(rng.range(0, model.len())).unwrap();
                    let len = model.remove(&k).unwrap();
                    occ[k..k + len].fill(false);
                    assert_eq!(b.allocation_size(base + k * chunk), Ok(len * chunk));
                    b.release(base + k * chunk).unwrap();
                }
                _ => {
                    // A bad release: any chunk that does not start an allocation.
                    let c = rng.range(0, n + 4);
                    if model.contains_key(&c) {
                        continue;
                    }
                    let before = b.words();
                    assert_eq!(b.release(base + c * chunk), Err(AllocError::InvalidAddress));
                    assert_eq!(b.words(), before);
                }
            }
            assert_eq!(b.available(), (n - model.values().sum::<usize>()) * chunk);
            assert_eq!(b.allocations(), model.len());
            if step % 64 == 0 {
                b.check().unwrap();
            }
        }
        for &k in model.keys() {
            b.release(base + k * chunk).unwrap();
        }
        assert_eq!(b.available(), n * chunk);
        assert_eq!(b.largest_free(), n * chunk);
        b.check().unwrap();
    }
}
