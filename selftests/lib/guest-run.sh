#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Guest-side runner of selftests/vm.sh.  guest-init.sh copies it to
# /run/kmq-runner.sh and runs it chrooted into the host's root.
#
# Inputs (in the exchange dir /run/kmq-vm, written by vm.sh):
#   config   shell assignments: KMQ_TOP KMQ_KERNEL VM_MODNAME KMQ_MODPARAMS
#            KMQ_NO_WAIT KMQ_WAIT_PORT
#   argv     the command, NUL-separated
#   env      extra environment (KEY=VALUE), NUL-separated
#   module.ko  the module to load (absent with --no-module)
#   stop     created by the host to ask for an early, clean stop
# Outputs:
#   status   key=value lines: insmod= listen= rc= stopped= rmmod= finished=
#   dmesg.txt  the kernel log after the unload
#   kmemleak.txt, sections.txt  kernels with kmemleak (the debug kernel):
#            /sys/kernel/debug/kmemleak after the unload and two scans,
#            and the module's section addresses before it
#
# The command's stdout/stderr go to /dev/hvc0 (vm.sh's stdout); everything
# this script prints goes to the kernel console (ttyS0, the host's log).

X=/run/kmq-vm
KMEMLEAK=/sys/kernel/debug/kmemleak
# shellcheck source=/dev/null
. $X/config

log() {
	local up rest
	read -r up rest </proc/uptime
	echo "kmq-vm [$up]: $*"
}
st() { echo "$1" >>$X/status; }

# Kill (signal $1) every user process except init, this script and the
# calling subshell.  Kernel threads (pid 2 and its children) are skipped.
# Leaves the number of processes signalled in $nkilled.
kill_strays() {
	local sig=$1 d pid k v ppid
	nkilled=0
	for d in /proc/[0-9]*; do
		pid=${d#/proc/}
		case $pid in 1 | 2 | "$$" | "$BASHPID") continue ;; esac
		ppid=
		while read -r k v; do
			if [ "$k" = PPid: ]; then ppid=$v; break; fi
		done 2>/dev/null <"$d/status"
		case $ppid in "" | 0 | 2) continue ;; esac
		kill "-$sig" "$pid" 2>/dev/null && nkilled=$((nkilled + 1))
	done
}

# TERM everything left over, give it up to 2 s, then KILL.
reap_strays() {
	local deadline=$((SECONDS + 2))
	kill_strays TERM
	[ "$nkilled" -gt 0 ] || return 0
	log "terminating $nkilled leftover process(es)"
	while [ $SECONDS -le $deadline ]; do
		sleep 0.1
		kill_strays 0
		[ "$nkilled" -gt 0 ] || return 0
	done
	kill_strays KILL
	sleep 0.1
}

# Is something listening on TCP port $1 (IPv4 or IPv6)?
listening() {
	local hex f laddr state rest
	hex=$(printf '%04X' "$1")
	for f in /proc/net/tcp /proc/net/tcp6; do
		[ -r $f ] || continue
		while read -r _ laddr _ state rest; do
			[ "$state" = 0A ] && [ "${laddr##*:}" = "$hex" ] && return 0
		done <$f
	done
	return 1
}

finish() {
	reap_strays
	log "finishing"
	if [ -n "$VM_MODNAME" ] && grep -q "^$VM_MODNAME " /proc/modules; then
		[ ! -e $KMEMLEAK ] ||
			grep -H . /sys/module/"$VM_MODNAME"/sections/.* >$X/sections.txt 2>/dev/null
		log "unloading $VM_MODNAME"
		local i ok=0
		# A just-closed socket may hold a reference for a moment: retry
		# for a few seconds before calling the unload failed.
		for i in 1 2 3 4 5 6 7 8 9 10; do
			if rmmod "$VM_MODNAME"; then ok=1; break; fi
			sleep 0.5
		done
		if [ $ok = 1 ]; then st rmmod=ok; else st rmmod=fail; fi
	fi
	# Leaks: kmemleak only reports objects older than 5 s that stayed
	# unreferenced through a whole scan, hence scan, wait, scan.
	if [ -e $KMEMLEAK ]; then
		log "kmemleak: scanning"
		if echo scan >$KMEMLEAK && sleep 5 && echo scan >$KMEMLEAK &&
			cat $KMEMLEAK >$X/kmemleak.txt; then
			log "kmemleak: done"
			st kmemleak=done
		else
			log "kmemleak: cannot scan (disabled?)"
			st kmemleak=off
		fi
	fi
	dmesg >$X/dmesg.txt 2>/dev/null
	log "done"
	st finished=1
	sync
	exit 0
}

# ------------------------------------------------------------ output channel
log "runner started"
i=0
while [ ! -c /dev/hvc0 ] && [ $i -lt 100 ]; do
	sleep 0.05
	i=$((i + 1))
done
if [ -c /dev/hvc0 ]; then
	OUT=/dev/hvc0
	stty -F $OUT raw -echo 2>/dev/null # no \n -> \r\n translation
else
	log "no /dev/hvc0, command output goes to the kernel console"
	OUT=/dev/console
fi

# ------------------------------------------------------------ module
if [ -n "$VM_MODNAME" ]; then
	# kmqttd's passwords use sha512 from the crypto API; the kernel's
	# own request_module() cannot reach modprobe from the initramfs root
	modprobe -q sha512 2>/dev/null
	log "insmod $VM_MODNAME $KMQ_MODPARAMS"
	set -f # KMQ_MODPARAMS is word-split, but never globbed
	# shellcheck disable=SC2086
	insmod $X/module.ko $KMQ_MODPARAMS
	rc=$?
	set +f
	if [ $rc = 0 ]; then
		st insmod=ok
	else
		st insmod=fail
		finish
	fi
	if [ "${KMQ_NO_WAIT:-0}" != 1 ]; then
		port=${KMQ_WAIT_PORT:-1883}
		deadline=$((SECONDS + 20))
		while ! listening "$port" && [ $SECONDS -lt $deadline ]; do
			sleep 0.1
		done
		if listening "$port"; then
			st listen=ok
		else
			log "nothing listens on TCP port $port after 20 s"
			st listen=timeout
			finish
		fi
	fi
fi

# ------------------------------------------------------------ command
mapfile -d '' -t argv <$X/argv
mapfile -d '' -t extra_env <$X/env
base_env=(PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
	HOME=/root USER=root LOGNAME=root SHELL=/bin/bash TERM=dumb
	LANG=C.UTF-8)

# Stop watcher: when the host creates $X/stop (Ctrl-C on vm.sh), kill the
# command and everything it started so that the unload and the log scan
# still happen.
(
	trap 'kill $sp 2>/dev/null; exit 0' TERM
	while [ ! -e $X/stop ]; do
		sleep 0.5 &
		sp=$!
		wait $sp
	done
	log "stop requested by the host"
	st stopped=1
	reap_strays
) &
watcher=$!

cd "$KMQ_TOP" || { log "cannot cd to $KMQ_TOP"; st rc=125; finish; }
log "running the command"
env -i "${base_env[@]}" "${extra_env[@]}" "${argv[@]}" </dev/null >$OUT 2>&1
rc=$?
log "command exited with status $rc"
st "rc=$rc"
kill $watcher 2>/dev/null
wait $watcher 2>/dev/null
cd /
finish
