# SPDX-License-Identifier: GPL-2.0
"""MQTT 3.1.1 conformance, chapters 1 and 2 and section 4.8: UTF-8
strings, fixed-header flags, remaining length, packet identifiers,
packet types a client must not send.

Test names start with the statement id of mqtt-v3.1.1-os Appendix B
(a letter suffix when a statement has several observable aspects).
A bad packet is followed by a PINGREQ on the same connection: the
broker must close without answering it (see mqttlib.expect_close)."""
import struct

from harness import check, check_eq, test
from mqttlib import (PUBACK, PUBCOMP, PUBLISH, PUBREC, PUBREL,
                     SUBACK, UNSUBACK, Paho, Raw, ack_pkt, connect_pkt,
                     enc_str, expect_close, packet, publish_pkt,
                     subscribe_pkt, topic, unsubscribe_pkt)

TEST_ORDER = 40  # files run in this order

MOSQUITTO_DEVIATIONS = {
    "MQTT-2.2.2-2b": "ignores the reserved flags of PUBACK",
    "MQTT-2.2.2-2c": "ignores the reserved flags of PUBREC",
    "MQTT-2.2.2-2e": "ignores the reserved flags of PUBCOMP",
    "MQTT-2.2.2-2f": "ignores the reserved flags of PINGREQ",
    "MQTT-4.8.0-1d": "accepts SUBACK, UNSUBACK and PINGRESP from a client "
                     "(bridge code paths)",
    "MQTT-4.8.0-1g": "accepts PUBREL and PINGREQ with extra bytes "
                     "(remaining length too long for the packet type)",
}


def _pub_body_topic(raw_topic, payload=b"x"):
    """A QoS 0 PUBLISH whose topic is the given raw bytes."""
    return packet(0x30, enc_str(raw_topic) + payload)


def _sub_raw(raw_filter, pid=1, qos=0):
    return packet(0x82, struct.pack("!H", pid) + enc_str(raw_filter) +
                  bytes([qos]))


# ------------------------------------------------------------ 1.5.3 UTF-8

@test("MQTT-1.5.3-1a ill-formed UTF-8 (0xFF) in a topic name closes")
def utf8_ff_topic():
    expect_close(_pub_body_topic(topic("u8").encode() + b"/\xff"),
                 "topic with 0xFF")


@test("MQTT-1.5.3-1b overlong UTF-8 (C0 AF) in a topic name closes")
def utf8_overlong_topic():
    expect_close(_pub_body_topic(topic("u8").encode() + b"/\xc0\xaf"),
                 "topic with overlong '/'")


@test("MQTT-1.5.3-1c surrogate U+D800 (ED A0 80) in a topic name closes")
def utf8_surrogate_topic():
    expect_close(_pub_body_topic(topic("u8").encode() + b"/\xed\xa0\x80"),
                 "topic with U+D800")


@test("MQTT-1.5.3-1d truncated multi-byte sequence ending a topic closes")
def utf8_truncated_topic():
    expect_close(_pub_body_topic(topic("u8").encode() + b"/\xe6\x97"),
                 "topic ending in E6 97")


@test("MQTT-1.5.3-1e surrogate U+DFFF in a SUBSCRIBE filter closes")
def utf8_surrogate_filter():
    expect_close(_sub_raw(topic("u8").encode() + b"/\xed\xbf\xbf"),
                 "filter with U+DFFF")


@test("MQTT-1.5.3-1f code point above U+10FFFF (F4 90 80 80) closes")
def utf8_too_big():
    expect_close(_pub_body_topic(topic("u8").encode() +
                                 b"/\xf4\x90\x80\x80"), "topic with F4 90")


@test("MQTT-1.5.3-1g lone continuation byte in a will topic closes")
def utf8_will_topic():
    body = (enc_str("MQTT") + b"\x04\x06\x00\x3c" + enc_str("ku8will") +
            enc_str(topic("u8").encode() + b"/\x80") + enc_str(b"m"))
    expect_close(packet(0x10, body), "will topic with 0x80",
                 connect=False)


@test("MQTT-1.5.3-2a U+0000 in a topic name closes")
def nul_topic():
    expect_close(_pub_body_topic(topic("nul").encode() + b"/a\x00b"),
                 "topic with U+0000")


@test("MQTT-1.5.3-2b U+0000 in a client id closes without CONNACK")
def nul_client_id():
    expect_close(connect_pkt("kmq\x00id"), "client id with U+0000",
                 connect=False)


