//! The console: everything printed goes to the VGA screen and to COM1.
//!
//! `print!`/`println!` take the console lock with interrupts off, so an
//! interrupt handler never finds it held by the code it interrupted.

use crate::arch::x86::without_interrupts;
use crate::drivers::serial::Serial;
use crate::drivers::vga::Screen;
use crate::term::style::{ERROR, RESET, WARN};
use crate::text::{WRAP_WIDTH, Wrap};
use core::fmt::{self, Write};
use spin::Mutex;

/// The two outputs, written together.
pub struct Console {
    pub screen: Screen,
    pub serial: Serial,
}

impl Write for Console {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.serial.write_str(s)?;
        self.screen.write_str(s)
    }
}

/// The kernel's console.
static CONSOLE: Mutex<Console> = Mutex::new(Console {
    screen: Screen::new(),
    serial: Serial::com1(),
});

/// Initialise COM1 and clear the screen.
pub fn init() {
    let mut c = CONSOLE.lock();
    c.serial.init();
    c.screen.clear();
}

/// Colours on or off on both outputs (the `color` command).
pub fn set_color(on: bool) {
    with(|c| {
        c.screen.set_color(on);
        c.serial.set_color(on);
    });
}

/// True while colour sequences reach the screens.
pub fn color() -> bool {
    with(|c| c.screen.color())
}

/// Print one line in the error colour (something was refused or failed):
/// red on VGA and as ANSI on serial, plain after `color off`; wrapped to
/// the 80-column screen.
pub fn error_line(args: fmt::Arguments) {
    styled_line(ERROR, args);
}

/// Print one line in the warning colour (it worked, but look): yellow on
/// VGA and as ANSI on serial, plain after `color off`; wrapped to the
/// 80-column screen.
pub fn warn_line(args: fmt::Arguments) {
    styled_line(WARN, args);
}

fn styled_line(style: &str, args: fmt::Arguments) {
    let mut out = Wrap::new(Out, WRAP_WIDTH);
    let _ = writeln!(out, "{style}{args}{RESET}");
    let _ = out.finish();
}

#[doc(hidden)]
pub fn _print(args: fmt::Arguments) {
    without_interrupts(|| {
        let _ = CONSOLE.lock().write_fmt(args);
    });
}

/// Run `f` on the console with the lock held and interrupts off (for pictures
/// that paint cells directly).
pub fn with<R>(f: impl FnOnce(&mut Console) -> R) -> R {
    without_interrupts(|| f(&mut CONSOLE.lock()))
}

/// Take the console even if the code that faulted held it: for the fatal
/// paths (panic, unrecoverable exception, double fault), which never return.
pub fn force_unlock() {
    if CONSOLE.is_locked() {
        // SAFETY: only called on paths that halt afterwards; the holder was
        // interrupted for good and will never touch the console again.
        unsafe { CONSOLE.force_unlock() };
    }
    Screen::force_unlock();
}

/// A `fmt::Write` that prints to the console (for code that writes reports
/// into any writer, like the shell and the `mm` reports).
pub struct Out;

impl Write for Out {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        _print(format_args!("{s}"));
        Ok(())
    }
}

/// `log` records go to the serial line only, with their level.
struct SerialLogger;

impl log::Log for SerialLogger {
    fn enabled(&self, metadata: &log::Metadata) -> bool {
        metadata.level() <= log::max_level()
    }
    fn log(&self, record: &log::Record) {
        if self.enabled(record.metadata()) {
            // Errors red, warnings yellow (dropped by `color off`).
            let (on, off) = match record.level() {
                log::Level::Error => (ERROR, RESET),
                log::Level::Warn => (WARN, RESET),
                _ => ("", ""),
            };
            without_interrupts(|| {
                let _ = writeln!(
                    CONSOLE.lock().serial,
                    "{on}[{:<5} {}] {}{off}",
                    record.level(),
                    record.target(),
                    record.args()
                );
            });
        }
    }
    fn flush(&self) {}
}

static LOGGER: SerialLogger = SerialLogger;

/// Install the serial logger at `level`.
pub fn init_logger(level: log::LevelFilter) {
    let _ = log::set_logger(&LOGGER);
    log::set_max_level(level);
}

/// Print to the console (VGA and serial).
#[macro_export]
macro_rules! print {
    ($($arg:tt)*) => ($crate::kernel::console::_print(format_args!($($arg)*)));
}

/// Print a line to the console (VGA and serial).
#[macro_export]
macro_rules! println {
    () => ($crate::print!("\n"));
    ($($arg:tt)*) => ($crate::print!("{}\n", format_args!($($arg)*)));
}
