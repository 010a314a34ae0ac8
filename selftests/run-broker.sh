#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# run-broker.sh - run kmqttd in a QEMU guest for manual testing ("make run").
#
# usage: selftests/run-broker.sh [--kernel 6.1|6.12] [--port PORT]
#
# Boots a guest with the module loaded (listening on 0.0.0.0:1883 inside),
# forwards host 127.0.0.1:PORT (default 1883) to it and stays up until
# stopped with Ctrl-C or SIGTERM.  On stop the module is unloaded and the
# guest kernel log is checked like any selftests/vm.sh run: the exit status
# is 0 only if all of that went well.  KMQ_MODPARAMS, KMQ_MODULE, VM_* are
# honoured (see selftests/vm.sh).

set -eu

kernel=${VM_KERNEL:-6.1}
port=1883
while [ $# -gt 0 ]; do
	case $1 in
	--kernel) kernel=${2:?--kernel needs a value}; shift 2 ;;
	--kernel=*) kernel=${1#*=}; shift ;;
	--port) port=${2:?--port needs a value}; shift 2 ;;
	--port=*) port=${1#*=}; shift ;;
	-h | --help) sed -n '3,13s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) echo "run-broker.sh: unknown argument '$1'" >&2; exit 2 ;;
	esac
done
case $port in
'' | *[!0-9]*) echo "run-broker.sh: bad port '$port'" >&2; exit 2 ;;
esac

# Printed by the guest once the broker listens.  $$ stays valid: we exec
# vm.sh below, and vm.sh turns SIGTERM into a clean guest shutdown.
banner="
kmqttd is up (guest kernel $kernel), forwarded to 127.0.0.1:$port

  subscribe:  mosquitto_sub -h 127.0.0.1 -p $port -t 'a/#' -v
  publish:    mosquitto_pub -h 127.0.0.1 -p $port -t a/b -m hi

Stop with Ctrl-C, or: kill $$
(the module is then unloaded and the guest kernel log checked)
"

# The guest command: print the banner, then idle until the harness stops
# it (it TERMs every leftover process); exit 0 so that a clean stop is a
# successful run.
# shellcheck disable=SC2016
guest_cmd='printf "%s\n" "$1"; trap "exit 0" TERM INT
while :; do sleep 3600 & wait $!; done'

exec "$(dirname "$0")/vm.sh" --kernel "$kernel" --hostfwd "$port:1883" \
	-- /bin/sh -c "$guest_cmd" run-broker "$banner"
