#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""bench.py - kmqttd vs Mosquitto benchmark, the guest side of `make bench`.

Runs inside a selftests/vm.sh guest with kmqttd loaded (port 1883).  Starts
Mosquitto on 127.0.0.1:1884 and the mqbench relay on 127.0.0.1:1885, runs
each workload against each broker (alternating which goes first), prints a
table and writes the JSON results.

usage: bench.py [--quick] [--only REGEX] [--out FILE] [--threads N]
                [--lossy] [--loss LIST]

--lossy adds the lossy-link part: the clients move into a network
namespace behind a veth pair with tc netem loss on both ends, and one
publisher sends 50 msg/s of 64 B to one subscriber at QoS 0, 1 and 2 for
each loss rate (0, 1, 5, 10, 25 %); workload ids L<loss>-q<qos>, also
matched by --only.  --loss 1,25 picks the rates, --lossy-rate the pace
(50 msg/s).

Environment: KMQ_BENCH_MAX_QUEUED (10000) and KMQ_BENCH_MAX_INFLIGHT (100) are the
per-client queue and outbound QoS 1/2 window given to both brokers;
KMQ_BENCH_NO_RELAY=1 skips the relay reference.
"""

import argparse
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time

TOP = os.environ.get("KMQ_TOP") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
MQBENCH = os.path.join(TOP, "tools/mqbench/mqbench")
MQCTL = os.path.join(TOP, "tools/mqctl/mqctl")
KERNEL = os.environ.get("KMQ_KERNEL", os.uname().release)
MAX_QUEUED = int(os.environ.get("KMQ_BENCH_MAX_QUEUED", "10000"))
MAX_INFLIGHT = int(os.environ.get("KMQ_BENCH_MAX_INFLIGHT", "100"))

BROKERS = {
    # name: (host, port); the normal workloads reach every broker on
    # loopback, the lossy ones at LossyNet.BROKER_IP (same ports).
    "kmqttd": ("127.0.0.1", 1883),
    "mosquitto": ("127.0.0.1", 1884),
    "relay": ("127.0.0.1", 1885),
}

HIGHER, LOWER = "higher", "lower"


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def client_prefix(wl=None):
    """Command prefix of the benchmark clients: the lossy workloads run
    in the client network namespace."""
    if wl and wl.get("lossy") is not None:
        return ["ip", "netns", "exec", LossyNet.NS]
    return []


# ---------------------------------------------------------------- workloads
# Each workload: id, title, mqbench args, figures, whether the relay runs it.
# A figure: (label, better, function(result) -> number or None).

def delivered(r):
    return r.get("delivered_rate")


def mbps(r):
    return r.get("delivered_mbps")


def loss_pct(r):
    e = r.get("expected") or 0
    return 100.0 * r.get("lost", 0) / e if e else None


def lat(q):
    return lambda r: (r.get("latency_us") or {}).get(q)


def own_per_conn(r):
    """Bytes of the broker's own state per idle connection: kmqttd's
    (own_state()), Mosquitto's RSS growth."""
    o = r.get("own_state")
    if o:
        return o.get("per_conn_bytes")
    if r.get("broker_rss_kb_before", -1) >= 0:
        return r.get("rss_per_conn_bytes")
    return None


THROUGHPUT = [("delivered msg/s", HIGHER, delivered),
              ("lost %", LOWER, loss_pct)]


