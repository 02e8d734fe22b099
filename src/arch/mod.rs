//! x86 hardware: the only home of privileged instructions.
