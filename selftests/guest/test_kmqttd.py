# SPDX-License-Identifier: GPL-2.0
"""kmqttd-only: statistics (mqctl -j stats), leak check, module reload."""
import json
import os
import shlex
import subprocess
import time

import harness
from harness import Fail, check, check_eq, diag, skip, test, wait_for
from mqttlib import (Paho, Raw, connect_pkt, deltas, exchange_ok,
                     mqctl_path, stat, stats, topic, wait_quiet)

KEYS = ("conns_current conns_total conns_max msgs_in msgs_out bytes_in "
        "bytes_out pkts_in pkts_out msgs_dropped subs_current uptime").split()
LIVE = "conns sessions msgs subs nodes".split()
REFUSALS = ("bad_type bad_flags bad_length too_large bad_utf8 bad_protocol "
            "bad_level bad_connect bad_client_id bad_topic bad_filter bad_qos "
            "bad_packet_id empty_payload not_connected second_connect "
            "unexpected keepalive max_connections nomem max_subs queue_full "
            "slow_reader retain_full topic_limit keepalive_cap "
            "not_authorized bad_password unknown_user acl_publish "
            "acl_subscribe acl_delivery acl_will memory").split()

TEST_ORDER = 30  # files run in this order


def _check_deltas(d, want):
    bad = {k: (d.get(k), v) for k, v in want.items() if d.get(k) != v}
    if bad:
        diag("non-zero deltas: %s" % json.dumps(
            {k: v for k, v in d.items() if v and k != "uptime"},
            sort_keys=True))
        raise Fail("stats deltas (got, want): %r" % bad)


@test(kmqttd_only=True)
def stats_keys():
    s = stats()
    for k in KEYS:
        check(isinstance(stat(s, k), int), "stats key %s" % k)
    for k in LIVE:
        check(isinstance(stat(s, "live." + k), int), "stats key live.%s" % k)
    for k in REFUSALS:
        check(isinstance(stat(s, "refusals." + k), int),
              "stats key refusals.%s" % k)
    check(s["conns_max"] >= s["conns_current"], "conns_max >= conns_current")


@test(kmqttd_only=True)
def stats_raw_exact():
    """A raw client alone on the broker: CONNECT, SUBSCRIBE, N PUBLISH it
    receives back, PINGREQ, DISCONNECT.  Byte counters equal what went on
    the wire."""
    n = 10
    t = topic("stats")
    before = wait_quiet()
    r = Raw()
    r.connect(keepalive=30)
    r.subscribe(t)
    for i in range(n):
        r.publish(t, bytes([i]) * (100 + i))
    for i in range(n):
        check_eq(r.expect(3).payload, bytes([i]) * (100 + i), "message %d" % i)
    r.ping()
    r.disconnect()
    after = wait_quiet()
    d = deltas(before, after)
    diag("sent %d received %d" % (r.sent, r.received))
    _check_deltas(d, {
        "conns_total": 1, "conns_current": 0,
        "msgs_in": n, "msgs_out": n, "msgs_dropped": 0,
        "bytes_in": r.sent, "bytes_out": r.received,
        "pkts_in": n + 4, "pkts_out": n + 3,
        "subs_current": 0,
    })
    check_eq({k: v for k, v in d.items() if k.startswith("refusals.") and v},
             {}, "refusal deltas")
    check(after["conns_max"] >= 1, "conns_max >= 1")


@test(kmqttd_only=True)
def stats_paho_workload():
    """1 subscriber, 1 publisher, 10 messages of known size."""
    n, size = 10, 333
    t = topic("stats")
    before = wait_quiet()
    sub = Paho()
    sub.subscribe(t)
    mid = stats()
    check_eq(mid["conns_current"], 1, "conns_current with one client")
    check_eq(mid["subs_current"] - before["subs_current"], 1,
             "subs_current delta after one SUBSCRIBE")
    pub = Paho()
    for i in range(n):
        pub.publish(t, bytes([65 + i]) * size)
    msgs = sub.wait_msgs(n)
    check_eq([m.payload for m in msgs],
             [bytes([65 + i]) * size for i in range(n)], "payloads")
    pub.disconnect()
    sub.disconnect()
    after = wait_quiet()
    d = deltas(before, after)
    _check_deltas(d, {"conns_total": 2, "msgs_in": n, "msgs_out": n,
                      "msgs_dropped": 0, "subs_current": 0})
    wire = n * (2 + 2 + len(t) + size + 1)     # 2-byte remaining length
    check(d["bytes_in"] >= wire, "bytes_in delta %d < %d" % (d["bytes_in"],
                                                           wire))
    check(d["bytes_out"] >= wire, "bytes_out delta %d < %d" %
          (d["bytes_out"], wire))
    check(d["pkts_in"] >= n + 4, "pkts_in delta %d" % d["pkts_in"])
    check(d["pkts_out"] >= n + 3, "pkts_out delta %d" % d["pkts_out"])


