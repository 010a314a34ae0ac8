# SPDX-License-Identifier: GPL-2.0
"""QoS 3 (Documentation/qos3.rst): the publisher learns that N
subscribers acknowledged its message.  kmqttd-only.

Both ways of asking: native QoS 3 (a listener with QoS 3 on, added by
each test with "mqctl listener add 127.0.0.1:<KMQ_QOS3_PORT> qos3 on" and
removed at its end) and the "$qos3/<N|all>[,<ms>]/<topic>" convention at
QoS 1 and 2 (raw clients and paho).  Subscribers are standard clients:
mosquitto_sub, paho and raw ones whose acknowledgements the test controls
(a raw subscriber that does not read never acknowledges).
"""
import json
import os
import struct
import subprocess
import sys
import threading
import time

import harness
from harness import (test, check, check_eq, diag, on_cleanup, skip, wait_for,
                     Fail)
from mqttlib import (Raw, Paho, topic, cid, session_id, clear_retained, stats,
                     mqctl_path, ack_pkt, publish_pkt, expect_close,
                     exchange_ok, expect_refusal, PUBLISH, PUBACK, PUBREC, PUBREL, PUBCOMP,
                     PINGRESP, PINGREQ_PKT)

sys.path.insert(0, os.path.join(harness.TOP, "tools", "qos3"))
import kmqtt_qos3 as q3  # noqa: E402

TEST_ORDER = 65
Q3PORT = int(os.environ.get("KMQ_QOS3_PORT", "1885"))
MQPUB3 = os.path.join(harness.TOP, "tools", "qos3", "mqpub3")
CONFIRMED, TIMEOUT, UNREACHABLE, REFUSED = range(4)


# ------------------------------------------------------------ helpers

def mqctl(*args, ok=True):
    p = subprocess.run([mqctl_path()] + [str(a) for a in args],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=30)
    if ok:
        check_eq(p.returncode, 0, "mqctl %s: %s" % (
            " ".join(map(str, args)), p.stderr.decode()[-300:]))
    return p


def set_param(name, value):
    """Change a setting for the rest of the test."""
    old = json.loads(mqctl("-j", "get").stdout)[name]
    check(old is not None, "mqctl get has no %s" % name)
    mqctl("set", name, value)
    on_cleanup(lambda: mqctl("set", name, int(old), ok=False))


def qos3_listener():
    """Add a listener with native QoS 3 on for this test; its port."""
    addr = "127.0.0.1:%d" % Q3PORT
    p = mqctl("listener", "add", addr, "qos3", "on", ok=False)
    if p.returncode:
        raise Fail("mqctl listener add %s qos3 on: %s" %
                   (addr, p.stderr.decode()[-300:]))
    on_cleanup(lambda: mqctl("listener", "del", addr, ok=False))
    lst = json.loads(mqctl("-j", "listener").stdout)
    mine = [x for x in lst if x["port"] == Q3PORT]
    check(mine and mine[0].get("qos3") is True,
          "listener %s with qos3: %r" % (addr, lst))
    return Q3PORT


def native(client_id=None, clean=True, port=None):
    """A native QoS 3 publisher (kmqtt_qos3.Client) on the QoS 3 port."""
    c = q3.Client(harness.HOST, port or Q3PORT,
                  client_id if client_id is not None else cid(), clean=clean)
    on_cleanup(c.close)
    return c


def conv(client_id=None, clean=True, port=None, subscribe=True):
    """A raw convention publisher, subscribed to its report topic."""
    c = q3.Client(harness.HOST, port or harness.PORT,
                  client_id if client_id is not None else cid(), clean=clean)
    on_cleanup(c.close)
    if subscribe:
        check_eq(c.subscribe(q3.result_topic(c.client_id), 1), [1],
                 "SUBACK of the report topic")
    return c


def check_answer(a, result, confirmed, matched, unconfirmable, what="answer"):
    """confirmed: a count, or (lo, hi) when more subscribers than
    required may confirm before the request is evaluated."""
    diag("%s: %r" % (what, a))
    if isinstance(confirmed, tuple) and \
            confirmed[0] <= a.confirmed <= confirmed[1]:
        confirmed = a.confirmed
    check_eq((q3.RESULTS.get(a.code, a.code), a.confirmed, a.matched,
              a.unconfirmable),
             (q3.RESULTS[result], confirmed, matched, unconfirmable),
             "%s (result, confirmed, matched, unconfirmable)" % what)


def pub_sentinel(t):
    """A QoS 1 sentinel on t from a new client."""
    c = q3.Client(harness.HOST, harness.PORT)
    on_cleanup(c.close)
    c.publish(t, b"sentinel", 1)
    c.disconnect()


def no_more_answers(c, what="answer"):
    """A PINGREQ round trip brings nothing but PINGRESP (and PUBLISHes)."""
    c._send(PINGREQ_PKT)
    p = c.wait(lambda p: p.type != PUBLISH, 5, "PINGRESP")
    check_eq(p.type, PINGRESP, "no extra %s before PINGRESP (%r)" % (what, p))


def wait_offline(client_id):
    """Wait until the broker has seen the client go (its DISCONNECT may
    still be unread when the client returns from disconnect())."""
    def gone():
        out = mqctl("-j", "client", "show", client_id).stdout
        return not json.loads(out).get("connected")
    wait_for(gone, 10, "%s offline" % client_id)


