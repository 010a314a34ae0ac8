#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# SC2317: functions run from traps; SC2054: QEMU options contain commas.
# shellcheck disable=SC2317,SC2054
#
# vm.sh - run a command in a throw-away QEMU guest with kmqttd loaded.
#
# usage: selftests/vm.sh [--kernel 6.1|6.12|debug|RELEASE] [--no-module]
#                        [--hostfwd HOSTPORT:GUESTPORT] [--] CMD [ARG...]
#
# Boots Debian's kernel with a tiny initramfs (selftests/lib/), the host's /
# mounted read-only over 9p as the guest root (tmpfs on /tmp /run /var/tmp
# /root /var/log /dev/shm) and this repository mounted read-write at the same
# path.  Then: insmod the module (unless --no-module), wait for a listener
# on TCP 1883, run CMD in the repo top, kill its leftovers, rmmod the module
# and scan the kernel log for warnings, oopses, leaks...
#
# "--kernel debug" is the sanitizer kernel (KASAN, KFENCE, lockdep, UBSAN,
# DEBUG_OBJECTS, kmemleak) that scripts/debug-kernel.sh builds once into its
# cache (make debug-kernel; built here if missing).  It has every driver
# built in.  After the unload the guest runs two kmemleak scans; a leak whose
# backtrace is in the module fails the run (other leaks are only listed).
#
# CMD's stdout+stderr stream to our stdout; the kernel log is kept apart
# (build/vm/console-<kernel>.log) and its tail printed to stderr on failure.
#
# Exit status: CMD's, or 125 when the harness failed: guest crash/panic,
# timeout, insmod/rmmod failure, no listener, or a suspicious kernel log.
#
# Environment:
#   KMQ_MODULE      module to load (default: build/<kernel>/kmqttd.ko, built
#                   by "make module-<kernel>")
#   KMQ_MODPARAMS   insmod parameters, e.g. "port=1884 max_clients=10"
#   KMQ_NO_WAIT=1   do not wait for a TCP listener after insmod
#   KMQ_WAIT_PORT   port to wait for (default 1883)
#   KMQ_*           every other KMQ_ variable is passed to CMD, plus
#                   KMQ_TOP (repo top), KMQ_KERNEL (6.1, 6.12, debug) and, when
#                   a module is loaded, KMQ_MODULE=/run/kmq-vm/module.ko
#                   (a copy of it that the guest can always reach)
#   VM_KERNEL       default for --kernel (6.1)
#   VM_MEM          guest memory in MiB (2048)
#   VM_SMP          guest CPUs (2)
#   VM_TIMEOUT      host-side limit in seconds (1800, debug: 3600); the
#                   guest is then killed.  With the debug kernel,
#                   KMQ_TEST_TIMEOUT (selftests/guest) defaults to 120 s
#   VM_STOP_GRACE   seconds a stopped (Ctrl-C, SIGTERM) guest gets to finish
#   VM_APPEND       extra kernel command line
#   VM_QEMU_ARGS    extra QEMU arguments (word-split)
#   VM_LOG          where to save the guest kernel log
#                   (default build/vm/console-<kernel>.log; kmemleak's
#                   report goes next to it, as kmemleak-<kernel>.txt)
#   VM_QUIET=1      do not print harness progress/summary on success
#
# Ctrl-C (or SIGTERM) asks the guest to stop CMD; the module is still
# unloaded and the log scanned.  A second Ctrl-C kills the guest at once.

set -uo pipefail

SELF=$(basename "$0")
SELFTESTS=$(cd "$(dirname "$0")" && pwd -P)
TOP=$(cd "$SELFTESTS/.." && pwd -P)
LIB=$SELFTESTS/lib
HARNESS_FAIL=125

# Kernel log lines that fail the run.  Besides WARN/BUG/oops/panic/leak
# reports, "BUG <cache> (...): ..." is how slub_debug reports redzone or
# poison corruption, and "kernel BUG at" is BUG_ON().
BAD_RE='WARNING:|BUG:|Oops|general protection|Kernel panic|kmqttd: LEAK|Objects remaining|hung_task|soft lockup|UBSAN|KASAN'
BAD_RE+='|BUG [^ ]+ \(.*\): |kernel BUG at'
# The sanitizer kernel's checkers (most also print "BUG:" or "WARNING:").
BAD_RE+='|ODEBUG:|possible circular locking|possible recursive locking'
BAD_RE+='|inconsistent lock state|suspicious RCU usage'

msg() { echo "$SELF: $*" >&2; }
die() { msg "$*"; exit $HARNESS_FAIL; }
usage() { # the header comment, from "vm.sh -" to its end
	sed -n '/^# vm.sh - /,/^[^#]/s/^# \{0,1\}//p' "$0" | sed '/^#/d' >&2
	exit 2
}

