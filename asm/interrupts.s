# Interrupt entry stubs: one per vector 0..47, all ending in isr_common.
#
# Every stub leaves the same frame on the stack, so Rust sees one layout
# (arch::x86::idt::InterruptFrame), lowest address first:
#
#   gs fs es ds | edi esi ebp esp' ebx edx ecx eax | vector error | eip cs eflags
#   pushed here   pushed by pusha                     stub          CPU
#
# Vectors without a CPU error code push a zero so the layout never changes.

.set KERNEL_DATA, {kernel_data}

.macro isr_no_error vector
.global isr_\vector
isr_\vector:
    push $0
    push $\vector
    jmp isr_common
.endm

.macro isr_error vector
.global isr_\vector
isr_\vector:
    push $\vector
    jmp isr_common
.endm

.section .text
isr_no_error 0
isr_no_error 1
isr_no_error 2
isr_no_error 3
isr_no_error 4
isr_no_error 5
isr_no_error 6
isr_no_error 7
isr_error 8
isr_no_error 9
isr_error 10
isr_error 11
isr_error 12
isr_error 13
isr_error 14
isr_no_error 15
isr_no_error 16
isr_error 17
isr_no_error 18
isr_no_error 19
isr_no_error 20
isr_error 21
isr_no_error 22
isr_no_error 23
isr_no_error 24
isr_no_error 25
isr_no_error 26
isr_no_error 27
isr_no_error 28
isr_error 29
isr_error 30
isr_no_error 31
.irp v, 32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47
isr_no_error \v
.endr
# course: module 08
# System calls: `int 0x80` from ring 3 (a DPL-3 gate), the same frame.
isr_no_error 128
# course: end

isr_common:
    pusha
    push %ds
    push %es
    push %fs
    push %gs
    mov $KERNEL_DATA, %ax
    mov %ax, %ds
    mov %ax, %es
    cld
    push %esp                   # &mut InterruptFrame
    call interrupt_dispatch
    add $4, %esp
    pop %gs
    pop %fs
    pop %es
    pop %ds
    popa
    add $8, %esp                # vector and error code
    iret

# The table of stub addresses, for the IDT set-up in Rust.
.section .rodata
.balign 4
.global isr_table
isr_table:
.irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47
    .long isr_\v
.endr
# course: module 08
.global isr_syscall
isr_syscall:
    .long isr_128
# course: end