def workloads(quick):
    return [
        dict(id="1", title="QoS 0, 1 -> 1, 64 B, max rate",
             args=["--pub", "1", "--sub", "1", "-s", "64"],
             figures=THROUGHPUT + [("latency p50 us (queueing)", LOWER, lat("p50"))],
             relay=True),
        dict(id="2", title="QoS 0 fan-out 1 -> 100, 64 B",
             args=["--pub", "1", "--sub", "100", "-s", "64"],
             figures=THROUGHPUT, relay=True),
        dict(id="3", title="QoS 0 fan-in 100 -> 1, 64 B",
             args=["--pub", "100", "--sub", "1", "-s", "64"],
             figures=THROUGHPUT, relay=True),
        dict(id="4a", title="QoS 1, 1 -> 1, 64 B",
             args=["-q", "1", "--pub", "1", "--sub", "1", "-s", "64"],
             figures=THROUGHPUT),
        dict(id="4b", title="QoS 1, 10 -> 10, 64 B",
             args=["-q", "1", "--pub", "10", "--sub", "10", "-s", "64"],
             figures=THROUGHPUT),
        dict(id="4c", title="QoS 2, 1 -> 1, 64 B",
             args=["-q", "2", "--pub", "1", "--sub", "1", "-s", "64"],
             figures=THROUGHPUT),
        dict(id="4d", title="QoS 2, 10 -> 10, 64 B",
             args=["-q", "2", "--pub", "10", "--sub", "10", "-s", "64"],
             figures=THROUGHPUT),
        dict(id="5a", title="latency, QoS 0, 1000 msg/s, 1 -> 1",
             args=["-q", "0", "-r", "1000", "-s", "64"],
             figures=[("latency p50 us", LOWER, lat("p50")),
                      ("latency p99 us", LOWER, lat("p99")),
                      ("lost %", LOWER, loss_pct)], relay=True),
        dict(id="5b", title="latency, QoS 1, 1000 msg/s, 1 -> 1",
             args=["-q", "1", "-r", "1000", "-s", "64"],
             figures=[("latency p50 us", LOWER, lat("p50")),
                      ("latency p99 us", LOWER, lat("p99")),
                      ("lost %", LOWER, loss_pct)]),
        dict(id="6a", title="routing: 10k subscribers x 1 of 10k topics",
             args=["--pub", "1", "--sub", "10000", "--topics", "10000",
                   "--sub-per-topic", "--pub-cycle", "-s", "64"],
             figures=[("delivered msg/s", HIGHER, delivered),
                      ("lost %", LOWER, loss_pct),
                      ("setup s (10k connect+subscribe)", LOWER,
                       lambda r: r.get("setup_s"))]),
        dict(id="6b", title="routing: 1 subscriber x 10k topics",
             args=["--pub", "1", "--sub", "1", "--topics", "10000",
                   "--pub-cycle", "-s", "64"],
             figures=THROUGHPUT),
        dict(id="7", title="20,000 idle connections",
             args=["--connect-only", "20000", "--parallel", "64"],
             connect_only=True,
             figures=[("connect all, s", LOWER, lambda r: r.get("connect_s")),
                      ("MemAvailable drop B/conn", LOWER,
                       lambda r: r.get("mem_per_conn_bytes")),
                      ("Slab growth B/conn", LOWER,
                       lambda r: r.get("slab_per_conn_bytes")),
                      ("broker RSS B/conn", LOWER,
                       lambda r: r.get("rss_per_conn_bytes")
                       if r.get("broker_rss_kb_before", -1) >= 0 else None),
                      ("broker's own state B/conn", LOWER, own_per_conn)]),
        dict(id="7b", title="100,000 idle connections (kmqttd only)",
             # 25,000 per loopback address: connect() scans the even
             # ephemeral ports first, a half of ~32k per destination; and
             # not 127.0.0.1, where workload 7's ports are in TIME_WAIT
             many_idle=(("127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"),
                        25000),
             figures=[("connect all, s", LOWER, lambda r: r.get("connect_s")),
                      ("MemAvailable drop B/conn", LOWER,
                       lambda r: r.get("mem_per_conn_bytes")),
                      ("broker's own state B/conn", LOWER, own_per_conn),
                      ("connections held", HIGHER,
                       lambda r: r.get("held"))]),
        dict(id="8a", title="QoS 0, 1 KiB, 1 -> 10",
             args=["--pub", "1", "--sub", "10", "-s", "1024"],
             figures=[("delivered MB/s", HIGHER, mbps)] + THROUGHPUT),
        dict(id="8b", title="QoS 0, 64 KiB, 1 -> 10",
             args=["--pub", "1", "--sub", "10", "-s", "65536"],
             figures=[("delivered MB/s", HIGHER, mbps)] + THROUGHPUT),
    ]


LOSS_RATES = (0, 1, 5, 10, 25)
# msg/s, one publisher: well below what Mosquitto does at QoS 2 in TCG
# (~170 msg/s, workload 4c), so that the delay is the link's, not a queue's.
LOSSY_RATE = 50


def wire_per_msg(r):
    """IP bytes sent by both ends (headers, retransmissions and the
    segments netem dropped included) per message delivered."""
    w = r.get("wire")
    if not w or not r.get("unique"):
        return None
    return w["ip_out_octets"] / r["unique"]


def retrans_per_100(r):
    w = r.get("wire")
    if not w or not r.get("unique"):
        return None
    return 100.0 * w["tcp_retrans_segs"] / r["unique"]


def sent_pct(r):
    """Messages published in the measured window / the schedule's: a
    publisher held back (full inflight window) falls behind."""
    return 100.0 * r["publish_rate"] / r["rate"] if r.get("rate") else None


def delivered_pct(r):
    e = r.get("expected") or 0
    return 100.0 * r.get("unique", 0) / e if e else None


def lat_ms(q):
    return lambda r: (r.get("latency_us") or {}).get(q, 0) / 1000.0 \
        if r.get("latency_us", {}).get("count") else None


def lossy_workloads(rates, rate):
    out = []
    for loss in rates:
        for q in (0, 1, 2):
            out.append(dict(
                id=f"L{loss}-q{q}", lossy=loss, qos=q,
                title=f"lossy link {loss} %, QoS {q}, {rate} msg/s, 1 -> 1, 64 B",
                args=["-q", str(q), "--pub", "1", "--sub", "1", "-s", "64",
                      "-r", str(rate), "--sched-time"],
                figures=[("sent %", HIGHER, sent_pct),
                         ("delivered %", HIGHER, delivered_pct),
                         ("delay p50 ms", LOWER, lat_ms("p50")),
                         ("delay p99 ms", LOWER, lat_ms("p99")),
                         ("wire B/msg", LOWER, wire_per_msg),
                         ("TCP retrans /100 msg", LOWER, retrans_per_100)]))
    return out


# ---------------------------------------------------------------- lossy net

def run_cmd(cmd, check=True):
    p = subprocess.run(cmd, capture_output=True, text=True)
    if check and p.returncode:
        raise RuntimeError(f"{' '.join(cmd)}: exit {p.returncode}: "
                           f"{(p.stderr or p.stdout).strip()}")
    return p


