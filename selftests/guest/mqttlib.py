# SPDX-License-Identifier: GPL-2.0
"""MQTT 3.1.1 helpers for the guest selftests.

- packet builders (connect_pkt, publish_pkt, ...) and a parser, for
  hand-built and malformed traffic;
- Raw: a blocking raw-socket client that counts the bytes it sends and
  receives (exact wire sizes for the stats tests);
- Paho: a paho-mqtt 1.6 client with synchronous connect/subscribe/... and
  a received-message list;
- topic_matches(): reference filter matcher;
- stats()/refusal helpers around `mqctl -j stats` (kmqttd only).

Every client registers itself for cleanup at the end of the test.
"""
import contextlib
import json
import os
import select
import socket
import struct
import subprocess
import threading
import time

import harness
from harness import Fail, check, check_eq, cid, diag, uid, wait_for

import paho.mqtt.client as mqtt

CONNECT, CONNACK, PUBLISH, PUBACK, PUBREC, PUBREL, PUBCOMP = range(1, 8)
SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK, PINGREQ, PINGRESP, DISCONNECT = \
    range(8, 15)
PINGREQ_PKT = b"\xc0\x00"
PINGRESP_PKT = b"\xd0\x00"
DISCONNECT_PKT = b"\xe0\x00"

WAIT = 10.0     # default bound for waits that only expire on failure


def topic(tag="t", *levels):
    """A topic unique to this call: kmqt/<run>-<tag>-<n>[/levels...]."""
    return "/".join(("kmqt", uid(tag)) + tuple(levels))


# ------------------------------------------------------------ wire format

def enc_len(n):
    out = bytearray()
    while True:
        d, n = n % 128, n // 128
        out.append(d | (0x80 if n else 0))
        if not n:
            return bytes(out)


def enc_str(s):
    if isinstance(s, str):
        s = s.encode("utf-8")
    return struct.pack("!H", len(s)) + s


def packet(first, body=b""):
    return bytes([first]) + enc_len(len(body)) + body


def connect_pkt(client_id="", clean=True, keepalive=60, proto="MQTT",
                level=4, will=None, user=None, password=None, flags=None):
    """will = (topic, message, qos, retain).  flags overrides the byte."""
    f = 0x02 if clean else 0
    payload = enc_str(client_id)
    if will:
        wt, wm, wq, wr = will
        f |= 0x04 | (wq << 3) | (0x20 if wr else 0)
        payload += enc_str(wt) + enc_str(wm)
    if user is not None:
        f |= 0x80
        payload += enc_str(user)
    if password is not None:
        f |= 0x40
        payload += enc_str(password)
    if flags is not None:
        f = flags
    body = enc_str(proto) + bytes([level, f]) + struct.pack("!H", keepalive)
    return packet(0x10, body + payload)


def publish_pkt(topic, payload=b"", qos=0, retain=False, dup=False,
                pid=None, first=None):
    if isinstance(payload, str):
        payload = payload.encode()
    if first is None:
        first = 0x30 | (0x08 if dup else 0) | (qos << 1) | (1 if retain else 0)
    body = enc_str(topic)
    if pid is not None or qos:
        body += struct.pack("!H", pid or 0)
    return packet(first, body + payload)


def subscribe_pkt(pid, filters, first=0x82):
    """filters: list of str or (str, qos)."""
    body = struct.pack("!H", pid)
    for f in filters:
        f, q = (f, 0) if isinstance(f, str) else f
        body += enc_str(f) + bytes([q])
    return packet(first, body)


def unsubscribe_pkt(pid, filters, first=0xA2):
    return packet(first, struct.pack("!H", pid) +
                  b"".join(enc_str(f) for f in filters))


