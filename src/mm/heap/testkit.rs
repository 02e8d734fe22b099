//! Test helpers shared by the heaps: one model
//! ("property") test that drives any [`HeapBackend`] with random operations.
//!
//! The model is the set of live blocks (address, size, alignment, fill
//! byte). After every step: every block is aligned, inside an arena, and
//! overlaps no other; every freed block still holds the bytes written into
//! it; the heap's counters agree with the model. Bad input (double free,
//! wild pointer, wrong layout) must fail and leave the heap byte-for-byte
//! unchanged (arena contents, stats and dump compared). Some steps resize a
//! live block in place: when the heap says it did, the block kept its
//! bytes and overlaps no other; when it says it cannot, nothing changed.
//! A heap with poisoning on also has its poison verified by every `check()`.

use super::backend::HeapBackend;
use crate::mm::AllocError;
pub use crate::testutil::Arena;
use crate::testutil::Rng;
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;
use core::alloc::Layout;
use core::ptr::NonNull;

/// Everything observable about a heap, for before/after comparisons.
#[derive(Debug, PartialEq, Eq)]
pub struct Snapshot {
    bytes: Vec<Vec<u8>>,
    stats: super::HeapStats,
    dump: String,
}

/// Capture arenas, stats and dump of `heap`.
pub fn snapshot<H: HeapBackend>(heap: &H, arenas: &[&Arena]) -> Snapshot {
    let mut dump = String::new();
    heap.dump(&mut dump).unwrap();
    Snapshot {
        bytes: arenas.iter().map(|a| a.snapshot()).collect(),
        stats: heap.stats(),
        dump,
    }
}

/// Parameters of one model run.
pub struct Soak<'a> {
    pub seed: u64,
    pub ops: usize,
    /// Requests are drawn from 1..=max_size (mostly small).
    pub max_size: usize,
    /// Alignments requested, drawn uniformly.
    pub aligns: &'a [usize],
    /// One step in `bad_every` is bad input.
    pub bad_every: usize,
    /// Run the heap's full `check()` every this many steps.
    pub check_every: usize,
    /// Keep at most this many blocks live.
    pub max_live: usize,
    /// The heap checks the size at free exactly (any other size is bad
    /// input); when false it checks only to its own granularity (a page),
    /// as the `Allocator` rule of "fitting" layouts allows, and only sizes
    /// a page or more off are drawn as bad.
    pub exact_sizes: bool,
}

#[derive(Clone, Copy)]
struct Live {
    size: usize,
    align: usize,
    fill: u8,
}

/// A pointer to address `p` with the provenance of the arena it lies in;
/// for an address in no arena (a wild pointer of a bad-input test), a
/// pointer with no provenance, which nothing may read through.
fn ptr_of(arenas: &[&Arena], p: usize) -> NonNull<u8> {
    let ptr = arenas
        .iter()
        .find(|a| (a.start()..=a.end()).contains(&p))
        .map_or(core::ptr::without_provenance_mut(p), |a| a.at(p));
    NonNull::new(ptr).expect("not a null address")
}

fn fill(p: NonNull<u8>, size: usize, byte: u8) {
    // SAFETY: the heap handed out [p, p+size) for us alone.
    unsafe { core::ptr::write_bytes(p.as_ptr(), byte, size) }
}

fn intact(p: NonNull<u8>, size: usize, byte: u8) -> bool {
    // SAFETY: [p, p+size) is a live block we filled.
    let bytes = unsafe { core::slice::from_raw_parts(p.as_ptr(), size) };
    // Runs of 256 compared at once: one `memcmp` (one step for Miri).
    let run = [byte; 256];
    bytes.chunks(run.len()).all(|c| c == &run[..c.len()])
}

