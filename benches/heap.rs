//! Heap benchmark: the kernel's heap as it runs (`KernelHeap` over the buddy
//! design: lock, dispatch, checked free), the buddy heap used raw, against
//! talc, rlsf, buddy_system_allocator and linked_list_allocator, each over
//! the same arena, in one run. `cargo bench --bench heap` (`make bench`);
//! `CAIRN_BENCH_QUICK=1` runs shorter trials. The real-program workload (e)
//! is `benches/workload.rs`.
//!
//! (a) random actions: allocate or free at random, at most 300 live blocks,
//!     sizes rand(4..rand(16..max)), alignments mostly 8 (as talc's
//!     benchmark); operations per second.
//! (b) scaling: cost per operation (free one random block, allocate one)
//!     with 100, 1000 and 5000 live blocks.
//! (c) efficiency: allocate (5/6) or free (1/6) at random until the first
//!     failed allocation; bytes requested by live blocks / arena bytes; and
//!     the bounds: a 9-byte header and power-of-two blocks (the buddy heap),
//!     slab slots and their slabs' overhead (the kernel path).
//! (d) latency: TSC ticks of each allocate and each free in random actions
//!     (max 1000), p50 / p99 / max, as talc's microbenchmark reports them.
//!
//! Results: a table on stdout, `docs/bench/heap.md` and `docs/bench/heap.svg`.

use cairn::rand::Rng;
use std::alloc::Layout;
use std::fmt::Write as _;
use std::ptr::NonNull;
use std::time::{Duration, Instant};

#[path = "heap/heaps.rs"]
mod heaps;
#[path = "heap/plot.rs"]
mod plot;

use heaps::BenchHeap;

/// The arena every heap gets for (a) and (b): 32 MiB, aligned to its size.
const ARENA: usize = 32 << 20;
/// The arena for (c): its first 1 MiB (so a full heap is reached quickly).
const EFFICIENCY_ARENA: usize = 1 << 20;
/// Max sizes of (a) and (c).
const MAXES: [usize; 5] = [200, 1000, 3000, 10000, 30000];
/// Live blocks of (b).
const LIVE: [usize; 3] = [100, 1000, 5000];
/// Live-block cap of (a).
const MAX_LIVE: usize = 300;

/// CPU time this thread has run: the clock of (a) and (b). On a machine
/// shared with other work, wall time also counts the moments another
/// process had the CPU; thread CPU time does not.
pub fn cpu_time() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid clock id and a valid pointer to write the time to.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}

/// rand(4..rand(16..max)): biased towards small sizes.
#[inline]
fn gen_layout(rng: &mut Rng, max: usize) -> Layout {
    let cap = rng.range(16, max);
    let size = rng.range(4, cap);
    // 75% pointer alignment, 19% twice that, 4% four times, ...
    let align = align_of::<usize>() << ((rng.next_u64() as u16).trailing_zeros() / 2);
    Layout::from_size_align(size, align).expect("layout")
}

/// Result of one random-actions trial.
#[derive(Clone, Copy, Debug)]
pub struct Throughput {
    pub ops: u64,
    pub secs: f64,
    pub failures: u64,
}

/// (a) Random actions for `duration`: allocate (while under 300 live, with
/// probability 1/2) or free a random live block. Counts successful operations.
pub fn random_actions<H: BenchHeap>(
    arena: &mut [u8],
    max: usize,
    seed: u64,
    duration: Duration,
) -> Throughput {
    // SAFETY: the arena is ours, aligned to its power-of-two size.
    let mut h = unsafe { H::new(arena.as_mut_ptr(), arena.len()) };
    let mut rng = Rng::new(seed);
    let mut live: Vec<(NonNull<u8>, Layout)> = Vec::with_capacity(MAX_LIVE + 1);
    let mut failures = 0u64;
    let mut step = |h: &mut H, live: &mut Vec<(NonNull<u8>, Layout)>, rng: &mut Rng| -> bool {
        if live.len() < MAX_LIVE && (live.is_empty() || rng.next_u64() & 1 == 0) {
            let l = gen_layout(rng, max);
            match h.alloc(l) {
                Some(p) => {
                    // SAFETY: a fresh allocation of at least 4 bytes.
                    unsafe { p.as_ptr().write(1) };
                    live.push((p, l));
                    true
                }
                None => {
                    failures += 1;
                    false
                }
            }
        } else {
            let (p, l) = live.swap_remove(rng.below(live.len()));
            // SAFETY: a live allocation with its layout.
            unsafe { h.free(p, l) };
            true
        }
    };
    // Warm up into the steady state, untimed.
    for _ in 0..100_000 {
        step(&mut h, &mut live, &mut rng);
    }
    let mut ops = 0u64;
    let start = Instant::now();
    let cpu = cpu_time();
    let secs = loop {
        for _ in 0..256 {
            ops += step(&mut h, &mut live, &mut rng) as u64;
        }
        if start.elapsed() >= duration {
            break cpu_time() - cpu;
        }
    };
    for (p, l) in live {
        // SAFETY: as above.
        unsafe { h.free(p, l) };
    }
    Throughput {
        ops,
        secs,
        failures,
    }
}

