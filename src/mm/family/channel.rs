//! MemoryChannel after FreeNOS: a one-way ring of fixed-size messages
//! between one producer and one consumer, over two shared pages.
//!
//! ```text
//!   data page (producer writes, consumer reads)
//!   ┌──────────┬──────────┬──────────┬─────┬──────────┬───────┐
//!   │ w index  │ slot 1   │ slot 2   │ ... │ slot max │ unused│
//!   └──────────┴──────────┴──────────┴─────┴──────────┴───────┘
//!    0          1*size     2*size           max*size
//!   feedback page (consumer writes, producer reads)
//!   ┌──────────┬──────────────────────────────────────────────┐
//!   │ r index  │                                              │
//!   └──────────┴──────────────────────────────────────────────┘
//!   max = PAGE_SIZE / size - 1 indices; message i sits in slot i+1.
//!   empty: w == r          full: (w + 1) % max == r   (one slot kept free)
//! ```
//!
//! Each side keeps its own index locally and publishes it in its own page;
//! it only *reads* the other side's page. So a full ring refuses a write
//! (`Full`) and an empty one refuses a read (`Empty`): nothing is ever
//! overwritten. Cairn adds to FreeNOS: acquire/release ordering on the
//! indices (FreeNOS relied on a single core and cache flushes), checks of
//! the index read from the other side (a bad one is `Corrupted`, never an
//! out-of-page access), and errors instead of asserts for bad sizes.

use crate::mm::layout::PAGE_SIZE;
use core::fmt;
use core::ptr;
use core::sync::atomic::{AtomicU32, Ordering};

/// Why a channel operation was refused. Nothing changes on any of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChannelError {
    /// The ring is full: the consumer has not caught up.
    Full,
    /// The ring is empty: nothing to read.
    Empty,
    /// Message size below 4 bytes or not below half a page.
    BadMessageSize,
    /// The buffer given is not exactly one message long.
    BadLength,
    /// A page pointer is null or not 4-byte aligned.
    BadPage,
    /// The other side's index is out of range: its page was overwritten.
    Corrupted,
}

/// How an endpoint starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reset {
    /// Start from index 0 and publish it (both sides, fresh pages).
    Hard,
    /// Continue from the index already published in this side's page.
    Soft,
}

/// What both endpoints share: the two pages and the geometry.
struct Ring {
    data: *mut u8,
    feedback: *mut u8,
    message_size: usize,
    slots: u32,
}

impl Ring {
    /// # Safety
    /// See `Producer::new`.
    unsafe fn new(
        data: *mut u8,
        feedback: *mut u8,
        message_size: usize,
    ) -> Result<Ring, ChannelError> {
        if message_size < size_of::<u32>() || message_size >= PAGE_SIZE / 2 {
            return Err(ChannelError::BadMessageSize);
        }
        let bad = |p: *mut u8| p.is_null() || !p.addr().is_multiple_of(align_of::<AtomicU32>());
        if bad(data) || bad(feedback) || data == feedback {
            return Err(ChannelError::BadPage);
        }
        Ok(Ring {
            data,
            feedback,
            message_size,
            slots: (PAGE_SIZE / message_size - 1) as u32,
        })
    }
    fn index(&self, page: *mut u8) -> &AtomicU32 {
        // SAFETY: the page is valid, 4-aligned and shared only through this
        // atomic at offset 0 (contract of the constructors).
        unsafe { AtomicU32::from_ptr(page as *mut u32) }
    }
    /// An endpoint's starting index, kept in word 0 of `page` (its own):
    /// zeroed on a hard reset, read back (and range-checked) on a soft one.
    fn start(&self, page: *mut u8, reset: Reset) -> Result<u32, ChannelError> {
        let mine = self.index(page);
        let head = match reset {
            Reset::Hard => {
                mine.store(0, Ordering::Release);
                0
            }
            Reset::Soft => mine.load(Ordering::Acquire),
        };
        if head >= self.slots {
            return Err(ChannelError::Corrupted);
        }
        Ok(head)
    }
    fn slot(&self, index: u32) -> *mut u8 {
        // SAFETY: index < slots, so the slot ends within the page.
        unsafe { self.data.add((index as usize + 1) * self.message_size) }
    }
    fn next(&self, index: u32) -> u32 {
        (index + 1) % self.slots
    }
    fn pending(&self, w: u32, r: u32) -> usize {
        ((w + self.slots - r) % self.slots) as usize
    }
}

/// The writing end of a memory channel.
pub struct Producer {
    ring: Ring,
    head: u32,
}

