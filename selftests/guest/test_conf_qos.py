# SPDX-License-Identifier: GPL-2.0
"""MQTT 3.1.1 conformance: QoS flows in both directions (4.3, 4.4),
packet identifiers of outbound messages (2.3.1-4), DUP on re-delivery
(3.3.1-1), QoS downgrade (3.8.4-6), in-flight completion after
UNSUBSCRIBE (3.10.4-3), message ordering (4.6)."""
import time

from harness import Fail, check, check_eq, diag, test
from mqttlib import (CONNACK, PUBACK, PUBCOMP, PUBLISH, PUBREC, PUBREL,
                     UNSUBACK, Raw, ack_pkt, connect_pkt, publish_pkt,
                     session_id, topic, unsubscribe_pkt)

TEST_ORDER = 46  # files run in this order

MOSQUITTO_DEVIATIONS = {
    "MQTT-4.3.3-2d": "drops incoming QoS 2 messages beyond 20 (its "
                     "max_inflight_messages) awaiting PUBREL, yet completes "
                     "their flows",
}

RESUMED = b"\x20\x02\x01\x00"


def _sub(filters, ident=None, clean=True):
    s = Raw()
    s.connect(ident, clean=clean)
    s.subscribe(filters)
    return s


def _pub():
    p = Raw()
    p.connect()
    return p


def _resume(ident):
    """Reconnect a stored session; CONNACK must come first."""
    r = Raw()
    r.send(connect_pkt(ident, clean=False))
    check_eq(r.expect(CONNACK).raw, RESUMED, "CONNACK (first packet)")
    return r


def _pipeline(p, msgs, batch=None):
    """Send [(topic, payload, qos)] back to back (packet ids 1..n), then
    complete every flow; the broker must acknowledge each exactly once.
    batch: at most that many at a time."""
    if batch:
        for i in range(0, len(msgs), batch):
            _pipeline(p, msgs[i:i + batch])
        return
    data = b"".join(publish_pkt(t, pl, q, pid=(i + 1) if q else None)
                    for i, (t, pl, q) in enumerate(msgs))
    p.send(data)
    open_ = {i + 1: q for i, (_, _, q) in enumerate(msgs) if q}
    while open_:
        a = p.recv_packet()
        check(a.pid in open_, "unexpected %r" % a)
        if a.type == PUBACK:
            check_eq(open_.pop(a.pid), 1, "QoS of the PUBACKed message")
        elif a.type == PUBREC:
            check_eq(open_[a.pid], 2, "QoS of the PUBRECed message")
            open_[a.pid] = "rel"
            p.send(ack_pkt(PUBREL, a.pid))
        elif a.type == PUBCOMP:
            check_eq(open_.pop(a.pid), "rel", "PUBCOMP after PUBREL")
        else:
            raise Fail("unexpected %r" % a)


# ------------------------------------------------------------ outbound

@test("MQTT-4.3.1-1 outbound QoS 0: QoS 0, DUP 0")
def out_qos0():
    t = topic("q0")
    s = _sub([(t, 2)])
    _pub().pub(t, b"zero", qos=0)
    m = s.collect(n=1)[0]
    check_eq(m.raw, publish_pkt(t, b"zero"), "PUBLISH bytes")


@test("MQTT-4.3.2-1 outbound QoS 1: new packet id, DUP 0, not re-sent "
      "after PUBACK")
def out_qos1():
    t = topic("q1")
    s = _sub([(t, 1)])
    p = _pub()
    p.pub(t, b"one", qos=1)
    m = s.collect(n=1, ack=False)[0]
    check_eq((m.payload, m.qos, m.dup), (b"one", 1, False),
             "(payload, qos, dup)")
    check(m.pid != 0, "packet id 0")
    s.send(ack_pkt(PUBACK, m.pid))
    p.pub(t, b"two", qos=1)
    check_eq([x.payload for x in s.collect(n=1)], [b"two"], "next PUBLISH")


@test("MQTT-4.3.3-1 outbound QoS 2: PUBREC answered by PUBREL with the "
      "same id")
def out_qos2():
    t = topic("q2")
    s = _sub([(t, 2)])
    p = _pub()
    p.pub(t, b"two", qos=2)
    m = s.collect(n=1, ack=False)[0]
    check_eq((m.payload, m.qos, m.dup), (b"two", 2, False),
             "(payload, qos, dup)")
    check(m.pid != 0, "packet id 0")
    s.send(ack_pkt(PUBREC, m.pid))
    check_eq(s.expect(PUBREL).raw, ack_pkt(PUBREL, m.pid), "PUBREL")
    s.send(ack_pkt(PUBCOMP, m.pid))
    p.pub(t, b"next", qos=2)
    check_eq([x.payload for x in s.collect(n=1)], [b"next"],
             "next PUBLISH (no re-send)")