/// (b) Nanoseconds per operation with `n` live blocks (sizes as (a) with
/// max 1000): free a random block, allocate one, for `duration`.
pub fn scaling<H: BenchHeap>(arena: &mut [u8], n: usize, seed: u64, duration_ms: usize) -> f64 {
    // SAFETY: as in random_actions.
    let mut h = unsafe { H::new(arena.as_mut_ptr(), arena.len()) };
    let mut rng = Rng::new(seed);
    let mut live: Vec<(NonNull<u8>, Layout)> = Vec::with_capacity(n);
    while live.len() < n {
        let l = gen_layout(&mut rng, 1000);
        live.push((h.alloc(l).expect("arena large enough"), l));
    }
    // Churn once untimed so the free lists look like a running system.
    for _ in 0..n {
        let i = rng.below(n);
        let l = gen_layout(&mut rng, 1000);
        // SAFETY: live allocation with its layout.
        unsafe { h.free(live[i].0, live[i].1) };
        live[i] = (h.alloc(l).expect("arena large enough"), l);
    }
    let duration = Duration::from_millis(duration_ms as u64);
    let mut ops = 0u64;
    let start = Instant::now();
    let cpu = cpu_time();
    let secs = loop {
        for _ in 0..64 {
            let i = rng.below(n);
            let l = gen_layout(&mut rng, 1000);
            // SAFETY: as above.
            unsafe { h.free(live[i].0, live[i].1) };
            live[i] = (h.alloc(l).expect("arena large enough"), l);
        }
        ops += 128;
        if start.elapsed() >= duration {
            break cpu_time() - cpu;
        }
    };
    for (p, l) in live {
        // SAFETY: as above.
        unsafe { h.free(p, l) };
    }
    secs * 1e9 / ops as f64
}

/// (c) Percent of the arena requested by live blocks at the first failed
/// allocation (allocate 5/6, free 1/6).
pub fn efficiency<H: BenchHeap>(arena: &mut [u8], max: usize, seed: u64) -> f64 {
    // SAFETY: as in random_actions.
    let mut h = unsafe { H::new(arena.as_mut_ptr(), arena.len()) };
    let mut rng = Rng::new(seed);
    let mut live: Vec<(NonNull<u8>, Layout)> = Vec::new();
    let mut used = 0usize;
    loop {
        if live.is_empty() || rng.below(6) < 5 {
            let l = gen_layout(&mut rng, max);
            match h.alloc(l) {
                Some(p) => {
                    used += l.size();
                    live.push((p, l));
                }
                None => break,
            }
        } else {
            let (p, l) = live.swap_remove(rng.below(live.len()));
            used -= l.size();
            // SAFETY: as above.
            unsafe { h.free(p, l) };
        }
    }
    for (p, l) in live {
        // SAFETY: as above.
        unsafe { h.free(p, l) };
    }
    used as f64 * 100.0 / arena.len() as f64
}

/// Per-operation latencies of one heap, in TSC ticks (sorted).
pub struct Latency {
    pub alloc: Vec<u64>,
    pub free: Vec<u64>,
}

