# SPDX-License-Identifier: GPL-2.0
"""MQTT 3.1.1 conformance, section 4.7: topic names and filters,
wildcards, $-topics, lengths, no normalization."""
import unicodedata

from harness import check_eq, test, uid
from mqttlib import (Raw, check_filters, enc_str, expect_close,
                     filter_refused, packet, publish_pkt, topic,
                     unsubscribe_pkt)

TEST_ORDER = 48  # files run in this order

MOSQUITTO_DEVIATIONS = {}


@test("MQTT-4.7.1-1 wildcard characters inside a topic name level close")
def wildcard_in_name():
    base = topic("w")
    for t in (base + "/a+b", base + "/a#", base + "/+x", "x#", base + "/#/"):
        expect_close(publish_pkt(t, b"x"), "PUBLISH to %r" % t)


@test("MQTT-4.7.1-2a '#' alone or after '/', last: matches the parent "
      "and every level below")
def hash_valid():
    p = topic("h")
    check_filters([p + "/#", p + "/a/#"],
                  [p, p + "/", p + "/a", p + "/a/", p + "/a/b/c", p + "/ab",
                   p + "x/a", p + "/b/a"])


@test("MQTT-4.7.1-2b '#' not last or not a whole level is refused")
def hash_invalid():
    base = topic("h")
    for f in (base + "/#/a", base + "/a#", base + "/#a", "#/" + base[5:]):
        filter_refused(f)


@test("MQTT-4.7.1-3a '+' at the first, middle and last level matches "
      "exactly one level")
def plus_valid():
    p = topic("p")
    lvl = p.split("/", 1)[1]
    check_filters(["+/%s/+" % lvl, p + "/+/c", p + "/+/+", "+/+/x/+"],
                  [p + "/a", p + "/b/c", p + "//c", p + "/b/c/d", p,
                   p + "/x/y", p + "/", "kmqt/other/b"],
                  relevant=lambda t: t.startswith(p))


@test("MQTT-4.7.1-3b '+' not occupying a whole level is refused")
def plus_invalid():
    base = topic("p")
    for f in (base + "/a+", base + "/+a", base + "/a+/b", base + "/++"):
        filter_refused(f)


@test("MQTT-4.7.2-1a filters starting with a wildcard do not match "
      "$-topics")
def dollar():
    d = "$" + uid("d")
    q = uid("d")
    check_filters(["#", "+/x", "+/+", "+/#", d + "/#", d + "/+", d + "/x"],
                  [d + "/x", d, q + "/x", q],
                  relevant=lambda t: t.startswith(d) or t.startswith(q))


@test("MQTT-4.7.3-1a a zero-length topic name closes")
def empty_name():
    expect_close(publish_pkt("", b"x"), "PUBLISH to ''")
    expect_close(publish_pkt("", b"x", qos=1, pid=1), "QoS 1 PUBLISH to ''")


@test("MQTT-4.7.3-1b a zero-length SUBSCRIBE filter is refused")
def empty_filter():
    filter_refused("", strict_kmqttd=False)


@test("MQTT-4.7.3-1c a zero-length UNSUBSCRIBE filter closes")
def empty_unsub_filter():
    expect_close(unsubscribe_pkt(1, [""]), "UNSUBSCRIBE ''")


@test("MQTT-4.7.3-2 U+0000 in an UNSUBSCRIBE filter closes")
def nul_unsub_filter():
    expect_close(packet(0xA2, b"\x00\x01" + enc_str(b"kmqt/a\x00b")),
                 "UNSUBSCRIBE filter with U+0000")


@test("MQTT-4.7.3-3 a topic name of 65535 bytes is accepted and delivered")
def longest_name():
    base = topic("long")
    t = base + "/" + "x" * (65535 - len(base) - 1)
    s = Raw()
    s.connect()
    s.subscribe([(t, 1), (base + "/#", 1)])
    p = Raw()
    p.connect()
    p.pub(t, b"long", qos=1)
    got = s.collect(n=1, timeout=20)
    check_eq((len(got[0].topic), got[0].topic == t, got[0].payload),
             (65535, True, b"long"), "(topic length, topic, payload)")


@test("MQTT-4.7.3-4 no normalization: case, Unicode forms and slashes are "
      "significant")
def no_normalization():
    p = topic("n")
    nfc = unicodedata.normalize("NFC", "\u00e9")
    nfd = unicodedata.normalize("NFD", "\u00e9")
    variants = [p + "/a", p + "/A", p + "/" + nfc, p + "/" + nfd,
                p + "/a/", p + "//a", p + "/ a", p + "/\uff41"]
    check_filters(variants, variants)
