//! Memory maps for the host tests: what GRUB reports under QEMU's i440fx
//! machine with SeaBIOS, plus the boot reservations a kernel would make.

use super::plan::{FramePlan, PmmChoice, Reservation, ReserveReason, plan};
use super::{FrameAllocator, FrameError};
use crate::mm::addr::Frame;
use crate::testutil::Rng;
use alloc::collections::BTreeMap;
use alloc::vec;
use alloc::vec::Vec;

use super::plan::{MemoryKind, MemoryRegion};

/// QEMU's memory maps (a fixture shared with the frames benchmark).
#[path = "../../../tests/fixtures/qemu_maps.rs"]
mod qemu;

pub use qemu::qemu_map;

/// Kernel image at 1 MiB (512 KiB), multiboot2 information just after it
/// (one frame), one 64 KiB boot module after that.
pub fn boot_reservations() -> [Reservation; 3] {
    [
        Reservation::new(0x10_0000, 0x8_0000, ReserveReason::KernelImage),
        Reservation::new(0x18_0000, 0x7A0, ReserveReason::MultibootInfo),
        Reservation::new(0x18_1000, 0x1_0000, ReserveReason::BootModule),
    ]
}

/// The plan for QEMU `-m <mib>M` with the boot reservations.
pub fn qemu_plan(mib: u64, choice: PmmChoice) -> FramePlan {
    plan(&qemu_map(mib), &boot_reservations(), choice).expect("qemu map plans")
}

/// A 128 MiB QEMU plan with the multiboot2 information where GRUB put it
/// on a boot of main: the 1000 bytes from 0x192820, in the padding between
/// the end of the kernel's .rodata (0x192814) and .data (0x193000). Its
/// bytes lie beside the image's, but its frame is one the image reserves
/// too: the plan's one shared frame.
pub fn shared_frame_plan() -> FramePlan {
    let reservations = [
        Reservation::new(0x10_0000, 0xF_F000, ReserveReason::KernelImage),
        Reservation::new(0x19_2820, 0x3E8, ReserveReason::MultibootInfo),
    ];
    plan(&qemu_map(128), &reservations, PmmChoice::Buddy).expect("qemu map plans")
}

/// The maximal aligned blocks of the plan's managed ranges, per order: what
/// a buddy holds on a fresh machine and what `buddyinfo` shows.
pub fn initial_blocks(plan: &FramePlan) -> [usize; super::ORDERS] {
    let mut counts = [0; super::ORDERS];
    for r in plan.usable() {
        super::for_each_block(r.start.0 as usize, r.end.0 as usize, |_, k| counts[k] += 1);
    }
    counts
}

/// A zeroed metadata buffer of the size the plan asks for, deliberately
/// starting one byte into its allocation so alignment handling is exercised.
pub struct MetaBuf(Vec<u8>);

impl MetaBuf {
    /// A buffer for `plan`.
    pub fn new(plan: &FramePlan) -> MetaBuf {
        MetaBuf(vec![0; plan.metadata_bytes() + 1])
    }
    /// The bytes to give a constructor (misaligned by one byte on purpose).
    pub fn bytes(&mut self) -> &mut [u8] {
        &mut self.0[1..]
    }
}

/// What one model run did, so a test can assert every path was exercised.
#[derive(Debug, Default)]
pub struct SoakStats {
    pub allocs: usize,
    pub runs: usize,
    pub frees: usize,
    pub bad_frees: usize,
    pub at_calls: usize,
    pub fills: usize,
    pub drains: usize,
}

