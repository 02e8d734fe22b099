//! The hotkey playground: ShompOS's key bindings over a small buddy heap of
//! its own (1 KiB, scales 4..A by default), with ShompOS's flaws fixed.
//!
//! ```text
//!   key     1  2  3  4  5  6  7   8    9        p: free_block counts
//!   bytes   1  8 24  1  8 24 56 120  248           C free blocks of scale X
//!   scale   4  5  6  4  5  6  7   8    9
//!   free    a  q  w  e  r  t  y   u    i        (newest block of that slot)
//!
//!   slot 4: [0x..10] -> [0x..20]      a second press stacks, never leaks
//! ```
//!
//! The playground is pure logic: it prints through `core::fmt::Write` and
//! runs over a buffer it is given, so the same code runs in the kernel and
//! in host tests.

use alloc::vec::Vec;
use core::fmt::{self, Write};
use core::marker::PhantomData;
use core::ptr::NonNull;

use super::buddy::{BuddyHeap, HeapError, MAX_ALIGN, grid_base};
use super::report;

/// Bytes allocated by keys `1`..`9`.
pub const KEY_SIZES: [usize; 9] = [1, 8, 24, 1, 8, 24, 56, 120, 248];
/// Keys that free the newest block of slots 1..9.
pub const FREE_KEYS: [char; 9] = ['a', 'q', 'w', 'e', 'r', 't', 'y', 'u', 'i'];
/// The playground's smallest block scale (16 bytes), as ShompOS.
pub const MIN_SCALE: u8 = 4;
/// The default largest scale: one 1 KiB block (`scale A`), as ShompOS.
pub const DEFAULT_MAX_SCALE: u8 = 10;
/// The range `playground <max-scale>` accepts.
pub const MAX_SCALE_RANGE: core::ops::RangeInclusive<u8> = 5..=20;

/// Buffer bytes a playground of `max_scale` needs: the heap and its side
/// table of block starts, plus room to put it on the block grid (see
/// [`grid_base`]).
pub const fn buffer_bytes(max_scale: u8) -> usize {
    BuddyHeap::region_for(1 << max_scale, MIN_SCALE) + MAX_ALIGN
}

/// How a slot stack grows: runs the growth it is given (which answers
/// whether the stack has room for one more block) and returns its answer.
/// The kernel runs it with the reserve heap closed, so a hotkey never
/// spends the memory kept for the shell's answers; host tests run it as is
/// or refuse it outright (a heap with no room).
pub type StoreScope = fn(&mut dyn FnMut() -> bool) -> bool;

/// The default [`StoreScope`]: run the growth as it is.
fn store_as_is(grow: &mut dyn FnMut() -> bool) -> bool {
    grow()
}

/// Why the playground could not be (re)built.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlaygroundError {
    /// The max scale is outside [`MAX_SCALE_RANGE`].
    BadScale(u8),
    /// The buffer is smaller than [`buffer_bytes`] of the max scale.
    BufferTooSmall { need: usize, have: usize },
}

impl fmt::Display for PlaygroundError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            PlaygroundError::BadScale(s) => write!(
                f,
                "max scale {s} out of range {}..={}",
                MAX_SCALE_RANGE.start(),
                MAX_SCALE_RANGE.end()
            ),
            PlaygroundError::BufferTooSmall { need, have } => {
                write!(
                    f,
                    "playground buffer too small: need {need} bytes, have {have}"
                )
            }
        }
    }
}

/// The playground: a buddy heap over a borrowed buffer and nine slot stacks.
pub struct Playground<'a> {
    buf: *mut u8,
    len: usize,
    heap: BuddyHeap,
    slots: [Vec<NonNull<u8>>; 9],
    /// How the slot stacks grow (see [`StoreScope`]).
    store_scope: StoreScope,
    _buf: PhantomData<&'a mut [u8]>,
}

// SAFETY: the playground holds the only access to its buffer (borrowed
// mutably for 'a) and every pointer in its slots points into that buffer;
// moving it to another thread moves that access with it.
unsafe impl Send for Playground<'_> {}

