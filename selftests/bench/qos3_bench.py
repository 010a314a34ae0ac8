#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""qos3_bench.py - how long until a publisher knows that N subscribers have
its message (Documentation/qos3.rst, "Evaluation").

Runs in a selftests/vm.sh guest with kmqttd loaded:

    selftests/vm.sh -- /usr/bin/python3 selftests/bench/qos3_bench.py

For N = 1, 10, 50, 100 subscribers (one helper process, raw sockets,
subscribed at QoS 2, acknowledging at once) it times, per message, from
the publisher's PUBLISH until the publisher knows:

  qos3      native QoS 3, required = N: until the QoS 3 answer
  qos3-conv the "$qos3/N/topic" convention at QoS 2: until the withheld
            PUBCOMP and the report on "$qos3/result/<id>" (not run by
            default; --modes to add it)
  app       QoS 2 plus an application reply topic: every subscriber
            publishes an acknowledgement (--reply-qos, 1) on a topic the
            publisher subscribed to; until the publisher counted N
            (--app-reply-on publish: the subscriber replies when the
            PUBLISH arrives; pubrel: when PUBREL arrives, as paho and
            libmosquitto hand QoS 2 messages to the application)
  qos2      QoS 2 alone: until PUBCOMP (confirms the broker only)

and counts the packets and bytes the publisher's socket sent and
received per message (the publisher's link).  Each mode has its own
publisher connection; the modes take turns, message by message in a
random order, on the same subscribers, so that a change of load (other
guests on the host, a busy CPU) affects them alike.  Between messages
it waits, untimed, until every subscriber has finished the previous
one.  Prints a table (median and p99 latency) and, with --json, the
rows as JSON.

A listener with QoS 3 on is added with mqctl on 127.0.0.1:--q3-port
(1886) for the native mode and removed at the end.
"""
import argparse
import json
import math
import os
import random
import select
import socket
import statistics
import struct
import subprocess
import sys
import time

TOP = os.environ.get("KMQ_TOP") or os.path.abspath(
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
sys.path.insert(0, os.path.join(TOP, "tools", "qos3"))
import kmqtt_qos3 as q3  # noqa: E402

PUBLISH, PUBACK, PUBREC, PUBREL, PUBCOMP = 3, 4, 5, 6, 7
MODES = ("qos3", "qos3-conv", "app", "qos2")
DEFAULT_MODES = ("qos3", "app", "qos2")
LABELS = {
    "qos3": "QoS 3 native",
    "qos3-conv": "QoS 3 $qos3/ conv. (QoS 2)",
    "app": "QoS 2 + app replies",
    "qos2": "QoS 2 alone (PUBCOMP)",
}


def log(*a):
    print(*a, file=sys.stderr, flush=True)


# ------------------------------------------------------------ subscribers

def subscriber_main(ctl, host, port, n, topic, reply_topic, reply_qos,
                    reply_on):
    """Child process: n raw subscribers.  Writes "R" when subscribed, then
    "D<seq>" once every subscriber has finished message seq.  A message
    whose payload has byte 8 set asks for an application reply."""
    subs = []
    for _ in range(n):
        c = q3.Client(host, port, auto_ack=False, timeout=30)
        c.subscribe(topic, 2)
        c.reply_pids = {}         # our reply's pid -> seq
        c.in_pids = {}            # incoming QoS 2 pid -> (seq, reply?)
        subs.append(c)
    by_fd = {c.sock.fileno(): c for c in subs}
    left = {}                     # seq -> outstanding steps over all subs
    ctl.sendall(b"R\n")

    def step_done(seq):
        left[seq] -= 1
        if not left[seq]:
            del left[seq]
            ctl.sendall(b"D%d\n" % seq)

    def reply(c, seq):
        pid = c.next_pid()
        c.reply_pids[pid] = seq
        c._send(q3.publish_packet(reply_topic, struct.pack("!Q", seq),
                                  reply_qos, pid if reply_qos else None))
        if not reply_qos:
            step_done(seq)

    fds = list(by_fd) + [ctl.fileno()]
    while True:
        r = select.select(fds, [], [])[0]
        if ctl.fileno() in r:
            return
        for fd in r:
            c = by_fd[fd]
            data = c.sock.recv(65536)
            if not data:
                return
            c.buf += data
            while True:
                p = c._parse()
                if p is None:
                    break
                t = p.type
                if t == PUBLISH:
                    seq = struct.unpack("!Q", p.payload[:8])[0]
                    app = p.payload[8:9] == b"\1"
                    if seq not in left:
                        left[seq] = n * (2 if app else 1)
                    if p.qos == 2:
                        c.in_pids[p.pid] = (seq, app)
                        c._send(q3.ack_packet(PUBREC, p.pid))
                    elif p.qos == 1:
                        c._send(q3.ack_packet(PUBACK, p.pid))
                        step_done(seq)
                    else:
                        step_done(seq)
                    if app and (reply_on == "publish" or p.qos < 2):
                        reply(c, seq)
                elif t == PUBREL:
                    c._send(q3.ack_packet(PUBCOMP, p.pid))
                    seq, app = c.in_pids.pop(p.pid, (None, False))
                    if seq is not None:
                        if app and reply_on == "pubrel":
                            reply(c, seq)
                        step_done(seq)
                elif t == PUBACK:
                    step_done(c.reply_pids.pop(p.pid))
                elif t == PUBREC:
                    c._send(q3.ack_packet(PUBREL, p.pid))
                elif t == PUBCOMP:
                    step_done(c.reply_pids.pop(p.pid))


class Subscribers:
    def __init__(self, args, n, topic, reply_topic):
        a, b = socket.socketpair()
        self.pid = os.fork()
        if self.pid == 0:
            a.close()
            code = 0
            try:
                subscriber_main(b, args.host, args.port, n, topic,
                                reply_topic, args.reply_qos,
                                args.app_reply_on)
            except BaseException as e:  # noqa: B902
                log("subscribers: %s: %s" % (type(e).__name__, e))
                code = 1
            os._exit(code)
        b.close()
        self.ctl = a
        self.buf = b""
        self.wait_line(b"R", 60)

    def wait_line(self, want, timeout=30):
        deadline = time.monotonic() + timeout
        while True:
            while b"\n" in self.buf:
                line, self.buf = self.buf.split(b"\n", 1)
                if line == want:
                    return
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.ctl], [], [], left)[0]:
                raise RuntimeError("subscribers: no %r" % want)
            data = self.ctl.recv(4096)
            if not data:
                raise RuntimeError("subscriber process died")
            self.buf += data

    def done(self, seq):
        self.wait_line(b"D%d" % seq)

    def stop(self):
        self.ctl.close()
        os.waitpid(self.pid, 0)


# ------------------------------------------------------------ publisher

def one_qos3(c, topic, payload, n, seq):
    pid = c.send_publish3(topic, payload, n, 30000)
    a = c.wait_answer(pid, 35)
    if a.code != 0 or a.confirmed < n:
        raise RuntimeError("message %d: %r" % (seq, a))


def one_conv(c, topic, payload, n, seq):
    pid = c.publish(q3.convention_topic(topic, n, 30000), payload, 2,
                    timeout=35)
    a = c.wait_report(pid, 35)
    if a.code != 0 or a.confirmed < n:
        raise RuntimeError("message %d: %r" % (seq, a))


def one_qos2(c, topic, payload, n, seq):
    c.publish(topic, payload, 2, timeout=35)


def one_app(c, topic, payload, n, seq, reply_topic):
    """Publish at QoS 2; known once n replies with this seq arrived.
    Returns that time; the QoS 2 flow is completed before returning."""
    pid = c.next_pid()
    c._send(q3.publish_packet(topic, payload, 2, pid))
    want = struct.pack("!Q", seq)
    count = 0
    got_comp = False
    known = None
    deadline = time.monotonic() + 35
    while known is None or not got_comp:
        p = c._read(deadline)
        t = p.type
        if t == PUBLISH:
            if p.qos == 1:
                c._send(q3.ack_packet(PUBACK, p.pid))
            elif p.qos == 2:
                c._send(q3.ack_packet(PUBREC, p.pid))
            if p.payload[:8] == want:
                count += 1
                if count == n:
                    known = time.monotonic()
        elif t == PUBREL:
            c._send(q3.ack_packet(PUBCOMP, p.pid))
        elif t == PUBREC and p.pid == pid:
            c._send(q3.ack_packet(PUBREL, pid))
        elif t == PUBCOMP and p.pid == pid:
            got_comp = True
    return known


def pct(vals, p):
    s = sorted(vals)
    return s[max(0, math.ceil(p / 100.0 * len(s)) - 1)]


def run(args, modes, n, rng):
    """One set of n subscribers; each round sends one message per mode,
    in a random order, so that a load change affects every mode alike."""
    tag = "%s-%d-%d" % (os.urandom(3).hex(), n, os.getpid())
    topic = "bench/q3/%s" % tag
    reply_topic = "bench/q3r/%s" % tag
    subs = Subscribers(args, n, topic, reply_topic)
    clients = {}
    try:
        for m in modes:
            port = args.q3_port if m == "qos3" else args.port
            c = q3.Client(args.host, port, timeout=35)
            if m == "app":
                c.subscribe(reply_topic, args.reply_qos)
            if m == "qos3-conv":
                c.subscribe(q3.result_topic(c.client_id), 1)
            clients[m] = c
        lat = {m: [] for m in modes}
        base = {}
        pad = b"\0" * max(0, args.payload - 9)
        seq = 0
        for rnd in range(args.warmup + args.iterations):
            if rnd == args.warmup:
                for m, c in clients.items():
                    base[m] = (c.pkts_sent, c.pkts_recv, c.bytes_sent,
                               c.bytes_recv)
            order = list(modes)
            rng.shuffle(order)
            for m in order:
                c = clients[m]
                payload = struct.pack("!Q", seq) + \
                    (b"\1" if m == "app" else b"\0") + pad
                t0 = time.monotonic()
                if m == "qos3":
                    one_qos3(c, topic, payload, n, seq)
                    t1 = time.monotonic()
                elif m == "qos3-conv":
                    one_conv(c, topic, payload, n, seq)
                    t1 = time.monotonic()
                elif m == "qos2":
                    one_qos2(c, topic, payload, n, seq)
                    t1 = time.monotonic()
                else:
                    t1 = one_app(c, topic, payload, n, seq, reply_topic)
                if rnd >= args.warmup:
                    lat[m].append((t1 - t0) * 1e3)
                subs.done(seq)
                seq += 1
        k = args.iterations
        rows = []
        for m in modes:
            c, b, v = clients[m], base[m], lat[m]
            rows.append({
                "mode": m, "n": n, "iterations": k,
                "median_ms": statistics.median(v), "p99_ms": pct(v, 99),
                "mean_ms": statistics.mean(v), "min_ms": min(v),
                "max_ms": max(v),
                "pkts_sent": (c.pkts_sent - b[0]) / k,
                "pkts_recv": (c.pkts_recv - b[1]) / k,
                "bytes_sent": (c.bytes_sent - b[2]) / k,
                "bytes_recv": (c.bytes_recv - b[3]) / k,
            })
        return rows
    finally:
        for c in clients.values():
            c.disconnect()
        subs.stop()


def mqctl(args, *a):
    return subprocess.run([args.mqctl] + [str(x) for x in a],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, timeout=30)


def table(rows, args):
    out = []
    out.append("QoS 3 benchmark: kernel %s, %d messages per cell (+%d warm-up), "
               "payload %d B, app replies at QoS %d on %s" %
               (os.uname().release, args.iterations, args.warmup,
                args.payload, args.reply_qos, args.app_reply_on.upper()))
    out.append("")
    out.append("%5s  %-27s %10s %10s %15s %17s" %
               ("N", "mode", "median ms", "p99 ms", "pkts out/in",
                "bytes out/in"))
    for r in rows:
        out.append("%5d  %-27s %10.3f %10.3f %15s %17s" % (
            r["n"], LABELS[r["mode"]], r["median_ms"], r["p99_ms"],
            "%g/%g" % (round(r["pkts_sent"], 2), round(r["pkts_recv"], 2)),
            "%g/%g" % (round(r["bytes_sent"], 1),
                       round(r["bytes_recv"], 1))))
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=1883)
    ap.add_argument("--q3-port", type=int, default=1886)
    ap.add_argument("--ns", default="1,10,50,100")
    ap.add_argument("--modes", default=",".join(DEFAULT_MODES))
    ap.add_argument("--iterations", type=int, default=200)
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--payload", type=int, default=32)
    ap.add_argument("--reply-qos", type=int, default=1, choices=(0, 1, 2))
    ap.add_argument("--app-reply-on", default="publish",
                    choices=("publish", "pubrel"))
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--json", action="store_true",
                    help="print the rows as JSON (after the table)")
    ap.add_argument("--out", help="write the JSON rows to this file")
    ap.add_argument("--mqctl", default=os.environ.get("KMQ_MQCTL") or
                    os.path.join(TOP, "tools", "mqctl", "mqctl"))
    args = ap.parse_args()
    ns = [int(x) for x in args.ns.split(",")]
    modes = args.modes.split(",")
    for m in modes:
        if m not in MODES:
            ap.error("unknown mode %r (%s)" % (m, ", ".join(MODES)))
    added = False
    if "qos3" in modes:
        p = mqctl(args, "listener", "add", "%s:%d" % (args.host, args.q3_port),
                  "qos3", "on")
        if p.returncode:
            log("mqctl listener add ... qos3 on: %s" % p.stderr.strip())
            return 2
        added = True
    rows = []
    rng = random.Random(args.seed)
    try:
        for n in ns:
            for r in run(args, modes, n, rng):
                log("N=%-3d %-10s median %.3f ms  p99 %.3f ms" %
                    (n, r["mode"], r["median_ms"], r["p99_ms"]))
                rows.append(r)
    finally:
        if added:
            mqctl(args, "listener", "del", "%s:%d" % (args.host, args.q3_port))
    print(table(rows, args))
    res = {"kernel": os.uname().release, "iterations": args.iterations,
           "warmup": args.warmup, "payload": args.payload,
           "reply_qos": args.reply_qos, "app_reply_on": args.app_reply_on,
           "rows": rows}
    if args.json:
        print(json.dumps(res, indent=1))
    if args.out:
        with open(args.out, "w") as f:
            json.dump(res, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
