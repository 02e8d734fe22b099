//! `channel on [bytes]` and `channel off`: two zeroed heap pages, both
//! ends made over them and the keyboard tap installed; then the tap
//! removed, both ends taken out and the pages given back.

use super::ends::{BUSY, CONSUMER, KeyConsumer, KeyProducer, PRODUCER, channel_is_on, key_tap};
use crate::arch::x86::without_interrupts;
use crate::kernel::commands::kit::Outcome;
use crate::kernel::heap as kheap;
use crate::kernel::interrupts;
use crate::mm::family::{Consumer, Producer, Reset};
use crate::mm::layout::PAGE_SIZE;
use alloc::alloc::Layout;
use alloc::format;
use alloc::string::String;
use core::fmt::Write;
use core::ptr::NonNull;
use core::sync::atomic::Ordering;

fn page_layout() -> Layout {
    // Never fails: PAGE_SIZE is a power of two and a valid size.
    Layout::from_size_align(PAGE_SIZE, PAGE_SIZE).expect("channel: page layout")
}

/// One zeroed, page-aligned page from the kernel heap (never from the
/// reserve: the demo holds its pages until `channel off`).
fn heap_page() -> Option<NonNull<u8>> {
    let page = kheap::allocate(page_layout()).ok()?;
    // SAFETY: a fresh block of PAGE_SIZE bytes, ours alone.
    unsafe { core::ptr::write_bytes(page.as_ptr(), 0, PAGE_SIZE) };
    Some(page)
}

/// Give back a page from [`heap_page`].
///
/// # Safety
/// `page` came from `heap_page` and nothing uses it any more.
unsafe fn free_page(page: NonNull<u8>) {
    // A refusal is counted by the heap; it cannot happen for our own page.
    let _ = kheap::deallocate(page, page_layout());
}

/// `channel on [bytes]`: two heap pages, both endpoints, the keyboard tap.
pub(super) fn channel_on(message_size: usize, out: &mut dyn Write) -> Outcome {
    if channel_is_on() {
        return Err(String::from(
            "the channel is already on (`channel off` first)",
        ));
    }
    let data =
        heap_page().ok_or_else(|| String::from("out of memory: no heap page for the data"))?;
    let Some(feedback) = heap_page() else {
        // SAFETY: just allocated, never shared.
        unsafe { free_page(data) };
        return Err(String::from("out of memory: no heap page for the feedback"));
    };
    // SAFETY: two distinct zeroed heap pages, owned by the demo until
    // `channel off` has removed both endpoints.
    let ends = unsafe {
        Producer::new(data.as_ptr(), feedback.as_ptr(), message_size, Reset::Hard).and_then(|p| {
            Consumer::new(data.as_ptr(), feedback.as_ptr(), message_size, Reset::Hard)
                .map(|c| (p, c))
        })
    };
    let (producer, consumer) = match ends {
        Ok(e) => e,
        Err(e) => {
            // SAFETY: the endpoints were not made; nothing uses the pages.
            unsafe {
                free_page(data);
                free_page(feedback);
            }
            return Err(format!("the channel refused: {e:?}"));
        }
    };
    let capacity = producer.capacity();
    let slots = (PAGE_SIZE / message_size - 1) as u32;
    *CONSUMER.lock() = Some(KeyConsumer {
        consumer,
        data,
        feedback,
        message_size,
        read_index: 0,
        slots,
    });
    BUSY.store(0, Ordering::Relaxed);
    without_interrupts(|| {
        *PRODUCER.lock() = Some(KeyProducer {
            producer,
            message_size,
            offered: 0,
            written: 0,
            full: 0,
        });
        interrupts::set_key_tap(Some(key_tap));
    });
    let _ = writeln!(
        out,
        "channel: on: data page V{:#010x}, feedback page V{:#010x} (two pages from the kernel heap)",
        data.as_ptr().addr(),
        feedback.as_ptr().addr()
    );
    let _ = writeln!(
        out,
        "channel: {message_size}-byte messages, {slots} slots, {capacity} usable (one stays empty)"
    );
    let _ = writeln!(
        out,
        "channel: every key pressed on the keyboard is now a message; `channel` reads them"
    );
    Ok(())
}

/// `channel off`: remove the tap and both endpoints, give the pages back.
pub(super) fn channel_off(out: &mut dyn Write) -> Outcome {
    let Some(kc) = CONSUMER.lock().take() else {
        return Err(String::from("the channel is already off"));
    };
    let kp = without_interrupts(|| {
        interrupts::set_key_tap(None);
        PRODUCER.lock().take()
    });
    let KeyConsumer {
        consumer,
        data,
        feedback,
        ..
    } = kc;
    let unread = consumer.pending().unwrap_or(0);
    let (written, full) = kp.map(|kp| (kp.written, kp.full)).unwrap_or((0, 0));
    // SAFETY: the tap is gone (removed with interrupts off, so no handler
    // is inside it) and both endpoints were moved out of their statics and
    // are not used again: nothing uses the pages.
    unsafe {
        free_page(data);
        free_page(feedback);
    }
    let _ = writeln!(
        out,
        "channel: off: {written} written, {full} refused as full, {unread} unread dropped; both pages back to the heap"
    );
    Ok(())
}
