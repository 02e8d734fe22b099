//! (e) The real-program workload: the same small program of real Rust
//! crates run with each heap as the process's `#[global_allocator]`.
//! `cargo bench --bench workload` (`make bench`); `CAIRN_BENCH_QUICK=1`
//! runs fewer rounds. Results: a table on stdout and
//! `docs/bench/workload.md`. For a profiler (`valgrind --tool=cachegrind`),
//! `CAIRN_WORKLOAD_ONLY=<heap index>` runs that heap alone, for
//! `CAIRN_WORKLOAD_ROUNDS` rounds (1 if unset), and writes nothing.
//! `CAIRN_WORKLOAD_PICK=1,2` runs only the listed heaps (interleaved, all
//! rounds) and prints a short summary instead of the file: for comparing
//! two heaps quickly. After the timed rounds one untimed run per heap
//! measures the footprint (pages of the arena touched, peak live bytes).
//!
//! ```text
//!   #[global_allocator] Dispatch ──alloc──▶ the heap chosen for this round
//!                          │                 (one static, set before the round)
//!                          └─dealloc/realloc─▶ the heap whose arena holds the
//!                                              pointer (System outside them)
//! ```
//!
//! Every heap gets its own 256 MiB arena and the same dispatch, so the
//! dispatch overhead is the same for all. The program: `serde_json`
//! (build a document of a few thousand records, serialise it, parse it back,
//! walk it), `regex` (compile a handful of patterns, collect every match in
//! the JSON text into owned strings) and std collections (a `BTreeMap` and a
//! `HashMap` of `String` keys to growing `Vec`s, a sort, a dedup). These are
//! the most used crates for the two jobs on crates.io, maintained by the
//! Rust project's own people (serde_json: dtolnay; regex: the rust-lang
//! regex team), and both allocate the way ordinary programs do: many small
//! short-lived strings and vectors, some growing buffers (realloc), trees.

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::hint::black_box;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use cairn::mm::heap::{HeapKind, KernelHeap};

/// Seconds per run above which a heap gets 3 rounds only.
const SLOW: f64 = 2.0;
/// Bytes of arena per heap.
const ARENA: usize = 256 << 20;

/// The heaps, in table order; index 0 is the system allocator (arena-less).
const NAMES: [&str; 6] = [
    "system (glibc malloc)",
    "cairn kernel path (KernelHeap, buddy)",
    "talc",
    "rlsf",
    "buddy_system_allocator",
    "linked_list_allocator",
];
const CAIRN: usize = 1;
const TALC: usize = 2;

/// One locked heap behind the dispatch. Each is used only through its own
/// `GlobalAlloc` (with its own lock), as a program would use it.
struct Heaps {
    cairn: KernelHeap,
    talc: talc::TalcLock<RawSpin, talc::source::Manual>,
    rlsf: spin::Mutex<Tlsf>,
    buddy: buddy_system_allocator::LockedHeap<32>,
    linked: linked_list_allocator::LockedHeap,
}

/// A spin lock for talc's `lock_api` slot, built like `spin::Mutex` (one
/// compare-exchange to take, one store to give back), so talc pays what
/// the other heaps pay.
struct RawSpin(std::sync::atomic::AtomicBool);

// SAFETY: a standard test-and-set lock: `lock` returns only after it set the
// flag from false (Acquire), `unlock` clears it (Release).
unsafe impl talc::lock_api::RawMutex for RawSpin {
    #[allow(clippy::declare_interior_mutable_const)]
    const INIT: RawSpin = RawSpin(std::sync::atomic::AtomicBool::new(false));
    type GuardMarker = talc::lock_api::GuardSend;
    fn lock(&self) {
        while !self.try_lock() {
            std::hint::spin_loop();
        }
    }
    fn try_lock(&self) -> bool {
        self.0
            .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
    }
    unsafe fn unlock(&self) {
        self.0.store(false, Ordering::Release);
    }
}

type Tlsf =
    rlsf::Tlsf<'static, usize, usize, { usize::BITS as usize - 12 }, { usize::BITS as usize }>;