/// What a model run did, so a test can assert it exercised every path.
#[derive(Debug, Default)]
pub struct Report {
    pub allocs: usize,
    pub frees: usize,
    pub out_of_memory: usize,
    /// Resizes done in place, and resizes the heap said it could not do.
    pub in_place: usize,
    pub not_in_place: usize,
    /// Bad requests refused, by kind: double free, wrong size, interior, wild.
    pub bad: [usize; 4],
}

impl Report {
    /// Assert the run did a fair amount of everything.
    pub fn assert_busy(&self, ops: usize) {
        assert!(self.allocs >= ops / 4, "{self:?}");
        assert!(self.frees >= ops / 8, "{self:?}");
        assert!(self.bad.iter().all(|&b| b > 0), "{self:?}");
    }
}

/// Drive `heap` (already given the `arenas`) through `cfg.ops` random
/// steps against the model, then free everything.
pub fn heap_soak<H: HeapBackend>(heap: &mut H, arenas: &[&Arena], cfg: &Soak) -> Report {
    let mut rng = Rng::new(cfg.seed);
    let mut live: BTreeMap<usize, Live> = BTreeMap::new();
    let mut keys: Vec<usize> = Vec::new();
    let mut freed: Vec<usize> = Vec::new();
    let mut rep = Report::default();
    let total = heap.stats().size;
    for step in 0..cfg.ops {
        let want_alloc = live.len() < cfg.max_live && (keys.is_empty() || rng.chance(11, 20));
        if step % cfg.bad_every == cfg.bad_every - 1 {
            // The kinds take turns, so even a short run (Miri's) tries each.
            let turn = (step / cfg.bad_every) % 4;
            if let Some(kind) = bad_input(
                heap,
                arenas,
                &mut rng,
                &live,
                &keys,
                &freed,
                cfg.exact_sizes,
                turn,
            ) {
                rep.bad[kind] += 1;
            }
        } else if want_alloc {
            let size = match rng.range(0, 10) {
                0..=5 => rng.range(1, 65),
                6..=8 => rng.range(1, 513.min(cfg.max_size + 1).max(2)),
                _ => rng.range(1, cfg.max_size + 1),
            };
            let align = cfg.aligns[rng.range(0, cfg.aligns.len())];
            let layout = Layout::from_size_align(size, align).unwrap();
            let before = heap.stats();
            match heap.alloc(layout) {
                Ok(ptr) => {
                    let p = ptr.addr().get();
                    assert!(p.is_multiple_of(align), "misaligned {p:#x} for {align}");
                    assert!(
                        arenas.iter().any(|a| p >= a.start() && p + size <= a.end()),
                        "block {p:#x}+{size} outside the arenas"
                    );
                    if let Some((&q, l)) = live.range(..=p).next_back() {
                        assert!(q + l.size <= p, "overlap with {q:#x}+{}", l.size);
                    }
                    if let Some((&q, _)) = live.range(p..).next() {
                        assert!(p + size <= q, "overlap with {q:#x}");
                    }
                    let byte = (rng.next_u64() as u8) | 1;
                    fill(ptr, size, byte);
                    live.insert(
                        p,
                        Live {
                            size,
                            align,
                            fill: byte,
                        },
                    );
                    keys.push(p);
                    freed.retain(|&f| f != p);
                    rep.allocs += 1;
                }
                Err(AllocError::OutOfMemory) => {
                    assert_eq!(heap.stats(), before);
                    rep.out_of_memory += 1;
                }
                Err(e) => panic!("alloc({size}, {align}) failed with {e:?}"),
            }
        } else if rng.chance(1, 3) {
            let p = keys[rng.range(0, keys.len())];
            let l = live[&p];
            let new = match rng.range(0, 3) {
                0 => rng.range(1, l.size + 1),
                1 => l.size + rng.range(1, 129),
                _ => rng.range(1, cfg.max_size + 1),
            };
            let layout = Layout::from_size_align(l.size, l.align).unwrap();
            let before = snapshot(heap, arenas);
            match heap.resize_in_place(ptr_of(arenas, p), layout, new) {
                Ok(true) => {
                    assert!(
                        intact(ptr_of(arenas, p), l.size.min(new), l.fill),
                        "block {p:#x} lost its bytes in a resize"
                    );
                    assert!(
                        arenas.iter().any(|a| p + new <= a.end()),
                        "block {p:#x} grew past its arena"
                    );
                    if let Some((&q, _)) = live.range(p + 1..).next() {
                        assert!(p + new <= q, "block {p:#x} grew over {q:#x}");
                    }
                    let byte = (rng.next_u64() as u8) | 1;
                    fill(ptr_of(arenas, p), new, byte);
                    live.insert(
                        p,
                        Live {
                            size: new,
                            fill: byte,
                            ..l
                        },
                    );
                    rep.in_place += 1;
                }
                Ok(false) => {
                    assert!(
                        snapshot(heap, arenas) == before,
                        "a resize that did not happen changed the heap"
                    );
                    rep.not_in_place += 1;
                }
                Err(e) => panic!("resize of {p:#x} to {new} failed: {e:?}"),
            }
        } else {
            let i = rng.range(0, keys.len());
            let p = keys.swap_remove(i);
            let l = live.remove(&p).unwrap();
            assert!(
                intact(ptr_of(arenas, p), l.size, l.fill),
                "block {p:#x} corrupted"
            );
            let layout = Layout::from_size_align(l.size, l.align).unwrap();
            heap.dealloc(ptr_of(arenas, p), layout)
                .unwrap_or_else(|e| panic!("free of {p:#x} failed: {e:?}"));
            freed.push(p);
            rep.frees += 1;
            if freed.len() > 64 {
                freed.remove(0);
            }
        }
        let s = heap.stats();
        assert_eq!(s.allocations, live.len());
        assert_eq!(s.used + s.free, s.size);
        assert!(s.largest_free <= s.free);
        if step % cfg.check_every == 0 {
            heap.check().unwrap_or_else(|e| panic!("step {step}: {e}"));
        }
    }
    heap.check().unwrap();
    for (&p, l) in &live {
        assert!(
            intact(ptr_of(arenas, p), l.size, l.fill),
            "block {p:#x} corrupted"
        );
        let layout = Layout::from_size_align(l.size, l.align).unwrap();
        heap.dealloc(ptr_of(arenas, p), layout).unwrap();
    }
    heap.check().unwrap();
    let s = heap.stats();
    assert_eq!(s.allocations, 0);
    assert_eq!(s.size, total);
    rep
}