def q3stats():
    s = stats()
    for k in ("qos3_requested", "qos3_confirmed", "qos3_timed_out",
              "qos3_unreachable", "qos3_refused", "qos3_pending"):
        check(k in s, "mqctl -j stats has no %s (mqctl too old?)" % k)
    return {k[5:]: v for k, v in s.items() if k.startswith("qos3_")}


def q3delta(before, want):
    """Wait until the QoS 3 counters moved by exactly want (others 0)."""
    def moved():
        now = q3stats()
        d = {k: now[k] - before[k] for k in now if k != "pending"}
        d["pending"] = now["pending"]
        return d
    full = dict({k: 0 for k in before if k != "pending"}, pending=0)
    full.update(want)
    last = [None]

    def ok():
        last[0] = moved()
        return last[0] == full
    try:
        wait_for(ok, 5.0, "QoS 3 counters", 0.05)
    except Fail:
        diag("qos3 deltas: %r, want %r" % (last[0], full))
        raise


def pending_zero():
    wait_for(lambda: q3stats()["pending"] == 0, 5.0, "qos3_pending == 0",
             0.05)


class MosqSub:
    """mosquitto_sub -q QOS on topic t, printing "MSG <qos> <payload>"."""

    def __init__(self, t, qos, client_id=None, clean=True):
        # stdbuf: line-buffered output through the pipe
        args = ["stdbuf", "-oL", "mosquitto_sub", "-h", harness.HOST,
                "-p", str(harness.PORT),
                "-t", t, "-q", str(qos), "-d", "-F", "MSG %q %p",
                "-i", client_id or cid()]
        if not clean:
            args.append("-c")
        try:
            self.p = subprocess.Popen(args, stdout=subprocess.PIPE,
                                      stderr=subprocess.STDOUT, text=True)
        except FileNotFoundError:
            skip("no mosquitto_sub")
        on_cleanup(self.stop)
        self.lines = []
        self.cv = threading.Condition()
        threading.Thread(target=self._reader, daemon=True).start()
        self.wait(lambda ls: any("received SUBACK" in x for x in ls),
                  "SUBACK")

    def _reader(self):
        for line in self.p.stdout:
            with self.cv:
                self.lines.append(line.rstrip("\n"))
                self.cv.notify_all()

    def wait(self, pred, what, timeout=10.0):
        with self.cv:
            if not self.cv.wait_for(lambda: pred(self.lines), timeout):
                diag("mosquitto_sub output: %r" % self.lines[-20:])
                raise Fail("mosquitto_sub: timed out waiting for " + what)

    def msgs(self):
        with self.cv:
            return [x.split(" ", 2)[1:] for x in self.lines
                    if x.startswith("MSG ")]

    def stop(self):
        if self.p.poll() is None:
            self.p.terminate()
            try:
                self.p.wait(5)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()


def raw_sub(t, qos=1, port=None, **kw):
    """A raw subscriber: it acknowledges only when the test collects."""
    r = Raw(port=port)
    r.connect(**kw)
    r.subscribe([(t, qos)], codes=[qos])
    return r


def paho_sub(t, qos=1, **kw):
    s = Paho(**kw)
    check_eq(s.subscribe(t, qos), [qos], "granted QoS")
    return s


# ------------------------------------------------------------ listeners

@test(kmqttd_only=True)
def native_closes_default_listener():
    """QoS bits 11 are malformed where QoS 3 is off (the default)."""
    t = topic("q3")
    pkt = q3.publish3_packet(t, b"x", 1, 1, 0)
    with expect_refusal("bad_qos"):
        expect_close(pkt, "native QoS 3 PUBLISH on the default listener")
    exchange_ok()


@test(kmqttd_only=True)
def listener_qos3_plain_mqtt_still_works():
    """A QoS 3 listener serves plain MQTT 3.1.1 unchanged."""
    port = qos3_listener()
    t = topic("plain")
    s = raw_sub(t, 2, port=port)
    p = Raw(port=port)
    p.connect()
    for qos in (0, 1, 2):
        p.pub(t, b"m%d" % qos, qos=qos)
    got = s.collect(n=3)
    check_eq([(m.payload, m.qos) for m in got],
             [(b"m0", 0), (b"m1", 1), (b"m2", 2)], "deliveries")
    # a native publish to nobody: answered at once, unreachable (N=1)
    c = native()
    check_answer(c.publish3(topic("none"), b"x", 1, 5000), UNREACHABLE,
                 0, 0, 0)


@test(kmqttd_only=True)
def native_malformed_closes():
    """Too short for the required count and timeout, packet id 0."""
    port = qos3_listener()
    t = topic("bad").encode()
    body = struct.pack("!H", len(t)) + t
    for what, data in (
            ("no packet id", q3._packet(0x36, body)),
            ("no count", q3._packet(0x36, body + b"\x00\x01")),
            ("short timeout", q3._packet(0x36, body + b"\x00\x01\x00\x01"
                                         b"\x00\x00")),
            ("packet id 0", q3._packet(0x36, body + b"\x00\x00\x00\x01"
                                       b"\x00\x00\x00\x00"))):
        r = Raw(port=port)
        r.connect()
        r.try_send(data + PINGREQ_PKT)
        r.expect_silent_close(what)


