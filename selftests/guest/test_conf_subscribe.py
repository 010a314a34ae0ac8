# SPDX-License-Identifier: GPL-2.0
"""MQTT 3.1.1 conformance: SUBSCRIBE/SUBACK (3.8, 3.9), UNSUBSCRIBE/
UNSUBACK (3.10), PINGREQ (3.12)."""

from harness import check, check_eq, test
from mqttlib import (PINGREQ_PKT, PINGRESP, SUBACK, UNSUBACK, Raw, ack_pkt,
                     enc_str, expect_close, filter_refused, packet, sentinel,
                     subscribe_pkt, topic, unsubscribe_pkt)

TEST_ORDER = 47  # files run in this order

MOSQUITTO_DEVIATIONS = {}


def _client():
    r = Raw()
    r.connect()
    return r


def _sub(filters):
    s = _client()
    s.subscribe(filters)
    return s


# ------------------------------------------------------------ SUBSCRIBE

@test("MQTT-3.8.1-1 SUBSCRIBE with reserved flags other than 0010 closes")
def sub_flags():
    for first in (0x80, 0x83, 0x8A):
        expect_close(subscribe_pkt(1, [topic("fl")], first=first),
                     "SUBSCRIBE %#x" % first)


@test("MQTT-3.8.3-1 SUBSCRIBE filter with ill-formed UTF-8 closes")
def sub_bad_utf8():
    expect_close(packet(0x82, b"\x00\x01" + enc_str(b"kmqt/\xc3\x28") +
                        b"\x00"), "filter C3 28")


@test("MQTT-3.8.3-3 SUBSCRIBE without a filter closes")
def sub_empty_payload():
    expect_close(packet(0x82, b"\x00\x01"), "SUBSCRIBE without payload")


@test("MQTT-3.8.3-4a SUBSCRIBE with reserved bits in the QoS byte closes")
def sub_reserved_qos_bits():
    for q in (0x04, 0x81, 0xFC):
        expect_close(subscribe_pkt(1, [(topic("rq"), q)]),
                     "requested QoS byte %#x" % q)


@test("MQTT-3.8.3-4b SUBSCRIBE requesting QoS 3 closes")
def sub_qos3():
    expect_close(subscribe_pkt(1, [(topic("rq"), 3)]), "requested QoS 3")


@test("MQTT-3.8.4-1 SUBSCRIBE is answered by a SUBACK")
def suback():
    r = _client()
    r.send(subscribe_pkt(0x1234, [(topic("sa"), 0)]))
    check_eq(r.expect(SUBACK).raw, b"\x90\x03\x12\x34\x00", "SUBACK")


@test("MQTT-3.8.4-2 SUBACKs of pipelined SUBSCRIBEs carry their ids")
def suback_ids():
    r = _client()
    pids = (0xFFFF, 1, 0x8000, 0x00FF)
    r.send(b"".join(subscribe_pkt(pid, [(topic("sa"), 1)]) for pid in pids))
    check_eq([r.expect(SUBACK).pid for _ in pids], list(pids),
             "SUBACK ids")


@test("MQTT-3.8.4-3a an identical filter replaces the subscription "
      "(new QoS, one copy)")
def sub_replace():
    t = topic("rep")
    s = _sub([(t, 0)])
    p = _client()
    for q in (2, 1, 0):
        check_eq(s.subscribe([(t, q)]), [q], "granted QoS")
        p.pub(t, b"m%d" % q, qos=2)
        p.pub(t, b"sentinel", qos=2)
        got = [(m.payload, m.qos) for m in s.collect(until=b"sentinel")]
        check_eq(got, [(b"m%d" % q, q)], "deliveries at QoS %d" % q)


@test("MQTT-3.8.4-4 several filters in one SUBSCRIBE act as a sequence")
def sub_sequence():
    t, u = topic("seq"), topic("seq")
    s = _client()
    check_eq(s.subscribe([(t, 0), (u, 2), (t, 1)]), [0, 2, 1],
             "SUBACK codes")
    p = _client()
    p.pub(t, b"t", qos=2)
    p.pub(u, b"u", qos=2)
    p.pub(t, b"sentinel", qos=1)
    got = sorted((m.payload, m.qos) for m in s.collect(until=b"sentinel"))
    if (b"u", 2) not in got:
        got += [(m.payload, m.qos) for m in s.collect(n=1)]
    check_eq(sorted(got), [(b"t", 1), (b"u", 2)], "deliveries")


@test("MQTT-3.8.4-5a a SUBACK return code for every filter, at most the "
      "requested QoS")
def suback_codes():
    req = [0, 1, 2, 1, 0, 2, 2]
    r = _client()
    codes = r.subscribe([(topic("c"), q) for q in req])
    check_eq(len(codes), len(req), "number of return codes")
    for q, c in zip(req, codes):
        check(c <= q, "granted %d for requested %d" % (c, q))


