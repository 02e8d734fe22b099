//! A bit array with next-fit search; filled in by the physical-memory work.
