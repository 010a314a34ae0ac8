#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# vm.sh - run a command in a throw-away QEMU guest with kmqttd loaded.
#
# usage: selftests/vm.sh [--kernel 6.1|6.12|RELEASE] [--no-module]
#                        [--hostfwd HOSTPORT:GUESTPORT] [--] CMD [ARG...]
#
# Boots Debian's kernel with a tiny initramfs (selftests/lib/), the host's /
# mounted read-only over 9p as the guest root (tmpfs on /tmp /run /var/tmp
# /root /var/log /dev/shm) and this repository mounted read-write at the same
# path.  Then: insmod the module (unless --no-module), wait for a listener
# on TCP 1883, run CMD in the repo top, kill its leftovers, rmmod the module
# and scan the kernel log for warnings, oopses, leaks...
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
#   KMQ_*           every other KMQ_ variable is passed to CMD
#   VM_KERNEL       default for --kernel (6.1)
#   VM_MEM          guest memory in MiB (2048)
#   VM_SMP          guest CPUs (2)
#   VM_TIMEOUT      host-side limit in seconds (1800); the guest is killed
#   VM_APPEND       extra kernel command line
#   VM_QEMU_ARGS    extra QEMU arguments (word-split)
#   VM_LOG          where to save the guest kernel log
#                   (default build/vm/console-<kernel>.log)
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

# Kernel log lines that fail the run.
BAD_RE='WARNING:|BUG:|Oops|general protection|Kernel panic|kmqttd: LEAK|Objects remaining|hung_task|soft lockup|UBSAN|KASAN'

msg() { echo "$SELF: $*" >&2; }
die() { msg "$*"; exit $HARNESS_FAIL; }
usage() {
	sed -n 's/^# \{0,1\}//; 3,7p' "$0" >&2
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
case $kernel in
*.*.*) krel=$kernel ;;
*.*)
	krel=$(cd /boot && ls -d "vmlinuz-$kernel".[0-9]* 2>/dev/null |
		sed 's/^vmlinuz-//' | sort -V | tail -n 1)
	;;
*) die "bad --kernel '$kernel' (want 6.1, 6.12 or a full release)" ;;
esac
[ -n "$krel" ] && [ -r "/boot/vmlinuz-$krel" ] ||
	die "no readable /boot/vmlinuz for kernel '$kernel'"
[ -d "/lib/modules/$krel" ] || die "no /lib/modules/$krel"
kshort=$(echo "$krel" | cut -d. -f1,2)

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
"$LIB/mkinitramfs.sh" "$krel" "$initrd" || die "cannot build $initrd"
# Boot the uncompressed kernel through PVH when possible (much faster).
kimage=$TOP/build/vm/vmlinux-$krel
if ! "$LIB/extract-vmlinux.sh" "/boot/vmlinuz-$krel" "$kimage"; then
	msg "cannot extract vmlinux from /boot/vmlinuz-$krel, booting it as is"
	kimage=/boot/vmlinuz-$krel
fi

# ------------------------------------------------------------ exchange dir
run=$(mktemp -d "${TMPDIR:-/tmp}/kmq-vm.XXXXXX") || die "mktemp failed"
xfer=$run/xfer
mkdir "$xfer"
conlog=$run/console.log
qpid=
graceful=
cleanup() {
	[ -z "$graceful" ] || kill "$graceful" 2>/dev/null
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
{
	for n in $(compgen -e); do
		case $n in
		KMQ_TOP | KMQ_KERNEL) ;;
		KMQ_*) printf '%s=%s\0' "$n" "${!n}" ;;
		esac
	done
	printf '%s\0' "KMQ_TOP=$TOP" "KMQ_KERNEL=$kshort"
} >"$xfer/env"
[ -z "$module" ] || cp "$module" "$xfer/module.ko" || die "cannot copy $module"

# ------------------------------------------------------------ QEMU
append="console=ttyS0,115200 panic_on_warn=1 oops=panic panic=-1"
append+=" slub_debug=FZPU hung_task_panic=1 softlockup_panic=1"
# Boot speed: nothing below weakens the checks.
append+=" mitigations=off tsc=reliable no_timer_check cryptomgr.notests"
append+=" i8042.noaux i8042.nomux i8042.nopnp 8250.nr_uarts=1"
append+=" ${VM_APPEND:-}"

