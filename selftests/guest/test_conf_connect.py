# SPDX-License-Identifier: GPL-2.0
"""MQTT 3.1.1 conformance, section 3.1 (CONNECT) and 3.2.0/3.2.2-6
(CONNACK): first packet, protocol name and level, connect flags, payload
fields, client identifiers, keepalive.  Session-present and Will tests
are in test_conf_session.py and test_conf_will.py."""
import os
import time

from harness import check, check_eq, cid, diag, test
from mqttlib import (CONNACK, PINGREQ_PKT, PINGRESP, PUBLISH, SUBACK, Paho,
                     Raw, connect_pkt, enc_str, expect_close, packet,
                     publish_pkt, subscribe_pkt, topic)

TEST_ORDER = 41  # files run in this order

MOSQUITTO_DEVIATIONS = {
    "MQTT-3.1.2-24a": "checks keepalive coarsely: a keepalive-1 client is "
                      "closed only after 2..6 s",
}

ID_CHARS = ("0123456789abcdefghijklmnopqrstuvwxyz"
            "ABCDEFGHIJKLMNOPQRSTUVWXYZ")


def _connect_body(flags, payload, keepalive=60):
    return packet(0x10, enc_str("MQTT") + bytes([4, flags]) +
                  keepalive.to_bytes(2, "big") + payload)


def _refused(r, what):
    """The CONNECT must be refused: closed without CONNACK, or a CONNACK
    with a non-zero return code and then closed."""
    _, got = r.wait_closed()
    if got:
        check(len(got) == 4 and got[:3] == b"\x20\x02\x00" and got[3],
              "%s: got %r, want no CONNACK or a refusing one" % (what, got))


# ------------------------------------------------------------ 3.1.0

@test("MQTT-3.1.0-1a PUBLISH before CONNECT closes and is not delivered")
def first_not_connect_publish():
    t = topic("first")
    s = Raw()
    s.connect()
    s.subscribe(t)
    expect_close(publish_pkt(t, b"early"), "PUBLISH before CONNECT",
                 connect=False)
    p = Raw()
    p.connect()
    p.pub(t, b"sentinel")
    check_eq(s.collect(until=b"sentinel"), [], "deliveries before sentinel")


@test("MQTT-3.1.0-1b SUBSCRIBE before CONNECT closes")
def first_not_connect_subscribe():
    expect_close(subscribe_pkt(1, [topic("first")]),
                 "SUBSCRIBE before CONNECT", connect=False)


@test("MQTT-3.1.0-1c PINGREQ before CONNECT closes")
def first_not_connect_ping():
    r = Raw()
    r.try_send(PINGREQ_PKT)
    r.expect_silent_close("PINGREQ before CONNECT")


@test("MQTT-3.1.0-2 a second CONNECT closes the connection")
def second_connect():
    expect_close(connect_pkt(cid()), "second CONNECT")


# ------------------------------------------------------------ 3.1.2

@test("MQTT-3.1.2-1 wrong protocol name: not accepted as MQTT 3.1.1")
def bad_protocol_name():
    for name in ("MQTX", "mqtt", "MQT", "MQTTT"):
        r = Raw()
        r.try_send(connect_pkt(cid(), proto=name) + PINGREQ_PKT)
        _refused(r, "protocol name %r" % name)


@test("MQTT-3.1.2-2 unsupported protocol level: CONNACK 0x01, then close")
def bad_level():
    for level in (0, 1, 2, 3, 6, 255):
        r = Raw()
        r.send(connect_pkt(cid(), level=level))
        check_eq(r.expect(CONNACK).raw, b"\x20\x02\x00\x01",
                 "CONNACK for level %d" % level)
        r.expect_silent_close("after CONNACK 0x01")


@test("MQTT-3.1.2-3 CONNECT reserved flag set closes without CONNACK")
def connect_reserved_flag():
    expect_close(connect_pkt(cid(), flags=0x03), "connect flags 0x03",
                 connect=False)


@test("MQTT-3.1.2-9a Will flag without Will topic and message closes")
def will_fields_missing():
    expect_close(connect_pkt(cid(), flags=0x06), "Will flag, no fields",
                 connect=False)


@test("MQTT-3.1.2-11 Will topic and message present with Will flag 0 "
      "closes")
def will_fields_without_flag():
    expect_close(_connect_body(0x02, enc_str(cid()) + enc_str(topic("w")) +
                               enc_str(b"m")), "Will fields, no flag",
                 connect=False)