# ------------------------------------------------------------ confirmed

@test(kmqttd_only=True)
def native_confirmed_n1():
    qos3_listener()
    t = topic("n1")
    s = paho_sub(t, 1)
    before = q3stats()
    c = native()
    a = c.publish3(t, b"rx", 1, 5000)
    check_answer(a, CONFIRMED, 1, 1, 0)
    msgs = s.wait_msgs(1)
    check_eq([(m.topic, m.payload, m.qos) for m in msgs], [(t, b"rx", 1)],
             "delivery (real topic, QoS min(2, granted))")
    no_more_answers(c)
    q3delta(before, {"requested": 1, "confirmed": 1})


@test(kmqttd_only=True)
def native_confirmed_n3_mosquitto_paho():
    """mosquitto_sub -q 1 and -q 2, paho QoS 2 confirm; QoS 0 cannot."""
    qos3_listener()
    t = topic("n3")
    m1 = MosqSub(t, 1)
    m2 = MosqSub(t, 2)
    p2 = paho_sub(t, 2)
    p0 = paho_sub(t, 0)
    c = native()
    a = c.publish3(t, b"hello", 3, 5000)
    check_answer(a, CONFIRMED, 3, 4, 1)
    m1.wait(lambda ls: any(x == "MSG 1 hello" for x in ls), "message")
    m2.wait(lambda ls: any(x == "MSG 2 hello" for x in ls), "message")
    check_eq([(m.payload, m.qos) for m in p2.wait_msgs(1)], [(b"hello", 2)],
             "paho QoS 2 delivery")
    check_eq([(m.payload, m.qos) for m in p0.wait_msgs(1)], [(b"hello", 0)],
             "paho QoS 0 delivery")


@test(kmqttd_only=True)
def native_all():
    """required 0: every subscriber that could confirm on arrival."""
    qos3_listener()
    t = topic("all")
    MosqSub(t, 1)
    paho_sub(t, 2)
    paho_sub(t, 0)
    c = native()
    check_answer(c.publish3(t, b"a", 0, 5000), CONFIRMED, 2, 3, 1)
    # nobody able to confirm: "all" of none is confirmed at once
    check_answer(c.publish3(topic("nobody"), b"a", 0, 5000), CONFIRMED,
                 0, 0, 0, "all, no subscriber")
    only0 = topic("only0")
    paho_sub(only0, 0)
    check_answer(c.publish3(only0, b"a", 0, 5000), CONFIRMED, 0, 1, 1,
                 "all, only a QoS 0 subscriber")


@test(kmqttd_only=True)
def convention_q1_confirmed_n1_n3_all():
    t = topic("conv")
    MosqSub(t, 1)
    MosqSub(t, 2)
    s = paho_sub(t, 2)
    c = conv()
    for n, conf in ((1, (1, 3)), (3, 3), ("all", 3)):
        a = c.publish_convention(t, b"c%s" % str(n).encode(), n, 5000, 1)
        check_answer(a, CONFIRMED, conf, 3, 0, "N=%s" % n)
        check_eq(a.required, 3 if n == "all" else n, "report required")
        check_eq(sorted(a.report), sorted(["pid", "result", "confirmed",
                                           "required", "matched",
                                           "unconfirmable"]), "report keys")
    got = s.wait_msgs(3)
    check_eq([(m.topic, m.qos) for m in got], [(t, 1)] * 3,
             "delivered on the real topic at QoS 1 (the publish's QoS)")


@test(kmqttd_only=True)
def convention_q2_confirmed_mosquitto():
    t = topic("conv2")
    MosqSub(t, 2)
    MosqSub(t, 1)
    c = conv()
    a = c.publish_convention(t, b"x", 2, 5000, 2)
    check_answer(a, CONFIRMED, 2, 2, 0)


@test(kmqttd_only=True)
def convention_paho_publisher():
    """An unchanged paho publisher: wait_for_publish() + the report."""
    t = topic("pp")
    MosqSub(t, 1)
    paho_sub(t, 2)
    for qos in (1, 2):
        a = q3.publish_convention(harness.HOST, harness.PORT, t, b"p", 2, 5000,
                                  qos, cid(), paho=True)
        check_answer(a, CONFIRMED, 2, 2, 0, "paho QoS %d" % qos)


@test(kmqttd_only=True)
def convention_qos0_no_confirmation():
    """QoS 0 on "$qos3/..." is routed to the real topic, nothing else."""
    t = topic("q0")
    s = raw_sub(t, 1)
    before = q3stats()
    c = conv()
    c.publish(q3.convention_topic(t, 1), b"zero", 0)
    got = s.collect(n=1)
    check_eq([(m.topic, m.payload, m.qos) for m in got], [(t, b"zero", 0)],
             "delivery")
    no_more_answers(c, "report")
    check_eq(c.messages, [], "report for QoS 0")
    q3delta(before, {})