/// The poisoned soak of the list and tree heaps (first fit, gap tree):
/// poisoning on, then `ops` random operations over `arena` (sizes up to
/// 3000, alignments up to a page, a bad free every 43rd operation, `check`
/// — which verifies every free block still holds the pattern — every 31st),
/// busy enough to mean something, and poisoning still on at the end.
pub fn poisoned_soak<H: HeapBackend>(heap: &mut H, arena: &Arena, seed: u64, ops: usize) {
    assert!(heap.set_poison(true), "{} does not poison", heap.name());
    let rep = heap_soak(
        heap,
        &[arena],
        &Soak {
            seed,
            ops,
            max_size: 3000,
            aligns: &[1, 8, 64, 4096],
            bad_every: 43,
            check_every: 31,
            max_live: 200,
            exact_sizes: true,
        },
    );
    rep.assert_busy(ops);
    assert!(heap.poisoning());
}

/// Poisoning on `heap` (a design that poisons): a write into a freed block
/// is found by `check()`, which names the block and the byte; with the byte
/// restored the heap checks clean. The heap must have room for 8 KiB.
pub fn catches_write_after_free<H: HeapBackend>(heap: &mut H) {
    assert!(heap.set_poison(true), "{} does not poison", heap.name());
    assert!(heap.poisoning());
    heap.check().unwrap();
    let big = Layout::from_size_align(3000, 8).unwrap();
    let small = Layout::from_size_align(24, 8).unwrap();
    let p = heap.alloc(big).unwrap().as_ptr();
    let keep = heap.alloc(small).unwrap();
    // SAFETY: a live block of 3000 bytes.
    unsafe { p.write_bytes(0x11, 3000) };
    heap.dealloc(NonNull::new(p).unwrap(), big).unwrap();
    heap.check().unwrap();
    // SAFETY: a deliberate write after free into heap memory, undone below.
    let at = unsafe { p.add(2000) };
    // SAFETY: as above.
    unsafe { at.write_volatile(0x5A) };
    let e = heap.check().expect_err("a write after free went unnoticed");
    let (block, found) = e
        .written_after_free()
        .unwrap_or_else(|| panic!("{e} does not name a write after free"));
    assert_eq!(found, at.addr(), "{e}");
    assert!(block <= found, "{e}");
    assert!(alloc::format!("{e}").contains("written after its free"));
    // SAFETY: undo the write.
    unsafe { at.write_volatile(super::poison::POISON) };
    heap.check().unwrap();
    heap.dealloc(keep, small).unwrap();
    heap.check().unwrap();
    assert!(heap.set_poison(false));
    assert!(!heap.poisoning());
}

