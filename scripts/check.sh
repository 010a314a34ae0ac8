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
# The guests run in two lanes at once: 6.1 then 6.12 in one, starting as
# soon as their modules are built (while the sanitizer kernel builds), the
# sanitizer kernel's pass in the other.  Their TAP is reported when both
# are done.  A guest is mostly waiting (timeouts, sleeps, the emulated
# network), so two lanes on two CPUs take little more than the longest.
#
# Every stage's TAP lines are renumbered into one stream; a stage that
# dies without reporting a failure is reported as one.  The last line is
# "N passed, M failed".  Exit status 0 only if nothing failed.
#
# Environment: CHECK_KERNELS (default "6.1 6.12 debug"), CHECK_DEBUG=0
# (leave the sanitizer kernel out: no 12-minute build, no slow pass),
# CHECK_LANES=1 (run the guests one after the other), CHECK_FUZZ_SECONDS,
# CHECK_ONLY (a regex of stage names to run).
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1

# The sanitizer kernel: built once into a cache (scripts/debug-kernel.sh,
# about 12 min from cold on 2 CPUs); its guest pass is the slowest stage.
if [ "${CHECK_DEBUG:-1}" = 1 ]; then
	kernels=${CHECK_KERNELS:-"6.1 6.12 debug"}
else
	kernels=${CHECK_KERNELS:-"6.1 6.12"}
fi
fuzz_seconds=${CHECK_FUZZ_SECONDS:-5}
lanes=${CHECK_LANES:-2}
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
# guest_pass KERNEL...: run the guest selftests of each kernel in turn,
# each into build/check/guest-K.raw (the last line is "__rc=STATUS").
guest_pass() {
	local k
	for k in "$@"; do
		echo "guest-$k" | grep -Eq "$only" || continue
		: > "$logdir/guest-$k.raw"
		# A debug kernel that failed to build is not retried by vm.sh.
		if [ "$k" = debug ] && ! scripts/debug-kernel.sh --check; then
			echo "not ok - no debug kernel (see the build stage; make debug-kernel)" \
				> "$logdir/guest-$k.raw"
			echo "__rc=1" >> "$logdir/guest-$k.raw"
			continue
		fi
		selftests/vm.sh --kernel "$k" -- selftests/guest/run.sh \
			> "$logdir/guest-$k.raw" 2>&1
		echo "__rc=$?" >> "$logdir/guest-$k.raw"
	done
}

# replay FILE: print a finished guest pass, exit with its status
replay() {
	grep -v '^__rc=' "$1"
	return "$(grep -o '^__rc=[0-9]*' "$1" | tail -n 1 | cut -d= -f2)"
}

rm -f "$logdir"/guest-*.raw
stock=""
debug=""
for k in $kernels; do
	if [ "$k" = debug ]; then debug=debug; else stock="$stock $k"; fi
done
lane_pids=""

run_stage build build_tap "kmqttd.ko for 6.1, warning-free" make -s module-6.1
run_stage build build_tap "kmqttd.ko for 6.12, warning-free" make -s module-6.12
run_stage build build_tap "mqctl" make -s tools
if [ "$lanes" -gt 1 ]; then
	# shellcheck disable=SC2086 # a list of kernels
	guest_pass $stock &
	lane_pids="$lane_pids $!"
fi
if [ -n "$debug" ]; then
	run_stage build build_tap "debug kernel (KASAN, lockdep, kmemleak...)" \
		scripts/debug-kernel.sh
	run_stage build build_tap "kmqttd.ko for the debug kernel, warning-free" \
		make -s module-debug
	if [ "$lanes" -gt 1 ]; then
		guest_pass debug &
		lane_pids="$lane_pids $!"
	fi
fi
run_stage build build_tap "checkpatch --strict" scripts/checkpatch.sh
run_stage build build_tap "sparse (C=2), both kernels" scripts/sparse.sh
run_stage build build_tap "netlink spec matches uapi header" tools/ynl-check.sh

if [ "$lanes" -gt 1 ]; then
	# shellcheck disable=SC2086 # a list of pids
	[ -z "$lane_pids" ] || wait $lane_pids
else
	# shellcheck disable=SC2086 # a list of kernels
	guest_pass $stock $debug
fi
for k in $kernels; do
	[ -s "$logdir/guest-$k.raw" ] || continue
	run_stage "guest-$k" replay "$logdir/guest-$k.raw"
done

[ "$skip" -gt 0 ] && echo "# $skip skipped"
echo "1..$n"
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