def netstat_counters(text):
    """/proc/net/netstat or /proc/net/snmp text -> {"IpExt.OutOctets": n}"""
    out, lines = {}, text.splitlines()
    for a, b in zip(lines[::2], lines[1::2]):
        ka, kb = a.split(), b.split()
        if not ka or ka[0] != kb[0]:
            continue
        for k, v in zip(ka[1:], kb[1:]):
            try:
                out[ka[0] + k] = int(v)
            except ValueError:
                pass
    return out


class LossyNet:
    """Clients in network namespace NS, joined to the root namespace (the
    brokers) by a veth pair; tc netem on the egress of both ends drops
    each packet with the same probability in both directions."""
    NS = "kmq-bench-client"
    DEV, PEER = "kmqb0", "kmqb1"
    BROKER_IP, CLIENT_IP = "10.99.0.1", "10.99.0.2"

    def __init__(self):
        self.up = False
        self.notes = []

    def setup(self):
        for m in ("veth", "sch_netem"):
            p = run_cmd(["modprobe", m], check=False)
            if p.returncode:
                raise RuntimeError(f"modprobe {m}: {p.stderr.strip()}")
        self.teardown()
        run_cmd(["ip", "netns", "add", self.NS])
        self.up = True
        run_cmd(["ip", "link", "add", self.DEV, "type", "veth", "peer",
                 "name", self.PEER, "netns", self.NS])
        run_cmd(["ip", "addr", "add", self.BROKER_IP + "/24", "dev", self.DEV])
        run_cmd(["ip", "-n", self.NS, "addr", "add", self.CLIENT_IP + "/24",
                 "dev", self.PEER])
        # One wire packet per skb: netem drops whole GSO super-packets.
        for ns in ([], ["-n", self.NS]):
            dev = self.PEER if ns else self.DEV
            if run_cmd(["ip"] + ns + ["link", "set", dev, "gso_max_segs", "1"],
                       check=False).returncode:
                self.notes.append(f"cannot set gso_max_segs on {dev}")
            run_cmd(["ip"] + ns + ["link", "set", dev, "up"])
        run_cmd(["ip", "-n", self.NS, "link", "set", "lo", "up"])
        self.set_loss(0)
        # Wait for the link: a TCP connection to a closed port is refused
        # once packets flow both ways.
        probe = ("import socket, sys\n"
                 "try:\n"
                 f"    socket.create_connection(('{self.BROKER_IP}', 9), 1)\n"
                 "except ConnectionRefusedError:\n"
                 "    sys.exit(0)\n"
                 "except OSError:\n"
                 "    sys.exit(1)\n")
        for _ in range(50):
            if run_cmd(["ip", "netns", "exec", self.NS, sys.executable, "-c",
                        probe], check=False).returncode == 0:
                return
            time.sleep(0.1)
        raise RuntimeError(f"{self.NS} cannot reach {self.BROKER_IP}")

    def set_loss(self, pct):
        # netem also at 0 %: the same path for every point; a limit well
        # above what 200 msg/s can queue.
        qd = ["qdisc", "replace", "dev", None, "root", "netem", "limit",
              "10000", "loss", f"{pct}%"]
        for ns, dev in (([], self.DEV), (["-n", self.NS], self.PEER)):
            run_cmd(["tc"] + ns + [x if x else dev for x in qd])

    def counters(self):
        """Both namespaces' IP/TCP counters and the veth's link counters."""
        root = netstat_counters(open("/proc/net/netstat").read() +
                                open("/proc/net/snmp").read())
        p = run_cmd(["ip", "netns", "exec", self.NS, "cat", "/proc/net/netstat",
                     "/proc/net/snmp"])
        ns = netstat_counters(p.stdout)
        st = {}
        for k in ("rx_bytes", "tx_bytes", "rx_packets", "tx_packets"):
            with open(f"/sys/class/net/{self.DEV}/statistics/{k}") as f:
                st[k] = int(f.read())
        return dict(
            ip_out_octets=root.get("IpExt:OutOctets", 0) + ns.get("IpExt:OutOctets", 0),
            ip_out_packets=root.get("Ip:OutRequests", 0) + ns.get("Ip:OutRequests", 0),
            tcp_retrans_segs=root.get("Tcp:RetransSegs", 0) + ns.get("Tcp:RetransSegs", 0),
            link_bytes=st["rx_bytes"] + st["tx_bytes"],
            link_packets=st["rx_packets"] + st["tx_packets"])

    def qdisc_drops(self):
        n = 0
        for ns, dev in (([], self.DEV), (["-n", self.NS], self.PEER)):
            p = run_cmd(["tc"] + ns + ["-s", "qdisc", "show", "dev", dev],
                        check=False)
            m = re.search(r"dropped (\d+)", p.stdout)
            n += int(m.group(1)) if m else 0
        return n

    def teardown(self):
        run_cmd(["ip", "link", "del", self.DEV], check=False)
        run_cmd(["ip", "netns", "del", self.NS], check=False)
        self.up = False


# ---------------------------------------------------------------- system

def cpu_sample():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + (v[4] if len(v) > 4 else 0)
    return sum(v), idle