@test("MQTT-1.5.3-2c U+0000 in a SUBSCRIBE filter closes")
def nul_filter():
    expect_close(_sub_raw(topic("nul").encode() + b"/\x00"),
                 "filter with U+0000")


@test("MQTT-1.5.3-3 a BOM (EF BB BF) in a topic is kept, not stripped")
def bom_kept():
    base = topic("bom")
    bom = "\ufeff"
    with_bom = base + "/" + bom + "x"
    plain = base + "/x"
    s_bom, s_plain = Paho(), Paho()
    s_bom.subscribe(with_bom)
    s_plain.subscribe(plain)
    pub = Paho()
    pub.publish(with_bom, b"bom")
    pub.publish(plain, b"plain")
    pub.publish(with_bom, b"end")
    pub.publish(plain, b"end")
    got_bom = s_bom.wait_payload(b"end")
    got_plain = s_plain.wait_payload(b"end")
    check_eq([(m.topic_bytes, m.payload) for m in got_bom],
             [(with_bom.encode(), b"bom")], "subscriber of the BOM topic")
    check_eq([(m.topic_bytes, m.payload) for m in got_plain],
             [(plain.encode(), b"plain")], "subscriber of the plain topic")


# ------------------------------------------------------------ 2.2.2 flags

@test("MQTT-2.2.2-2a CONNECT with fixed-header flags 0001 closes")
def flags_connect():
    pkt = connect_pkt("kflags1")
    expect_close(b"\x11" + pkt[1:], "CONNECT 0x11", connect=False)


@test("MQTT-2.2.2-2b PUBACK with fixed-header flags 0001 closes")
def flags_puback():
    expect_close(b"\x41\x02\x00\x01", "PUBACK 0x41")


@test("MQTT-2.2.2-2c PUBREC with fixed-header flags 0001 closes")
def flags_pubrec():
    expect_close(b"\x51\x02\x00\x01", "PUBREC 0x51")


@test("MQTT-2.2.2-2d PUBREL with fixed-header flags 0011 closes")
def flags_pubrel():
    expect_close(b"\x63\x02\x00\x01", "PUBREL 0x63")


@test("MQTT-3.6.1-1 PUBREL with fixed-header flags 0000 closes")
def flags_pubrel_zero():
    r = Raw()
    r.connect()
    r.send(publish_pkt(topic("rel"), b"x", qos=2, pid=3))
    check_eq(r.expect(PUBREC).raw, ack_pkt(PUBREC, 3), "PUBREC")
    r.try_send(b"\x60\x02\x00\x03" + b"\xc0\x00")
    r.expect_silent_close("PUBREL 0x60")


@test("MQTT-2.2.2-2e PUBCOMP with fixed-header flags 0001 closes")
def flags_pubcomp():
    expect_close(b"\x71\x02\x00\x01", "PUBCOMP 0x71")


@test("MQTT-2.2.2-2f PINGREQ with fixed-header flags 0001 closes")
def flags_pingreq():
    expect_close(b"\xc1\x00", "PINGREQ 0xC1")


@test("MQTT-2.2.2-2g SUBSCRIBE with flags 0000 and UNSUBSCRIBE with 0000 "
      "close")
def flags_sub_unsub():
    expect_close(subscribe_pkt(1, [topic("fl")], first=0x80),
                 "SUBSCRIBE 0x80")
    expect_close(unsubscribe_pkt(1, [topic("fl")], first=0xA0),
                 "UNSUBSCRIBE 0xA0")


# ------------------------------------------------------------ 2.3.1 ids

@test("MQTT-2.3.1-1a PUBLISH QoS 1 with packet identifier 0 closes")
def pid0_qos1():
    expect_close(publish_pkt(topic("pid"), b"x", qos=1, pid=0),
                 "QoS 1 PUBLISH id 0")


@test("MQTT-2.3.1-1b PUBLISH QoS 2 with packet identifier 0 closes")
def pid0_qos2():
    expect_close(publish_pkt(topic("pid"), b"x", qos=2, pid=0),
                 "QoS 2 PUBLISH id 0")


@test("MQTT-2.3.1-1c SUBSCRIBE with packet identifier 0 closes")
def pid0_subscribe():
    expect_close(subscribe_pkt(0, [topic("pid")]), "SUBSCRIBE id 0")


@test("MQTT-2.3.1-1d UNSUBSCRIBE with packet identifier 0 closes")
def pid0_unsubscribe():
    expect_close(unsubscribe_pkt(0, [topic("pid")]), "UNSUBSCRIBE id 0")


