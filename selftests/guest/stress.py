#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Stress test: many publishers and subscribers with persistent sessions,
mixed QoS, clients killed and reconnected at random; then checks that no
QoS 1/2 message was lost, no QoS 2 message duplicated, nothing reordered.

    stress.py [--host H] [--port P] [--publishers 100] [--subscribers 100]
              [--seconds 30] [--kill-every 0.5] [--json] [--seed N] ...

One thread, one select loop, raw sockets (our own minimal MQTT client, so
resends and session state are exactly as below).  Exit 0 iff it passed.

Publishers publish round robin at QoS 0, 1, 2 on random topics of
kmqs/<run>/g<G>/<K>; payload = run, publisher, topic, QoS, sequence number
per (publisher, topic, QoS).  They keep their unacknowledged QoS 1/2
messages across connections and resend them on reconnect (PUBLISH with
DUP, or PUBREL once PUBREC came), in the original order.  Subscribers
subscribe once, with clean session 0, to 1-3 filters (exact, +, #) that
match disjoint topic sets, at QoS 0, 1 or 2, and keep their QoS 2
receive state across connections: a packet id answered with PUBREC is a
resend until its PUBREL comes, and a new message after it.  Kills: FIN
(shutdown, close), RST (linger 0), half a PUBLISH then close, or takeover
(a new connection with the same id while the old one stays open and
unread: the broker must close the old one).  A killed client reconnects
after 0-0.3 s (at once one time in five) with the same id and clean
session 0, and must get Session Present 1.

Publishing pauses while a subscriber has more than --backlog QoS 1/2
deliveries outstanding (scaled by its QoS mix), so broker queues stay
well under kmqttd's max_queued_messages (1000).

Verdict, per subscriber and stream (publisher, topic, publisher QoS) with
effective QoS e = min(publisher QoS, granted QoS):
  lost:       e >= 1 and a sequence number acknowledged to the publisher
              (PUBACK / PUBCOMP) never arrived;
  duplicate:  a sequence number arrived twice; allowed only if e == 1 or
              the publisher QoS is 1 (its resends are new publications);
  order:      a sequence number arrived after a larger one and was not a
              duplicate; allowed only if e == 0 and publisher QoS 1 (a
              resend may fill a gap left while the subscriber was away);
  errors:     protocol errors (refused CONNACK, Session Present 0 on a
              reconnect, wrong delivery QoS, unexpected packet or packet
              id, misrouted or foreign message, a connection closed by
              the broker, old connection not closed on takeover, QoS 1/2
              publishes or QoS 2 deliveries still incomplete at the end).
QoS 0 deliveries may be lost.  At the end every session is discarded
(connect with clean session 1, DISCONNECT).  --ignore-order reports
order violations without failing (Mosquitto 2.0.11 with its default
max_inflight_messages 20 reorders).  STRESS_TRACE=1 records every
delivery and prints the deliveries around each violation.
"""
import argparse
import errno
import heapq
import json
import os
import random
import selectors
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from mqttlib import (connect_pkt, subscribe_pkt, enc_len,  # noqa: E402
                     enc_str, topic_matches, DISCONNECT_PKT, PINGREQ_PKT)

PAYLOAD = struct.Struct(">4sHBBI")      # run, publisher, topic, qos, seq
KEEPALIVE = 60
TRACE = {} if os.environ.get("STRESS_TRACE") else None
KILL_MODES = ("fin", "rst", "partial", "takeover")


class Config:
    def __init__(self, **kw):
        self.host = "127.0.0.1"
        self.port = 1883
        self.publishers = 100
        self.subscribers = 100
        self.topics = 10
        self.seconds = 30.0
        self.kill_every = 0.5       # mean seconds between kills, 0: none
        self.reconnect_max = 0.3    # reconnect delay: uniform 0..this
        self.window = 10            # QoS 1/2 in flight per publisher
        self.backlog = 200          # outstanding deliveries per subscriber
        self.rate = 0.0             # publishes/s in total, 0: unlimited
        self.size = 0               # payload padding bytes
        self.drain = 60.0           # bound for finishing and draining
        self.seed = None
        self.order = True           # order violations fail the run
        self.budget = None          # seconds for everything (None: no bound)
        self.kill_modes = KILL_MODES
        self.verbose = False
        for k, v in kw.items():
            if not hasattr(self, k):
                raise TypeError("unknown option %r" % k)
            setattr(self, k, v)


class Stats:
    def __init__(self):
        self.published = [0, 0, 0]
        self.acked = [0, 0, 0]
        self.kills = dict.fromkeys(KILL_MODES, 0)
        self.kills_pub = self.kills_sub = 0
        self.connects = 0
        self.reconnects = 0
        self.broker_closes = 0
        self.connect_failures = 0
        self.qos2_resent_in = 0     # QoS 2 PUBLISH resends not redelivered
        self.takeover_close = []    # seconds until the old conn was closed
        self.errors = {}
        self.error_samples = []

    def error(self, kind, detail=""):
        self.errors[kind] = self.errors.get(kind, 0) + 1
        if len(self.error_samples) < 20:
            self.error_samples.append("%s %s" % (kind, detail))


class Stream:
    """Deliveries of one (publisher, topic, QoS) to one subscriber."""
    __slots__ = ("max", "holes", "first", "dups", "late")

    def __init__(self):
        self.max = -1
        self.holes = set()
        self.first = self.dups = self.late = 0


# ------------------------------------------------------------- clients

class Client:
    """Non-blocking MQTT connection state machine (one per client id)."""

    def __init__(self, st, kind, idx, cid):
        self.st = st
        self.kind = kind
        self.idx = idx
        self.cid = cid
        self.sock = None
        self.state = "down"     # down connecting connack suback up closed
        self.rbuf = bytearray()
        self.wbuf = bytearray()
        self.writing = False
        self.connected_once = False
        self.clean = False
        self.t_state = 0.0
        self.last_tx = 0.0
        self.gen = 0            # bumped on every (re)connect and kill

    # -- socket plumbing

    def open(self):
        st = self.st
        self.gen += 1
        self.rbuf.clear()
        self.wbuf.clear()
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        err = s.connect_ex((st.cfg.host, st.cfg.port))
        if err not in (0, errno.EINPROGRESS):
            s.close()
            st.stats.connect_failures += 1
            self.state = "down"
            st.later(0.2, self.reconnect_cb())
            return
        self.sock = s
        self.state = "connecting"
        self.t_state = st.now
        self.writing = True
        st.sel.register(s, selectors.EVENT_WRITE, self)

    def reconnect_cb(self):
        gen = self.gen

        def cb():
            if self.gen == gen and self.state == "down" and \
                    self.st.phase != "closing":
                if self.connected_once:
                    self.st.stats.reconnects += 1
                self.open()
        return cb

    def send(self, data):
        self.wbuf += data
        self.st.dirty.add(self)

    def flush(self):
        if not self.wbuf or self.sock is None or self.state == "connecting":
            return
        try:
            n = self.sock.send(self.wbuf)
        except BlockingIOError:
            n = 0
        except OSError:
            self.lost()
            return
        self.last_tx = self.st.now
        del self.wbuf[:n]
        want = bool(self.wbuf)
        if want != self.writing:
            self.writing = want
            self.st.sel.modify(self.sock, selectors.EVENT_READ |
                               (selectors.EVENT_WRITE if want else 0), self)

    def drop_socket(self, how=None):
        s, self.sock = self.sock, None
        if s is not None:
            self.st.sel.unregister(s)
            try:
                if how == "rst":
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                 struct.pack("ii", 1, 0))
                elif how == "fin":
                    s.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            s.close()
        self.gen += 1
        self.state = "down"
        self.writing = False
        self.rbuf.clear()
        self.wbuf.clear()
        self.st.dirty.discard(self)

    def lost(self):
        """The broker closed the connection, or connecting failed."""
        st = self.st
        if self.state == "closed":      # cleanup: DISCONNECT sent
            self.drop_socket()
            self.state = "done"
            return
        if st.phase == "closing":
            self.drop_socket()
            self.state = "todo"         # try again
            return
        if self.state == "connecting":
            st.stats.connect_failures += 1
        else:
            st.stats.broker_closes += 1
            st.stats.error("broker_closed", "%s in state %s" %
                           (self.cid, self.state))
        self.drop_socket()
        st.later(0.1 + st.rng.random() * 0.2, self.reconnect_cb())

    def kill(self, mode):
        st = self.st
        st.stats.kills[mode] += 1
        if TRACE is not None:
            TRACE.setdefault(("K", self.cid), []).append(
                (round(st.now - st.t_start, 3), self.gen, mode))
        if self.kind == "pub":
            st.stats.kills_pub += 1
        else:
            st.stats.kills_sub += 1
        if mode == "takeover":
            s, self.sock = self.sock, None
            st.sel.unregister(s)
            st.zombies[s] = (st.now, self.cid)
            st.sel.register(s, selectors.EVENT_READ, s)
            self.drop_socket()
            st.stats.reconnects += 1
            self.open()
            return
        if mode == "partial":
            # the start of a PUBLISH whose rest never comes
            self.wbuf += b"\x32\x20\x00\x08kmq"
            with_data = bytes(self.wbuf)
            try:
                self.sock.send(with_data)
            except OSError:
                pass
        self.drop_socket(mode)
        delay = 0.0 if st.rng.random() < 0.2 else \
            st.rng.random() * st.cfg.reconnect_max
        st.later(delay, self.reconnect_cb())

    def on_event(self, mask):
        if self.state == "connecting":
            err = self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                self.lost()
                return
            self.state = "connack"
            self.t_state = self.st.now
            self.st.stats.connects += 1
            self.writing = False
            self.st.sel.modify(self.sock, selectors.EVENT_READ, self)
            self.send(connect_pkt(self.cid, clean=self.clean,
                                  keepalive=KEEPALIVE))
            return
        if mask & selectors.EVENT_WRITE:
            self.flush()
            if self.sock is None:
                return
        if mask & selectors.EVENT_READ:
            try:
                data = self.sock.recv(262144)
            except BlockingIOError:
                return
            except OSError:
                data = b""
            if not data:
                self.lost()
                return
            self.rbuf += data
            self.parse()

    def parse(self):
        buf = self.rbuf
        n = len(buf)
        pos = 0
        gen = self.gen
        while n - pos >= 2:
            i = pos + 1
            ln = 0
            shift = 0
            while True:
                if i >= n:
                    ln = -1
                    break
                b = buf[i]
                i += 1
                ln += (b & 0x7F) << shift
                if b < 0x80:
                    break
                shift += 7
                if i - pos >= 5:
                    self.st.stats.error("malformed", self.cid)
                    self.lost()
                    return
            if ln < 0:
                break
            end = i + ln
            if end > n:
                break
            self.st.rx += 1
            self.packet(buf[pos], buf, i, end)
            if self.gen != gen:         # the handler dropped the connection
                return
            pos = end
        del buf[:pos]

    def ack(self, first, pid):
        self.send(bytes((first, 2, pid >> 8, pid & 0xFF)))

    def on_connack(self, body):
        st = self.st
        if len(body) != 2 or body[1] != 0:
            st.stats.error("connack", "%s %r" % (self.cid, bytes(body)))
            self.drop_socket()
            st.later(0.5, self.reconnect_cb())
            return None
        present = body[0] & 1
        if self.clean:
            return present
        if present != (1 if self.connected_once else 0):
            st.stats.error("session_present", "%s got %d" %
                           (self.cid, present))
        self.connected_once = True
        return present


class Publisher(Client):
    def __init__(self, st, idx, cid):
        Client.__init__(self, st, "pub", idx, cid)
        self.seq = [[0, 0, 0] for _ in st.topics]
        self.inflight = {}      # pid -> [qos, body, tidx, seq, state]
        self.k = st.rng.randrange(3)
        self.pid = 0
        self.pad = b"\0" * st.cfg.size

    def next_pid(self):
        while True:
            self.pid = self.pid % 65535 + 1
            if self.pid not in self.inflight:
                return self.pid

    def publish_one(self):
        """Publish the next message; False if the window is full."""
        st = self.st
        q = self.k % 3
        if q and len(self.inflight) >= st.cfg.window:
            return False
        self.k += 1
        tidx = st.rng.randrange(len(st.topics))
        row = self.seq[tidx]
        seq = row[q]
        row[q] = seq + 1
        payload = PAYLOAD.pack(st.run, self.idx, tidx, q, seq) + self.pad
        if q:
            pid = self.next_pid()
            body = st.topic_enc[tidx] + struct.pack(">H", pid) + payload
            self.inflight[pid] = [q, body, tidx, seq, 0]
            if TRACE is not None:
                self.trace(tidx, q, "pub", seq, pid)
            for sub, g in st.routes[tidx]:
                if g:
                    sub.pend += 1
                    if sub.pend == sub.cap + 1:
                        st.over += 1
        else:
            body = st.topic_enc[tidx] + payload
        self.send(bytes((0x30 | q << 1,)) + enc_len(len(body)) + body)
        st.stats.published[q] += 1
        return True

    def trace(self, tidx, q, *ev):
        TRACE.setdefault(("P", self.idx, tidx, q), []).append(
            (round(self.st.now - self.st.t_start, 3), self.gen) + ev)

    def packet(self, first, buf, s, e):
        st = self.st
        t = first >> 4
        if t == 2 and self.state == "connack":
            if self.on_connack(buf[s:e]) is None:
                return
            if self.clean:
                self.send(DISCONNECT_PKT)
                self.state = "closed"
                return
            # resend what is not acknowledged, in the original order
            for pid, m in self.inflight.items():
                if TRACE is not None:
                    self.trace(m[2], m[0], "resend", m[3], pid, m[4])
                if m[4]:
                    self.ack(0x62, pid)
                else:
                    self.send(bytes((0x38 | m[0] << 1,)) +
                              enc_len(len(m[1])) + m[1])
            self.state = "up"
            return
        if self.state != "up" or e - s != 2 or t not in (4, 5, 7, 13):
            if t == 13 and e == s:
                return
            st.stats.error("unexpected_packet", "%s: type %d in state %s"
                           % (self.cid, t, self.state))
            return
        pid = buf[s] << 8 | buf[s + 1]
        m = self.inflight.get(pid)
        if TRACE is not None and m is not None:
            self.trace(m[2], m[0], "ack%d" % t, m[3], pid)
        if t == 4:                                      # PUBACK
            if m is None or m[0] != 1:
                st.stats.error("bad_puback", "%s pid %d" % (self.cid, pid))
                return
            del self.inflight[pid]
            st.stats.acked[1] += 1
        elif t == 5:                                    # PUBREC
            if m is None or m[0] != 2:
                st.stats.error("bad_pubrec", "%s pid %d" % (self.cid, pid))
            else:
                m[4] = 1
                m[1] = b""
            self.ack(0x62, pid)
        else:                                           # PUBCOMP
            if m is None or m[0] != 2 or not m[4]:
                st.stats.error("bad_pubcomp", "%s pid %d" % (self.cid, pid))
                return
            del self.inflight[pid]
            st.stats.acked[2] += 1


class Subscriber(Client):
    def __init__(self, st, idx, cid, filters):
        Client.__init__(self, st, "sub", idx, cid)
        self.filters = filters          # [(filter, qos, [tidx...])]
        self.granted = [None] * len(st.topics)
        self.streams = {}               # (pub, tidx, qos) -> Stream
        self.rel = {}                   # pid -> (pub, tidx, qos, seq)
        self.pend = 0                   # QoS >= 1 deliveries outstanding
        self.cap = 1 << 60
        self.subscribed = False

    def packet(self, first, buf, s, e):
        st = self.st
        t = first >> 4
        if t == 3 and self.state == "up":
            self.on_publish(first, buf, s, e)
            return
        if t == 2 and self.state == "connack":
            present = self.on_connack(buf[s:e])
            if present is None:
                return
            if self.clean:
                self.send(DISCONNECT_PKT)
                self.state = "closed"
            elif not present or not self.subscribed:
                if self.subscribed:
                    self.rel.clear()    # the session is gone: start over
                self.send(subscribe_pkt(1, [(f, q) for f, q, _ in
                                            self.filters]))
                self.state = "suback"
            else:
                self.state = "up"
            return
        if t == 9 and self.state == "suback":
            codes = bytes(buf[s + 2:e])
            if len(codes) != len(self.filters):
                st.stats.error("suback", "%s %r" % (self.cid, codes))
            for (f, q, tl), c in zip(self.filters, codes):
                if c == 0x80 or c > q:
                    st.stats.error("suback", "%s %r: %d" % (self.cid, f, c))
                    continue
                for tidx in tl:
                    self.granted[tidx] = c
            self.subscribed = True
            self.state = "up"
            return
        if t == 6 and self.state == "up" and e - s == 2 and first == 0x62:
            pid = buf[s] << 8 | buf[s + 1]
            self.rel.pop(pid, None)
            self.ack(0x70, pid)                         # PUBCOMP
            return
        if t == 13 and e == s:
            return
        st.stats.error("unexpected_packet", "%s: type %d in state %s" %
                       (self.cid, t, self.state))

    def on_publish(self, first, buf, s, e):
        st = self.st
        q = (first >> 1) & 3
        tl = buf[s] << 8 | buf[s + 1]
        topic = bytes(buf[s + 2:s + 2 + tl])
        off = s + 2 + tl
        pid = 0
        if q:
            pid = buf[off] << 8 | buf[off + 1]
            off += 2
        try:
            run, pub, tidx, pq, seq = PAYLOAD.unpack_from(buf, off)
        except struct.error:
            run = None
        if run != st.run or st.topic_idx.get(topic) != tidx or pq > 2 or \
                pub >= len(st.pubs):
            st.stats.error("foreign_message", "%s on %r: %r" %
                           (self.cid, topic, bytes(buf[off:off + 16])))
            run = None
        if q == 1:
            self.ack(0x40, pid)                         # PUBACK
        elif q == 2:
            self.ack(0x50, pid)                         # PUBREC
            if run is None:
                return
            key = (pub, tidx, pq, seq)
            old = self.rel.get(pid)
            if old is not None:
                if old == key:
                    st.stats.qos2_resent_in += 1
                    return                  # a resend, not a new delivery
                st.stats.error("qos2_pid_reused", "%s pid %d: %r then %r" %
                               (self.cid, pid, old, key))
            self.rel[pid] = key
        elif q > 2:
            st.stats.error("bad_qos", self.cid)
            return
        if run is None:
            return
        g = self.granted[tidx]
        if g is None:
            st.stats.error("not_subscribed", "%s got %r" % (self.cid, topic))
            return
        eff = pq if pq < g else g
        if q != eff:
            st.stats.error("wrong_qos", "%s %r publisher QoS %d granted %d "
                           "delivered %d" % (self.cid, topic, pq, g, q))
        k = (pub, tidx, pq)
        if TRACE is not None:
            TRACE.setdefault((self.idx,) + k, []).append(
                (round(st.now - st.t_start, 3), self.gen, seq, first & 8,
                 q, pid))
        sm = self.streams.get(k)
        if sm is None:
            sm = self.streams[k] = Stream()
        if seq > sm.max:
            if seq > sm.max + 1:
                sm.holes.update(range(sm.max + 1, seq))
            sm.max = seq
        elif seq in sm.holes:
            sm.holes.discard(seq)
            sm.late += 1
        else:
            sm.dups += 1
            return
        sm.first += 1
        if eff:
            self.pend -= 1
            if self.pend == self.cap:
                st.over -= 1
        st.delivered += 1


# ------------------------------------------------------------- the run

class Stress:
    def __init__(self, cfg):
        self.cfg = cfg
        self.rng = random.Random(cfg.seed)
        self.run = os.urandom(4)
        self.stats = Stats()
        self.sel = selectors.DefaultSelector()
        self.timers = []
        self.tseq = 0
        self.dirty = set()
        self.zombies = {}
        self.now = time.monotonic()
        self.phase = "setup"
        self.over = 0               # subscribers over their backlog cap
        self.delivered = 0
        self.rx = 0
        self.last_progress = self.now
        self.t_budget = None if cfg.budget is None else self.now + cfg.budget
        rh = self.run.hex()
        ngroups = (cfg.topics + 1) // 2
        self.topics = ["kmqs/%s/g%d/%d" % (rh, i // 2, i % 2)
                       for i in range(cfg.topics)]
        self.topic_enc = [enc_str(t) for t in self.topics]
        self.topic_idx = {t.encode(): i for i, t in enumerate(self.topics)}
        cands = ["kmqs/%s/g%d/+" % (rh, g) for g in range(ngroups)] + \
            ["kmqs/%s/+/%d" % (rh, k) for k in range(2)]
        self.cands = [(f, [i for i, t in enumerate(self.topics)
                           if topic_matches(f, t)]) for f in cands]
        self.pubs = [Publisher(self, i, "s%sp%d" % (rh, i))
                     for i in range(cfg.publishers)]
        self.subs = [Subscriber(self, i, "s%ss%d" % (rh, i),
                                self.pick_filters(i))
                     for i in range(cfg.subscribers)]
        self.routes = [[] for _ in self.topics]

    def pick_filters(self, i):
        """1-3 filters matching disjoint topic sets, each with a QoS.
        Subscriber i's first filter has QoS 2, 1, 0 for i % 3 == 0, 1,
        2, and is a wildcard for i % 4 == 1 (all topics for i % 10 ==
        9), so that even 10 subscribers cover every case."""
        rng, rh = self.rng, self.run.hex()
        first = (2, 1, 0)[i % 3]
        if i % 10 == 9:
            return [(rng.choice(("kmqs/%s/#" % rh, "kmqs/%s/+/+" % rh)),
                     first, list(range(len(self.topics))))]
        out, used = [], set()
        for k in range(rng.choice((1, 2, 2, 3))):
            if (k == 0 and i % 4 == 1) or (k and rng.random() < 0.3):
                f, tl = rng.choice(self.cands)
            else:
                t = rng.randrange(len(self.topics))
                f, tl = self.topics[t], [t]
            if used.isdisjoint(tl):
                used.update(tl)
                out.append((f, rng.choice((0, 1, 2, 2)) if k else first,
                            tl))
        return out

    # -- loop

    def later(self, delay, fn):
        self.tseq += 1
        heapq.heappush(self.timers, (self.now + delay, self.tseq, fn))

    def step(self, timeout):
        self.now = time.monotonic()
        if self.timers:
            timeout = min(timeout, max(0.0, self.timers[0][0] - self.now))
        d0 = self.rx
        for key, mask in self.sel.select(timeout):
            c = key.data
            if isinstance(c, Client):
                if key.fileobj is c.sock:   # not closed meanwhile
                    c.on_event(mask)
            else:
                self.zombie_event(c)
        self.now = time.monotonic()
        while self.timers and self.timers[0][0] <= self.now:
            heapq.heappop(self.timers)[2]()
        if self.rx != d0:
            self.last_progress = self.now
        for c in list(self.dirty):
            c.flush()
        self.dirty.clear()

    def zombie_event(self, s):
        try:
            data = s.recv(65536)
        except OSError:
            data = b""
        if not data:
            t0, _ = self.zombies.pop(s)
            self.stats.takeover_close.append(self.now - t0)
            self.sel.unregister(s)
            s.close()

    def housekeeping(self):
        """Every second: pings, stuck connections, zombies."""
        now = self.now
        limit = max(20.0, self.cfg.drain / 2)
        zlimit = 10.0
        for c in self.pubs + self.subs:
            if c.sock is None:
                continue
            if c.state != "up" and now - c.t_state > limit:
                self.stats.error("connect_timeout", "%s in state %s" %
                                 (c.cid, c.state))
                c.drop_socket()
                self.later(0.1, c.reconnect_cb())
            elif c.state == "up" and now - c.last_tx > KEEPALIVE / 3:
                c.send(PINGREQ_PKT)
        for s, (t0, ident) in list(self.zombies.items()):
            if now - t0 > zlimit:
                self.stats.error("takeover_not_closed", ident)
                del self.zombies[s]
                self.sel.unregister(s)
                s.close()
        if self.phase != "closing":
            self.later(1.0, self.housekeeping)

    def run_until(self, pred, timeout, work=None, reserve=15.0):
        """Run the loop until pred() (True) or timeout (False), within
        the budget less reserve seconds (kept for the cleanup)."""
        deadline = time.monotonic() + timeout
        if self.t_budget is not None:
            deadline = min(deadline, self.t_budget - reserve)
        while not pred():
            if time.monotonic() >= deadline:
                return False
            busy = work() if work else False
            self.step(0.0 if busy else 0.05)
        return True

    def kill_one(self):
        if self.phase != "run":
            return
        live = [c for c in self.pubs + self.subs if c.sock is not None]
        if live:
            c = self.rng.choice(live)
            mode = self.rng.choice(self.cfg.kill_modes)
            if mode == "takeover" and c.state != "up":
                mode = "fin"
            c.kill(mode)
        self.later(self.cfg.kill_every * (0.5 + self.rng.random()),
                   self.kill_one)

    def publish_work(self):
        """Publish a little from every connected publisher; True if
        anything was published (so the loop should not sleep)."""
        cfg = self.cfg
        if self.over:
            return False
        budget = None
        if cfg.rate:
            self.tokens = min(cfg.rate * 0.05, self.tokens + cfg.rate *
                              (self.now - self.t_tokens))
            self.t_tokens = self.now
            budget = int(self.tokens)
            if budget <= 0:
                return False
        did = 0
        for p in self.pubs:
            if p.state != "up":
                continue
            for _ in range(2):
                if budget is not None and did >= budget:
                    break
                if self.over or not p.publish_one():
                    break
                did += 1
        if budget is not None:
            self.tokens -= did
        return did > 0

    def setup(self):
        for s in self.subs:
            s.open()
        self.later(1.0, self.housekeeping)
        ok = self.run_until(lambda: all(s.state == "up" for s in self.subs),
                            self.cfg.drain)
        if not ok:
            raise RuntimeError("subscribers not connected and subscribed "
                               "within %.0fs" % self.cfg.drain)
        for i, s in enumerate(self.subs):
            tl = [t for t, g in enumerate(s.granted) if g is not None]
            share = sum(1 for t in tl if s.granted[t]) * 2.0 / 3 / \
                max(1, len(tl))
            if share:
                s.cap = max(10, int(self.cfg.backlog * share))
            for t in tl:
                self.routes[t].append((s, s.granted[t]))
        for p in self.pubs:
            p.open()
        ok = self.run_until(lambda: all(p.state == "up" for p in self.pubs),
                            self.cfg.drain)
        if not ok:
            raise RuntimeError("publishers not connected within %.0fs"
                               % self.cfg.drain)

    def execute(self):
        cfg = self.cfg
        t0 = time.monotonic()
        times = {}
        try:
            self.setup()
            times["setup"] = time.monotonic() - t0
            self.phase = "run"
            t1 = time.monotonic()
            self.tokens, self.t_tokens = 0.0, t1
            if cfg.kill_every:
                self.later(cfg.kill_every * self.rng.random(), self.kill_one)
            if cfg.verbose:
                self.later(1.0, self.progress)
            self.run_until(lambda: False, cfg.seconds, self.publish_work)
            times["run"] = time.monotonic() - t1
            # finish: every publisher connected with nothing in flight
            self.phase = "finish"
            t2 = time.monotonic()
            deadline = t2 + cfg.drain
            everyone = self.pubs + self.subs
            self.run_until(lambda: all(p.state == "up" and not p.inflight
                                       for p in self.pubs), cfg.drain)
            times["finish"] = time.monotonic() - t2
            # drain: every subscriber connected and nothing outstanding,
            # then quiet for a moment (late duplicates)
            self.phase = "drain"
            t3 = time.monotonic()
            self.last_progress = t3
            self.run_until(lambda: (all(c.state == "up" for c in everyone)
                                    and all(s.pend <= 0 and not s.rel
                                            for s in self.subs)) or
                           self.now > deadline or
                           self.now - self.last_progress > 15.0,
                           cfg.drain)
            quiet = [0]

            def settled():
                d = self.rx
                if d != quiet[0]:
                    quiet[0], self.t_quiet = d, self.now
                return self.now - self.t_quiet > 0.5
            quiet[0], self.t_quiet = -1, self.now
            self.run_until(settled, 3.0)
            times["drain"] = time.monotonic() - t3
        finally:
            t4 = time.monotonic()
            self.cleanup()
            times["cleanup"] = time.monotonic() - t4
        times["total"] = time.monotonic() - t0
        return self.verdict(times)

    def progress(self):
        if self.phase != "run":
            return
        s = self.stats
        sys.stderr.write("  %5.1fs published %d delivered %d over %d "
                         "kills %d\n" % (time.monotonic() - self.t_start,
                                         sum(s.published), self.delivered,
                                         self.over, sum(s.kills.values())))
        self.later(1.0, self.progress)

    def cleanup(self):
        """DISCONNECT everything, then discard every session."""
        self.phase = "closing"
        everyone = self.pubs + self.subs
        for c in everyone:
            if c.sock is not None and c.state == "up":
                c.send(DISCONNECT_PKT)
                c.flush()
            c.drop_socket()
        for s, (t0, ident) in list(self.zombies.items()):
            if self.now - t0 > 10.0:
                self.stats.error("takeover_not_closed", ident)
            self.sel.unregister(s)
            s.close()
        self.zombies.clear()
        self.timers = []
        # clean session 1 connections, a limited number at a time
        todo = list(everyone)
        for c in todo:
            c.clean = True
            c.state = "todo"

        def go():
            active = sum(1 for c in todo if c.sock is not None and
                         c.state != "closed")
            for c in todo:
                if active >= 50:
                    break
                if c.state == "todo":
                    c.open()
                    active += 1
            for c in todo:
                if c.state == "closed" and c.sock is not None and \
                        not c.wbuf:
                    c.drop_socket()
                    c.state = "done"
            return all(c.state == "done" for c in todo)
        ok = self.run_until(go, max(30.0, self.cfg.drain / 2), reserve=0.5)
        for c in todo:
            if c.state != "done":
                self.stats.error("cleanup", "%s in state %s" %
                                 (c.cid, c.state))
                c.drop_socket()
        self.sel.close()
        return ok

    # -- verdict

    def verdict(self, times):
        st = self.stats
        cfg = self.cfg
        exp = [0, 0, 0]
        got = [0, 0, 0]
        dups = [0, 0, 0]
        lost = [0, 0, 0]
        bad_dups = [0, 0, 0]
        order = 0
        late0 = 0
        unacked = {}
        for p in self.pubs:
            for m in p.inflight.values():
                unacked.setdefault((p.idx, m[2], m[0]), set()).add(m[3])
        samples = []
        for s in self.subs:
            for tidx, g in enumerate(s.granted):
                if g is None:
                    continue
                for p in self.pubs:
                    for pq in (0, 1, 2):
                        n = p.seq[tidx][pq]
                        sm = s.streams.get((p.idx, tidx, pq))
                        if not n and sm is None:
                            continue
                        sm = sm or Stream()
                        eff = min(pq, g)
                        na = unacked.get((p.idx, tidx, pq), ())
                        exp[eff] += n - len(na) if eff else n
                        got[eff] += sm.first
                        dups[eff] += sm.dups
                        if sm.dups and not (eff == 1 or pq == 1):
                            bad_dups[eff] += sm.dups
                            if len(samples) < 10:
                                samples.append(
                                    "duplicate: %s from p%d topic %d QoS %d"
                                    " (eff %d): %d" % (s.cid, p.idx, tidx,
                                                       pq, eff, sm.dups))
                            if TRACE is not None and len(samples) < 200:
                                samples.append(trace_window(TRACE.get(
                                    (s.idx, p.idx, tidx, pq), []), False))
                        if sm.late:
                            if eff == 0 and pq == 1:
                                late0 += sm.late
                            else:
                                order += sm.late
                                if TRACE is not None and \
                                        len(samples) < 200:
                                    samples.append(trace_window(TRACE.get(
                                        (s.idx, p.idx, tidx, pq), [])))
                                if len(samples) < 10:
                                    samples.append(
                                        "order: %s from p%d topic %d QoS %d"
                                        " (eff %d): %d late" %
                                        (s.cid, p.idx, tidx, pq, eff,
                                         sm.late))
                        if not eff:
                            lost[0] += n - sm.first
                            continue
                        miss = sum(1 for q in range(sm.max + 1, n)
                                   if q not in na) + \
                            sum(1 for q in sm.holes if q not in na)
                        lost[eff] += miss
                        if miss and len(samples) < 10:
                            first_missing = min(
                                [q for q in sm.holes if q not in na] +
                                [q for q in range(sm.max + 1, n)
                                 if q not in na])
                            samples.append(
                                "lost: %s from p%d topic %d QoS %d (eff %d):"
                                " %d of %d, first seq %d" %
                                (s.cid, p.idx, tidx, pq, eff, miss, n,
                                 first_missing))
        failures = []
        if lost[1] or lost[2]:
            failures.append("lost QoS 1/2 deliveries: %d/%d" %
                            (lost[1], lost[2]))
        if sum(bad_dups):
            failures.append("duplicates where not allowed: %d (QoS 2 "
                            "effective %d)" % (sum(bad_dups), bad_dups[2]))
        if order and cfg.order:
            failures.append("order violations: %d" % order)
        if st.errors:
            failures.append("protocol errors: %s" % ", ".join(
                "%s %d" % kv for kv in sorted(st.errors.items())))
        n_unacked = sum(len(v) for v in unacked.values())
        rel = sum(len(s.rel) for s in self.subs)
        if rel:
            failures.append("QoS 2 deliveries without PUBREL at the end: %d"
                            % rel)
        if n_unacked:
            failures.append("publishes never acknowledged: %d" % n_unacked)
        pubs = sum(st.published)
        tk = st.takeover_close
        return {
            "ok": not failures,
            "failures": failures,
            "samples": samples + st.error_samples,
            "config": {k: getattr(cfg, k) for k in (
                "publishers", "subscribers", "topics", "seconds",
                "kill_every", "window", "backlog", "rate", "seed",
                "order")},
            "published": st.published,
            "acked": st.acked,
            "unacked": n_unacked,
            "expected": exp,
            "received": got,
            "duplicates": dups,
            "bad_duplicates": bad_dups,
            "lost": lost,
            "order_violations": order,
            "late_qos0_fills": late0,
            "qos2_resends_absorbed": st.qos2_resent_in,
            "errors": st.errors,
            "kills": st.kills,
            "kills_total": sum(st.kills.values()),
            "kills_pub": st.kills_pub,
            "kills_sub": st.kills_sub,
            "connects": st.connects,
            "reconnects": st.reconnects,
            "connect_failures": st.connect_failures,
            "broker_closes": st.broker_closes,
            "takeover_close_max": round(max(tk), 3) if tk else None,
            "times": {k: round(v, 2) for k, v in times.items()},
            "publish_rate": round(pubs / max(times.get("run", 0), 1e-9), 1),
            "delivery_rate": round(sum(got) / max(
                times.get("run", 0) + times.get("finish", 0) +
                times.get("drain", 0), 1e-9), 1),
        }


def trace_window(tr, late=True):
    """STRESS_TRACE=1: the deliveries around the first late one (or
    duplicate), as (time, connection, seq, DUP, QoS, packet id)."""
    top, seen = -1, set()
    for i, ev in enumerate(tr):
        if ev[2] < top and ev[2] not in seen if late else ev[2] in seen:
            return "  trace: %r" % (tr[max(0, i - 4):i + 3],)
        seen.add(ev[2])
        top = max(top, ev[2])
    return "  trace: in order"


def run(cfg):
    s = Stress(cfg)
    s.t_start = time.monotonic()
    return s.execute()


def format_result(r):
    c = r["config"]
    lines = [
        "stress: %d publishers, %d subscribers, %d topics, %.1f s, kill "
        "every %s s" % (c["publishers"], c["subscribers"], c["topics"],
                        c["seconds"], c["kill_every"]),
        "published  QoS0 %d  QoS1 %d  QoS2 %d; acknowledged QoS1 %d  QoS2 %d;"
        " unacknowledged %d" % tuple(r["published"] + r["acked"][1:] +
                                     [r["unacked"]]),
        "deliveries by effective QoS   expected   received   lost   dups"
        "   bad dups"]
    for q in range(3):
        lines.append("  QoS %d %26d %10d %6d %6d %10d%s" % (
            q, r["expected"][q], r["received"][q], r["lost"][q],
            r["duplicates"][q], r["bad_duplicates"][q],
            "   (QoS 0 loss allowed)" if q == 0 else ""))
    lines += [
        "order violations %d, late QoS 0 gap fills %d (allowed), QoS 2 "
        "resends absorbed %d, protocol errors %s" % (
            r["order_violations"], r["late_qos0_fills"],
            r["qos2_resends_absorbed"], r["errors"] or 0),
        "kills %d (publishers %d, subscribers %d; %s), reconnects %d, "
        "connects %d, broker closes %d, takeover close max %s s" % (
            r["kills_total"], r["kills_pub"], r["kills_sub"],
            " ".join("%s %d" % kv for kv in r["kills"].items()),
            r["reconnects"], r["connects"], r["broker_closes"],
            r["takeover_close_max"]),
        "elapsed %.1f s (%s); %.0f publishes/s, %.0f deliveries/s" % (
            r["times"]["total"], " ".join(
                "%s %.1f" % kv for kv in r["times"].items() if kv[0] !=
                "total"), r["publish_rate"], r["delivery_rate"]),
    ]
    lines += r["samples"]
    lines.append("verdict: %s" % ("PASS" if r["ok"] else "FAIL: " +
                                  "; ".join(r["failures"])))
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    d = Config()
    ap.add_argument("--host", default=os.environ.get("KMQ_HOST", d.host))
    ap.add_argument("--port", type=int,
                    default=int(os.environ.get("KMQ_PORT", d.port)))
    ap.add_argument("--publishers", type=int, default=d.publishers)
    ap.add_argument("--subscribers", type=int, default=d.subscribers)
    ap.add_argument("--topics", type=int, default=d.topics)
    ap.add_argument("--seconds", type=float, default=d.seconds)
    ap.add_argument("--kill-every", type=float, default=d.kill_every,
                    help="mean seconds between kills (0: no kills)")
    ap.add_argument("--kill-modes", default=",".join(d.kill_modes),
                    help="comma-separated subset of %s" % ",".join(KILL_MODES))
    ap.add_argument("--reconnect-max", type=float, default=d.reconnect_max)
    ap.add_argument("--window", type=int, default=d.window,
                    help="QoS 1/2 messages in flight per publisher")
    ap.add_argument("--backlog", type=int, default=d.backlog,
                    help="outstanding deliveries per subscriber before "
                    "publishing pauses")
    ap.add_argument("--rate", type=float, default=d.rate,
                    help="total publishes/s (0: as fast as possible)")
    ap.add_argument("--size", type=int, default=d.size,
                    help="extra payload bytes")
    ap.add_argument("--drain", type=float, default=d.drain,
                    help="bound (s) for connecting, finishing, draining")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--ignore-order", dest="order", action="store_false",
                    help="report order violations but do not fail on them")
    ap.add_argument("--budget", type=float, default=None,
                    help="bound (s) for the whole run, cleanup included")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("-v", "--verbose", action="store_true")
    a = ap.parse_args(argv)
    if a.topics < 1 or a.topics > 255 or a.publishers > 65535:
        ap.error("1 <= topics <= 255, publishers <= 65535")
    a.kill_modes = tuple(a.kill_modes.split(","))
    if not set(a.kill_modes) <= set(KILL_MODES):
        ap.error("--kill-modes: choose from %s" % ",".join(KILL_MODES))
    cfg = Config(**{k: v for k, v in vars(a).items() if k != "json"})
    r = run(cfg)
    if a.json:
        print(json.dumps(r, sort_keys=True))
    else:
        print(format_result(r))
    return 0 if r["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