# Quote $1 for a POSIX shell (single quotes).
shq() { printf "'%s'" "${1//\'/\'\\\'\'}"; }

# ------------------------------------------------------------ arguments
kernel=${VM_KERNEL:-6.1}
load_module=1
hostfwd=
while [ $# -gt 0 ]; do
	case $1 in
	--kernel) [ $# -ge 2 ] || usage; kernel=$2; shift 2 ;;
	--kernel=*) kernel=${1#*=}; shift ;;
	--no-module) load_module=0; shift ;;
	--hostfwd) [ $# -ge 2 ] || usage; hostfwd=$2; shift 2 ;;
	--hostfwd=*) hostfwd=${1#*=}; shift ;;
	-h | --help) usage ;;
	--) shift; break ;;
	-*) msg "unknown option $1"; usage ;;
	*) break ;;
	esac
done
[ $# -gt 0 ] || usage
if [ -n "$hostfwd" ]; then
	[[ $hostfwd =~ ^[0-9]+:[0-9]+$ ]] || die "--hostfwd wants HOSTPORT:GUESTPORT, got '$hostfwd'"
fi

# ------------------------------------------------------------ kernel
# Accept "6.1", "6.12" or a full release such as "6.12.117+deb12-amd64";
# a short name picks the newest /boot/vmlinuz-<short>.* installed.
kimage=
moddir=
case $kernel in
debug)
	dkdir=$("$TOP/scripts/debug-kernel.sh" --print-dir)
	"$TOP/scripts/debug-kernel.sh" || die "no debug kernel (make debug-kernel)"
	krel=$(cat "$dkdir/kernel.release")
	kimage=$dkdir/vmlinux
	moddir=$dkdir/modules
	;;
*.*.*) krel=$kernel ;;
*.*)
	krel=$(for f in /boot/vmlinuz-"$kernel".[0-9]*; do
		[ -e "$f" ] && echo "${f#/boot/vmlinuz-}"
	done | sort -V | tail -n 1)
	;;
*) die "bad --kernel '$kernel' (want 6.1, 6.12 or a full release)" ;;
esac
if [ "$kernel" = debug ]; then
	kshort=debug
else
	if [ -z "$krel" ] || [ ! -r "/boot/vmlinuz-$krel" ]; then
		die "no readable /boot/vmlinuz for kernel '$kernel'"
	fi
	[ -d "/lib/modules/$krel" ] || die "no /lib/modules/$krel"
	kshort=$(echo "$krel" | cut -d. -f1,2)
fi

# ------------------------------------------------------------ module
modname=
module=
if [ $load_module = 1 ]; then
	if [ -n "${KMQ_MODULE:-}" ]; then
		module=$KMQ_MODULE
	else
		module=$TOP/build/$kshort/kmqttd.ko
		out=$(make -s -C "$TOP" "module-$kshort" 2>&1)
		rc=$?
		[ -z "$out" ] || printf '%s\n' "$out" >&2
		if [ $rc != 0 ]; then
			if printf '%s' "$out" | grep -q "No rule to make target.*module-$kshort"; then
				die "the top Makefile has no 'module-$kshort' target (it must build $module)"
			fi
			die "'make module-$kshort' failed"
		fi
	fi
	[ -r "$module" ] || die "module $module not found"
	modname=$(modinfo -F name "$module" 2>/dev/null)
	if [ -z "$modname" ]; then
		modname=$(basename "$module" .ko)
		modname=${modname//-/_}
	fi
fi

# ------------------------------------------------------------ initramfs
mkdir -p "$TOP/build/vm" || die "cannot create $TOP/build/vm"
initrd=$TOP/build/vm/initramfs-$krel.cpio.gz
KMQ_KIMAGE=$kimage KMQ_MODDIR=$moddir "$LIB/mkinitramfs.sh" "$krel" "$initrd" ||
	die "cannot build $initrd"
# Boot the uncompressed kernel through PVH when possible (much faster).
if [ -z "$kimage" ]; then
	kimage=$TOP/build/vm/vmlinux-$krel
	if ! "$LIB/extract-vmlinux.sh" "/boot/vmlinuz-$krel" "$kimage"; then
		msg "cannot extract vmlinux from /boot/vmlinuz-$krel, booting it as is"
		kimage=/boot/vmlinuz-$krel
	fi
fi

# ------------------------------------------------------------ exchange dir
run=$(mktemp -d "${TMPDIR:-/tmp}/kmq-vm.XXXXXX") || die "mktemp failed"
xfer=$run/xfer
mkdir "$xfer"
conlog=$run/console.log
qpid=
timer=
cleanup() {
	[ -z "$timer" ] || kill "$timer" 2>/dev/null
	[ -z "$qpid" ] || kill "$qpid" 2>/dev/null
	rm -rf "$run"
}
trap cleanup EXIT

{
	echo "KMQ_TOP=$(shq "$TOP")"
	echo "KMQ_KERNEL=$(shq "$kshort")"
	echo "VM_MODNAME=$(shq "$modname")"
	echo "VM_NET=$([ -n "$hostfwd" ] && echo 1 || echo 0)"
	echo "KMQ_MODPARAMS=$(shq "${KMQ_MODPARAMS:-}")"
	echo "KMQ_NO_WAIT=$(shq "${KMQ_NO_WAIT:-0}")"
	echo "KMQ_WAIT_PORT=$(shq "${KMQ_WAIT_PORT:-1883}")"
} >"$xfer/config"
printf '%s\0' "$@" >"$xfer/argv"
# The debug kernel runs the selftests 2-3 times slower: more time for the
# guest and for each test (selftests/guest/harness.py).
if [ "$kshort" = debug ]; then
	: "${VM_TIMEOUT:=3600}" "${KMQ_TEST_TIMEOUT:=120}"
	export KMQ_TEST_TIMEOUT
fi
{
	for n in $(compgen -e); do
		case $n in
		KMQ_TOP | KMQ_KERNEL) ;;
		KMQ_MODULE) [ -n "$module" ] || printf '%s=%s\0' "$n" "${!n}" ;;
		KMQ_*) printf '%s=%s\0' "$n" "${!n}" ;;
		esac
	done
	printf '%s\0' "KMQ_TOP=$TOP" "KMQ_KERNEL=$kshort"
	# The guest sees the loaded module as this copy (the host path may be
	# hidden, e.g. under /tmp).
	[ -z "$module" ] || printf '%s\0' "KMQ_MODULE=/run/kmq-vm/module.ko"
} >"$xfer/env"
[ -z "$module" ] || cp "$module" "$xfer/module.ko" || die "cannot copy $module"

