# gdb -x debug.gdb, with `make debug` running in another terminal.
set architecture i386
file target/i686-kernel/release/cairn
target remote localhost:1234
break kernel_main
echo \nQEMU is halted before the BIOS. `continue` boots to kernel_main.\n
