# SPDX-License-Identifier: GPL-2.0
"""QoS 0 publish/subscribe behaviour: clients, filters, keepalive, load,
payload sizes."""
import os
import select
import shutil
import subprocess
import time

import harness
from harness import Fail, check, check_eq, cid, diag, test, uid
from mqttlib import (PINGRESP_PKT, Paho, Raw, check_filters, connect_pkt,
                     expect_refusal, publish_pkt, subscribe_pkt, topic)

TEST_ORDER = 10  # files run in this order


def _mosquitto_sub(flt, *extra):
    """Start mosquitto_sub -d (line buffered) and wait for its SUBACK."""
    cmd = ["mosquitto_sub", "-h", harness.HOST, "-p", str(harness.PORT),
           "-i", cid(), "-t", flt, "-d", "-W", "20"] + list(extra)
    if shutil.which("stdbuf"):
        cmd = ["stdbuf", "-oL"] + cmd
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    harness.on_cleanup(p.kill)
    out = b""
    deadline = time.monotonic() + 10
    while b"Subscribed (mid" not in out:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([p.stdout], [], [], left)[0]:
            diag(out.decode(errors="replace"))
            raise Fail("mosquitto_sub did not subscribe")
        chunk = os.read(p.stdout.fileno(), 4096)
        if not chunk:
            diag(out.decode(errors="replace"))
            raise Fail("mosquitto_sub exited: %s" % p.wait())
        out += chunk
    return p, out


def _mosquitto_pub(*args):
    p = subprocess.run(["mosquitto_pub", "-h", harness.HOST, "-p",
                        str(harness.PORT), "-i", cid()] + list(args),
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=20)
    check_eq(p.returncode, 0, "mosquitto_pub exit (%s)" % p.stdout.decode())


def _sub_output(p, head):
    out, _ = p.communicate(timeout=20)
    out = (head + out).decode(errors="replace")
    check_eq(p.returncode, 0, "mosquitto_sub exit status")
    return [ln for ln in out.splitlines() if not ln.startswith("Client ")
            and not ln.startswith("Subscribed (mid")]


@test()
def mosquitto_clients_exact():
    t = topic("cli")
    p, head = _mosquitto_sub(t, "-C", "1")
    _mosquitto_pub("-t", t, "-m", "hello kmqttd")
    check_eq(_sub_output(p, head), ["hello kmqttd"], "mosquitto_sub output")


@test()
def mosquitto_clients_wildcard_lines():
    base = topic("cli")
    p, head = _mosquitto_sub(base + "/+", "-C", "3", "-v")
    r = subprocess.run(["mosquitto_pub", "-h", harness.HOST, "-p",
                        str(harness.PORT), "-t", base + "/x", "-l"],
                       input=b"one\ntwo\nthree\n", stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=20)
    check_eq(r.returncode, 0, "mosquitto_pub -l exit")
    check_eq(_sub_output(p, head), ["%s/x %s" % (base, w)
                                    for w in ("one", "two", "three")],
             "mosquitto_sub -v output")


@test()
def paho_to_mosquitto_sub():
    t = topic("cli")
    p, head = _mosquitto_sub(t, "-C", "1")
    pub = Paho()
    pub.publish(t, b"from-paho")
    got = "\n".join(_sub_output(p, head))
    check_eq(got, "from-paho", "mosquitto_sub output")


@test()
def mosquitto_pub_to_paho():
    t = topic("cli")
    sub = Paho()
    sub.subscribe(t)
    _mosquitto_pub("-t", t, "-m", "from-mosquitto_pub")
    m = sub.wait_msgs(1)
    check_eq([(x.topic, x.payload) for x in m],
             [(t, b"from-mosquitto_pub")], "delivered")


@test()
def filter_exact():
    p = topic("f")
    check_filters([p + "/a/b"],
                  [p + "/a", p + "/a/b", p + "/a/b/c", p + "/a/bb",
                   p + "/A/b", p + "/a/b/", p + "/a/b"])


@test()
def filter_plus():
    p = topic("f")
    check_filters([p + "/+/b", p + "/+", p + "/a/+"],
                  [p, p + "/", p + "/a", p + "/a/b", p + "/x/b", p + "//b",
                   p + "/a/c", p + "/a/b/c", p + "/b", p + "/a/"])


@test()
def filter_plus_single_level():
    """'+' never matches across levels nor a missing level."""
    p = topic("f")
    check_filters([p + "/+/z", p + "/+/+"],
                  [p + "/a/b/z", p + "/a/z", p + "/z", p + "/a/b/c",
                   p + "/a/b", p + "/a"])