@test("MQTT-2.3.1-4 outbound packet ids are non-zero and unique among "
      "unacknowledged messages")
def out_unique_ids():
    """12 messages, QoS 1 and 2 alternating, to a subscriber that does not
    acknowledge; if the broker stops sending (in-flight window), the
    oldest is acknowledged after 1 s of silence."""
    n = 12
    t = topic("ids")
    s = _sub([(t, 2)])
    p = _pub()
    for i in range(n):
        p.pub(t, b"m%d" % i, qos=1 + i % 2)
    inflight = {}       # pid -> 1, 2 (unacknowledged) or "rel"
    order = []

    def acknowledge(pids):
        for pid in pids:
            if inflight[pid] == 1:
                s.send(ack_pkt(PUBACK, pid))
                del inflight[pid]
            else:
                s.send(ack_pkt(PUBREC, pid))
                inflight[pid] = "rel"

    while len(order) < n or inflight:
        unacked = [pid for pid, q in inflight.items() if q in (1, 2)]
        if len(order) == n and unacked:
            acknowledge(unacked)
            continue
        try:
            m = s.recv_packet(1.0)
        except TimeoutError:
            check(unacked, "broker stalled after %d of %d messages with "
                  "nothing left to acknowledge" % (len(order), n))
            acknowledge(unacked[:1])
            continue
        if m.type == PUBREL:
            check_eq(inflight.get(m.pid), "rel", "PUBREL for id %d" % m.pid)
            s.send(ack_pkt(PUBCOMP, m.pid))
            del inflight[m.pid]
            continue
        check_eq(m.type, PUBLISH, "packet type")
        check(m.pid != 0, "packet id 0")
        check(m.pid not in inflight, "packet id %d reused while "
              "unacknowledged (%r)" % (m.pid, inflight))
        inflight[m.pid] = m.qos
        order.append(m.pid)
    diag("ids: %r" % order)


@test("MQTT-3.3.1-1 a re-delivered PUBLISH has DUP=1 (QoS 2, reconnect)")
def redelivery_dup():
    x, t = session_id(), topic("dup")
    s = _sub([(t, 2)], x, clean=False)
    _pub().pub(t, b"again", qos=2)
    first = s.collect(n=1, ack=False)[0]
    check_eq((first.qos, first.dup), (2, False), "first (qos, dup)")
    s.hangup()
    s = _resume(x)
    m = s.collect(n=1, ack=False)[0]
    check_eq((m.payload, m.qos, m.dup, m.pid),
             (b"again", 2, True, first.pid), "re-sent (payload, qos, dup, id)")
    s.send(ack_pkt(PUBREC, m.pid))
    check_eq(s.expect(PUBREL).raw, ack_pkt(PUBREL, m.pid), "PUBREL")
    s.send(ack_pkt(PUBCOMP, m.pid))
    s.bye()


def _inflight(s, n):
    """Read up to n PUBLISHes without acknowledging them; fewer if the
    broker stops for 1 s (an in-flight window smaller than n)."""
    got = s.collect(n=1, ack=False)
    while len(got) < n:
        try:
            got += s.collect(n=1, ack=False, timeout=1.0)
        except Fail:
            diag("in-flight window: %d" % len(got))
            break
    return got


def _check_resent(s, first, payloads):
    """After reconnecting: the unacknowledged PUBLISHes `first` come
    again, in order, with their ids and DUP=1, then the rest of
    payloads."""
    again = s.collect(n=len(payloads))
    check_eq([(m.payload, m.pid, m.dup) for m in again[:len(first)]],
             [(m.payload, m.pid, True) for m in first],
             "re-sent (payload, id, dup)")
    check_eq([m.payload for m in again], payloads, "all messages, in order")


@test("MQTT-4.4.0-1a unacknowledged QoS 1 PUBLISHes re-sent on reconnect "
      "with their ids")
def resend_qos1():
    x, t = session_id(), topic("re")
    s = _sub([(t, 1)], x, clean=False)
    p = _pub()
    payloads = [b"m%d" % i for i in range(3)]
    for pl in payloads:
        p.pub(t, pl, qos=1)
    first = _inflight(s, 3)
    s.hangup()
    s = _resume(x)
    _check_resent(s, first, payloads)
    p.pub(t, b"sentinel", qos=1)
    check_eq(s.collect(until=b"sentinel"), [], "more deliveries")
    s.bye()


