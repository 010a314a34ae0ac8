#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# mqctl tests that need no kernel module: command line, exit statuses,
# and reply parsing through the KMQ_MQCTL_REPLAY hook (test/mkreply).
# If kmqttd happens to be loaded, the "not loaded" checks are replaced
# by a sanity check of the real output.
#
# Run from tools/mqctl: make check

# ok/bad always succeed, so "A && ok || bad" is fine here.
# shellcheck disable=SC2015
set -u
cd "$(dirname "$0")/.." || exit 1

MQCTL=./mqctl
MKREPLY=./test/mkreply
SPEC=../../Documentation/netlink/specs/kmqttd.yaml
PY=/usr/bin/python3
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

pass=0
fail=0

ok()  { pass=$((pass + 1)); echo "ok   $*"; }
bad() { fail=$((fail + 1)); echo "FAIL $*"; }

# expect RC STDERR-SUBSTRING -- ARGS...: run mqctl, check status and stderr
expect() {
	local rc=$1 msg=$2 got
	shift 3
	"$MQCTL" "$@" >"$TMP/out" 2>"$TMP/err"
	got=$?
	if [ "$got" != "$rc" ]; then
		bad "mqctl $*: exit $got, want $rc ($(head -1 "$TMP/err"))"
	elif [ -n "$msg" ] && ! grep -qF -- "$msg" "$TMP/err"; then
		bad "mqctl $*: stderr lacks '$msg': $(cat "$TMP/err")"
	else
		ok "mqctl $* -> $rc"
	fi
}

replay() {
	"$MKREPLY" "${@:2}" >"$TMP/$1" || { bad "mkreply ${*:2}"; return; }
}

# --- command line -----------------------------------------------------
expect 0 "" -- --help
expect 0 "" -- help
expect 0 "" -- help stats
expect 0 "" -- help help
expect 0 "" -- stats --help
expect 0 "" -- --version
grep -qx "mqctl [0-9.]*" "$TMP/out" && ok "version format" || bad "version: $(cat "$TMP/out")"
expect 2 "Usage:" --
expect 2 "unknown command 'bogus'" -- bogus
expect 2 "unknown option '-x'" -- -x stats
expect 2 "unknown option '--nope'" -- --nope stats
expect 2 "stats: unknown option '-x'" -- stats -x
expect 2 "stats: unexpected argument 'now'" -- stats now
expect 2 "takes no argument" -- stats --json=yes
expect 2 "unknown command 'bogus'" -- help bogus
expect 2 "unexpected argument" -- help stats more

# --- real kernel: module absent here (or present in a test guest) -----
"$MQCTL" stats >/dev/null 2>&1
if [ $? -eq 3 ]; then
	for args in "stats" "-j stats" "stats -j" "stats --json" "--json stats -a"; do
		# shellcheck disable=SC2086
		expect 3 "mqctl: kmqttd is not loaded (try: modprobe kmqttd)" -- $args
		[ -s "$TMP/out" ] && bad "mqctl $args: stdout not empty"
	done
else
	expect 0 "" -- stats
	expect 0 "" -- -j stats
	if [ -x "$PY" ] && "$PY" -c 'import json,sys; d=json.load(sys.stdin); assert isinstance(d["live"]["conns"], int) and len(d["refusals"]) > 0' <"$TMP/out"; then
		ok "real JSON parses"
	else
		bad "real JSON: $(cat "$TMP/out")"
	fi
fi

# --- replayed replies -------------------------------------------------
export KMQ_MQCTL_REPLAY="$TMP/stats"
replay stats stats
WANT='{"conns_current":3,"conns_total":10,"conns_max":5,"msgs_in":100,"msgs_out":200,"bytes_in":4096,"bytes_out":18446744073709551615,"pkts_in":150,"pkts_out":250,"msgs_dropped":2,"subs_current":7,"uptime":93784,"live":{"conns":11,"sessions":12,"msgs":13,"subs":14,"nodes":15},"refusals":{"bad_type":1,"bad_flags":0,"bad_length":0,"too_large":0,"bad_utf8":0,"bad_protocol":0,"bad_level":0,"bad_connect":0,"bad_client_id":0,"bad_topic":0,"bad_filter":0,"bad_qos":0,"bad_packet_id":0,"empty_payload":0,"not_connected":0,"second_connect":0,"unexpected":0,"keepalive":4,"max_connections":0,"nomem":0,"max_subs":0,"queue_full":0,"slow_reader":23}}'
for args in "-j stats" "stats -j" "stats --json" "--json stats"; do
	# shellcheck disable=SC2086
	expect 0 "" -- $args
	[ "$(cat "$TMP/out")" = "$WANT" ] && ok "JSON ($args)" || bad "JSON ($args): $(cat "$TMP/out")"