/// One bad request of kind `kind` (0..4; a kind with nothing to draw from
/// falls back to a wild pointer); it must fail and change nothing. Returns
/// its kind, or `None` when the draw was not bad after all (skipped).
#[allow(clippy::too_many_arguments)]
fn bad_input<H: HeapBackend>(
    heap: &mut H,
    arenas: &[&Arena],
    rng: &mut Rng,
    live: &BTreeMap<usize, Live>,
    keys: &[usize],
    freed: &[usize],
    cfg_exact: bool,
    kind: usize,
) -> Option<usize> {
    let before = snapshot(heap, arenas);
    let exact = cfg_exact;
    let (ptr, layout) = match kind {
        // Double free of a block freed recently (and not reallocated).
        0 if !freed.is_empty() => {
            let p = freed[rng.range(0, freed.len())];
            (p, Layout::from_size_align(8, 8).unwrap())
        }
        // Wrong size for a live block.
        1 if !keys.is_empty() => {
            let p = keys[rng.range(0, keys.len())];
            let l = live[&p];
            let wrong = if exact && rng.chance(1, 2) {
                l.size + rng.range(1, 64)
            } else {
                l.size + 4096 + rng.range(0, 4096)
            };
            (p, Layout::from_size_align(wrong, l.align).unwrap())
        }
        // A pointer into the middle of a live block.
        2 if !keys.is_empty() => {
            let p = keys[rng.range(0, keys.len())];
            let l = live[&p];
            let off = rng.range(1, l.size.max(2));
            (p + off, Layout::from_size_align(l.size, 1).unwrap())
        }
        // A wild pointer: above or below every arena. Arenas may lie close
        // together (Miri places them so): a pointer near one of them could
        // fall into another, and no wild free would ever be tried.
        _ => {
            let top = arenas.iter().map(|a| a.end()).max().unwrap_or(0);
            let bottom = arenas.iter().map(|a| a.start()).min().unwrap_or(0);
            let p = if rng.chance(1, 2) {
                top + rng.range(0, 1 << 16)
            } else {
                bottom.saturating_sub(rng.range(1, 1 << 16))
            };
            (p.max(1), Layout::from_size_align(16, 8).unwrap())
        }
    };
    if live.contains_key(&ptr) && live[&ptr].size == layout.size() {
        return None;
    }
    let kind = match kind {
        0 if !freed.is_empty() => 0,
        1 | 2 if !keys.is_empty() => kind,
        _ => 3,
    };
    let r = heap.dealloc(ptr_of(arenas, ptr), layout);
    assert!(r.is_err(), "bad free of {ptr:#x} ({layout:?}) accepted");
    assert!(
        snapshot(heap, arenas) == before,
        "bad free of {ptr:#x} changed the heap"
    );
    Some(kind)
}
