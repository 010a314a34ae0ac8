#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# run.sh - `make bench`: kmqttd vs Mosquitto in one QEMU guest.
#
# usage: selftests/bench/run.sh [--kernel 6.1|6.12] [--quick] [--only REGEX]
#                               [--threads N] [--lossy [--loss LIST]
#                               [--lossy-rate R]]
#
# Builds tools/mqbench (and tools/mqctl, for kmqttd's drop counters), boots
# one selftests/vm.sh guest with kmqttd loaded and runs bench.py there: each
# workload against kmqttd (1883), Mosquitto (1884, started in the guest) and,
# for a few, the mqbench relay (1885).  Prints the table, writes
# build/bench/results-<kernel>.json and keeps the console output in
# build/bench/results-<kernel>.txt.  --lossy adds the lossy-link part (the
# clients in a network namespace behind a veth pair with tc netem loss of
# 0, 1, 5, 10 and 25 %; QoS 0/1/2 at a fixed rate; see README);
# "--lossy --only '^L'" runs only that part.
#
# Environment: KMQ_BENCH_MAX_QUEUED (10000), KMQ_BENCH_MAX_INFLIGHT (100):
# per-client queue and outbound QoS 1/2 window of both brokers (kmqttd gets
# them as insmod parameters, added to KMQ_MODPARAMS); KMQ_BENCH_NO_RELAY=1;
# KMQ_BENCH_SLUB_DEBUG=1 keeps vm.sh's slub_debug=FZPU (by default the guest
# boots with slub_debug=- : debug allocators distort a benchmark).  VM_MEM,
# VM_SMP, VM_APPEND as for vm.sh.  The guest kernel log is kept in
# build/bench/console-<kernel>.log.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd -P)
kernel=${VM_KERNEL:-6.1}
args=()
while [ $# -gt 0 ]; do
	case $1 in
	--kernel) kernel=${2:?--kernel wants 6.1 or 6.12}; shift 2 ;;
	--kernel=*) kernel=${1#*=}; shift ;;
	-h | --help) sed -n '/^# run.sh - /,/^[^#]/s/^# \{0,1\}//p' "$0" | sed '/^#/d'; exit 0 ;;
	*) args+=("$1"); shift ;;
	esac
done

make -s -C "$top/tools/mqbench" || exit 1
make -s -C "$top/tools/mqctl" >/dev/null 2>&1 ||
	echo "bench: tools/mqctl did not build; no kmqttd drop counters" >&2
mkdir -p "$top/build/bench"
txt=$top/build/bench/results-$kernel.txt
cd "$top" || exit 1
export KMQ_BENCH_MAX_QUEUED=${KMQ_BENCH_MAX_QUEUED:-10000}
export KMQ_BENCH_MAX_INFLIGHT=${KMQ_BENCH_MAX_INFLIGHT:-100}
export KMQ_MODPARAMS="${KMQ_MODPARAMS:+$KMQ_MODPARAMS }max_queued_messages=$KMQ_BENCH_MAX_QUEUED max_inflight_messages=$KMQ_BENCH_MAX_INFLIGHT"
[ "${KMQ_BENCH_SLUB_DEBUG:-0}" = 1 ] || export VM_APPEND="${VM_APPEND:-} slub_debug=-"
export VM_LOG=${VM_LOG:-$top/build/bench/console-$kernel.log}
VM_QUIET=${VM_QUIET:-0} "$top/selftests/vm.sh" --kernel "$kernel" -- \
	/usr/bin/python3 selftests/bench/bench.py \
	--out "build/bench/results-$kernel.json" "${args[@]}" | tee "$txt"
exit "${PIPESTATUS[0]}"
