//! The pictures in docs/modules/04-physical-memory.md are this code's
//! output; this test keeps them true.

use super::*;
use crate::mm::addr::Frame;
use crate::mm::frame::FrameAllocator;
use crate::mm::frame::testmaps::*;
use alloc::string::String;

const DOC: &str = include_str!("../../../../docs/modules/04-physical-memory.md");

fn assert_in_doc(picture: &str) {
    for line in picture.lines() {
        assert!(DOC.contains(line), "doc lacks the line {line:?}");
    }
}

#[test]
fn doc_pictures_match_the_allocator() {
    let p = qemu_plan(128, PmmChoice::Buddy);
    let mut m = MetaBuf::new(&p);
    let mut a = BuddyFrameAllocator::new(&p, m.bytes()).unwrap();
    let mut s = String::new();
    a.draw_orders(&mut s, Frame(0), 1024, 4).unwrap();
    a.draw_orders(&mut s, Frame(0x1C0), 64, 0).unwrap();
    assert_eq!(a.allocate(), Some(Frame(0x1D4)));
    assert_eq!(a.allocate_contiguous(3, 1), Some(Frame(0x1D8)));
    a.draw_orders(&mut s, Frame(0x1C0), 64, 0).unwrap();
    assert_in_doc(&s);
    let mut r = String::new();
    crate::mm::frame::report::write_frames(
        &mut r,
        &crate::mm::frame::report::FrameCounts {
            name: "buddy",
            total: a.total_count(),
            free: a.total_count(),
            out_of_reach: 0,
        },
        &p,
    )
    .unwrap();
    assert_in_doc(&r);
}
