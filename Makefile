# SPDX-License-Identifier: GPL-2.0
#
# kmqttd top-level Makefile.
#
#   make              build kmqttd.ko against $(KDIR) and tools/mqctl
#   make deps         install the Debian packages the project needs
#   make run          boot a QEMU guest running kmqttd, port 1883 forwarded
#   make check        unit tests, module builds for 6.1 and 6.12, selftests
#                     in a guest of each kernel
#   make module-6.1   build/6.1/kmqttd.ko (also module-6.12)
#   make debug-kernel the sanitizer kernel, built once into a cache
#                     (scripts/debug-kernel.sh); module-debug builds
#                     build/debug/kmqttd.ko against it
#   make checkpatch   checkpatch.pl --strict on the kernel sources
#   make sparse       sparse (C=1) on both kernels
#   make fuzz         run the libFuzzer targets for FUZZ_SECONDS each
#   make bench        kmqttd vs Mosquitto benchmark in one guest
#                     (KERNEL=6.12, QUICK=1: ~2 s per run, LOSSY=1: add
#                     the lossy-link part); selftests/bench/README

TOP := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))

# Debian's header packages, newest of each series.
KDIR_6.1 ?= $(lastword $(shell ls -dv /usr/src/linux-headers-6.1.*-amd64 2>/dev/null))
KDIR_6.12 ?= $(lastword $(shell ls -dv /usr/src/linux-headers-6.12.*-amd64 2>/dev/null))
# The sanitizer kernel's build tree (scripts/debug-kernel.sh).
KDIR_debug ?= $(shell $(TOP)/scripts/debug-kernel.sh --print-kdir)
KDIR ?= $(if $(wildcard /lib/modules/$(shell uname -r)/build/Makefile),/lib/modules/$(shell uname -r)/build,$(KDIR_6.1))

KSRC_FILES := Kbuild $(wildcard kmod/*.[ch] kmod/core/*.[ch] uapi/linux/*.h)
FUZZ_SECONDS ?= 10

.PHONY: all module tools deps run check unit module-6.1 module-6.12 \
	debug-kernel module-debug checkpatch sparse fuzz bench clean

all: module tools

module:
	$(MAKE) -C $(KDIR) M=$(TOP) W=1 modules

tools:
	$(MAKE) -C tools/mqctl
	$(MAKE) -C tools/mqbench

deps:
	@$(TOP)/scripts/deps.sh

# Out-of-tree builds for each kernel in their own directory, so both
# can exist side by side.  Any compiler warning fails the build.
module-6.1 module-6.12 module-debug: module-%:
	@test -n "$(KDIR_$*)" || { echo "no linux-headers for $* (make deps)"; exit 1; }
	@mkdir -p build/$*
	@cp -a --parents $(KSRC_FILES) build/$*/
	@$(MAKE) -s -C $(KDIR_$*) M=$(TOP)/build/$* W=1 modules 2>&1 | \
		tee build/$*/build.log | grep -v 'Skipping BTF generation' || true
	@! grep -q 'warning:\|error:' build/$*/build.log
	@test -f build/$*/kmqttd.ko

# Built once into its cache, then reused (a no-op while up to date).
debug-kernel:
	@$(TOP)/scripts/debug-kernel.sh

module-debug: debug-kernel

run: module-6.1 tools
	@$(TOP)/selftests/run-broker.sh $(if $(KERNEL),--kernel $(KERNEL)) $(if $(PORT),--port $(PORT))

check:
	@$(TOP)/scripts/check.sh

unit:
	$(MAKE) -C selftests/core check

checkpatch:
	@$(TOP)/scripts/checkpatch.sh

sparse:
	@$(TOP)/scripts/sparse.sh

fuzz:
	$(MAKE) -C selftests/fuzz run FUZZ_SECONDS=$(FUZZ_SECONDS)

bench:
	@$(TOP)/selftests/bench/run.sh $(if $(KERNEL),--kernel $(KERNEL)) $(if $(QUICK),--quick) \
		$(if $(LOSSY),--lossy)

clean:
	-$(MAKE) -C $(KDIR) M=$(TOP) clean 2>/dev/null
	-$(MAKE) -C tools/mqctl clean
	-$(MAKE) -C tools/mqbench clean
	-$(MAKE) -C selftests/core clean
	-$(MAKE) -C selftests/fuzz clean
	rm -rf build/6.1 build/6.12 build/debug