def wait_idle(limit):
    """Wait until the CPUs are idle (a broker may still be draining an
    earlier run's backlog).  Returns the seconds waited."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < limit:
        a = cpu_sample()
        time.sleep(0.3)
        b = cpu_sample()
        tot = b[0] - a[0]
        if tot > 0 and 1.0 - (b[1] - a[1]) / tot < 0.08:
            break
    return time.monotonic() - t0


def sysctl(path, value):
    try:
        with open("/proc/sys/" + path, "w") as f:
            f.write(str(value))
    except OSError as e:
        log(f"bench: cannot set {path}: {e}")


def port_open(port):
    import socket
    s = socket.socket()
    s.settimeout(0.2)
    try:
        s.connect(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def meminfo():
    out = {}
    with open("/proc/meminfo") as f:
        for line in f:
            k, v = line.split(":", 1)
            out[k] = int(v.split()[0])
    return out


def mqctl_stats():
    """kmqttd counters (flattened), or None."""
    if not os.access(MQCTL, os.X_OK):
        return None
    try:
        p = subprocess.run([MQCTL, "-j", "stats"], capture_output=True,
                           text=True, timeout=10)
        if p.returncode:
            return None
        d = json.loads(p.stdout)
    except (OSError, ValueError, subprocess.SubprocessError):
        return None
    flat = {}

    def walk(prefix, v):
        if isinstance(v, dict):
            for k, x in v.items():
                walk(f"{prefix}{k}.", x)
        elif isinstance(v, (int, float)):
            flat[prefix[:-1]] = v
    walk("", d)
    return flat


def dropped(stats):
    if not stats:
        return None
    for k in ("msgs_dropped", "msgs.dropped", "messages.dropped"):
        if k in stats:
            return stats[k]
    for k, v in stats.items():
        if k.endswith("dropped") and "msg" in k:
            return v
    return None


def slab_size(cache):
    """Bytes per object of a kmem cache (its slot in the slab: object,
    alignment, debug metadata), or None.  A merged cache's name links to
    the cache it shares, whose slots are at least as large."""
    for f in ("slab_size", "object_size"):
        try:
            with open(f"/sys/kernel/slab/{cache}/{f}") as fh:
                return int(fh.read())
        except (OSError, ValueError):
            pass
    return None


def kmalloc_size(n):
    """The kmalloc size class that an allocation of n bytes takes."""
    for c in (8, 16, 32, 64, 96, 128, 192, 256):
        if n <= c:
            return c
    c = 512
    while c < n:
        c *= 2
    return c


def client_id_bytes():
    """kmalloc bytes of the client ids of kmqttd's sessions (one
    kmemdup_nul() each), from mqctl -j client list, or None."""
    try:
        p = subprocess.run([MQCTL, "-j", "client", "list"],
                           capture_output=True, text=True, timeout=120)
        d = json.loads(p.stdout) if not p.returncode else None
    except (OSError, ValueError, subprocess.SubprocessError):
        return None
    if isinstance(d, dict):
        d = next((v for v in d.values() if isinstance(v, list)), None)
    if not isinstance(d, list):
        return None
    ids = [c.get("client_id") for c in d if isinstance(c, dict)]
    ids = [i for i in ids if isinstance(i, str)]
    return (sum(kmalloc_size(len(i.encode()) + 1) for i in ids), len(ids))


def own_state(st0, st1):
    """kmqttd's own memory per connection between two mqctl_stats()
    samples: the slab slots of its connection and session objects (live
    counters), the kmalloc'd client ids and the session id's share of an
    xarray node (64 slots).  The kernel sockets are not counted (both
    brokers pay them alike); idle connections hold no receive buffer
    (hostile.idle_connections_hold_no_receive_buffer checks that)."""
    if not st0 or not st1:
        return None
    conns = st1.get("live.conns", 0) - st0.get("live.conns", 0)
    sess = st1.get("live.sessions", 0) - st0.get("live.sessions", 0)
    csz, ssz, xsz = (slab_size("kmq_conn"), slab_size("kmq_session"),
                     slab_size("radix_tree_node"))
    ids = client_id_bytes()
    if conns <= 0 or not csz or not ssz or not ids or not ids[1]:
        return None
    id_bytes = ids[0] / ids[1] * sess   # mean of the listed sessions
    total = conns * csz + sess * ssz + id_bytes + sess * (xsz or 0) / 64
    return dict(conns=conns, sessions=sess, kmq_conn_slab_size=csz,
                kmq_session_slab_size=ssz, client_id_bytes=round(id_bytes),
                xa_node_size=xsz, per_conn_bytes=total / conns)


def wait_conns(target, procs, limit, stall=30):
    """Poll kmqttd until it holds target connections (live.conns), the
    clients have exited, its count has not grown for stall seconds, or
    limit seconds have passed.  Returns (stats, seconds)."""
    t0 = time.monotonic()
    best, since = -1, t0
    while True:
        st = mqctl_stats() or {}
        n = st.get("live.conns", 0)
        now = time.monotonic()
        if n >= target or now - t0 > limit or now - since > stall or \
                all(p.poll() is not None for p in procs):
            return st, now - t0
        if n > best:
            best, since = n, now
        time.sleep(0.5)


# ---------------------------------------------------------------- brokers

class Mosquitto:
    def __init__(self, tmp, port, extra_addr=None):
        self.tmp, self.port, self.proc = tmp, port, None
        self.conf = os.path.join(tmp, "mosquitto.conf")
        with open(self.conf, "w") as f:
            f.write(f"""# written by selftests/bench/bench.py
