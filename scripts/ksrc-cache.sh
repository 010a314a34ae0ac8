#!/bin/sh
# Extract the few files kmqttd uses from Debian's linux-source-6.12 package
# (checkpatch, kselftest headers, YNL, netlink schemas) into a cache
# directory, once.  Prints the cache directory.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cache=${KMQ_KSRC_CACHE:-$top/build/ksrc}
tarball=$(ls /usr/src/linux-source-6.12.tar.xz 2>/dev/null | head -n 1)
if [ -z "$tarball" ]; then
	echo "ksrc-cache: /usr/src/linux-source-6.12.tar.xz missing (make deps)" >&2
	exit 1
fi
stamp="$cache/.stamp"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$(stat -c %Y "$tarball")" ]; then
	echo "$cache"
	exit 0
fi
rm -rf "$cache"
mkdir -p "$cache"
tar -xJf "$tarball" -C "$cache" --strip-components=1 --wildcards \
	'*/scripts/checkpatch.pl' '*/scripts/spelling.txt' \
	'*/scripts/const_structs.checkpatch' \
	'*/tools/testing/selftests/kselftest.h' \
	'*/tools/testing/selftests/kselftest_harness.h' \
	'*/tools/net/ynl/*' \
	'*/Documentation/netlink/genetlink-legacy.yaml' \
	'*/Documentation/netlink/genetlink.yaml' \
	'*/Documentation/netlink/genetlink-c.yaml'
stat -c %Y "$tarball" > "$stamp"
echo "$cache"
