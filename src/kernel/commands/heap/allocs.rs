//! `alloc` and `free`: a table of the blocks `alloc` made (fixed arrays, so
//! keeping it never allocates from the heap it describes), and a `free`
//! that asks the heap why a pointer is wrong without ever freeing one that
//! is not in the table.

use crate::kernel::commands::kit::{Outcome, parse};
use crate::kernel::heap::{self as kheap};
use crate::mm::heap::HeapBackend;
use crate::mm::heap::MAX_ALIGN;
use crate::mm::heap::buddy::{HEADER_SIZE, HeapError, Scale};
use alloc::format;
use alloc::vec::Vec;
use core::alloc::Layout;
use core::fmt::{self, Write};
use core::ptr::NonNull;
use spin::Mutex;

/// The alignment `alloc <size>` uses when none is given (a `u64`'s, as malloc).
const DEFAULT_ALIGN: usize = 8;
/// Live blocks `alloc` can hold at once.
const MAX_ALLOCS: usize = 256;
/// Addresses `free` remembers having freed (to name a double free).
const FREED_MEMORY: usize = 16;

/// A block `alloc` made and `free` has not freed yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Live {
    pub addr: usize,
    pub layout: Layout,
}

/// The table behind `alloc`/`free`: fixed arrays, so keeping it never
/// allocates from the heap it describes.
struct Allocs {
    live: [Option<Live>; MAX_ALLOCS],
    freed: [usize; FREED_MEMORY],
    next_freed: usize,
}

static ALLOCS: Mutex<Allocs> = Mutex::new(Allocs {
    live: [None; MAX_ALLOCS],
    freed: [0; FREED_MEMORY],
    next_freed: 0,
});

/// The blocks `alloc` made that are still live, in table order.
pub fn live_allocs() -> Vec<Live> {
    let copy = ALLOCS.lock().live;
    copy.iter().flatten().copied().collect()
}

pub fn alloc_cmd(args: &[&str], out: &mut dyn Write) -> Outcome {
    let Some(size) = args.first() else {
        let live = live_allocs();
        if live.is_empty() {
            let _ = writeln!(out, "no live blocks from `alloc`");
        }
        for l in live {
            let _ = writeln!(
                out,
                "{:#010X}  {} bytes, align {}",
                l.addr,
                l.layout.size(),
                l.layout.align()
            );
        }
        return Ok(());
    };
    if let Some(extra) = args.get(2) {
        return Err(format!("unexpected argument `{extra}`"));
    }
    let size = parse(size)?;
    let align = args.get(1).map(|a| parse(a)).transpose()?;
    let align = align.unwrap_or(DEFAULT_ALIGN);
    if size == 0 {
        return Err("the size must be at least 1 byte".into());
    }
    if !align.is_power_of_two() || align > MAX_ALIGN {
        return Err(format!(
            "alignment {align}: a power of two up to {MAX_ALIGN} please"
        ));
    }
    // Rust's limit on any allocation: isize::MAX, rounded down to the alignment.
    let largest = (isize::MAX as usize) & !(align - 1);
    if size > largest {
        return Err(format!(
            "{size} bytes is past the size limit of an allocation: at most {largest} bytes \
             (isize::MAX, rounded down to the alignment {align})"
        ));
    }
    let layout = Layout::from_size_align(size, align).map_err(|e| format!("{e}"))?;
    // Claim a table entry first: a full table refuses before the heap changes.
    let slot = {
        let t = ALLOCS.lock();
        t.live.iter().position(|e| e.is_none())
    }
    .ok_or(format!(
        "`alloc` holds {MAX_ALLOCS} blocks already; `free` one first"
    ))?;
    let kind = kheap::kind();
    // A growth that fails during this allocation is its cause (the VMM's
    // words: the region is full, or no frames); forget older ones.
    // course: module 06
    let _ = kheap::take_grow_failure();
    // course: end
    let ptr = kheap::allocate(layout).map_err(|e| {
        // The buddy heap names the limit itself: the largest scale.
        let too_big = kheap::with(|h| {
            let b = h.as_buddy()?;
            let max_scale = b.max_scale();
            (size.saturating_add(HEADER_SIZE) > max_scale.bytes())
                .then_some(HeapError::TooBig { size, max_scale })
        })
        .flatten();
        // course: module 06
        let grow = kheap::take_grow_failure();
        // course: else
        // let grow: Option<&str> = None; // the heap grows from module 06 on
        // course: end
        match (too_big, grow) {
            (Some(why), _) => format!("the {} heap refused {size} bytes: {why}", kind.name()),
            (None, Some(grow)) => format!(
                "the {} heap refused {size} bytes (align {align}): it could not grow: {grow}",
                kind.name()
            ),
            (None, None) => format!(
                "the {} heap refused {size} bytes (align {align}): {e}",
                kind.name()
            ),
        }
    })?;
    let addr = ptr.as_ptr().expose_provenance();
    {
        let mut t = ALLOCS.lock();
        t.live[slot] = Some(Live { addr, layout });
        for f in t.freed.iter_mut().filter(|f| **f == addr) {
            *f = 0;
        }
    }
    let (slot, block) = kheap::with(|h| match h.as_slab() {
        Some(s) => (s.slot_info(addr), s.buddy().block_of(addr)),
        None => (None, None),
    })
    .unwrap_or((None, None));
    let _ = write!(out, "alloc({size}, align {align}) -> {addr:#010X}");
    match (slot, block) {
        (Some(s), _) => {
            let _ = writeln!(
                out,
                " (slot of {} bytes in the slab at {:#010X}, a block of scale {})",
                s.size, s.slab, s.slab_scale
            );
        }
        (None, Some(b)) => {
            let _ = writeln!(
                out,
                " (block {:#010X}, scale {} = {} bytes)",
                b.addr,
                b.scale,
                b.scale.bytes()
            );
        }
        (None, None) => {
            let _ = writeln!(out, " ({} heap)", kind.name());
        }
    }
    Ok(())
}

