"""kmqttd limits and settings ("mqctl set"), each checked against real
traffic: the broker refuses or drops exactly as documented and counts
it.  kmqttd-only."""

import json
import subprocess
import time

import harness
from harness import test, check, check_eq, on_cleanup, wait_for
from mqttlib import (mqctl_path, Raw, Paho, topic, cid, publish_pkt, clear_session,
                     clear_retained, session_id, stats, deltas, Closed,
                     exchange_ok, expect_refusal, ack_pkt, PUBACK, PUBLISH,
                     SUBACK, subscribe_pkt)

TEST_ORDER = 60

def mqctl(*args):
    p = subprocess.run([mqctl_path()] + [str(a) for a in args],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=30)
    check_eq(p.returncode, 0, "mqctl %s: %s" % (" ".join(map(str, args)),
                                                p.stderr.decode()[-300:]))
    return p.stdout


def set_param(name, value):
    """Set a setting for the rest of the test, then restore it."""
    old = json.loads(mqctl("-j", "get"))[name]
    if isinstance(old, bool):
        old = int(old)
    mqctl("set", name, value)
    on_cleanup(lambda: mqctl("set", name, old))


@test(kmqttd_only=True)
def max_topic_levels_publish_closes():
    set_param("max_topic_levels", 3)
    r = Raw()
    r.connect()
    with expect_refusal("topic_limit"):
        r.send(publish_pkt("a/b/c/d", b"deep"))
        r.wait_closed()
    exchange_ok()


@test(kmqttd_only=True)
def max_topic_levels_subscribe_0x80():
    set_param("max_topic_levels", 3)
    r = Raw()
    r.connect()
    with expect_refusal("topic_limit"):
        check_eq(r.subscribe(["a/b/c/d", "a/b/c"]), [0x80, 0],
                 "SUBACK codes")
    r.disconnect()


@test(kmqttd_only=True)
def max_topic_length():
    set_param("max_topic_length", 10)
    r = Raw()
    r.connect()
    with expect_refusal("topic_limit"):
        check_eq(r.subscribe(["x" * 11, "x" * 10]), [0x80, 0],
                 "SUBACK codes")
    with expect_refusal("topic_limit"):
        r.send(publish_pkt("y" * 11, b"long"))
        r.wait_closed()


@test(kmqttd_only=True)
def max_subscriptions_per_client():
    set_param("max_subscriptions", 2)
    r = Raw()
    r.connect()
    t = topic("subs")
    with expect_refusal("max_subs"):
        check_eq(r.subscribe([t + "/1", t + "/2", t + "/3"]), [0, 0, 0x80],
                 "SUBACK codes")
    # replacing an existing subscription is not a new one
    check_eq(r.subscribe([t + "/1"]), [0], "re-subscribe")
    r.disconnect()


@test(kmqttd_only=True)
def max_packet_size():
    set_param("max_packet_size", 1000)
    t = topic("size")
    s = Paho()
    s.subscribe(t)
    r = Raw()
    r.connect()
    r.send(publish_pkt(t, b"a" * 900))
    check_eq(s.wait_msgs(1)[0].payload, b"a" * 900, "900-byte payload")
    with expect_refusal("too_large"):
        r.send(publish_pkt(t, b"b" * 2000))
        r.wait_closed()


@test(kmqttd_only=True)
def max_connections():
    before = stats()["conns_current"]
    set_param("max_connections", before + 2)
    a, b = Raw(), Raw()
    a.connect()
    b.connect()
    with expect_refusal("max_connections"):
        try:
            c = Raw()
            c.wait_closed()
        except ConnectionError:
            pass        # reset while connect() was returning
    a.disconnect()
    b.disconnect()


@test(kmqttd_only=True)
def inflight_window_limits_unacked():
    """max_inflight_messages 2: a subscriber that does not acknowledge gets
    exactly 2 QoS 1 messages, the rest after its PUBACKs, in order."""
    set_param("max_inflight", 2)
    t = topic("win")
    s = Raw()
    s.connect()
    s.subscribe([(t, 1)], codes=[1])
    p = Raw()
    p.connect()
    for i in range(5):
        p.pub(t, b"m%d" % i, qos=1)
    first = s.collect(n=2, ack=False)
    check_eq([m.payload for m in first], [b"m0", b"m1"], "first window")
    try:
        extra = s.recv_packet(timeout=0.5)
    except TimeoutError:
        extra = None
    check(extra is None, "nothing beyond the window: %r" % (extra,))
    for m in first:
        s.send(ack_pkt(PUBACK, m.pid))
    rest = s.collect(n=3)
    check_eq([m.payload for m in rest], [b"m2", b"m3", b"m4"], "the rest")
    s.disconnect()
    p.disconnect()