/// A time stamp in ticks: the TSC on x86-64, nanoseconds elsewhere.
#[inline(always)]
fn ticks() -> u64 {
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: RDTSC is present on every x86-64 CPU.
        unsafe { core::arch::x86_64::_rdtsc() }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        use std::sync::OnceLock;
        static START: OnceLock<Instant> = OnceLock::new();
        START.get_or_init(Instant::now).elapsed().as_nanos() as u64
    }
}

/// (d) `samples` allocations and as many frees, each timed alone, in random
/// actions with max size 1000 (warmed up like (a)).
pub fn latency<H: BenchHeap>(arena: &mut [u8], seed: u64, samples: usize) -> Latency {
    // SAFETY: as in random_actions.
    let mut h = unsafe { H::new(arena.as_mut_ptr(), arena.len()) };
    let mut rng = Rng::new(seed);
    let mut live: Vec<(NonNull<u8>, Layout)> = Vec::with_capacity(MAX_LIVE + 1);
    let (mut alloc, mut free) = (Vec::with_capacity(samples), Vec::with_capacity(samples));
    let mut warm = 100_000usize;
    while alloc.len() < samples || free.len() < samples {
        if live.len() < MAX_LIVE && (live.is_empty() || rng.next_u64() & 1 == 0) {
            let l = gen_layout(&mut rng, 1000);
            let t0 = ticks();
            let p = h.alloc(l);
            let t1 = ticks();
            if let Some(p) = p {
                live.push((p, l));
                if warm == 0 && alloc.len() < samples {
                    alloc.push(t1 - t0);
                }
            }
        } else {
            let (p, l) = live.swap_remove(rng.below(live.len()));
            let t0 = ticks();
            // SAFETY: a live allocation with its layout.
            unsafe { h.free(p, l) };
            let t1 = ticks();
            if warm == 0 && free.len() < samples {
                free.push(t1 - t0);
            }
        }
        warm = warm.saturating_sub(1);
    }
    for (p, l) in live {
        // SAFETY: as above.
        unsafe { h.free(p, l) };
    }
    alloc.sort_unstable();
    free.sort_unstable();
    Latency { alloc, free }
}

/// The `q`-quantile of sorted samples.
fn quantile(v: &[u64], q: f64) -> u64 {
    v[((v.len() - 1) as f64 * q).round() as usize]
}

/// The efficiency bound of (c) for the buddy heap: with a 9-byte header and
/// power-of-two blocks of at least 16 bytes (and at least the alignment),
/// a request of `s` bytes takes `2^ceil(log2(s + 9))`; the arena can at
/// best be filled with such blocks, so requested / arena is at most
/// E[s] / E[block(s)] for the benchmark's size distribution (estimated over
/// a million draws).
fn header_bound(max: usize) -> f64 {
    let mut rng = Rng::new(0xB0D);
    let (mut req, mut held) = (0u64, 0u64);
    for _ in 0..1_000_000 {
        let l = gen_layout(&mut rng, max);
        let block = (l.size() + cairn::mm::heap::HEADER_SIZE)
            .next_power_of_two()
            .max(l.align())
            .max(16);
        req += l.size() as u64;
        held += block as u64;
    }
    req as f64 * 100.0 / held as f64
}

/// The efficiency bound of (c) for the kernel path (slabs in front of the
/// buddy heap): a request its slab classes serve costs its slot's share of
/// the slab (the slab's block over its slots: slot size, metadata, the
/// block's header and the unused tail), any other request its buddy block;
/// E[s] / E[cost(s)] over the same million draws.
fn slab_bound(max: usize) -> f64 {
    use cairn::mm::heap::slab::{CLASSES, class_of};
    let mut rng = Rng::new(0xB0D);
    let (mut req, mut held) = (0f64, 0f64);
    for _ in 0..1_000_000 {
        let l = gen_layout(&mut rng, max);
        let cost = match class_of(l.size(), l.align()) {
            Some(c) => CLASSES[c].slab_bytes() as f64 / CLASSES[c].slots as f64,
            None => (l.size() + cairn::mm::heap::HEADER_SIZE)
                .next_power_of_two()
                .max(l.align())
                .max(16) as f64,
        };
        req += l.size() as f64;
        held += cost;
    }
    req * 100.0 / held
}

