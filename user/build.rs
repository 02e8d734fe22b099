//! Link every user program with `user.ld`.

fn main() {
    println!("cargo:rerun-if-changed=user.ld");
    let dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    println!("cargo:rustc-link-arg-bins=-T{dir}/user.ld");
}
