//! Memory maps for the host tests: what GRUB reports under QEMU's i440fx
//! machine with SeaBIOS, plus the boot reservations a kernel would make.

use super::plan::{
    FramePlan, MemoryKind, MemoryRegion, PmmChoice, Reservation, ReserveReason, plan,
};
use super::{FrameAllocator, FrameError};
use crate::mm::addr::Frame;
use crate::testutil::Rng;
use alloc::collections::BTreeMap;
use alloc::vec;
use alloc::vec::Vec;

/// The map QEMU (`-m <mib>M`, i440fx, SeaBIOS) hands GRUB: low RAM up to the
/// EBDA, the BIOS area, RAM from 1 MiB to 128 KiB below the top of low RAM
/// (SeaBIOS keeps the rest), the BIOS flash below 4 GiB; RAM past 3.5 GiB is
/// moved above 4 GiB. Entries are given in a shuffled order on purpose.
pub fn qemu_map(mib: u64) -> Vec<MemoryRegion> {
    use MemoryKind::*;
    let ram = mib << 20;
    let low = if ram >= 0xE000_0000 { 0xC000_0000 } else { ram };
    let mut map = vec![
        MemoryRegion::new(0xFFFC_0000, 0x4_0000, Reserved),
        MemoryRegion::new(0x10_0000, low - 0x2_0000 - 0x10_0000, Available),
        MemoryRegion::new(0, 0x9_FC00, Available),
        MemoryRegion::new(0x9_FC00, 0x400, Reserved),
        MemoryRegion::new(0xF_0000, 0x1_0000, Reserved),
        MemoryRegion::new(low - 0x2_0000, 0x2_0000, Reserved),
    ];
    if ram > low {
        map.push(MemoryRegion::new(1 << 32, ram - low, Available));
    }
    map
}

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

/// Shared by the model tests of the bitmap and free-list allocators
/// (and, without `allocate_at`, the buddy's).
pub fn soak<A: FrameAllocator + Soakable>(
    a: &mut A,
    p: &FramePlan,
    seed: u64,
    ops: usize,
    snapshots: bool,
) {
    let mut rng = Rng::new(seed);
    let total = a.total_count();
    let limit = a.limit();
    let managed = |f: Frame| p.check_managed(f).is_ok() && f.0 < limit;
    // Live runs, by start (for overlap checks) and in a Vec (for random picks).
    let mut live: BTreeMap<u32, usize> = BTreeMap::new();
    let mut picks: Vec<u32> = Vec::new();
    let mut used = 0usize;
    for step in 0..ops {
        match rng.range(0, 10) {
            0..=3 => {
                if let Some(f) = a.allocate() {
                    assert!(managed(f), "step {step}: {f:?} is not managed");
                    assert!(
                        !overlaps(&live, f.0, 1),
                        "step {step}: {f:?} handed out twice"
                    );
                    live.insert(f.0, 1);
                    picks.push(f.0);
                    used += 1;
                } else {
                    assert_eq!(used, total, "step {step}: None while frames are free");
                }
            }
            4 | 5 => {
                let count = [1, 2, 3, 5, 8, 16, 33][rng.range(0, 7)];
                let align = 1 << rng.range(0, 5);
                if let Some(f) = a.allocate_contiguous(count, align) {
                    assert_eq!(f.0 as usize % align, 0, "step {step}: misaligned run");
                    for i in 0..count as u32 {
                        assert!(
                            managed(Frame(f.0 + i)),
                            "step {step}: run leaves managed memory"
                        );
                    }
                    assert!(!overlaps(&live, f.0, count), "step {step}: run overlaps");
                    live.insert(f.0, count);
                    picks.push(f.0);
                    used += count;
                }
            }
            6..=8 => {
                if !picks.is_empty() {
                    let s = picks.swap_remove(rng.range(0, picks.len()));
                    let n = live[&s];
                    if n == 1 && rng.chance(1, 2) {
                        a.free(Frame(s)).unwrap();
                    } else {
                        a.free_contiguous(Frame(s), n).unwrap();
                    }
                    live.remove(&s);
                    used -= n;
                }
            }
            _ => {
                // A bad free: a random frame that is not the start of a live run.
                let f = Frame(rng.range(0, p.span().end.0 as usize + 64) as u32);
                if live.contains_key(&f.0) {
                    continue;
                }
                let before = snapshots.then(|| a.snap());
                let want = if !managed(f) {
                    if matches!(p.check_managed(f), Err(FrameError::Reserved)) {
                        FrameError::Reserved
                    } else {
                        FrameError::Unmanaged
                    }
                } else if overlaps(&live, f.0, 1) {
                    FrameError::BadRun
                } else {
                    FrameError::AlreadyFree
                };
                assert_eq!(a.free(f), Err(want), "step {step}: bad free of {f:?}");
                if let Some(b) = before {
                    assert!(
                        a.snap() == b,
                        "step {step}: a bad free changed the allocator"
                    );
                }
            }
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
}

/// What the shared model test needs beyond the trait.
pub trait Soakable {
    fn snap(&self) -> Vec<u32>;
    fn integrity(&self) -> Result<(), &'static str>;
    /// Frames below this are the only ones handed out (free-list reach).
    fn limit(&self) -> u32 {
        u32::MAX
    }
}

fn overlaps(live: &BTreeMap<u32, usize>, s: u32, n: usize) -> bool {
    let e = s as usize + n;
    live.range(..e as u32)
        .next_back()
        .is_some_and(|(&ls, &ln)| ls as usize + ln > s as usize)
}