/// The reading end of a memory channel.
pub struct Consumer {
    ring: Ring,
    head: u32,
}

// SAFETY: an endpoint only writes its own page's index and the slots the
// protocol gives it, and reads the other side's index with acquire ordering;
// moving it to another thread (or using it from an interrupt handler) keeps
// that discipline.
unsafe impl Send for Producer {}
// SAFETY: as for Producer.
unsafe impl Send for Consumer {}

impl Producer {
    /// The producer over `data` (written) and `feedback` (read) pages for
    /// messages of `message_size` bytes (4 ≤ size < PAGE_SIZE/2).
    ///
    /// # Safety
    /// `data` and `feedback` point to two distinct `PAGE_SIZE`-byte,
    /// 4-aligned pages that stay valid while the endpoint lives, shared only
    /// by this producer and one consumer built over the same two pages.
    pub unsafe fn new(
        data: *mut u8,
        feedback: *mut u8,
        message_size: usize,
        reset: Reset,
    ) -> Result<Producer, ChannelError> {
        // SAFETY: forwarded contract.
        let ring = unsafe { Ring::new(data, feedback, message_size)? };
        let head = ring.start(ring.data, reset)?;
        Ok(Producer { ring, head })
    }

    /// Append one message (exactly `message_size` bytes). `Full` when the
    /// consumer has not freed a slot; the ring is then unchanged.
    pub fn write(&mut self, message: &[u8]) -> Result<(), ChannelError> {
        if message.len() != self.ring.message_size {
            return Err(ChannelError::BadLength);
        }
        let reader = self.ring.index(self.ring.feedback).load(Ordering::Acquire);
        if reader >= self.ring.slots {
            return Err(ChannelError::Corrupted);
        }
        let next = self.ring.next(self.head);
        if next == reader {
            return Err(ChannelError::Full);
        }
        // SAFETY: the slot lies in the data page and the consumer does not
        // read it until the release store below publishes it.
        unsafe {
            ptr::copy_nonoverlapping(message.as_ptr(), self.ring.slot(self.head), message.len());
        }
        self.head = next;
        self.ring
            .index(self.ring.data)
            .store(next, Ordering::Release);
        Ok(())
    }

    /// Messages written and not yet read.
    pub fn pending(&self) -> Result<usize, ChannelError> {
        let r = self.ring.index(self.ring.feedback).load(Ordering::Acquire);
        if r >= self.ring.slots {
            return Err(ChannelError::Corrupted);
        }
        Ok(self.ring.pending(self.head, r))
    }

    /// Messages the ring holds when full.
    pub fn capacity(&self) -> usize {
        self.ring.slots as usize - 1
    }

    /// One line: indices and fill level.
    pub fn dump(&self, out: &mut dyn fmt::Write) -> fmt::Result {
        let r = self.ring.index(self.ring.feedback).load(Ordering::Acquire);
        writeln!(
            out,
            "channel producer: write index {}, read index {}, {} slots of {} bytes",
            self.head, r, self.ring.slots, self.ring.message_size
        )
    }

    /// Integrity check: both indices are in range and the published index
    /// is ours.
    pub fn check(&self) -> Result<(), ChannelError> {
        let mine = self.ring.index(self.ring.data).load(Ordering::Acquire);
        let r = self.ring.index(self.ring.feedback).load(Ordering::Acquire);
        if mine != self.head || r >= self.ring.slots || self.head >= self.ring.slots {
            return Err(ChannelError::Corrupted);
        }
        Ok(())
    }
}

impl Consumer {
    /// The consumer over `data` (read) and `feedback` (written) pages.
    ///
    /// # Safety
    /// As for [`Producer::new`].
    pub unsafe fn new(
        data: *mut u8,
        feedback: *mut u8,
        message_size: usize,
        reset: Reset,
    ) -> Result<Consumer, ChannelError> {
        // SAFETY: forwarded contract.
        let ring = unsafe { Ring::new(data, feedback, message_size)? };
        let head = ring.start(ring.feedback, reset)?;
        Ok(Consumer { ring, head })
    }

    /// Take the oldest message into `buffer` (exactly `message_size`
    /// bytes). `Empty` when there is none; nothing changes then.
    pub fn read(&mut self, buffer: &mut [u8]) -> Result<(), ChannelError> {
        if buffer.len() != self.ring.message_size {
            return Err(ChannelError::BadLength);
        }
        let writer = self.ring.index(self.ring.data).load(Ordering::Acquire);
        if writer >= self.ring.slots {
            return Err(ChannelError::Corrupted);
        }
        if writer == self.head {
            return Err(ChannelError::Empty);
        }
        // SAFETY: the slot was published by the producer's release store
        // (acquired above) and is not rewritten until we publish our index.
        unsafe {
            ptr::copy_nonoverlapping(self.ring.slot(self.head), buffer.as_mut_ptr(), buffer.len());
        }
        self.head = self.ring.next(self.head);
        self.ring
            .index(self.ring.feedback)
            .store(self.head, Ordering::Release);
        Ok(())
    }