@test("MQTT-2.3.1-5 a QoS 0 PUBLISH to a subscriber has no packet id")
def qos0_no_pid():
    t = topic("pid")
    s = Raw()
    s.connect()
    s.subscribe([(t, 2)], codes=None)
    pub = Raw()
    pub.connect()
    pub.pub(t, b"payload", qos=0)
    p = s.expect(PUBLISH)
    check_eq(p.raw, publish_pkt(t, b"payload"), "PUBLISH bytes")


@test("MQTT-2.3.1-6a PUBACK carries the packet id of the PUBLISH")
def puback_pid():
    r = Raw()
    r.connect()
    t = topic("pid")
    for pid in (1, 0x0100, 0x1234, 0xFFFF):
        r.send(publish_pkt(t, b"x", qos=1, pid=pid))
        check_eq(r.expect(PUBACK).raw, ack_pkt(PUBACK, pid), "PUBACK")
    r.disconnect()


@test("MQTT-2.3.1-6b PUBREC and PUBCOMP carry the packet id of the flow")
def pubrec_pid():
    r = Raw()
    r.connect()
    t = topic("pid")
    for pid in (1, 0x00FF, 0xABCD, 0xFFFF):
        r.send(publish_pkt(t, b"x", qos=2, pid=pid))
        check_eq(r.expect(PUBREC).raw, ack_pkt(PUBREC, pid), "PUBREC")
        r.send(ack_pkt(PUBREL, pid))
        check_eq(r.expect(PUBCOMP).raw, ack_pkt(PUBCOMP, pid), "PUBCOMP")
    r.disconnect()


@test("MQTT-2.3.1-7 SUBACK and UNSUBACK carry the packet id of the request")
def suback_unsuback_pid():
    r = Raw()
    r.connect()
    t = topic("pid")
    for pid in (1, 0x0200, 0x7FFF, 0xFFFF):
        r.send(subscribe_pkt(pid, [t]))
        p = r.expect(SUBACK)
        check_eq(p.pid, pid, "SUBACK packet id")
        r.send(unsubscribe_pkt(pid, [t]))
        check_eq(r.expect(UNSUBACK).raw, ack_pkt(UNSUBACK, pid), "UNSUBACK")
    r.disconnect()


# ------------------------------------------------------------ 4.8 errors

@test("MQTT-4.8.0-1a reserved packet type 0 closes")
def type0():
    expect_close(b"\x00\x00", "packet type 0")


@test("MQTT-4.8.0-1b reserved packet type 15 closes")
def type15():
    expect_close(b"\xf0\x00", "packet type 15")


@test("MQTT-4.8.0-1c CONNACK sent by a client closes")
def client_connack():
    expect_close(b"\x20\x02\x00\x00", "CONNACK from client")


@test("MQTT-4.8.0-1d SUBACK, UNSUBACK or PINGRESP sent by a client closes")
def client_server_packets():
    for data, what in ((b"\x90\x03\x00\x01\x00", "SUBACK"),
                       (b"\xb0\x02\x00\x01", "UNSUBACK"),
                       (b"\xd0\x00", "PINGRESP")):
        expect_close(data, what + " from client")


@test("MQTT-4.8.0-1e remaining length of 5 bytes closes")
def remaining_length_5():
    expect_close(b"\x30\xff\xff\xff\xff\x01", "5-byte remaining length")


@test("MQTT-4.8.0-1f string length beyond the remaining length closes")
def string_overrun():
    expect_close(b"\x30\x04\x00\x10ab", "PUBLISH topic overruns packet")
    expect_close(b"\x82\x06\x00\x01\x00\x10ab", "SUBSCRIBE filter overruns")
    expect_close(b"\x40\x01\x00", "PUBACK of 1 byte")


@test("MQTT-4.8.0-1g remaining length wrong for PUBREL / PINGREQ closes")
def length_mismatch():
    expect_close(b"\x62\x03\x00\x01\x00", "PUBREL of 3 bytes")
    expect_close(b"\xc0\x01\x00", "PINGREQ of 1 byte")


@test("MQTT-4.8.0-1h a violation closes only that connection")
def violation_isolated():
    t = topic("iso")
    s = Raw()
    s.connect()
    s.subscribe(t)
    expect_close(b"\x00\x00", "packet type 0")
    other = Raw()
    other.connect()
    other.pub(t, b"still", qos=1)
    check_eq(s.expect(PUBLISH).payload, b"still", "delivery after")
    s.ping()
    check(s.is_open(), "subscriber still connected")