impl<'a> Playground<'a> {
    /// A playground of `2^max_scale` bytes (scales 4..=max) in `buf`, which
    /// must hold [`buffer_bytes`]`(max_scale)` bytes.
    pub fn new(buf: &'a mut [u8], max_scale: u8) -> Result<Playground<'a>, PlaygroundError> {
        let mut p = Playground {
            buf: buf.as_mut_ptr(),
            len: buf.len(),
            heap: BuddyHeap::empty(),
            slots: Default::default(),
            store_scope: store_as_is,
            _buf: PhantomData,
        };
        p.resize(max_scale)?;
        Ok(p)
    }

    /// `playground <max-scale>`: empty every slot and rebuild the heap as one
    /// free block of `2^max_scale` bytes. On error nothing changes.
    pub fn resize(&mut self, max_scale: u8) -> Result<(), PlaygroundError> {
        if !MAX_SCALE_RANGE.contains(&max_scale) {
            return Err(PlaygroundError::BadScale(max_scale));
        }
        let need = buffer_bytes(max_scale);
        if self.len < need {
            return Err(PlaygroundError::BufferTooSmall {
                need,
                have: self.len,
            });
        }
        // The heap must be one block: put its base on the block grid.
        let size = 1usize << max_scale;
        let base = grid_base(self.buf);
        let len = BuddyHeap::region_for(size, MIN_SCALE);
        // SAFETY: base..base+len lies inside the buffer we borrow mutably for
        // 'a; the old heap and every pointer into it are dropped here.
        let heap = unsafe { BuddyHeap::new(base, len, MIN_SCALE, max_scale) };
        self.heap = heap.expect("playground: scales and buffer were checked");
        for slot in &mut self.slots {
            slot.clear();
        }
        Ok(())
    }

    /// Grow the slot stacks through `scope` from now on (the kernel closes
    /// its reserve heap there).
    pub fn set_store_scope(&mut self, scope: StoreScope) {
        self.store_scope = scope;
    }

    /// The playground's heap, for reports and the heapmap.
    pub fn heap(&self) -> &BuddyHeap {
        &self.heap
    }

    /// The blocks held by slot `n` (1..=9), oldest first.
    pub fn slot(&self, n: usize) -> &[NonNull<u8>] {
        n.checked_sub(1)
            .and_then(|i| self.slots.get(i))
            .map_or(&[], |v| v.as_slice())
    }

    /// Key `1`..`9`: allocate that key's size onto slot `n`'s stack and print
    /// `slot N: allocate(S) -> 0xADDR (scale X)`, or `Out of memory!`. When
    /// the slot's stack (on the kernel heap) cannot grow, nothing is
    /// allocated and it says so: `slot N: cannot store another block: out of memory`.
    pub fn allocate(&mut self, n: usize, out: &mut impl Write) {
        let Some(&size) = n.checked_sub(1).and_then(|i| KEY_SIZES.get(i)) else {
            return;
        };
        let slot = &mut self.slots[n - 1];
        if !(self.store_scope)(&mut || slot.try_reserve(1).is_ok()) {
            let _ = writeln!(
                out,
                "slot {n}: cannot store another block: out of memory (nothing allocated)"
            );
            return;
        }
        match self.heap.allocate(size) {
            Ok(p) => {
                let scale = self.heap.block_of(p.addr().get()).map_or(0, |b| b.scale.0);
                self.slots[n - 1].push(p);
                let _ = writeln!(
                    out,
                    "slot {n}: allocate({size}) -> {:#010X} (scale {scale:X})",
                    p.addr()
                );
            }
            Err(HeapError::OutOfMemory { .. }) => {
                let _ = writeln!(out, "Out of memory!");
            }
            Err(e) => {
                let _ = writeln!(out, "Out of memory! ({e})");
            }
        }
    }

    /// Key `a q w e r t y u i`: free the newest block of slot `n` and print
    /// `slot N: free(0xADDR)`, or `slot N is empty`.
    pub fn free(&mut self, n: usize, out: &mut impl Write) {
        let Some(slot) = n.checked_sub(1).and_then(|i| self.slots.get_mut(i)) else {
            return;
        };
        let Some(p) = slot.pop() else {
            let _ = writeln!(out, "slot {n} is empty");
            return;
        };
        match self.heap.free(p) {
            Ok(()) => {
                let _ = writeln!(out, "slot {n}: free({:#010X})", p.addr());
            }
            Err(e) => {
                let _ = writeln!(out, "slot {n}: free({:#010X}) failed: {e}", p.addr());
            }
        }
    }

    /// Key `p`: `free_block counts:` and one line per scale.
    pub fn print_counts(&self, out: &mut impl Write) {
        let _ = report::write_free_counts(&self.heap, out);
    }

    /// Handle one hotkey; returns false (printing nothing) when `c` is not a
    /// playground key.
    pub fn key(&mut self, c: char, out: &mut impl Write) -> bool {
        match c {
            '1'..='9' => self.allocate(c as usize - '0' as usize, out),
            'p' => self.print_counts(out),
            _ => match FREE_KEYS.iter().position(|&k| k == c) {
                Some(i) => self.free(i + 1, out),
                None => return false,
            },
        }
        true
    }
}

/// What one line the playground printed means, for the console's colours.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Tone {
    /// A report: an allocation, a free, the counts.
    Plain,
    /// Nothing was done, nothing was wrong: `slot N is empty`.
    Warning,
    /// A refusal: `Out of memory!`, `cannot store another block`, a free
    /// the heap refused (`... failed: why`).
    Error,
}

