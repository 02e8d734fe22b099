//! In-kernel tests of user space: address spaces switched for real in CR3,
//! programs run in ring 3 to their end, faults that kill only the process,
//! and 1,000 spawn/exit cycles that leave the free frame count exact.

use super::kit::{Test, run_command};
use crate::arch::x86::{self, probe};
use crate::kassert;
use crate::kernel::memory::{self, KernelPhys};
use crate::kernel::proc::{self, ExitKind, programs};
use crate::mm::addr::{Page, VirtAddr};
use crate::mm::frame::FrameAllocator;
use crate::mm::paging::{EntryFlags, NoFlush, ZeroFill};
use crate::mm::phys::PhysMemory;
use crate::mm::vm::{AddressSpace, UserFrames};
use crate::process::abi::STATUS_KILLED;
use alloc::string::String;

pub static TESTS: &[Test] = &[
    Test {
        name: "user_spaces_switched_in_cr3_see_their_own_pages",
        run: spaces_switched,
    },
    Test {
        name: "user_hello_runs_in_ring_3_and_exits_0",
        run: hello_runs,
    },
    Test {
        name: "user_crashes_kill_only_the_process",
        run: crashes,
    },
    Test {
        name: "user_1000_spawn_exit_cycles_leave_free_frames_exact",
        run: thousand_cycles,
    },
    Test {
        name: "user_ffree_refuses_a_frame_a_process_maps",
        run: ffree_refuses_a_process_frame,
    },
];

const VA: u32 = 0x0800_0000;
const MARK: u32 = 0xC0DE_0A0A;

fn free_frames() -> usize {
    memory::with(|m| m.frames.free_count())
}

fn spaces_switched() -> Result<(), String> {
    let before = free_frames();
    let (mut a, b, kernel_cr3) = memory::with(|m| {
        let a = AddressSpace::create(&KernelPhys, &mut m.frames, &m.kernel).ok()?;
        let b = AddressSpace::create(&KernelPhys, &mut m.frames, &m.kernel).ok()?;
        Some((a, b, m.kernel.cr3().as_u32()))
    })
    .ok_or("no frames for two spaces")?;
    let mapped = memory::with(|m| {
        let frame = a
            .mapper(&KernelPhys, &NoFlush)
            .map_new(
                Page::containing_address(VirtAddr(VA)),
                EntryFlags::USER | EntryFlags::WRITABLE,
                ZeroFill::Yes,
                &mut m.frames,
            )
            .ok()?;
        // SAFETY: the frame was just mapped for this test alone.
        unsafe { (KernelPhys.frame_ptr(frame) as *mut u32).write(MARK) };
        Some(())
    });
    kassert!(mapped.is_some(), "cannot map the test page in space A");
    let kernel_word = core::ptr::from_ref(&MARK).addr() as u32;
    let (in_a, kernel_in_a, in_b, kernel_in_b) = x86::without_interrupts(|| {
        // SAFETY: both directories share the kernel half, so this code, its
        // stack and the kernel data stay mapped; the kernel's comes back below.
        unsafe { x86::write_cr3(a.cr3().as_u32()) };
        let in_a = probe::quietly(|| probe::read_u32(VA));
        let kernel_in_a = probe::read_u32(kernel_word);
        // SAFETY: as above.
        unsafe { x86::write_cr3(b.cr3().as_u32()) };
        let in_b = probe::quietly(|| probe::read_u32(VA));
        let kernel_in_b = probe::read_u32(kernel_word);
        // SAFETY: the kernel's own directory.
        unsafe { x86::write_cr3(kernel_cr3) };
        (in_a, kernel_in_a, in_b, kernel_in_b)
    });
    memory::with(|m| {
        let _ = a.destroy(&KernelPhys, &mut m.frames, UserFrames::FreeOwned);
        let _ = b.destroy(&KernelPhys, &mut m.frames, UserFrames::FreeOwned);
    });
    kassert!(in_a == Ok(MARK), "space A does not see its page: {in_a:?}");
    kassert!(
        matches!(in_b, Err(c) if c.vector == 14 && c.cr2 == VA),
        "space B sees A's page: {in_b:?}"
    );
    kassert!(
        kernel_in_a == Ok(MARK) && kernel_in_b == Ok(MARK),
        "a kernel mapping is missing from a user space: {kernel_in_a:?} {kernel_in_b:?}"
    );
    let after = free_frames();
    kassert!(
        after == before,
        "frames: {before} free before, {after} after"
    );
    Ok(())
}