/// Arenas: `BASES[i]` is heap `i`'s arena (0 while not set up).
static BASES: [AtomicUsize; NAMES.len()] = [const { AtomicUsize::new(0) }; NAMES.len()];
/// The heap `alloc` uses now.
static CHOSEN: AtomicUsize = AtomicUsize::new(0);
static HEAPS: std::sync::OnceLock<Heaps> = std::sync::OnceLock::new();

/// Footprint tracking, on only for one untimed run per heap after the timed
/// rounds: which 4 KiB pages of the chosen heap's arena its allocations
/// cover, and the peak of the bytes live at once (as requested, and as the
/// kernel path holds them: a slab slot of the request's class, or a power
/// of two holding the request and the 9-byte header).
static TRACK: AtomicBool = AtomicBool::new(false);
/// Bit `i` set: page `i` of the tracked heap's arena held allocated bytes.
static PAGES: [AtomicU64; ARENA / PAGE / 64] = [const { AtomicU64::new(0) }; ARENA / PAGE / 64];
/// Bytes live now and at their peak: requested, and as the kernel path holds them.
static LIVE: [AtomicUsize; 4] = [const { AtomicUsize::new(0) }; 4];
const PAGE: usize = 4096;

/// The bytes the kernel path holds for `l`: the slot of its slab class
/// (up to 4096 bytes), else its buddy block (header included).
fn block_bytes(l: Layout) -> usize {
    use cairn::mm::heap::slab::{CLASSES, class_of};
    if let Some(c) = class_of(l.size(), l.align()) {
        return CLASSES[c].size as usize;
    }
    let s = cairn::mm::heap::buddy::scale_for(l.size()).map_or(usize::MAX, |s| s.bytes());
    s.max(l.align())
        .max(1 << cairn::mm::heap::any::KERNEL_MIN_SCALE)
}

/// Record (while tracking) that `l.size()` bytes at `p`, from heap `i`,
/// came to life (`live`) or went (`!live`).
#[cold]
fn track(i: usize, p: *mut u8, l: Layout, live: bool) {
    let (req, blk) = (l.size(), block_bytes(l));
    if live {
        let r = LIVE[0].fetch_add(req, Ordering::Relaxed) + req;
        let b = LIVE[1].fetch_add(blk, Ordering::Relaxed) + blk;
        LIVE[2].fetch_max(r, Ordering::Relaxed);
        LIVE[3].fetch_max(b, Ordering::Relaxed);
        let base = BASES[i].load(Ordering::Relaxed);
        if base != 0 && req > 0 {
            let off = (p as usize).wrapping_sub(base);
            for pg in off / PAGE..=((off + req - 1) / PAGE).min(ARENA / PAGE - 1) {
                PAGES[pg / 64].fetch_or(1 << (pg % 64), Ordering::Relaxed);
            }
        }
    } else {
        LIVE[0].fetch_sub(req, Ordering::Relaxed);
        LIVE[1].fetch_sub(blk, Ordering::Relaxed);
    }
}

struct Dispatch;

#[global_allocator]
static GLOBAL: Dispatch = Dispatch;

fn heaps() -> &'static Heaps {
    HEAPS.get().expect("heaps set up")
}

/// The heap whose arena holds `p` (0: the system allocator).
#[inline(always)]
fn owner(p: *mut u8) -> usize {
    let a = p as usize;
    (1..NAMES.len())
        .find(|&i| {
            let b = BASES[i].load(Ordering::Relaxed);
            b != 0 && a.wrapping_sub(b) < ARENA
        })
        .unwrap_or(0)
}

#[inline(always)]
unsafe fn alloc_in(i: usize, l: Layout) -> *mut u8 {
    if i == 0 {
        // SAFETY: forwarded.
        return unsafe { System.alloc(l) };
    }
    let h = heaps();
    // SAFETY: forwarded GlobalAlloc contract.
    unsafe {
        match i {
            CAIRN => h.cairn.alloc(l),
            TALC => h.talc.alloc(l),
            3 => h
                .rlsf
                .lock()
                .allocate(l)
                .map_or(std::ptr::null_mut(), NonNull::as_ptr),
            4 => h.buddy.alloc(l),
            _ => h.linked.alloc(l),
        }
    }
}