class Packet:
    def __init__(self, first, body, raw):
        self.type = first >> 4
        self.flags = first & 0x0F
        self.body = bytes(body)
        self.raw = bytes(raw)

    @property
    def qos(self):
        return (self.flags >> 1) & 3

    @property
    def retain(self):
        return bool(self.flags & 1)

    @property
    def dup(self):
        return bool(self.flags & 8)

    def _pub(self):
        n = struct.unpack("!H", self.body[:2])[0]
        off = 2 + n + (2 if self.qos else 0)
        return self.body[2:2 + n], off

    @property
    def topic(self):
        return self._pub()[0].decode("utf-8")

    @property
    def payload(self):
        return self.body[self._pub()[1]:]

    @property
    def pid(self):
        if self.type == PUBLISH:
            n = struct.unpack("!H", self.body[:2])[0]
            return struct.unpack("!H", self.body[2 + n:4 + n])[0] \
                if self.qos else None
        return struct.unpack("!H", self.body[:2])[0]

    def __repr__(self):
        return "Packet(type=%d flags=%#x body=%r)" % (self.type, self.flags,
                                                     self.body[:64])


def parse(buf):
    """Return (Packet, consumed) for the first complete packet, or None."""
    if len(buf) < 2:
        return None
    n, mult, i = 0, 1, 1
    while True:
        if i >= len(buf):
            return None
        if i > 4:
            raise Fail("malformed remaining length from broker: %r" %
                       bytes(buf[:6]))
        b = buf[i]
        n += (b & 0x7F) * mult
        mult *= 128
        i += 1
        if not b & 0x80:
            break
    if len(buf) < i + n:
        return None
    return Packet(buf[0], buf[i:i + n], buf[:i + n]), i + n


# ------------------------------------------------------------ raw client

class Closed(Exception):
    pass


