//! FreeNOS's MemoryChannel between two processes: the producer maps shared
//! region 1 (two pages: data and feedback), starts `channel consumer`, which
//! maps the same region, and sends numbered messages through the ring; the
//! consumer checks every one. The channel code is the kernel's own
//! (`cairn::mm::family::channel`).

#![no_std]
#![no_main]

use cairn::mm::family::channel::{ChannelError, Consumer, Producer, Reset};
use cairn_user::{entry, getpid, println, share, spawn, wait, yield_now};

entry!(main);

const KEY: u32 = 1;
const MESSAGES: u32 = 300;
const SIZE: usize = 16;

fn message(i: u32) -> [u8; SIZE] {
    let mut m = [0u8; SIZE];
    for (k, w) in [i, i.wrapping_mul(i), !i, 0xC0FF_EE00 | (i & 0xFF)]
        .iter()
        .enumerate()
    {
        m[k * 4..k * 4 + 4].copy_from_slice(&w.to_le_bytes());
    }
    m
}

fn main(args: &[&str]) -> i32 {
    if args.get(1).copied() == Some("consumer") {
        consumer()
    } else {
        producer()
    }
}

fn producer() -> i32 {
    let base = match share(KEY, 8192) {
        Ok(b) => b,
        Err(e) => {
            println!("channel: share: {e} FAIL");
            return 1;
        }
    };
    // SAFETY: the shared region is two pages at `base`, used only by this
    // producer and the one consumer started below.
    let mut tx = match unsafe {
        Producer::new(base as *mut u8, (base + 4096) as *mut u8, SIZE, Reset::Hard)
    } {
        Ok(p) => p,
        Err(e) => {
            println!("channel: producer: {e:?} FAIL");
            return 1;
        }
    };
    let pid = match spawn("channel", "consumer") {
        Ok(p) => p,
        Err(e) => {
            println!("channel: cannot start the consumer: {e} FAIL");
            return 1;
        }
    };
    println!(
        "channel: producer pid {} over shared region {KEY} at {base:#010x}, {} slots; consumer pid {pid}",
        getpid(),
        tx.capacity()
    );
    let mut full = 0;
    for i in 0..MESSAGES {
        loop {
            match tx.write(&message(i)) {
                Ok(()) => break,
                Err(ChannelError::Full) => {
                    full += 1;
                    yield_now();
                }
                Err(e) => {
                    println!("channel: write {i}: {e:?} FAIL");
                    return 1;
                }
            }
        }
    }
    let status = wait(pid).unwrap_or(-1);
    println!(
        "channel: producer sent {MESSAGES} messages (ring full {full} times); consumer status {status}"
    );
    println!("channel: {}", if status == 0 { "ok" } else { "FAILED" });
    (status != 0) as i32
}

fn consumer() -> i32 {
    let base = match share(KEY, 0) {
        Ok(b) => b,
        Err(e) => {
            println!("channel consumer: share: {e} FAIL");
            return 1;
        }
    };
    // SAFETY: as for the producer: the same two pages, this one consumer.
    let mut rx = match unsafe {
        Consumer::new(base as *mut u8, (base + 4096) as *mut u8, SIZE, Reset::Soft)
    } {
        Ok(c) => c,
        Err(e) => {
            println!("channel consumer: {e:?} FAIL");
            return 1;
        }
    };
    let mut buf = [0u8; SIZE];
    let mut empty = 0;
    for i in 0..MESSAGES {
        loop {
            match rx.read(&mut buf) {
                Ok(()) => break,
                Err(ChannelError::Empty) => {
                    empty += 1;
                    yield_now();
                }
                Err(e) => {
                    println!("channel consumer: read {i}: {e:?} FAIL");
                    return 1;
                }
            }
        }
        if buf != message(i) {
            println!("channel consumer: message {i} is wrong FAIL");
            return 1;
        }
    }
    println!(
        "channel: consumer pid {} at {base:#010x} got {MESSAGES} messages in order (ring empty {empty} times)",
        getpid()
    );
    0
}