@test(kmqttd_only=True)
def convention_malformed_closes():
    bad = ("$qos3/0/t", "$qos3/x/t", "$qos3/1", "$qos3/1/", "$qos3//t",
           "$qos3/1,/t", "$qos3/1,0/t", "$qos3/65536/t", "$qos3/all,x/t",
           "$qos3/1/a/+", "$qos3/1/#", "$qos3/1,3600001/t", "$qos3/alls/t")
    with expect_refusal("bad_topic", count=len(bad)):
        for b in bad:
            expect_close(publish_pkt(b, b"x", 1, pid=1), b)
    # accepted forms (nobody subscribed: answered at once)
    c = conv()
    t = topic("good")
    for good in ("$qos3/1/", "$qos3/all/", "$qos3/1,1/",
                 "$qos3/65535,3600000/"):
        c.publish(good + t, b"ok", 1)
    exchange_ok()


# ------------------------------------------------------------ not confirmed

@test(kmqttd_only=True)
def native_timeout_no_ack():
    qos3_listener()
    t = topic("to")
    r = raw_sub(t, 1)           # never reads, never acknowledges
    before = q3stats()
    c = native()
    a = c.publish3(t, b"x", 1, 400)
    check_answer(a, TIMEOUT, 0, 1, 0)
    check(0.35 < a.elapsed < 3.0, "answered after %.3fs, want ~0.4" %
          a.elapsed)
    q3delta(before, {"requested": 1, "timed_out": 1})
    # a late acknowledgement changes nothing
    r.collect(n=1)
    no_more_answers(c)
    q3delta(before, {"requested": 1, "timed_out": 1})


@test(kmqttd_only=True)
def wait_longer_than_keepalive():
    """The helper pings while it waits: the broker keeps the connection."""
    qos3_listener()
    t = topic("ka")
    raw_sub(t, 1)
    c = q3.Client(harness.HOST, Q3PORT, cid(), keepalive=2)
    on_cleanup(c.close)
    a = c.publish3(t, b"x", 1, 4000)
    check_answer(a, TIMEOUT, 0, 1, 0)
    check(a.elapsed > 3.5, "answered after %.3fs" % a.elapsed)


@test(kmqttd_only=True)
def default_timeout_setting():
    """timeout 0 = the qos3_timeout setting (ms)."""
    qos3_listener()
    set_param("qos3_timeout", 300)
    t = topic("dt")
    raw_sub(t, 1)
    c = native()
    a = c.publish3(t, b"x", 1, 0)
    check_answer(a, TIMEOUT, 0, 1, 0)
    check(0.25 < a.elapsed < 3.0, "answered after %.3fs, want ~0.3" %
          a.elapsed)
    cv = conv()
    a = cv.publish_convention(t, b"x", 1, 0, 1)
    check_answer(a, TIMEOUT, 0, 1, 0, "convention")
    check(0.25 < a.ack_elapsed < 3.0, "PUBACK after %.3fs, want ~0.3" %
          a.ack_elapsed)


@test(kmqttd_only=True)
def convention_timeout_withholds_ack():
    t = topic("cto")
    raw_sub(t, 2)
    for qos in (1, 2):
        c = conv()
        a = c.publish_convention(t, b"x", 1, 400, qos)
        check_answer(a, TIMEOUT, 0, 1, 0, "QoS %d" % qos)
        check(0.35 < a.ack_elapsed < 3.0, "QoS %d ack after %.3fs, want "
              "~0.4 (withheld until the timeout)" % (qos, a.ack_elapsed))


@test(kmqttd_only=True)
def unreachable_early():
    """More confirmations asked than subscribers can give: at once."""
    qos3_listener()
    t = topic("un")
    raw_sub(t, 1)               # able to confirm, does not (yet)
    paho_sub(t, 0)
    before = q3stats()
    c = native()
    a = c.publish3(t, b"x", 2, 10000)
    check_answer(a, UNREACHABLE, 0, 2, 1)
    check(a.elapsed < 2.0, "unreachable after %.3fs" % a.elapsed)
    cv = conv()
    a = cv.publish_convention(t, b"x", 5, 10000, 1)
    check_answer(a, UNREACHABLE, 0, 2, 1, "convention")
    check(a.ack_elapsed < 2.0, "PUBACK after %.3fs" % a.ack_elapsed)
    q3delta(before, {"requested": 2, "unreachable": 2})


@test(kmqttd_only=True)
def qos0_subscriber_unconfirmable():
    qos3_listener()
    t = topic("q0s")
    MosqSub(t, 0)
    s = raw_sub(t, 1)
    c = native()
    check_answer(c.publish3(t, b"x", 2, 5000), UNREACHABLE, 0, 2, 1,
                 "N=2")
    pid = c.send_publish3(t, b"y", 0, 5000)
    s.collect(n=2)
    check_answer(c.wait_answer(pid), CONFIRMED, 1, 2, 1, "all")


