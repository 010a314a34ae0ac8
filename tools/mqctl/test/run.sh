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
for c in listener client sub retain get set monitor; do
	expect 0 "" -- help $c
	head -2 "$TMP/out" | grep -q "^ *\(Usage:\)\? *mqctl $c" && ok "help $c: usage" || bad "help $c: $(head -2 "$TMP/out")"
	expect 0 "" -- $c --help
done
expect 0 "" -- listener help
expect 0 "" -- client kick -h
"$MQCTL" --help | grep -q "6 address in use" && ok "--help lists exit statuses" || bad "--help lacks exit statuses"
expect 2 "listener: unknown command 'bogus'" -- listener bogus
expect 2 "listener add: missing ADDR:PORT" -- listener add
expect 2 "bad IPv4 address" -- listener add 1.2.3:80
expect 2 "bad IPv4 address" -- listener add localhost:80
expect 2 "bad IPv6 address" -- listener add '[::g]:80'
expect 2 "missing ':PORT'" -- listener add 0.0.0.0
expect 2 "in brackets" -- listener add ::1:1883
expect 2 "missing ']'" -- listener add '[::1:1883'
expect 2 "bad port (want 1-65535)" -- listener add 0.0.0.0:0
expect 2 "bad port (want 1-65535)" -- listener add 0.0.0.0:65536
expect 2 "bad port (want 1-65535)" -- listener add '[::]:x'
expect 2 "missing address" -- listener add :1883
expect 2 "unexpected argument 'x'" -- listener add 0.0.0.0:1 x
expect 2 "missing on|off after 'qos3'" -- listener add 0.0.0.0:1 qos3
expect 2 "qos3 wants on or off, got 'x'" -- listener add 0.0.0.0:1 qos3 x
expect 2 "unexpected argument 'x'" -- listener add 0.0.0.0:1 qos3 on x
expect 2 "missing N after 'max_connections'" -- listener add 0.0.0.0:1 max_connections
expect 2 "max_connections: bad value 'x'" -- listener add 0.0.0.0:1 max_connections x
expect 2 "unexpected argument 'max_connections'" -- listener add 0.0.0.0:1 max_connections 1 max_connections 2
expect 2 "missing ADDR:PORT or 'id ID'" -- listener del
expect 2 "missing ID after 'id'" -- listener del id
expect 2 "bad listener id 'x'" -- listener del id x
expect 2 "bad listener id '-1'" -- listener del id -- -1
expect 2 "unexpected argument" -- listener del id 1 2
expect 2 "unexpected argument" -- listener list x
expect 2 "client: unknown command" -- client bogus
expect 2 "client show: missing CLIENT_ID" -- client show
expect 2 "client kick: missing CLIENT_ID" -- client kick --will
expect 2 "client kick: unknown option '--nope'" -- client kick a --nope
expect 2 "empty CLIENT_ID" -- client kick ""
expect 2 "unexpected argument 'b'" -- client show a b
expect 2 "option '--client' requires an argument" -- sub list --client
expect 2 "unexpected argument 'b'" -- sub list a b
expect 2 "give either a TOPIC or --filter FILTER" -- retain del
expect 2 "give either a TOPIC or --filter FILTER" -- retain del a --filter b
expect 2 "has wildcards: use --filter" -- retain del "a/#"
expect 2 "unexpected argument" -- retain list a b
expect 2 "set: missing NAME VALUE" -- set
expect 2 "unknown setting 'bogus'; the settings are:" -- set bogus 1
grep -q "^  sys_interval$" "$TMP/err" && ok "unknown setting lists the names" || bad "unknown setting: $(cat "$TMP/err")"
expect 2 "missing a value for max_connections" -- set max_connections
expect 2 "max_connections: bad value 'x'" -- set max_connections x
expect 2 "max_connections: bad value '4294967296' (want a number 0-4294967295)" -- set max_connections 4294967296
expect 2 "retain_available: bad value 'maybe' (want yes or no)" -- set retain_available maybe
expect 2 "max_queued given twice" -- set max_queued 1 max-queued=2
expect 2 "unknown setting 'nope'" -- get nope
expect 2 "monitor: bad count '0'" -- monitor -c 0
expect 2 "unexpected argument" -- monitor now

# --- real kernel: module absent here (or present in a test guest) -----
"$MQCTL" stats >/dev/null 2>&1
if [ $? -eq 3 ]; then
	for args in "stats" "-j stats" "stats -j" "stats --json" "--json stats -a" \
		"listener" "listener add 0.0.0.0:8883" "listener del id 1" \
		"-j client list" "client show x" "client kick x --purge" "sub list" \
		"retain list" "retain del t" "get" "set max_queued 5" "monitor"; do
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
WANT='{"conns_current":3,"conns_total":10,"conns_max":5,"msgs_in":100,"msgs_out":200,"bytes_in":4096,"bytes_out":18446744073709551615,"pkts_in":150,"pkts_out":250,"msgs_dropped":2,"publish_holds":18,"subs_current":7,"sessions_current":8,"retained_current":9,"retained_bytes":1234,"mem_msg_bytes":56789,"mem_used":77777,"qos3_requested":0,"qos3_confirmed":0,"qos3_timed_out":0,"qos3_unreachable":0,"qos3_refused":0,"qos3_pending":0,"uptime":93784,"live":{"conns":11,"sessions":12,"msgs":13,"subs":14,"nodes":15,"txitems":16,"deliveries":17},"refusals":{"bad_type":1,"bad_flags":0,"bad_length":0,"too_large":0,"bad_utf8":0,"bad_protocol":0,"bad_level":0,"bad_connect":0,"bad_client_id":0,"bad_topic":0,"bad_filter":0,"bad_qos":0,"bad_packet_id":0,"empty_payload":0,"not_connected":0,"second_connect":0,"unexpected":0,"keepalive":4,"max_connections":0,"nomem":0,"max_subs":0,"queue_full":0,"slow_reader":23,"retain_full":0,"topic_limit":6,"keepalive_cap":0,"not_authorized":0,"bad_password":0,"unknown_user":0,"acl_publish":0,"acl_subscribe":0,"acl_delivery":0,"acl_will":0,"memory":5}}'
for args in "-j stats" "stats -j" "stats --json" "--json stats"; do
	# shellcheck disable=SC2086
	expect 0 "" -- $args
	[ "$(cat "$TMP/out")" = "$WANT" ] && ok "JSON ($args)" || bad "JSON ($args): $(cat "$TMP/out")"
done
cp "$TMP/out" "$TMP/stats.json"

