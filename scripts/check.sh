#!/bin/bash
# make check: the whole test suite, as one TAP stream.
#
#   stage 1  user-space unit tests of the protocol core (ASan + UBSan)
#   stage 2  libFuzzer targets, briefly (CHECK_FUZZ_SECONDS, default 5)
#   stage 3  kmqttd.ko for Debian 6.1 and 6.12, warning-free; mqctl;
#            checkpatch --strict; sparse
#   stage 4  the selftests inside a QEMU guest of each kernel, the
#            sanitizer kernel (make debug-kernel) included
#
# Every stage's TAP lines are renumbered into one stream; a stage that
# dies without reporting a failure is reported as one.  The last line is
# "N passed, M failed".  Exit status 0 only if nothing failed.
#
# Environment: CHECK_KERNELS (default "6.1 6.12"; "6.1 6.12 debug" with
# CHECK_DEBUG=1), CHECK_DEBUG=1 (add the sanitizer kernel: build and guest
# pass; off by default until its last two timing failures are fixed),
# CHECK_FUZZ_SECONDS, CHECK_ONLY (a regex of stage names to run).
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1

# The sanitizer kernel: built once into a cache (scripts/debug-kernel.sh,
# about 12 min from cold on 2 CPUs); its guest pass is the slowest stage.
if [ "${CHECK_DEBUG:-0}" = 1 ]; then
	kernels=${CHECK_KERNELS:-"6.1 6.12 debug"}
else
	kernels=${CHECK_KERNELS:-"6.1 6.12"}
fi
fuzz_seconds=${CHECK_FUZZ_SECONDS:-5}
only=${CHECK_ONLY:-.}
pass=0
fail=0
skip=0
n=0
logdir=$top/build/check
mkdir -p "$logdir"

report() { # status name [directive]
	n=$((n + 1))
	if [ "$1" = ok ]; then
		case "${3:-}" in
		*SKIP*|*skip*) skip=$((skip + 1)) ;;
		*) pass=$((pass + 1)) ;;
		esac
		echo "ok $n - $2${3:+ $3}"
	else
		fail=$((fail + 1))
		echo "not ok $n - $2"
	fi
}

# run_stage NAME CMD...: run CMD, re-emit its TAP lines prefixed by NAME.
run_stage() {
	local name=$1 line status desc dir fails_before=$fail log
	shift
	echo "$name" | grep -Eq "$only" || return 0
	log=$logdir/$(echo "$name" | tr -c 'a-zA-Z0-9.\n' '_').log
	echo "# --- $name: $*"
	: > "$log"
	while IFS= read -r line; do
		echo "$line" >> "$log"
		case "$line" in
		"ok "*|"not ok "*)
			status=ok
			case "$line" in "not ok "*) status="not ok" ;; esac
			desc=${line#"$status "}
			desc=$(echo "$desc" | sed -E 's/^[0-9]* *(- *)?//')
			dir=""
			case "$desc" in *"# "*) dir="# ${desc#*# }"; desc=${desc%% # *} ;; esac
			report "$status" "$name: $desc" "$dir"
			;;
		*) echo "# $line" ;;
		esac
	done < <("$@" 2>&1; echo "__rc=$?")
	status=$(grep -o '__rc=[0-9]*' "$log" | tail -n 1 | cut -d= -f2)
	if [ "${status:-1}" != 0 ] && [ "$fail" = "$fails_before" ]; then
		report "not ok" "$name: exited with status ${status:-?} (log: $log)"
	fi
	return 0
}

echo "TAP version 13"

scripts/deps.sh >/dev/null || { echo "Bail out! make deps failed"; exit 1; }

run_stage core make -s -C selftests/core check
run_stage fuzz make -s -C selftests/fuzz run FUZZ_SECONDS="$fuzz_seconds"

build_tap() { # name cmd...: one TAP line for a build step
	local name=$1
	shift
	if "$@" > "$logdir/$name.out" 2>&1; then
		echo "ok - $name"
	else
		cat "$logdir/$name.out"
		echo "not ok - $name"
	fi
}
run_stage build build_tap "kmqttd.ko for 6.1, warning-free" make -s module-6.1
run_stage build build_tap "kmqttd.ko for 6.12, warning-free" make -s module-6.12
case " $kernels " in
*" debug "*)
	run_stage build build_tap "debug kernel (KASAN, lockdep, kmemleak...)" \
		scripts/debug-kernel.sh
	run_stage build build_tap "kmqttd.ko for the debug kernel, warning-free" \
		make -s module-debug
	;;
esac
run_stage build build_tap "mqctl" make -s tools
run_stage build build_tap "checkpatch --strict" scripts/checkpatch.sh
run_stage build build_tap "sparse (C=2), both kernels" scripts/sparse.sh
run_stage build build_tap "netlink spec matches uapi header" tools/ynl-check.sh

no_debug_kernel() {
	echo "not ok - no debug kernel (see the build stage; make debug-kernel)"
}
for k in $kernels; do
	# A debug kernel that failed to build above is not retried by vm.sh.
	if [ "$k" = debug ] && echo build | grep -Eq "$only" &&
		! scripts/debug-kernel.sh --check; then
		run_stage "guest-$k" no_debug_kernel
		continue
	fi
	run_stage "guest-$k" selftests/vm.sh --kernel "$k" -- selftests/guest/run.sh
done

[ "$skip" -gt 0 ] && echo "# $skip skipped"
echo "1..$n"
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