class Raw:
    """Blocking raw-socket MQTT client.  .sent/.received count wire bytes."""

    def __init__(self, host=None, port=None, timeout=WAIT):
        self.sock = socket.create_connection((host or harness.HOST,
                                              port or harness.PORT), timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray()
        self.sent = 0
        self.received = 0
        self.is_closed = False
        self.pid = 0
        self.stash = []         # packets read ahead by collect()
        self.rel_wait = set()   # QoS 2 ids answered with PUBREC
        harness.on_cleanup(self.close)

    def send(self, data):
        self.sock.sendall(data)
        self.sent += len(data)

    def _fill(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([self.sock], [], [], left)[0]:
            raise TimeoutError("no data from broker")
        try:
            data = self.sock.recv(65536)
        except ConnectionResetError:
            data = b""
        if not data:
            raise Closed("connection closed by broker")
        self.buf += data
        self.received += len(data)

    def recv_packet(self, timeout=WAIT):
        if getattr(self, "stash", None):
            return self.stash.pop(0)
        deadline = time.monotonic() + timeout
        while True:
            p = parse(self.buf)
            if p:
                del self.buf[:p[1]]
                return p[0]
            self._fill(deadline)

    def expect(self, ptype, timeout=WAIT):
        try:
            p = self.recv_packet(timeout)
        except (Closed, TimeoutError) as e:
            raise Fail("waiting for packet type %d: %s" % (ptype, e))
        if p.type != ptype:
            raise Fail("expected packet type %d, got %r" % (ptype, p))
        return p

    def next_pid(self):
        self.pid = self.pid % 65535 + 1
        return self.pid

    def connect(self, client_id=None, rc=0, **kw):
        """Send CONNECT and check the CONNACK return code."""
        if client_id is None:
            client_id = cid()
        self.send(connect_pkt(client_id, **kw))
        p = self.expect(CONNACK)
        check_eq(p.raw[:2], b"\x20\x02", "CONNACK header")
        check_eq(p.body[1], rc, "CONNACK return code")
        return p

    def subscribe(self, filters, codes=None):
        """Subscribe and return the SUBACK return codes."""
        if isinstance(filters, str):
            filters = [filters]
        pid = self.next_pid()
        self.send(subscribe_pkt(pid, filters))
        p = self.expect(SUBACK)
        check_eq(p.flags, 0, "SUBACK flags")
        check_eq(p.pid, pid, "SUBACK packet id")
        rcs = list(p.body[2:])
        if codes is not None:
            check_eq(rcs, codes, "SUBACK return codes")
        return rcs

    def unsubscribe(self, filters):
        if isinstance(filters, str):
            filters = [filters]
        pid = self.next_pid()
        self.send(unsubscribe_pkt(pid, filters))
        p = self.expect(UNSUBACK)
        check_eq(p.raw, bytes([0xB0, 2]) + struct.pack("!H", pid), "UNSUBACK")
        return p

    def publish(self, topic, payload=b"", qos=0, retain=False, **kw):
        self.send(publish_pkt(topic, payload, qos, retain, **kw))

    def ping(self, timeout=WAIT):
        self.send(PINGREQ_PKT)
        p = self.expect(PINGRESP, timeout)
        check_eq(p.raw, PINGRESP_PKT, "PINGRESP")

    def disconnect(self):
        self.send(DISCONNECT_PKT)
        self.close()

    def wait_closed(self, timeout=WAIT):
        """Wait for EOF/RST from the broker.  Returns (seconds waited,
        bytes received meanwhile, including unread buffered ones)."""
        t0 = time.monotonic()
        deadline = t0 + timeout
        got = bytes(self.buf)
        self.buf.clear()
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.sock], [], [], left)[0]:
                raise Fail("broker did not close the connection within %.1fs"
                           " (received %r)" % (timeout, got[:64]))
            try:
                data = self.sock.recv(65536)
            except ConnectionResetError:
                data = b""
            if not data:
                self.close()
                return time.monotonic() - t0, got
            got += data
            self.received += len(data)

    def is_open(self):
        """True if the broker has not closed the socket (non-blocking)."""
        if self.is_closed:
            return False
        try:
            r = select.select([self.sock], [], [], 0)[0]
            if not r:
                return True
            data = self.sock.recv(65536, socket.MSG_PEEK)
            return bool(data)
        except OSError:
            return False

    def close(self):
        if not self.is_closed:
            self.is_closed = True
            self.sock.close()

    # -- conformance helpers

    def try_send(self, data):
        """send() that ignores a connection the broker already closed."""
        try:
            self.send(data)
        except OSError:
            pass

    def expect_silent_close(self, what="", timeout=WAIT):
        """The broker must close the connection without sending anything
        (more).  Fails as soon as a byte arrives, so a broker that answers
        a PINGREQ queued behind a bad packet fails fast."""
        deadline = time.monotonic() + timeout
        if self.buf:
            raise Fail("%sbroker sent %r instead of closing"
                       % (what and what + ": ", bytes(self.buf[:64])))
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.sock], [], [], left)[0]:
                raise Fail("%sbroker did not close the connection within "
                           "%.1fs" % (what and what + ": ", timeout))
            try:
                data = self.sock.recv(65536)
            except ConnectionResetError:
                data = b""
            if not data:
                self.close()
                return
            self.received += len(data)
            p = parse(bytearray(data))
            raise Fail("%sbroker sent %r instead of closing%s"
                       % (what and what + ": ", data[:64],
                          " (it answered a packet sent after the bad one)"
                          if p and p[0].type == PINGRESP else ""))

    def bye(self, timeout=WAIT):
        """DISCONNECT, then wait until the broker has closed the
        connection (so the DISCONNECT has been processed)."""
        self.send(DISCONNECT_PKT)
        self.wait_closed(timeout)

    def hangup(self, timeout=WAIT):
        """Close our sending side without DISCONNECT (the broker sees EOF)
        and wait until the broker has closed the connection."""
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_WR)
        return self.wait_closed(timeout)

    def pub(self, topic, payload=b"", qos=0, retain=False, pid=None,
            dup=False):
        """PUBLISH and complete its QoS flow (PUBACK, or PUBREC PUBREL
        PUBCOMP), checking the acknowledgements; returns the packet id.
        Only for a client that receives nothing else meanwhile."""
        if qos and pid is None:
            pid = self.next_pid()
        self.send(publish_pkt(topic, payload, qos, retain, dup=dup, pid=pid))
        if qos == 1:
            check_eq(self.expect(PUBACK).raw, ack_pkt(PUBACK, pid), "PUBACK")
        elif qos == 2:
            check_eq(self.expect(PUBREC).raw, ack_pkt(PUBREC, pid), "PUBREC")
            self.send(ack_pkt(PUBREL, pid))
            check_eq(self.expect(PUBCOMP).raw, ack_pkt(PUBCOMP, pid),
                     "PUBCOMP")
        return pid

    def collect(self, until=None, n=None, ack=True, timeout=WAIT):
        """Read PUBLISH packets until one with payload `until` (or for
        which until(packet) is true; not returned) or until n were read;
        return them.  ack: answer QoS 1 with PUBACK, QoS 2 with PUBREC,
        and PUBREL with PUBCOMP (a PUBREL is otherwise an error, as is
        any other packet type); before returning, wait for the PUBREL of
        every QoS 2 message it answered, keeping PUBLISHes that arrive
        meanwhile for the next read."""
        got = []
        deadline = time.monotonic() + timeout

        def next_packet(what):
            try:
                return self.recv_packet(max(0.0, deadline -
                                            time.monotonic()))
            except (Closed, TimeoutError) as e:
                diag("received before: %r" % got)
                raise Fail("waiting for %s: %s" % (what, e))

        def handle(p):
            """Acknowledge p; return it if it is a PUBLISH."""
            if getattr(p, "handled", False):
                return p
            if p.type == PUBREL and ack:
                check_eq(p.raw, ack_pkt(PUBREL, p.pid), "PUBREL")
                self.send(ack_pkt(PUBCOMP, p.pid))
                self.rel_wait.discard(p.pid)
                return None
            if p.type != PUBLISH:
                raise Fail("expected PUBLISH, got %r" % p)
            p.handled = True
            if ack and p.qos == 1:
                self.send(ack_pkt(PUBACK, p.pid))
            elif ack and p.qos == 2:
                self.send(ack_pkt(PUBREC, p.pid))
                self.rel_wait.add(p.pid)
            return p

        while n is None or len(got) < n:
            p = handle(next_packet(
                "%d messages (have %d)" % (n, len(got)) if n else
                "a matching PUBLISH" if callable(until) else
                "payload %r" % (until,)))
            if p is None:
                continue
            if until is not None and (until(p) if callable(until)
                                      else p.payload == until):
                break
            got.append(p)
        while ack and self.rel_wait:
            p = handle(next_packet("PUBREL for %r" % sorted(self.rel_wait)))
            if p is not None:
                self.stash.append(p)
        return got