/// The best of the trials: background load on a shared machine only ever
/// slows a trial down, so the fastest is the closest to the heap's own cost.
fn best(v: Vec<f64>, lower_is_better: bool) -> f64 {
    let pick = if lower_is_better { f64::min } else { f64::max };
    v.into_iter().reduce(pick).unwrap_or(f64::NAN)
}

/// Figures of one run: rows in `heaps::all()` order.
pub struct Results {
    pub names: Vec<&'static str>,
    /// (a) million ops/s, per heap per max.
    pub mops: Vec<Vec<f64>>,
    /// (b) ns per op, per heap per live count.
    pub ns: Vec<Vec<f64>>,
    /// (c) percent, per heap per max.
    pub eff: Vec<Vec<f64>>,
    /// (c) the 9-byte-header bound (the buddy heap alone), per max.
    pub bound: Vec<f64>,
    /// (c) the kernel path's bound (slab classes and buddy blocks), per max.
    pub slab_bound: Vec<f64>,
    /// (d) (p50, p99, max) ticks of allocate and of free, per heap.
    pub lat: Vec<([u64; 3], [u64; 3])>,
    pub failures: u64,
}

/// `CAIRN_BENCH_COMPARE=<name>,<name>,..`: only (a), for the heaps whose
/// names contain one of the comma-separated words (the kernel path always
/// first), interleaved as in the full run, printed as ratios to the kernel
/// path; no files written. A quick check of one change to the kernel path.
fn compare(words: &str) {
    let trials: usize = std::env::var("CAIRN_BENCH_TRIALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(11);
    let heaps: Vec<_> = heaps::all()
        .into_iter()
        .enumerate()
        .filter(|(i, h)| *i == 0 || words.split(',').any(|w| h.name.contains(w)))
        .map(|(_, h)| h)
        .collect();
    let layout = Layout::from_size_align(ARENA, ARENA).expect("arena layout");
    // SAFETY: non-zero layout; freed below.
    let base = unsafe { std::alloc::alloc_zeroed(layout) };
    assert!(!base.is_null(), "no memory for the arena");
    // SAFETY: base..base+ARENA was just allocated for us.
    let arena = unsafe { std::slice::from_raw_parts_mut(base, ARENA) };
    for &max in &MAXES {
        let mut samples = vec![Vec::new(); heaps.len()];
        for t in 0..trials {
            for (i, h) in heaps.iter().enumerate() {
                let r =
                    (h.random_actions)(arena, max, 0xA5A5 + t as u64, Duration::from_millis(60));
                samples[i].push(r.ops as f64 / r.secs / 1e6);
            }
        }
        let best: Vec<f64> = samples.into_iter().map(|s| best(s, false)).collect();
        let mut line = format!("max {max:>5}: kernel {:6.2}", best[0]);
        for (h, b) in heaps.iter().zip(&best).skip(1) {
            let _ = write!(line, " | {} {:6.2} ({:.2})", h.name, b, best[0] / b);
        }
        println!("{line}");
    }
    // SAFETY: allocated above with this layout; the heap is gone.
    unsafe { std::alloc::dealloc(base, layout) };
}

/// `CAIRN_BENCH_PROFILE=<heap name>`: only (a) at max 1000 for that heap,
/// a fixed number of steps, no tables: a run to give a profiler
/// (`valgrind --tool=callgrind`, which counts instructions exactly).
fn profile(name: &str) {
    let heaps = heaps::all();
    let h = heaps
        .iter()
        .find(|h| h.name == name)
        .unwrap_or_else(|| panic!("no heap named {name:?}"));
    let layout = Layout::from_size_align(ARENA, ARENA).expect("arena layout");
    // SAFETY: non-zero layout; freed below.
    let base = unsafe { std::alloc::alloc_zeroed(layout) };
    assert!(!base.is_null(), "no memory for the arena");
    // SAFETY: base..base+ARENA was just allocated for us.
    let arena = unsafe { std::slice::from_raw_parts_mut(base, ARENA) };
    // `CAIRN_BENCH_PROFILE_LIVE=<n>`: (b)'s churn with n live blocks
    // (300 ms) instead of (a)'s random actions.
    if let Some(n) = std::env::var("CAIRN_BENCH_PROFILE_LIVE")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        let ns = (h.scaling)(arena, n, 1, 300);
        eprintln!("{name}: {ns:.1} ns per operation with {n} live blocks");
    } else {
        // `CAIRN_BENCH_PROFILE_MAX=<n>`: (a) at that max size (1000 if unset).
        let max = std::env::var("CAIRN_BENCH_PROFILE_MAX")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(1000);
        let r = (h.random_actions)(arena, max, 1, Duration::ZERO);
        eprintln!("{name}: {} timed ops", r.ops);
    }
    // SAFETY: allocated above with this layout; the heap is gone.
    unsafe { std::alloc::dealloc(base, layout) };
}

