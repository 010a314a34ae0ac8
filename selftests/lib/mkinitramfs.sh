#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# mkinitramfs.sh KVER OUTPUT
#
# Build the tiny initramfs used by selftests/vm.sh for kernel release KVER
# (e.g. 6.1.0-56-amd64) into OUTPUT (a .cpio.gz).  The image holds:
#
#   /init                  selftests/lib/guest-init.sh (busybox sh, PID 1)
#   /kmq-runner.sh         selftests/lib/guest-run.sh (copied into the chroot)
#   /bin/busybox + applet symlinks
#   /lib/modules/*.ko      virtio/9p/console/net drivers that are not built in
#   /etc/kmq/modules.base  load order of the drivers needed to boot
#   /etc/kmq/modules.net   load order of the extra drivers for --hostfwd
#
# The image is cached: it is rebuilt only when a "key" (hash of the scripts,
# busybox, the kernel image and its modules.dep/modules.builtin) differs from
# the one recorded next to OUTPUT.  Safe to run concurrently (the result is
# renamed into place atomically).
#
# KMQ_MODDIR and KMQ_KIMAGE replace /lib/modules/KVER and /boot/vmlinuz-KVER
# for a kernel that is not installed (the debug kernel of
# scripts/debug-kernel.sh: every driver built in, so no module in the image).
set -euo pipefail

LIB=$(cd "$(dirname "$0")" && pwd)
KVER=${1:?usage: mkinitramfs.sh KVER OUTPUT}
OUT=${2:?usage: mkinitramfs.sh KVER OUTPUT}
MODDIR=${KMQ_MODDIR:-/lib/modules/$KVER}
KIMAGE=${KMQ_KIMAGE:-/boot/vmlinuz-$KVER}
BUSYBOX=${BUSYBOX:-/bin/busybox}

# Drivers the guest needs.  Anything listed in modules.builtin is skipped,
# dependencies are pulled in from modules.dep, so the same lists work for
# 6.1 (everything modular) and 6.12 (virtio core/pci/console built in).
BASE_MODS="virtio_pci virtio_console 9pnet_virtio 9p"
NET_MODS="virtio_net"

die() { echo "mkinitramfs: $*" >&2; exit 1; }

[ -r "$MODDIR/modules.dep" ] || die "no $MODDIR/modules.dep (kernel $KVER not installed?)"
[ -x "$BUSYBOX" ] || die "no $BUSYBOX (install busybox-static)"
if command -v file >/dev/null; then
	file -L "$BUSYBOX" | grep -q 'statically linked' ||
		die "$BUSYBOX is not statically linked (install busybox-static)"
fi

# ---------------------------------------------------------------- cache key
key=$(
	{
		echo "kver=$KVER"
		cat "$LIB/mkinitramfs.sh" "$LIB/guest-init.sh" "$LIB/guest-run.sh"
		stat -L -c '%n %s %Y' "$BUSYBOX" "$KIMAGE" \
			"$MODDIR/modules.dep" "$MODDIR/modules.builtin"
	} | sha256sum | cut -d' ' -f1
)
if [ -s "$OUT" ] && [ "$(cat "$OUT.key" 2>/dev/null)" = "$key" ]; then
	exit 0
fi

# ------------------------------------------------------ module resolution
# modules.dep: "kernel/x/a.ko[.xz]: kernel/y/b.ko kernel/z/c.ko"; the
# dependency list is transitive and ordered so that loading it back to
# front satisfies every symbol.
declare -A seen=()
order=()

modpath() { # NAME -> relative path in modules.dep ("" if built in/absent)
	local n=$1 alt
	alt=${n//_/-}
	awk -F: -v a="$n" -v b="$alt" '{
		f = $1; sub(/.*\//, "", f); sub(/\.ko(\.(xz|zst|gz))?$/, "", f)
		if (f == a || f == b) { print $1; exit }
	}' "$MODDIR/modules.dep"
}

resolve() { # PATH: append PATH and its dependencies to $order, deps first
	local p=$1 deps d i
	[ -n "${seen[$p]:-}" ] && return 0
	seen[$p]=1
	deps=$(awk -F': *' -v p="$p" '$1 == p { print $2; exit }' "$MODDIR/modules.dep")
	# shellcheck disable=SC2206
	local arr=($deps)
	for ((i = ${#arr[@]} - 1; i >= 0; i--)); do
		d=${arr[i]}
		resolve "$d"
	done
	order+=("$p")
}

is_builtin() { # NAME
	grep -Eq "/(${1}|${1//_/-})\.ko\$" "$MODDIR/modules.builtin"
}

resolve_list() { # NAMES... -> sets $order to the new paths needed
	local n p
	order=()
	for n in "$@"; do
		if is_builtin "$n"; then
			continue
		fi
		p=$(modpath "$n")
		[ -n "$p" ] || die "module $n is neither built in nor in $MODDIR/modules.dep"
		resolve "$p"
	done
}

# ------------------------------------------------------------ build tree
tmp=$(mktemp -d "${TMPDIR:-/tmp}/kmq-initramfs.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
root=$tmp/root
mkdir -p "$root"/{bin,sbin,etc/kmq,lib/modules,dev,proc,sys,newroot,tmp}

cp "$BUSYBOX" "$root/bin/busybox"
for a in $("$BUSYBOX" --list); do
	[ "$a" = busybox ] || ln -s busybox "$root/bin/$a"
done

install -m 0755 "$LIB/guest-init.sh" "$root/init"
install -m 0755 "$LIB/guest-run.sh" "$root/kmq-runner.sh"

copy_mods() { # LISTFILE: copy (decompressed) $order into the image
	local p b
	: >"$1"
	for p in "${order[@]}"; do
		b=${p##*/}
		case $b in
		*.ko.xz) xz -dc "$MODDIR/$p" >"$root/lib/modules/${b%.xz}" ;;
		*.ko.zst) zstd -qdc "$MODDIR/$p" >"$root/lib/modules/${b%.zst}" ;;
		*.ko.gz) gzip -dc "$MODDIR/$p" >"$root/lib/modules/${b%.gz}" ;;
		*.ko) cp "$MODDIR/$p" "$root/lib/modules/$b" ;;
		*) die "unexpected module file $p" ;;
		esac
		b=${b%.xz}; b=${b%.zst}; b=${b%.gz}
		echo "$b" >>"$1"
	done
}

# shellcheck disable=SC2086
resolve_list $BASE_MODS
copy_mods "$root/etc/kmq/modules.base"
# seen[] persists, so modules.net only lists what base did not load.
# shellcheck disable=SC2086
resolve_list $NET_MODS
copy_mods "$root/etc/kmq/modules.net"
echo "$KVER" >"$root/etc/kmq/kver"

mkdir -p "$(dirname "$OUT")"
(cd "$root" && find . -print0 | LC_ALL=C sort -z |
	cpio --null -o -H newc -R 0:0 --quiet) | gzip -1 >"$tmp/initramfs.cpio.gz"
mv -f "$tmp/initramfs.cpio.gz" "$OUT.tmp.$$"
echo "$key" >"$OUT.key.tmp.$$"
mv -f "$OUT.tmp.$$" "$OUT"
mv -f "$OUT.key.tmp.$$" "$OUT.key"