    /// Messages waiting to be read.
    pub fn pending(&self) -> Result<usize, ChannelError> {
        let w = self.ring.index(self.ring.data).load(Ordering::Acquire);
        if w >= self.ring.slots {
            return Err(ChannelError::Corrupted);
        }
        Ok(self.ring.pending(w, self.head))
    }

    /// One line: indices and fill level.
    pub fn dump(&self, out: &mut dyn fmt::Write) -> fmt::Result {
        let w = self.ring.index(self.ring.data).load(Ordering::Acquire);
        writeln!(
            out,
            "channel consumer: write index {}, read index {}, {} slots of {} bytes",
            w, self.head, self.ring.slots, self.ring.message_size
        )
    }

    /// Integrity check: both indices in range, the published one is ours.
    pub fn check(&self) -> Result<(), ChannelError> {
        let mine = self.ring.index(self.ring.feedback).load(Ordering::Acquire);
        let w = self.ring.index(self.ring.data).load(Ordering::Acquire);
        if mine != self.head || w >= self.ring.slots || self.head >= self.ring.slots {
            return Err(ChannelError::Corrupted);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::Arena;
    use crate::testutil::{Rng, miri_or, soak_ops};
    use alloc::collections::VecDeque;
    use alloc::string::String;
    use alloc::vec;

    fn pair(data: &Arena, feedback: &Arena, size: usize) -> (Producer, Consumer) {
        let (d, f) = (data.ptr(), feedback.ptr());
        // SAFETY: two distinct zeroed pages that outlive the endpoints.
        unsafe {
            (
                Producer::new(d, f, size, Reset::Hard).unwrap(),
                Consumer::new(d, f, size, Reset::Hard).unwrap(),
            )
        }
    }

    #[test]
    fn bad_geometry_is_refused() {
        let (d, f) = (Arena::new(PAGE_SIZE), Arena::new(PAGE_SIZE));
        let (dp, fp) = (d.ptr(), f.ptr());
        // SAFETY: valid pages; the calls fail before touching them anyway.
        unsafe {
            assert!(matches!(
                Producer::new(dp, fp, 2, Reset::Hard),
                Err(ChannelError::BadMessageSize)
            ));
            assert!(matches!(
                Producer::new(dp, fp, PAGE_SIZE / 2, Reset::Hard),
                Err(ChannelError::BadMessageSize)
            ));
            assert!(matches!(
                Consumer::new(dp, dp, 16, Reset::Hard),
                Err(ChannelError::BadPage)
            ));
            assert!(matches!(
                Consumer::new(ptr::null_mut(), fp, 16, Reset::Hard),
                Err(ChannelError::BadPage)
            ));
            assert!(matches!(
                Consumer::new(dp.add(1), fp, 16, Reset::Hard),
                Err(ChannelError::BadPage)
            ));
        }
    }

    #[test]
    fn fills_up_then_refuses_without_overwriting() {
        let (d, f) = (Arena::new(PAGE_SIZE), Arena::new(PAGE_SIZE));
        let (mut p, mut c) = pair(&d, &f, 64);
        assert_eq!(p.capacity(), PAGE_SIZE / 64 - 2);
        for i in 0..p.capacity() {
            p.write(&[i as u8; 64]).unwrap();
        }
        assert_eq!(p.pending(), Ok(p.capacity()));
        assert_eq!(p.write(&[0xEE; 64]), Err(ChannelError::Full));
        assert_eq!(p.write(&[0; 8]), Err(ChannelError::BadLength));
        let mut buf = [0; 64];
        for i in 0..p.capacity() {
            c.read(&mut buf).unwrap();
            assert_eq!(buf, [i as u8; 64], "message {i} overwritten");
        }
        assert_eq!(c.read(&mut buf), Err(ChannelError::Empty));
        assert_eq!(c.pending(), Ok(0));
        p.check().unwrap();
        c.check().unwrap();
    }

    #[test]
    fn wraps_around_many_times() {
        let (d, f) = (Arena::new(PAGE_SIZE), Arena::new(PAGE_SIZE));
        let (mut p, mut c) = pair(&d, &f, 100);
        let mut buf = [0u8; 100];
        for i in 0..miri_or(5000, 500) as u32 {
            let mut m = [0u8; 100];
            m[..4].copy_from_slice(&i.to_le_bytes());
            p.write(&m).unwrap();
            if i % 3 == 0 {
                p.write(&m).unwrap();
                c.read(&mut buf).unwrap();
            }
            c.read(&mut buf).unwrap();
            assert_eq!(buf[..4], i.to_le_bytes());
        }
        assert_eq!(c.read(&mut buf), Err(ChannelError::Empty));
    }

    #[test]
    fn soft_reset_continues_and_bad_indices_are_caught() {
        let (d, f) = (Arena::new(PAGE_SIZE), Arena::new(PAGE_SIZE));
        let (mut p, _c) = pair(&d, &f, 32);
        p.write(&[1; 32]).unwrap();
        p.write(&[2; 32]).unwrap();
        let (dp, fp) = (d.ptr(), f.ptr());
        // SAFETY: the same pages; the old consumer is no longer used.
        let mut c = unsafe { Consumer::new(dp, fp, 32, Reset::Soft).unwrap() };
        let mut buf = [0; 32];
        c.read(&mut buf).unwrap();
        assert_eq!(buf, [1; 32]);
        let mut s = String::new();
        c.dump(&mut s).unwrap();
        assert_eq!(
            s,
            "channel consumer: write index 2, read index 1, 127 slots of 32 bytes\n"
        );
        // Someone scribbles over the producer's index.
        // SAFETY: the data page is valid; this simulates a rogue writer.
        unsafe { dp.cast::<u32>().write(10_000) };
        assert_eq!(c.read(&mut buf), Err(ChannelError::Corrupted));
        assert_eq!(c.check(), Err(ChannelError::Corrupted));
        assert_eq!(p.check(), Err(ChannelError::Corrupted));
    }

    #[test]
    fn channel_soak_against_a_queue() {
        let (d, f) = (Arena::new(PAGE_SIZE), Arena::new(PAGE_SIZE));
        let (mut p, mut c) = pair(&d, &f, 24);
        let mut model: VecDeque<[u8; 24]> = VecDeque::new();
        let mut rng = Rng::new(0xC4A);
        let mut buf = [0u8; 24];
        for _ in 0..soak_ops(200_000) {
            if rng.chance(1, 2) {
                let mut m = [0u8; 24];
                m.iter_mut().for_each(|b| *b = rng.next_u64() as u8);
                match p.write(&m) {
                    Ok(()) => model.push_back(m),
                    Err(e) => {
                        assert_eq!(e, ChannelError::Full);
                        assert_eq!(model.len(), p.capacity());
                    }
                }
            } else {
                match c.read(&mut buf) {
                    Ok(()) => assert_eq!(Some(buf), model.pop_front()),
                    Err(e) => {
                        assert_eq!(e, ChannelError::Empty);
                        assert!(model.is_empty());
                    }
                }
            }
            assert_eq!(p.pending(), Ok(model.len()));
            assert_eq!(c.pending(), Ok(model.len()));
        }
        p.check().unwrap();
        c.check().unwrap();
    }

    /// A producer thread and a consumer thread: every message arrives, once,
    /// in order.
    #[test]
    fn two_threads_pass_every_message_in_order() {
        let (d, f) = (Arena::new(PAGE_SIZE), Arena::new(PAGE_SIZE));
        let (mut p, mut c) = pair(&d, &f, 16);
        let n: u64 = soak_ops(200_000) as u64;
        std::thread::scope(|s| {
            s.spawn(move || {
                for i in 0..n {
                    let mut m = [0u8; 16];
                    m[..8].copy_from_slice(&i.to_le_bytes());
                    m[8..].copy_from_slice(&(!i).to_le_bytes());
                    while let Err(e) = p.write(&m) {
                        assert_eq!(e, ChannelError::Full);
                        std::thread::yield_now();
                    }
                }
            });
            s.spawn(move || {
                let mut buf = vec![0u8; 16];
                let mut fulls = 0u64;
                for i in 0..n {
                    loop {
                        match c.read(&mut buf) {
                            Ok(()) => break,
                            Err(e) => {
                                assert_eq!(e, ChannelError::Empty);
                                fulls += 1;
                                std::thread::yield_now();
                            }
                        }
                    }
                    assert_eq!(buf[..8], i.to_le_bytes());
                    assert_eq!(buf[8..], (!i).to_le_bytes());
                }
                assert_eq!(c.read(&mut buf), Err(ChannelError::Empty));
                let _ = fulls;
            });
        });
    }
}
