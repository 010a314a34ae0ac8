# SPDX-License-Identifier: GPL-2.0
"""MQTT 3.1.1 conformance: the Will Message (3.1.2-8..17, 3.14.1-1,
3.14.4-3).  Absence is proven by waiting until the broker has closed
the Will client's connection and then publishing a sentinel on the
Will topic."""
import time

from harness import check, check_eq, cid, diag, test
from mqttlib import (PINGREQ_PKT, Raw, clear_retained, connect_pkt,
                     publish_pkt, sentinel, topic, will_before_sentinel)

TEST_ORDER = 43  # files run in this order

MOSQUITTO_DEVIATIONS = {
    "MQTT-3.1.2-8d": "closes on a second CONNECT without publishing the "
                     "Will",
}


def _sub(flt, qos=0):
    s = Raw()
    s.connect()
    s.subscribe([(flt, qos)])
    return s


def _willer(wt, payload=b"will", qos=0, retain=False, keepalive=60):
    w = Raw()
    w.connect(will=(wt, payload, qos, retain), keepalive=keepalive)
    return w


def _one_will(s, wt, payload=b"will", qos=0, timeout=10.0):
    m = s.collect(n=1, timeout=timeout)[0]
    check_eq((m.topic, m.payload, m.qos, m.retain, m.dup),
             (wt, payload, qos, False, False),
             "Will (topic, payload, qos, retain, dup)")
    return m


@test("MQTT-3.1.2-8a Will published when the client closes without "
      "DISCONNECT")
def will_on_close():
    wt = topic("will")
    s = _sub(wt)
    w = _willer(wt, b"\x00gone\xff")
    w.hangup()
    _one_will(s, wt, b"\x00gone\xff")


@test("MQTT-3.1.2-8b Will published when the keepalive expires")
def will_on_keepalive():
    wt = topic("will")
    s = _sub(wt)
    t0 = time.monotonic()
    w = _willer(wt, keepalive=1)
    _one_will(s, wt)
    diag("Will after %.2fs" % (time.monotonic() - t0))
    check(time.monotonic() - t0 >= 1.0, "Will before 1.5 s of silence")
    w.wait_closed()


@test("MQTT-3.1.2-8c Will published on a protocol violation (QoS 3)")
def will_on_violation():
    wt = topic("will")
    s = _sub(wt)
    w = _willer(wt)
    w.try_send(publish_pkt(topic("q3"), b"x", first=0x36, pid=1) +
               PINGREQ_PKT)
    w.expect_silent_close("PUBLISH QoS 3")
    _one_will(s, wt)


@test("MQTT-3.1.2-8d Will published on a protocol violation (second "
      "CONNECT)")
def will_on_second_connect():
    wt = topic("will")
    s = _sub(wt)
    w = _willer(wt)
    w.try_send(connect_pkt(cid()) + PINGREQ_PKT)
    w.expect_silent_close("second CONNECT")
    will_before_sentinel(s, wt)


@test("MQTT-3.1.2-9b the Will QoS is used (QoS 1 and 2 Wills)")
def will_qos():
    wt = topic("will")
    s = _sub(wt, 2)
    for q in (1, 2):
        w = _willer(wt, b"q%d" % q, qos=q)
        w.hangup()
        _one_will(s, wt, b"q%d" % q, qos=q)


@test("MQTT-3.1.2-10 the Will is published once, then removed")
def will_once():
    wt = topic("will")
    s = _sub(wt)
    w = _willer(wt)
    w.try_send(b"\x00\x00")
    w.wait_closed()
    sentinel(wt)
    got = s.collect(until=b"sentinel")
    check_eq([m.payload for m in got], [b"will"], "deliveries")


@test("MQTT-3.1.2-12 no Will flag: nothing published when the connection "
      "drops")
def no_will():
    t = topic("nowill")
    s = _sub("#")
    w = Raw()
    w.connect()
    w.hangup()
    sentinel(t)
    got = [m for m in s.collect(until=b"sentinel") if not m.retain]
    check_eq(got, [], "non-retained deliveries on '#' before sentinel")


@test("MQTT-3.1.2-16 Will retain 0: published as a non-retained message")
def will_not_retained():
    wt = topic("will")
    try:
        s = _sub(wt)
        _willer(wt, retain=False).hangup()
        _one_will(s, wt)
        late = _sub(wt)
        sentinel(wt)
        check_eq(late.collect(until=b"sentinel"), [],
                 "late subscriber deliveries")
    finally:
        clear_retained(wt)


@test("MQTT-3.1.2-17 Will retain 1: published as a retained message")
def will_retained():
    wt = topic("will")
    try:
        s = _sub(wt, 1)
        _willer(wt, b"retained-will", qos=1, retain=True).hangup()
        _one_will(s, wt, b"retained-will", qos=1)
        late = _sub(wt, 1)
        m = late.collect(n=1)[0]
        check_eq((m.payload, m.retain), (b"retained-will", True),
                 "late subscriber (payload, retain)")
    finally:
        clear_retained(wt)


@test("MQTT-3.14.1-1 DISCONNECT with reserved flags closes, Will published")
def disconnect_flags():
    wt = topic("will")
    s = _sub(wt)
    w = _willer(wt)
    w.try_send(b"\xe1\x00" + PINGREQ_PKT)
    w.expect_silent_close("DISCONNECT 0xE1")
    _one_will(s, wt)


@test("MQTT-3.14.4-3 DISCONNECT discards the Will")
def disconnect_discards_will():
    wt = topic("will")
    s = _sub(wt)
    w = _willer(wt)
    w.bye()
    sentinel(wt)
    check_eq(s.collect(until=b"sentinel"), [], "deliveries before sentinel")