expect 0 "" -- stats
for re in '^connections$' '^  current +3$' '^  out +18446744073709551615$' \
	  '^  bad_type +1$' '^  keepalive +4$' '^  slow_reader +23$' \
	  '^  nodes +15$' '^  seconds +93784$' '^  elapsed +1d 02:03:04$' \
	  '^  topic_limit +6$' '^sessions$' '^retained messages$' '^  bytes +1234$' \
	  '^memory$' '^  message bytes +56789$'; do
	grep -qE "$re" "$TMP/out" && ok "text has /$re/" || bad "text lacks /$re/"
done
grep -qE '^  (bad_flags|nomem) ' "$TMP/out" && bad "text lists zero refusals" || ok "text hides zero refusals"
expect 0 "" -- stats -a
[ "$(sed -n '/^refusals/,/^live/p' "$TMP/out" | grep -c '^  ')" = 34 ] &&
	ok "stats -a lists all 34 refusals" || bad "stats -a: $(cat "$TMP/out")"

replay stats empty
expect 0 "" -- -j stats
grep -q '"conns_current":0,' "$TMP/out" && grep -q '"memory":0}}' "$TMP/out" &&
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

# --- the control plane, replayed -------------------------------------
# script NAME: build $TMP/NAME from the mkreply directives on stdin
script() { "$MKREPLY" script >"$TMP/$1" || bad "mkreply script $1"; }
# rr NAME RC STDERR -- ARGS: expect, replaying $TMP/NAME, requests logged
rr() {
	local f=$1
	shift
	rm -f "$TMP/req"
	export KMQ_MQCTL_REPLAY="$TMP/$f" KMQ_MQCTL_REQUESTS="$TMP/req"
	expect "$@"
	unset KMQ_MQCTL_REPLAY KMQ_MQCTL_REQUESTS
}
# req_is WANT: the decoded requests of the last rr
req_is() {
	local got
	got=$("$MKREPLY" decode "$TMP/req" 2>&1)
	[ "$got" = "$1" ] && ok "request: $(echo "$1" | tr '\n' ' ')" ||
		bad "request: got $(echo "$got" | tr '\n' ' '), want $(echo "$1" | tr '\n' ' ')"
}
# pycheck WHAT EXPR: EXPR (d = the parsed JSON output) must be true
pycheck() {
	if "$PY" -c "import json,sys; d=json.load(open(sys.argv[1])); assert $2, d" "$TMP/out" 2>"$TMP/pyerr"; then
		ok "$1"
	else
		bad "$1: $(tail -1 "$TMP/pyerr")"
	fi
}
# out_has WHAT ERE...: every regex matches a line of stdout
out_has() {
	local what=$1 re
	shift
	for re in "$@"; do
		grep -qE -- "$re" "$TMP/out" && ok "$what has /$re/" ||
			bad "$what lacks /$re/: $(head -c 600 "$TMP/out")"
	done
}

# listeners
script lst <<'EOF'
msg KMQTTD_CMD_LISTENER_GET dump
u32 KMQTTD_A_LISTENER_ID 1
u16 KMQTTD_A_LISTENER_FAMILY AF_INET
ip KMQTTD_A_LISTENER_ADDR 0.0.0.0
u16 KMQTTD_A_LISTENER_PORT 1883
u32 KMQTTD_A_LISTENER_CONNS 3
u32 KMQTTD_A_LISTENER_MAX_CONNS 100
u32 99 7
msg KMQTTD_CMD_LISTENER_GET dump
u32 KMQTTD_A_LISTENER_ID 2
u16 KMQTTD_A_LISTENER_FAMILY AF_INET6
ip KMQTTD_A_LISTENER_ADDR ::1
u16 KMQTTD_A_LISTENER_PORT 8883
u32 KMQTTD_A_LISTENER_CONNS 0
u8 KMQTTD_A_LISTENER_ANONYMOUS KMQTTD_ANONYMOUS_OFF
done
EOF
rr lst 0 "" -- listener
req_is "KMQTTD_CMD_LISTENER_GET dump"
out_has "listener list" '^ID +ADDRESS +CONNS +MAX$' '^1 +0\.0\.0\.0:1883 +3 +100$' '^2 +\[::1\]:8883 +0 +-  anonymous off$'
rr lst 0 "" -- -j listener list
[ "$(cat "$TMP/out")" = '[{"id":1,"family":"inet","address":"0.0.0.0","port":1883,"conns":3,"qos3":false,"anonymous":null,"max_conns":100},{"id":2,"family":"inet6","address":"::1","port":8883,"conns":0,"qos3":false,"anonymous":"off","max_conns":0}]' ] &&
	ok "listener list JSON" || bad "listener list JSON: $(cat "$TMP/out")"
cp "$TMP/out" "$TMP/listener.json"
printf 'done\n' | script none
rr none 0 "" -- listener ls -j
[ "$(cat "$TMP/out")" = '[]' ] && ok "empty list: []" || bad "empty list JSON: $(cat "$TMP/out")"
rr none 0 "" -- listener
[ "$(cat "$TMP/out")" = "$(printf '%-6s %-30s %-8s %s' ID ADDRESS CONNS MAX)" ] &&
	ok "empty list: header only" || bad "empty list text: $(cat "$TMP/out")"

script lstadd <<'EOF'
msg KMQTTD_CMD_LISTENER_ADD
u32 KMQTTD_A_LISTENER_ID 3
u16 KMQTTD_A_LISTENER_FAMILY AF_INET6
ip KMQTTD_A_LISTENER_ADDR ::
u16 KMQTTD_A_LISTENER_PORT 8883
u32 KMQTTD_A_LISTENER_CONNS 0
ack
EOF
rr lstadd 0 "" -- listener add '[::]:8883'
req_is "KMQTTD_CMD_LISTENER_ADD
  KMQTTD_A_LISTENER_FAMILY u16 10
  KMQTTD_A_LISTENER_ADDR bin 00000000000000000000000000000000
  KMQTTD_A_LISTENER_PORT u16 8883"
[ "$(cat "$TMP/out")" = "added listener 3 on [::]:8883" ] && ok "listener add text" || bad "listener add: $(cat "$TMP/out")"
rr lstadd 0 "" -- -j listener add 127.0.0.1:1884
req_is "KMQTTD_CMD_LISTENER_ADD
  KMQTTD_A_LISTENER_FAMILY u16 2
  KMQTTD_A_LISTENER_ADDR u32 16777343
  KMQTTD_A_LISTENER_PORT u16 1884"
pycheck "listener add JSON" 'd == {"id": 3, "family": "inet6", "address": "::", "port": 8883, "conns": 0, "qos3": False, "anonymous": None, "max_conns": 0}'
rr lstadd 0 "" -- listener add '*:1885'
req_is "KMQTTD_CMD_LISTENER_ADD
  KMQTTD_A_LISTENER_FAMILY u16 2
  KMQTTD_A_LISTENER_ADDR u32 0
  KMQTTD_A_LISTENER_PORT u16 1885"
