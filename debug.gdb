# gdb -x debug.gdb, with `make debug` running in another terminal.
set architecture i386
file target/i686-kernel/release/cairn
target remote localhost:1234
source gdb/cairn.py
break kernel_main
echo \nQEMU is halted before the BIOS. `continue` boots to kernel_main.\n
echo Cairn's commands (after boot, Ctrl+C to stop the kernel): cairn-walk ADDR, cairn-pagedir,\n
echo cairn-heap, cairn-playground, cairn-frames. `help user-defined` lists them.\n
