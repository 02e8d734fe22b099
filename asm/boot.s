# Cairn boot: multiboot2 header, boot page directory, jump to the higher half.
#
# GRUB loads the image at 1 MiB and jumps to _start (physical address) in
# 32-bit protected mode, paging off, EAX = multiboot2 magic, EBX = physical
# address of the boot information. Until paging is on, every symbol must be
# used at (its linked address - KERNEL_BASE).
#
#   boot page directory (4 MiB pages, CR4.PSE):
#     PD[0]            -> physical 0..4 MiB   (identity: the code running now)
#     PD[768..960)     -> physical 0..768 MiB (the linear space at 0xC0000000)
#
# Rust replaces this directory with one built from 4 KiB tables (mm::paging).

.set KERNEL_BASE, {kernel_base}
.set PDX_SHIFT, {pdx_shift}
.set LINEAR_PDES, {linear_pdes}
.set BOOT_STACK_SIZE, {boot_stack_size}
.set DOUBLE_FAULT_STACK_SIZE, {double_fault_stack_size}
.set PAGE_SIZE, {page_size}

.set MB2_MAGIC, 0xE85250D6
.set MB2_ARCH_I386, 0
.set PDE_PRESENT_WRITABLE_HUGE, 0x83
.set CR4_PSE, 0x10
.set CR0_PG, 0x80000000
.set PD_KERNEL_OFFSET, (KERNEL_BASE >> PDX_SHIFT) * 4

.section .multiboot2, "a"
.balign 8
mb2_header:
    .long MB2_MAGIC
    .long MB2_ARCH_I386
    .long mb2_header_end - mb2_header
    .long 0x100000000 - (MB2_MAGIC + MB2_ARCH_I386 + (mb2_header_end - mb2_header))
    # end tag
    .balign 8
    .short 0
    .short 0
    .long 8
mb2_header_end:

.section .boot.text, "ax"
.global _start
.code32
_start:
    cli
    cld
    # Keep the magic and the info pointer for kernel_main.
    mov %eax, %esi
    mov %ebx, %edi

    # Fill the boot page directory (it is in .bss, which GRUB zeroed).
    mov $(boot_page_directory - KERNEL_BASE), %edx
    movl $PDE_PRESENT_WRITABLE_HUGE, (%edx)        # PD[0]: identity 0..4 MiB
    xor %ecx, %ecx
1:  mov %ecx, %eax
    shl $PDX_SHIFT, %eax
    or $PDE_PRESENT_WRITABLE_HUGE, %eax
    mov %eax, PD_KERNEL_OFFSET(%edx, %ecx, 4)
    inc %ecx
    cmp $LINEAR_PDES, %ecx
    jb 1b

    # Paging on: 4 MiB pages, CR3 = boot directory, CR0.PG.
    mov %cr4, %eax
    or $CR4_PSE, %eax
    mov %eax, %cr4
    mov %edx, %cr3
    mov %cr0, %eax
    or $CR0_PG, %eax
    mov %eax, %cr0

    # Jump to the higher half (an absolute, linked address).
    lea higher_half, %eax
    jmp *%eax

.section .text
higher_half:
    mov $boot_stack_top, %esp
    xor %ebp, %ebp
    push %edi                   # multiboot2 info (physical)
    push %esi                   # multiboot2 magic
    call kernel_main
2:  cli
    hlt
    jmp 2b

.section .bss.page_aligned, "aw", @nobits
.balign PAGE_SIZE
.global boot_page_directory
boot_page_directory:
    .skip PAGE_SIZE
.global boot_stack_guard
boot_stack_guard:
    .skip PAGE_SIZE
.global boot_stack_bottom
boot_stack_bottom:
    .skip BOOT_STACK_SIZE
.global boot_stack_top
boot_stack_top:
# The double-fault handler's own stack (its TSS points here), with its own
# guard page: an overflow there faults instead of running into the boot stack.
.global double_fault_stack_guard
double_fault_stack_guard:
    .skip PAGE_SIZE
.global double_fault_stack_bottom
double_fault_stack_bottom:
    .skip DOUBLE_FAULT_STACK_SIZE
.global double_fault_stack_top
double_fault_stack_top:
