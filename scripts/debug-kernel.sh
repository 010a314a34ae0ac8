#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# debug-kernel.sh [--check | --force | --print-dir | --print-kdir]
#
# Build, once, the sanitizer kernel of the test bed (KASAN, KFENCE, lockdep,
# kmemleak, UBSAN, DEBUG_OBJECTS, ...) from Debian's linux-source-6.12 into
# a cache outside the checkout (make debug-kernel; selftests/vm.sh --kernel
# debug boots it, make module-debug builds kmqttd.ko against it).
#
# Configuration: "make allnoconfig" with selftests/debug-kernel.config as
# KCONFIG_ALLCONFIG, then "make olddefconfig"; every option the fragment
# sets (or unsets) is checked in the final .config.
#
# The cache is reused while a stamp matches: the tarball (path, size,
# mtime), the linux-source-6.12 package version, the compiler, a hash of
# the fragment and RECIPE below.  A new source package rebuilds from
# scratch; a changed fragment reconfigures and rebuilds incrementally.
#
# Cache layout ($KMQ_DEBUG_KERNEL_DIR, default /var/cache/kmqttd/debug-kernel):
#   src/           the extracted source tree
#   obj/           the O= build tree (KDIR of "make module-debug")
#   vmlinux        the kernel, booted through PVH by vm.sh
#   bzImage        the same kernel, compressed (fallback)
#   kernel.release e.g. 6.12.117-kmqdebug
#   modules/       modules.builtin and an empty modules.dep (mkinitramfs)
#   config         the final .config
#   build.log      output of the last build; build.time its duration
#   src.stamp      which source src/ and obj/ hold (kept when a build
#                  is interrupted: the next one goes on incrementally)
#   stamp          written last: the cache is complete iff it matches
#
# Options: --check       exit 0 if the cache is up to date, 1 if not
#          --force       rebuild (incrementally) even if up to date
#          --print-dir   print the cache directory
#          --print-kdir  print the build tree (KDIR for external modules)
# Environment: KMQ_DEBUG_KERNEL_DIR, KMQ_DEBUG_KERNEL_SRC (the tarball),
#   KMQ_DEBUG_KERNEL_JOBS (make -j, default: number of CPUs),
#   KMQ_DEBUG_KERNEL_NICE (default 19).
set -euo pipefail

# Bump when the way the kernel is configured or built changes.
RECIPE=1

top=$(cd "$(dirname "$0")/.." && pwd -P)
dir=${KMQ_DEBUG_KERNEL_DIR:-/var/cache/kmqttd/debug-kernel}
tarball=${KMQ_DEBUG_KERNEL_SRC:-/usr/src/linux-source-6.12.tar.xz}
frag=$top/selftests/debug-kernel.config
jobs=${KMQ_DEBUG_KERNEL_JOBS:-$(nproc)}
nice=${KMQ_DEBUG_KERNEL_NICE:-19}

msg() { echo "debug-kernel: $*" >&2; }
die() { msg "$*"; exit 1; }

mode=build
case ${1:-} in
"") ;;
--check) mode=check ;;
--force) mode=force ;;
--print-dir) echo "$dir"; exit 0 ;;
--print-kdir) echo "$dir/obj"; exit 0 ;;
*) sed -n '/^# debug-kernel.sh /,/^[^#]/s/^# \{0,1\}//p' "$0" | sed '/^#/d' >&2; exit 2 ;;
esac

[ -r "$tarball" ] || die "no $tarball (make deps installs linux-source-6.12)"
[ -r "$frag" ] || die "no $frag"

# The stamp: what the source is, and how it is configured.
src_stamp() {
	echo "tarball=$(stat -L -c '%n %s %Y' "$tarball")"
	echo "package=$(dpkg-query -W -f '${Package} ${Version}' linux-source-6.12 2>/dev/null || echo none)"
	echo "cc=$(gcc --version | head -n 1)"
}
cfg_stamp() {
	echo "fragment=$(sha256sum <"$frag" | cut -d' ' -f1)"
	echo "recipe=$RECIPE"
}
want=$(src_stamp; cfg_stamp)
up_to_date() {
	[ -s "$dir/stamp" ] && [ "$(cat "$dir/stamp")" = "$want" ] &&
		[ -s "$dir/vmlinux" ] && [ -s "$dir/kernel.release" ] &&
		[ -s "$dir/obj/Module.symvers" ]
}