# ------------------------------------------------------------ QEMU
append="console=ttyS0,115200 panic_on_warn=1 oops=panic panic=-1"
if [ "$kernel" = debug ]; then
	# KASAN and KFENCE check every slab object already (red zones,
	# use-after-free, double free, with alloc/free stacks); slub_debug on
	# top only doubles the cost.  Caches stay apart, visible by name.
	append+=" slab_nomerge"
else
	append+=" slub_debug=FZPU"
fi
append+=" hung_task_panic=1 softlockup_panic=1"
# Boot speed: nothing below weakens the checks.
append+=" mitigations=off tsc=reliable no_timer_check cryptomgr.notests"
append+=" i8042.noaux i8042.nomux i8042.nopnp 8250.nr_uarts=1"
append+=" ${VM_APPEND:-}"

# QEMU option values escape "," as ",,".
qpath() { printf '%s' "${1//,/,,}"; }
p9=security_model=none,multidevs=remap
qemu=(qemu-system-x86_64
	-machine q35 -accel tcg,thread=multi -cpu max -smp "${VM_SMP:-2}" -m "${VM_MEM:-2048}"
	-nodefaults -nographic -no-reboot
	-kernel "$kimage" -initrd "$initrd" -append "$append"
	-chardev "file,id=kcon,path=$(qpath "$conlog")" -serial chardev:kcon
	-device virtio-serial-pci
	-chardev stdio,id=out,signal=off -device virtconsole,chardev=out
	-fsdev "local,id=fsroot,path=/,readonly=on,$p9"
	-device virtio-9p-pci,fsdev=fsroot,mount_tag=kmqroot
	-fsdev "local,id=fsrepo,path=$(qpath "$TOP"),$p9"
	-device virtio-9p-pci,fsdev=fsrepo,mount_tag=kmqrepo
	-fsdev "local,id=fsxfer,path=$(qpath "$xfer"),$p9"
	-device virtio-9p-pci,fsdev=fsxfer,mount_tag=kmqxfer
)
# shellcheck disable=SC2206
qemu+=(${VM_QEMU_ARGS:-})
if [ -n "$hostfwd" ]; then
	qemu+=(-netdev "user,id=n0,hostfwd=tcp:127.0.0.1:${hostfwd%%:*}-:${hostfwd##*:}"
		-device virtio-net-pci,netdev=n0)
fi

# First Ctrl-C/SIGTERM/SIGHUP: ask the guest to stop CMD (it still unloads
# the module and dumps its log) and give it VM_STOP_GRACE (30) s.  Second
# one: kill QEMU.
interrupted=
on_signal() {
	if [ -z "$interrupted" ]; then
		interrupted=$1
		msg "stopping the guest (again to kill it)"
		: >"$xfer/stop"
		sleep "${VM_STOP_GRACE:-30}" &
		timer=$!
	else
		msg "killing the guest"
		kill "$qpid" 2>/dev/null
	fi
}
trap 'on_signal INT' INT
trap 'on_signal TERM' TERM
trap 'on_signal HUP' HUP

