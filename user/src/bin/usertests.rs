//! Runs the other programs as children and checks how each ended (an exit
//! status, or killed by the kernel with the expected exception), then that
//! the free frame count is back where it started. Prints `N passed, N failed`.

#![no_std]
#![no_main]

use cairn_user::abi::STATUS_KILLED;
use cairn_user::{Errno, entry, free_frames, println, spawn, wait};

entry!(main);

/// (program, arguments, expected status)
const RUNS: [(&str, &str, i32); 11] = [
    ("hello", "from usertests", 0),
    ("badptr", "", 0),
    ("grow", "", 0),
    ("isolation", "", 0),
    ("channel", "", 0),
    ("heapbench", "2000", 0),
    ("crash", "1", STATUS_KILLED + 14),
    ("crash", "2", STATUS_KILLED + 14),
    ("crash", "3", STATUS_KILLED + 13),
    ("crash", "4", STATUS_KILLED),
    ("crash", "5", STATUS_KILLED + 14),
];

fn main(_: &[&str]) -> i32 {
    let mut passed = 0;
    let mut failed = 0;
    let frames = free_frames();
    for (prog, args, want) in RUNS {
        let sep = if args.is_empty() { "" } else { " " };
        let got = spawn(prog, args).and_then(wait);
        match got {
            Ok(s) if s == want => {
                passed += 1;
                println!("usertests: {prog}{sep}{args}: status {s}: ok");
            }
            other => {
                failed += 1;
                println!("usertests: {prog}{sep}{args}: got {other:?}, wanted status {want}: FAIL");
            }
        }
    }
    match spawn("no-such-program", "") {
        Err(Errno::NoEnt) => {
            passed += 1;
            println!("usertests: spawn of a missing program: no such program: ok");
        }
        other => {
            failed += 1;
            println!("usertests: spawn of a missing program gave {other:?}: FAIL");
        }
    }
    let after = free_frames();
    if after == frames {
        passed += 1;
        println!("usertests: free frames {frames} before, {after} after: ok");
    } else {
        failed += 1;
        println!("usertests: free frames {frames} before, {after} after: FAIL (leak)");
    }
    println!("usertests: {passed} passed, {failed} failed");
    failed
}