#[inline(always)]
unsafe fn dealloc_in(i: usize, p: *mut u8, l: Layout) {
    if i == 0 {
        // SAFETY: forwarded.
        return unsafe { System.dealloc(p, l) };
    }
    let h = heaps();
    // SAFETY: forwarded GlobalAlloc contract: `p` came from heap `i`.
    unsafe {
        match i {
            CAIRN => h.cairn.dealloc(p, l),
            TALC => h.talc.dealloc(p, l),
            3 => h
                .rlsf
                .lock()
                .deallocate(NonNull::new_unchecked(p), l.align()),
            4 => h.buddy.dealloc(p, l),
            _ => h.linked.dealloc(p, l),
        }
    }
}

#[inline(always)]
unsafe fn realloc_in(i: usize, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
    if i == 0 {
        // SAFETY: forwarded.
        return unsafe { System.realloc(p, l, new) };
    }
    let h = heaps();
    // SAFETY: forwarded GlobalAlloc contract.
    unsafe {
        match i {
            CAIRN => h.cairn.realloc(p, l, new),
            TALC => h.talc.realloc(p, l, new),
            3 => h
                .rlsf
                .lock()
                .reallocate(
                    NonNull::new_unchecked(p),
                    Layout::from_size_align_unchecked(new, l.align()),
                )
                .map_or(std::ptr::null_mut(), NonNull::as_ptr),
            4 => h.buddy.realloc(p, l, new),
            _ => h.linked.realloc(p, l, new),
        }
    }
}

/// `Dispatch::realloc` while tracking: the same moves, recorded.
///
/// # Safety
/// `GlobalAlloc::realloc`'s contract.
#[cold]
unsafe fn tracked_realloc(p: *mut u8, l: Layout, new: usize) -> *mut u8 {
    let (from, to) = (owner(p), CHOSEN.load(Ordering::Relaxed));
    // SAFETY: the caller's contract on `new`.
    let nl = unsafe { Layout::from_size_align_unchecked(new, l.align()) };
    // SAFETY: forwarded, as in `Dispatch::realloc`.
    let q = unsafe {
        if from == to {
            realloc_in(from, p, l, new)
        } else {
            let q = alloc_in(to, nl);
            if !q.is_null() {
                std::ptr::copy_nonoverlapping(p, q, l.size().min(new));
                dealloc_in(from, p, l);
            }
            q
        }
    };
    if !q.is_null() {
        if from == to {
            track(from, p, l, false);
        }
        track(to, q, nl, true);
    }
    q
}

// SAFETY: every call goes to one real allocator: `alloc` to the chosen
// one, `dealloc`/`realloc` to the one that made the pointer (found by
// arena), so each allocator only ever sees its own pointers.
unsafe impl GlobalAlloc for Dispatch {
    #[inline]
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let i = CHOSEN.load(Ordering::Relaxed);
        // SAFETY: forwarded.
        let p = unsafe { alloc_in(i, l) };
        if TRACK.load(Ordering::Relaxed) && !p.is_null() {
            track(i, p, l, true);
        }
        p
    }
    #[inline]
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        let i = owner(p);
        if TRACK.load(Ordering::Relaxed) && i == CHOSEN.load(Ordering::Relaxed) {
            track(i, p, l, false);
        }
        // SAFETY: forwarded.
        unsafe { dealloc_in(i, p, l) }
    }
    #[inline]
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        if TRACK.load(Ordering::Relaxed) {
            // SAFETY: forwarded; the layouts are the caller's.
            return unsafe { tracked_realloc(p, l, new) };
        }
        let (from, to) = (owner(p), CHOSEN.load(Ordering::Relaxed));
        if from == to {
            // SAFETY: forwarded.
            return unsafe { realloc_in(from, p, l, new) };
        }
        // SAFETY: a block made by another heap (before this round) moves.
        unsafe {
            let q = alloc_in(to, Layout::from_size_align_unchecked(new, l.align()));
            if !q.is_null() {
                std::ptr::copy_nonoverlapping(p, q, l.size().min(new));
                dealloc_in(from, p, l);
            }
            q
        }
    }
}