listener {port} 127.0.0.1
allow_anonymous true
persistence false
user root
log_dest stderr
log_type error
log_type warning
connection_messages false
max_connections -1
max_queued_messages {MAX_QUEUED}
max_inflight_messages {MAX_INFLIGHT}
set_tcp_nodelay true
""")
            if extra_addr:  # the lossy part's clients
                f.write(f"listener {port} {extra_addr}\n")

    def start(self):
        self.log = open(os.path.join(self.tmp, "mosquitto.log"), "a")
        self.proc = subprocess.Popen(["mosquitto", "-c", self.conf],
                                     stdout=self.log, stderr=self.log)
        for _ in range(200):
            if port_open(self.port):
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError("mosquitto did not start: " +
                           open(self.log.name).read()[-2000:])

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def version(self):
        p = subprocess.run(["mosquitto", "-h"], capture_output=True, text=True)
        m = re.search(r"version (\S+)", p.stdout + p.stderr)
        return m.group(1) if m else "?"


class Relay:
    def __init__(self, tmp, port):
        self.tmp, self.port, self.proc = tmp, port, None

    def start(self):
        self.log = open(os.path.join(self.tmp, "relay.log"), "a")
        self.proc = subprocess.Popen([MQBENCH, "--relay", "-p", str(self.port)],
                                     stdout=self.log, stderr=self.log)
        for _ in range(100):
            if port_open(self.port):
                return
            time.sleep(0.05)
        raise RuntimeError("relay did not start")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(10)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None


def kmqttd_params(names):
    """The module's settings (run.sh sets them with KMQ_MODPARAMS)."""
    out = {}
    for k in names:
        try:
            with open("/sys/module/kmqttd/parameters/" + k) as f:
                out[k] = f.read().strip()
        except OSError:
            pass
    return out


def local_etc(tmp):
    """Debian's Mosquitto checks /etc/hosts.allow and hosts.deny (libwrap)
    on every connection; the guest's /etc is 9p, where each open costs
    milliseconds under TCG.  Serve copies from tmpfs, as a local disk with a
    warm page cache would."""
    for name in ("hosts.allow", "hosts.deny"):
        src = "/etc/" + name
        if not os.path.exists(src):
            continue
        dst = os.path.join(tmp, name)
        shutil.copy(src, dst)
        if subprocess.run(["mount", "--bind", dst, src]).returncode:
            log(f"bench: cannot bind-mount {dst} on {src}")


# ---------------------------------------------------------------- running

def run_mqbench(wl, broker, timing, threads, extra=()):
    host, port = BROKERS[broker]
    if wl.get("lossy") is not None:
        host = LossyNet.BROKER_IP
        timing = dict(timing, **timing["lossy"])
    cmd = client_prefix(wl) + [MQBENCH, "-h", host, "-p", str(port), "--json",
                             "--label", f"{wl['id']}/{broker}"]
    cmd += wl["args"]
    cmd += ["--setup-timeout", str(timing["setup"])]
    if wl.get("connect_only"):
        cmd += ["-d", str(timing["hold"]), "--settle", str(timing["settle"]),
                "-t", str(threads)]
    else:
        cmd += ["-d", str(timing["duration"]), "--warmup", str(timing["warmup"]),
                "--drain", str(timing["drain"]), "--quiet", str(timing["quiet"]),
                "-t", str(threads)]
    cmd += list(extra)
    t0 = time.monotonic()
    own = None
    try:
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        if wl.get("connect_only") and broker == "kmqttd":
            # kmqttd's own state, sampled while the connections are held
            st0 = mqctl_stats()
            if st0:
                want = st0.get("live.conns", 0) + int(wl["args"][1])
                st1, _ = wait_conns(want, [p], timing["setup"])
                own = own_state(st0, st1)
        out, err = p.communicate(timeout=timing["setup"] + 300)
        rc = p.returncode
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        rc, err = -1, err + "\ntimed out"
    res = parse_json(out)
    if res is not None and own:
        res["own_state"] = own
    return dict(cmd=cmd[len(client_prefix(wl)):], rc=rc, result=res,
                stderr=err.strip()[-2000:], wall_s=round(time.monotonic() - t0, 2))


def parse_json(out):
    res = None
    for line in out.splitlines():
        if line.startswith("{"):
            try:
                res = json.loads(line)
            except ValueError:
                pass
    return res