@test(kmqttd_only=True)
def subscriber_disconnects_before_confirming():
    """A clean subscriber leaving loses its delivery: unreachable early
    when too few remain, else the request waits (here: times out)."""
    qos3_listener()
    t = topic("sd")
    a1 = raw_sub(t, 1)
    a2 = raw_sub(t, 2)
    c = native()
    pid = c.send_publish3(t, b"x", 2, 10000)
    time.sleep(0.1)
    t0 = time.monotonic()
    a1.bye()
    a = c.wait_answer(pid, 5)
    check_answer(a, UNREACHABLE, 0, 2, 0, "N=2, one left")
    check(time.monotonic() - t0 < 3.0, "unreachable only after the %ss "
          "timeout" % 10)
    # N=1, two non-acknowledging subscribers, one leaves: still possible
    b1 = raw_sub(t, 1)
    c2 = native()
    pid = c2.send_publish3(t, b"y", 1, 800)
    time.sleep(0.1)
    b1.hangup()
    a = c2.wait_answer(pid, 5)
    check_answer(a, TIMEOUT, 0, 2, 0, "N=1, one of two left")
    # convention: the subscriber leaves, PUBACK released early
    cv = conv()
    pid = cv.publish(q3.convention_topic(t, 1, 10000), b"z", 1, wait=False)
    time.sleep(0.1)
    a2.bye()
    t0 = time.monotonic()
    cv.wait(lambda p: p.first == 0x40 and p.pid == pid, 5, "PUBACK")
    check(time.monotonic() - t0 < 3.0, "PUBACK withheld until the timeout")
    check_answer(cv.wait_report(pid, 5), UNREACHABLE, 0, 1, 0, "convention")


@test(kmqttd_only=True)
def persistent_subscriber_offline_confirms_later():
    """Its delivery stays queued; it confirms after reconnecting."""
    qos3_listener()
    t = topic("ps")
    sid = session_id()
    r = raw_sub(t, 1, client_id=sid, clean=False)
    r.bye()
    c = native()
    t0 = time.monotonic()
    pid = c.send_publish3(t, b"late", 1, 5000)
    time.sleep(0.3)
    # nothing yet: a PINGREQ is answered before any QoS 3 answer
    no_more_answers(c)
    r = Raw()
    r.connect(sid, clean=False)
    got = r.collect(n=1)
    check_eq([(m.payload, m.qos) for m in got], [(b"late", 1)],
             "queued delivery")
    a = c.wait_answer(pid, 5)
    el = time.monotonic() - t0
    check_answer(a, CONFIRMED, 1, 1, 0)
    check(0.3 < el < 4.0, "confirmed after %.3fs" % el)
    r.bye()
    # offline and not returning: counted as able to confirm, times out
    a = c.publish3(t, b"never", 1, 400)
    check_answer(a, TIMEOUT, 0, 1, 0, "offline, not returning")
    # convention, QoS 2 publisher
    cv = conv()
    pid = cv.publish(q3.convention_topic(t, 1, 5000), b"c", 2, wait=False)
    cv.wait(lambda p: p.type == PUBREC and p.pid == pid, 5, "PUBREC")
    cv._send(ack_pkt(PUBREL, pid))
    time.sleep(0.2)
    no_more_answers(cv, "PUBCOMP")
    r = Raw()
    r.connect(sid, clean=False)
    r.collect(until=b"c")
    cv.wait(lambda p: p.type == PUBCOMP and p.pid == pid, 5, "PUBCOMP")
    check_answer(cv.wait_report(pid, 5), CONFIRMED, 1, 1, 0, "convention")


@test(kmqttd_only=True)
def publisher_disconnects_while_waiting():
    """No answer, nothing leaks; a late confirmation is harmless."""
    qos3_listener()
    t = topic("pd")
    s = raw_sub(t, 1)
    before = q3stats()
    c = native()
    c.send_publish3(t, b"x", 1, 10000)
    wait_for(lambda: q3stats()["pending"] == 1, 5, "qos3_pending == 1")
    c.disconnect()
    pending_zero()
    cv = conv()
    cv.publish(q3.convention_topic(t, 1, 10000), b"y", 1, wait=False)
    wait_for(lambda: q3stats()["pending"] == 1, 5, "qos3_pending == 1")
    cv.close()                  # no DISCONNECT: the connection drops
    pending_zero()
    got = s.collect(n=2)        # late acknowledgements
    check_eq([m.payload for m in got], [b"x", b"y"], "deliveries")
    q3delta(before, {"requested": 2})
    exchange_ok()


@test(kmqttd_only=True)
def same_client_publishes_and_subscribes():
    """The publisher's own subscription confirms like any other."""
    qos3_listener()
    t = topic("self")
    c = native()
    c.subscribe(t, 1)
    a = c.publish3(t, b"me", 1, 5000)
    check_answer(a, CONFIRMED, 1, 1, 0)
    check_eq([(m.topic, m.payload) for m in c.messages], [(t, b"me")],
             "own delivery")
    # convention with paho: it acknowledges its own delivery itself
    p = Paho()
    p.subscribe([(t, 2), (q3.result_topic(p.client_id), 1)])
    t0 = time.monotonic()
    p.publish(q3.convention_topic(t, 1, 3000), b"paho-self", 1, timeout=5)
    check(time.monotonic() - t0 < 2.5, "PUBACK only after the timeout")
    msgs = p.wait_until(lambda ms: any(m.topic.startswith("$qos3/result/")
                                       for m in ms), 5, "report")
    rep = [json.loads(m.payload) for m in msgs
           if m.topic.startswith("$qos3/result/")]
    check_eq(rep[0]["result"], "confirmed", "report %r" % rep)
    check(any(m.topic == t and m.payload == b"paho-self" for m in msgs),
          "own delivery")


