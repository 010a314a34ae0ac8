#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# extract-vmlinux.sh BZIMAGE OUTPUT
#
# Extract the uncompressed vmlinux ELF from an x86 bzImage, so that QEMU can
# boot it through its PVH entry point.  Under TCG that skips the firmware's
# real-mode kernel setup and the in-guest decompression (xz for Debian's
# 6.1, zstd for 6.12), saving 3-5 s per boot.
#
# The payload is located from the boot protocol header (setup_sects at
# 0x1f1, payload_offset/payload_length at 0x248/0x24c); its last 4 bytes
# hold the uncompressed size, used to check the result.  Cached: nothing is
# done when OUTPUT is newer than BZIMAGE.  Fails (non-zero) if the image
# cannot be extracted; the caller then boots the bzImage itself.
set -eu # no pipefail: "head -c" closes pipes early on purpose

in=${1:?usage: extract-vmlinux.sh BZIMAGE OUTPUT}
out=${2:?usage: extract-vmlinux.sh BZIMAGE OUTPUT}
[ -s "$out" ] && [ "$out" -nt "$in" ] && exit 0

u8() { od -An -tu1 -j "$1" -N1 "$in" | tr -d ' '; }
u32() { od -An -tu4 -j "$1" -N4 "$in" | tr -d ' '; }

[ "$(od -An -c -j $((0x202)) -N4 "$in" | tr -d ' ')" = HdrS ] || exit 1
setup_sects=$(u8 $((0x1f1)))
[ "$setup_sects" != 0 ] || setup_sects=4
start=$(((setup_sects + 1) * 512 + $(u32 $((0x248)))))
len=$(u32 $((0x24c)))

payload() { tail -c +$((start + 1)) "$in" | head -c "$len"; }
magic=$(payload | head -c 4 | od -An -tx1 | tr -d ' \n')
case $magic in
fd377a58) dec="xz -dc" ;;
28b52ffd) dec="zstd -qdc" ;;
1f8b*) dec="gzip -dc" ;;
*) exit 1 ;;
esac
size=$(payload | tail -c 4 | od -An -tu4 | tr -d ' ')

tmp=$out.tmp.$$
trap 'rm -f "$tmp"' EXIT
# The decompressors may complain about the trailing size word: judge the
# result by its size and ELF magic instead of their exit status.
payload | $dec >"$tmp" 2>/dev/null || true
[ "$(stat -c %s "$tmp")" = "$size" ] || exit 1
[ "$(head -c 4 "$tmp" | od -An -tx1 | tr -d ' \n')" = 7f454c46 ] || exit 1
mv -f "$tmp" "$out"