/// Give every heap its arena (from the system allocator, while it is the
/// one chosen).
fn setup() {
    let arena = |i: usize| -> *mut u8 {
        let l = Layout::from_size_align(ARENA, 1 << 21).unwrap();
        // SAFETY: non-zero size; never freed (the process ends).
        let p = unsafe { System.alloc(l) };
        assert!(!p.is_null(), "no memory for arena {i}");
        p
    };
    let a: Vec<*mut u8> = (0..NAMES.len())
        .map(|i| {
            if i == 0 {
                std::ptr::null_mut()
            } else {
                arena(i)
            }
        })
        .collect();
    // SAFETY: each arena is fresh memory used by that heap alone, for ever.
    let heaps = unsafe {
        let mut rlsf = Tlsf::new();
        rlsf.insert_free_block_ptr(NonNull::slice_from_raw_parts(
            NonNull::new(a[3]).unwrap(),
            ARENA,
        ))
        .expect("rlsf arena");
        let buddy = buddy_system_allocator::LockedHeap::<32>::new();
        buddy.lock().init(a[4] as usize, ARENA);
        let linked = linked_list_allocator::LockedHeap::empty();
        linked.lock().init(a[5], ARENA);
        Heaps {
            cairn: KernelHeap::over(HeapKind::Buddy, a[CAIRN], ARENA).expect("cairn arena"),
            talc: {
                let t = talc::TalcLock::new(talc::source::Manual);
                t.lock().claim(a[TALC], ARENA).expect("talc arena");
                t
            },
            rlsf: spin::Mutex::new(rlsf),
            buddy,
            linked,
        }
    };
    if HEAPS.set(heaps).is_err() {
        panic!("heaps set up twice");
    }
    for (i, &p) in a.iter().enumerate() {
        BASES[i].store(p as usize, Ordering::Relaxed);
    }
}

/// CPU time this thread has run (see `benches/heap.rs`): the clock here,
/// so moments another process had the CPU are not counted.
fn cpu_time() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid clock id and a valid pointer to write the time to.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}

/// The program: JSON, regexes, collections. Returns a checksum so nothing
/// is optimised away (and every heap must give the same one).
fn program(seed: u64) -> u64 {
    let mut rng = cairn::rand::Rng::new(seed);
    let words = [
        "kernel", "frame", "page", "heap", "buddy", "scale", "table", "region", "grow", "free",
        "alloc", "split", "merge", "header", "offset", "arena",
    ];
    // serde_json: build, serialise, parse, walk.
    let mut records = Vec::new();
    for i in 0..3000 {
        let name: String = (0..1 + rng.below(4))
            .map(|_| words[rng.below(words.len())])
            .collect::<Vec<_>>()
            .join("-");
        let tags: Vec<String> = (0..rng.below(6))
            .map(|_| format!("{}{}", words[rng.below(words.len())], rng.below(100)))
            .collect();
        let values: Vec<u64> = (0..rng.below(20))
            .map(|_| rng.next_u64() % 100_000)
            .collect();
        records.push(serde_json::json!({
            "id": i,
            "name": name,
            "email": format!("{}@{}.example", name, words[i % words.len()]),
            "tags": tags,
            "values": values,
            "nested": { "depth": rng.below(8), "label": format!("label {i}") },
        }));
    }
    let doc = serde_json::Value::Array(records);
    let text = serde_json::to_string(&doc).expect("serialise");
    let back: serde_json::Value = serde_json::from_str(&text).expect("parse");
    let mut sum = text.len() as u64;
    if let Some(items) = back.as_array() {
        for item in items {
            sum += item["values"].as_array().map_or(0, |v| v.len() as u64);
            sum += item["name"].as_str().map_or(0, |s| s.len() as u64);
        }
    }
    drop(back);
    drop(doc);
    // regex: compile, collect matches into owned strings.
    let patterns = [
        r#""email":"([a-z-]+)@([a-z]+)\.example""#,
        r"\b(kernel|heap|buddy)-[a-z]+\b",
        r"[0-9]{4,}",
        r#""label ([0-9]+)""#,
    ];
    for p in patterns {
        let re = regex::Regex::new(p).expect("pattern");
        let found: Vec<String> = re.find_iter(&text).map(|m| m.as_str().to_owned()).collect();
        sum += found.len() as u64;
        if let Some(c) = re.captures(&text) {
            sum += c.len() as u64;
        }
    }
    // std collections: maps of strings to growing vectors, sort, dedup.
    let mut by_word: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    let mut counts: HashMap<String, usize> = HashMap::new();
    for (i, w) in text.split(|c: char| !c.is_ascii_alphanumeric()).enumerate() {
        if w.len() > 2 {
            by_word.entry(w.to_owned()).or_default().push(i);
            *counts.entry(w.to_lowercase()).or_default() += 1;
        }
    }
    let mut all: Vec<String> = counts.keys().cloned().collect();
    all.sort();
    all.dedup();
    sum += all.len() as u64 + by_word.values().map(|v| v.len() as u64).sum::<u64>();
    sum
}