if [ $mode = check ]; then
	up_to_date
	exit
fi
[ $mode = force ] || ! up_to_date || exit 0

mkdir -p "$dir" 2>/dev/null || true
[ -w "$dir" ] || die "cannot write $dir (run as root, or set KMQ_DEBUG_KERNEL_DIR)"
# One build at a time; a second caller waits and then finds it done.
exec 9>"$dir/.lock"
if ! flock -n 9; then
	msg "another build holds $dir/.lock, waiting"
	flock 9
fi
[ $mode = force ] || ! up_to_date || exit 0

t0=$(date +%s)
log=$dir/build.log
: >"$log"
run() { # CMD...: run at low priority, output to the log
	echo "+ $*" >>"$log"
	nice -n "$nice" "$@" >>"$log" 2>&1
}
fail() { tail -n 40 "$log" >&2; die "$* (log: $log)"; }

# ------------------------------------------------------------ source
# src.stamp says which source src/ and obj/ hold; it survives an
# interrupted build (stamp does not), so that only a new source package
# (or compiler) starts from scratch.
old_src=$(cat "$dir/src.stamp" 2>/dev/null ||
	sed -n '1,3p' "$dir/stamp" 2>/dev/null || true)
if [ "$old_src" != "$(src_stamp)" ] || [ ! -f "$dir/src/Makefile" ]; then
	msg "extracting $tarball into $dir/src"
	rm -f "$dir/stamp" "$dir/src.stamp"
	rm -rf "$dir/src" "$dir/src.tmp" "$dir/obj"
	mkdir -p "$dir/src.tmp"
	run tar -xJf "$tarball" -C "$dir/src.tmp" --strip-components=1 ||
		fail "cannot extract $tarball"
	mv "$dir/src.tmp" "$dir/src"
fi
rm -f "$dir/stamp"
src_stamp >"$dir/src.stamp"

# ------------------------------------------------------------ configure
kmake() { run make -C "$dir/src" O="$dir/obj" "$@"; }
mkdir -p "$dir/obj"
msg "configuring (allnoconfig + ${frag#"$top"/})"
kmake KCONFIG_ALLCONFIG="$frag" allnoconfig || fail "allnoconfig failed"
kmake olddefconfig || fail "olddefconfig failed"

missing=()
while IFS= read -r line; do
	case $line in
	CONFIG_*=*)
		grep -qxF "$line" "$dir/obj/.config" || missing+=("$line")
		;;
	"# CONFIG_"*" is not set")
		sym=${line#"# "}
		sym=${sym%% *}
		! grep -q "^$sym=" "$dir/obj/.config" || missing+=("$line")
		;;
	esac
done <"$frag"
[ ${#missing[@]} = 0 ] ||
	die "the final .config does not match (unmet dependencies?):$(printf '\n  %s' "${missing[@]}")"

# ------------------------------------------------------------ build
msg "building with make -j$jobs under nice $nice (from cold: about 18 CPU-minutes; log: $log)"
kmake -j"$jobs" all || fail "kernel build failed"
if [ ! -s "$dir/obj/vmlinux" ] || [ ! -s "$dir/obj/Module.symvers" ]; then
	fail "the build produced no vmlinux/Module.symvers"
fi

# ------------------------------------------------------------ install
krel=$(cat "$dir/obj/include/config/kernel.release")
install -m 0644 "$dir/obj/vmlinux" "$dir/vmlinux.tmp"
mv -f "$dir/vmlinux.tmp" "$dir/vmlinux"
install -m 0644 "$dir/obj/arch/x86/boot/bzImage" "$dir/bzImage"
cp "$dir/obj/.config" "$dir/config"
rm -rf "$dir/modules"
mkdir -p "$dir/modules"
cp "$dir/obj/modules.builtin" "$dir/modules/"
: >"$dir/modules/modules.dep"
echo "$krel" >"$dir/kernel.release"
t1=$(date +%s)
echo "$((t1 - t0))" >"$dir/build.time"
printf '%s\n' "$want" >"$dir/stamp"
msg "$krel built in $(((t1 - t0) / 60)) min $(((t1 - t0) % 60)) s into $dir"