/// The [`Tone`] of `line` (one line of [`Playground::key`]'s output,
/// without its newline).
pub fn tone_of(line: &str) -> Tone {
    if line.starts_with("Out of memory!")
        || line.contains(": cannot store another block")
        || line.contains(") failed: ")
    {
        Tone::Error
    } else if line.starts_with("slot ") && line.ends_with(" is empty") {
        Tone::Warning
    } else {
        Tone::Plain
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::String;
    use alloc::vec;

    #[test]
    fn refusals_are_errors_and_an_empty_slot_a_warning() {
        let mut buf = buffer(DEFAULT_MAX_SCALE);
        let mut p = Playground::new(&mut buf, DEFAULT_MAX_SCALE).unwrap();
        let out = press(&mut p, "a9p");
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(tone_of(lines[0]), Tone::Warning, "{}", lines[0]);
        assert_eq!(tone_of(lines[1]), Tone::Plain, "{}", lines[1]);
        assert!(lines[2..].iter().all(|l| tone_of(l) == Tone::Plain));
        let out = press(&mut p, "9999");
        assert!(out.lines().any(|l| l == "Out of memory!"), "{out}");
        for l in out.lines() {
            let want = if l.starts_with("Out of memory!") {
                Tone::Error
            } else {
                Tone::Plain
            };
            assert_eq!(tone_of(l), want, "{l}");
        }
        assert_eq!(
            tone_of("slot 3: cannot store another block: out of memory (nothing allocated)"),
            Tone::Error
        );
        assert_eq!(
            tone_of("slot 1: free(0x00001000) failed: double free"),
            Tone::Error
        );
    }

    fn buffer(max: u8) -> Vec<u8> {
        vec![0; buffer_bytes(max)]
    }

    /// Press `keys` and return what was printed.
    fn press(p: &mut Playground<'_>, keys: &str) -> String {
        let mut out = String::new();
        for c in keys.chars() {
            assert!(p.key(c, &mut out), "{c} is a playground key");
        }
        out
    }

    fn counts_text(pairs: &[(usize, &str)]) -> String {
        let mut s = String::from("free_block counts:\n");
        for (c, x) in pairs {
            s += &alloc::format!("{c} free blocks of scale {x}\n");
        }
        s
    }

    /// A slot stack that cannot grow (its heap has no room): the key says
    /// so, allocates nothing, and the playground answers the next keys.
    #[test]
    fn a_slot_that_cannot_grow_says_so_and_allocates_nothing() {
        let mut buf = buffer(10);
        let mut p = Playground::new(&mut buf, DEFAULT_MAX_SCALE).unwrap();
        let before = press(&mut p, "p");
        p.set_store_scope(|_| false);
        assert_eq!(
            press(&mut p, "9"),
            "slot 9: cannot store another block: out of memory (nothing allocated)\n"
        );
        assert!(p.slot(9).is_empty());
        assert_eq!(press(&mut p, "p"), before, "nothing was allocated");
        assert_eq!(press(&mut p, "i"), "slot 9 is empty\n");
        // Room again: the key allocates as usual.
        p.set_store_scope(|grow| grow());
        assert!(press(&mut p, "9").starts_with("slot 9: allocate(248) -> "));
        assert_eq!(p.slot(9).len(), 1);
    }

    #[test]
    fn boot_p_shows_one_block_of_scale_a() {
        let mut buf = buffer(10);
        let mut p = Playground::new(&mut buf, DEFAULT_MAX_SCALE).unwrap();
        let want = counts_text(&[
            (0, "4"),
            (0, "5"),
            (0, "6"),
            (0, "7"),
            (0, "8"),
            (0, "9"),
            (1, "A"),
        ]);
        assert_eq!(press(&mut p, "p"), want);
    }

    #[test]
    fn keys_4_9_p_leave_one_block_at_4_to_8() {
        let mut buf = buffer(10);
        let mut p = Playground::new(&mut buf, DEFAULT_MAX_SCALE).unwrap();
        let out = press(&mut p, "49p");
        let lines: Vec<&str> = out.lines().collect();
        let base = p.heap().start_addr();
        assert_eq!(
            lines[0],
            alloc::format!("slot 4: allocate(1) -> {:#010X} (scale 4)", base + 9)
        );
        assert_eq!(
            lines[1],
            alloc::format!(
                "slot 9: allocate(248) -> {:#010X} (scale 9)",
                base + 512 + 9
            )
        );
        let want = counts_text(&[
            (1, "4"),
            (1, "5"),
            (1, "6"),
            (1, "7"),
            (1, "8"),
            (0, "9"),
            (0, "A"),
        ]);
        assert_eq!(lines[2..].join("\n") + "\n", want);
        p.heap().check().unwrap();
    }

    #[test]
    fn third_9_is_out_of_memory() {
        let mut buf = buffer(10);
        let mut p = Playground::new(&mut buf, DEFAULT_MAX_SCALE).unwrap();
        let out = press(&mut p, "999");
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[0].starts_with("slot 9: allocate(248) -> 0x"));
        assert!(lines[1].starts_with("slot 9: allocate(248) -> 0x"));
        assert_eq!(lines[2], "Out of memory!");
        assert_eq!(p.slot(9).len(), 2);
    }

    #[test]
    fn counts_of_ten_and_more_print_in_decimal() {
        // Slots 1 and 4 take buddies in turn; freeing slot 1 leaves 12 free
        // 16-byte blocks whose buddies are used.
        let mut buf = buffer(16);
        let mut q = Playground::new(&mut buf, 16).unwrap();
        let mut sink = String::new();
        for i in 0..24 {
            q.allocate(if i % 2 == 0 { 1 } else { 4 }, &mut sink);
        }
        for _ in 0..12 {
            q.free(1, &mut sink);
        }
        let out = press(&mut q, "p");
        assert!(out.contains("\n12 free blocks of scale 4\n"), "{out}");
        assert!(!out.contains(":2 free"), "no ShompOS digit overflow: {out}");
        q.heap().check().unwrap();
    }

    #[test]
    fn a_second_press_stacks_and_frees_newest_first() {
        let mut buf = buffer(10);
        let mut p = Playground::new(&mut buf, DEFAULT_MAX_SCALE).unwrap();
        press(&mut p, "44");
        let [first, second] = p.slot(4) else {
            panic!("two blocks expected");
        };
        let (first, second) = (*first, *second);
        assert_ne!(first, second);
        let out = press(&mut p, "e");
        assert_eq!(
            out,
            alloc::format!("slot 4: free({:#010X})\n", second.addr())
        );
        let out = press(&mut p, "e");
        assert_eq!(
            out,
            alloc::format!("slot 4: free({:#010X})\n", first.addr())
        );
        assert_eq!(press(&mut p, "e"), "slot 4 is empty\n");
        // Nothing leaked: back to one block of scale A.
        assert_eq!(p.heap().free_counts().total_blocks(), 1);
    }

    #[test]
    fn every_free_key_frees_its_slot() {
        let mut buf = buffer(12);
        let mut p = Playground::new(&mut buf, 12).unwrap();
        press(&mut p, "123456789");
        for (i, k) in FREE_KEYS.iter().enumerate() {
            assert_eq!(p.slot(i + 1).len(), 1);
            let out = press(&mut p, &k.to_string());
            assert!(
                out.starts_with(&alloc::format!("slot {}: free(0x", i + 1)),
                "{out}"
            );
            assert!(p.slot(i + 1).is_empty());
            p.heap().check().unwrap();
        }
        assert_eq!(p.heap().free_counts().total_blocks(), 1);
        assert_eq!(press(&mut p, "i"), "slot 9 is empty\n");
    }

    #[test]
    fn other_keys_are_not_playground_keys() {
        let mut buf = buffer(10);
        let mut p = Playground::new(&mut buf, DEFAULT_MAX_SCALE).unwrap();
        let mut out = String::new();
        for c in ['0', ':', 'x', 'P', ' ', '\n'] {
            assert!(!p.key(c, &mut out));
        }
        assert!(out.is_empty());
    }

    #[test]
    fn resize_resets_and_checks_its_argument() {
        let mut buf = buffer(12);
        let mut p = Playground::new(&mut buf, DEFAULT_MAX_SCALE).unwrap();
        press(&mut p, "999");
        p.resize(12).unwrap();
        assert!(p.slot(9).is_empty());
        let counts = p.heap().free_counts();
        assert_eq!(counts.total_blocks(), 1);
        assert_eq!(p.heap().max_scale().0, 12);
        // Four 512-byte blocks now fit; the fifth... also: 4 KiB holds 8.
        let out = press(&mut p, "99999999");
        assert!(!out.contains("Out of memory!"));
        assert_eq!(press(&mut p, "9"), "Out of memory!\n");
        assert_eq!(p.resize(4), Err(PlaygroundError::BadScale(4)));
        assert_eq!(p.resize(21), Err(PlaygroundError::BadScale(21)));
        assert_eq!(
            p.resize(13),
            Err(PlaygroundError::BufferTooSmall {
                need: buffer_bytes(13),
                have: buffer_bytes(12)
            })
        );
        // Errors left the playground as it was.
        assert_eq!(p.slot(9).len(), 8);
        // Max scale 8: key 9 (248 + 9 bytes) needs scale 9 and cannot fit.
        p.resize(8).unwrap();
        let out = press(&mut p, "9");
        assert!(out.starts_with("Out of memory! ("), "{out}");
        assert_eq!(press(&mut p, "8"), {
            let b = p.slot(8)[0].addr();
            alloc::format!("slot 8: allocate(120) -> {b:#010X} (scale 8)\n")
        });
    }

    #[test]
    fn playground_lives_in_a_static_mutex_as_in_the_kernel() {
        static PLAYGROUND: spin::Mutex<Option<Playground<'static>>> = spin::Mutex::new(None);
        let buf: &'static mut [u8] = Vec::leak(buffer(DEFAULT_MAX_SCALE));
        *PLAYGROUND.lock() = Some(Playground::new(buf, DEFAULT_MAX_SCALE).unwrap());
        let mut out = String::new();
        let mut guard = PLAYGROUND.lock();
        let p = guard.as_mut().unwrap();
        assert!(p.key('4', &mut out) && p.key('e', &mut out));
        assert!(out.starts_with("slot 4: allocate(1) -> 0x"));
        assert!(out.contains("\nslot 4: free(0x"));
    }

    #[test]
    fn unaligned_buffer_still_gives_one_block() {
        let mut buf = vec![0u8; buffer_bytes(10) + 1];
        let mut p = Playground::new(&mut buf[1..], DEFAULT_MAX_SCALE).unwrap();
        assert_eq!((p.heap().start_addr() + 9) % 1024, 0);
        assert!(press(&mut p, "p").ends_with("1 free blocks of scale A\n"));
    }
}
