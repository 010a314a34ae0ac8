#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Cross-check the MQTT 3.1.1 conformance tests (names "MQTT-...") against
# Mosquitto on this machine: start mosquitto on 127.0.0.1:$KMQ_CROSSCHECK_PORT
# (1884) with a temporary config (persistence false, allow_anonymous true),
# run run.sh 'MQTT-' with KMQ_BROKER=mosquitto (known deviations, listed
# in MOSQUITTO_DEVIATIONS of each test_conf_*.py, are TAP TODO), stop it.
#
#   crosscheck-mosquitto.sh [-v] [REGEX...]   (default REGEX: MQTT-)
#
# The last line is "# conformance vs mosquitto: P passed, F failed,
# T todo (deviations) of N rules"; the exit status is the run's.
set -u
dir=$(cd "$(dirname "$0")" && pwd)
port=${KMQ_CROSSCHECK_PORT:-1884}

command -v mosquitto >/dev/null || { echo "crosscheck: mosquitto not installed" >&2; exit 2; }
if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
	echo "crosscheck: 127.0.0.1:$port is already in use" >&2
	exit 2
fi

tmp=$(mktemp -d /tmp/kmq-crosscheck.XXXXXX) || exit 2
chmod 755 "$tmp"	# mosquitto may drop privileges when started as root
cat > "$tmp/mosquitto.conf" <<EOF
listener $port 127.0.0.1
allow_anonymous true
persistence false
log_dest none
EOF
mosquitto -c "$tmp/mosquitto.conf" > "$tmp/mosquitto.log" 2>&1 &
mpid=$!
cleanup() {
	kill "$mpid" 2>/dev/null && wait "$mpid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for _ in $(seq 100); do
	(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
	kill -0 "$mpid" 2>/dev/null || break
	sleep 0.05
done
if ! kill -0 "$mpid" 2>/dev/null; then
	echo "crosscheck: mosquitto did not start:" >&2
	cat "$tmp/mosquitto.log" >&2
	exit 2
fi

args=("$@")
pats=0
for a in "$@"; do
	case "$a" in -*) ;; *) pats=1 ;; esac
done
[ "$pats" = 1 ] || args+=("MQTT-")

KMQ_PORT=$port KMQ_BROKER=mosquitto "$dir/run.sh" "${args[@]}" | tee "$tmp/tap"
rc=${PIPESTATUS[0]}
sed -n 's/^# conformance: \([0-9]* passed, [0-9]* failed, [0-9]*\) todo \(of .*\)$/# conformance vs mosquitto: \1 todo (deviations) \2/p' "$tmp/tap"
exit "$rc"