/// The model test shared by the three allocators: `ops` random operations
/// (allocate, allocate_contiguous with random count and alignment,
/// allocate_at where supported, free of a live run, free of a bad frame,
/// fill to exhaustion, drain to empty), each checked against a map of live
/// runs: no frame handed out twice, only managed frames handed out (never a
/// reserved one), runs aligned, the free count exact, a bad free answered with
/// the right error and, with `snapshots`, leaving the allocator unchanged.
/// `on_empty` runs each time everything has been freed (the buddy checks
/// that its lists merged back). Returns what was done.
pub fn soak<A: FrameAllocator + Soakable>(
    a: &mut A,
    p: &FramePlan,
    seed: u64,
    ops: usize,
    snapshots: bool,
    mut on_empty: impl FnMut(&A),
) -> SoakStats {
    let mut rng = Rng::new(seed);
    let mut st = SoakStats::default();
    let total = a.total_count();
    let limit = a.limit();
    let managed = |f: Frame| p.check_managed(f).is_ok() && f.0 < limit;
    let expected_error = |live: &BTreeMap<u32, usize>, f: Frame| {
        if !managed(f) {
            if matches!(p.check_managed(f), Err(FrameError::Reserved)) {
                FrameError::Reserved
            } else {
                FrameError::Unmanaged
            }
        } else if overlaps(live, f.0, 1) {
            FrameError::BadRun
        } else {
            FrameError::AlreadyFree
        }
    };
    // Live runs, by start (for overlap checks) and in a Vec (for random picks).
    let mut live: BTreeMap<u32, usize> = BTreeMap::new();
    let mut picks: Vec<u32> = Vec::new();
    let mut used = 0usize;
    let take = |live: &mut BTreeMap<u32, usize>, picks: &mut Vec<u32>, f: Frame, n: usize| {
        for i in 0..n as u32 {
            assert!(managed(Frame(f.0 + i)), "{f:?}+{i} is not managed");
        }
        assert!(!overlaps(live, f.0, n), "{f:?} (+{n}) handed out twice");
        live.insert(f.0, n);
        picks.push(f.0);
    };
    for step in 0..ops {
        let alloc_pct = if used < total * 3 / 4 { 60 } else { 30 };
        let roll = rng.range(0, 1000);
        if roll == 0 {
            // Fill: take every frame that is left; then there is none.
            while let Some(f) = a.allocate() {
                take(&mut live, &mut picks, f, 1);
                used += 1;
            }
            assert_eq!(used, total, "step {step}: None while frames are free");
            assert_eq!(a.allocate_contiguous(1, 1), None);
            st.fills += 1;
        } else if roll == 1 {
            // Drain: free everything.
            for s in picks.drain(..) {
                let n = live.remove(&s).unwrap();
                a.free_contiguous(Frame(s), n).unwrap();
            }
            used = 0;
            assert_eq!(a.free_count(), total);
            a.integrity().unwrap();
            on_empty(a);
            st.drains += 1;
        } else if roll < 10 * alloc_pct * 2 / 3 {
            if let Some(f) = a.allocate() {
                take(&mut live, &mut picks, f, 1);
                used += 1;
                st.allocs += 1;
            } else {
                assert_eq!(used, total, "step {step}: None while frames are free");
            }
        } else if roll < 10 * alloc_pct {
            let count = [1, 2, 3, 5, 8, 16, 33][rng.range(0, 7)];
            let align = 1 << rng.range(0, 5);
            if let Some(f) = a.allocate_contiguous(count, align) {
                assert_eq!(f.0 as usize % align, 0, "step {step}: misaligned run");
                take(&mut live, &mut picks, f, count);
                used += count;
                st.runs += 1;
            }
        } else if roll < 880 {
            if !picks.is_empty() {
                let s = picks.swap_remove(rng.range(0, picks.len()));
                let n = live.remove(&s).unwrap();
                if n == 1 && rng.chance(1, 2) {
                    a.free(Frame(s)).unwrap();
                } else {
                    a.free_contiguous(Frame(s), n).unwrap();
                }
                used -= n;
                st.frees += 1;
            }
        } else if roll < 940 {
            // allocate_at, where the allocator has it.
            let f = Frame(rng.range(0, p.span().end.0 as usize + 64) as u32);
            let want = if !managed(f) {
                Err(expected_error(&live, f))
            } else if overlaps(&live, f.0, 1) {
                Err(FrameError::InUse)
            } else {
                Ok(())
            };
            if let Some(got) = a.try_allocate_at(f) {
                assert_eq!(got, want, "step {step}: allocate_at({f:?})");
                if got.is_ok() {
                    take(&mut live, &mut picks, f, 1);
                    used += 1;
                }
                st.at_calls += 1;
            }
        } else {
            // A bad free: a random frame that is not the start of a live run.
            let f = Frame(rng.range(0, p.span().end.0 as usize + 64) as u32);
            if live.contains_key(&f.0) {
                continue;
            }
            let before = snapshots.then(|| a.snap());
            let want = expected_error(&live, f);
            assert_eq!(a.free(f), Err(want), "step {step}: bad free of {f:?}");
            if let Some(b) = before {
                assert!(
                    a.snap() == b,
                    "step {step}: a bad free changed the allocator"
                );
            }
            st.bad_frees += 1;
        }
        assert_eq!(a.free_count(), total - used, "step {step}: free count");
        if step % 4096 == 0 {
            a.integrity().unwrap();
        }
    }
    a.integrity().unwrap();
    for (&s, &n) in &live {
        assert!(a.is_allocated(Frame(s)));
        a.free_contiguous(Frame(s), n).unwrap();
    }
    assert_eq!(a.free_count(), total);
    a.integrity().unwrap();
    on_empty(a);
    if ops >= 50_000 {
        assert!(
            st.allocs > ops / 10 && st.runs > ops / 50 && st.frees > ops / 10,
            "{st:?}"
        );
        assert!(
            st.bad_frees > ops / 50 && st.fills > 0 && st.drains > 0,
            "{st:?}"
        );
    }
    st
}

/// What the shared model test needs beyond the trait.
pub trait Soakable {
    fn snap(&self) -> Vec<u32>;
    fn integrity(&self) -> Result<(), crate::mm::frame::FrameCheckError>;
    /// Frames below this are the only ones handed out (free-list reach).
    fn limit(&self) -> u32 {
        u32::MAX
    }
    /// `allocate_at`, for allocators that have it.
    fn try_allocate_at(&mut self, _frame: Frame) -> Option<Result<(), FrameError>> {
        None
    }
}

fn overlaps(live: &BTreeMap<u32, usize>, s: u32, n: usize) -> bool {
    let e = s as usize + n;
    live.range(..e as u32)
        .next_back()
        .is_some_and(|(&ls, &ln)| ls as usize + ln > s as usize)
}

/// The fixture itself: QEMU puts RAM above 4 GiB for big guests, and the
/// 128 MiB map holds what GRUB reports.
#[cfg(test)]
mod fixture_tests {
    use super::*;

    #[test]
    fn big_guests_get_ram_above_4g() {
        let m = qemu_map(4096);
        assert_eq!(
            m.last().unwrap(),
            &MemoryRegion::new(1 << 32, 1 << 30, MemoryKind::Available)
        );
        let avail: u64 = qemu_map(128)
            .iter()
            .filter(|e| e.kind == MemoryKind::Available)
            .map(|e| e.len)
            .sum();
        assert_eq!(avail, 0x9_FC00 + 0x7FE_0000 - 0x10_0000);
    }
}