vm_timeout=${VM_TIMEOUT:-1800}
t0=$(date +%s.%N)
# timeout(1) runs QEMU in its own process group: signals reach it only
# through the traps above.  stdin is /dev/null so the stdio chardev never
# touches the terminal.
timeout -k 10 "$vm_timeout" "${qemu[@]}" </dev/null &
qpid=$!
while :; do
	done_pid=
	# shellcheck disable=SC2086
	wait -n -p done_pid "$qpid" $timer
	st=$?
	if [ "${done_pid:-}" = "$qpid" ]; then
		qrc=$st
		break
	elif [ -n "$timer" ] && [ "${done_pid:-}" = "$timer" ]; then
		msg "the guest did not stop in time, killing it"
		timer=
		kill "$qpid" 2>/dev/null
	fi # else a trap interrupted the wait
done
qpid=
[ -z "$timer" ] || kill "$timer" 2>/dev/null
timer=
t1=$(date +%s.%N)

# ------------------------------------------------------------ verdict
status() { sed -n "s/^$1=//p" "$xfer/status" 2>/dev/null | tail -n 1; }
logfile=${VM_LOG:-$TOP/build/vm/console-$kshort.log}
# (renamed into place: concurrent runs each leave a complete log)
if tr -d '\r' <"$conlog" >"$logfile.$$" 2>/dev/null; then
	mv -f "$logfile.$$" "$logfile"
else
	rm -f "$logfile.$$"
	logfile=$conlog
fi

fail=
if [ "$qrc" = 124 ]; then
	fail="timed out after $vm_timeout s, guest killed"
elif [ ! -s "$conlog" ]; then
	die "QEMU failed to start (status $qrc)"
fi
if [ -z "$fail" ] && [ "$(status finished)" != 1 ]; then
	if [ -n "$interrupted" ]; then
		fail="interrupted (SIG$interrupted), guest killed before it finished"
	else
		fail="the guest died before finishing (QEMU status $qrc)"
	fi
fi
[ "$(status insmod)" = fail ] && fail="insmod $modname failed"
[ "$(status listen)" = timeout ] &&
	fail="nothing listened on TCP port ${KMQ_WAIT_PORT:-1883} within 20 s of insmod"
[ "$(status rmmod)" = fail ] && fail="${fail:+$fail; }rmmod $modname failed"

# Scan the console log and the guest's final dmesg (which survives even if
# the console dropped lines), each line once.
bad=$(cat "$logfile" "$xfer/dmesg.txt" 2>/dev/null | grep -E "$BAD_RE" |
	grep -Ev '\] (Kernel c|C)ommand line: ' | awk '!seen[$0]++')
if [ -n "$bad" ]; then
	fail="${fail:+$fail; }suspicious kernel log"
fi

# kmemleak (the debug kernel), scanned by the guest after the unload.
leaks=
if [ "$(status kmemleak)" = off ]; then
	fail="${fail:+$fail; }kmemleak could not scan (disabled itself?)"
elif [ -f "$xfer/kmemleak.txt" ]; then
	leaklog=$(dirname "$logfile")/kmemleak-$kshort.txt
	cp "$xfer/kmemleak.txt" "$leaklog" 2>/dev/null || leaklog=$xfer/kmemleak.txt
	leaks=$("$LIB/kmemleak-check.py" "$leaklog" "${modname:-kmqttd}" \
		${module:+"$xfer/module.ko" "$xfer/sections.txt"}) ||
		fail="${fail:+$fail; }kmemleak: ${modname:-kmqttd} leaked memory (all: $leaklog)"
fi

rc=$(status rc)
if [ -n "$fail" ]; then
	msg "FAILED: $fail"
	if [ -n "$bad" ]; then
		msg "offending kernel log lines:"
		printf '%s\n' "$bad" | head -n 40 >&2
	fi
	if [ -n "$leaks" ]; then
		msg "memory leaked by ${modname:-kmqttd} (kmemleak):"
		printf '%s\n' "$leaks" | head -n 80 >&2
	fi
	msg "---- tail of the guest kernel log ($logfile) ----"
	tail -n 60 "$logfile" >&2
	msg "---- end of kernel log ----"
	exit $HARNESS_FAIL
fi
[ -n "$rc" ] || die "no exit status from the guest"
[ "${VM_QUIET:-0}" = 1 ] ||
	msg "$krel: guest ok, command exit status $rc ($(awk -v a="$t0" -v b="$t1" \
		"BEGIN { printf \"%.1f\", b - a }") s in the VM, kernel log: $logfile)"
exit "$rc"
