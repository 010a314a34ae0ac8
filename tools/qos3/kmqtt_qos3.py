# SPDX-License-Identifier: GPL-2.0
"""kmqtt_qos3 - client side of kmqttd's QoS 3 (Documentation/qos3.rst).

A publisher asks the broker to tell it when N subscribers have
acknowledged its message.  Two ways to ask:

native      PUBLISH with QoS bits 11 on a listener with QoS 3 enabled
            ("mqctl listener add ADDR:PORT qos3 on"); the broker answers
            with one 11-byte packet (0x41 0x09, packet id, result,
            confirmed, matched, unconfirmable).
convention  any MQTT 3.1.1 client publishes at QoS 1 or 2 on
            "$qos3/<N|all>[,<ms>]/<topic>"; the broker withholds the
            PUBACK (QoS 1) or PUBCOMP (QoS 2) until the outcome and
            publishes a JSON report on "$qos3/result/<client id>".

    >>> import kmqtt_qos3 as q3
    >>> a = q3.publish_native("127.0.0.1", 1885, "ward/7/rx", b"dose 5",
    ...                       required=2, timeout_ms=3000)
    >>> a.result, a.confirmed, a.matched
    ('confirmed', 2, 3)
    >>> r = q3.publish_convention("127.0.0.1", 1883, "ward/7/rx", b"dose 5",
    ...                           required="all", qos=2)

Only the Python standard library is needed; publish_convention(...,
paho=True) uses paho-mqtt 1.6 instead of the raw socket client.
Everything else (Client, packet builders, parse_answer()) is public so
that tests and benchmarks can build their own flows and count packets.
"""
import json
import os
import select
import socket
import struct
import time

__all__ = ["Answer", "Client", "Error", "ProtocolError", "publish_native",
           "publish_convention", "convention_topic", "result_topic",
           "publish3_packet", "parse_answer", "RESULTS"]

# enum kmq_q3_result
RESULTS = {0: "confirmed", 1: "timeout", 2: "unreachable", 3: "refused"}
RESULT_CODES = {v: k for k, v in RESULTS.items()}

CONNECT, CONNACK, PUBLISH, PUBACK, PUBREC, PUBREL, PUBCOMP = range(1, 8)
SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK, PINGREQ, PINGRESP, DISCONNECT = \
    range(8, 15)
ANSWER_LEN = 11         # bytes of the native answer packet


class Error(Exception):
    """Connection failed, was refused or closed, or timed out."""


class ProtocolError(Error):
    """The broker sent something this client cannot understand."""


class Answer:
    """The outcome of one QoS 3 request.

    result         "confirmed", "timeout", "unreachable" or "refused"
    code           its number (0..3)
    confirmed      subscribers that acknowledged
    matched        subscribers the message was routed to
    unconfirmable  of those, how many could not confirm (granted QoS 0,
                   or their queue was full)
    required       the count asked for (the convention's report says it
                   even for "all"; native: what was asked, 0 for "all")
    pid            the publisher's packet id
    elapsed        seconds from sending the PUBLISH until the answer
    ack_elapsed    convention: seconds until the withheld PUBACK/PUBCOMP
    report         convention: the report's JSON object as received
    """

    def __init__(self, code, confirmed, matched, unconfirmable, required=None,
                 pid=None, elapsed=None, ack_elapsed=None):
        self.code = code
        self.result = RESULTS.get(code, "result-%d" % code)
        self.confirmed = confirmed
        self.matched = matched
        self.unconfirmable = unconfirmable
        self.required = required
        self.pid = pid
        self.elapsed = elapsed
        self.ack_elapsed = ack_elapsed
        self.report = None

    @property
    def ok(self):
        return self.code == 0

    def as_dict(self):
        return {k: getattr(self, k) for k in
                ("result", "code", "confirmed", "required", "matched",
                 "unconfirmable", "pid", "elapsed", "ack_elapsed")}

    def __repr__(self):
        return "Answer(%s confirmed=%d matched=%d unconfirmable=%d%s)" % (
            self.result, self.confirmed, self.matched, self.unconfirmable,
            "" if self.elapsed is None else " %.1fms" % (self.elapsed * 1e3))


# ------------------------------------------------------------ wire format