done
cp "$TMP/out" "$TMP/stats.json"

expect 0 "" -- stats
for re in '^connections$' '^  current +3$' '^  out +18446744073709551615$' \
	  '^  bad_type +1$' '^  keepalive +4$' '^  slow_reader +23$' \
	  '^  nodes +15$' '^  seconds +93784$' '^  elapsed +1d 02:03:04$'; do
	grep -qE "$re" "$TMP/out" && ok "text has /$re/" || bad "text lacks /$re/"
done
grep -qE '^  (bad_flags|nomem) ' "$TMP/out" && bad "text lists zero refusals" || ok "text hides zero refusals"
expect 0 "" -- stats -a
[ "$(sed -n '/^refusals/,/^live/p' "$TMP/out" | grep -c '^  ')" = 23 ] &&
	ok "stats -a lists all 23 refusals" || bad "stats -a: $(cat "$TMP/out")"

replay stats empty
expect 0 "" -- -j stats
grep -q '"conns_current":0,' "$TMP/out" && grep -q '"slow_reader":0}}' "$TMP/out" &&
	ok "empty reply: zeros" || bad "empty reply: $(cat "$TMP/out")"
expect 0 "" -- stats
grep -qx '  none' "$TMP/out" && ok "empty reply: no refusals" || bad "empty text: $(cat "$TMP/out")"

replay stats error 1 "needs admin"
expect 4 "mqctl: permission denied: this needs CAP_NET_ADMIN (run as root)" -- -j stats
grep -qF "kernel: needs admin" "$TMP/err" && ok "EPERM extack" || bad "EPERM extack: $(cat "$TMP/err")"
replay stats error 22 "Unknown attribute type"
expect 1 "mqctl: stats: Invalid argument" -- stats
grep -qF "mqctl: kernel: Unknown attribute type" "$TMP/err" && ok "EINVAL extack" || bad "EINVAL extack: $(cat "$TMP/err")"
replay stats error 95
expect 1 "Operation not supported" -- stats
replay stats malformed
expect 1 "malformed reply" -- -j stats
[ -s "$TMP/out" ] && bad "malformed: printed output" || ok "malformed: no output"
export KMQ_MQCTL_REPLAY="$TMP/missing"
expect 1 "No such file" -- stats
unset KMQ_MQCTL_REPLAY

# --- JSON keys match the YAML spec -----------------------------------
if [ -x "$PY" ] && "$PY" -c 'import yaml' 2>/dev/null && [ -f "$SPEC" ]; then
	if "$PY" - "$SPEC" "$TMP/stats.json" <<'PYEOF'
import json, sys, yaml
spec = yaml.safe_load(open(sys.argv[1]))
out = json.load(open(sys.argv[2]))
sets = {s["name"]: s for s in spec["attribute-sets"]}
want_ref = [a["name"].replace("-", "_") for a in sets["refusals"]["attributes"]
            if a["type"] != "pad"]
assert list(out["refusals"]) == want_ref, (list(out["refusals"]), want_ref)
top, live = set(), set()
for a in sets["stats"]["attributes"]:
    n = a["name"].replace("-", "_")
    if a["type"] == "pad" or n == "refusals":
        continue
    (live.add(n[5:]) if n.startswith("live_") else top.add(n))
got_top = set(k for k in out if k not in ("live", "refusals"))
assert got_top == top, (got_top ^ top)
assert set(out["live"]) == live, (set(out["live"]) ^ live)
PYEOF
	then ok "JSON keys match the YAML spec"; else bad "JSON keys differ from the YAML spec"; fi
else
	echo "skip JSON keys vs YAML spec (no $PY with yaml)"
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
