//! Link the kernel binary with `linker.ld` (only when building for the
//! kernel target; host builds of the library and tests are untouched).

fn main() {
    println!("cargo:rerun-if-changed=linker.ld");
    println!("cargo:rerun-if-changed=asm/boot.s");
    println!("cargo:rerun-if-changed=asm/interrupts.s");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("none") {
        let dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
        println!("cargo:rustc-link-arg-bins=-T{dir}/linker.ld");
    }
}