@test(kmqttd_only=True)
def retained_delivery_not_counted():
    qos3_listener()
    t = topic("ret")
    on_cleanup(lambda: clear_retained(t))
    live = raw_sub(t, 1)        # never acknowledges
    c = native()
    pid = c.send_publish3(t, b"kept", 1, 1500, retain=True)
    time.sleep(0.1)
    late = Raw()
    late.connect()
    late.subscribe([(t, 1)], codes=[1])
    got = late.collect(n=1)     # acknowledges the retained copy
    check_eq([(m.payload, m.retain) for m in got], [(b"kept", True)],
             "retained delivery")
    a = c.wait_answer(pid, 5)
    check_answer(a, TIMEOUT, 0, 1, 0)
    got = live.collect(n=1)
    check_eq([(m.payload, m.retain) for m in got], [(b"kept", False)],
             "live delivery")
    # convention, QoS 1 with RETAIN: the same
    cv = conv()
    pid = cv.publish(q3.convention_topic(t, 1, 1500), b"kept2", 1,
                     retain=True, wait=False)
    time.sleep(0.1)
    late2 = Raw()
    late2.connect()
    late2.subscribe([(t, 1)], codes=[1])
    got = late2.collect(n=1)
    check_eq([(m.topic, m.payload, m.retain) for m in got],
             [(t, b"kept2", True)], "retained under the real topic")
    cv.wait(lambda p: p.first == 0x40 and p.pid == pid, 5, "PUBACK")
    # live and late (still subscribed, not reading) matched, none confirmed
    check_answer(cv.wait_report(pid, 5), TIMEOUT, 0, 2, 0, "convention")


@test(kmqttd_only=True)
def dup_resend_not_counted_twice():
    qos3_listener()
    t = topic("dup")
    s1 = raw_sub(t, 1)
    s2 = raw_sub(t, 1)
    before = q3stats()
    c = native()
    pid = c.send_publish3(t, b"once", 2, 5000)
    c.send_publish3(t, b"once", 2, 5000, pid=pid, dup=True)
    # the sentinel proves that only one copy was routed
    pub_sentinel(t)
    for s in (s1, s2):
        got = s.collect(until=b"sentinel")
        check_eq([m.payload for m in got], [b"once"], "one delivery")
    a = c.wait_answer(pid, 5)
    check_answer(a, CONFIRMED, 2, 2, 0)
    no_more_answers(c)
    # convention QoS 1, DUP re-send while pending
    s3 = raw_sub(t, 1)
    cv = conv()
    top = q3.convention_topic(t, 1, 5000)
    pid = cv.next_pid()
    cv._send(publish_pkt(top, b"c1", 1, pid=pid))
    cv._send(publish_pkt(top, b"c1", 1, pid=pid, dup=True))
    pub_sentinel(t)
    got = s3.collect(until=b"sentinel")
    check_eq([m.payload for m in got], [b"c1"], "one delivery")
    cv.wait(lambda p: p.first == 0x40 and p.pid == pid, 5, "PUBACK")
    check_answer(cv.wait_report(pid, 5), CONFIRMED, 1, 3, 0, "convention")
    no_more_answers(cv, "PUBACK")
    q3delta(before, {"requested": 2, "confirmed": 2})


@test(kmqttd_only=True)
def takeover_persistent_publisher():
    """The answer reaches the publisher's session on its new connection."""
    qos3_listener()
    t = topic("tk")
    s = raw_sub(t, 1)
    pid_ = session_id()
    c1 = native(pid_, clean=False)
    pid = c1.send_publish3(t, b"n", 1, 5000)
    d = s.expect(PUBLISH)       # routed; not acknowledged yet
    c2 = native(pid_, clean=False)
    check(c2.session_present, "session present after takeover")
    s.send(ack_pkt(PUBACK, d.pid))
    a = c2.wait_answer(pid, 5)
    check_answer(a, CONFIRMED, 1, 1, 0, "native, new connection")
    c2.disconnect()
    # convention: PUBACK and report on the new connection
    cid2 = session_id()
    p1 = conv(cid2, clean=False)
    top = q3.convention_topic(t, 1, 5000)
    pid = p1.publish(top, b"c", 1, wait=False)
    d = s.expect(PUBLISH)
    p2 = conv(cid2, clean=False, subscribe=False)
    # like any client resuming, it re-sends the unacknowledged PUBLISH
    p2._send(publish_pkt(top, b"c", 1, pid=pid, dup=True))
    pub_sentinel(t)
    check_eq([m.payload for m in s.collect(until=b"sentinel", ack=False)],
             [], "a second copy after the re-send")
    s.send(ack_pkt(PUBACK, d.pid))
    p2.wait(lambda p: p.first == 0x40 and p.pid == pid, 5, "PUBACK")
    check_answer(p2.wait_report(pid, 5), CONFIRMED, 1, 1, 0, "convention")
    # takeover by a clean session: the request is cancelled, no answer
    cid3 = session_id()
    p3 = native(cid3, clean=False)
    p3.send_publish3(t, b"gone", 1, 5000)
    d = s.expect(PUBLISH)
    wait_for(lambda: q3stats()["pending"] == 1, 5, "qos3_pending == 1")
    p4 = native(cid3, clean=True)
    pending_zero()
    s.send(ack_pkt(PUBACK, d.pid))
    no_more_answers(p4)