fn main() {
    if let Ok(name) = std::env::var("CAIRN_BENCH_PROFILE") {
        return profile(&name);
    }
    if let Ok(names) = std::env::var("CAIRN_BENCH_COMPARE") {
        return compare(&names);
    }
    let quick = std::env::var_os("CAIRN_BENCH_QUICK").is_some();
    let (trials, ms, eff_seeds, samples) = if quick {
        (3, 60, 8, 50_000)
    } else {
        (21, 60, 40, 300_000)
    };
    let layout = Layout::from_size_align(ARENA, ARENA).expect("arena layout");
    // SAFETY: non-zero layout; freed at the end.
    let base = unsafe { std::alloc::alloc_zeroed(layout) };
    assert!(!base.is_null(), "no memory for the arena");
    // SAFETY: base..base+ARENA was just allocated for us.
    let arena = unsafe { std::slice::from_raw_parts_mut(base, ARENA) };
    arena.iter_mut().step_by(4096).for_each(|b| *b = 1); // fault every page in

    let heaps = heaps::all();
    let names: Vec<_> = heaps.iter().map(|h| h.name).collect();
    let mut failures = 0;
    eprintln!(
        "heap bench: {} heaps, {trials} trials of {ms} ms{}",
        heaps.len(),
        if quick { " (quick)" } else { "" }
    );

    // (a) Trials interleave the heaps so background load hits all alike.
    let mut mops = vec![vec![0.0; MAXES.len()]; heaps.len()];
    for (j, &max) in MAXES.iter().enumerate() {
        let mut samples = vec![Vec::new(); heaps.len()];
        for t in 0..trials {
            for (i, h) in heaps.iter().enumerate() {
                let r =
                    (h.random_actions)(arena, max, 0xA5A5 + t as u64, Duration::from_millis(ms));
                failures += r.failures;
                samples[i].push(r.ops as f64 / r.secs / 1e6);
            }
        }
        for (i, s) in samples.into_iter().enumerate() {
            mops[i][j] = best(s, false);
        }
        eprintln!("(a) max {max} done");
    }

    // (b)
    let mut ns = vec![vec![0.0; LIVE.len()]; heaps.len()];
    for (j, &n) in LIVE.iter().enumerate() {
        let mut samples = vec![Vec::new(); heaps.len()];
        for t in 0..trials {
            for (i, h) in heaps.iter().enumerate() {
                samples[i].push((h.scaling)(arena, n, 0xB0B0 + t as u64, ms as usize));
            }
        }
        for (i, s) in samples.into_iter().enumerate() {
            ns[i][j] = best(s, true);
        }
        eprintln!("(b) {n} live done");
    }

    // (c) Mean over seeds; the same seeds for every heap.
    let mut eff = vec![vec![0.0; MAXES.len()]; heaps.len()];
    for (j, &max) in MAXES.iter().enumerate() {
        for (i, h) in heaps.iter().enumerate() {
            let sum: f64 = (0..eff_seeds)
                .map(|s| (h.efficiency)(&mut arena[..EFFICIENCY_ARENA], max, 0xC0C0 + s))
                .sum();
            eff[i][j] = sum / eff_seeds as f64;
        }
        eprintln!("(c) max {max} done");
    }

    let bound: Vec<f64> = MAXES.iter().map(|&m| header_bound(m)).collect();
    let slab_bound: Vec<f64> = MAXES.iter().map(|&m| slab_bound(m)).collect();

    // (d) Each heap once, the same seed; the quantiles of its samples.
    let lat = heaps
        .iter()
        .map(|h| {
            let l = (h.latency)(arena, 0xD0D0, samples);
            let q = |v: &[u64]| [quantile(v, 0.5), quantile(v, 0.99), quantile(v, 1.0)];
            (q(&l.alloc), q(&l.free))
        })
        .collect();
    eprintln!("(d) done");

    let r = Results {
        names,
        mops,
        ns,
        eff,
        bound,
        slab_bound,
        lat,
        failures,
    };
    let cmd = if quick {
        "CAIRN_BENCH_QUICK=1 cargo bench --bench heap"
    } else {
        "cargo bench --bench heap"
    };
    let md = markdown(&r, cmd, trials, ms, eff_seeds, samples);
    println!("{md}");
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/bench");
    std::fs::create_dir_all(&dir).expect("docs/bench");
    std::fs::write(dir.join("heap.md"), &md).expect("write heap.md");
    std::fs::write(dir.join("heap.svg"), plot::svg(&r, &MAXES, &LIVE)).expect("write heap.svg");
    eprintln!("wrote docs/bench/heap.md and docs/bench/heap.svg");
    // SAFETY: allocated above with this layout; no heap uses it any more.
    unsafe { std::alloc::dealloc(base, layout) };
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into())
}