@test("MQTT-4.4.0-1b PUBREL (not the PUBLISH) re-sent on reconnect after "
      "PUBREC")
def resend_pubrel():
    x, t = session_id(), topic("re")
    s = _sub([(t, 2)], x, clean=False)
    p = _pub()
    p.pub(t, b"once", qos=2)
    m = s.collect(n=1, ack=False)[0]
    s.send(ack_pkt(PUBREC, m.pid))
    check_eq(s.expect(PUBREL).raw, ack_pkt(PUBREL, m.pid), "PUBREL")
    s.hangup()
    s = _resume(x)
    check_eq(s.expect(PUBREL).raw, ack_pkt(PUBREL, m.pid),
             "first packet after CONNACK")
    s.send(ack_pkt(PUBCOMP, m.pid))
    p.pub(t, b"sentinel", qos=2)
    check_eq(s.collect(until=b"sentinel"), [], "deliveries (no re-send)")
    s.bye()


@test("MQTT-4.6.0-1 re-sent PUBLISH packets keep their original order")
def resend_order():
    x, t = session_id(), topic("re")
    s = _sub([(t, 2)], x, clean=False)
    p = _pub()
    payloads = [b"m%d" % i for i in range(6)]
    for i, pl in enumerate(payloads):
        p.pub(t, pl, qos=1 + i % 2)
    first = _inflight(s, 6)
    s.hangup()
    s = _resume(x)
    _check_resent(s, first, payloads)
    s.bye()


@test("MQTT-3.8.4-6 delivered QoS = min(published QoS, granted QoS)")
def downgrade():
    t = topic("min")
    subs = [_sub([(t, q)]) for q in (0, 1, 2)]
    p = _pub()
    for q in (0, 1, 2):
        p.pub(t, b"p%d" % q, qos=q)
    for g, s in enumerate(subs):
        got = sorted((m.payload, m.qos) for m in s.collect(n=3))
        check_eq(got, [(b"p%d" % q, min(q, g)) for q in (0, 1, 2)],
                 "QoS %d subscriber (payload, qos)" % g)


@test("MQTT-3.10.4-3 UNSUBSCRIBE: in-flight QoS 2 delivery is completed")
def unsubscribe_completes():
    t = topic("uns")
    s = _sub([(t, 2)])
    _pub().pub(t, b"inflight", qos=2)
    m = s.collect(n=1, ack=False)[0]
    s.send(unsubscribe_pkt(9, [t]))
    check_eq(s.expect(UNSUBACK).raw, ack_pkt(UNSUBACK, 9), "UNSUBACK")
    s.send(ack_pkt(PUBREC, m.pid))
    check_eq(s.expect(PUBREL).raw, ack_pkt(PUBREL, m.pid), "PUBREL")
    s.send(ack_pkt(PUBCOMP, m.pid))
    s.ping()


# ------------------------------------------------------------ inbound

@test("MQTT-4.3.2-2 after PUBACK the same packet id is a new publication")
def in_qos1_reuse():
    t = topic("in1")
    s = _sub([(t, 1)])
    p = _pub()
    p.pub(t, b"a", qos=1, pid=5)
    p.pub(t, b"a", qos=1, pid=5, dup=True)
    p.pub(t, b"sentinel", qos=1, pid=5)
    check_eq([m.payload for m in s.collect(until=b"sentinel")],
             [b"a", b"a"], "deliveries")


@test("MQTT-4.3.3-2a QoS 2 re-sent (DUP) before PUBREL: PUBREC again, "
      "delivered once")
def in_qos2_dup():
    t = topic("in2")
    s = _sub([(t, 2)])
    p = _pub()
    p.send(publish_pkt(t, b"x", qos=2, pid=9))
    check_eq(p.expect(PUBREC).raw, ack_pkt(PUBREC, 9), "PUBREC")
    p.send(publish_pkt(t, b"x", qos=2, pid=9, dup=True))
    check_eq(p.expect(PUBREC).raw, ack_pkt(PUBREC, 9), "PUBREC (re-send)")
    p.send(ack_pkt(PUBREL, 9))
    check_eq(p.expect(PUBCOMP).raw, ack_pkt(PUBCOMP, 9), "PUBCOMP")
    p.pub(t, b"sentinel", qos=2, pid=10)
    check_eq([m.payload for m in s.collect(until=b"sentinel")], [b"x"],
             "deliveries")