def ack_pkt(ptype, pid):
    """PUBACK, PUBREC, PUBREL (flags 0010), PUBCOMP or UNSUBACK."""
    return bytes([ptype << 4 | (2 if ptype == PUBREL else 0), 2]) + \
        struct.pack("!H", pid)


def expect_close(data, what, connect=True, **kw):
    """A new raw client (connected unless connect=False) sends data and a
    PINGREQ behind it; the broker must close the connection without
    answering anything (so the PINGREQ proves it did not go on)."""
    r = Raw()
    if connect:
        r.connect(**kw)
    r.try_send(data + PINGREQ_PKT)
    r.expect_silent_close(what)
    return r


def clear_session(client_id):
    """Discard a persistent session: connect with clean session 1 and
    disconnect (for on_cleanup; errors are ignored)."""
    with contextlib.suppress(Exception):
        r = Raw()
        r.connect(client_id, clean=True)
        r.send(DISCONNECT_PKT)
        r.wait_closed()


def filter_refused(flt, strict_kmqttd=True):
    """SUBSCRIBE [valid QoS 1, flt, valid QoS 2]: the broker answers
    0x80 for flt and serves the others, or closes the connection without
    answering (both conform).  kmqttd must answer 0x80 unless
    strict_kmqttd is false."""
    ta, tb = topic("ok"), topic("ok")
    r = Raw()
    r.connect()
    r.try_send(subscribe_pkt(0x0F0F, [(ta, 1), (flt, 0), (tb, 2)]) +
               PINGREQ_PKT)
    try:
        p = r.recv_packet()
    except Closed as e:
        check(not (harness.IS_KMQTTD and strict_kmqttd), "kmqttd: no SUBACK "
              "for the invalid filter %r (%s)" % (flt, e))
        diag("filter %r: connection closed" % flt)
        return
    except TimeoutError:
        raise Fail("no SUBACK and no close for filter %r" % flt)
    check_eq((p.type, p.pid), (SUBACK, 0x0F0F), "SUBACK (type, id)")
    codes = list(p.body[2:])
    check(len(codes) == 3 and codes[1] == 0x80 and codes[0] in (0, 1) and
          codes[2] in (0, 1, 2), "SUBACK codes %r for [QoS 1, %r, QoS 2]"
          % (codes, flt))
    r.expect(PINGRESP)
    p = Raw()
    p.connect()
    p.pub(tb, b"served", qos=1)
    check_eq([m.payload for m in r.collect(n=1)], [b"served"],
             "delivery to the valid filter")


