//! QEMU tests of the allocator family and the heap chosen at boot.
