//! The arguments the paging commands share: an address, and `pid=N`
//! (the address space of process N instead of the kernel's).

use crate::shell::parse_number;
use alloc::format;
use alloc::string::String;

/// Split a `pid=N` argument off `args`: (the pid, the other arguments).
pub fn take_pid<'a>(args: &[&'a str]) -> Result<(Option<u32>, alloc::vec::Vec<&'a str>), String> {
    let mut pid = None;
    let mut rest = alloc::vec::Vec::new();
    for a in args {
        match a.strip_prefix("pid=") {
            Some(_) if pid.is_some() => return Err(format!("unexpected argument `{a}`")),
            Some(n) => {
                let n = n
                    .parse()
                    .map_err(|_| format!("`{a}`: not a pid (a decimal number `ps` lists)"))?;
                pid = Some(n);
            }
            None => rest.push(*a),
        }
    }
    Ok((pid, rest))
}

/// One address argument.
pub fn parse_addr(arg: &str) -> Result<u32, String> {
    parse_number(arg).map_err(|e| format!("`{arg}`: {e}"))
}
