//! In-kernel tests of the memory channel: a round trip through full and
//! empty, and the `channel` command fed by the keyboard tap as IRQ 1 calls it.

use crate::arch::x86::without_interrupts;
use crate::kassert;
use crate::kernel::interrupts;
use crate::kernel::ktests::kit::{
    HeapBlock, Test, TestResult, expect_output, heap_stats, kernel_heap_ok,
};
use crate::mm::family::{ChannelError, Consumer, Producer, Reset};
use crate::mm::layout::PAGE_SIZE;
use crate::shell::input::Key;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

pub static TESTS: &[Test] = &[
    Test {
        name: "family_channel_round_trip_full_and_empty",
        run: channel_round_trip,
    },
    Test {
        name: "family_channel_command_with_the_keyboard_tap",
        run: channel_command,
    },
];

fn channel_round_trip() -> TestResult {
    const SIZE: usize = 64;
    let data = HeapBlock::new(PAGE_SIZE, PAGE_SIZE)?;
    let feedback = HeapBlock::new(PAGE_SIZE, PAGE_SIZE)?;
    let (d, f) = (data.ptr.as_ptr(), feedback.ptr.as_ptr());
    // SAFETY: two distinct zeroed heap pages that outlive both endpoints.
    let (mut p, mut c) = unsafe {
        (
            Producer::new(d, f, SIZE, Reset::Hard).map_err(|e| format!("{e:?}"))?,
            Consumer::new(d, f, SIZE, Reset::Hard).map_err(|e| format!("{e:?}"))?,
        )
    };
    let cap = p.capacity();
    kassert!(cap == PAGE_SIZE / SIZE - 2, "capacity {cap}");
    let mut buf = [0u8; SIZE];
    kassert!(
        c.read(&mut buf) == Err(ChannelError::Empty),
        "a fresh channel is not empty"
    );
    let msg = |i: usize| {
        let mut m = [0u8; SIZE];
        m[..8].copy_from_slice(&(i as u64 * 0x0101_0101_0101).to_le_bytes());
        m[SIZE - 1] = i as u8;
        m
    };
    for i in 0..cap {
        p.write(&msg(i)).map_err(|e| format!("write {i}: {e:?}"))?;
    }
    kassert!(
        p.write(&msg(999)) == Err(ChannelError::Full),
        "no Full at capacity {cap}"
    );
    kassert!(
        p.pending() == Ok(cap) && c.pending() == Ok(cap),
        "pending after fill"
    );
    for i in 0..cap {
        c.read(&mut buf).map_err(|e| format!("read {i}: {e:?}"))?;
        kassert!(buf == msg(i), "message {i} was overwritten or reordered");
    }
    kassert!(
        c.read(&mut buf) == Err(ChannelError::Empty),
        "no Empty after draining"
    );
    // Many times around the ring, mostly near full: order kept, Full exact.
    let (mut written, mut read) = (0usize, 0usize);
    for i in 0..20 * cap {
        if i % 4 != 3 && written - read < cap {
            p.write(&msg(written))
                .map_err(|e| format!("write {written}: {e:?}"))?;
            written += 1;
        } else {
            if written - read == cap {
                kassert!(
                    p.write(&msg(0)) == Err(ChannelError::Full),
                    "no Full at {i}"
                );
            }
            c.read(&mut buf)
                .map_err(|e| format!("read {read}: {e:?}"))?;
            kassert!(buf == msg(read), "message {read} overwritten or reordered");
            read += 1;
        }
    }
    while read < written {
        c.read(&mut buf)
            .map_err(|e| format!("read {read}: {e:?}"))?;
        kassert!(buf == msg(read), "message {read} overwritten or reordered");
        read += 1;
    }
    kassert!(
        c.read(&mut buf) == Err(ChannelError::Empty),
        "more than was written"
    );
    kassert!(
        written > 5 * cap,
        "the ring went around only {written} messages"
    );
    p.check().map_err(|e| format!("producer check: {e:?}"))?;
    c.check().map_err(|e| format!("consumer check: {e:?}"))?;
    kassert!(
        p.write(&[0; 8]) == Err(ChannelError::BadLength),
        "a short message was accepted"
    );
    Ok(())
}

fn channel_command() -> TestResult {
    kassert!(
        interrupts::key_tap().is_none(),
        "a key tap is installed before `channel on`"
    );
    let before = heap_stats()?;
    expect_output("channel on 3", &["error: message size `3`"], &[])?;
    kassert!(
        interrupts::key_tap().is_none(),
        "a refused `channel on` installed the tap"
    );
    expect_output(
        "channel on 512",
        &["512-byte messages, 7 slots, 6 usable"],
        &[],
    )?;
    expect_output("channel on", &["error: the channel is already on"], &[])?;
    let on = heap_stats()?;
    kassert!(
        on.allocations == before.allocations + 2,
        "`channel on` should hold two heap pages: {before:?} -> {on:?}"
    );
    let tap = interrupts::key_tap().ok_or_else(|| String::from("no key tap installed"))?;
    // Eight keys as IRQ 1 delivers them: the ring holds six.
    without_interrupts(|| {
        for c in "abcdefgh".chars() {
            tap(Key::Char(c));
        }
    });
    {
        let mut want = Vec::new();
        for (i, c) in "abcdef".chars().enumerate() {
            want.push(format!("index   {i}: seq    {} ", i + 1));
            want.push(format!("key '{c}'"));
        }
        want.push(String::from("read 6 messages, then read() reported Empty"));
        want.push(String::from(
            "8 offered, 6 written, 2 refused as full (none overwritten)",
        ));
        let want: Vec<&str> = want.iter().map(|s| s.as_str()).collect();
        expect_output("channel", &want, &["key 'g'", "key 'h'"])?;
    }
    without_interrupts(|| tap(Key::Enter));
    expect_output("channel read", &["index   6: seq    9 ", "key Enter"], &[])?;
    expect_output(
        "channel fill",
        &["wrote 6 messages; the next write reported Full"],
        &[],
    )?;
    expect_output(
        "channel read 2",
        &["fill 0", "fill 1", "read 2 messages, 4 still waiting"],
        &["fill 2"],
    )?;
    expect_output("channel off", &["4 unread dropped"], &[])?;
    kassert!(
        interrupts::key_tap().is_none(),
        "the tap stayed after `channel off`"
    );
    let after = heap_stats()?;
    kassert!(
        after.allocations == before.allocations,
        "the channel pages were not given back: {before:?} -> {after:?}"
    );
    expect_output("channel", &["channel: off"], &[])?;
    expect_output("channel off", &["error: the channel is already off"], &[])?;
    kernel_heap_ok()
}