@test(kmqttd_only=True)
def queue_full_drops_qos0_first():
    """max_queued_messages 3 and an unacknowledged QoS 1 in flight
    (window 1): three QoS 0 messages queue up, then a QoS 1 message evicts
    the oldest QoS 0 one, and a further QoS 0 one is refused."""
    set_param("max_inflight", 1)
    set_param("max_queued", 3)
    set_param("publish_hold", 0)        # the bound itself, not flow control
    t = topic("full")
    s = Raw()
    s.connect()
    s.subscribe([(t, 1)], codes=[1])
    p = Raw()
    p.connect()
    before = stats()
    p.pub(t, b"q1-a", qos=1)
    head = s.collect(n=1, ack=False)[0]
    for i in range(3):
        p.pub(t, b"q0-%d" % i)
    p.pub(t, b"q1-b", qos=1)     # evicts q0-0
    p.pub(t, b"q0-late")         # refused: the queue is full of 2 q0 + q1
    p.ping()
    d = deltas(before, stats())
    check_eq(d["msgs_dropped"], 2, "dropped deliveries")
    check_eq(d["refusals.queue_full"], 2, "queue_full refusals")
    s.send(ack_pkt(PUBACK, head.pid))
    rest = s.collect(n=3)
    check_eq([m.payload for m in rest], [b"q0-1", b"q0-2", b"q1-b"],
             "order after the head was acknowledged")
    s.disconnect()
    p.disconnect()


@test(kmqttd_only=True)
def retain_max_count():
    # $SYS topics are retained messages too
    set_param("sys_interval", 0)
    set_param("retain_max", stats()["retained_current"] + 2)
    base = topic("rmax")
    ts = [base + "/%d" % i for i in range(3)]
    on_cleanup(lambda: clear_retained(*ts))
    p = Raw()
    p.connect()
    p.pub(ts[0], b"r0", retain=True)
    p.pub(ts[1], b"r1", retain=True)
    with expect_refusal("retain_full"):
        p.pub(ts[2], b"r2", retain=True)
        p.ping()
    # replacing an existing one is still allowed
    p.pub(ts[1], b"r1b", retain=True)
    p.disconnect()
    s = Raw()
    s.connect()
    s.subscribe([base + "/#"])
    got = s.collect(n=2)
    check_eq(sorted(m.payload for m in got), [b"r0", b"r1b"], "retained")
    check(all(m.retain for m in got), "RETAIN set")
    s.disconnect()


@test(kmqttd_only=True)
def retain_disabled():
    set_param("retain_available", 0)
    t = topic("noret")
    on_cleanup(lambda: clear_retained(t))
    p = Raw()
    p.connect()
    p.pub(t, b"not stored", retain=True)
    p.disconnect()
    s = Raw()
    s.connect()
    s.subscribe([t])
    s.send(publish_pkt(t, b"sentinel"))
    check_eq([m.payload for m in s.collect(n=1)], [b"sentinel"],
             "no retained message first")
    s.disconnect()


@test(kmqttd_only=True, timeout=60)
def session_expiry():
    # 3 s: the "kept" check must come before the expiry even on a busy host
    set_param("session_expiry", 3)
    x = session_id()
    on_cleanup(lambda: clear_session(x))
    a = Raw()
    a.connect(x, clean=False)
    a.subscribe([topic("exp")])
    a.disconnect()
    live = stats()["live"]["sessions"]
    check(live >= 1, "session kept after disconnect")
    wait_for(lambda: stats()["live"]["sessions"] < live, 10.0,
             "session expired")
    b = Raw()
    p = b.connect(x, clean=False)
    check_eq(p.body[0], 0, "session present after expiry")
    b.disconnect()


@test(kmqttd_only=True)
def connect_timeout():
    set_param("connect_timeout", 1)
    t0 = time.monotonic()
    with expect_refusal("keepalive"):
        r = Raw()
        r.wait_closed(timeout=10)
    el = time.monotonic() - t0
    check(0.8 <= el <= 5.0, "closed after %.2f s" % el)


