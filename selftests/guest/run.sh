#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# kmqttd in-guest functional selftests.  Prints TAP and a final
# "# guest: P passed, F failed, S skipped" line; exits 1 on any failure.
#
#   run.sh [-l] [-v] [REGEX...]   -l: list tests, -v: diag for every test
#
# Environment: KMQ_HOST (127.0.0.1), KMQ_PORT (1883), KMQ_BROKER=kmqttd
# (enables kmqttd-only tests), KMQ_TOP (repo root, default ../..),
# KMQ_MODULE/KMQ_MODPARAMS (module reload test), KMQ_MQCTL (mqctl path),
# KMQ_TEST_TIMEOUT (per-test default, 60 s), KMQ_PYTHON (/usr/bin/python3).
dir=$(cd "$(dirname "$0")" && pwd)
KMQ_TOP=${KMQ_TOP:-$(cd "$dir/../.." && pwd)}
export KMQ_TOP
# in a guest with the module loaded, test kmqttd (and its own extras)
if [ -z "${KMQ_BROKER:-}" ] && [ -d /sys/module/kmqttd ]; then
	KMQ_BROKER=kmqttd
	export KMQ_BROKER
fi
export PYTHONDONTWRITEBYTECODE=1
exec "${KMQ_PYTHON:-/usr/bin/python3}" -B "$dir/runner.py" "$@"
