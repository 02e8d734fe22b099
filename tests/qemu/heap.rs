//! QEMU tests of the buddy heap and the playground.