def session_id():
    """A new client id whose session is discarded when the test ends."""
    ident = cid()
    harness.on_cleanup(lambda: clear_session(ident))
    return ident


def sentinel(t, qos=0, payload=b"sentinel"):
    """Publish a sentinel on t from a new client (flow completed)."""
    p = Raw()
    p.connect()
    p.pub(t, payload, qos=qos)
    p.bye()


def will_before_sentinel(s, wt, payload=b"will", qos=0):
    """Raw subscriber s of Will topic wt; call once the broker has closed
    the Will client's connection: a sentinel published now must not come
    before the Will (a Will after it is accepted if within 2 s)."""
    sentinel(wt, qos)
    got = s.collect(until=b"sentinel")
    if not got:
        diag("no Will before the sentinel, waiting 2 s more")
        got = s.collect(n=1, timeout=2.0)
    check_eq([(m.topic, m.payload, m.qos, m.retain) for m in got],
             [(wt, payload, qos, False)],
             "Will (topic, payload, qos, retain)")


def clear_retained(*topics):
    """Delete the retained messages of these topics (empty retained
    PUBLISH, then a PINGREQ round trip so it has been processed)."""
    with contextlib.suppress(Exception):
        r = Raw()
        r.connect()
        for t in topics:
            r.publish(t, b"", retain=True)
        r.ping()
        r.disconnect()


# ------------------------------------------------------------ paho client

class Msg:
    def __init__(self, m):
        self.topic = m.topic
        self.topic_bytes = m._topic
        self.payload = m.payload
        self.qos = m.qos
        self.retain = m.retain

    def __repr__(self):
        return "Msg(%r, %r)" % (self.topic, self.payload[:40])