/// The results as markdown tables; ratios are Cairn's figure over the
/// heap's (above 1 = Cairn better, for ns/op the inverse so above 1 is
/// still Cairn better).
fn markdown(r: &Results, cmd: &str, trials: usize, ms: u64, seeds: u64, samples: usize) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# Heap benchmark\n");
    let _ = writeln!(
        s,
        "Made by `{cmd}` (release build, host, {}), one run; every heap over the same \
         arena ({} MiB aligned to its size; (c) uses its first {} KiB). \
         Ratios in brackets are the Cairn kernel path's figure relative to that heap: \
         above 1.00 means the kernel path is better. The best figure of each column is \
         in bold, whichever heap it is.\n\n\
         - `cairn kernel path`: what the kernel installs, `cairn::mm::heap::KernelHeap` \
         built by `KernelHeap::over(HeapKind::Buddy, ..)`, called through `GlobalAlloc`: \
         spin lock, dispatch over the four designs, every free checked (wild, interior, \
         header, double and layout-mismatched frees refused) through the side table of \
         block starts.\n\
         - `cairn raw fast path`: the buddy heap used directly, no lock, `alloc_layout` + \
         the unchecked `dealloc`.\n\
         - `cairn raw, checked free`: the buddy heap used directly with the checked \
         `free_layout`.\n\
         - talc, rlsf, buddy_system_allocator, linked_list_allocator: each through its own \
         raw, unlocked API. `cairn gaptree/firstfit/pool`: the other kernel designs \
         through `HeapBackend` (checked frees, no lock).\n",
        cpu_model(),
        ARENA >> 20,
        EFFICIENCY_ARENA >> 10
    );
    let _ = writeln!(
        s,
        "## (a) Random actions, million operations per second\n\n\
         Allocate or free at random, at most {MAX_LIVE} live blocks, sizes \
         rand(4..rand(16..max)), alignments 8 (75%), 16, 32, ...; best of {trials} \
         trials of {ms} ms, the heaps interleaved; operations per second of the \
         thread's CPU time.\n"
    );
    table(
        &mut s,
        r,
        "max size",
        &MAXES.map(|m| m.to_string()),
        &r.mops,
        false,
        2,
    );
    let _ = writeln!(
        s,
        "\n## (b) Scaling, nanoseconds per operation\n\n\
         Free one random live block and allocate one (sizes as (a), max 1000) with a \
         fixed number of live blocks; best of {trials} trials of {ms} ms, the heaps \
         interleaved. Flat is good.\n"
    );
    table(
        &mut s,
        r,
        "live blocks",
        &LIVE.map(|m| m.to_string()),
        &r.ns,
        true,
        1,
    );
    let _ = writeln!(
        s,
        "\n## (c) Efficiency, % of the arena in use at the first failed allocation\n\n\
         Allocate (5/6) or free (1/6) at random until an allocation fails; bytes \
         requested by the live blocks over the arena's bytes; mean of {seeds} seeds.\n"
    );
    table(
        &mut s,
        r,
        "max size",
        &MAXES.map(|m| m.to_string()),
        &r.eff,
        false,
        1,
    );
    let _ = writeln!(
        s,
        "\nThe bounds. The buddy heap alone (the raw rows): a request of s bytes takes \
         a block of 2^ceil(log2(s + 9)) bytes (at least 16, at least the alignment), so \
         even a perfectly packed arena holds at most E[s] / E[block] of requested bytes. \
         The kernel path: a request of at most 4096 bytes (with an alignment its class \
         gives) takes a slot of its size class, and costs the slot's share of its slab \
         (the slab's buddy block over its slots: the slot, the metadata, the block's \
         header and the unused tail); any other request a buddy block. How close each \
         comes to its bound at the first failure (above 1.00 for the raw rows would \
         mean a mistake; the kernel path can pass the buddy bound, not its own):\n"
    );
    let _ = write!(s, "| | ");
    for m in MAXES {
        let _ = write!(s, "{m} | ");
    }
    let _ = write!(s, "\n|---|");
    for _ in MAXES {
        let _ = write!(s, "---:|");
    }
    let _ = write!(s, "\n| buddy heap bound (9-byte header), % | ");
    for b in &r.bound {
        let _ = write!(s, "{b:.1} | ");
    }
    let _ = write!(s, "\n| cairn raw fast path / buddy bound | ");
    for (e, b) in r.eff[1].iter().zip(&r.bound) {
        let _ = write!(s, "{:.2} | ", e / b);
    }
    let _ = write!(
        s,
        "\n| kernel path bound (slab classes + buddy blocks), % | "
    );
    for b in &r.slab_bound {
        let _ = write!(s, "{b:.1} | ");
    }
    let _ = write!(s, "\n| cairn kernel path / its bound | ");
    for (e, b) in r.eff[0].iter().zip(&r.slab_bound) {
        let _ = write!(s, "{:.2} | ", e / b);
    }
    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "\n## (d) Latency of one operation, TSC ticks\n\n\
         {samples} allocations and {samples} frees of random actions (max size 1000), \
         each timed alone with RDTSC (the timing itself costs a few dozen ticks, the \
         same for every heap); the maximum is the worst single operation of the run.\n"
    );
    let _ = writeln!(
        s,
        "| heap | alloc p50 | alloc p99 | alloc max | free p50 | free p99 | free max |\n\
         |---|---:|---:|---:|---:|---:|---:|"
    );
    for (name, (a, f)) in r.names.iter().zip(&r.lat) {
        let _ = writeln!(
            s,
            "| {name} | {} | {} | {} | {} | {} | {} |",
            a[0], a[1], a[2], f[0], f[1], f[2]
        );
    }
    if r.failures > 0 {
        let _ = writeln!(s, "\n(a) saw {} failed allocations.", r.failures);
    }
    let _ = writeln!(s, "\n![heap benchmark](heap.svg)");
    s
}

