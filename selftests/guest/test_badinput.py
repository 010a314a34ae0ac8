# SPDX-License-Identifier: GPL-2.0
"""Malformed and protocol-violating input, each on its own connection.
After each one a well-behaved client must still exchange a message.
Under kmqttd the matching refusal counter must move by exactly one."""
import random

from harness import check, check_eq, cid, diag, test
from mqttlib import (Raw, connect_pkt, exchange_ok, expect_refusal,
                     publish_pkt, subscribe_pkt, topic)

TEST_ORDER = 20  # files run in this order


def _closed_silently(r, what):
    _, got = r.wait_closed()
    check_eq(got, b"", "bytes from the broker before closing (%s)" % what)


@test()
def random_bytes():
    rnd = random.Random(0x6B6D7174)
    data = bytes(rnd.randrange(256) for _ in range(4096))
    diag("first bytes %s" % data[:8].hex())
    check(data[0] >> 4 != 1, "seed gives a CONNECT type byte")
    with expect_refusal():
        r = Raw()
        try:
            r.send(data)
        except OSError:
            pass
        r.wait_closed()
    exchange_ok()


@test()
def truncated_connect_client_closes():
    pkt = connect_pkt(cid())
    for cut in (1, 2, len(pkt) // 2, len(pkt) - 1):
        r = Raw()
        r.send(pkt[:cut])
        r.close()
    exchange_ok()


@test()
def publish_before_connect():
    with expect_refusal("not_connected"):
        r = Raw()
        r.send(publish_pkt(topic("early"), b"x"))
        _closed_silently(r, "PUBLISH before CONNECT")
    exchange_ok()


@test()
def remaining_length_five_bytes():
    with expect_refusal("bad_length"):
        r = Raw()
        r.send(b"\x10\xff\xff\xff\xff\xff")
        _closed_silently(r, "5-byte remaining length")
    exchange_ok()


@test()
def connect_bad_protocol_name():
    with expect_refusal("bad_protocol"):
        r = Raw()
        r.send(connect_pkt(cid(), proto="MQTX"))
        _closed_silently(r, "protocol name MQTX")
    exchange_ok()


def _bad_level(level):
    with expect_refusal("bad_level"):
        r = Raw()
        r.send(connect_pkt(cid(), level=level))
        p = r.expect(2)
        check_eq(p.raw, b"\x20\x02\x00\x01", "CONNACK (0x01 unacceptable "
                 "protocol level)")
        r.wait_closed()
    exchange_ok()


@test()
def connect_level_2():
    _bad_level(2)


@test(kmqttd_only=True)
def connect_level_5():
    """Mosquitto speaks MQTT 5, so only kmqttd refuses level 5."""
    _bad_level(5)


@test()
def second_connect():
    with expect_refusal("second_connect"):
        r = Raw()
        r.connect()
        r.send(connect_pkt(cid()))
        _closed_silently(r, "second CONNECT")
    exchange_ok()


@test()
def subscribe_reserved_flags():
    with expect_refusal("bad_flags"):
        r = Raw()
        r.connect()
        r.send(subscribe_pkt(1, [topic("flags")], first=0x80))
        _closed_silently(r, "SUBSCRIBE with flags 0")
    exchange_ok()


@test()
def publish_qos3():
    with expect_refusal("bad_qos"):
        r = Raw()
        r.connect()
        r.send(publish_pkt(topic("q3"), b"x", first=0x36, pid=1))
        _closed_silently(r, "PUBLISH QoS 3")
    exchange_ok()


@test()
def publish_wildcard_topic():
    for t in (topic("wild") + "/+", topic("wild") + "/#", "+", "#",
              topic("wild") + "/a+b"):
        with expect_refusal("bad_topic"):
            r = Raw()
            r.connect()
            r.send(publish_pkt(t, b"x"))
            _closed_silently(r, "PUBLISH to %r" % t)
    exchange_ok()


@test()
def empty_client_id_clean():
    r = Raw()
    r.connect("", clean=True)
    t = topic("anon")
    r.subscribe(t)
    r.publish(t, b"x")
    check_eq(r.expect(3).payload, b"x", "own message")
    r.disconnect()
    exchange_ok()


@test()
def empty_client_id_persistent():
    with expect_refusal("bad_client_id"):
        r = Raw()
        r.send(connect_pkt("", clean=False))
        p = r.expect(2)
        check_eq(p.raw, b"\x20\x02\x00\x02", "CONNACK (0x02 identifier "
                 "rejected)")
        r.wait_closed()
    exchange_ok()