class Paho:
    """paho-mqtt client with blocking operations.  .msgs lists Msg."""

    def __init__(self, client_id=None, clean=True, connect=True, keepalive=30,
                 **kw):
        self.client_id = cid() if client_id is None else client_id
        self.c = mqtt.Client(client_id=self.client_id, clean_session=clean,
                             protocol=mqtt.MQTTv311)
        self.cv = threading.Condition()
        self.msgs = []
        self.acks = {}
        self.connack = None
        self.disconnected = None
        self.c.on_connect = self._on_connect
        self.c.on_message = self._on_message
        self.c.on_subscribe = self._on_subscribe
        self.c.on_unsubscribe = self._on_unsubscribe
        self.c.on_disconnect = self._on_disconnect
        self.started = False
        harness.on_cleanup(self.close)
        if connect:
            self.connect(keepalive=keepalive, **kw)

    def _notify(self, fn):
        with self.cv:
            fn()
            self.cv.notify_all()

    def _on_connect(self, c, u, flags, rc):
        self._notify(lambda: setattr(self, "connack", (flags, rc)))

    def _on_message(self, c, u, m):
        self._notify(lambda: self.msgs.append(Msg(m)))

    def _on_subscribe(self, c, u, mid, granted):
        self._notify(lambda: self.acks.__setitem__(mid, granted))

    def _on_unsubscribe(self, c, u, mid):
        self._notify(lambda: self.acks.__setitem__(mid, True))

    def _on_disconnect(self, c, u, rc):
        self._notify(lambda: setattr(self, "disconnected", rc))

    def _wait(self, pred, timeout, what):
        with self.cv:
            if not self.cv.wait_for(pred, timeout):
                raise Fail("%s: timed out after %.1fs waiting for %s"
                           % (self.client_id, timeout, what))

    def connect(self, keepalive=30, rc=0, timeout=WAIT, **kw):
        self.c.connect(harness.HOST, harness.PORT, keepalive, **kw)
        self.c.loop_start()
        self.started = True
        self._wait(lambda: self.connack is not None, timeout, "CONNACK")
        check_eq(self.connack[1], rc, "CONNACK return code")

    def subscribe(self, flt, qos=0, timeout=WAIT):
        """flt: str or list of (str, qos).  Returns the granted QoS list."""
        res, mid = self.c.subscribe(flt, qos)
        check_eq(res, mqtt.MQTT_ERR_SUCCESS, "subscribe(%r)" % (flt,))
        self._wait(lambda: mid in self.acks, timeout, "SUBACK")
        return list(self.acks[mid])

    def unsubscribe(self, flt, timeout=WAIT):
        res, mid = self.c.unsubscribe(flt)
        check_eq(res, mqtt.MQTT_ERR_SUCCESS, "unsubscribe(%r)" % (flt,))
        self._wait(lambda: mid in self.acks, timeout, "UNSUBACK")

    def publish(self, topic, payload=b"", qos=0, retain=False, timeout=WAIT):
        info = self.c.publish(topic, payload, qos, retain)
        check_eq(info.rc, mqtt.MQTT_ERR_SUCCESS, "publish rc")
        info.wait_for_publish(timeout)
        check(info.is_published(), "publish to %r not completed" % topic)
        return info

    def wait_msgs(self, n, timeout=WAIT):
        """Wait until at least n messages arrived; return a copy."""
        self._wait(lambda: len(self.msgs) >= n, timeout,
                   "%d messages (have %d)" % (n, len(self.msgs)))
        with self.cv:
            return list(self.msgs)

    def wait_until(self, pred, timeout=WAIT, what="condition"):
        """Wait until pred(msgs) is true; return a copy of msgs."""
        self._wait(lambda: pred(self.msgs), timeout, what)
        with self.cv:
            return list(self.msgs)

    def wait_payload(self, payload, timeout=WAIT):
        """Wait for a message with this payload; return the messages
        received before it (excluding it)."""
        msgs = self.wait_until(lambda ms: any(m.payload == payload
                                              for m in ms), timeout,
                               "payload %r" % (payload,))
        return msgs[:[m.payload for m in msgs].index(payload)]

    def wait_disconnected(self, timeout=WAIT):
        self._wait(lambda: self.disconnected is not None, timeout,
                   "disconnection")
        return self.disconnected

    def disconnect(self):
        self.c.disconnect()
        self.close()

    def close(self):
        if self.started:
            self.started = False
            with contextlib.suppress(Exception):
                self.c.disconnect()
            self.c.loop_stop()


def exchange_ok(what="exchange"):
    """A well-behaved paho subscriber and publisher exchange a message."""
    t = topic("ok")
    sub = Paho()
    sub.subscribe(t)
    pub = Paho()
    data = os.urandom(8)
    pub.publish(t, data)
    msgs = sub.wait_msgs(1)
    check_eq([(m.topic, m.payload) for m in msgs], [(t, data)],
             "%s: delivered" % what)
    pub.disconnect()
    sub.disconnect()


# ------------------------------------------------------------ matching

def topic_matches(flt, name):
    """MQTT 3.1.1 section 4.7 reference matcher (including the $ rule)."""
    if name.startswith("$") and flt[:1] in ("+", "#"):
        return False
    fl, tl = flt.split("/"), name.split("/")
    for i, f in enumerate(fl):
        if f == "#":
            return True
        if i >= len(tl) or (f != "+" and f != tl[i]):
            return False
    return len(fl) == len(tl)