@test(kmqttd_only=True)
def listener_max_connections():
    """A listener's own max_connections: the fourth connection through a
    listener capped at 3 is closed at accept (max_connections); listener
    list shows the count and the cap; the default listener is unaffected."""
    port = 18830 + harness._test_no[0] % 100
    mqctl("listener", "add", "127.0.0.1:%d" % port, "max_connections", 3)
    on_cleanup(lambda: mqctl("listener", "del", "127.0.0.1:%d" % port))
    rs = []
    for _ in range(3):
        r = Raw(port=port)
        r.connect()
        rs.append(r)
    lst = [x for x in json.loads(mqctl("-j", "listener", "list"))
           if x["port"] == port]
    check_eq([(x["conns"], x["max_conns"]) for x in lst], [(3, 3)],
             "listener (conns, max_conns)")
    with expect_refusal("max_connections"):
        try:
            Raw(port=port).wait_closed()
        except ConnectionError:
            pass
    exchange_ok("on the default listener")
    rs[0].bye()
    wait_for(lambda: [x["conns"] for x in json.loads(
        mqctl("-j", "listener", "list")) if x["port"] == port] == [2],
        10.0, "listener conns 2")
    r = Raw(port=port)
    r.connect()
    r.disconnect()


@test(kmqttd_only=True)
def max_queued_bytes():
    """max_queued_bytes 2500 and one unacknowledged QoS 1 message in
    flight (window 1): two 1000-byte messages queue up, a third is
    dropped (queue_full) whatever its QoS; the rest arrive after the
    PUBACK."""
    set_param("max_inflight", 1)
    set_param("max_queued_bytes", 2500)
    set_param("publish_hold", 0)        # the bound itself, not flow control
    t = topic("qbytes")
    s = Raw()
    s.connect()
    s.subscribe([(t, 1)], codes=[1])
    p = Raw()
    p.connect()
    before = stats()
    p.pub(t, b"h" * 1000, qos=1)
    head = s.collect(n=1, ack=False)[0]
    p.pub(t, b"a" * 1000, qos=1)
    p.pub(t, b"b" * 1000)
    p.pub(t, b"c" * 1000, qos=1)         # 3 x (1000 + topic) > 2500
    p.ping()
    d = deltas(before, stats())
    check_eq((d["msgs_dropped"], d["refusals.queue_full"]), (1, 1),
             "(dropped, queue_full)")
    s.send(ack_pkt(PUBACK, head.pid))
    rest = s.collect(n=2)
    check_eq([m.payload[:1] for m in rest], [b"a", b"b"], "queued ones")
    s.disconnect()
    p.disconnect()


@test(kmqttd_only=True)
def max_memory():
    """At the namespace's max_memory a PUBLISH is dropped (still
    acknowledged), a new session gets CONNACK 0x03, a SUBSCRIBE 0x80;
    each counted as refusal memory.  Below it all works again."""
    set_param("sys_interval", 0)
    t = topic("mem")
    s = Raw()
    s.connect()
    s.subscribe([t])
    p = Raw()
    p.connect()
    used = stats()["mem_used"]
    # room for the receive buffer of a 30 kB packet (32 kB), not for
    # the message as well
    set_param("max_memory", used + 45000)
    with expect_refusal("memory"):
        p.pub(t, b"m" * 30000, qos=1)       # PUBACK, not routed
    p.pub(t, b"small", qos=1)
    check_eq([m.payload for m in s.collect(n=1)], [b"small"],
             "only the small message")
    mqctl("set", "max_memory", stats()["mem_used"])
    with expect_refusal("memory"):
        Raw().connect(rc=3)
    with expect_refusal("memory"):
        check_eq(s.subscribe([t + "/more"]), [0x80], "SUBACK at the cap")
    mqctl("set", "max_memory", 0)
    Raw().connect()
    p.pub(t, b"m" * 30000, qos=1)
    check_eq(len(s.collect(n=1)[0].payload), 30000, "big message")
    s.disconnect()
    p.disconnect()


# ---- flow control (publish_hold, Documentation/kmqttd.rst) ----

N_FLOW = 300