p9=security_model=none,multidevs=remap
qemu=(qemu-system-x86_64
	-machine q35 -accel tcg,thread=multi -cpu max -smp "${VM_SMP:-2}" -m "${VM_MEM:-2048}"
	-nodefaults -nographic -no-reboot
	-kernel "$kimage" -initrd "$initrd" -append "$append"
	-chardev "file,id=kcon,path=$conlog" -serial chardev:kcon
	-device virtio-serial-pci
	-chardev stdio,id=out,signal=off -device virtconsole,chardev=out
	-fsdev "local,id=fsroot,path=/,readonly=on,$p9"
	-device virtio-9p-pci,fsdev=fsroot,mount_tag=kmqroot
	-fsdev "local,id=fsrepo,path=$TOP,$p9"
	-device virtio-9p-pci,fsdev=fsrepo,mount_tag=kmqrepo
	-fsdev "local,id=fsxfer,path=$xfer,$p9"
	-device virtio-9p-pci,fsdev=fsxfer,mount_tag=kmqxfer
)
# shellcheck disable=SC2206
qemu+=(${VM_QEMU_ARGS:-})
if [ -n "$hostfwd" ]; then
	qemu+=(-netdev "user,id=n0,hostfwd=tcp:127.0.0.1:${hostfwd%%:*}-:${hostfwd##*:}"
		-device virtio-net-pci,netdev=n0)
fi

# First Ctrl-C/SIGTERM: ask the guest to stop CMD (it still unloads the
# module and dumps its log), and kill QEMU if that takes over 30 s.
# Second one: kill QEMU now.
interrupted=
on_signal() {
	if [ -z "$interrupted" ]; then
		interrupted=$1
		msg "stopping the guest (again to kill it)"
		: >"$xfer/stop"
		(timeout 30 tail --pid="$qpid" -f /dev/null || kill "$qpid") 2>/dev/null &
		graceful=$!
	else
		msg "killing the guest"
		kill "$qpid" 2>/dev/null
	fi
}
trap 'on_signal INT' INT
trap 'on_signal TERM' TERM
trap 'on_signal HUP' HUP

t0=$(date +%s.%N)
# timeout(1) runs QEMU in its own process group: signals reach it only
# through the traps above.  stdin is /dev/null so the stdio chardev never
# touches the terminal.
timeout -k 10 "${VM_TIMEOUT:-1800}" "${qemu[@]}" </dev/null &
qpid=$!
while :; do
	wait "$qpid"
	qrc=$?
	kill -0 "$qpid" 2>/dev/null || break # else: a trap interrupted wait
done
qpid=
t1=$(date +%s.%N)

# ------------------------------------------------------------ verdict
status() { sed -n "s/^$1=//p" "$xfer/status" 2>/dev/null | tail -n 1; }
logfile=${VM_LOG:-$TOP/build/vm/console-$kshort.log}
tr -d '\r' <"$conlog" >"$logfile" 2>/dev/null || logfile=$conlog

fail=
[ "$qrc" = 124 ] && fail="timed out after ${VM_TIMEOUT:-1800} s, guest killed"
if [ -z "$fail" ] && [ "$(status done)" != 1 ]; then
	fail="the guest died before finishing (QEMU status $qrc)"
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

rc=$(status rc)
if [ -n "$fail" ]; then
	msg "FAILED: $fail"
	if [ -n "$bad" ]; then
		msg "offending kernel log lines:"
		printf '%s\n' "$bad" | head -n 40 >&2
	fi
	msg "---- tail of the guest kernel log ($logfile) ----"
	tail -n 60 "$logfile" >&2
	msg "---- end of kernel log ----"
	exit $HARNESS_FAIL
fi
[ -n "$rc" ] || die "no exit status from the guest"
[ "${VM_QUIET:-0}" = 1 ] ||
	msg "$krel: ok, command status $rc ($(awk -v a="$t0" -v b="$t1" "BEGIN { printf \"%.1f\", b - a }") s in the VM, log in $logfile)"
exit "$rc"
