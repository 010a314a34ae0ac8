# SPDX-License-Identifier: GPL-2.0
"""MQTT 3.1.1 conformance, section 3.3 (PUBLISH) except retained
messages (test_conf_retain.py): flags, topic name, response per QoS,
overlapping subscriptions."""
from harness import check, check_eq, diag, test
from mqttlib import (PINGRESP, PUBACK, PUBREC, Raw, ack_pkt, expect_close,
                     publish_pkt, topic)

TEST_ORDER = 44  # files run in this order

MOSQUITTO_DEVIATIONS = {
    "MQTT-3.3.1-2": "accepts (and forwards) a QoS 0 PUBLISH with DUP=1",
    "MQTT-3.3.5-1": "sends one copy, at the QoS of the first subscription "
                    "found in its topic tree, not the highest",
}


def _sub(filters):
    s = Raw()
    s.connect()
    s.subscribe(filters)
    return s


@test("MQTT-3.3.1-2 PUBLISH QoS 0 with DUP=1 closes")
def dup_qos0():
    expect_close(publish_pkt(topic("dup"), b"x", first=0x38),
                 "QoS 0 PUBLISH with DUP")


@test("MQTT-3.3.1-3 the DUP flag of an incoming PUBLISH is not propagated")
def dup_not_propagated():
    t = topic("dup")
    s = _sub([(t, 2)])
    p = Raw()
    p.connect()
    p.pub(t, b"d1", qos=1, dup=True)
    p.pub(t, b"d2", qos=2, dup=True)
    got = s.collect(n=2)
    check_eq(sorted((m.payload, m.qos, m.dup) for m in got),
             [(b"d1", 1, False), (b"d2", 2, False)],
             "deliveries (payload, qos, dup)")


@test("MQTT-3.3.1-4 PUBLISH with both QoS bits set closes")
def qos3():
    expect_close(publish_pkt(topic("q3"), b"x", first=0x36, pid=1),
                 "PUBLISH QoS 3")
    expect_close(publish_pkt(topic("q3"), b"x", first=0x3F, pid=1),
                 "PUBLISH QoS 3, DUP, RETAIN")


@test("MQTT-3.3.2-1 PUBLISH without a complete topic name closes")
def no_topic():
    expect_close(b"\x30\x01\x00", "PUBLISH of 1 byte")
    expect_close(b"\x32\x02\x00\x01", "QoS 1 PUBLISH without packet id")


@test("MQTT-3.3.2-2 PUBLISH to a topic with wildcard levels closes")
def wildcard_topic():
    base = topic("wild")
    for t in (base + "/+", base + "/#", "+", "#", base + "/+/x", "#/x"):
        expect_close(publish_pkt(t, b"x"), "PUBLISH to %r" % t)


@test("MQTT-3.3.2-3 the topic name sent to a subscriber is the published "
      "one")
def topic_sent_matches():
    base = topic("match")
    s = _sub([(base + "/+/c", 1)])
    p = Raw()
    p.connect()
    for lvl in ("x", "Y-z", "\u00e9\u65e5"):
        p.pub(base + "/%s/c" % lvl, lvl.encode(), qos=1)
        m = s.collect(n=1)[0]
        check_eq(m.body[2:2 + len((base + "/%s/c" % lvl).encode())],
                 (base + "/%s/c" % lvl).encode(), "topic bytes")


@test("MQTT-3.3.4-1 response per QoS: none, PUBACK, PUBREC")
def response_per_qos():
    t = topic("resp")
    r = Raw()
    r.connect()
    r.send(publish_pkt(t, b"q0") + b"\xc0\x00")
    check_eq(r.expect(PINGRESP).raw, b"\xd0\x00", "answer to QoS 0 + PINGREQ")
    r.send(publish_pkt(t, b"q1", qos=1, pid=0x0101))
    check_eq(r.expect(PUBACK).raw, ack_pkt(PUBACK, 0x0101), "QoS 1 answer")
    r.send(publish_pkt(t, b"q2", qos=2, pid=0x0202))
    check_eq(r.expect(PUBREC).raw, ack_pkt(PUBREC, 0x0202), "QoS 2 answer")
    r.send(ack_pkt(6, 0x0202))
    r.expect(7)
    r.bye()


@test("MQTT-3.3.5-1 overlapping subscriptions: delivered at the highest "
      "QoS")
def overlapping_max_qos():
    base = topic("ovl")
    t = base + "/a/b"
    s = Raw()
    s.connect()
    codes = s.subscribe([(t, 0), (base + "/+/b", 2), (base + "/#", 1)])
    check_eq(codes, [0, 2, 1], "granted QoS")
    p = Raw()
    p.connect()
    p.pub(t, b"m", qos=2)
    p.pub(t, b"sentinel", qos=2)
    got = s.collect(until=b"sentinel")
    if not any(m.qos == 2 for m in got):
        # a multi-copy broker may send the QoS 2 copy after a lower one
        # of the sentinel
        got += s.collect(until=lambda m: m.payload == b"m" and m.qos == 2,
                         timeout=1.0)
    copies = [(m.payload, m.qos) for m in got]
    diag("copies before the sentinel: %r" % copies)
    check((b"m", 2) in copies, "no copy at QoS 2: %r" % copies)
    check(len(copies) <= 3, "more than one copy per subscription")
