#!/bin/busybox sh
# shellcheck shell=dash
# SPDX-License-Identifier: GPL-2.0
#
# /init of the selftests/vm.sh initramfs (runs as PID 1 under busybox sh).
#
# Loads the virtio/9p drivers, mounts the host's / read-only (9p tag
# "kmqroot") as the new root with tmpfs on the writable spots, mounts the
# repository (tag "kmqrepo") at its host path and the exchange directory
# (tag "kmqxfer") at /run/kmq-vm, then runs /kmq-runner.sh in a chroot and
# powers the machine off.  Everything it prints goes to the kernel console
# (ttyS0), never to the command's output channel (hvc0).
#
# PID 1 must never exit (that would panic the kernel), hence no "set -e".

export PATH=/bin:/sbin
NR=/newroot
X=$NR/run/kmq-vm
P9="trans=virtio,version=9p2000.L,msize=512000"

/bin/busybox mount -t devtmpfs -o mode=0755 devtmpfs /dev
exec </dev/console >/dev/console 2>&1

log() {
	read -r up _ </proc/uptime
	echo "kmq-init [$up]: $*"
}

# Power off; with -no-reboot QEMU exits.  Loop in case poweroff fails.
halt_vm() {
	sync
	while :; do
		poweroff -f
		sleep 1
	done
}

fatal() {
	log "FATAL: $*"
	halt_vm
}

mount -t proc proc /proc
mount -t sysfs sysfs /sys

while read -r m; do
	log "insmod $m"
	insmod "/lib/modules/$m" || fatal "insmod $m failed"
done </etc/kmq/modules.base

log "mounting the root"
mount -t 9p -o "$P9,ro,cache=loose" kmqroot $NR || fatal "cannot mount the host root"

# Kernel file systems and writable scratch space inside the new root.
mount -t proc proc $NR/proc
mount -t sysfs sysfs $NR/sys
mount -t devtmpfs -o mode=0755 devtmpfs $NR/dev
mkdir -p $NR/dev/pts $NR/dev/shm
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts $NR/dev/pts
mount -t tmpfs -o mode=1777 tmpfs $NR/dev/shm
mount -t debugfs debugfs $NR/sys/kernel/debug 2>/dev/null
for d in tmp:1777 var/tmp:1777 run:0755 root:0700 var/log:0755; do
	[ -d "$NR/${d%:*}" ] &&
		mount -t tmpfs -o "mode=${d#*:}" tmpfs "$NR/${d%:*}"
done

# Exchange directory: config, argv, env, module, status, logs.
mkdir -p $X
mount -t 9p -o "$P9,cache=none" kmqxfer $X || fatal "cannot mount the exchange dir"
[ -r $X/config ] || fatal "no $X/config"
# shellcheck source=/dev/null
. $X/config

# The repository, at the same absolute path as on the host.  If the path is
# hidden by one of the tmpfs above (e.g. a clone under /tmp), the mount point
# is created in that tmpfs.
mkdir -p "$NR$KMQ_TOP" 2>/dev/null
mount -t 9p -o "$P9,cache=mmap" kmqrepo "$NR$KMQ_TOP" ||
	fatal "cannot mount the repository at $KMQ_TOP"

log "repository mounted at $KMQ_TOP"
hostname kmq-vm
ip link set lo up

if [ "${VM_NET:-0}" = 1 ]; then
	while read -r m; do
		insmod "/lib/modules/$m" || fatal "insmod $m failed"
	done </etc/kmq/modules.net
	i=0
	while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 100 ]; do
		sleep 0.05
		i=$((i + 1))
	done
	ip addr add 10.0.2.15/24 dev eth0 || fatal "cannot configure eth0"
	ip link set eth0 up
	ip route add default via 10.0.2.2
fi

log "starting the runner"
cp /kmq-runner.sh $NR/run/kmq-runner.sh
chroot $NR /bin/bash /run/kmq-runner.sh </dev/null
log "runner exited with status $?"
umount "$NR$KMQ_TOP" 2>/dev/null
halt_vm
