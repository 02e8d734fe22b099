//! Frame allocator benchmark: `cargo bench --bench frames` (`make bench`).
//!
//! For each allocator (bitmap, buddy, free list) on QEMU's memory map:
//! - init: planning from the map plus building the allocator, total and per frame;
//! - single pair: `allocate()` then `free()` at once (ns per allocate+free);
//! - single batch: 4096 `allocate()`, then free them in random order (ns per op);
//! - run16 pair / batch: the same with `allocate_contiguous(16, 1)` (256 runs a batch).
//!
//! It measures at 64 MiB, 512 MiB and 3 GiB so the buddy's cost per frame can
//! be seen not to grow with memory size, prints a table and writes it to
//! docs/bench/frames.md. Each figure is the best of 5 timed repetitions.

use cairn::mm::Frame;
use cairn::mm::frame::plan::{MemoryKind, MemoryRegion};

/// QEMU's memory maps (a fixture shared with the host tests).
#[path = "../tests/fixtures/qemu_maps.rs"]
mod qemu_maps;
use cairn::mm::frame::{
    AnyFrameAllocator, FrameAllocator, FramePlan, PmmChoice, Reservation, ReserveReason, plan,
};
use cairn::mm::phys::{PhysMemory, SimMemory};
use cairn::rand::Rng;
use qemu_maps::qemu_map;
use std::fmt::Write as _;
use std::hint::black_box;
use std::time::{Duration, Instant};

const REPEATS: usize = 5;
const BATCH: usize = 4096;
const RUN_BATCH: usize = 256;

fn reservations() -> [Reservation; 2] {
    [
        Reservation::new(0x10_0000, 0x8_0000, ReserveReason::KernelImage),
        Reservation::new(0x18_0000, 0x1000, ReserveReason::MultibootInfo),
    ]
}

fn make_plan(mib: u64, choice: PmmChoice) -> FramePlan {
    plan(&qemu_map(mib), &reservations(), choice).expect("plan")
}

/// The free list writes into every frame it manages: simulate the frames below its reach.
/// Every frame is touched once here so host page faults are not timed.
fn memory_for(p: &FramePlan) -> SimMemory {
    let frames = if p.choice() == PmmChoice::FreeList {
        p.span()
            .len()
            .min(cairn::mm::frame::plan::LINEAR_FRAMES as usize)
    } else {
        1
    };
    let mem = SimMemory::new(frames);
    for f in 0..frames as u32 {
        // SAFETY: `frame_ptr` points at PAGE_SIZE bytes of the simulated frame.
        unsafe { mem.frame_ptr(Frame(f)).write(1) };
    }
    mem
}

fn best<F: FnMut() -> Duration>(mut f: F) -> Duration {
    (0..REPEATS).map(|_| f()).min().unwrap()
}

fn ns(d: Duration, ops: usize) -> f64 {
    d.as_nanos() as f64 / ops as f64
}

struct Row {
    name: &'static str,
    mib: u64,
    frames: usize,
    init: Duration,
    single_pair: f64,
    single_batch: f64,
    run_pair: f64,
    run_batch: f64,
}

fn measure(choice: PmmChoice, mib: u64) -> Row {
    let p = make_plan(mib, choice);
    let mut meta = vec![0u8; p.metadata_bytes()];
    // Init: plan + constructor (metadata zeroing, and for the free list the markers).
    let map = qemu_map(mib);
    let init = best(|| {
        let mem = memory_for(&p);
        let t = Instant::now();
        let p2 = plan(&map, &reservations(), choice).unwrap();
        let a = AnyFrameAllocator::new(&p2, &mut meta, mem).unwrap();
        let d = t.elapsed();
        black_box(a.free_count());
        d
    });
    let mut a = AnyFrameAllocator::new(&p, &mut meta, memory_for(&p)).unwrap();
    let frames = a.total_count();
    let mut rng = Rng::new(0x5EED_F4A3E5);

    let pair_ops = 200_000;
    let single_pair = ns(
        best(|| {
            let t = Instant::now();
            for _ in 0..pair_ops {
                let f = a.allocate().unwrap();
                a.free(black_box(f)).unwrap();
            }
            t.elapsed()
        }),
        pair_ops,
    );
    let mut got: Vec<Frame> = Vec::with_capacity(BATCH);
    let single_batch = ns(
        best(|| {
            got.clear();
            let t = Instant::now();
            for _ in 0..BATCH {
                got.push(a.allocate().unwrap());
            }
            let mid = t.elapsed();
            rng.shuffle(&mut got);
            let t = Instant::now();
            for &f in &got {
                a.free(f).unwrap();
            }
            mid + t.elapsed()
        }),
        2 * BATCH,
    );
    let run_ops = 50_000;
    let run_pair = ns(
        best(|| {
            let t = Instant::now();
            for _ in 0..run_ops {
                let f = a.allocate_contiguous(16, 1).unwrap();
                a.free_contiguous(black_box(f), 16).unwrap();
            }
            t.elapsed()
        }),
        run_ops,
    );
    let run_batch = ns(
        best(|| {
            got.clear();
            let t = Instant::now();
            for _ in 0..RUN_BATCH {
                got.push(a.allocate_contiguous(16, 1).unwrap());
            }
            let mid = t.elapsed();
            rng.shuffle(&mut got);
            let t = Instant::now();
            for &f in &got {
                a.free_contiguous(f, 16).unwrap();
            }
            mid + t.elapsed()
        }),
        2 * RUN_BATCH,
    );
    a.check().expect("allocator intact after the benchmark");
    assert_eq!(a.free_count(), frames);
    Row {
        name: a.name(),
        mib,
        frames,
        init,
        single_pair,
        single_batch,
        run_pair,
        run_batch,
    }
}

