# Cairn: build, boot and test. `make run` and `make test` are the whole set-up
# on a fresh Debian or Ubuntu machine with rustup: `deps` installs the rest.

SHELL := /bin/bash
TARGET := i686-kernel
PROFILE ?= release
CARGO_KERNEL_FLAGS := --target $(TARGET).json -Zjson-target-spec \
	-Zbuild-std=core,alloc,compiler_builtins -Zbuild-std-features=compiler-builtins-mem
ifeq ($(PROFILE),release)
CARGO_KERNEL_FLAGS += --release
endif
KERNEL := target/$(TARGET)/$(PROFILE)/cairn
# User programs: user/src/bin/NAME.rs, built for user/i686-user.json, put in
# the ISO as GRUB modules (boot/progs/NAME, listed in boot/grub/programs.cfg).
USER_FLAGS := --release --target i686-user.json -Zjson-target-spec \
	-Zbuild-std=core,alloc,compiler_builtins -Zbuild-std-features=compiler-builtins-mem
USER_BIN := user/target/i686-user/release
USER_PROGS := $(sort $(basename $(notdir $(wildcard user/src/bin/*.rs))))
BUILD := build
ISO := $(BUILD)/cairn.iso
QEMU := qemu-system-i386
MEM ?= 128M
QEMU_FLAGS := -m $(MEM) -no-reboot -device isa-debug-exit,iobase=0xf4,iosize=0x04
# Seconds one in-kernel test boot may take: the 1,000 spawn/exit cycles of
# the user-space tests need about 20 s alone, more on a loaded machine.
TIMEOUT ?= 180
APT_PACKAGES := qemu-system-x86 grub-pc-bin grub-common xorriso mtools gdb
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: all deps kernel user iso run run-serial debug test test-host test-property test-miri miri miri-setup test-kernel test-qemu doccheck lint soak bench clean \
	course-tool module-branches grade course-check

all: iso

## deps: install QEMU, GRUB and the ISO tools when any is missing (apt-get).
deps:
	@missing=""; \
	command -v $(QEMU) >/dev/null || missing="$$missing qemu-system-x86"; \
	command -v grub-mkrescue >/dev/null || missing="$$missing grub-common"; \
	[ -d /usr/lib/grub/i386-pc ] || missing="$$missing grub-pc-bin"; \
	command -v xorriso >/dev/null || missing="$$missing xorriso"; \
	command -v mformat >/dev/null || missing="$$missing mtools"; \
	command -v gdb >/dev/null || missing="$$missing gdb"; \
	if [ -n "$$missing" ]; then \
	  if command -v apt-get >/dev/null; then \
	    echo "deps: installing$$missing"; \
	    $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $(APT_PACKAGES) >/dev/null; \
	  else \
	    echo "deps: missing$$missing; this is not a Debian/Ubuntu system: install QEMU (i386), GRUB (i386-pc), xorriso and mtools by hand"; exit 1; \
	  fi; \
	fi
	@command -v cargo >/dev/null || { echo "deps: cargo not found: install rustup (https://rustup.rs) first"; exit 1; }
	@rustup show active-toolchain >/dev/null 2>&1 || rustup toolchain install

## kernel: build the kernel ELF.
kernel:
	cargo build $(CARGO_KERNEL_FLAGS)

# course: module 08
## user: the user library and programs (ring 3), for the ISO.
user:
	cd user && cargo build $(USER_FLAGS)
# course: end

## iso: the bootable GRUB image.
iso: $(ISO)

# GRUB reads the whole kernel file into RAM: the ISO's copy drops the debug
# info (gdb reads $(KERNEL), which keeps it) so the kernel boots at 16 MiB.
# course: module 08
$(ISO): kernel user iso/boot/grub/grub.cfg
# course: else
# $(ISO): kernel iso/boot/grub/grub.cfg
# course: end
	@mkdir -p $(BUILD)/iso/boot/grub $(BUILD)/iso/boot/progs
	@rm -f $(BUILD)/iso/boot/progs/* $(BUILD)/iso/boot/grub/programs.cfg
	@for p in $(USER_PROGS); do \
	  cp $(USER_BIN)/$$p $(BUILD)/iso/boot/progs/$$p; \
	  echo "module2 /boot/progs/$$p $$p" >> $(BUILD)/iso/boot/grub/programs.cfg; \
	done
	objcopy --strip-debug $(KERNEL) $(BUILD)/iso/boot/cairn.elf 2>/dev/null \
	  || llvm-objcopy --strip-debug $(KERNEL) $(BUILD)/iso/boot/cairn.elf 2>/dev/null \
	  || cp $(KERNEL) $(BUILD)/iso/boot/cairn.elf
	cp iso/boot/grub/grub.cfg $(BUILD)/iso/boot/grub/grub.cfg
	grub-mkrescue -o $(ISO) $(BUILD)/iso 2>/dev/null

## run: boot in a window when there is a display, else the curses screen in this terminal.
run: deps iso
	@if [ -n "$$DISPLAY" ]; then \
	  echo "Leave QEMU: the 'halt' command, or Ctrl+Alt+2 then 'quit' (Ctrl+Alt+1 returns to the screen). Serial log: $(BUILD)/serial.log"; \
	else \
	  echo "Leave QEMU: the 'halt' command, or Alt+2, then 'quit' (Alt+1 returns to the screen; Esc and 2 typed one after the other are too slow for QEMU). Serial log: $(BUILD)/serial.log"; \
	fi
	@if [ -n "$$DISPLAY" ]; then \
	  $(QEMU) $(QEMU_FLAGS) -cdrom $(ISO) -serial file:$(BUILD)/serial.log; \
	else \
	  $(QEMU) $(QEMU_FLAGS) -cdrom $(ISO) -display curses -serial file:$(BUILD)/serial.log; \
	fi; true

## run-serial: the serial console only (type here; Ctrl+A X leaves QEMU).
run-serial: deps iso
	@echo "Leave QEMU: the 'halt' command, or Ctrl+A then X (Ctrl+A C: the QEMU monitor)."
	$(QEMU) $(QEMU_FLAGS) -cdrom $(ISO) -display none -serial mon:stdio; true

## debug: QEMU waits for gdb on :1234; `gdb -x debug.gdb` in another terminal.
debug: deps iso
	@echo "In another terminal: gdb -x debug.gdb (then cairn-walk ADDR, cairn-pagedir, cairn-heap, cairn-playground, cairn-frames). Ctrl+A X leaves QEMU."
	$(QEMU) $(QEMU_FLAGS) -cdrom $(ISO) -display none -serial mon:stdio -s -S; true

## test: every tier: lint, host unit/property tests, a short Miri pass, in-kernel
## tests, QEMU-driven tests, the module pages replayed, then the course: every
## module and lab branch cut and checked.
test: deps lint test-host test-property test-miri iso test-kernel test-qemu doccheck course-check
	@echo "make test: all tiers passed"

## lint: formatting and clippy (host and kernel target), warnings are errors;
## every file belongs to a course module and every `course:` marker parses.
lint:
	cargo fmt --check
	cargo clippy --all-targets -- -D warnings
	cargo clippy $(CARGO_KERNEL_FLAGS) -- -D warnings
	# course: module 08
	cd user && cargo fmt --check && cargo clippy $(USER_FLAGS) -- -D warnings
	# course: end
	cargo fmt --check --manifest-path $(COURSE_TOOL)/Cargo.toml
	cargo clippy -q --all-targets --manifest-path $(COURSE_TOOL)/Cargo.toml --target-dir target/course -- -D warnings
	@$(MAKE) -s course-tool && $(COURSE) lint

## test-host: tier 1, pure code on the host, the layer order of src/kernel,
## and the course tool's own tests.
test-host:
	cargo test --lib
	cargo test --test kernel_layers
	cargo test -q --manifest-path $(COURSE_TOOL)/Cargo.toml --target-dir target/course

## test-kernel: tier 2, boot with `test` on the command line and run the
## in-kernel tests: at 128 MiB, 16 MiB and 3 GiB, on every PMM and heap, and
## with heap poisoning on.
KERNEL_TEST_RUNS := "128M" "16M" "3G"
# course: module 04
KERNEL_TEST_RUNS += "128M pmm=bitmap" "128M pmm=freelist"
# course: end
# course: module 07
KERNEL_TEST_RUNS += "128M heap=pool" "128M heap=gaptree" "128M heap=firstfit"
# course: end
# course: module 03
KERNEL_TEST_RUNS += "128M poison"
# course: end
test-kernel: iso
	@for run in $(KERNEL_TEST_RUNS); do \
	  set -- $$run; mem=$$1; shift; \
	  MEM=$$mem ./tests/run-kernel-tests.sh $(ISO) $(TIMEOUT) $$* > $(BUILD)/kernel-tests.out 2>&1; \
	  status=$$?; tail -n 1 $(BUILD)/kernel-tests.out; grep -E "FAILED|passed, [0-9]+ failed" $(BUILD)/kernel-tests.out | tail -n 3; \
	  [ $$status = 0 ] || { cat $(BUILD)/kernel-tests.out; exit 1; }; \
	done

## test-qemu: tier 3, boot the ISO headless and type through the QEMU monitor.
test-qemu: iso
	CAIRN_ISO=$(abspath $(ISO)) CAIRN_KERNEL=$(abspath $(KERNEL)) cargo test --test qemu -- --ignored --test-threads=2

## doccheck: the module pages stay true: every transcript replayed in QEMU,
## every file, type and function cited found in the source, every host
## command shown checked (tests/doccheck/main.rs states the rules).
## `make doccheck PAGE=docs/modules/03-memory.md` replays one page.
doccheck: iso
	@mkdir -p $(BUILD)
	cargo test --lib -q -- --list 2>/dev/null > $(BUILD)/host-tests.txt
	@if [ -n "$(PAGE)" ]; then \
	  CAIRN_ISO=$(abspath $(ISO)) CAIRN_DOCCHECK_PAGE=$(PAGE) cargo test --test doccheck -- --ignored --exact replay_one_page --nocapture; \
	else \
	  CAIRN_ISO=$(abspath $(ISO)) CAIRN_TEST_LIST=$(abspath $(BUILD)/host-tests.txt) \
	    cargo test --test doccheck -- --include-ignored --skip replay_one_page --nocapture; \
	fi

## soak: every property test (everything `soak_ops` sizes) at 1,000,000
## operations each, in release: the whole host suite with the count raised;
## then the console abuse soak: 10,000 random keys (PS/2) and 10,000 random
## serial bytes (the seed is printed; CAIRN_SOAK_SEED=N replays a run).
SOAK_OPS := 1000000
soak: iso
	CAIRN_SOAK_OPS=$(SOAK_OPS) cargo test --release --lib -- --nocapture
	CAIRN_ISO=$(abspath $(ISO)) CAIRN_SOAK_KEYS=10000 CAIRN_SOAK_BYTES=10000 \
	  cargo test --test qemu -- --ignored console::abuse_soak --nocapture

## test-property: the property tests of the buddy heap (fixed and growing:
## free counts per scale against a reference model and `check()` after
## every step), of the slabs over it (plain and poisoned: a model of the
## live blocks, bad frees, resizes) and of the three frame allocators, at 1,000,000 operations
## each, in release (part of `make test`; the tests take 16 s of CPU, about
## 21 s on two cores at load 18, once compiled).
PROPERTY_TESTS := mm::heap::buddy::tests::soak_ mm::heap::slab::tests::soak_ \
	mm::frame::bitmap::tests::bitmap_soak_against_a_model \
	mm::frame::buddy::tests::buddy_soak_against_a_model_merges_back \
	mm::frame::freelist::tests::freelist_soak_against_a_model
test-property:
	CAIRN_SOAK_OPS=$(SOAK_OPS) cargo test --release --lib -- $(PROPERTY_TESTS)

## miri: every host test of the memory code (`mm::`) under Miri, Rust's
## undefined-behaviour detector, on the pinned nightly, none skipped:
## property tests run `soak_ops`'s Miri count (testutil::MIRI_SOAK_OPS) and
## tests over large memories take `testutil::miri_or`'s smaller sizes.
## Strict provenance (-Zmiri-strict-provenance): every pointer `mm` and its
## tests read or write through is derived from the allocation it points
## into (a test arena, simulated memory, a heap's region pointer); a pointer
## made from an integer has no provenance and any access through it is
## reported (the crate also forbids integer-pointer `as` casts: src/lib.rs).
## Tests leak their arenas on purpose (heaps that live for the program),
## hence -Zmiri-ignore-leaks. Nothing in `mm::` or `process::` (the ELF
## loader and user memory, over simulated memory) is excluded; code with
## inline asm (arch, drivers, kernel) is i686-only and never reaches Miri.
MIRIFLAGS_CAIRN := -Zmiri-ignore-leaks -Zmiri-strict-provenance
miri: miri-setup
	MIRIFLAGS="$(MIRIFLAGS_CAIRN)" cargo miri test --lib -- mm:: process::

## test-miri: the short Miri pass of `make test` (47 tests, about two
## minutes on an idle machine), with `make miri`'s flags: the gap-tree heap
## (whose headers a double free read as padding; its AVL tree is reached
## through it) with one of its property tests, the reserve, and one quick
## test of every other module of `mm::` (so each module's unsafe code meets
## Miri on every run; simulated memory through paging's and vm's), and
## the ELF loader's test of a good program. `make miri` runs all of `mm::`
## and `process::`.
MIRI_SHORT := mm::heap::gaptree mm::reserve \
	mm::addr::tests::split_of_a_virtual_address \
	mm::bitmap::tests::ranges_across_words \
	mm::bump::tests::frees_pop_the_stack_once_the_top_is_free \
	mm::family::bit::tests::release_frees_whole_runs_and_refuses_bad_addresses \
	mm::family::bubble::tests::full_and_release_refused \
	mm::family::channel::tests::fills_up_then_refuses_without_overwriting \
	mm::family::pool::tests::bad_releases_change_nothing \
	mm::family::split::tests::allocate_release \
	mm::frame::bitmap::tests::freenos_release_gives_back_the_whole_run \
	mm::frame::buddy::tests::starts_as_one_maximal_block_and_splits_on_allocate \
	mm::frame::freelist::tests::runs_are_unlinked_from_the_middle \
	mm::frame::plan::tests::qemu_128m_plan \
	mm::frame::report::tests::sizes \
	mm::heap::buddy::tests::coalesce_merges_step_by_step \
	mm::heap::firstfit::tests::coalesces_both_sides \
	mm::heap::global::tests::a_static_heap_is_empty_until_init \
	mm::heap::playground::tests::third_9_is_out_of_memory \
	mm::heap::poolheap::tests::arena_regions_and_errors \
	mm::heap::regions::tests::touching_regions_merge_overlap_and_a_full_table_are_refused \
	mm::heap::report::tests::heapmap_after_4_and_9_shows_the_splits \
	mm::paging::unmap_tests::the_table_goes_with_its_last_page_only \
	mm::runs::tests::run_at_names_free_inside_and_wrong_length \
	mm::segment::tests::tss_descriptor \
	mm::vm::tests::recursive_addresses_reach_the_tables_through_the_walk \
	process::tests::a_good_program_is_mapped_text_read_only_data_writable_bss_zeroed
MIRI_SHORT_SKIP := mm::heap::gaptree::tests::gaptree_soak_no_void \
	mm::heap::gaptree::tests::gaptree_soak_poisoned
test-miri: miri-setup
	MIRIFLAGS="$(MIRIFLAGS_CAIRN)" cargo miri test --lib -- $(MIRI_SHORT) $(addprefix --skip ,$(MIRI_SHORT_SKIP))

## miri-setup: the miri component of the pinned toolchain and its sysroot.
miri-setup:
	@rustup component list --installed 2>/dev/null | grep -q '^miri' || rustup component add miri
	@cargo miri setup >/dev/null 2>&1 || cargo miri setup

## bench: allocator benchmarks against the peer crates (results in docs/bench/).
bench:
	cargo bench --bench heap
	cargo bench --bench workload
	cargo bench --bench frames

## The course (docs/teaching.md): one tool, course/tool, cuts and grades.
COURSE_TOOL := course/tool
COURSE := target/course/release/course

course-tool:
	@cargo build -q --release --manifest-path $(COURSE_TOOL)/Cargo.toml --target-dir target/course

## module-branches: cut module-NN-* and lab-NN-* from this commit (MODULE=03: one module).
module-branches: course-tool
	@$(COURSE) branches $(MODULE)

## grade: score this branch's lab (LAB=03 picks one; SUBMISSION=<ref> grades
## a commit; PRISTINE=<ref> names the pristine lab commit). JSON: build/grade.json.
grade: deps course-tool
	@$(COURSE) grade $(if $(LAB),--lab $(LAB)) $(if $(SUBMISSION),--tree $(SUBMISSION)) \
	  $(if $(PRISTINE),--pristine $(PRISTINE))

## course-check: cut every branch in a scratch clone and check them all (CI):
## each module branch runs the stages of its own `make test` (lint, host,
## property, Miri, ISO, in-kernel, QEMU, doccheck; test-property and
## test-miri skipped, saying so, where the branch's memory code is main's;
## docs/teaching.md) and boots, each lab is graded. LIGHT=1: only each
## branch's host tests, ISO, in-kernel tests at 128M and boot (quicker);
## FULL=1 skips nothing; MODULE=03 checks one module. Builds go to the clone's own cache
## (target/course-check/repo/target), never to build/ or the work tree's kernel.
course-check: deps course-tool
	@$(COURSE) check $(if $(FULL),--full,$(if $(LIGHT),--light)) $(MODULE)

clean:
	cargo clean
	# course: module 08
	cd user && cargo clean
	# course: end
	rm -rf $(BUILD)