fn need(name: &str) -> Result<(), String> {
    kassert!(
        programs::find(name).is_some(),
        "no program `{name}` among the boot modules"
    );
    Ok(())
}

fn run(args: &[&str]) -> Result<ExitKind, String> {
    let pid = proc::spawn(args[0], args).map_err(|e| alloc::format!("spawn {args:?}: {e}"))?;
    proc::run_to_end(pid).ok_or_else(|| alloc::format!("pid {pid} vanished"))
}

fn hello_runs() -> Result<(), String> {
    need("hello")?;
    let before = free_frames();
    let how = run(&["hello", "from", "ktest"])?;
    kassert!(how == ExitKind::Status(0), "hello ended {how:?}");
    let after = free_frames();
    kassert!(
        after == before,
        "frames: {before} free before, {after} after"
    );
    Ok(())
}

fn crashes() -> Result<(), String> {
    need("crash")?;
    for (arg, vector) in [("1", 14), ("2", 14), ("3", 13), ("4", 0), ("5", 14)] {
        let how = run(&["crash", arg])?;
        kassert!(
            how.status() == STATUS_KILLED + vector,
            "crash {arg} ended {how:?}, not killed by vector {vector}"
        );
    }
    // The kernel goes on: a program still runs to its end.
    let how = run(&["hello"])?;
    kassert!(
        how == ExitKind::Status(0),
        "hello after the crashes ended {how:?}"
    );
    Ok(())
}

fn thousand_cycles() -> Result<(), String> {
    need("cycle")?;
    // One run first: the kernel heap may grow once for the table's boxes.
    let how = run(&["cycle", "pool"])?;
    kassert!(how == ExitKind::Status(0), "cycle ended {how:?}");
    let before = free_frames();
    // Each of the four heap designs in turn as the program's malloc.
    let designs = ["buddy", "firstfit", "gaptree", "pool"];
    for i in 0..1000 {
        let how = run(&["cycle", designs[i % designs.len()]])?;
        kassert!(how == ExitKind::Status(0), "cycle {i} ended {how:?}");
    }
    let after = free_frames();
    kassert!(
        after == before,
        "1,000 cycles: {before} frames free before, {after} after"
    );
    Ok(())
}

/// `ffree` searches the processes' address spaces too: a frame `hello`
/// maps (found with `translate <entry> pid=N`, as a user would) is refused,
/// naming the process and the page; after `kill` every frame is back.
fn ffree_refuses_a_process_frame() -> Result<(), String> {
    need("hello")?;
    let prog = programs::find("hello").ok_or("no hello")?;
    let entry = crate::process::elf::plan(prog.bytes)
        .map_err(|e| alloc::format!("hello: {e}"))?
        .entry;
    let before = free_frames();
    // Spawned, not run: the shell's task is not preempted, so the process
    // waits (Ready) with its space built until this test idles.
    let pid = proc::spawn("hello", &["hello"]).map_err(|e| alloc::format!("spawn: {e}"))?;
    let out = run_command(&alloc::format!("translate {entry:#x} pid={pid}"));
    let frame = out
        .split("-> frame P")
        .nth(1)
        .and_then(|s| s.get(..10))
        .and_then(|s| crate::shell::parse_number(s).ok());
    let refused = frame.map(|f| run_command(&alloc::format!("ffree {f:#x}")));
    let alive = proc::list().iter().any(|p| p.pid == pid);
    let _ = proc::kill(pid, "ktest");
    let ended = proc::run_to_end(pid);
    let frame = frame.ok_or_else(|| alloc::format!("translate pid={pid}:\n{out}"))?;
    let refused = refused.unwrap_or_default();
    kassert!(alive, "pid {pid} ended before the test looked at it");
    let page = entry & !0xfff;
    kassert!(
        refused.starts_with("error: ")
            && refused.contains(&alloc::format!(
                "a page of process {pid} (hello), mapped at V{page:#010x}"
            ))
            && refused.contains(&alloc::format!("kill {pid}")),
        "ffree P{frame:#010x} of pid {pid}:\n{refused}"
    );
    kassert!(ended.is_some(), "pid {pid} was not reaped after kill");
    let after = free_frames();
    kassert!(
        after == before,
        "frames: {before} free before, {after} after the kill"
    );
    Ok(())
}