def check_filters(filters, topics, relevant=None):
    """One paho subscriber per filter; one publisher publishes every topic
    (payload = its index), then one sentinel per filter on a topic that
    filter matches.  Each subscriber must have received exactly the
    matching topics, once each, in publish order, before its sentinel.
    relevant(topic) limits what is compared (default: published topics)."""
    subs = []
    for f in filters:
        s = Paho()
        s.subscribe(f)
        subs.append(s)
    pub = Paho()
    for i, t in enumerate(topics):
        pub.publish(t, b"m%d" % i)
    for k, f in enumerate(filters):
        st = [t for t in topics if topic_matches(f, t)]
        check(st, "filter %r matches none of the topics" % f)
        pub.publish(st[0], b"S%d" % k)
    published = set(topics)
    relevant = relevant or (lambda t: t in published)
    for k, (f, s) in enumerate(zip(filters, subs)):
        before = s.wait_payload(b"S%d" % k)
        got = [(m.topic, m.payload) for m in before
               if relevant(m.topic) and not m.payload.startswith(b"S")]
        want = [(t, b"m%d" % i) for i, t in enumerate(topics)
                if topic_matches(f, t)]
        if got != want:
            diag("filter %r" % f)
            diag("  missing:    %r" % [t for t in want if t not in got])
            diag("  unexpected: %r" % [t for t in got if t not in want])
            diag("  received:   %r" % got)
            raise Fail("filter %r: wrong deliveries" % f)
    for s in subs + [pub]:
        s.disconnect()


# ------------------------------------------------------------ kmqttd stats

def mqctl_path():
    return os.environ.get("KMQ_MQCTL") or os.path.join(harness.TOP, "tools",
                                                      "mqctl", "mqctl")


def stats():
    """`mqctl -j stats` as a dict."""
    p = subprocess.run([mqctl_path(), "-j", "stats"], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=WAIT)
    if p.returncode:
        raise Fail("mqctl -j stats: exit %d: %s" % (p.returncode,
                                                     p.stderr.decode()[-300:]))
    try:
        return json.loads(p.stdout)
    except ValueError:
        raise Fail("mqctl -j stats: bad JSON: %r" % p.stdout[:300])


def stat(s, key):
    """stat(s, 'live.conns')"""
    for k in key.split("."):
        if k not in s:
            raise Fail("stats: no key %r in %r" % (key, sorted(s)))
        s = s[k]
    return s


def deltas(before, after, prefix=""):
    """Flattened {key: after - before} for every numeric counter."""
    out = {}
    for k, v in after.items():
        if isinstance(v, dict):
            out.update(deltas(before.get(k, {}), v, prefix + k + "."))
        elif isinstance(v, (int, float)) and not isinstance(v, bool):
            out[prefix + k] = v - before.get(k, 0)
    return out


def wait_quiet(timeout=WAIT):
    """Wait until the broker has no connection; return the stats."""
    last = [None]

    def quiet():
        last[0] = stats()
        return last[0] if stat(last[0], "conns_current") == 0 else None
    try:
        return wait_for(quiet, timeout, "conns_current == 0", 0.05)
    except Fail:
        diag("stats: %s" % json.dumps(last[0], sort_keys=True))
        raise


@contextlib.contextmanager
def expect_refusal(*names, count=1):
    """kmqttd only (no-op elsewhere): the block must bump the sum of
    refusals.<names> by exactly count and no other refusal counter.
    With no names, any refusal counters may move (sum == count...+)."""
    if not harness.IS_KMQTTD:
        yield
        return
    before = stats()
    yield
    keys = ["refusals." + n for n in names]

    def bumped():
        d = deltas(before, stats())
        ref = {k: v for k, v in d.items() if k.startswith("refusals.") and v}
        if names:
            return d if sum(d.get(k, 0) for k in keys) >= count else None
        return d if sum(ref.values()) >= count else None
    try:
        d = wait_for(bumped, 5.0, "refusal counter %s" % (names or "any"),
                     0.05)
    except Fail:
        d = deltas(before, stats())
        diag("refusal deltas: %r" % {k: v for k, v in d.items()
                                     if k.startswith("refusals.") and v})
        raise
    ref = {k: v for k, v in d.items() if k.startswith("refusals.") and v}
    if names:
        check_eq(sum(d.get(k, 0) for k in keys), count,
                 "refusals %s delta" % "+".join(names))
        check_eq({k: v for k, v in ref.items() if k not in keys}, {},
                 "other refusal counters")
