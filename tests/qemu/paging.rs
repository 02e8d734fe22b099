//! QEMU tests of paging and the virtual memory manager.