fn table(
    s: &mut String,
    r: &Results,
    what: &str,
    cols: &[String],
    v: &[Vec<f64>],
    lower_is_better: bool,
    digits: usize,
) {
    let _ = write!(s, "| heap \\ {what} |");
    for c in cols {
        let _ = write!(s, " {c} |");
    }
    let _ = write!(s, "\n|---|");
    for _ in cols {
        let _ = write!(s, "---:|");
    }
    let _ = writeln!(s);
    let best: Vec<f64> = (0..cols.len())
        .map(|j| {
            let col = v.iter().map(|row| row[j]);
            if lower_is_better {
                col.fold(f64::INFINITY, f64::min)
            } else {
                col.fold(f64::NEG_INFINITY, f64::max)
            }
        })
        .collect();
    for (i, name) in r.names.iter().enumerate() {
        let _ = write!(s, "| {name} |");
        for (j, x) in v[i].iter().enumerate() {
            let cairn = v[0][j];
            let shown = if *x == best[j] {
                format!("**{x:.digits$}**")
            } else {
                format!("{x:.digits$}")
            };
            if i == 0 {
                let _ = write!(s, " {shown} |");
            } else {
                let ratio = if lower_is_better {
                    x / cairn
                } else {
                    cairn / x
                };
                let _ = write!(s, " {shown} ({ratio:.2}) |");
            }
        }
        let _ = writeln!(s);
    }
}