@test(kmqttd_only=True)
def persistent_publisher_answered_on_reconnect():
    """Offline when its request ends, it gets the answer after CONNACK."""
    qos3_listener()
    t = topic("pr")
    s = raw_sub(t, 1)
    ident = session_id()
    c = native(ident, clean=False)
    pid = c.send_publish3(t, b"x", 1, 5000)
    d = s.expect(PUBLISH)
    c.disconnect()
    wait_offline(ident)
    s.send(ack_pkt(PUBACK, d.pid))
    wait_for(lambda: q3stats()["pending"] == 0, 5, "the request ended")
    r = Raw(port=Q3PORT)
    r.connect(ident, clean=False)   # checks CONNACK comes first
    p = r.recv_packet()
    check_eq(p.raw, bytes([0x41, 9]) + struct.pack("!HBHHH", pid, 0, 1, 1, 0),
             "answer after CONNACK")
    # convention: the withheld PUBACK and the queued report
    ident = session_id()
    cv = conv(ident, clean=False)
    pid = cv.publish(q3.convention_topic(t, 1, 5000), b"y", 1, wait=False)
    d = s.expect(PUBLISH)
    cv.disconnect()
    wait_offline(ident)
    s.send(ack_pkt(PUBACK, d.pid))
    wait_for(lambda: q3stats()["pending"] == 0, 5, "the request ended")
    cv = conv(ident, clean=False, subscribe=False)
    cv.wait(lambda p: p.first == 0x40 and p.pid == pid, 5, "PUBACK")
    check_answer(cv.wait_report(pid, 5), CONFIRMED, 1, 1, 0, "convention")


@test(kmqttd_only=True)
def queue_full_subscriber_unconfirmable():
    """A delivery refused by a full queue (max_queued) cannot confirm."""
    qos3_listener()
    set_param("max_queued", 1)
    t = topic("qf")
    ident = session_id()
    r = raw_sub(t, 1, client_id=ident, clean=False)
    r.bye()
    p = Raw()
    p.connect()
    p.pub(t, b"fills the queue", qos=1)
    ok = paho_sub(t, 1)
    c = native()
    check_answer(c.publish3(t, b"x", 2, 5000), UNREACHABLE, (0, 1), 2, 1,
                 "N=2")
    check_answer(c.publish3(t, b"y", 1, 5000), CONFIRMED, 1, 2, 1, "N=1")
    ok.wait_msgs(2)


@test(kmqttd_only=True)
def limit_max_pending_refused():
    qos3_listener()
    set_param("qos3_max_pending", 1)
    t = topic("lim")
    s = raw_sub(t, 1)
    before = q3stats()
    c = native()
    first = c.send_publish3(t, b"first", 1, 5000)
    a = c.publish3(t, b"second", 1, 5000)
    check_answer(a, REFUSED, 0, 0, 0, "second native request")
    check(a.elapsed < 2.0, "refused after %.3fs" % a.elapsed)
    # convention at QoS 1 and 2 on the same client: refused at once
    cv = conv()
    cv.publish(q3.convention_topic(t, 1, 5000), b"c1", 1, wait=False)
    for qos in (1, 2):
        a = cv.publish_convention(t, b"c2", 1, 5000, qos, subscribed=True)
        check_answer(a, REFUSED, 0, 0, 0, "convention QoS %d" % qos)
    pub_sentinel(t)
    got = s.collect(until=b"sentinel")
    check_eq([m.payload for m in got], [b"first", b"c1"],
             "refused requests are not routed")
    check_answer(c.wait_answer(first, 5), CONFIRMED, 1, 1, 0, "first")
    q3delta(before, {"requested": 5, "refused": 3, "confirmed": 2})


@test(kmqttd_only=True)
def limit_max_total_refused():
    qos3_listener()
    set_param("qos3_max_total", 1)
    t = topic("tot")
    s = raw_sub(t, 1)
    c1 = native()
    first = c1.send_publish3(t, b"first", 1, 5000)
    wait_for(lambda: q3stats()["pending"] == 1, 5, "qos3_pending == 1")
    c2 = native()
    check_answer(c2.publish3(t, b"second", 1, 5000), REFUSED, 0, 0, 0,
                 "other client")
    s.collect(n=1)
    check_answer(c1.wait_answer(first, 5), CONFIRMED, 1, 1, 0)
    pid = c2.send_publish3(t, b"third", 1, 5000)
    s.collect(n=1)
    check_answer(c2.wait_answer(pid, 5), CONFIRMED, 1, 1, 0,
                 "after the first ended")


@test(kmqttd_only=True)
def limit_refused_retained_not_stored():
    """A refused request is not routed; its RETAIN is not applied
    either."""
    qos3_listener()
    set_param("qos3_max_pending", 1)
    t = topic("rr")
    on_cleanup(lambda: clear_retained(t))
    s = raw_sub(t, 1)
    c = native()
    first = c.send_publish3(t, b"first", 1, 5000)
    check_answer(c.publish3(t, b"refused", 1, 5000, retain=True), REFUSED,
                 0, 0, 0)
    s.collect(n=1)
    c.wait_answer(first, 5)
    late = Raw()
    late.connect()
    late.subscribe([(t, 1)], codes=[1])
    pub_sentinel(t)
    got = late.collect(until=b"sentinel")
    check_eq([m.payload for m in got], [],
             "retained message of a refused request")