@test()
def filter_hash():
    p = topic("f")
    check_filters([p + "/#", p + "/a/#"],
                  [p, p + "/", p + "/a", p + "/a/", p + "/a/b/c",
                   p + "/ab", p + "/b/a", p + "x/a"])


@test()
def filter_hash_alone():
    p = topic("f")
    q = topic("f")
    # Other traffic could appear on '#'; only compare our own topics.
    check_filters(["#"], [p, p + "/a", q + "/b/c", "/" + q],
                  relevant=lambda t: p in t or q in t)


@test()
def filter_multi_level():
    p = topic("f")
    u = p.split("/")[1]
    check_filters([p + "/+/+/d/#", "+/%s/+/x" % u, "+/+/+/+/e"],
                  [p + "/a/b/d", p + "/a/b/d/e/f", p + "/a/d", p + "/a/b/c/d",
                   p + "/q/x", p + "/q/r/x", p + "/a/b/e", p + "/a/b/d/e",
                   "%s/%s/q/x" % ("other", u)])


@test()
def filter_dollar_topics():
    """Wildcards at the first level do not match $-topics; $x/# does."""
    d = "$" + uid("dollar")
    p = topic("f")
    check_filters(["#", "+/x", "+/+", "+/#", d + "/#", d + "/+"],
                  [d + "/x", d, p + "/x", "kmqt/x"],
                  relevant=lambda t: t.startswith(d) or t.startswith(p)
                  or t == "kmqt/x")


@test()
def overlapping_subscriptions_one_client():
    """Several matching filters of one client: at least one copy each."""
    t = topic("ov", "a", "b")
    s = Paho()
    s.subscribe([(t, 0), (t.rsplit("/", 1)[0] + "/+", 0)])
    pub = Paho()
    pub.publish(t, b"x")
    pub.publish(t + "/end", b"end")   # matches neither: no delivery
    pub.publish(t, b"sentinel")
    before = s.wait_payload(b"sentinel")
    check(1 <= len(before) <= 2 and all(m.payload == b"x" for m in before),
          "overlapping filters: got %r" % before)


@test()
def unsubscribe_stops_delivery():
    t = topic("uns")
    other = topic("uns")
    s = Paho()
    s.subscribe(t)
    s.subscribe(other)
    pub = Paho()
    pub.publish(t, b"1")
    s.wait_payload(b"1")
    s.unsubscribe(t)
    pub.publish(t, b"2")
    pub.publish(other, b"sentinel")
    s.wait_payload(b"sentinel")
    check_eq([m.payload for m in s.msgs], [b"1", b"sentinel"], "deliveries")


@test()
def unsuback_for_unknown_filter():
    r = Raw()
    r.connect()
    r.unsubscribe(topic("never"))
    r.unsubscribe([topic("never"), topic("never") + "/#"])
    r.ping()
    r.disconnect()


@test()
def subscribe_many_filters_one_packet():
    p = topic("multi")
    r = Raw()
    r.connect()
    r.subscribe([p + "/a", p + "/b/#", p + "/+/c"], codes=[0, 0, 0])
    for t in (p + "/a", p + "/b/x", p + "/z/c", p + "/z/d"):
        r.publish(t, t)
    r.publish(p + "/a", b"end")
    got = []
    while True:
        m = r.expect(3)
        if m.payload == b"end":
            break
        got.append(m.topic)
    check_eq(got, [p + "/a", p + "/b/x", p + "/z/c"], "deliveries")
    r.disconnect()


@test()
def pingreq_pingresp():
    r = Raw()
    r.connect()
    r.send(b"\xc0\x00")
    p = r.expect(13)
    check_eq(p.raw, PINGRESP_PKT, "PINGRESP bytes")
    r.disconnect()


