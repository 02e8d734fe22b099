//! The console's own commands: `color`.

use super::kit::{Command, Outcome};
use crate::kernel::console;
use core::fmt::Write;

/// The console layer's commands.
pub static COMMANDS: &[Command] = &[Command {
    name: "color",
    args: "[on|off]",
    help: "colours on both screens (off: plain text, for logs and old terminals)",
    run: color,
}];

/// `color [on|off]`: switch the colour sequences on or off on VGA and serial.
fn color(args: &[&str], out: &mut dyn Write) -> Outcome {
    let on = match args {
        [] => {
            let state = if console::color() { "on" } else { "off" };
            let _ = writeln!(out, "color is {state}; `color off` prints plain text");
            return Ok(());
        }
        ["on"] => true,
        ["off"] => false,
        [_, extra, ..] => return Err(alloc::format!("unexpected argument `{extra}`")),
        [other] => return Err(alloc::format!("`{other}`: color takes on or off")),
    };
    console::set_color(on);
    let _ = writeln!(out, "color {}", if on { "on" } else { "off" });
    Ok(())
}