/// What the buddy heap says about a pointer `alloc` does not hold.
enum BuddyVerdict {
    /// The start of a live block some other kernel code owns.
    Foreign { scale: Scale },
    /// A live slab slot some other kernel code owns.
    ForeignSlot { size: usize },
    /// The heap's checked free refused it (so nothing changed).
    Refused(HeapError),
    /// The checked free accepted it: cannot happen after the test above.
    Freed,
}

pub fn free_cmd(args: &[&str], out: &mut dyn Write) -> Outcome {
    let addr = match args {
        [a] => parse(a)?,
        [] => return Err("which address?".into()),
        [_, extra, ..] => return Err(format!("unexpected argument `{extra}`")),
    };
    let kind = kheap::kind().name();
    let (live, freed_before) = {
        let t = ALLOCS.lock();
        let live = t.live.iter().flatten().copied().find(|l| l.addr == addr);
        let inside = t
            .live
            .iter()
            .flatten()
            .copied()
            .find(|l| addr > l.addr && addr < l.addr + l.layout.size());
        (live.ok_or(inside), addr != 0 && t.freed.contains(&addr))
    };
    match live {
        // A block `alloc` made: free it with the layout it was made with.
        Ok(l) => {
            let ptr =
                NonNull::new(core::ptr::with_exposed_provenance_mut::<u8>(addr)).ok_or("null")?;
            kheap::deallocate(ptr, l.layout)
                .map_err(|e| format!("the {kind} heap refused free({addr:#010X}): {e}"))?;
            let mut t = ALLOCS.lock();
            for e in t.live.iter_mut().filter(|e| **e == Some(l)) {
                *e = None;
            }
            let i = t.next_freed;
            t.freed[i] = addr;
            t.next_freed = (i + 1) % FREED_MEMORY;
            drop(t);
            let _ = writeln!(
                out,
                "free({addr:#010X}): {} bytes (align {}) returned to the kernel heap",
                l.layout.size(),
                l.layout.align()
            );
            Ok(())
        }
        Err(inside) => refuse(addr, inside, freed_before, kind),
    }
}

