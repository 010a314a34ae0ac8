# SPDX-License-Identifier: GPL-2.0
"""Hostile clients (Documentation/security.rst).

Each scenario runs an abusive client in a separate process while a
well-behaved client measures its publish -> receive round trip through
the broker, then checks:

- the well-behaved client keeps working, and the median of its round
  trips stays within LATENCY_FACTOR times the quiet median measured at
  the start of the scenario (or below LATENCY_FLOOR, a bound for the
  timer and scheduling noise of an emulated guest);
- the broker refused or dropped in the documented way (refusal counters);
- memory returns to the baseline afterwards: the module's live objects
  and accounted bytes (mqctl -j stats) and the active objects of its kmem
  caches in /proc/slabinfo (not on the sanitizer kernel, whose KASAN
  quarantine keeps freed objects counted as active for a while; its
  kmemleak scan after the unload checks for leaks instead).

kmqttd-only (counters, settings).  The last test unloads the module in
the middle of a loaded run, five times.
"""
import contextlib
import json
import os
import random
import re
import resource
import shlex
import signal
import socket
import statistics
import struct
import subprocess
import time

import harness
from harness import Fail, check, check_eq, diag, on_cleanup, progress, skip, \
    test, wait_for
from mqttlib import (PINGREQ_PKT, Closed, Raw, ack_pkt, connect_pkt, enc_len,
                     enc_str, exchange_ok, mqctl_path, packet, publish_pkt,
                     stats, subscribe_pkt, topic, unsubscribe_pkt, PUBREL,
                     DISCONNECT_PKT, clear_retained)

TEST_ORDER = 70

# The well-behaved client's median round trip under attack may be this
# many times its quiet median (TCG emulation: timer and scheduling noise
# dominate small figures, hence also the absolute floor).
LATENCY_FACTOR = 10
LATENCY_FLOOR = 0.050   # seconds
SAMPLES = 15

# The sanitizer kernel (KASAN, lockdep...) runs the module several times
# slower: deadlines that wait for the broker to act are stretched.
DEBUG_KERNEL = harness.DEBUG_KERNEL
SLOW = 4 if DEBUG_KERNEL else 1

# kmem caches of the module (KMEM_CACHE names); guests boot with
# slub_debug, which keeps them unmerged and so visible by name.
CACHES = ("kmq_conn", "kmq_txitem", "kmq_session", "kmq_delivery", "kmq_q3")
LIVE = ("conns", "sessions", "subs", "txitems", "deliveries")


def mqctl(*args):
    p = subprocess.run([mqctl_path()] + [str(a) for a in args],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=30)
    check_eq(p.returncode, 0, "mqctl %s: %s" % (" ".join(map(str, args)),
                                                p.stderr.decode()[-300:]))
    return p.stdout


def set_param(name, value):
    """Change a setting for the rest of the test."""
    old = json.loads(mqctl("-j", "get"))[name]
    if isinstance(old, bool):
        old = int(old)
    mqctl("set", name, value)
    on_cleanup(lambda: mqctl("set", name, old))


def slabs():
    """{cache: active objects} of the module's kmem caches."""
    out = {}
    with open("/proc/slabinfo") as f:
        for line in f:
            w = line.split()
            if w and w[0] in CACHES:
                out[w[0]] = int(w[1])
    return out


def slab_slack():
    """Objects a cache may show active beyond the live ones: SLUB counts
    the per-CPU slabs as fully used."""
    out = {}
    with open("/proc/slabinfo") as f:
        for line in f:
            w = line.split()
            if w and w[0] in CACHES:
                out[w[0]] = int(w[3]) * 2 * os.cpu_count()
    return out


def snapshot():
    s = stats()
    snap = {"live." + k: s["live"][k] for k in LIVE}
    # retained messages ($SYS included) keep their messages
    snap["live.msgs-retained"] = s["live"]["msgs"] - s["retained_current"]
    snap["mem_used-retained"] = s["mem_used"]
    snap["conns_current"] = s["conns_current"]
    return snap, slabs()


def baseline():
    """Wait until the broker is idle; return its snapshot."""
    wait_for(lambda: stats()["conns_current"] == 0, 10.0, "no connection")
    return snapshot()


