//! The first user program: prints from ring 3 and exits with status 0.
//! `hello read` also reads a line from the console (the keyboard goes to
//! the foreground process while it reads) and prints it back.

#![no_std]
#![no_main]

use cairn_user::{entry, getpid, println, read_line};

entry!(main);

fn main(args: &[&str]) -> i32 {
    println!(
        "hello from ring 3: pid {}, {} args: {:?}",
        getpid(),
        args.len(),
        args
    );
    if args.get(1).copied() == Some("read") {
        println!("hello: type a line");
        let mut line = [0u8; 80];
        match read_line(&mut line) {
            Ok(n) => {
                let text = core::str::from_utf8(&line[..n]).unwrap_or("?").trim_end();
                println!("hello: you typed `{text}` ({n} bytes)");
            }
            Err(e) => {
                println!("hello: read: {e}");
                return 1;
            }
        }
    }
    0
}
