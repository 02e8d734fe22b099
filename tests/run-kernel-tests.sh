#!/usr/bin/env bash
# Tier 2: boot Cairn with `test` (and any extra arguments) on its command
# line, from an ISO made here with that single GRUB entry around the kernel
# the given ISO was built from, and let the in-kernel tests decide QEMU's
# exit status through isa-debug-exit: 33 = all passed.
#
#   tests/run-kernel-tests.sh build/cairn.iso [timeout-seconds] [extra kernel args...]
set -u
iso=${1:?usage: $0 ISO [timeout] [kernel args]}
timeout_s=${2:-60}
shift 2 || shift $#
extra="$*"
mem=${MEM:-128M}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

# A copy of the ISO tree whose only entry boots with `test` (plus extra args).
mkdir -p "$dir/iso/boot/grub"
cp "$(dirname "$iso")/iso/boot/cairn.elf" "$dir/iso/boot/cairn.elf" || { echo "no kernel beside $iso: run make iso"; exit 1; }
# The user programs beside the kernel, as modules (the process tests run them).
modules=""
if [ -d "$(dirname "$iso")/iso/boot/progs" ]; then
    cp -r "$(dirname "$iso")/iso/boot/progs" "$dir/iso/boot/progs"
    for p in "$dir"/iso/boot/progs/*; do
        [ -e "$p" ] || continue
        name=$(basename "$p")
        modules="$modules    module2 /boot/progs/$name $name
"
    done
fi
cat > "$dir/iso/boot/grub/grub.cfg" <<CFG
set timeout=0
menuentry "Cairn (in-kernel tests)" {
    multiboot2 /boot/cairn.elf test $extra
$modules    boot
}
CFG
grub-mkrescue -o "$dir/test.iso" "$dir/iso" 2>/dev/null || { echo "grub-mkrescue failed"; exit 1; }

log="build/kernel-tests${extra:+-${extra// /_}}.log"
timeout --kill-after=5 "$timeout_s" qemu-system-i386 -m "$mem" -no-reboot \
    -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
    -cdrom "$dir/test.iso" -display none -serial "file:$log"
status=$?
cat "$log"
case $status in
    33) echo "in-kernel tests ($mem${extra:+, $extra}): passed"; exit 0 ;;
    35) echo "in-kernel tests ($mem${extra:+, $extra}): FAILED"; exit 1 ;;
    124|137) echo "in-kernel tests ($mem${extra:+, $extra}): TIMED OUT after ${timeout_s}s"; exit 1 ;;
    *) echo "in-kernel tests ($mem${extra:+, $extra}): QEMU exited with $status (crash or triple fault?)"; exit 1 ;;
esac
