//! Command mode's commands, one table per layer.
//!
//! Each command gets its arguments (the words after its name) and a writer;
//! bad arguments print `error: ...` and change nothing.

mod family;
mod foundation;
mod frames;
mod heap;
pub mod kit;
mod paging;
mod user;

use core::fmt::Write;
pub use kit::{Command, Outcome};

/// `help` itself: it lists the tables, so it lives above them, and heads
/// the foundation layer.
static HELP: &[Command] = &[Command {
    name: "help",
    args: "[command|all]",
    help: "list the commands by layer; `help <command>` or `help all` explains them",
    run: help,
}];

/// Every table, layer by layer, with the layer's name (the layers of later
/// course modules are cut on earlier module branches).
fn layers() -> impl Iterator<Item = (&'static str, [&'static [Command]; 2])> {
    [
        ("foundation", [HELP, foundation::COMMANDS]),
        // course: module 03
        ("heap", [heap::COMMANDS, &[]]),
        // course: end
        // course: module 04
        ("frames", [frames::COMMANDS, &[]]),
        // course: end
        // course: module 05
        ("paging", [paging::COMMANDS, &[]]),
        // course: end
        // course: module 07
        ("family", [family::COMMANDS, &[]]),
        // course: end
        // course: module 08
        ("user", [user::COMMANDS, &[]]),
        // course: end
    ]
    .into_iter()
}

/// Every table, layer by layer.
fn tables() -> impl Iterator<Item = &'static [Command]> {
    layers().flat_map(|(_, cmds)| cmds)
}

/// Find a command by name.
pub fn find(name: &str) -> Option<&'static Command> {
    tables().flatten().find(|c| c.name == name)
}

/// Run one command line.
pub fn run(line: &str, out: &mut dyn Write) {
    let mut words = [""; 16];
    let mut n = 0;
    for w in line.split_whitespace() {
        if n == words.len() {
            let _ = writeln!(
                out,
                "error: too many arguments (at most {})",
                words.len() - 1
            );
            return;
        }
        words[n] = w;
        n += 1;
    }
    let Some((name, args)) = words[..n].split_first() else {
        return;
    };
    match find(name) {
        Some(cmd) => {
            if let Err(msg) = (cmd.run)(args, out) {
                let _ = writeln!(out, "error: {msg}");
                if !cmd.args.is_empty() {
                    let _ = writeln!(out, "usage: {} {}", cmd.name, cmd.args);
                }
            }
        }
        None => {
            let _ = writeln!(out, "unknown command `{name}`; `help` lists them");
        }
    }
}

/// `help`: every command with its arguments and one line of help.
fn help(args: &[&str], out: &mut dyn Write) -> Outcome {
    match args.first() {
        Some(&"all") => {
            for cmd in tables().flatten() {
                let _ = writeln!(out, "{} {}\n      {}", cmd.name, cmd.args, cmd.help);
            }
        }
        Some(name) => {
            let cmd = find(name).ok_or_else(|| alloc::format!("no command `{name}`"))?;
            let _ = writeln!(out, "{} {}\n      {}", cmd.name, cmd.args, cmd.help);
        }
        None => {
            // One line per layer, so the list fits the 80x25 screen.
            let _ = writeln!(
                out,
                "commands by layer (`help <command>` explains one, `help all` every one):"
            );
            for (layer, cmds) in layers() {
                let _ = write!(out, "  {layer:<11}");
                for cmd in cmds.into_iter().flatten() {
                    let _ = write!(out, " {}", cmd.name);
                }
                let _ = writeln!(out);
            }
            let _ = writeln!(out, "  {:<11} return to hotkey mode (or press Esc)", "exit");
        }
    }
    Ok(())
}
