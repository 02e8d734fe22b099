//! The first user program: prints from ring 3 and exits with status 0.

#![no_std]
#![no_main]

use cairn_user::{entry, getpid, println};

entry!(main);

fn main(args: &[&str]) -> i32 {
    println!(
        "hello from ring 3: pid {}, {} args: {:?}",
        getpid(),
        args.len(),
        args
    );
    0
}