def back_to(base, what, timeout=15.0 * SLOW):
    """Memory returns to the baseline: live objects, accounted bytes (give
    or take the retained $SYS messages, whose size varies) and slabs."""
    want, slab0 = base
    slack = slab_slack()
    last = [None]

    def same():
        snap, sl = snapshot()
        last[0] = (snap, sl)
        for k, v in want.items():
            if k == "mem_used-retained":
                if abs(snap[k] - v) > 4096:
                    return False
            elif snap[k] != v:
                return False
        return DEBUG_KERNEL or all(
            sl.get(c, 0) <= slab0.get(c, 0) + slack.get(c, 0) for c in sl)
    try:
        wait_for(same, timeout, "%s: memory back to baseline" % what, 0.2)
    except Fail:
        diag("baseline %r %r" % base)
        diag("now      %r %r" % last[0])
        raise
    diag("%s: back to baseline (%s)" % (what, ", ".join(
        "%s %d" % kv for kv in sorted(last[0][1].items()))))


class Probe:
    """The well-behaved client: one connection subscribed to its own
    topic; a sample is the time from sending a PUBLISH to receiving it."""

    def __init__(self):
        self.t = topic("probe")
        self.r = Raw()
        self.r.connect(keepalive=0)
        self.r.subscribe([self.t])
        self.n = 0

    def sample(self):
        self.n += 1
        payload = b"p%d" % self.n
        t0 = time.monotonic()
        self.r.send(publish_pkt(self.t, payload))
        while True:
            p = self.r.recv_packet(timeout=10.0)
            if p.type == 3 and p.payload == payload:
                return time.monotonic() - t0

    def median(self, n=SAMPLES, gap=0.02):
        out = []
        for _ in range(n):
            out.append(self.sample())
            time.sleep(gap)
        return statistics.median(out)


def quiet():
    pr = Probe()
    pr.median(5)        # warm up
    q = pr.median()
    diag("quiet median round trip %.2f ms" % (q * 1e3))
    return pr, q


def check_latency(pr, q, what):
    m = pr.median()
    bound = max(LATENCY_FACTOR * q, LATENCY_FLOOR)
    diag("%s: median round trip %.2f ms (quiet %.2f ms, bound %.2f ms)"
         % (what, m * 1e3, q * 1e3, bound * 1e3))
    check(m <= bound, "%s: median round trip %.1f ms > %.1f ms "
          "(%dx quiet %.2f ms)" % (what, m * 1e3, bound * 1e3,
                                   LATENCY_FACTOR, q * 1e3))
    return m


@contextlib.contextmanager
def attacker(fn, *args):
    """Run fn(*args) in a child process until the block ends."""
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            fn(*args)
        except BaseException:       # noqa: B902 - a dead socket ends it
            code = 1
        os._exit(code)
    try:
        yield pid
    finally:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)


def child_cid():
    """A client id unique across the processes of a test (harness.cid()
    repeats in forked children)."""
    return "h%d-%s" % (os.getpid(), os.urandom(4).hex())