def run_many_idle(wl, timing, threads):
    """Workload 7b: wl["many_idle"] = (addresses, n): one mqbench
    --connect-only n per destination address, all to kmqttd (its default
    listener binds the wildcard address), held until sampled.  A
    source/destination pair has ~64k ephemeral ports, and connect() gets
    slow once their even half is taken."""
    addrs, n = wl["many_idle"]
    port = BROKERS["kmqttd"][1]
    total = n * len(addrs)
    sysctl("net/ipv4/ip_local_port_range", "1024 65535")
    sysctl("fs/file-max", 4 * total)
    m0, st0 = meminfo(), mqctl_stats()
    cmds, procs = [], []
    t0 = time.monotonic()
    for i, a in enumerate(addrs):
        # keepalive 0: truly idle (no PINGREQ every 30 s during a slow
        # connect); hold until SIGINT, after the sample
        cmd = [MQBENCH, "-h", a, "-p", str(port), "--json",
               "--label", f"{wl['id']}/kmqttd/{a}", "--connect-only", str(n),
               "--parallel", "64", "-k", "0", "--settle", "0",
               "--setup-timeout", str(timing["setup"]),
               "-d", str(timing["setup"] + 60), "-t", "1"]
        cmds.append(cmd)
        procs.append(subprocess.Popen(cmd, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True))
    base = (st0 or {}).get("live.conns", 0)
    st1, connect_s = wait_conns(base + total, procs, timing["setup"])
    time.sleep(timing["settle"])
    m1, st1 = meminfo(), mqctl_stats() or st1
    held = (st1 or {}).get("live.conns", 0) - base
    own = own_state(st0, st1)
    outs, rc, err = [], 0, ""
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGINT)
        try:
            o, e = p.communicate(timeout=300)
        except subprocess.TimeoutExpired:
            p.kill()
            o, e = p.communicate()
        outs.append(parse_json(o))
        rc = rc or p.returncode
        err += e
    res = dict(connect_only=total,
               connected=sum((o or {}).get("connected", 0) for o in outs),
               failed=sum((o or {}).get("failed", 0) for o in outs),
               errors=sum((o or {}).get("errors", 0) for o in outs),
               connect_s=connect_s, held=held,
               memavailable_kb_before=m0["MemAvailable"],
               memavailable_kb_after=m1["MemAvailable"],
               mem_per_conn_bytes=(m0["MemAvailable"] - m1["MemAvailable"])
               * 1024.0 / held if held > 0 else None,
               slab_per_conn_bytes=(m1["Slab"] - m0["Slab"]) * 1024.0 / held
               if held > 0 else None,
               own_state=own, clients=outs)
    return dict(cmd=cmds, rc=rc, result=res, stderr=err.strip()[-2000:],
                wall_s=round(time.monotonic() - t0, 2))


def fmt(v):
    if v is None:
        return "-"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    if abs(v) >= 100:
        return f"{v:.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


def ratio(a, b):
    if a is None or b is None or b == 0:
        return "-"
    return f"{a / b:.2f}"


def print_table(rows, wls, info, quick):
    hdr = ("wl", "figure", "better", "kmqttd", "mosquitto", "kmq/mosq", "relay")
    lines = []
    for row in rows:
        lines.append((row["workload"], row["figure"], row["better"],
                      fmt(row["kmqttd"]), fmt(row["mosquitto"]),
                      ratio(row["kmqttd"], row["mosquitto"]), fmt(row["relay"])))
    w = [max(len(h), *(len(x[i]) for x in lines)) for i, h in enumerate(hdr)]
    print()
    print(f"kmqttd vs mosquitto {info['mosquitto_version']} -- kernel "
          f"{info['release']}, {info['cpus']} vCPUs (QEMU TCG), "
          f"{'quick' if quick else 'full'} run, per-client queue "
          f"{MAX_QUEUED} / inflight {MAX_INFLIGHT} on both brokers")
    print("better: 'higher' or 'lower' is better for the figure (latency, time,"
          " memory, loss: lower); kmq/mosq is kmqttd's figure divided by mosquitto's")
    print("  ".join(h.ljust(w[i]) if i < 3 else h.rjust(w[i]) for i, h in enumerate(hdr)))
    last = None
    for row in lines:
        if last and row[0] != last:
            print()
        last = row[0]
        print("  ".join(c.ljust(w[i]) if i < 3 else c.rjust(w[i]) for i, c in enumerate(row)))
    print()
    for wl in wls:
        print(f"  {wl['id']:3s} {wl['title']}")


LOSSY_COLS = (("sent%", "sent %"), ("deliv%", "delivered %"), ("p50 ms", "delay p50 ms"),
              ("p99 ms", "delay p99 ms"), ("B/msg", "wire B/msg"),
              ("rtx/100", "TCP retrans /100 msg"))


