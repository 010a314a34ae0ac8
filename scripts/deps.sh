#!/bin/sh
# Install every Debian package kmqttd needs to build, test and run.
# Idempotent: does nothing when everything is present.
set -eu

PKGS="build-essential gcc make clang libclang-rt-14-dev llvm pkg-config
bc bison flex libelf-dev libssl-dev dwarves kmod cpio xz-utils
linux-image-amd64 linux-headers-amd64
linux-image-6.12-amd64 linux-headers-6.12-amd64 linux-source-6.12
qemu-system-x86 busybox-static
mosquitto mosquitto-clients python3 python3-paho-mqtt
libmnl-dev sparse python3-yaml python3-jsonschema iproute2 man-db"

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
		missing="$missing $p"
done
if [ -z "$missing" ]; then
	exit 0
fi
echo "deps: installing:$missing"
if [ "$(id -u)" != 0 ]; then
	echo "deps: run as root (or: sudo make deps)" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing
