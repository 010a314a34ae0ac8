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
#   make checkpatch   checkpatch.pl --strict on the kernel sources
#   make sparse       sparse (C=1) on both kernels
#   make fuzz         run the libFuzzer targets for FUZZ_SECONDS each

TOP := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))

# Debian's header packages, newest of each series.
KDIR_6.1 ?= $(lastword $(shell ls -dv /usr/src/linux-headers-6.1.*-amd64 2>/dev/null))
KDIR_6.12 ?= $(lastword $(shell ls -dv /usr/src/linux-headers-6.12.*-amd64 2>/dev/null))
KDIR ?= $(if $(wildcard /lib/modules/$(shell uname -r)/build/Makefile),/lib/modules/$(shell uname -r)/build,$(KDIR_6.1))

KSRC_FILES := Kbuild $(wildcard kmod/*.[ch] kmod/core/*.[ch] uapi/linux/*.h)
FUZZ_SECONDS ?= 10

.PHONY: all module tools deps run check unit module-6.1 module-6.12 \
	checkpatch sparse fuzz clean

all: module tools

module:
	$(MAKE) -C $(KDIR) M=$(TOP) W=1 modules

tools:
	$(MAKE) -C tools/mqctl

deps:
	@$(TOP)/scripts/deps.sh

# Out-of-tree builds for each kernel in their own directory, so both
# can exist side by side.  Any compiler warning fails the build.
module-6.1 module-6.12: module-%:
	@test -n "$(KDIR_$*)" || { echo "no linux-headers for $* (make deps)"; exit 1; }
	@mkdir -p build/$*
	@cp -a --parents $(KSRC_FILES) build/$*/
	@$(MAKE) -s -C $(KDIR_$*) M=$(TOP)/build/$* W=1 modules 2>&1 | \
		tee build/$*/build.log | grep -v 'Skipping BTF generation' || true
	@! grep -q 'warning:\|error:' build/$*/build.log
	@test -f build/$*/kmqttd.ko

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

clean:
	-$(MAKE) -C $(KDIR) M=$(TOP) clean 2>/dev/null
	-$(MAKE) -C tools/mqctl clean
	-$(MAKE) -C selftests/core clean
	-$(MAKE) -C selftests/fuzz clean
	rm -rf build/6.1 build/6.12