@test("MQTT-3.8.4-5b an invalid filter gets 0x80 (or closes the "
      "connection)")
def suback_failure():
    base = topic("inv")
    filter_refused(base + "/#/x")


@test("MQTT-3.9.3-1 SUBACK return codes are in the order of the filters")
def suback_order():
    req = [2, 0, 1, 0, 2, 1]
    r = _client()
    codes = r.subscribe([(topic("o"), q) for q in req])
    top = max(codes)
    check_eq(codes, [min(q, top) for q in req], "return codes")


@test("MQTT-3.9.3-2 SUBACK return codes are only 0x00, 0x01, 0x02, 0x80")
def suback_values():
    r = _client()
    for q in (0, 1, 2):
        codes = r.subscribe([(topic("v"), q), ("#", q), ("+/+", q)])
        check(set(codes) <= {0, 1, 2, 0x80}, "codes %r" % codes)


# ------------------------------------------------------------ UNSUBSCRIBE

@test("MQTT-3.10.1-1 UNSUBSCRIBE with reserved flags other than 0010 "
      "closes")
def unsub_flags():
    for first in (0xA0, 0xA3, 0xAA):
        expect_close(unsubscribe_pkt(1, [topic("fl")], first=first),
                     "UNSUBSCRIBE %#x" % first)


@test("MQTT-3.10.3-1 UNSUBSCRIBE filter with ill-formed UTF-8 closes")
def unsub_bad_utf8():
    expect_close(packet(0xA2, b"\x00\x01" + enc_str(b"kmqt/\xed\xa0\x80")),
                 "filter with U+D800")


@test("MQTT-3.10.3-2 UNSUBSCRIBE without a filter closes")
def unsub_empty_payload():
    expect_close(packet(0xA2, b"\x00\x01"), "UNSUBSCRIBE without payload")


@test("MQTT-3.10.4-1 UNSUBSCRIBE filters are compared byte for byte")
def unsub_exact():
    base = topic("ux")
    ta = base + "/a"
    s = _sub([(base + "/+", 1), (ta, 1)])
    s.unsubscribe([ta, base + "/#", base + "/A", base + "/+/"])
    p = _client()
    p.pub(ta, b"via-plus", qos=1)
    p.pub(ta, b"sentinel", qos=1)
    check_eq([m.payload for m in s.collect(until=b"sentinel")],
             [b"via-plus"], "deliveries (only the + subscription left)")


@test("MQTT-3.10.4-2 no new messages after UNSUBACK")
def unsub_stops():
    t, u = topic("us"), topic("us")
    s = _sub([(t, 1), (u, 1)])
    p = _client()
    p.pub(t, b"before", qos=1)
    check_eq([m.payload for m in s.collect(n=1)], [b"before"], "delivery")
    s.unsubscribe(t)
    p.pub(t, b"after", qos=1)
    p.pub(u, b"sentinel", qos=1)
    check_eq(s.collect(until=b"sentinel"), [], "deliveries after UNSUBACK")


@test("MQTT-3.10.4-4 UNSUBACK carries the UNSUBSCRIBE packet id")
def unsuback():
    t = topic("ua")
    r = _sub([(t, 0)])
    r.send(unsubscribe_pkt(0xBEEF, [t]))
    check_eq(r.expect(UNSUBACK).raw, ack_pkt(UNSUBACK, 0xBEEF), "UNSUBACK")


@test("MQTT-3.10.4-5 UNSUBACK even when no subscription was removed")
def unsuback_nothing():
    r = _client()
    r.send(unsubscribe_pkt(0x0102, [topic("none"), "never/+/#"]))
    check_eq(r.expect(UNSUBACK).raw, ack_pkt(UNSUBACK, 0x0102), "UNSUBACK")


@test("MQTT-3.10.4-6 several filters in one UNSUBSCRIBE: one UNSUBACK, "
      "all removed")
def unsub_many():
    base = topic("um")
    filters = [base + "/a", base + "/+", base + "/#"]
    s = _sub([(f, 1) for f in filters] + [(base + "/s", 1)])
    s.send(unsubscribe_pkt(77, filters) + PINGREQ_PKT)
    check_eq(s.expect(UNSUBACK).raw, ack_pkt(UNSUBACK, 77), "UNSUBACK")
    s.expect(PINGRESP)
    sentinel(base + "/a", 1, b"gone")
    sentinel(base + "/s", 1)
    got = [m.payload for m in s.collect(until=b"sentinel")]
    check_eq(got, [], "deliveries before sentinel")


@test("MQTT-3.12.4-1 PINGREQ is answered by PINGRESP")
def pingresp():
    r = _client()
    r.send(PINGREQ_PKT * 3)
    for _ in range(3):
        check_eq(r.expect(PINGRESP).raw, b"\xd0\x00", "PINGRESP")