def print_lossy(rows, wls, timing, info, rate):
    by = {(r["workload"], r["figure"]): r for r in rows}
    t = timing["lossy"]
    print()
    print(f"lossy links -- kernel {info['release']}: 1 -> 1, 64 B, "
          f"{fmt(rate)} msg/s (scheduled send times) for {t['duration']} s "
          f"(+{t['warmup']} s warmup) per point; clients in a netns behind a "
          "veth pair, tc netem loss on both directions")
    print("sent%: published in the window / scheduled (a full inflight "
          "window holds the publisher back); "
          "deliv%: messages delivered / published; p50/p99: end-to-end delay "
          "of the published ones; "
          "B/msg: IP bytes both ends sent (headers, retransmissions, dropped "
          "segments) per delivered message; rtx/100: TCP retransmitted "
          "segments per 100 messages; kmq/mosq: kmqttd / mosquitto")
    head = ["loss%", "QoS"]
    for b in ("kmqttd", "mosquitto"):
        head += [f"{b[:4]} {c}" for c, _ in LOSSY_COLS]
    head += ["kmq/mosq p50", "p99", "B/msg"]
    lines = []
    for wl in wls:
        line = [str(wl["lossy"]), str(wl["qos"])]
        for b in ("kmqttd", "mosquitto"):
            for _, fig in LOSSY_COLS:
                row = by.get((wl["id"], fig))
                line.append(fmt(row[b]) if row else "-")
        for fig in ("delay p50 ms", "delay p99 ms", "wire B/msg"):
            row = by.get((wl["id"], fig))
            line.append(ratio(row["kmqttd"], row["mosquitto"]) if row else "-")
        lines.append(line)
    w = [max(len(h), *(len(x[i]) for x in lines)) for i, h in enumerate(head)]
    print("  ".join(h.rjust(w[i]) for i, h in enumerate(head)))
    last = None
    for line in lines:
        if last is not None and line[0] != last:
            print()
        last = line[0]
        print("  ".join(c.rjust(w[i]) for i, c in enumerate(line)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="~2 s per workload")
    ap.add_argument("--only", help="regex on workload ids, e.g. '^(1|5a)$'")
    ap.add_argument("--out", help="JSON results (build/bench/results-<kernel>.json)")
    ap.add_argument("--threads", type=int, default=2, help="mqbench threads (2)")
    ap.add_argument("--lossy", action="store_true",
                    help="add the lossy-link part (netns + veth + netem)")
    ap.add_argument("--loss", help="comma-separated loss rates in %% "
                    f"(default {','.join(map(str, LOSS_RATES))})")
    ap.add_argument("--lossy-rate", type=float, default=LOSSY_RATE,
                    help=f"lossy part: msg/s ({LOSSY_RATE})")
    args = ap.parse_args()

    if os.geteuid() != 0:
        sys.exit("bench: run me as root in a vm.sh guest")
    if not os.access(MQBENCH, os.X_OK):
        sys.exit(f"bench: {MQBENCH} not built (make -C tools/mqbench)")
    if not port_open(1883):
        sys.exit("bench: nothing listens on 1883 (kmqttd not loaded?)")
    out = args.out or os.path.join(TOP, "build/bench", f"results-{KERNEL}.json")
    os.makedirs(os.path.dirname(out), exist_ok=True)

    if args.quick:
        timing = dict(duration=2, warmup=0.5, drain=20, quiet=1, hold=2,
                      settle=1, idle=20, setup=900)
    else:
        timing = dict(duration=6, warmup=1, drain=30, quiet=2, hold=5,
                      settle=2, idle=40, setup=900)
    # Lossy links: TCP's retransmission timeout backs off to seconds at
    # 25 % loss, so wait longer for the last messages.
    timing["lossy"] = dict(duration=4 if args.quick else 15,
                           warmup=0.5 if args.quick else 1, drain=90, quiet=15)

    # Enough ports for 20,000 connections with earlier runs in TIME_WAIT;
    # every process (Mosquitto included) may open 1M files.
    sysctl("net/ipv4/ip_local_port_range", "1024 65000")
    sysctl("net/ipv4/tcp_tw_reuse", 1)
    sysctl("net/core/somaxconn", 65535)
    resource.setrlimit(resource.RLIMIT_NOFILE, (1 << 20, 1 << 20))

    params = kmqttd_params(["max_queued_messages", "max_inflight_messages",
                            "max_connections", "max_packet_size"])
    for k, v in (("max_queued_messages", MAX_QUEUED),
                 ("max_inflight_messages", MAX_INFLIGHT)):
        if params.get(k) != str(v):
            log(f"bench: WARNING: kmqttd {k} is {params.get(k)}, not {v} "
                "(run.sh passes KMQ_MODPARAMS)")
    wls = workloads(args.quick)
    net = None
    loss_rates = LOSS_RATES
    if args.loss:
        try:
            loss_rates = tuple(float(x) if "." in x else int(x)
                               for x in args.loss.split(","))
        except ValueError:
            sys.exit(f"bench: bad --loss '{args.loss}'")
    if args.lossy:
        wls += lossy_workloads(loss_rates, args.lossy_rate)
    if args.only:
        wls = [w for w in wls if re.search(args.only, w["id"])]
    if any(w.get("lossy") is not None for w in wls):
        net = LossyNet()
        try:
            net.setup()
        except (RuntimeError, OSError) as e:
            log(f"bench: lossy links unavailable: {e}")
            net.teardown()
            return 1
    tmp = tempfile.mkdtemp(prefix="kmq-bench.")
    local_etc(tmp)
    mosq = Mosquitto(tmp, BROKERS["mosquitto"][1],
                     LossyNet.BROKER_IP if net else None)
    relay = None if os.environ.get("KMQ_BENCH_NO_RELAY") == "1" else \
        Relay(tmp, BROKERS["relay"][1])
    mosq.start()
    if relay:
        relay.start()

    info = dict(kernel=KERNEL, release=os.uname().release, quick=args.quick,
                cpus=os.cpu_count(), mem_kb=meminfo().get("MemTotal"),
                timing=timing, threads=args.threads,
                kmqttd_params=params, mosquitto_version=mosq.version(),
                mosquitto_conf=open(mosq.conf).read(),
                date=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                lossy=dict(rates=list(loss_rates), msg_rate=args.lossy_rate,
                           notes=net.notes) if net else None)
    log(f"bench: {len(wls)} workloads, kernel {info['release']}, "
        f"{info['cpus']} CPUs, {info['mem_kb'] // 1024} MiB, "
        f"{'quick' if args.quick else 'full'} timing, mosquitto "
        f"{info['mosquitto_version']}, queue {MAX_QUEUED}, inflight {MAX_INFLIGHT}")

    runs, failed = [], 0
    t_start = time.monotonic()
    loss_now = 0
    try:
        for i, wl in enumerate(wls):
            order = ["kmqttd", "mosquitto"] if i % 2 == 0 else ["mosquitto", "kmqttd"]
            if wl.get("lossy") is not None and wl["lossy"] != loss_now:
                net.set_loss(wl["lossy"])
                loss_now = wl["lossy"]
            if wl.get("relay") and relay:
                order.append("relay")
            if wl.get("many_idle"):
                order = ["kmqttd"]     # Mosquitto would take many minutes
            if wl.get("connect_only"):
                # fresh Mosquitto: its RSS must not include earlier queues
                mosq.stop()
                mosq.start()
            for broker in order:
                waited = wait_idle(timing["idle"])
                if broker == "mosquitto" and not mosq.alive():
                    log("bench: mosquitto died, restarting it")
                    mosq.start()
                extra = []
                if broker == "mosquitto" and wl.get("connect_only"):
                    extra = ["--broker-pid", str(mosq.proc.pid)]
                st0 = mqctl_stats() if broker == "kmqttd" else None
                w0 = net.counters() if wl.get("lossy") is not None else None
                if wl.get("many_idle"):
                    r = run_many_idle(wl, timing, args.threads)
                else:
                    r = run_mqbench(wl, broker, timing, args.threads, extra)
                st1 = mqctl_stats() if broker == "kmqttd" else None
                if w0 and r["result"]:
                    w1 = net.counters()
                    r["result"]["wire"] = {k: w1[k] - w0[k] for k in w0}
                r.update(workload=wl["id"], title=wl["title"], broker=broker,
                         idle_wait_s=round(waited, 1))
                d0, d1 = dropped(st0), dropped(st1)
                if d0 is not None and d1 is not None:
                    r["broker_dropped"] = d1 - d0
                if broker == "mosquitto" and not mosq.alive():
                    r["broker_died"] = True
                runs.append(r)
                res = r["result"] or {}
                if r["rc"] != 0 or not r["result"]:
                    failed += 1
                summary = ", ".join(f"{lbl} {fmt(fn(res))}"
                                    for lbl, _, fn in wl["figures"]) if res else "no result"
                log(f"bench: [{wl['id']}] {broker:9s} rc={r['rc']} "
                    f"{r['wall_s']:.0f}s  {summary}"
                    + (f"  (waited {waited:.0f}s for idle CPUs)" if waited > 2 else ""))
                if r["rc"] != 0 and r["stderr"]:
                    log("    " + r["stderr"].replace("\n", "\n    "))
    finally:
        mosq.stop()
        if relay:
            relay.stop()
        if net:
            net.teardown()
        for name in ("mosquitto.log", "relay.log"):
            if os.path.exists(os.path.join(tmp, name)):
                shutil.copy(os.path.join(tmp, name), os.path.join(
                    os.path.dirname(out), f"{name[:-4]}-{KERNEL}.log"))
        for name in ("hosts.allow", "hosts.deny"):
            subprocess.run(["umount", "/etc/" + name], stderr=subprocess.DEVNULL)

    # ------------------------------------------------------------ table
    by = {(r["workload"], r["broker"]): r for r in runs}
    rows = []
    for wl in wls:
        for lbl, better, fn in wl["figures"]:
            vals = {}
            for b in ("kmqttd", "mosquitto", "relay"):
                r = by.get((wl["id"], b))
                vals[b] = fn(r["result"]) if r and r["result"] else None
            rows.append(dict(workload=wl["id"], title=wl["title"], figure=lbl,
                             better=better, **vals,
                             ratio=None if vals["kmqttd"] is None or not vals["mosquitto"]
                             else vals["kmqttd"] / vals["mosquitto"]))
    plain = [wl for wl in wls if wl.get("lossy") is None]
    lossy = [wl for wl in wls if wl.get("lossy") is not None]
    if plain:
        print_table([r for r in rows if not r["workload"].startswith("L")],
                    plain, info, args.quick)
    if lossy:
        print_lossy(rows, lossy, timing, info, args.lossy_rate)
    notes = []
    for r in runs:
        res = r["result"] or {}
        bits = []
        if r["rc"] != 0:
            bits.append(f"exit status {r['rc']}")
        if res.get("drain") == "timeout":
            bits.append("drain timed out")
        if res.get("connect_only") and res.get("connected", 0) < res["connect_only"]:
            bits.append(f"only {res.get('connected')} of {res['connect_only']} connected")
        for k in ("duplicates", "out_of_order", "bad", "errors", "protocol_errors",
                  "failed", "window_resets"):
            if res.get(k):
                bits.append(f"{k} {res[k]}")
        if res.get("lost"):
            bits.append(f"lost {res['lost']} of {res['expected']}"
                        + (f" (kmqttd counted {r['broker_dropped']} dropped)"
                           if "broker_dropped" in r else ""))
        if r.get("broker_died"):
            bits.append("BROKER DIED")
        if bits:
            notes.append(f"  {r['workload']}/{r['broker']}: " + ", ".join(bits))
    if notes:
        print("\nnotes:")
        print("\n".join(notes))
    total = time.monotonic() - t_start
    print(f"\n{len(runs)} runs in {total:.0f} s, {failed} failed; results: "
          f"{os.path.relpath(out, TOP)}")
    with open(out, "w") as f:
        json.dump(dict(info=info, table=rows, runs=runs), f, indent=1)
    shutil.rmtree(tmp, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