def _enc_len(n):
    out = bytearray()
    while True:
        d, n = n % 128, n // 128
        out.append(d | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _enc_str(s):
    if isinstance(s, str):
        s = s.encode("utf-8")
    return struct.pack("!H", len(s)) + s


def _packet(first, body=b""):
    return bytes([first]) + _enc_len(len(body)) + body


def _bytes(payload):
    return payload.encode("utf-8") if isinstance(payload, str) else \
        bytes(payload)


def connect_packet(client_id, clean=True, keepalive=60, username=None,
                   password=None):
    flags = 0x02 if clean else 0
    payload = _enc_str(client_id)
    if username is not None:
        flags |= 0x80
        payload += _enc_str(username)
    if password is not None:
        flags |= 0x40
        payload += _enc_str(password)
    return _packet(0x10, _enc_str("MQTT") + bytes([4, flags]) +
                   struct.pack("!H", keepalive) + payload)


def publish_packet(topic, payload=b"", qos=0, pid=None, retain=False,
                   dup=False):
    body = _enc_str(topic)
    if qos:
        body += struct.pack("!H", pid)
    return _packet(0x30 | (0x08 if dup else 0) | (qos << 1) |
                   (1 if retain else 0), body + _bytes(payload))


def publish3_packet(topic, payload, pid, required=0, timeout_ms=0,
                    retain=False, dup=False):
    """Native QoS 3 PUBLISH: fixed header 0x36 | DUP << 3 | RETAIN, topic,
    packet id, required count (u16, 0 = all), timeout in ms (u32, 0 = the
    broker's qos3_timeout), payload."""
    if not 1 <= pid <= 65535:
        raise ValueError("packet id must be 1..65535")
    if not 0 <= required <= 65535:
        raise ValueError("required must be 0..65535")
    if not 0 <= timeout_ms <= 0xFFFFFFFF:
        raise ValueError("timeout_ms must fit in 32 bits")
    body = _enc_str(topic) + struct.pack("!HHI", pid, required, timeout_ms)
    return _packet(0x36 | (0x08 if dup else 0) | (1 if retain else 0),
                   body + _bytes(payload))


def ack_packet(ptype, pid):
    return bytes([ptype << 4 | (2 if ptype == PUBREL else 0), 2]) + \
        struct.pack("!H", pid)


def parse_answer(first, body):
    """A native answer's fields: (pid, code, confirmed, matched,
    unconfirmable), or None if this is not an answer (a plain PUBACK)."""
    if first != 0x41 or len(body) != ANSWER_LEN - 2:
        return None
    return struct.unpack("!HBHHH", body)


def convention_topic(topic, required=0, timeout_ms=0):
    """"$qos3/<N|all>[,<ms>]/<topic>"; required 0 or "all" means all."""
    if required in (0, "all", None):
        n = "all"
    else:
        n = int(required)
        if not 1 <= n <= 65535:
            raise ValueError("required must be 1..65535 or 'all'")
        n = str(n)
    if timeout_ms:
        n += ",%d" % int(timeout_ms)
    return "$qos3/%s/%s" % (n, topic)


def result_topic(client_id):
    """Where the convention's report for this publisher is published."""
    return "$qos3/result/" + client_id


def random_client_id(prefix="q3"):
    return (prefix + os.urandom(8).hex())[:23]


# ------------------------------------------------------------ raw client

class Packet:
    __slots__ = ("first", "body")

    def __init__(self, first, body):
        self.first = first
        self.body = body

    @property
    def type(self):
        return self.first >> 4

    @property
    def qos(self):
        return (self.first >> 1) & 3

    @property
    def pid(self):
        if self.type == PUBLISH:
            n = struct.unpack("!H", self.body[:2])[0]
            return struct.unpack("!H", self.body[2 + n:4 + n])[0] \
                if self.qos else None
        return struct.unpack("!H", self.body[:2])[0]

    @property
    def topic(self):
        n = struct.unpack("!H", self.body[:2])[0]
        return self.body[2:2 + n].decode("utf-8", "replace")

    @property
    def payload(self):
        n = struct.unpack("!H", self.body[:2])[0]
        return self.body[2 + n + (2 if self.qos else 0):]

    def __repr__(self):
        return "Packet(%#04x, %r)" % (self.first, self.body[:40])


class Client:
    """A small blocking MQTT 3.1.1 client over a raw socket.

    It acknowledges what it receives (PUBACK, PUBREC/PUBCOMP), unless
    auto_ack is false, and counts packets and bytes in each direction
    (pkts_sent, pkts_recv, bytes_sent, bytes_recv): the publisher's link.
    Received application messages are appended to .messages (Packet).
    While it waits (for an answer that may take up to the request's
    timeout) it sends PINGREQ after keepalive/2 seconds without sending
    anything, so that the broker does not close an idle connection.
    """

    def __init__(self, host="127.0.0.1", port=1883, client_id=None,
                 clean=True, keepalive=60, username=None, password=None,
                 timeout=10.0, auto_ack=True, connect=True):
        self.host, self.port = host, port
        self.client_id = client_id if client_id is not None else \
            random_client_id()
        self.clean = clean
        self.keepalive = keepalive
        self.username, self.password = username, password
        self.timeout = timeout
        self.auto_ack = auto_ack
        self.sock = None
        self.buf = bytearray()
        self.pkts_sent = self.pkts_recv = 0
        self.bytes_sent = self.bytes_recv = 0
        self.messages = []
        self.session_present = None
        self._pid = 0
        self._waiting = []      # packets read while waiting for another
        self._last_tx = time.monotonic()
        self._auto_pings = 0    # PINGREQs sent by _read(), unanswered
        if connect:
            self.connect()

    # -- plumbing

    def _send(self, data, npkts=1):
        try:
            self.sock.sendall(data)
        except OSError as e:
            raise Error("send: %s" % e)
        self.pkts_sent += npkts
        self.bytes_sent += len(data)
        self._last_tx = time.monotonic()

    def _read(self, deadline):
        while True:
            p = self._parse()
            if p:
                return p
            now = time.monotonic()
            left = deadline - now if deadline else None
            if left is not None and left <= 0:
                raise Error("timed out waiting for the broker")
            wait = left
            if self.keepalive:
                ping_at = self._last_tx + self.keepalive / 2.0
                if now >= ping_at:
                    self._send(b"\xc0\x00")
                    self._auto_pings += 1
                    continue
                wait = ping_at - now if wait is None else \
                    min(wait, ping_at - now)
            r = select.select([self.sock], [], [], wait)[0]
            if not r:
                continue
            try:
                data = self.sock.recv(65536)
            except OSError as e:
                raise Error("connection closed by the broker (%s)" % e)
            if not data:
                raise Error("connection closed by the broker")
            self.buf += data
            self.bytes_recv += len(data)

    def _parse(self):
        buf = self.buf
        if len(buf) < 2:
            return None
        n, mult, i = 0, 1, 1
        while True:
            if i >= len(buf):
                return None
            if i > 4:
                raise ProtocolError("bad remaining length")
            b = buf[i]
            n += (b & 0x7F) * mult
            mult *= 128
            i += 1
            if not b & 0x80:
                break
        if len(buf) < i + n:
            return None
        p = Packet(buf[0], bytes(buf[i:i + n]))
        del buf[:i + n]
        self.pkts_recv += 1
        return p

    def _handle(self, p):
        """Acknowledge an incoming PUBLISH/PUBREL; True if consumed."""
        if p.type == PUBLISH:
            self.messages.append(p)
            if self.auto_ack and p.qos == 1:
                self._send(ack_packet(PUBACK, p.pid))
            elif self.auto_ack and p.qos == 2:
                self._send(ack_packet(PUBREC, p.pid))
            return True
        if p.type == PUBREL:
            if self.auto_ack:
                self._send(ack_packet(PUBCOMP, p.pid))
            return True
        if p.type == PINGRESP and self._auto_pings:
            self._auto_pings -= 1
            return True
        return False

    def next_pid(self):
        self._pid = self._pid % 65535 + 1
        return self._pid

    def wait(self, pred, timeout=None, what="packet"):
        """Read packets until pred(packet) is true and return that packet.
        Incoming PUBLISH/PUBREL are acknowledged (and offered to pred)."""
        deadline = time.monotonic() + (self.timeout if timeout is None
                                       else timeout)
        for i, p in enumerate(self._waiting):
            if pred(p):
                del self._waiting[i]
                return p
        while True:
            try:
                p = self._read(deadline)
            except Error as e:
                raise Error("waiting for %s: %s" % (what, e))
            consumed = self._handle(p)
            if pred(p):
                return p
            if not consumed:
                self._waiting.append(p)

    # -- MQTT

    def connect(self):
        try:
            self.sock = socket.create_connection((self.host, self.port),
                                                 self.timeout)
        except OSError as e:
            raise Error("connect to %s:%d: %s" % (self.host, self.port, e))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._send(connect_packet(self.client_id, self.clean, self.keepalive,
                                  self.username, self.password))
        p = self.wait(lambda p: p.type == CONNACK, what="CONNACK")
        if len(p.body) != 2 or p.body[1]:
            raise Error("connection refused, CONNACK return code %d"
                        % (p.body[1] if len(p.body) > 1 else -1))
        self.session_present = bool(p.body[0] & 1)
        return self

    def subscribe(self, filters, qos=0):
        """filters: a filter or a list of filters or (filter, qos).
        Returns the SUBACK return codes."""
        if isinstance(filters, str):
            filters = [filters]
        pid = self.next_pid()
        body = struct.pack("!H", pid)
        for f in filters:
            f, q = (f, qos) if isinstance(f, str) else f
            body += _enc_str(f) + bytes([q])
        self._send(_packet(0x82, body))
        p = self.wait(lambda p: p.type == SUBACK and p.pid == pid,
                      what="SUBACK")
        return list(p.body[2:])

    def publish(self, topic, payload=b"", qos=0, retain=False, pid=None,
                wait=True, timeout=None):
        """Publish at QoS 0..2.  wait: complete the flow (PUBACK, or PUBREC
        PUBREL PUBCOMP).  Returns the packet id."""
        if qos and pid is None:
            pid = self.next_pid()
        self._send(publish_packet(topic, payload, qos, pid, retain))
        if wait and qos == 1:
            self.wait(lambda p: p.type == PUBACK and p.first == 0x40 and
                      p.pid == pid, timeout, "PUBACK")
        elif wait and qos == 2:
            self.wait(lambda p: p.type == PUBREC and p.pid == pid, timeout,
                      "PUBREC")
            self._send(ack_packet(PUBREL, pid))
            self.wait(lambda p: p.type == PUBCOMP and p.pid == pid, timeout,
                      "PUBCOMP")
        return pid

    def send_publish3(self, topic, payload=b"", required=0, timeout_ms=0,
                      retain=False, pid=None, dup=False):
        """Send a native QoS 3 PUBLISH without waiting; returns its id."""
        if pid is None:
            pid = self.next_pid()
        self._send(publish3_packet(topic, payload, pid, required, timeout_ms,
                                   retain, dup))
        return pid

    def wait_answer(self, pid, timeout=None):
        """Wait for the native answer to packet id pid; returns Answer
        (elapsed not set)."""
        p = self.wait(lambda p: p.first == 0x41 and p.pid == pid, timeout,
                      "the QoS 3 answer")
        f = parse_answer(p.first, p.body)
        if f is None:
            raise ProtocolError("malformed QoS 3 answer %r" % p)
        return Answer(f[1], f[2], f[3], f[4], pid=f[0])

    def publish3(self, topic, payload=b"", required=0, timeout_ms=0,
                 retain=False, wait_timeout=None):
        """Native QoS 3 publish; returns the Answer.  wait_timeout
        (seconds) defaults to the request's timeout (or 5 s) plus 5 s."""
        if wait_timeout is None:
            wait_timeout = (timeout_ms or 5000) / 1000.0 + 5.0
        t0 = time.monotonic()
        pid = self.send_publish3(topic, payload, required, timeout_ms, retain)
        a = self.wait_answer(pid, wait_timeout)
        a.elapsed = time.monotonic() - t0
        a.required = required
        return a

    def publish_convention(self, topic, payload=b"", required=0,
                           timeout_ms=0, qos=1, retain=False,
                           wait_timeout=None, subscribed=False):
        """"$qos3/" convention publish at QoS 1 or 2; returns the Answer
        built from the report (ack_elapsed: when the withheld ack came).
        subscribed: the caller already subscribed to result_topic()."""
        if qos not in (1, 2):
            raise ValueError("the convention needs QoS 1 or 2")
        if wait_timeout is None:
            wait_timeout = (timeout_ms or 5000) / 1000.0 + 5.0
        rt = result_topic(self.client_id)
        if not subscribed:
            self.subscribe(rt, 1)
        t0 = time.monotonic()
        pid = self.publish(convention_topic(topic, required, timeout_ms),
                           payload, qos, retain, wait=True,
                           timeout=wait_timeout)
        ack = time.monotonic() - t0
        a = self.wait_report(pid, wait_timeout)
        a.elapsed = time.monotonic() - t0
        a.ack_elapsed = ack
        return a

    def wait_report(self, pid, timeout=None):
        """The convention's report for packet id pid, as an Answer."""
        rt = result_topic(self.client_id)
        got = []

        def is_report(p):
            if p.type == PUBLISH and p.topic == rt:
                try:
                    d = json.loads(p.payload)
                except ValueError:
                    raise ProtocolError("bad report %r" % p.payload)
                if d.get("pid") == pid:
                    got.append(d)
                    return True
            return False
        for i, m in enumerate(self.messages):
            if is_report(m):
                del self.messages[i]
                return report_answer(got[0])
        self.wait(is_report, timeout, "the QoS 3 report")
        self.messages.pop()
        return report_answer(got[0])

    def ping(self, timeout=None):
        self._send(b"\xc0\x00")
        self.wait(lambda p: p.type == PINGRESP, timeout, "PINGRESP")

    def disconnect(self):
        if self.sock is None:
            return
        try:
            self._send(b"\xe0\x00")
        except Error:
            pass
        self.close()

    def close(self):
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.disconnect()


def report_answer(d):
    """An Answer from a convention report's JSON object."""
    a = Answer(RESULT_CODES.get(d.get("result"), -1), d.get("confirmed"),
               d.get("matched"), d.get("unconfirmable"),
               required=d.get("required"), pid=d.get("pid"))
    a.report = d
    return a


# ------------------------------------------------------------ one-shot

def publish_native(host, port, topic, payload, required=0, timeout_ms=0,
                   client_id=None, retain=False, username=None,
                   password=None, qos_client_id=None):
    """Connect, publish once at native QoS 3, wait for the answer,
    disconnect.  required: 0 = all subscribers able to confirm.  Returns
    an Answer (elapsed: publish to answer).  Raises Error when the
    connection fails or is closed (a listener without QoS 3 closes it)."""
    c = Client(host, port, client_id or qos_client_id, username=username,
               password=password)
    try:
        return c.publish3(topic, payload, required, timeout_ms, retain)
    finally:
        c.disconnect()


def publish_convention(host, port, topic, payload, required=0, timeout_ms=0,
                       qos=1, client_id=None, retain=False, username=None,
                       password=None, paho=False):
    """Connect, subscribe to "$qos3/result/<client id>", publish at QoS 1
    or 2 on "$qos3/<N|all>[,<ms>]/<topic>", wait for the withheld
    acknowledgement and the report, disconnect.  Returns an Answer.
    paho=True does it with paho-mqtt (wait_for_publish() returns when the
    broker releases the ack)."""
    if paho:
        return _publish_convention_paho(host, port, topic, payload, required,
                                        timeout_ms, qos, client_id, retain,
                                        username, password)
    c = Client(host, port, client_id, username=username, password=password)
    try:
        return c.publish_convention(topic, payload, required, timeout_ms, qos,
                                    retain)
    finally:
        c.disconnect()


def _publish_convention_paho(host, port, topic, payload, required, timeout_ms,
                             qos, client_id, retain, username, password):
    import threading
    import paho.mqtt.client as mqtt

    if qos not in (1, 2):
        raise ValueError("the convention needs QoS 1 or 2")
    client_id = client_id or random_client_id()
    wait = (timeout_ms or 5000) / 1000.0 + 5.0
    cv = threading.Condition()
    state = {"connack": None, "suback": False, "reports": []}

    def on_connect(c, u, flags, rc):
        with cv:
            state["connack"] = rc
            cv.notify_all()

    def on_subscribe(c, u, mid, granted):
        with cv:
            state["suback"] = True
            cv.notify_all()

    def on_message(c, u, m):
        with cv:
            try:
                state["reports"].append(json.loads(m.payload))
            except ValueError:
                pass
            cv.notify_all()

    c = mqtt.Client(client_id=client_id, clean_session=True,
                    protocol=mqtt.MQTTv311)
    if username is not None:
        c.username_pw_set(username, password)
    c.on_connect, c.on_subscribe, c.on_message = \
        on_connect, on_subscribe, on_message
    try:
        c.connect(host, port, 60)
    except OSError as e:
        raise Error("connect to %s:%d: %s" % (host, port, e))
    c.loop_start()
    try:
        with cv:
            if not cv.wait_for(lambda: state["connack"] is not None, 10):
                raise Error("no CONNACK")
            if state["connack"]:
                raise Error("connection refused, CONNACK return code %d"
                            % state["connack"])
        c.subscribe(result_topic(client_id), 1)
        with cv:
            if not cv.wait_for(lambda: state["suback"], 10):
                raise Error("no SUBACK")
        t0 = time.monotonic()
        info = c.publish(convention_topic(topic, required, timeout_ms),
                         payload, qos, retain)
        info.wait_for_publish(wait)
        if not info.is_published():
            raise Error("the broker did not release the acknowledgement")
        ack = time.monotonic() - t0
        with cv:
            if not cv.wait_for(lambda: any(r.get("pid") == info.mid
                                           for r in state["reports"]), wait):
                raise Error("no QoS 3 report")
            d = [r for r in state["reports"] if r.get("pid") == info.mid][0]
        a = report_answer(d)
        a.elapsed = time.monotonic() - t0
        a.ack_elapsed = ack
        return a
    finally:
        c.disconnect()
        c.loop_stop()