@test("MQTT-3.1.2-13 Will QoS non-zero with Will flag 0 closes")
def will_qos_without_will():
    for flags in (0x0A, 0x12):
        expect_close(connect_pkt(cid(), flags=flags),
                     "flags %#x" % flags, connect=False)


@test("MQTT-3.1.2-14 Will QoS 3 closes")
def will_qos3():
    expect_close(connect_pkt(cid(), will=(topic("w"), b"m", 3, False)),
                 "Will QoS 3", connect=False)


@test("MQTT-3.1.2-15 Will retain with Will flag 0 closes")
def will_retain_without_will():
    expect_close(connect_pkt(cid(), flags=0x22), "flags 0x22",
                 connect=False)


@test("MQTT-3.1.2-18 user name present with User Name flag 0 closes")
def user_without_flag():
    expect_close(_connect_body(0x02, enc_str(cid()) + enc_str("user")),
                 "user name without flag", connect=False)


@test("MQTT-3.1.2-19 User Name flag without a user name closes")
def user_flag_missing():
    expect_close(_connect_body(0x82, enc_str(cid())), "no user name",
                 connect=False)


@test("MQTT-3.1.2-20 password present with Password flag 0 closes")
def password_without_flag():
    expect_close(_connect_body(0x82, enc_str(cid()) + enc_str("user") +
                               enc_str(b"pw")), "password without flag",
                 connect=False)


@test("MQTT-3.1.2-21 Password flag without a password closes")
def password_flag_missing():
    expect_close(_connect_body(0xC2, enc_str(cid()) + enc_str("user")),
                 "no password", connect=False)


@test("MQTT-3.1.2-22 Password flag with User Name flag 0 closes")
def password_without_user():
    expect_close(connect_pkt(cid(), password="secret"),
                 "password without user name", connect=False)


@test("MQTT-3.1.2-24a keepalive 1 s: a silent client is closed after "
      "1.5 s")
def keepalive_silent():
    """Accepted: 1.0..4.0 s after its CONNACK arrived."""
    r = Raw()
    r.connect(keepalive=1)
    t0 = time.monotonic()
    try:
        _, got = r.wait_closed(4.0)
    finally:
        diag("open for %.2fs after CONNACK" % (time.monotonic() - t0))
    check_eq(got, b"", "bytes from the broker before closing")
    waited = time.monotonic() - t0
    check(waited >= 1.0, "closed after %.2fs, before 1.5 s" % waited)


@test("MQTT-3.1.2-24b keepalive: PINGREQs keep a connection, keepalive 0 "
      "never expires")
def keepalive_kept():
    """keepalive 1 with a PINGREQ every 0.4 s, and keepalive 0 silent:
    both still open after 2.5 s."""
    pinger, zero = Raw(), Raw()
    pinger.connect(keepalive=1)
    zero.connect(keepalive=0)
    t0 = time.monotonic()
    while time.monotonic() < t0 + 2.5:
        pinger.ping()
        time.sleep(0.4)
    check(pinger.is_open(), "PINGREQ client closed despite PINGREQs")
    check(zero.is_open(), "keepalive 0 client closed")
    pinger.ping()
    zero.ping()
    pinger.disconnect()
    zero.disconnect()


# ------------------------------------------------------------ 3.1.3

@test("MQTT-3.1.3-1 CONNECT with Will, user name and password is accepted")
def all_fields():
    r = Raw()
    r.connect(will=(topic("w"), b"will", 1, False), user="user",
              password=b"\x00\xffpw")
    r.ping()
    r.disconnect()


@test("MQTT-3.1.3-4 ill-formed UTF-8 client id closes without CONNACK")
def client_id_bad_utf8():
    expect_close(_connect_body(0x02, enc_str(b"kmq\xc3\x28id")),
                 "client id C3 28", connect=False)


@test("MQTT-3.1.3-5 client ids of 1 and 23 chars [0-9a-zA-Z] are accepted")
def client_id_23():
    rnd = os.urandom(24)
    for n in (23, 1):
        ident = "".join(ID_CHARS[b % len(ID_CHARS)] for b in rnd[:n])
        r = Raw()
        p = r.connect(ident)
        check_eq(p.raw, b"\x20\x02\x00\x00", "CONNACK for %r" % ident)
        r.ping()
        r.disconnect()


