//! Architecture support. Cairn runs on one: 32-bit x86.

pub mod x86;