/// A `free` of an address `alloc` does not hold: the heap says why it is
/// wrong, but is never allowed to free it (it may be a block the kernel
/// itself uses). Always an `Err`, and the heap is unchanged.
fn refuse(addr: usize, inside: Option<Live>, freed_before: bool, kind: &str) -> Outcome {
    let refused = |why: &dyn fmt::Display| Err(format!("free({addr:#010X}) refused: {why}"));
    // The buddy design (slabs and blocks) can tell every case apart
    // without freeing anything.
    let buddy = kheap::with(|h| {
        let b = h.as_slab()?;
        let slot = b.slot_info(addr);
        let block = b.buddy().block_of(addr);
        Some(match (slot, block) {
            (Some(s), _) if s.live && s.slot == addr => BuddyVerdict::ForeignSlot { size: s.size },
            // A cached block is a freed one (its page says so); the buddy
            // heap alone would call it live.
            (None, Some(info)) if info.payload == Some(addr) && !b.in_cached_block(addr) => {
                BuddyVerdict::Foreign { scale: info.scale }
            }
            _ => match NonNull::new(core::ptr::with_exposed_provenance_mut::<u8>(addr)) {
                None => BuddyVerdict::Refused(HeapError::OutsideHeap { addr }),
                Some(p) => match b.free(p) {
                    Err(e) => BuddyVerdict::Refused(e),
                    Ok(()) => BuddyVerdict::Freed,
                },
            },
        })
    })
    .flatten();
    match buddy {
        // The buddy calls any address in free memory "already free"; only
        // an address `free` gave back is a double free. Anything else there
        // was never handed out (or was freed long ago).
        Some(BuddyVerdict::Refused(HeapError::DoubleFree { .. })) if !freed_before => {
            return refused(&format_args!(
                "{addr:#x} is not allocated: it lies in free memory of the {kind} heap \
                 (never handed out, or freed long ago)"
            ));
        }
        Some(BuddyVerdict::Refused(e)) => return refused(&e),
        Some(BuddyVerdict::Foreign { scale }) => {
            return refused(&format_args!(
                "it starts a live block of scale {scale} that the kernel itself uses, not one from `alloc`"
            ));
        }
        Some(BuddyVerdict::ForeignSlot { size }) => {
            return refused(&format_args!(
                "it is a live slab slot of {size} bytes that the kernel itself uses, not one from `alloc`"
            ));
        }
        Some(BuddyVerdict::Freed) => {
            return refused(&"the heap freed it although it was no payload start (a heap bug)");
        }
        None => {}
    }
    // Other designs: hand the heap only pointers that cannot be anyone's block.
    let end = kheap::with(|h| h.region_end()).unwrap_or(0);
    let outside = addr < kheap::arena().0 || addr >= end;
    let layout = match inside {
        Some(l) => Some(l.layout),
        None if outside => Some(Layout::new::<u8>()),
        None => None,
    };
    if let Some(layout) = layout {
        let ptr = NonNull::new(core::ptr::with_exposed_provenance_mut::<u8>(addr));
        let r = match ptr {
            Some(p) => kheap::deallocate(p, layout),
            None => Err(crate::mm::AllocError::InvalidAddress),
        };
        let place = if outside {
            "outside the heap"
        } else {
            "inside a block from `alloc`"
        };
        return match r {
            Err(e) => refused(&format_args!("{place}: the {kind} heap says: {e}")),
            Ok(()) => refused(&format_args!(
                "{place}, yet the {kind} heap accepted it (a heap bug)"
            )),
        };
    }
    if freed_before {
        return refused(&format_args!(
            "already freed by `free` (double free); the {kind} heap may have reused it, so it is not passed on"
        ));
    }
    refused(&format_args!(
        "not a live block from `alloc`; the {kind} heap cannot tell a stray pointer from a block the kernel owns without freeing it, so it is not passed on"
    ))
}