rr lstadd 0 "" -- listener add 127.0.0.1:1885 qos3 on
req_is "KMQTTD_CMD_LISTENER_ADD
  KMQTTD_A_LISTENER_FAMILY u16 2
  KMQTTD_A_LISTENER_ADDR u32 16777343
  KMQTTD_A_LISTENER_PORT u16 1885
  KMQTTD_A_LISTENER_QOS3 u8 1"
rr lstadd 0 "" -- listener add 127.0.0.1:1886 max_connections 50 qos3 off
req_is "KMQTTD_CMD_LISTENER_ADD
  KMQTTD_A_LISTENER_FAMILY u16 2
  KMQTTD_A_LISTENER_ADDR u32 16777343
  KMQTTD_A_LISTENER_PORT u16 1886
  KMQTTD_A_LISTENER_QOS3 u8 0
  KMQTTD_A_LISTENER_MAX_CONNS u32 50"
printf 'ack\n' | script ack
rr ack 0 "" -- listener add 10.1.2.3:1
[ "$(cat "$TMP/out")" = "added listener on 10.1.2.3:1" ] && ok "listener add, ACK only" || bad "listener add ACK only: $(cat "$TMP/out")"
printf 'error EADDRINUSE msg port busy\n' | script inuse
rr inuse 6 "mqctl: listener add 0.0.0.0:1883: Address already in use" -- listener add 0.0.0.0:1883
grep -qF "kernel: port busy" "$TMP/err" && grep -qF "mqctl listener list" "$TMP/err" &&
	ok "EADDRINUSE: extack and hint" || bad "EADDRINUSE: $(cat "$TMP/err")"
printf 'error EADDRNOTAVAIL\n' | script notavail
rr notavail 1 "No interface of this network namespace has that address" -- listener add 10.9.9.9:1883
printf 'error EINVAL msg bad address length\n' | script einval
rr einval 1 "mqctl: kernel: bad address length" -- listener add 10.9.9.9:1883
rr ack 0 "" -- listener del id 7
req_is "KMQTTD_CMD_LISTENER_DEL
  KMQTTD_A_LISTENER_ID u32 7"
[ -s "$TMP/out" ] && bad "listener del printed: $(cat "$TMP/out")" || ok "listener del is silent"
rr ack 0 "" -- listener del '[::1]:1884'
req_is "KMQTTD_CMD_LISTENER_DEL
  KMQTTD_A_LISTENER_FAMILY u16 10
  KMQTTD_A_LISTENER_ADDR bin 00000000000000000000000000000001
  KMQTTD_A_LISTENER_PORT u16 1884"
rr ack 0 "" -- -j listener del id 7
pycheck "listener del JSON" 'd == {"id": 7}'
printf 'error ENOENT\n' | script enoent
rr enoent 5 "mqctl: listener del id 9: not found" -- listener del id 9
grep -qF "No such listener; see 'mqctl listener list'" "$TMP/err" && ok "ENOENT hint" || bad "ENOENT hint: $(cat "$TMP/err")"
printf 'error EPERM\n' | script eperm
for args in "listener" "listener add 0.0.0.0:1" "-j client" "client kick x" "sub list" "retain" "get" "set max_queued 1" "monitor"; do
	# shellcheck disable=SC2086
	rr eperm 4 "mqctl: permission denied: this needs CAP_NET_ADMIN (run as root)" -- $args
done
printf 'error EOPNOTSUPP\n' | script eopnotsupp
rr eopnotsupp 1 "load the module that matches this mqctl" -- client list