@test("MQTT-3.1.3-6a zero-length client ids get distinct identities")
def client_id_empty():
    """Two zero-length-id clients at once: neither takes over the other,
    each gets exactly its own messages."""
    ta, tb = topic("anon"), topic("anon")
    a, b = Raw(), Raw()
    a.connect("", clean=True)
    b.connect("", clean=True)
    a.subscribe(ta)
    b.subscribe(tb)
    p = Raw()
    p.connect()
    p.pub(ta, b"for-a", qos=1)
    p.pub(tb, b"for-b", qos=1)
    check_eq(a.expect(PUBLISH).payload, b"for-a", "a's message")
    check_eq(b.expect(PUBLISH).payload, b"for-b", "b's message")
    a.ping()
    b.ping()


@test("MQTT-3.1.3-6b paho client with empty id works end to end")
def paho_empty_id():
    t = topic("anon")
    s = Paho(client_id="")
    s.subscribe(t)
    s.publish(t, b"x")
    check_eq([m.payload for m in s.wait_msgs(1)], [b"x"], "own message")


@test("MQTT-3.1.3-8 zero-length client id with clean session 0: CONNACK "
      "0x02, close")
def client_id_empty_persistent():
    r = Raw()
    r.send(connect_pkt("", clean=False))
    check_eq(r.expect(CONNACK).raw, b"\x20\x02\x00\x02", "CONNACK")
    r.expect_silent_close("after CONNACK 0x02")


@test("MQTT-3.1.3-10a ill-formed UTF-8 Will topic closes")
def will_topic_bad_utf8():
    expect_close(_connect_body(0x06, enc_str(cid()) +
                               enc_str(b"kmqt/\xed\xa0\x80") + enc_str(b"m")),
                 "Will topic with U+D800", connect=False)


@test("MQTT-3.1.3-10b Will topic with a wildcard is refused")
def will_topic_wildcard():
    for wt in (topic("w") + "/+", topic("w") + "/#"):
        r = Raw()
        r.try_send(connect_pkt(cid(), will=(wt, b"m", 0, False)) +
                   PINGREQ_PKT)
        _refused(r, "Will topic %r" % wt)


@test("MQTT-3.1.3-11 ill-formed UTF-8 user name closes")
def user_bad_utf8():
    expect_close(_connect_body(0x82, enc_str(cid()) + enc_str(b"us\xffer")),
                 "user name with 0xFF", connect=False)


# ------------------------------------------------------------ 3.1.4, 3.2

@test("MQTT-3.1.4-1 malformed CONNECT (client id overruns) closes without "
      "CONNACK")
def connect_overrun():
    expect_close(_connect_body(0x02, b"\x00\x20kmq"), "client id overruns",
                 connect=False)


@test("MQTT-3.1.4-4 valid CONNECT gets CONNACK 20 02 00 00")
def connack_ok():
    r = Raw()
    check_eq(r.connect(cid(), clean=True).raw, b"\x20\x02\x00\x00",
             "CONNACK")
    r.disconnect()


@test("MQTT-3.1.4-5 data after a refused CONNECT is not processed")
def refused_connect_then_data():
    t = topic("ref")
    s = Raw()
    s.connect()
    s.subscribe(t)
    for bad, rc in ((connect_pkt(cid(), level=2), 1),
                    (connect_pkt("", clean=False), 2)):
        r = Raw()
        r.try_send(bad + publish_pkt(t, b"after-refusal") +
                   subscribe_pkt(1, [t]))
        _, got = r.wait_closed()
        # the CONNACK may be lost if the broker resets the connection
        check(got in (b"", bytes([0x20, 2, 0, rc])),
              "got %r after refused CONNECT" % got)
    p = Raw()
    p.connect()
    p.pub(t, b"sentinel")
    check_eq(s.collect(until=b"sentinel"), [], "deliveries before sentinel")


@test("MQTT-3.2.0-1 CONNACK is the first packet, even with packets "
      "pipelined")
def connack_first():
    t = topic("pipe")
    r = Raw()
    r.send(connect_pkt(cid()) + subscribe_pkt(7, [t]) +
           publish_pkt(t, b"own") + PINGREQ_PKT)
    check_eq(r.expect(CONNACK).raw, b"\x20\x02\x00\x00", "first packet")
    rest = sorted((p.type, p.raw) for p in (r.recv_packet() for _ in range(3)))
    check_eq(rest, sorted([(SUBACK, b"\x90\x03\x00\x07\x00"),
                           (PUBLISH, publish_pkt(t, b"own")),
                           (PINGRESP, b"\xd0\x00")]),
             "SUBACK, own PUBLISH and PINGRESP (any order)")
    r.disconnect()


@test("MQTT-3.2.2-6 CONNECT with trailing bytes closes without CONNACK")
def connect_trailing():
    expect_close(_connect_body(0x02, enc_str(cid()) + b"\x00"),
                 "CONNECT + 1 byte", connect=False)
