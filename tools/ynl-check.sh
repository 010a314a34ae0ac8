#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# ynl-check.sh - check that Documentation/netlink/specs/kmqttd.yaml and
# uapi/linux/kmqttd.h agree.
#
# Runs the kernel's ynl-gen-c.py (which also validates the spec against
# the genetlink schema) to generate the uAPI header from the spec, then
# compiles a small program against each header that prints the value of
# every constant it defines (enum members and #defines), and compares the
# two lists: same names, same values.  Comments and layout are ignored.
#
#   tools/ynl-check.sh [-v] [SPEC [HEADER]]
#	-v: also show a diff of the two headers (comments ignored)
#	SPEC, HEADER: check other files than the repo's (for testing)
#
# Exit: 0 consistent, 1 inconsistent, 2 could not run the check.
# The YNL sources come from scripts/ksrc-cache.sh (or $KSRC).

set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
py=/usr/bin/python3		# needs python3-yaml and python3-jsonschema
cc=${CC:-cc}
verbose=0
if [ "${1:-}" = "-v" ]; then
	verbose=1
	shift
fi
spec=$(realpath "${1:-$top/Documentation/netlink/specs/kmqttd.yaml}")
uapi=$(realpath "${2:-$top/uapi/linux/kmqttd.h}")

die() { echo "ynl-check: $*" >&2; exit 2; }

if [ -z "${KSRC:-}" ]; then
	KSRC=$("$top/scripts/ksrc-cache.sh") || die "no kernel sources (set KSRC)"
fi
gen=$KSRC/tools/net/ynl/ynl-gen-c.py
[ -f "$gen" ] || die "$gen not found"
"$py" -c 'import yaml, jsonschema' 2>/dev/null ||
	die "$py lacks yaml/jsonschema (apt install python3-yaml python3-jsonschema)"

proto=$("$py" -c 'import sys, yaml; print(yaml.safe_load(open(sys.argv[1])).get("protocol", "genetlink"))' "$spec")
schema=$KSRC/Documentation/netlink/$proto.yaml
[ -f "$schema" ] || die "$schema not found"

tmp=$(mktemp -d)
trap '[ -n "${YNL_CHECK_KEEP:-}" ] || rm -rf "$tmp"' EXIT

# ynl-gen-c wants the schema at dirname(dirname(spec))/<protocol>.yaml
# and a kernel tree root (a MAINTAINERS file) above the spec.
mkdir -p "$tmp/tree/specs" "$tmp/gen/linux" "$tmp/uapi/linux"
touch "$tmp/tree/MAINTAINERS"
cp "$schema" "$tmp/tree/"
cp "$spec" "$tmp/tree/specs/kmqttd.yaml"
cp "$uapi" "$tmp/uapi/linux/kmqttd.h"

(cd "$KSRC/tools/net/ynl" &&
 "$py" ynl-gen-c.py --mode uapi --header \
	--spec "$tmp/tree/specs/kmqttd.yaml" -o "$tmp/gen/linux/kmqttd.h") ||
	{ echo "ynl-check: ynl-gen-c.py failed (invalid spec?)" >&2; exit 1; }

# Write a C program printing "NAME VALUE" for every constant of header $1.
mkprog() {
	"$py" - "$1" <<'PYEOF'
import re, sys
src = open(sys.argv[1]).read()
src = re.sub(r'/\*.*?\*/', ' ', src, flags=re.S)	# drop comments
names = []
for m in re.finditer(r'^\s*#\s*define[ \t]+([A-Za-z_]\w*)[ \t]+\S', src, re.M):
    if not m.group(1).startswith('_UAPI_'):		# include guard
        names.append(m.group(1))
for body in re.findall(r'\benum\b[^{;]*\{(.*?)\}', src, re.S):
    for item in body.split(','):
        m = re.match(r'\s*([A-Za-z_]\w*)', item)
        if m:
            names.append(m.group(1))
print('#include <stdio.h>')
print('#include <linux/kmqttd.h>')
print('static void pi(const char *n, long long v) { printf("%s %lld\\n", n, v); }')
print('static void ps(const char *n, const char *v) { printf("%s \\"%s\\"\\n", n, v); }')
print('#define P(x) _Generic((x), char *: ps, const char *: ps, default: pi)(#x, x)')
print('int main(void) {')
for n in names:
    print(f'\tP({n});')
print('\treturn 0;\n}')
PYEOF
}

values() {	# $1: include dir, $2: output
	mkprog "$1/linux/kmqttd.h" >"$tmp/prog.c"
	"$cc" -std=gnu11 -Wall -Werror -I"$1" -o "$tmp/prog" "$tmp/prog.c" ||
		die "cannot compile a program against $1/linux/kmqttd.h"
	"$tmp/prog" | LC_ALL=C sort >"$2"
}

values "$tmp/gen" "$tmp/gen.txt"
values "$tmp/uapi" "$tmp/uapi.txt"

if [ $verbose = 1 ]; then
	echo "--- diff uapi/linux/kmqttd.h generated (comments/blank lines ignored):"
	strip() { "$py" -c 'import re,sys; s=re.sub(r"/\*.*?\*/","",open(sys.argv[1]).read(),flags=re.S); print("\n".join(l for l in s.splitlines() if l.strip()))' "$1"; }
	diff -u <(strip "$uapi") <(strip "$tmp/gen/linux/kmqttd.h") || true
fi

n=$(wc -l <"$tmp/uapi.txt")
if diff -u --label uapi/linux/kmqttd.h --label "ynl-gen-c($(basename "$spec"))" \
	"$tmp/uapi.txt" "$tmp/gen.txt"; then
	echo "ynl-check: consistent: $n constants have the same values in the spec and uapi/linux/kmqttd.h"
	exit 0
fi
echo "ynl-check: INCONSISTENT: see the diff above (- uapi header, + generated from the spec)" >&2
exit 1