def _flow_run(hold_ms, ack_after, own=False):
    """A publisher pipelines N_FLOW QoS 1 messages (not waiting for any
    PUBACK) to a subscriber at QoS 1 whose window (10) and queue (50) are
    small and which acknowledges nothing for ack_after seconds.  Returns
    (payloads the subscriber got, stats deltas, seconds until the
    publisher had every PUBACK).  own: the publisher is its own
    subscriber (it reads its PUBACKs, and acknowledges late)."""
    set_param("max_inflight", 10)
    set_param("max_queued", 50)
    set_param("publish_hold", hold_ms)
    t = topic("flow")
    p = Raw()
    p.connect()
    if own:
        s = p
    else:
        s = Raw()
        s.connect()
    s.subscribe([(t, 1)], codes=[1])
    before = stats()
    t0 = time.monotonic()
    p.send(b"".join(publish_pkt(t, b"m%d" % i, qos=1, pid=i + 1)
                    for i in range(N_FLOW)))
    got, acked = [], set()
    deadline = t0 + ack_after
    acks_done = None
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        try:
            pk = (p if not own else s).recv_packet(timeout=min(left, 0.2))
        except TimeoutError:
            continue
        if pk.type == PUBACK:
            acked.add(pk.pid)
            if len(acked) == N_FLOW and acks_done is None:
                acks_done = time.monotonic() - t0
        elif pk.type == PUBLISH:
            got.append(pk)
    # late subscriber: acknowledge what it has, then read the rest
    for pk in got:
        s.send(ack_pkt(PUBACK, pk.pid))
    rest_deadline = time.monotonic() + 20.0
    while time.monotonic() < rest_deadline and len(got) < N_FLOW:
        try:
            pk = s.recv_packet(timeout=3.0)
        except TimeoutError:
            break               # drained (or dropped)
        if pk.type == PUBLISH:
            got.append(pk)
            s.send(ack_pkt(PUBACK, pk.pid))
        elif pk.type == PUBACK:
            acked.add(pk.pid)
    if not own:
        while len(acked) < N_FLOW:
            pk = p.expect(PUBACK, timeout=20.0)
            acked.add(pk.pid)
        if acks_done is None:
            acks_done = time.monotonic() - t0
    p.ping()
    d = deltas(before, stats())
    payloads = [pk.payload for pk in got]
    if not own:
        s.disconnect()
    p.disconnect()
    return payloads, d, acks_done


@test(kmqttd_only=True, timeout=90)
def publish_hold_loses_nothing():
    """A publisher far faster than its subscriber (which acknowledges
    nothing for 1.5 s, with a window of 10 and a queue of 50): with
    publish_hold the publisher is held back and every one of 300 messages
    arrives, in order, none dropped; with publish_hold 0 the queue drops
    them (so this test can fail)."""
    want = [b"m%d" % i for i in range(N_FLOW)]
    got, d, _ = _flow_run(5000, 1.5)
    harness.diag("held: %d holds, %d dropped, %d of %d delivered"
                 % (d["publish_holds"], d["msgs_dropped"], len(got), N_FLOW))
    check_eq(d["msgs_dropped"], 0, "dropped with publish_hold")
    check(d["publish_holds"] >= 1, "publish_holds counted")
    check_eq(got, want, "every message, in order")
    got, d, _ = _flow_run(0, 1.5)
    harness.diag("not held: %d holds, %d dropped, %d delivered"
                 % (d["publish_holds"], d["msgs_dropped"], len(got)))
    check_eq(d["publish_holds"], 0, "no hold with publish_hold 0")
    # all 240 beyond window and queue, unless a slow (sanitizer) kernel
    # had not read them all before the subscriber began to acknowledge
    check(d["msgs_dropped"] > 0, "nothing dropped without publish_hold")
    check_eq(len(got) + d["msgs_dropped"], N_FLOW, "delivered + dropped")
    check_eq(d["refusals.queue_full"], d["msgs_dropped"], "queue_full")


@test(kmqttd_only=True, timeout=90)
def publish_hold_ends():
    """A subscriber that acknowledges nothing for 8 s holds its publisher
    for publish_hold (300 ms), not longer: the publisher gets all 300
    PUBACKs within a few seconds and the queue drops the rest."""
    got, d, acks_done = _flow_run(300, 8.0)
    harness.diag("%d holds, %d dropped, %d delivered; publisher's PUBACKs "
                 "complete after %.2f s" % (d["publish_holds"],
                                            d["msgs_dropped"], len(got),
                                            acks_done))
    check(d["publish_holds"] >= 1, "publish_holds counted")
    check(acks_done is not None and acks_done < 5.0,
          "publisher stalled %r s" % acks_done)
    check(d["msgs_dropped"] > 0, "nothing dropped after the hold")
    check_eq(len(got) + d["msgs_dropped"], N_FLOW, "delivered + dropped")


@test(kmqttd_only=True, timeout=90)
def publish_hold_not_for_own_queue():
    """A client subscribed to what it publishes, acknowledging late: its
    own full queue never holds it (it must read its acknowledgements to
    drain it); the overflow is dropped at once, as without flow control."""
    got, d, _ = _flow_run(5000, 1.5, own=True)
    harness.diag("own queue: %d holds, %d dropped, %d delivered"
                 % (d["publish_holds"], d["msgs_dropped"], len(got)))
    check_eq(d["publish_holds"], 0, "held by its own queue")
    check(d["msgs_dropped"] > 0, "its own queue overflowed")