@test("MQTT-4.3.3-2b after PUBCOMP the same packet id is a new publication")
def in_qos2_reuse():
    t = topic("in2")
    s = _sub([(t, 2)])
    p = _pub()
    p.pub(t, b"x1", qos=2, pid=9)
    p.pub(t, b"x2", qos=2, pid=9)
    p.pub(t, b"sentinel", qos=2, pid=9)
    check_eq([m.payload for m in s.collect(until=b"sentinel")],
             [b"x1", b"x2"], "deliveries")


@test("MQTT-4.3.3-2c PUBREL for an unknown packet id is answered with "
      "PUBCOMP")
def in_pubrel_unknown():
    r = _pub()
    r.send(ack_pkt(PUBREL, 0x4242))
    check_eq(r.expect(PUBCOMP).raw, ack_pkt(PUBCOMP, 0x4242), "PUBCOMP")
    r.bye()


@test("MQTT-4.3.3-2d 40 QoS 2 PUBLISHes sent before any PUBREL are all "
      "delivered")
def in_qos2_pipelined():
    t = topic("in2")
    s = _sub([(t, 2)])
    p = _pub()
    n = 40
    _pipeline(p, [(t, b"%d" % i, 2) for i in range(n)])
    p.pub(t, b"sentinel", qos=2, pid=n + 1)
    got = [m.payload for m in s.collect(until=b"sentinel")]
    check_eq(got, [b"%d" % i for i in range(n)], "deliveries")


# ------------------------------------------------------------ ordering

def _ordered(msgs, sub_qos=2, nsub=1):
    """Publish msgs [(payload, qos)] back to back on one topic; each
    subscriber must get, for every QoS, that QoS's messages in order."""
    t = topic("ord")
    subs = [_sub([(t, sub_qos)]) for _ in range(nsub)]
    p = _pub()
    t0 = time.monotonic()
    _pipeline(p, [(t, pl, q) for pl, q in msgs], batch=20)
    for s in subs:
        got = [(m.payload, m.qos) for m in s.collect(n=len(msgs))]
        for q in sorted({q for _, q in msgs}):
            check_eq([pl for pl, mq in got if mq == q],
                     [pl for pl, mq in msgs if mq == q],
                     "QoS %d messages in order" % q)
        if got != list(msgs):
            diag("overall order differs across QoS levels (allowed)")
    diag("%d messages in %.2fs" % (len(msgs), time.monotonic() - t0))


@test("MQTT-4.6.0-5 a topic is ordered by default (QoS 0, 2 subscribers)")
def order_qos0():
    _ordered([(b"%d" % i, 0) for i in range(100)], nsub=2)


@test("MQTT-4.6.0-6a QoS 1 messages are delivered in the order received")
def order_qos1():
    _ordered([(b"%d" % i, 1) for i in range(60)])


@test("MQTT-4.6.0-6b QoS 2 messages are delivered in the order received")
def order_qos2():
    _ordered([(b"%d" % i, 2) for i in range(60)])


@test("MQTT-4.6.0-6c mixed QoS 0/1/2 on one topic: each QoS in order")
def order_mixed():
    _ordered([(b"%d" % i, i % 3) for i in range(90)])


@test("MQTT-4.6.0-6d two publishers on one topic: each one's messages in "
      "order")
def order_two_publishers():
    t = topic("ord")
    s = _sub([(t, 1)])
    pa, pb = _pub(), _pub()
    n = 40
    pa.send(b"".join(publish_pkt(t, b"a%d" % i, 1, pid=i + 1)
                     for i in range(n)))
    pb.send(b"".join(publish_pkt(t, b"b%d" % i, 1, pid=i + 1)
                     for i in range(n)))
    for p in (pa, pb):
        check_eq([p.expect(PUBACK).pid for _ in range(n)],
                 list(range(1, n + 1)), "PUBACK ids")
    got = [m.payload for m in s.collect(n=2 * n)]
    for who in (b"a", b"b"):
        check_eq([x for x in got if x[:1] == who],
                 [who + b"%d" % i for i in range(n)],
                 "%s's messages in order" % who.decode())


@test("MQTT-4.6.0-6e one publisher, two topics: each topic in order")
def order_two_topics():
    base = topic("ord")
    s = _sub([(base + "/+", 1)])
    p = _pub()
    msgs = [(base + "/" + "xy"[i % 2], b"%d" % i, 1) for i in range(60)]
    _pipeline(p, msgs, batch=20)
    got = [(m.topic, m.payload) for m in s.collect(n=len(msgs))]
    for lvl in "xy":
        tt = base + "/" + lvl
        check_eq([pl for tp, pl in got if tp == tt],
                 [pl for tp, pl, _ in msgs if tp == tt],
                 "messages of %s in order" % tt)
