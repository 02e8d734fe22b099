//! QEMU tests of the physical memory manager.
