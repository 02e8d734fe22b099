# Cairn's gdb commands, loaded by debug.gdb (`source gdb/cairn.py`).
#
#   cairn-walk ADDR    the two-level walk of a virtual address in the current
#                      CR3, entry by entry with flags, as `translate` prints it
#   cairn-pagedir      the present PDEs and their page tables
#   cairn-playground   the hotkeys' buddy heap: free blocks per scale, as `p`
#   cairn-heap         the kernel heap (buddy design): free blocks per scale
#   cairn-frames       the buddy frame allocator: free blocks per order
#                      (as `buddyinfo`) and its free frame count
#
# Everything is read from memory through the kernel's symbols and the
# page tables; nothing in the kernel runs. Physical memory below 768 MiB is
# read through the kernel's linear space (virtual = physical + 0xC0000000),
# the rest through QEMU's monitor (`xp`).

import re
import struct

import gdb

LINEAR_BASE = 0xC0000000
LINEAR_LIMIT = 768 << 20
NIL = 0xFFFFFFFF
FLAG_LETTERS = "PWUTCADSG"


def read_virt_u32(addr):
    mem = gdb.selected_inferior().read_memory(addr, 4)
    return struct.unpack("<I", bytes(mem))[0]


def read_phys_u32(pa):
    if pa + 4 <= LINEAR_LIMIT:
        return read_virt_u32(LINEAR_BASE + pa)
    out = gdb.execute("monitor xp /1wx %#x" % pa, to_string=True)
    return int(out.split(":")[1].split()[0], 16)


def cr3():
    try:
        return int(gdb.parse_and_eval("$cr3")) & 0xFFFFF000
    except gdb.error:
        out = gdb.execute("monitor info registers", to_string=True)
        return int(re.search(r"CR3=([0-9a-fA-F]+)", out).group(1), 16) & 0xFFFFF000


def letters(raw):
    s = "".join(c if raw & (1 << i) else "-" for i, c in enumerate(FLAG_LETTERS))
    for bit, name in ((9, " own"), (10, " pin"), (11, " avl2")):
        if raw & (1 << bit):
            s += name
    return s


def phys(a):
    return "P%#010x" % a


def virt(a):
    return "V%#010x" % a


def walk_lines(va):
    """The walk of `va`, line by line, in the words of `translate`."""
    pdx, ptx, off = va >> 22, (va >> 12) & 0x3FF, va & 0xFFF
    directory = cr3()
    lines = [
        "translate %s: PDX %#05x (%d) | PTX %#05x (%d) | offset %#05x"
        % (virt(va), pdx, pdx, ptx, ptx, off),
        "  CR3  directory at %s" % phys(directory),
    ]
    pde = read_phys_u32(directory + 4 * pdx)
    head = "  PDE  PD[%d] = %#010x [%s]" % (pdx, pde, letters(pde))
    if not pde & 1:
        return lines + [head + " not present: the walk stops here"]
    if pde & 0x80:
        if pde & 0x003FE000:
            return lines + [head + " 4 MiB page with reserved bits set: a page fault (RSVD)"]
        base = pde & 0xFFC00000
        return lines + [
            head + " -> 4 MiB page at %s" % phys(base),
            "  =>   physical %s (4 MiB page %s + offset %#08x)"
            % (phys(base + (va & 0x3FFFFF)), phys(base), va & 0x3FFFFF),
        ]
    table = pde & 0xFFFFF000
    lines.append(head + " -> page table at %s" % phys(table))
    pte = read_phys_u32(table + 4 * ptx)
    line = "  PTE  PT[%d] = %#010x [%s]" % (ptx, pte, letters(pte))
    if not pte & 1:
        return lines + [line + " not present: the walk stops here"]
    frame = pte & 0xFFFFF000
    both = 0x6  # W and U count only when the PDE has them too
    effective = (pte & ~both) | (pte & pde & both)
    return lines + [
        line + " -> frame %s" % phys(frame),
        "  =>   physical %s (frame %s + offset %#05x) [%s]"
        % (phys(frame + off), phys(frame), off, letters(effective & 0x1FF)),
    ]


class CairnWalk(gdb.Command):
    """cairn-walk ADDR: walk the page tables for ADDR in the current CR3, as `translate` does."""

    def __init__(self):
        super().__init__("cairn-walk", gdb.COMMAND_DATA)

    def invoke(self, arg, from_tty):
        if not arg.strip():
            raise gdb.GdbError("cairn-walk ADDR: which address?")
        va = int(gdb.parse_and_eval(arg)) & 0xFFFFFFFF
        for line in walk_lines(va):
            print(line)


class CairnPagedir(gdb.Command):
    """cairn-pagedir: the present PDEs of the current directory and their page tables."""

    def __init__(self):
        super().__init__("cairn-pagedir", gdb.COMMAND_DATA)

    def invoke(self, arg, from_tty):
        directory = cr3()
        print("page directory at %s: present entries" % phys(directory))
        small = large = empty = 0
        for pdx in range(1024):
            pde = read_phys_u32(directory + 4 * pdx)
            if not pde & 1:
                continue
            start = virt(pdx << 22)
            if pde & 0x80:
                large += 1
                print("  PD[%4d] %s = %#010x [%s] -> 4 MiB page at %s"
                      % (pdx, start, pde, letters(pde), phys(pde & 0xFFC00000)))
                continue
            table = pde & 0xFFFFF000
            if pdx == 1023 and table == directory:
                print("  PD[%4d] %s = %#010x [%s] -> the directory itself (recursive slot)"
                      % (pdx, start, pde, letters(pde)))
                continue
            present = [read_phys_u32(table + 4 * i) for i in range(1024)]
            n = sum(1 for e in present if e & 1)
            small += n
            if n == 0:
                empty += 1
                continue
            print("  PD[%4d] %s = %#010x [%s] -> page table at %s: %d pages"
                  % (pdx, start, pde, letters(pde), phys(table), n))
        if empty:
            print("  (and %d present page tables with no page mapped yet)" % empty)
        print("%d pages of 4 KiB, %d pages of 4 MiB" % (small, large))