fn main() {
    let mut rows = Vec::new();
    for choice in [PmmChoice::Bitmap, PmmChoice::Buddy, PmmChoice::FreeList] {
        for mib in [64, 512, 3072] {
            let r = measure(choice, mib);
            eprintln!(
                "{:>8} {:>5} MiB: init {:?}, single {:.0}/{:.0} ns, run16 {:.0}/{:.0} ns",
                r.name, r.mib, r.init, r.single_pair, r.single_batch, r.run_pair, r.run_batch
            );
            rows.push(r);
        }
    }
    let mut md = String::new();
    writeln!(md, "# Frame allocator benchmark\n").unwrap();
    writeln!(
        md,
        "Made by `cargo bench --bench frames` (benches/frames.rs; `make bench` runs it) \
         on the host, over QEMU's i440fx memory map for `-m` 64M, 512M and 3G. \
         Best of {REPEATS} repetitions; ns per operation.\n"
    )
    .unwrap();
    writeln!(
        md,
        "- *init*: plan from the memory map + build the allocator (for the free list this \
         writes a marker into every frame it manages, in simulated memory here)\n\
         - *single pair*: `allocate()` then `free()` at once, ns per pair\n\
         - *single batch*: {BATCH} `allocate()` then {BATCH} `free()` in random order, ns per call\n\
         - *run16 pair*: `allocate_contiguous(16, 1)` then `free_contiguous`, ns per pair\n\
         - *run16 batch*: {RUN_BATCH} runs of 16 then their frees in random order, ns per call\n"
    )
    .unwrap();
    writeln!(
        md,
        "| allocator | RAM | managed frames | init | init ns/frame | single pair | single batch | run16 pair | run16 batch |"
    )
    .unwrap();
    writeln!(md, "|---|---:|---:|---:|---:|---:|---:|---:|---:|").unwrap();
    for r in &rows {
        writeln!(
            md,
            "| {} | {} MiB | {} | {:.1} µs | {:.2} | {:.0} | {:.0} | {:.0} | {:.0} |",
            r.name,
            r.mib,
            r.frames,
            r.init.as_secs_f64() * 1e6,
            ns(r.init, r.frames),
            r.single_pair,
            r.single_batch,
            r.run_pair,
            r.run_batch
        )
        .unwrap();
    }
    let buddy: Vec<&Row> = rows.iter().filter(|r| r.name == "buddy").collect();
    let per_frame: Vec<f64> = buddy.iter().map(|r| ns(r.init, r.frames)).collect();
    writeln!(
        md,
        "\nBuddy, cost per frame against memory size: init {:.2} / {:.2} / {:.2} ns per frame and \
         single allocate+free {:.0} / {:.0} / {:.0} ns at 64 MiB / 512 MiB / 3 GiB: \
         the work per frame and per operation does not grow with memory \
         (per operation it is bounded by the 11 orders; init is linear in the span).",
        per_frame[0],
        per_frame[1],
        per_frame[2],
        buddy[0].single_pair,
        buddy[1].single_pair,
        buddy[2].single_pair
    )
    .unwrap();
    print!("{md}");
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/bench/frames.md");
    std::fs::create_dir_all(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/bench")).unwrap();
    std::fs::write(path, &md).unwrap();
    eprintln!("wrote {path}");
}