@test(kmqttd_only=True)
def stats_refusal_then_counts_conn():
    """A refused connection still counts in conns_total and closes."""
    before = wait_quiet()
    r = Raw()
    r.send(b"\x30\x00")
    r.wait_closed()
    after = wait_quiet()
    _check_deltas(deltas(before, after), {"conns_total": 1,
                                          "refusals.not_connected": 1,
                                          "pkts_out": 0, "bytes_out": 0})


@test("live objects return to zero", kmqttd_only=True, order=90)
def live_zero():
    last = [None]

    def zero():
        last[0] = s = stats()
        vals = [stat(s, "live." + k) for k in ("conns", "subs", "sessions")]
        # retained messages ($SYS included) are the only messages left
        vals.append(stat(s, "live.msgs") - stat(s, "retained_current"))
        vals += [s["conns_current"], s["subs_current"]]
        return s if not any(vals) else None
    try:
        wait_for(zero, 10.0, "live objects == 0", 0.1)
    except Fail:
        diag("stats: %s" % json.dumps(last[0], sort_keys=True))
        raise


def _module_path():
    for ko in (os.environ.get("KMQ_MODULE"), "/run/kmq-vm/module.ko",
               os.path.join(harness.TOP, "build",
                            os.environ.get("KMQ_KERNEL", "-"), "kmqttd.ko")):
        if ko and os.path.isfile(ko):
            return ko
    return None


@test("kmqttd.rmmod with 50 clients, insmod, exchange", kmqttd_only=True,
      order=99, timeout=120)
def reload_module():
    """Runs last.  Module: $KMQ_MODULE, else the copy vm.sh loaded
    (/run/kmq-vm/module.ko), else build/$KMQ_KERNEL/kmqttd.ko."""
    ko = _module_path()
    if not ko:
        skip("no module file (KMQ_MODULE not set)")
    name = os.environ.get("KMQ_MODNAME", "kmqttd")
    with open("/proc/modules") as f:
        if not any(ln.split()[0] == name for ln in f):
            skip("module %s is not loaded on this machine" % name)
    params = shlex.split(os.environ.get("KMQ_MODPARAMS", ""))
    clients = [Raw() for _ in range(50)]
    for c in clients:
        c.send(connect_pkt(harness.cid()))
    t = topic("rm")
    for c in clients:
        check_eq(c.expect(2).body, b"\x00\x00", "CONNACK")
    for c in clients[:10]:
        c.subscribe(t)
    clients[10].publish(t, b"in flight")
    # Like vm.sh's final unload, allow a few seconds for a socket closed
    # by an earlier test to drop its reference; our 50 stay connected.
    deadline = time.monotonic() + 5
    while True:
        p = subprocess.run(["rmmod", name], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=60)
        if p.returncode == 0 or time.monotonic() > deadline:
            break
        diag("rmmod: %s" % p.stdout.decode(errors="replace").strip())
        time.sleep(0.5)
    check_eq(p.returncode, 0, "rmmod %s exit status (%s)" %
             (name, p.stdout.decode(errors="replace").strip()))
    try:
        open_ = 0
        for c in clients:
            try:
                c.wait_closed(10.0)
            except Fail:
                open_ += 1
        check_eq(open_, 0, "clients still connected after rmmod")
        # mqctl without the module: exit status 3 and a hint
        p = subprocess.run([mqctl_path(), "-j", "stats"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=30)
        check_eq((p.returncode, p.stdout), (3, b""),
                 "mqctl stats without the module (exit status, stdout)")
        check(b"mqctl: kmqttd is not loaded (try: modprobe kmqttd)"
              in p.stderr, "mqctl stderr: %r" % p.stderr)
    finally:
        p = subprocess.run(["insmod", ko] + params, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=60)
        check_eq(p.returncode, 0, "insmod %s %s (%s)" % (
            ko, " ".join(params), p.stdout.decode(errors="replace").strip()))
        check(harness.wait_port(20.0), "port %d not listening within 20s "
              "after insmod" % harness.PORT)
    exchange_ok("after reload")
    s = stats()
    check(s["conns_total"] >= 2, "stats after reload: conns_total %d" %
          s["conns_total"])