# ------------------------------------------------------------ the convention's withheld ack

@test(kmqttd_only=True)
def convention_paho_wait_for_publish_withheld():
    """paho's wait_for_publish() returns only after the confirmation."""
    t = topic("wf")
    for qos in (1, 2):
        s = raw_sub(t, 2)
        p = Paho()
        p.subscribe(q3.result_topic(p.client_id), 1)
        t0 = time.monotonic()
        info = p.c.publish(q3.convention_topic(t, 1, 10000), b"w", qos)
        got = s.collect(n=1, ack=False)
        time.sleep(0.5)
        check(not info.is_published(), "QoS %d: published before the "
              "subscriber acknowledged" % qos)
        s.send(ack_pkt(PUBACK if qos == 1 else PUBREC, got[0].pid))
        info.wait_for_publish(5)
        el = time.monotonic() - t0
        check(info.is_published(), "QoS %d: not published after the "
              "acknowledgement" % qos)
        check(0.5 <= el < 3.0, "QoS %d: wait_for_publish after %.3fs" %
              (qos, el))
        diag("QoS %d: ack withheld %.3fs" % (qos, el))
        msgs = p.wait_until(lambda ms: ms, 5, "report")
        d = json.loads(msgs[0].payload)
        check_eq((d["result"], d["confirmed"], d["pid"]),
                 ("confirmed", 1, info.mid), "report")
        s.bye()
        p.disconnect()


@test(kmqttd_only=True)
def convention_q2_pubrec_at_once_pubcomp_withheld():
    t = topic("q2w")
    s = raw_sub(t, 1)
    c = conv()
    pid = c.publish(q3.convention_topic(t, 1, 10000), b"x", 2, wait=False)
    t0 = time.monotonic()
    c.wait(lambda p: p.type == PUBREC and p.pid == pid, 2, "PUBREC")
    check(time.monotonic() - t0 < 1.0, "PUBREC withheld")
    c._send(ack_pkt(PUBREL, pid))
    time.sleep(0.3)
    no_more_answers(c, "PUBCOMP")
    s.collect(n=1)
    c.wait(lambda p: p.type == PUBCOMP and p.pid == pid, 5, "PUBCOMP")
    check_answer(c.wait_report(pid, 5), CONFIRMED, 1, 1, 0)
    # the outcome before PUBREL: PUBCOMP answers the PUBREL at once
    pid = c.publish(q3.convention_topic(topic("none"), 1), b"y", 2,
                    wait=False)
    c.wait(lambda p: p.type == PUBREC and p.pid == pid, 2, "PUBREC")
    check_answer(c.wait_report(pid, 5), UNREACHABLE, 0, 0, 0)
    c._send(ack_pkt(PUBREL, pid))
    c.wait(lambda p: p.type == PUBCOMP and p.pid == pid, 2, "PUBCOMP")


# ------------------------------------------------------------ tools

@test(kmqttd_only=True, timeout=180)
def mqpub3_cli():
    port = qos3_listener()
    t = topic("cli")
    paho_sub(t, 1)

    def run(*args):
        p = subprocess.run([os.environ.get("KMQ_PYTHON", "/usr/bin/python3"),
                            MQPUB3, "-h", harness.HOST] + list(args),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, timeout=30)
        diag("mqpub3 %s -> %d %s %s" % (" ".join(args), p.returncode,
                                        p.stdout.strip(), p.stderr.strip()))
        return p
    p = run("-p", str(port), "-t", t, "-m", "hi", "-n", "1", "--json")
    check_eq(p.returncode, 0, "exit status, confirmed")
    d = json.loads(p.stdout)
    check_eq((d["result"], d["confirmed"], d["matched"]),
             ("confirmed", 1, 1), "JSON")
    p = run("-p", str(port), "-t", t, "-m", "hi", "-n", "2")
    check_eq(p.returncode, 1, "exit status, unreachable")
    check(p.stdout.startswith("unreachable 0/2"), "text: %r" % p.stdout)
    for q in ("1", "2"):
        p = run("-p", str(harness.PORT), "-t", t, "-m", "hi", "-n", "all",
                "--convention", "-q", q)
        check_eq(p.returncode, 0, "exit status, convention QoS " + q)
        check(p.stdout.startswith("confirmed 1/1 (all)"), "text: %r" %
              p.stdout)
    p = run("-p", str(harness.PORT), "-t", t, "-m", "hi", "-n", "1")
    check_eq(p.returncode, 2, "exit status, native on a plain listener")
    check("qos3 on" in p.stderr, "hint: %r" % p.stderr)
    p = run("-t", t, "-m", "hi")
    check_eq(p.returncode, 2, "exit status, no -n")


@test(kmqttd_only=True)
def stats_text_shows_qos3():
    out = mqctl("stats").stdout.decode()
    for label in ("QoS 3", "requested", "confirmed", "timed out",
                  "unreachable", "refused", "pending"):
        check(label in out, "mqctl stats lacks %r" % label)