def buddy_of(expr):
    """(origin, heads, min_scale, max_scale) of the first BuddyHeap inside `expr`."""
    text = gdb.execute("output/x %s" % expr, to_string=True)
    m = re.search(r"BuddyHeap \{origin: (0x[0-9a-f]+), heads: \[(.*?)\], nonempty: (0x[0-9a-f]+), "
                  r"min_scale: (0x[0-9a-f]+), max_scale: (0x[0-9a-f]+)", text)
    if not m:
        return None
    heads = []
    for item in m.group(2).split(", "):
        rep = re.match(r"(0x[0-9a-f]+) <repeats (\d+) times>", item)
        if rep:
            heads += [int(rep.group(1), 16)] * int(rep.group(2))
        else:
            heads.append(int(item, 16))
    return int(m.group(1), 16), heads, int(m.group(4), 16), int(m.group(5), 16)


def free_counts(origin, heads, lo, hi):
    """Free blocks per scale, walking each list through the 9-byte headers."""
    counts = {}
    for scale in range(lo, hi + 1):
        n, off = 0, heads[scale]
        while off != NIL and n < 1 << 20:
            n += 1
            off = read_virt_u32(origin + off)
        counts[scale] = n
    return counts


class CairnPlayground(gdb.Command):
    """cairn-playground: the hotkeys' buddy heap, free blocks per scale (as the `p` hotkey)."""

    def __init__(self):
        super().__init__("cairn-playground", gdb.COMMAND_DATA)

    def invoke(self, arg, from_tty):
        heap = buddy_of("cairn::kernel::playground::PLAYGROUND")
        if heap is None:
            raise gdb.GdbError("the playground is not built yet (it is made at boot)")
        origin, heads, lo, hi = heap
        print("free_block counts:")
        for scale, n in free_counts(origin, heads, lo, hi).items():
            print("%d free blocks of scale %X" % (n, scale))


class CairnHeap(gdb.Command):
    """cairn-heap: the kernel heap's free blocks per scale (the buddy design, heap=buddy)."""

    def __init__(self):
        super().__init__("cairn-heap", gdb.COMMAND_DATA)

    def invoke(self, arg, from_tty):
        heap = buddy_of("cairn::kernel::heap::KERNEL_HEAP")
        if heap is None:
            raise gdb.GdbError("the kernel heap is not a buddy heap (or not made yet): "
                               "cairn-heap reads the buddy design (heap=buddy, the default)")
        origin, heads, lo, hi = heap
        print("kernel heap (buddy), origin %#010x" % origin)
        print("scale        bytes  free blocks    free bytes")
        total = 0
        for scale, n in free_counts(origin, heads, lo, hi).items():
            if n:
                print("%5X %12d %12d %13d" % (scale, 1 << scale, n, n << scale))
                total += n << scale
        print("free: %d bytes" % total)


ORDERS = 11


def buddy_frames():
    """(counts per order, free frames) of the buddy frame allocator inside MEMORY.

    gdb does not decode the enum around it reliably, so the allocator is
    found by its own invariant: its `free` field equals the sum of its
    per-order counts times 2^order. Offsets within the allocator come from
    the debug info."""
    ty = gdb.lookup_type("cairn::mm::frame::buddy::BuddyFrameAllocator")
    fields = {f.name: f.bitpos // 8 for f in ty.fields()}
    memory = gdb.parse_and_eval("&cairn::kernel::memory::state::MEMORY")
    size = memory.dereference().type.sizeof
    raw = bytes(gdb.selected_inferior().read_memory(int(memory), size))
    words = lambda off, n: struct.unpack_from("<%dI" % n, raw, off)
    for base in range(0, size - ty.sizeof + 1, 4):
        counts = words(base + fields["counts"], ORDERS)
        (free,) = words(base + fields["free"], 1)
        (span,) = words(base + fields["span"], 1)
        if 0 < free <= span and free == sum(c << o for o, c in enumerate(counts)):
            return counts, free
    return None


class CairnFrames(gdb.Command):
    """cairn-frames: the buddy frame allocator's free blocks per order and free frames."""

    def __init__(self):
        super().__init__("cairn-frames", gdb.COMMAND_DATA)

    def invoke(self, arg, from_tty):
        found = buddy_frames()
        if found is None:
            raise gdb.GdbError("no buddy frame allocator found: cairn-frames reads pmm=buddy "
                               "(the default); `frames` in the kernel shows the others")
        counts, free = found
        print("Node 0, zone   Normal" + "".join("%5d" % c for c in counts))
        print("free %d frames (%.1f MiB)" % (free, free * 4096 / (1 << 20)))


CairnWalk()
CairnPagedir()
CairnPlayground()
CairnHeap()
CairnFrames()