# clients
script clients <<'EOF'
msg KMQTTD_CMD_CLIENT_GET dump
str KMQTTD_A_CLIENT_CLIENT_ID sensor-1
u16 KMQTTD_A_CLIENT_FAMILY AF_INET
ip KMQTTD_A_CLIENT_ADDR 127.0.0.1
u16 KMQTTD_A_CLIENT_PORT 40001
str KMQTTD_A_CLIENT_USERNAME bob
u8 KMQTTD_A_CLIENT_CONNECTED 1
u64 KMQTTD_A_CLIENT_CONNECTED_SINCE 1700000000 KMQTTD_A_CLIENT_PAD
u16 KMQTTD_A_CLIENT_KEEPALIVE 60
u8 KMQTTD_A_CLIENT_CLEAN 1
u32 KMQTTD_A_CLIENT_INFLIGHT 2
u32 KMQTTD_A_CLIENT_QUEUED 3
u32 KMQTTD_A_CLIENT_SUBS 4
u64 KMQTTD_A_CLIENT_MSGS_IN 10 KMQTTD_A_CLIENT_PAD
u64 KMQTTD_A_CLIENT_MSGS_OUT 20 KMQTTD_A_CLIENT_PAD
u64 KMQTTD_A_CLIENT_BYTES_IN 1000 KMQTTD_A_CLIENT_PAD
u64 KMQTTD_A_CLIENT_BYTES_OUT 2000 KMQTTD_A_CLIENT_PAD
msg KMQTTD_CMD_CLIENT_GET dump
str KMQTTD_A_CLIENT_CLIENT_ID off\sline\x1b[31m
u8 KMQTTD_A_CLIENT_CONNECTED 0
u16 KMQTTD_A_CLIENT_KEEPALIVE 30
u8 KMQTTD_A_CLIENT_CLEAN 0
u32 KMQTTD_A_CLIENT_QUEUED 5
u32 KMQTTD_A_CLIENT_SUBS 1
msg KMQTTD_CMD_CLIENT_GET dump
str KMQTTD_A_CLIENT_CLIENT_ID v6
u16 KMQTTD_A_CLIENT_FAMILY AF_INET6
ip KMQTTD_A_CLIENT_ADDR fe80::1
u16 KMQTTD_A_CLIENT_PORT 5
u8 KMQTTD_A_CLIENT_CONNECTED 1
done
EOF
rr clients 0 "" -- client
req_is "KMQTTD_CMD_CLIENT_GET dump"
out_has "client list" '^CLIENT_ID +STATE +ADDRESS +KEEPALIVE +CLEAN +SUBS +INFLIGHT +QUEUED +MSGS_IN +MSGS_OUT$' \
	'^sensor-1 +connected +127\.0\.0\.1:40001 +60 +yes +4 +2 +3 +10 +20$' \
	'^off line\\x1b\[31m +offline +- +30 +no +1 +0 +5 +0 +0$' \
	'^v6 +connected +\[fe80::1\]:5 '
rr clients 0 "" -- client list --json
pycheck "client list JSON" 'len(d) == 3 and d[0] == {"client_id": "sensor-1", "connected": True, "family": "inet", "address": "127.0.0.1", "port": 40001, "username": "bob", "connected_since": 1700000000, "clean": True, "keepalive": 60, "inflight": 2, "queued": 3, "subs": 4, "msgs_in": 10, "msgs_out": 20, "bytes_in": 1000, "bytes_out": 2000, "truncated": False}'
pycheck "offline client JSON" 'd[1]["client_id"] == "off line\x1b[31m" and d[1]["connected"] is False and d[1]["address"] is None and d[1]["port"] is None and d[1]["family"] is None and d[1]["connected_since"] is None and d[1]["clean"] is False and d[1]["queued"] == 5'
cp "$TMP/out" "$TMP/client.json"
script show <<'EOF'
msg KMQTTD_CMD_CLIENT_GET
str KMQTTD_A_CLIENT_CLIENT_ID sensor-1
u16 KMQTTD_A_CLIENT_FAMILY AF_INET
ip KMQTTD_A_CLIENT_ADDR 127.0.0.1
u16 KMQTTD_A_CLIENT_PORT 40001
str KMQTTD_A_CLIENT_USERNAME bob
u8 KMQTTD_A_CLIENT_CONNECTED 1
u64 KMQTTD_A_CLIENT_CONNECTED_SINCE 1700000000 KMQTTD_A_CLIENT_PAD
u16 KMQTTD_A_CLIENT_KEEPALIVE 60
u8 KMQTTD_A_CLIENT_CLEAN 1
u32 KMQTTD_A_CLIENT_SUBS 4
u64 KMQTTD_A_CLIENT_MSGS_IN 10 KMQTTD_A_CLIENT_PAD
u64 KMQTTD_A_CLIENT_BYTES_OUT 2000 KMQTTD_A_CLIENT_PAD
ack
EOF
rr show 0 "" -- client show sensor-1
req_is "KMQTTD_CMD_CLIENT_GET
  KMQTTD_A_CLIENT_CLIENT_ID str sensor-1"
out_has "client show" '^client_id: +sensor-1$' '^state: +connected since 2023-11-14 22:13:20 UTC \(' \
	'^address: +127\.0\.0\.1:40001$' '^username: +bob$' '^keepalive: +60 s$' \
	'^clean_session: +yes$' '^subscriptions: +4$' '^messages: +in 10, out 0$' '^bytes: +in 0, out 2000$'
rr show 0 "" -- -j client show sensor-1
pycheck "client show JSON" 'd["client_id"] == "sensor-1" and d["address"] == "127.0.0.1" and d["subs"] == 4 and d["bytes_out"] == 2000'
rr enoent 5 "mqctl: client show 'nobody': not found" -- client show nobody
grep -qF "see 'mqctl client list'" "$TMP/err" && ok "client ENOENT hint" || bad "client ENOENT hint: $(cat "$TMP/err")"
rr enoent 5 "mqctl: client kick 'nobody': not found" -- client kick nobody
rr ack 0 "" -- client kick sensor-1
req_is "KMQTTD_CMD_CLIENT_KICK
  KMQTTD_A_CLIENT_CLIENT_ID str sensor-1
  KMQTTD_A_CLIENT_WILL u8 0
  KMQTTD_A_CLIENT_PURGE u8 0"
[ -s "$TMP/out" ] && bad "kick printed: $(cat "$TMP/out")" || ok "kick is silent"
rr ack 0 "" -- client kick --will -- -odd-id
req_is "KMQTTD_CMD_CLIENT_KICK
  KMQTTD_A_CLIENT_CLIENT_ID str -odd-id
  KMQTTD_A_CLIENT_WILL u8 1
  KMQTTD_A_CLIENT_PURGE u8 0"
rr ack 0 "" -- -j client kick x --purge
pycheck "kick JSON" 'd == {"client_id": "x", "will": False, "purge": True}'
printf 'error ENOTCONN\n' | script enotconn
rr enotconn 1 "the client is offline (a persistent session); add --purge to delete its session" -- client kick x

# streamed dumps: 100000 clients in one replay, 2000 subscriptions
printf 'clients 100000\ndone\n' | script many
rr many 0 "" -- -j client list
pycheck "100000 clients streamed as one JSON array" 'len(d) == 100000 and d[-1]["client_id"] == "client-99999" and d[99999]["msgs_out"] == 199998'
rr many 0 "" -- client list
[ "$(wc -l <"$TMP/out")" = 100001 ] && ok "100000 clients: 100001 text lines" || bad "100000 clients: $(wc -l <"$TMP/out") lines"
printf 'subs 2000\ndone\n' | script subs
rr subs 0 "" -- sub -j
pycheck "2000 subscriptions" 'len(d) == 2000 and d[1999] == {"client_id": "c499", "filter": "t/1999/#", "qos": 1, "truncated": False}'
printf 'clients 3\nmsg KMQTTD_CMD_CLIENT_GET dump intr\nstr KMQTTD_A_CLIENT_CLIENT_ID late\ndone intr\n' | script intr
rr intr 0 "warning: client list: the list changed during the dump" -- -j client list
pycheck "interrupted dump: still valid JSON" 'len(d) == 4'
printf 'clients 2\nmsg KMQTTD_CMD_CLIENT_GET dump\nu16 KMQTTD_A_CLIENT_KEEPALIVE 1\nbin KMQTTD_A_CLIENT_MSGS_IN 010203\ndone\n' | script badclient
rr badclient 1 "client list: malformed reply: attribute 14 (length 3) is not an integer" -- -j client list
pycheck "malformed dump: JSON still closed" 'len(d) == 2'
printf 'clients 2\nerror EINVAL msg dump failed\n' | script dumperr
rr dumperr 1 "mqctl: kernel: dump failed" -- client

# subscriptions
script sub <<'EOF'
msg KMQTTD_CMD_SUB_GET dump
str KMQTTD_A_SUB_CLIENT_ID c1
str KMQTTD_A_SUB_FILTER a/+/#
u8 KMQTTD_A_SUB_QOS 2
done
EOF
rr sub 0 "" -- sub list 'a/+/#' --client c1
req_is "KMQTTD_CMD_SUB_GET dump
  KMQTTD_A_SUB_CLIENT_ID str c1
  KMQTTD_A_SUB_FILTER str a/+/#"
out_has "sub list" '^CLIENT_ID +QOS FILTER$' '^c1 +2 a/\+/#$'
rr sub 0 "" -- -j sub
req_is "KMQTTD_CMD_SUB_GET dump"
pycheck "sub JSON" 'd == [{"client_id": "c1", "filter": "a/+/#", "qos": 2, "truncated": False}]'

# an object too large for one message comes with its strings cut
script subcut <<'EOF'
msg KMQTTD_CMD_SUB_GET dump
str KMQTTD_A_SUB_CLIENT_ID c1
str KMQTTD_A_SUB_FILTER long/filter/cut
u8 KMQTTD_A_SUB_QOS 1
bin KMQTTD_A_SUB_TRUNCATED
done
EOF
rr subcut 0 "" -- sub list
out_has "cut sub" '^c1 +1 long/filter/cut\.\.\.$'
rr subcut 0 "" -- -j sub list
pycheck "cut sub JSON" 'd == [{"client_id": "c1", "filter": "long/filter/cut", "qos": 1, "truncated": True}]'

# retained messages
long=$(head -c 1024 /dev/zero | tr '\0' 'x')
script retain <<EOF
msg KMQTTD_CMD_RETAIN_GET dump
str KMQTTD_A_RETAIN_TOPIC a/b
u8 KMQTTD_A_RETAIN_QOS 1
u32 KMQTTD_A_RETAIN_PAYLOAD_LEN 5
bin KMQTTD_A_RETAIN_PAYLOAD 68000aff7f
msg KMQTTD_CMD_RETAIN_GET dump
str KMQTTD_A_RETAIN_TOPIC big
u8 KMQTTD_A_RETAIN_QOS 0
u32 KMQTTD_A_RETAIN_PAYLOAD_LEN 100000
strn KMQTTD_A_RETAIN_PAYLOAD $long
msg KMQTTD_CMD_RETAIN_GET dump
str KMQTTD_A_RETAIN_TOPIC empty
u32 KMQTTD_A_RETAIN_PAYLOAD_LEN 0
done
EOF
rr retain 0 "" -- retain list 'a/#'
req_is "KMQTTD_CMD_RETAIN_GET dump
  KMQTTD_A_RETAIN_FILTER str a/#"
out_has "retain list" '^TOPIC +QOS +LENGTH PAYLOAD$' '^a/b +1 +5 h\\x00\\x0a\\xff\\x7f$' \
	'^big +0 +100000 x{40}\.\.\.$' '^empty +0 +0 $'
rr retain 0 "" -- -j retain
pycheck "retain JSON" 'd[0] == {"topic": "a/b", "qos": 1, "payload_len": 5, "payload": "h\x00\n\ufffd\x7f", "payload_base64": "aAAK/38=", "truncated": False, "topic_truncated": False}'
pycheck "retain JSON truncated" 'd[1]["truncated"] is True and len(__import__("base64").b64decode(d[1]["payload_base64"])) == 1024 and d[2]["payload"] == "" and d[2]["payload_base64"] == ""'
printf 'msg KMQTTD_CMD_RETAIN_DEL\nu32 KMQTTD_A_RETAIN_COUNT 3\nack\n' | script rdel
rr rdel 0 "" -- retain del --filter 'a/#'
req_is "KMQTTD_CMD_RETAIN_DEL
  KMQTTD_A_RETAIN_FILTER str a/#"
[ "$(cat "$TMP/out")" = "deleted 3 retained messages" ] && ok "retain del text" || bad "retain del: $(cat "$TMP/out")"
rr rdel 0 "" -- -j retain rm a/b
req_is "KMQTTD_CMD_RETAIN_DEL
  KMQTTD_A_RETAIN_TOPIC str a/b"
pycheck "retain del JSON" 'd == {"deleted": 3}'

# settings
script settings <<'EOF'
msg KMQTTD_CMD_SETTINGS_GET
u32 KMQTTD_A_SET_MAX_CONNECTIONS 0
u32 KMQTTD_A_SET_MAX_PACKET_SIZE 268435455
u32 KMQTTD_A_SET_MAX_INFLIGHT 20
u32 KMQTTD_A_SET_MAX_QUEUED 1000
u32 KMQTTD_A_SET_MAX_KEEPALIVE 0
u32 KMQTTD_A_SET_SESSION_EXPIRY 0
u8 KMQTTD_A_SET_RETAIN_AVAILABLE 1
u32 KMQTTD_A_SET_RETAIN_MAX 0
u64 KMQTTD_A_SET_RETAIN_MAX_BYTES 18446744073709551615 KMQTTD_A_SET_PAD
u8 KMQTTD_A_SET_ALLOW_ANONYMOUS 0
u32 KMQTTD_A_SET_MAX_SUBSCRIPTIONS 0
u32 KMQTTD_A_SET_MAX_TOPIC_LENGTH 65535
u32 KMQTTD_A_SET_MAX_TOPIC_LEVELS 0
u32 KMQTTD_A_SET_CONNECT_TIMEOUT 10
u32 KMQTTD_A_SET_SYS_INTERVAL 10
u32 KMQTTD_A_SET_QOS3_TIMEOUT 5000
u32 KMQTTD_A_SET_QOS3_MAX_PENDING 100
u32 KMQTTD_A_SET_QOS3_MAX_TOTAL 10000
u32 KMQTTD_A_SET_PASSWORD_ITERATIONS 1000
u64 KMQTTD_A_SET_MAX_QUEUED_BYTES 67108864 KMQTTD_A_SET_PAD
u64 KMQTTD_A_SET_MAX_MEMORY 536870912 KMQTTD_A_SET_PAD
u32 KMQTTD_A_SET_SLOW_READER_TIMEOUT 30
u32 KMQTTD_A_SET_PUBLISH_HOLD 1000
u32 200 1
ack
EOF
rr settings 0 "" -- get
req_is "KMQTTD_CMD_SETTINGS_GET"
[ "$(wc -l <"$TMP/out")" = 23 ] && ok "get: 23 settings" || bad "get: $(cat "$TMP/out")"
out_has "get" '^max_connections +0$' '^retain_available +yes$' '^allow_anonymous +no$' \
	'^retain_max_bytes +18446744073709551615$' '^sys_interval +10$'
rr settings 0 "" -- get sys_interval max-inflight
[ "$(cat "$TMP/out")" = "$(printf '%-18s 20\n%-18s 10' max_inflight sys_interval)" ] && ok "get NAME..." || bad "get NAME: $(cat "$TMP/out")"
rr settings 0 "" -- -j get
pycheck "get JSON" 'len(d) == 23 and d["max_memory"] == 536870912 and d["slow_reader_timeout"] == 30 and d["publish_hold"] == 1000 and d["max_packet_size"] == 268435455 and d["retain_available"] is True and d["allow_anonymous"] == "no" and d["password_iterations"] == 1000 and list(d)[0] == "max_connections"'
cp "$TMP/out" "$TMP/settings.json"
rr settings 0 "" -- get -j connect_timeout
pycheck "get NAME JSON" 'd == {"connect_timeout": 10}'
rr ack 0 "" -- set max_connections 5 retain_available off retain_max_bytes=1099511627776 sys-interval 1
req_is "KMQTTD_CMD_SETTINGS_SET
  KMQTTD_A_SET_MAX_CONNECTIONS u32 5
  KMQTTD_A_SET_RETAIN_AVAILABLE u8 0
  KMQTTD_A_SET_RETAIN_MAX_BYTES u64 1099511627776
  KMQTTD_A_SET_SYS_INTERVAL u32 1"
[ -s "$TMP/out" ] && bad "set printed: $(cat "$TMP/out")" || ok "set is silent"
cat "$TMP/ack" "$TMP/settings" >"$TMP/setget"
rr setget 0 "" -- -j set allow_anonymous yes
req_is "KMQTTD_CMD_SETTINGS_SET
  KMQTTD_A_SET_ALLOW_ANONYMOUS u8 1
KMQTTD_CMD_SETTINGS_GET"
pycheck "set -j prints the settings" 'len(d) == 23'
# the refused attribute is the second one: 20 + 8 bytes in
printf 'error ERANGE offs 28 range 0 65535 msg value out of range\n' | script erange
rr erange 1 "mqctl: set max_keepalive 70000: Numerical result out of range" -- set max_connections 1 max_keepalive 70000
grep -qF "mqctl: kernel: allowed range 0..65535" "$TMP/err" && grep -qF "value out of range" "$TMP/err" &&
	ok "ERANGE: setting, extack and range" || bad "ERANGE: $(cat "$TMP/err")"

# monitor
script events <<'EOF'
msg KMQTTD_CMD_EVENT
u32 KMQTTD_A_EVENT_TYPE KMQTTD_EVENT_CONNECTED
str KMQTTD_A_EVENT_CLIENT_ID c 1
u16 KMQTTD_A_EVENT_FAMILY AF_INET
ip KMQTTD_A_EVENT_ADDR 127.0.0.1
u16 KMQTTD_A_EVENT_PORT 4000
u8 KMQTTD_A_EVENT_CLEAN 1
u32 KMQTTD_A_EVENT_REASON 0
msg KMQTTD_CMD_EVENT
u32 KMQTTD_A_EVENT_TYPE KMQTTD_EVENT_DISCONNECTED
str KMQTTD_A_EVENT_CLIENT_ID c 1
u16 KMQTTD_A_EVENT_FAMILY AF_INET
ip KMQTTD_A_EVENT_ADDR 127.0.0.1
u16 KMQTTD_A_EVENT_PORT 4000
u32 KMQTTD_A_EVENT_REASON KMQTTD_REFUSAL_KEEPALIVE
msg KMQTTD_CMD_EVENT
u32 KMQTTD_A_EVENT_TYPE KMQTTD_EVENT_KICKED
str KMQTTD_A_EVENT_CLIENT_ID c2
u32 KMQTTD_A_EVENT_REASON 0
msg KMQTTD_CMD_EVENT
u32 KMQTTD_A_EVENT_TYPE KMQTTD_EVENT_LISTENER_ADDED
nest KMQTTD_A_EVENT_LISTENER
u32 KMQTTD_A_LISTENER_ID 4
u16 KMQTTD_A_LISTENER_FAMILY AF_INET6
ip KMQTTD_A_LISTENER_ADDR ::
u16 KMQTTD_A_LISTENER_PORT 8883
end
msg KMQTTD_CMD_EVENT
u32 KMQTTD_A_EVENT_TYPE 77
u32 KMQTTD_A_EVENT_REASON 99
EOF
rr events 0 "" -- monitor
[ "$(cat "$TMP/out")" = 'connected client=c\x201 addr=127.0.0.1:4000 clean=yes
disconnected client=c\x201 addr=127.0.0.1:4000 reason=keepalive
kicked client=c2 reason=none
listener_added listener=4 addr=[::]:8883
unknown(77) reason=unknown(99)' ] && ok "monitor text" || bad "monitor text: $(cat "$TMP/out")"
rr events 0 "" -- monitor -j
if "$PY" - "$TMP/out" <<'PYEOF'
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
assert ev[0] == {"event": "connected", "client_id": "c 1", "family": "inet", "address": "127.0.0.1", "port": 4000, "clean": True}, ev[0]
assert ev[1]["event"] == "disconnected" and ev[1]["reason"] == "keepalive", ev[1]
assert ev[2] == {"event": "kicked", "client_id": "c2", "reason": None}, ev[2]
assert ev[3] == {"event": "listener_added", "listener": {"id": 4, "family": "inet6", "address": "::", "port": 8883}}, ev[3]
assert len(ev) == 5
PYEOF
then ok "monitor JSON lines"; else bad "monitor JSON: $(cat "$TMP/out")"; fi
rr events 0 "" -- monitor -c 2 -t
[ "$(wc -l <"$TMP/out")" = 2 ] && grep -qE '^\[[0-9-]+T[0-9:.]+\] connected ' "$TMP/out" &&
	ok "monitor -c 2 -t" || bad "monitor -c 2 -t: $(cat "$TMP/out")"
rr events 0 "" -- monitor -j -t -c 1
pycheck "monitor -j -t has time" 'd["time"] > 1e9'

# --- bash completion ---------------------------------------------------
comp() {	# comp WORDS...: the completions of the last word
	bash -c 'source ./mqctl.bash-completion
		COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
		COMPREPLY=(); _mqctl; echo "${COMPREPLY[*]}"' comp "$@"
}
cmds=$("$MQCTL" --help | sed -n '/^Commands:/,/^$/s/^  \([a-z]*\) .*/\1/p' | tr '\n' ' ')
[ "$(comp mqctl '')" = "${cmds% }" ] && ok "completion: commands = mqctl --help" ||
	bad "completion commands '$(comp mqctl '')' vs --help '$cmds'"
names=$("$MQCTL" help set | sed -n '/^Settings:/,$s/^  \([a-z0-9_]*\) .*/\1/p' | tr '\n' ' ')
[ "$(comp mqctl set '')" = "${names% }" ] && ok "completion: settings = mqctl help set" ||
	bad "completion settings '$(comp mqctl set '')' vs help '$names'"
[ "$(comp mqctl client kick x --p)" = "--purge" ] && ok "completion: kick --purge" || bad "completion: kick --p"
[ "$(comp mqctl retain '')" = "list del" ] && ok "completion: retain sub-commands" || bad "completion: retain"
[ "$(comp mqctl set retain_available '')" = "yes no" ] && ok "completion: boolean values" || bad "completion: yes no"

# --- users and ACL rules ----------------------------------------------
for c in user acl; do
	expect 0 "" -- help $c
	head -2 "$TMP/out" | grep -q "^ *\(Usage:\)\? *mqctl $c" && ok "help $c: usage" || bad "help $c: $(head -2 "$TMP/out")"
done
expect 2 "user add: missing NAME" -- user add
expect 2 "cannot contain ':'" -- user add a:b --stdin
expect 2 "empty user name" -- user add '' --stdin
expect 2 "--iterations wants 1..1000000" -- user add bob --stdin --iterations 0
expect 2 "user del: missing NAME" -- user del
expect 2 "user import: missing FILE" -- user import
expect 2 "unexpected argument" -- user clear now
expect 2 "want 'topic' or 'pattern'" -- acl add user bob topics a
expect 2 "pattern rules are for every user" -- acl add user bob pattern a
expect 2 "missing the topic" -- acl add topic
expect 2 "ACCESS must be" -- acl add topic rw a
expect 2 "too many arguments" -- acl add topic read a b
expect 2 "missing NAME after 'user'" -- acl del user
rr ack 0 "" -- user add bob --stdin <<<"s3cret"
req_is "KMQTTD_CMD_USER_ADD
  KMQTTD_A_USER_NAME str bob
  KMQTTD_A_USER_PASSWORD bin 733363726574"
[ -s "$TMP/out" ] && bad "user add printed: $(cat "$TMP/out")" || ok "user add is silent"
rr ack 0 "" -- user add bob --stdin --iterations 50000 <<<$'pw with spaces\r'
req_is "KMQTTD_CMD_USER_ADD
  KMQTTD_A_USER_NAME str bob
  KMQTTD_A_USER_PASSWORD bin 7077207769746820737061636573
  KMQTTD_A_USER_ITERATIONS u32 50000"
rr ack 2 "no password on standard input" -- user add bob --stdin </dev/null
rr ack 2 "empty password" -- user add bob --stdin <<<""
(setsid "$MQCTL" user add bob </dev/null >"$TMP/out" 2>"$TMP/err"; echo $? >"$TMP/rc")
[ "$(cat "$TMP/rc")" = 2 ] && grep -q "no terminal to ask the password on; use --stdin" "$TMP/err" &&
	ok "user add without a terminal" || bad "user add without a terminal: $(cat "$TMP/rc") $(cat "$TMP/err")"
rr enoent 5 "mqctl: user del 'eve': not found" -- user del eve
rr eperm 4 "" -- user add bob --stdin <<<"x"
script users <<'EOF'
msg KMQTTD_CMD_USER_GET dump
str KMQTTD_A_USER_NAME alice
u8 KMQTTD_A_USER_ALGO 7
u32 KMQTTD_A_USER_ITERATIONS 1000
str KMQTTD_A_USER_HASH $7$1000$c2FsdA==$aGFzaA==
msg KMQTTD_CMD_USER_GET dump
str KMQTTD_A_USER_NAME old\sbob
u8 KMQTTD_A_USER_ALGO 6
u32 KMQTTD_A_USER_ITERATIONS 1
done
EOF
rr users 0 "" -- user
req_is "KMQTTD_CMD_USER_GET dump"
out_has "user list" '^NAME +HASH +ITERATIONS$' '^alice +pbkdf2-sha512 +1000$' '^old\\x20bob +sha512 +1$'
rr users 0 "" -- -j user list
pycheck "user list JSON" 'd == [{"name": "alice", "algo": "pbkdf2-sha512", "iterations": 1000, "hash": "$7$1000$c2FsdA==$aGFzaA=="}, {"name": "old bob", "algo": "sha512", "iterations": 1, "hash": None}]'
printf 'msg KMQTTD_CMD_USER_CLEAR\nu32 KMQTTD_A_USER_COUNT 4\nack\n' | script uclear
rr uclear 0 "" -- user clear
req_is "KMQTTD_CMD_USER_CLEAR"
[ "$(cat "$TMP/out")" = "deleted 4" ] && ok "user clear: count" || bad "user clear: $(cat "$TMP/out")"
rr uclear 0 "" -- -j user clear
pycheck "user clear JSON" 'd == {"deleted": 4}'
printf '# comment\n\nalice:$7$101$c2FsdA$aGFzaA==\nbroken line\nbob:$6$c2FsdA$aGFzaA==\r\n' >"$TMP/pwfile"
cat "$TMP/ack" "$TMP/ack" >"$TMP/ack2"
rr ack2 1 "pwfile:4: not NAME:\$7\$" -- user import "$TMP/pwfile"
req_is "KMQTTD_CMD_USER_ADD
  KMQTTD_A_USER_NAME str alice
  KMQTTD_A_USER_HASH str \$7\$101\$c2FsdA\$aGFzaA==
KMQTTD_CMD_USER_ADD
  KMQTTD_A_USER_NAME str bob
  KMQTTD_A_USER_HASH str \$6\$c2FsdA\$aGFzaA=="
grep -qx "imported 2 users, some lines failed" "$TMP/out" && ok "user import: summary" || bad "user import: $(cat "$TMP/out")"
printf 'error EINVAL msg not a hash\n' | script einval_hash
rr einval_hash 1 "user import: -:1: user 'x'" -- user import - <<<'x:$7$bad'
rr ack 0 "" -- acl add user bob topic read 'a/#'
req_is "KMQTTD_CMD_ACL_ADD
  KMQTTD_A_ACL_KIND u8 1
  KMQTTD_A_ACL_USER str bob
  KMQTTD_A_ACL_ACCESS u8 1
  KMQTTD_A_ACL_PATTERN str a/#"
rr ack 0 "" -- acl add pattern 'dev/%c/#'
req_is "KMQTTD_CMD_ACL_ADD
  KMQTTD_A_ACL_KIND u8 2
  KMQTTD_A_ACL_ACCESS u8 3
  KMQTTD_A_ACL_PATTERN str dev/%c/#"
rr ack 0 "" -- -j acl del topic deny secret
req_is "KMQTTD_CMD_ACL_DEL
  KMQTTD_A_ACL_KIND u8 1
  KMQTTD_A_ACL_ACCESS u8 0
  KMQTTD_A_ACL_PATTERN str secret"
pycheck "acl del JSON" 'd == {"kind": "topic", "user": None, "access": "deny", "pattern": "secret"}'
printf 'error EEXIST msg the rule exists\n' | script eexist
rr eexist 6 "mqctl: acl add topic 'a': File exists" -- acl add topic a
rr enoent 5 "acl del pattern 'a'" -- acl del pattern write a
script acls <<'EOF'
msg KMQTTD_CMD_ACL_GET dump
u8 KMQTTD_A_ACL_KIND KMQTTD_ACL_TOPIC
u8 KMQTTD_A_ACL_ACCESS KMQTTD_ACL_READ
str KMQTTD_A_ACL_PATTERN pub/#
msg KMQTTD_CMD_ACL_GET dump
u8 KMQTTD_A_ACL_KIND KMQTTD_ACL_TOPIC
str KMQTTD_A_ACL_USER bob
u8 KMQTTD_A_ACL_ACCESS KMQTTD_ACL_READWRITE
str KMQTTD_A_ACL_PATTERN a\sb
msg KMQTTD_CMD_ACL_GET dump
u8 KMQTTD_A_ACL_KIND KMQTTD_ACL_TOPIC
str KMQTTD_A_ACL_USER bob
u8 KMQTTD_A_ACL_ACCESS KMQTTD_ACL_DENY
str KMQTTD_A_ACL_PATTERN a/secret
msg KMQTTD_CMD_ACL_GET dump
u8 KMQTTD_A_ACL_KIND KMQTTD_ACL_PATTERN
u8 KMQTTD_A_ACL_ACCESS KMQTTD_ACL_WRITE
str KMQTTD_A_ACL_PATTERN dev/%c/#
done
EOF
rr acls 0 "" -- acl
req_is "KMQTTD_CMD_ACL_GET dump"
[ "$(cat "$TMP/out")" = "$(printf 'topic read pub/#\n\nuser bob\ntopic readwrite a b\ntopic deny a/secret\n\npattern write dev/%%c/#')" ] &&
	ok "acl list: acl_file format" || bad "acl list: $(cat "$TMP/out")"
cp "$TMP/out" "$TMP/aclfile"
rr acls 0 "" -- -j acl list
pycheck "acl list JSON" 'd == [{"kind": "topic", "user": None, "access": "read", "pattern": "pub/#"}, {"kind": "topic", "user": "bob", "access": "readwrite", "pattern": "a b"}, {"kind": "topic", "user": "bob", "access": "deny", "pattern": "a/secret"}, {"kind": "pattern", "user": None, "access": "write", "pattern": "dev/%c/#"}]'
# the listed file imports back as the same rules; one existed already
cat "$TMP/ack" "$TMP/ack" "$TMP/eexist" "$TMP/ack" >"$TMP/ack4"
rr ack4 0 "" -- acl import "$TMP/aclfile"
req_is "KMQTTD_CMD_ACL_ADD
  KMQTTD_A_ACL_KIND u8 1
  KMQTTD_A_ACL_ACCESS u8 1
  KMQTTD_A_ACL_PATTERN str pub/#
KMQTTD_CMD_ACL_ADD
  KMQTTD_A_ACL_KIND u8 1
  KMQTTD_A_ACL_USER str bob
  KMQTTD_A_ACL_ACCESS u8 3
  KMQTTD_A_ACL_PATTERN str a b
KMQTTD_CMD_ACL_ADD
  KMQTTD_A_ACL_KIND u8 1
  KMQTTD_A_ACL_USER str bob
  KMQTTD_A_ACL_ACCESS u8 0
  KMQTTD_A_ACL_PATTERN str a/secret
KMQTTD_CMD_ACL_ADD
  KMQTTD_A_ACL_KIND u8 2
  KMQTTD_A_ACL_ACCESS u8 2
  KMQTTD_A_ACL_PATTERN str dev/%c/#"
grep -qx "imported 3 rules, 1 existed already" "$TMP/out" && ok "acl import: summary" || bad "acl import: $(cat "$TMP/out")"
printf '  topic   foo/bar  \nbogus line\n' >"$TMP/aclbad"
rr ack 1 "aclbad:2: want 'user', 'topic' or 'pattern'" -- acl import "$TMP/aclbad"
req_is "KMQTTD_CMD_ACL_ADD
  KMQTTD_A_ACL_KIND u8 1
  KMQTTD_A_ACL_ACCESS u8 3
  KMQTTD_A_ACL_PATTERN str foo/bar"
printf 'msg KMQTTD_CMD_ACL_CLEAR\nu32 KMQTTD_A_ACL_COUNT 3\nack\n' | script aclear
rr aclear 0 "" -- acl clear
[ "$(cat "$TMP/out")" = "deleted 3" ] && ok "acl clear: count" || bad "acl clear: $(cat "$TMP/out")"
rr ack 0 "" -- listener add 127.0.0.1:1 anonymous off qos3 on
req_is "KMQTTD_CMD_LISTENER_ADD
  KMQTTD_A_LISTENER_FAMILY u16 2
  KMQTTD_A_LISTENER_ADDR u32 16777343
  KMQTTD_A_LISTENER_PORT u16 1
  KMQTTD_A_LISTENER_QOS3 u8 1
  KMQTTD_A_LISTENER_ANONYMOUS u8 0"
expect 2 "anonymous wants on, off or auto" -- listener add 127.0.0.1:1 anonymous maybe
expect 2 "unexpected argument 'qos3'" -- listener add 127.0.0.1:1 qos3 on qos3 off
rr ack 0 "" -- set allow_anonymous auto
req_is "KMQTTD_CMD_SETTINGS_SET
  KMQTTD_A_SET_ALLOW_ANONYMOUS u8 2"
expect 2 "want yes, no or auto" -- set allow_anonymous maybe
[ "$(comp mqctl user '')" = "list add del clear import" ] && ok "completion: user sub-commands" || bad "completion: user"
[ "$(comp mqctl acl add '')" = "user topic pattern" ] && ok "completion: acl add" || bad "completion: acl add: $(comp mqctl acl add '')"
[ "$(comp mqctl acl add topic '')" = "read write readwrite deny" ] && ok "completion: acl access" || bad "completion: acl access"
[ "$(comp mqctl set allow_anonymous '')" = "yes no auto" ] && ok "completion: allow_anonymous values" || bad "completion: allow_anonymous"
[ "$(comp mqctl listener add 1.2.3.4:5 anonymous '')" = "on off auto" ] && ok "completion: listener anonymous" || bad "completion: listener anonymous"

# --- JSON keys match the YAML spec -----------------------------------
if [ -x "$PY" ] && "$PY" -c 'import yaml' 2>/dev/null && [ -f "$SPEC" ]; then
	if "$PY" - "$SPEC" "$TMP" <<'PYEOF'
import json, os, sys, yaml
spec = yaml.safe_load(open(sys.argv[1]))
sets = {s["name"]: s for s in spec["attribute-sets"]}
def load(name):
    return json.load(open(os.path.join(sys.argv[2], name)))
def keys(set_name, skip=()):
    return [a["name"].replace("-", "_").replace("addr", "address")
            for a in sets[set_name]["attributes"]
            if a["type"] != "pad" and a["name"] not in skip]
assert set(load("listener.json")[0]) == set(keys("listener"))
assert set(load("client.json")[0]) == set(keys("client", ("will", "purge")))
assert list(load("settings.json")) == keys("settings")
ev = [e["name"].replace("-", "_") for d in spec["definitions"]
      if d["name"] == "event" for e in d["entries"]]
assert ev == ["connected", "disconnected", "kicked", "listener_added", "listener_removed"], ev
PYEOF
	then ok "client/listener/settings JSON keys match the YAML spec"; else bad "JSON keys of client/listener/settings differ from the YAML spec"; fi
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
