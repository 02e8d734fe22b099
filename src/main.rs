//! The kernel binary: entry from the boot code and the one ordered `init()`.

#![cfg_attr(target_os = "none", no_std, no_main)]

#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!("cairn is a kernel: build and boot it with `make run`");
}
