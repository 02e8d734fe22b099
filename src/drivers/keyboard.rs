//! The PS/2 keyboard on IRQ 1: scancode set 1, US layout, through pc-keyboard
//! (shift, caps lock, ctrl, arrows, Home, End, Delete, PgUp, PgDn; Shift+PgUp
//! and Shift+PgDn scroll the screen). Keys go to the shell's input queue.

use crate::arch::x86::inb;
use crate::shell::input::Key;
use pc_keyboard::{DecodedKey, HandleControl, KeyCode, PS2Keyboard, ScancodeSet1, layouts};
use spin::Mutex;

/// The 8042 controller's data port.
const DATA_PORT: u16 = 0x60;

static DECODER: Mutex<PS2Keyboard<layouts::Us104Key, ScancodeSet1>> = Mutex::new(PS2Keyboard::new(
    ScancodeSet1::new(),
    layouts::Us104Key,
    HandleControl::MapLettersToUnicode,
));

/// Read one scancode and turn it into a key, if it completes one. Called
/// from the IRQ 1 handler: it must not block or allocate.
pub fn read_key() -> Option<Key> {
    // SAFETY: reading the 8042 data port takes the byte that raised IRQ 1.
    let scancode = unsafe { inb(DATA_PORT) };
    let mut keyboard = DECODER.lock();
    let event = keyboard.add_byte(scancode).ok().flatten()?;
    let mods = keyboard.get_modifiers();
    let shift = mods.lshift || mods.rshift;
    match keyboard.process_keyevent(event)? {
        DecodedKey::Unicode(c) => Some(match c {
            '\n' | '\r' => Key::Enter,
            '\u{8}' => Key::Backspace,
            '\u{1b}' => Key::Escape,
            '\t' => Key::Tab,
            '\u{7f}' => Key::Delete,
            c if (c as u32) < 0x20 => Key::Ctrl((b'a' + c as u8 - 1) as char),
            c => Key::Char(c),
        }),
        DecodedKey::RawKey(code) => match code {
            KeyCode::ArrowUp => Some(Key::Up),
            KeyCode::ArrowDown => Some(Key::Down),
            KeyCode::ArrowLeft => Some(Key::Left),
            KeyCode::ArrowRight => Some(Key::Right),
            KeyCode::Escape => Some(Key::Escape),
            KeyCode::Home => Some(Key::Home),
            KeyCode::End => Some(Key::End),
            KeyCode::PageUp if shift => Some(Key::ScrollUp),
            KeyCode::PageDown if shift => Some(Key::ScrollDown),
            KeyCode::PageUp => Some(Key::PageUp),
            KeyCode::PageDown => Some(Key::PageDown),
            _ => None,
        },
    }
}
