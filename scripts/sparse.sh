#!/bin/sh
# Build the module with sparse (C=2: check every file) for both kernels.
# Any sparse diagnostic fails.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
rc=0
for k in 6.1 6.12; do
	kdir=$(ls -dv /usr/src/linux-headers-$k.*-amd64 2>/dev/null | tail -n 1)
	[ -n "$kdir" ] || { echo "sparse: no headers for $k"; exit 1; }
	d=build/sparse-$k
	rm -rf "$d" && mkdir -p "$d"
	cp -a --parents Kbuild kmod/*.[ch] kmod/core/*.[ch] uapi/linux/*.h "$d"/
	make -s -C "$kdir" M="$top/$d" C=2 modules > "$d/sparse.log" 2>&1 || {
		cat "$d/sparse.log"; rc=1; continue; }
	# sparse reports as file:line:col: warning/error
	if grep -E '^[^ ]+:[0-9]+:[0-9]+: (warning|error)' "$d/sparse.log"; then
		rc=1
	else
		echo "sparse $k: clean"
	fi
done
exit $rc