def raw_sock():
    s = socket.create_connection((harness.HOST, harness.PORT), 10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def refusals():
    return stats()["refusals"]


def refusal_delta(before, *names):
    now = refusals()
    return sum(now[n] - before[n] for n in names)


def raise_nofile(n):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < n:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(n, hard), hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


# ------------------------------------------------------------ scenarios

def _random_bytes(seed):
    rnd = random.Random(seed)
    while True:
        s = raw_sock()
        with contextlib.suppress(OSError):
            s.sendall(bytes(rnd.randrange(256) for _ in range(2048)))
            s.settimeout(5)
            while s.recv(4096):
                pass
        s.close()


@test(kmqttd_only=True, timeout=120)
def random_bytes():
    """Connections sending random bytes, one after another."""
    base = baseline()
    pr, q = quiet()
    before = stats()
    with attacker(_random_bytes, 0x6B6D7174):
        wait_for(lambda: stats()["conns_total"] - before["conns_total"] > 5,
                 20.0, "random-byte connections")
        check_latency(pr, q, "random bytes")
    n = stats()["conns_total"] - before["conns_total"] - 0
    diag("%d random-byte connections" % n)
    check(sum(refusals().values()) - sum(before["refusals"].values()) >= 5,
          "random bytes counted as refusals")
    pr.r.disconnect()
    back_to(base, "random bytes")


def _session_stream(cid_):
    """A valid client session: every packet type a client sends."""
    t = "kmqt/hostile/trunc"
    return b"".join([
        connect_pkt(cid_, keepalive=30, will=(t + "/will", b"w", 1, False),
                    user="u", password=b"p"),
        subscribe_pkt(1, [(t + "/#", 2), ("kmqt/+/x", 1)]),
        publish_pkt(t + "/0", b"q0"),
        publish_pkt(t + "/1", b"q1", qos=1, pid=2),
        publish_pkt(t + "/2", b"q2", qos=2, pid=3),
        ack_pkt(PUBREL, 3),
        ack_pkt(4, 1), ack_pkt(5, 2), ack_pkt(7, 3),   # acks of nothing
        unsubscribe_pkt(4, [t + "/#"]),
        publish_pkt(t + "/r", b"retained", qos=1, pid=5, retain=True),
        publish_pkt(t + "/r", b"", qos=0, retain=True),
        PINGREQ_PKT,
        DISCONNECT_PKT,
    ])


def _truncations(stream, step):
    for cut in range(step, len(stream), 3):
        s = raw_sock()
        with contextlib.suppress(OSError):
            s.sendall(stream[:cut])
            s.shutdown(socket.SHUT_WR)
            s.settimeout(10)
            while s.recv(4096):
                pass
        s.close()


@test(kmqttd_only=True, timeout=180)
def every_truncation():
    """Every prefix of a valid session stream (CONNECT with Will, user and
    password, SUBSCRIBE, PUBLISH at QoS 0, 1 and 2, PUBREL, acks,
    UNSUBSCRIBE, retained PUBLISH and its deletion, PINGREQ, DISCONNECT),
    each on its own connection closed after the prefix."""
    base = baseline()
    pr, q = quiet()
    stream = _session_stream(child_cid())
    diag("stream of %d bytes: %d truncations" % (len(stream), len(stream)))
    before = stats()
    # three processes, one per residue of the cut modulo 3
    with attacker(_truncations, stream, 1), \
            attacker(_truncations, stream, 2), \
            attacker(_truncations, stream, 3):
        check_latency(pr, q, "truncations")
        wait_for(lambda: stats()["conns_total"] - before["conns_total"]
                 >= len(stream) - 1, 120.0, "every truncation sent", 0.5)
    pr.r.disconnect()
    # a cut between the retained PUBLISH and its deletion leaves it stored
    clear_retained("kmqt/hostile/trunc/r")
    exchange_ok("after the truncations")
    back_to(base, "truncations")


@test(kmqttd_only=True)
def remaining_length_256mb():
    """A CONNECT and a PUBLISH claiming 256 MB: closed at once beyond
    max_packet_size; with max_packet_size 0 (the protocol maximum) the
    claim costs only the bytes actually sent."""
    base = baseline()
    huge = b"\xff\xff\xff\x7f"      # 268435455
    before = refusals()
    r = Raw()
    r.send(b"\x10" + huge + b"\x00\x04MQTT")
    r.wait_closed()
    r = Raw()
    r.connect()
    r.send(b"\x30" + huge + b"\x00\x01a")
    r.wait_closed()
    check_eq(refusal_delta(before, "too_large"), 2, "too_large refusals")
    set_param("max_packet_size", 0)
    m0 = stats()["mem_used"]
    r = Raw()
    r.connect()
    r.send(b"\x30" + huge + b"\x00\x01a" + b"x" * 100000)
    time.sleep(1.0)
    grown = stats()["mem_used"] - m0
    diag("256 MB claim with 100 kB sent: %d bytes accounted" % grown)
    check(grown < 300000, "a 256 MB claim cost %d bytes" % grown)
    check(r.is_open(), "connection of the claim still open")
    r.close()
    exchange_ok()
    back_to(base, "256 MB claims")


def _subscriber_10k(n, per_packet, done_path):
    r = Raw(timeout=60)
    r.connect(child_cid(), keepalive=0)
    base = "kmqt/hostile/subs/%d" % os.getpid()
    for k in range(0, n, per_packet):
        flt = ["%s/%d" % (base, i) for i in range(k, k + per_packet)]
        codes = r.subscribe(flt)
        if codes != [0] * per_packet:
            os._exit(3)
    with open(done_path, "w") as f:
        f.write("ok")
    time.sleep(3600)


@test(kmqttd_only=True, timeout=180)
def ten_thousand_subscriptions():
    """One client subscribes to 10,000 filters (20 SUBSCRIBE packets of
    500), then a publish to one of them is routed while they stand."""
    base = baseline()
    pr, q = quiet()
    before = stats()
    done = "/tmp/kmq-hostile-subs-%d" % os.getpid()
    on_cleanup(lambda: os.path.exists(done) and os.unlink(done))
    with attacker(_subscriber_10k, 10000, 500, done):
        check_latency(pr, q, "10,000 subscriptions arriving")
        wait_for(lambda: os.path.exists(done), 120.0,
                 "10,000 subscriptions granted", 0.2)
        s = stats()
        check_eq(s["subs_current"] - before["subs_current"], 10000,
                 "subscriptions")
        diag("10,000 subscriptions: %d bytes accounted, %d trie nodes" %
             (s["mem_used"] - before["mem_used"],
              s["live"]["nodes"] - before["live"]["nodes"]))
        check_latency(pr, q, "10,000 subscriptions standing")
    pr.r.disconnect()
    back_to(base, "10,000 subscriptions")


@test(kmqttd_only=True, timeout=120)
def huge_topics():
    """A topic name of 65,535 bytes and a filter and topic of 10,000
    levels: subscribed, published, delivered."""
    base = baseline()
    pr, q = quiet()
    long_t = "kmqt/hostile/long/" + "x" * (65535 - 18)
    deep = "kmqt/hostile/deep" + "/a" * (10000 - 3)
    check_eq(len(long_t.encode()), 65535, "long topic length")
    check_eq(deep.count("/") + 1, 10000, "deep topic levels")
    s = Raw()
    s.connect()
    s.subscribe([long_t, deep, "kmqt/hostile/+/#"], codes=[0, 0, 0])
    p = Raw()
    p.connect()
    t0 = time.monotonic()
    for i in range(20):
        p.publish(long_t, b"L%d" % i)
        p.publish(deep, b"D%d" % i)
    got = s.collect(n=40)   # each matches two filters: delivered once
    diag("40 huge-topic publishes delivered in %.2f s" %
         (time.monotonic() - t0))
    check_eq(sorted(m.payload for m in got),
             sorted([b"L%d" % i for i in range(20)] +
                    [b"D%d" % i for i in range(20)]), "deliveries")
    check_latency(pr, q, "after huge topics")
    s.disconnect()
    p.disconnect()
    pr.r.disconnect()
    back_to(base, "huge topics")


def _qos2_flood(t, read):
    """Publish QoS 2 to t as fast as possible, never sending PUBREL.
    read: subscribed to t at QoS 2, never acknowledging a delivery,
    reading (and dropping) everything; else subscribed at QoS 0 and
    never reading."""
    s = raw_sock()
    s.sendall(connect_pkt(child_cid(), keepalive=0))
    s.sendall(subscribe_pkt(1, [(t, 2 if read else 0)]))
    pid = 0
    payload = b"f" * (64 if read else 512)
    while True:
        chunk = []
        for _ in range(64):
            pid = pid % 65535 + 1
            chunk.append(publish_pkt(t, payload, qos=2, pid=pid))
        s.sendall(b"".join(chunk))
        if read:
            s.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                while s.recv(1 << 16):
                    pass
            s.setblocking(True)


def _mem_watch(peak):
    m = stats()["mem_used"]
    peak[0] = max(peak[0], m)
    return m


@test(kmqttd_only=True, timeout=120)
def qos2_flood_never_pubrel():
    """A client publishes QoS 2 as fast as it can, never sends PUBREL and
    never acknowledges its own deliveries; it reads (and drops) what the
    broker sends.  Its inbound QoS 2 state is one bitmap, its outbound
    queue is capped: memory stays bounded."""
    set_param("max_queued", 1000)
    base = baseline()
    pr, q = quiet()
    before = stats()
    t = topic("flood")
    peak = [0]
    with attacker(_qos2_flood, t, True):
        wait_for(lambda: stats()["msgs_in"] - before["msgs_in"] > 2000,
                 30.0, "flood under way", 0.2)
        check_latency(pr, q, "QoS 2 flood")
        for _ in range(10):
            _mem_watch(peak)
            time.sleep(0.3)
        s = stats()
    d_in = s["msgs_in"] - before["msgs_in"]
    diag("QoS 2 flood: %d PUBLISH in, %d dropped, peak %d bytes accounted"
         % (d_in, s["msgs_dropped"] - before["msgs_dropped"], peak[0]))
    # 1000 queued + 20 inflight 64-byte messages, 8 kB of QoS 2 ids,
    # buffers: well under 2 MB whatever the flood's length
    check(peak[0] - before["mem_used"] < 2 << 20,
          "peak accounted memory %d" % peak[0])
    check(s["refusals"]["queue_full"] > before["refusals"]["queue_full"],
          "queue_full counted")
    pr.r.disconnect()
    back_to(base, "QoS 2 flood")


@test(kmqttd_only=True, timeout=120)
def qos2_flood_never_reads():
    """The same flood (512-byte messages, delivered back to it at QoS 0)
    from a client that never reads its socket: the broker stops reading
    it once its replies fill the socket, and closes it after
    slow_reader_timeout."""
    set_param("slow_reader_timeout", 2)
    base = baseline()
    pr, q = quiet()
    before = stats()
    t = topic("flood")
    peak = [0]
    with attacker(_qos2_flood, t, False):
        wait_for(lambda: stats()["msgs_in"] - before["msgs_in"] > 200,
                 30.0, "flood under way", 0.2)
        check_latency(pr, q, "QoS 2 flood, not reading")
        wait_for(lambda: _mem_watch(peak) is not None and
                 refusal_delta(before["refusals"], "slow_reader") >= 1,
                 20.0 * SLOW, "slow_reader refusal", 0.2)
    diag("QoS 2 flood not reading: %d PUBLISH in, peak %d bytes accounted"
         % (stats()["msgs_in"] - before["msgs_in"], peak[0]))
    check(peak[0] - before["mem_used"] < 2 << 20,
          "peak accounted memory %d" % peak[0])
    pr.r.disconnect()
    back_to(base, "QoS 2 flood, not reading")


def _publisher(t, size, qos=0):
    r = Raw(timeout=30)
    r.connect(child_cid(), keepalive=0)
    data = b"z" * size
    pkt = publish_pkt(t, data)
    while True:
        r.send(pkt * 16)
        r.ping(timeout=30)


def _never_reader(t, qos, path):
    s = raw_sock()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.sendall(connect_pkt(child_cid(), keepalive=0) +
              subscribe_pkt(1, [(t, qos)]))
    with open(path, "w") as f:
        f.write("ok")
    time.sleep(3600)


@test(kmqttd_only=True, timeout=120)
def never_reads():
    """A subscriber that never reads while a publisher sends 1 kB messages
    as fast as it can: its queue stops at max_queued_bytes (queue_full),
    it is closed after slow_reader_timeout (slow_reader)."""
    set_param("slow_reader_timeout", 3)
    set_param("max_queued_bytes", 256 << 10)
    # the queue's bound, not flow control (limits.publish_hold_ends)
    set_param("publish_hold", 0)
    base = baseline()
    pr, q = quiet()
    before = stats()
    t = topic("busy")
    ready = "/tmp/kmq-hostile-nr-%d" % os.getpid()
    on_cleanup(lambda: os.path.exists(ready) and os.unlink(ready))
    peak = [0]
    with attacker(_never_reader, t, 0, ready):
        wait_for(lambda: os.path.exists(ready), 10.0, "reader subscribed")
        time.sleep(0.3)
        with attacker(_publisher, t, 1024):
            check_latency(pr, q, "subscriber not reading")
            wait_for(lambda: _mem_watch(peak) is not None and
                     refusal_delta(before["refusals"], "slow_reader") >= 1,
                     30.0 * SLOW, "slow_reader refusal", 0.2)
    s = stats()
    diag("never-reading subscriber: %d msgs in, %d dropped (queue_full %d),"
         " peak %d bytes accounted" % (
             s["msgs_in"] - before["msgs_in"],
             s["msgs_dropped"] - before["msgs_dropped"],
             s["refusals"]["queue_full"] - before["refusals"]["queue_full"],
             peak[0] - before["mem_used"]))
    check(s["refusals"]["queue_full"] > before["refusals"]["queue_full"],
          "queue_full counted")
    # 256 kB queued plus what is in flight and being sent
    check(peak[0] - before["mem_used"] < 1 << 20,
          "peak accounted memory %d" % (peak[0] - before["mem_used"]))
    pr.r.disconnect()
    back_to(base, "never reads")


@test(kmqttd_only=True, timeout=120)
def thousand_silent_sockets():
    """1,000 sockets (300 on the sanitizer kernel) connect and send
    nothing: the CONNECT deadline (connect_timeout 2 s) closes them all."""
    n = 300 if DEBUG_KERNEL else 1000
    if raise_nofile(n + 200) < n + 100:
        skip("RLIMIT_NOFILE too low")
    set_param("connect_timeout", 2)
    base = baseline()
    pr, q = quiet()
    before = refusals()
    socks = []
    t0 = time.monotonic()
    for _ in range(n):
        socks.append(raw_sock())
    diag("%d sockets connected in %.1f s" % (n, time.monotonic() - t0))
    check_latency(pr, q, "1,000 silent sockets")
    wait_for(lambda: refusal_delta(before, "keepalive") >= n, 30.0,
             "the CONNECT deadline closes all", 0.2)
    el = time.monotonic() - t0
    diag("all %d closed %.1f s after the first connect" % (n, el))
    closed = 0
    for s in socks:
        s.settimeout(5)
        with contextlib.suppress(OSError):
            if s.recv(1) == b"":
                closed += 1
        s.close()
    check_eq(closed, n, "sockets closed by the broker")
    check_eq(refusal_delta(before, "keepalive"), n, "keepalive refusals")
    pr.r.disconnect()
    back_to(base, "silent sockets")


def kmalloc512():
    """Active objects of the kmalloc caches of 512-byte objects (6.12 may
    split them into kmalloc-rnd-NN-512), and the slack SLUB may show."""
    n = slack = 0
    with open("/proc/slabinfo") as f:
        for line in f:
            w = line.split()
            if w and re.fullmatch(r"kmalloc-(rnd-\d+-)?512", w[0]):
                n += int(w[1])
                slack += int(w[4]) * 2 * os.cpu_count()  # objperslab
    return n, slack


@test(kmqttd_only=True, timeout=180)
def idle_connections_hold_no_receive_buffer():
    """1,000 connected idle clients, before and after a PINGREQ each: the
    broker keeps no 512-byte receive buffer for them, so the kmalloc-512
    caches grow by far fewer than 1,000 objects."""
    n = 1000
    if DEBUG_KERNEL:
        skip("KASAN's quarantine keeps freed objects active")
    if raise_nofile(n + 200) < n + 100:
        skip("RLIMIT_NOFILE too low")
    base = baseline()
    k0, slack = kmalloc512()
    clients = []
    t0 = time.monotonic()
    for _ in range(n):
        c = Raw()
        c.connect(child_cid(), keepalive=0)
        clients.append(c)
    diag("%d clients connected in %.1f s" % (n, time.monotonic() - t0))
    for what in ("after CONNECT", "after PINGREQ"):
        time.sleep(0.5)     # the last io_work runs end
        k1 = kmalloc512()[0]
        progress("%s: kmalloc-512 %+d objects for %d clients (slack %d)" %
             (what, k1 - k0, n, slack))
        check(k1 - k0 < n // 4 + slack,
              "%s: %d more 512-byte objects for %d idle clients" %
              (what, k1 - k0, n))
        if what == "after CONNECT":
            for c in clients:
                c.ping()
    for c in clients:
        c.disconnect()
    back_to(base, "idle clients")


def _trickle(data, period):
    s = raw_sock()
    for b in data:
        s.sendall(bytes([b]))
        time.sleep(period)
    time.sleep(3600)


@test(kmqttd_only=True, timeout=120)
def byte_a_second():
    """Byte-a-second senders: one sending its CONNECT (closed by
    connect_timeout 3 s), one connected with keepalive 2 trickling a
    PUBLISH (closed by the keepalive, 3 s without a complete packet)."""
    set_param("connect_timeout", 3)
    base = baseline()
    pr, q = quiet()
    before = refusals()
    t = topic("slow")
    with attacker(_trickle, connect_pkt(child_cid()), 1.0):
        r = Raw()
        r.connect(keepalive=2)
        pkt = publish_pkt(t, b"slow")
        t0 = time.monotonic()
        with attacker(_trickle_conn, r.sock.dup(), pkt):
            check_latency(pr, q, "byte-a-second senders")
            wait_for(lambda: refusal_delta(before, "keepalive") >= 2, 15.0,
                     "both closed", 0.2)
        diag("byte-a-second senders closed after %.1f s" %
             (time.monotonic() - t0))
    r.close()
    pr.r.disconnect()
    back_to(base, "byte a second")


def _trickle_conn(s, data):
    for b in data:
        s.sendall(bytes([b]))
        time.sleep(1.0)
    time.sleep(3600)


# ------------------------------------------------------------ unload

def _module_path():
    for ko in (os.environ.get("KMQ_MODULE"), "/run/kmq-vm/module.ko",
               os.path.join(harness.TOP, "build",
                            os.environ.get("KMQ_KERNEL", "-"), "kmqttd.ko")):
        if ko and os.path.isfile(ko):
            return ko
    return None


def _load_client(t, role):
    """Publish or subscribe until killed, reconnecting when the broker
    goes away."""
    while True:
        try:
            r = Raw(timeout=5)
            r.connect(child_cid(), keepalive=0)
            if role == "sub":
                r.subscribe([(t + "/#", 1)])
                while True:
                    r.collect(n=50, timeout=5)
            else:
                i = 0
                while True:
                    i += 1
                    r.send(b"".join(publish_pkt("%s/%d" % (t, i % 7),
                                                b"m" * (i % 300), qos=i % 3,
                                                pid=(i % 60000) + 1)
                                    for _ in range(8)))
                    with contextlib.suppress(TimeoutError):
                        while r.recv_packet(timeout=0.001):
                            pass
        except (OSError, Closed, Fail, TimeoutError):
            time.sleep(0.2)


def _dmesg_count(text):
    p = subprocess.run(["dmesg"], stdout=subprocess.PIPE, timeout=30)
    return p.stdout.decode(errors="replace").count(text)


# a KASAN module loads and unloads slowly: fewer rounds there
RMMOD_ROUNDS = 2 if DEBUG_KERNEL else 5


@test("hostile.rmmod under load, %d times" % RMMOD_ROUNDS, kmqttd_only=True,
      order=98, timeout=300)
def rmmod_under_load():
    """RMMOD_ROUNDS times: 4 publishers (QoS 0-2 mixed, 7 topics) and 4 QoS 1
    subscribers run; the module is removed while messages flow; it must
    unload cleanly ("no live objects"), every client is disconnected, and
    it loads again."""
    ko = _module_path()
    if not ko:
        skip("no module file (KMQ_MODULE not set)")
    name = os.environ.get("KMQ_MODNAME", "kmqttd")
    params = shlex.split(os.environ.get("KMQ_MODPARAMS", ""))
    clean0 = _dmesg_count("unloaded, no live objects")
    t = "kmqt/hostile/rmmod"
    for rnd in range(RMMOD_ROUNDS):
        pids = []
        for i in range(4):
            for role in ("sub", "pub"):
                pid = os.fork()
                if pid == 0:
                    with contextlib.suppress(BaseException):
                        _load_client(t, role)
                    os._exit(0)
                pids.append(pid)
        try:
            s0 = stats()["msgs_out"]
            wait_for(lambda: stats()["msgs_out"] - s0 > 500, 30.0,
                     "messages flowing (round %d)" % rnd, 0.1)
            s = stats()
            diag("round %d: %d connections, %d live msgs, %d deliveries "
                 "at rmmod" % (rnd, s["conns_current"], s["live"]["msgs"],
                               s["live"]["deliveries"]))
            deadline = time.monotonic() + 10
            while True:
                p = subprocess.run(["rmmod", name], stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, timeout=120)
                if p.returncode == 0 or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
            check_eq(p.returncode, 0, "rmmod (round %d): %s" % (
                rnd, p.stdout.decode(errors="replace").strip()))
            check_eq(_dmesg_count("unloaded, no live objects"),
                     clean0 + rnd + 1, "clean unloads")
        finally:
            for pid in pids:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            p = subprocess.run(["insmod", ko] + params,
                               stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, timeout=60)
            check_eq(p.returncode, 0, "insmod: %s" %
                     p.stdout.decode(errors="replace").strip())
            check(harness.wait_port(20.0), "port after insmod")
    exchange_ok("after 5 unloads under load")
