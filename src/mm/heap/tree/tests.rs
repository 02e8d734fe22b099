//! Host tests of the intrusive AVL tree: a soak of inserts, removes and
//! searches against a `BTreeSet`, and sequential inserts staying
//! logarithmic.

use super::*;
use crate::testutil::{Rng, soak_ops};
use alloc::boxed::Box;
use alloc::collections::BTreeSet;
use alloc::vec::Vec;

struct Node {
    key: u32,
    links: Links<Node>,
}
struct ByKey;
impl TreeKind for ByKey {
    type Node = Node;
    type Key = u32;
    unsafe fn links(n: *mut Node) -> *mut Links<Node> {
        // SAFETY: caller passes a valid node.
        unsafe { &raw mut (*n).links }
    }
    unsafe fn key(n: *mut Node) -> u32 {
        // SAFETY: caller passes a valid node.
        unsafe { (*n).key }
    }
}

#[test]
fn tree_soak_against_btreeset() {
    let ops = soak_ops(40_000);
    let mut rng = Rng::new(3);
    // Node storage: one boxed node per key, reused when re-inserted.
    let mut nodes: Vec<Box<Node>> = (0..512)
        .map(|k| {
            Box::new(Node {
                key: k,
                links: Links::new(),
            })
        })
        .collect();
    let mut root: *mut Node = ptr::null_mut();
    let mut model = BTreeSet::new();
    for i in 0..ops {
        let k = rng.range(0, 512) as u32;
        // SAFETY: every node lives in `nodes` for the whole test.
        unsafe {
            if model.contains(&k) {
                let (r, gone) = remove::<ByKey>(root, k);
                root = r;
                assert_eq!((*gone).key, k);
                model.remove(&k);
            } else {
                let n: *mut Node = &mut *nodes[k as usize];
                root = insert::<ByKey>(root, n);
                model.insert(k);
            }
            let q = rng.range(0, 520) as u32;
            let lb = lower_bound::<ByKey>(root, q);
            assert_eq!(
                (!lb.is_null()).then(|| (*lb).key),
                model.range(q..).next().copied()
            );
            let b = below::<ByKey>(root, q);
            assert_eq!(
                (!b.is_null()).then(|| (*b).key),
                model.range(..q).next_back().copied()
            );
            let m = max::<ByKey>(root);
            assert_eq!((!m.is_null()).then(|| (*m).key), model.last().copied());
            if i % 64 == 0 || ops < 5000 {
                assert_eq!(check::<ByKey>(root, 1000), Ok(model.len()));
                let mut seen = Vec::new();
                walk::<ByKey>(root, &mut |n| {
                    seen.push((*n).key);
                    true
                });
                assert!(seen.iter().copied().eq(model.iter().copied()));
            }
            // Removing an absent key changes nothing.
            let absent = 600;
            let (r, gone) = remove::<ByKey>(root, absent);
            assert!(gone.is_null());
            assert_eq!(r, root);
        }
    }
}

#[test]
fn sequential_inserts_stay_logarithmic() {
    let mut nodes: Vec<Box<Node>> = (0..4096)
        .map(|k| {
            Box::new(Node {
                key: k,
                links: Links::new(),
            })
        })
        .collect();
    let mut root: *mut Node = ptr::null_mut();
    // SAFETY: nodes outlive the tree.
    unsafe {
        for n in nodes.iter_mut() {
            root = insert::<ByKey>(root, &mut **n);
        }
        assert_eq!(check::<ByKey>(root, 5000), Ok(4096));
        // AVL height bound: 1.44 log2(n+2) ≈ 17.3 for 4096 nodes.
        assert!((*root).links.height <= 17);
    }
}