@test()
def keepalive():
    """Three clients with keepalive=1: a silent one is closed after 1.5 s
    (kmqttd: within 1.0..4.0 s; other brokers: within 10 s), one sending
    PINGREQ and one sending PUBLISH every 0.5 s stay connected for 3 s."""
    t = topic("ka")
    with expect_refusal("keepalive"):
        silent, pinger, talker = Raw(), Raw(), Raw()
        for c in (silent, pinger, talker):
            c.connect(keepalive=1)
        t0 = time.monotonic()
        closed_at = None
        i = 0
        while time.monotonic() < t0 + 3.0:
            pinger.ping()
            talker.publish(t, b"%d" % i)
            i += 1
            tick = time.monotonic() + 0.5
            while closed_at is None and time.monotonic() < tick:
                if not silent.is_open():
                    closed_at = time.monotonic() - t0
                    break
                select.select([silent.sock], [], [],
                              max(0.0, tick - time.monotonic()))
            time.sleep(max(0.0, tick - time.monotonic()))
        check(pinger.is_open(), "PINGREQ client closed despite PINGREQs")
        check(talker.is_open(), "PUBLISH client closed despite traffic")
        pinger.ping()
        talker.ping()
        if closed_at is None:
            waited, got = silent.wait_closed(10.0)
            check_eq(got, b"", "bytes from the broker before closing")
            closed_at = time.monotonic() - t0
        diag("silent client closed after %.2fs" % closed_at)
        if harness.IS_KMQTTD:
            check(1.0 <= closed_at <= 4.0,
                  "closed after %.2fs, want 1.5s (1.0..4.0)" % closed_at)
        pinger.disconnect()
        talker.disconnect()


@test(timeout=90)
def concurrent_100_clients():
    """50 subscribers + 50 publishers, all connected at once: every
    subscriber gets every message exactly once."""
    nsub = npub = 50
    t = topic("load")
    subs = [Raw() for _ in range(nsub)]
    pubs = [Raw() for _ in range(npub)]
    for c in subs + pubs:
        c.send(connect_pkt(cid()))
    for c in subs + pubs:
        check_eq(c.expect(2).body, b"\x00\x00", "CONNACK")
    for c in subs:
        c.send(subscribe_pkt(1, [t]))
    for c in subs:
        check_eq(c.expect(9).body, b"\x00\x01\x00", "SUBACK")
    for i, c in enumerate(pubs):
        c.send(publish_pkt(t, b"p%d" % i))
    pubs[0].send(publish_pkt(t, b"end"))
    want = sorted([b"p%d" % i for i in range(npub)] + [b"end"])
    bad = 0
    for k, c in enumerate(subs):
        got = []
        while len(got) < npub + 1:
            try:
                p = c.recv_packet(20)
            except Exception as e:
                raise Fail("subscriber %d after %d messages: %s" %
                           (k, len(got), e))
            check_eq((p.type, p.topic), (3, t), "packet")
            got.append(p.payload)
        if sorted(got) != want:
            bad += 1
            diag("subscriber %d got %r" % (k, sorted(got)))
    check_eq(bad, 0, "subscribers with wrong deliveries")
    for c in subs + pubs:
        c.disconnect()


def _roundtrip(payload, t=None):
    t = t or topic("size")
    s = Paho()
    s.subscribe(t)
    pub = Paho()
    pub.publish(t, payload)
    m = s.wait_msgs(1, timeout=20)
    check_eq(len(m), 1, "messages")
    check_eq(m[0].topic, t, "topic")
    if m[0].payload != payload:
        raise Fail("payload corrupted: %d bytes, want %d" %
                   (len(m[0].payload), len(payload)))


@test()
def payload_empty():
    _roundtrip(b"")


@test()
def payload_one_byte():
    _roundtrip(b"\x00")


@test()
def payload_100k():
    _roundtrip(os.urandom(100 * 1024))


@test()
def payload_all_byte_values():
    _roundtrip(bytes(range(256)) + bytes(range(255, -1, -1)))


@test()
def payload_100k_raw():
    """100 KB to a raw-socket subscriber, sent in small pieces."""
    t = topic("size")
    data = os.urandom(100 * 1024 + 7)
    s = Raw()
    s.connect()
    s.subscribe(t)
    pub = Raw()
    pub.connect()
    pkt = publish_pkt(t, data)
    for i in range(0, len(pkt), 4096):
        pub.send(pkt[i:i + 4096])
    p = s.expect(3, 20)
    check_eq(p.topic, t, "topic")
    check(p.payload == data, "100 KB payload corrupted")
    s.disconnect()
    pub.disconnect()


@test()
def utf8_topic_multibyte():
    base = topic("utf8")
    t = base + "/ü/日本語/😀"
    _roundtrip("é".encode() * 3, t)
    check_filters([base + "/+/日本語/#", base + "/ü/+/😀"],
                  [t, base + "/ü/日本/😀", base + "/€/日本語"])
    s = Paho()
    s.subscribe(t)
    pub = Paho()
    pub.publish(t, b"x")
    m = s.wait_msgs(1)
    check_eq(m[0].topic_bytes, t.encode("utf-8"), "topic bytes")
