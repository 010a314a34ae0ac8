#!/bin/sh
# checkpatch.pl --strict over every kernel-side source file.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cache=$("$top/scripts/ksrc-cache.sh")
cd "$top"
perl "$cache/scripts/checkpatch.pl" --no-tree --strict --terse \
	--ignore FILE_PATH_CHANGES,SPDX_LICENSE_TAG -f \
	kmod/*.c kmod/*.h kmod/core/*.c kmod/core/*.h uapi/linux/*.h |
	grep -v '^total:' | grep . && exit 1
echo "checkpatch: clean"