fn main() {
    let quick = std::env::var_os("CAIRN_BENCH_QUICK").is_some();
    let rounds = if quick { 3 } else { 15 };
    setup();
    eprintln!(
        "workload bench: {} heaps, {rounds} rounds each, interleaved",
        NAMES.len()
    );
    let mut times = vec![Vec::new(); NAMES.len()];
    // The checksum of each round's program, per heap: every heap must give
    // the same one for the same round.
    let mut sums = vec![vec![None; NAMES.len()]; rounds];
    // `CAIRN_WORKLOAD_ONLY=<index>`: that heap alone, for
    // `CAIRN_WORKLOAD_ROUNDS` rounds (for a profiler such as cachegrind).
    let only: Option<usize> = std::env::var("CAIRN_WORKLOAD_ONLY")
        .ok()
        .and_then(|v| v.parse().ok());
    let only_rounds: usize = std::env::var("CAIRN_WORKLOAD_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    // `CAIRN_WORKLOAD_PICK=1,2`: only those heaps (indexes into the table),
    // interleaved, full rounds; a short summary on stdout and no file (for
    // comparing two heaps quickly while tuning one).
    let pick: Option<Vec<usize>> = std::env::var("CAIRN_WORKLOAD_PICK")
        .ok()
        .map(|v| v.split(',').filter_map(|x| x.trim().parse().ok()).collect());
    let picked = |i: usize| pick.as_ref().is_none_or(|p| p.contains(&i));
    for (r, round_sums) in sums.iter_mut().enumerate() {
        for (i, heap_times) in times.iter_mut().enumerate() {
            // A heap that takes seconds per run (the list-scanning ones) is
            // measured in 3 rounds only: its figure is clear long before.
            if r >= 3 && only.is_none() && heap_times.iter().any(|&t| t > SLOW) {
                continue;
            }
            if only.is_some_and(|o| o != i || r >= only_rounds) || !picked(i) {
                continue;
            }
            CHOSEN.store(i, Ordering::Relaxed);
            let t = cpu_time();
            let s = black_box(program(black_box(0xE0E0 + r as u64)));
            let dt = cpu_time() - t;
            CHOSEN.store(0, Ordering::Relaxed);
            heap_times.push(dt);
            round_sums[i] = Some(s);
        }
    }
    for (r, round) in sums.iter().enumerate() {
        let mut seen = round.iter().flatten();
        let first = seen.next().copied();
        assert!(
            seen.all(|&s| Some(s) == first),
            "heaps disagree in round {r}: {round:?}"
        );
    }
    if only.is_some() {
        return;
    }
    // The footprint: one more run per heap, untimed, with tracking on.
    let mut pages: Vec<Option<usize>> = vec![None; NAMES.len()];
    let mut peak = (0, 0);
    for i in (0..NAMES.len()).filter(|&i| picked(i)) {
        PAGES.iter().for_each(|w| w.store(0, Ordering::Relaxed));
        LIVE.iter().for_each(|v| v.store(0, Ordering::Relaxed));
        CHOSEN.store(i, Ordering::Relaxed);
        TRACK.store(true, Ordering::Relaxed);
        black_box(program(black_box(0xE0E0)));
        TRACK.store(false, Ordering::Relaxed);
        CHOSEN.store(0, Ordering::Relaxed);
        if i != 0 {
            pages[i] = Some(
                PAGES
                    .iter()
                    .map(|w| w.load(Ordering::Relaxed).count_ones() as usize)
                    .sum(),
            );
        }
        peak = (
            LIVE[2].load(Ordering::Relaxed),
            LIVE[3].load(Ordering::Relaxed),
        );
    }
    let mib = |n: usize| n as f64 / f64::from(1 << 20);
    if let Some(p) = pick {
        let med = |i: usize| {
            let mut v = times[i].clone();
            v.sort_by(f64::total_cmp);
            v[v.len() / 2] * 1e3
        };
        for &i in p.iter().filter(|&&i| i < NAMES.len()) {
            let touched = pages[i].map_or("-".into(), |n| format!("{:.1} MiB", mib(n * PAGE)));
            println!("{:40} {:8.2} ms  pages touched {touched}", NAMES[i], med(i));
        }
        if p.contains(&CAIRN) && p.contains(&TALC) {
            println!("kernel path / talc: {:.3}", med(CAIRN) / med(TALC));
        }
        return;
    }
    // The median round of each heap (the rounds are interleaved, so a
    // moment of load on the shared machine hits every heap alike).
    let median: Vec<f64> = times
        .iter()
        .map(|t| {
            let mut v = t.clone();
            v.sort_by(f64::total_cmp);
            v[v.len() / 2] * 1e3
        })
        .collect();
    let best: Vec<f64> = times
        .iter()
        .map(|t| t.iter().copied().fold(f64::INFINITY, f64::min) * 1e3)
        .collect();
    let cmd = if quick {
        "CAIRN_BENCH_QUICK=1 cargo bench --bench workload"
    } else {
        "cargo bench --bench workload"
    };
    let mut s = String::new();
    let _ = writeln!(s, "# Real-program workload\n");
    let _ = writeln!(
        s,
        "Made by `{cmd}` (release build, host), one run: serde_json (3000 records built, \
         serialised, parsed back and walked), regex (4 patterns compiled, every match \
         collected) and std collections (BTreeMap/HashMap of strings, sort, dedup), with \
         each heap as the process's `#[global_allocator]` through one dispatch (the same \
         for all; each heap behind its own lock, over its own {} MiB arena); thread CPU \
         time per run. {rounds} rounds (3 for a heap slower than {SLOW} s per run), the \
         heaps interleaved round by round; the median and the best round of each. \
         Ratio: the Cairn kernel path's median time over the heap's (below 1.00: the \
         kernel path is faster; above: it is slower); the fastest median is in bold.\n",
        ARENA >> 20
    );
    let _ = writeln!(
        s,
        "| heap | ms per run (median) | best | kernel path ÷ heap | MiB of arena touched |\n|---|---:|---:|---:|---:|"
    );
    let fastest = median.iter().copied().fold(f64::INFINITY, f64::min);
    for (i, name) in NAMES.iter().enumerate() {
        let ms = if median[i] == fastest {
            format!("**{:.2}**", median[i])
        } else {
            format!("{:.2}", median[i])
        };
        let ratio = if i == CAIRN {
            String::new()
        } else {
            format!("{:.2}", median[CAIRN] / median[i])
        };
        let touched = pages[i].map_or("—".into(), |n| format!("{:.1}", mib(n * PAGE)));
        let _ = writeln!(
            s,
            "| {name} | {ms} | {:.2} | {ratio} | {touched} |",
            best[i]
        );
    }
    let _ = writeln!(
        s,
        "\nFootprint, from one more run per heap (untimed, the first round's program): \
         \"MiB of arena touched\" counts the 4 KiB pages of the heap's arena that ever \
         held requested bytes during the run (the system allocator has no arena: —). \
         At its peak the program holds {:.1} MiB live as requested; the kernel path's \
         slots and blocks for exactly those requests (a slot of the request's size class \
         up to 4096 bytes, else a power of two holding the request and the 9-byte \
         header) take {:.1} MiB, {:.2}x (the slabs' own metadata and partly filled \
         slabs not counted).",
        mib(peak.0),
        mib(peak.1),
        peak.1 as f64 / peak.0.max(1) as f64
    );
    println!("{s}");
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/bench");
    std::fs::create_dir_all(&dir).expect("docs/bench");
    std::fs::write(dir.join("workload.md"), &s).expect("write workload.md");
    eprintln!("wrote docs/bench/workload.md");
}
