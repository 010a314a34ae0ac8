"""End-to-end flows through unchanged standard clients: mosquitto_pub and
mosquitto_sub at QoS 0/1/2, persistent sessions across reconnects,
retained messages, the Will of a killed client, takeover."""

import os
import select
import signal
import subprocess
import time

import harness
from harness import test, check, check_eq, on_cleanup, wait_for
from mqttlib import (Paho, topic, cid, clear_session, clear_retained,
                     session_id)

TEST_ORDER = 25


def _args():
    return ["-h", harness.HOST, "-p", str(harness.PORT)]


def sub_proc(*args):
    """Start mosquitto_sub; returns the Popen (stdout piped)."""
    p = subprocess.Popen(["mosquitto_sub"] + _args() + list(args),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    on_cleanup(lambda: p.kill() if p.poll() is None else None)
    return p


def pub(*args):
    r = subprocess.run(["mosquitto_pub"] + _args() + list(args),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=30)
    check_eq(r.returncode, 0, "mosquitto_pub %s: %s" % (args, r.stderr))


def wait_subscribed(t, p):
    """Publish probes at QoS 0 until the mosquitto_sub shows one, then
    read the other probes that may follow (up to the "done" marker)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        pub("-t", t, "-m", "probe")
        line = _readline(p, 1.0)
        if line == b"probe":
            pub("-t", t, "-m", "done")
            while line != b"done":
                line = _readline(p, 10)
                check(line is not None, "probe marker")
            return
    raise AssertionError("mosquitto_sub never subscribed")


def _readline(p, timeout):
    """One line of p's output, or None after timeout.  Reads the pipe
    directly: select() cannot see lines already in a Python buffer."""
    buf = p.__dict__.setdefault("linebuf", bytearray())
    deadline = time.monotonic() + timeout
    while b"\n" not in buf:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([p.stdout], [], [], left)[0]:
            return None
        data = os.read(p.stdout.fileno(), 4096)
        if not data:
            return bytes(buf) if buf else None
        buf += data
    line, _, rest = bytes(buf).partition(b"\n")
    buf[:] = rest
    return line


@test(timeout=180)
def mosquitto_clients_each_qos():
    for qos in (0, 1, 2):
        t = topic("flow%d" % qos)
        p = sub_proc("-t", t, "-q", str(qos))
        wait_subscribed(t, p)
        for i in range(5):
            pub("-t", t, "-q", str(qos), "-m", "m%d" % i)
        got = [_readline(p, 10) for _ in range(5)]
        check_eq(got, [b"m%d" % i for i in range(5)],
                 "QoS %d messages, in order" % qos)


@test(timeout=120)
def mosquitto_sub_persistent_session():
    t, x = topic("pers"), session_id()
    on_cleanup(lambda: clear_session(x))
    p = sub_proc("-t", t, "-q", "1", "-c", "-i", x)
    wait_subscribed(t, p)
    p.terminate()
    p.wait(10)
    for i in range(5):
        pub("-t", t, "-q", "1", "-m", "off%d" % i)
    p = sub_proc("-t", t, "-q", "1", "-c", "-i", x, "-C", "5")
    got = [_readline(p, 10) for _ in range(5)]
    check_eq(got, [b"off%d" % i for i in range(5)],
             "messages published while away")


@test()
def mosquitto_retained():
    t = topic("ret")
    on_cleanup(lambda: clear_retained(t))
    pub("-t", t, "-q", "1", "-r", "-m", "kept")
    r = subprocess.run(["mosquitto_sub"] + _args() +
                       ["-t", t, "-C", "1", "-W", "10", "-v"],
                       stdout=subprocess.PIPE, timeout=30)
    check_eq(r.stdout.strip(), (t + " kept").encode(), "retained message")
    pub("-t", t, "-r", "-n")
    s = Paho()
    s.subscribe(t)
    s.publish(t, b"live")
    check_eq([m.payload for m in s.wait_msgs(1)], [b"live"],
             "nothing retained after the empty retained publish")


@test()
def will_of_killed_mosquitto_sub():
    t, wt = topic("w"), topic("will")
    watcher = Paho()
    watcher.subscribe(wt, qos=1)
    p = sub_proc("-t", t, "-i", cid(), "--will-topic", wt,
                 "--will-payload", "gone", "--will-qos", "1", "-k", "60")
    wait_subscribed(t, p)
    p.send_signal(signal.SIGKILL)
    p.wait(10)
    msgs = watcher.wait_until(lambda ms: any(m.payload == b"gone"
                                             for m in ms), what="the Will")
    check_eq([m.topic for m in msgs if m.payload == b"gone"], [wt],
             "Will published on its topic")


@test()
def will_not_published_after_disconnect():
    t, wt = topic("w"), topic("will")
    watcher = Paho()
    watcher.subscribe(wt, qos=1)
    r = subprocess.run(["mosquitto_pub"] + _args() +
                       ["-t", t, "-m", "x", "--will-topic", wt,
                        "--will-payload", "gone"],
                       stdout=subprocess.PIPE, timeout=30)
    check_eq(r.returncode, 0, "mosquitto_pub")
    watcher.publish(wt, b"sentinel", qos=1)
    check_eq(watcher.wait_payload(b"sentinel"), [],
             "no Will after DISCONNECT (before the sentinel)")


@test()
def takeover_by_mosquitto_sub():
    t, x = topic("take"), cid()
    first = Paho(client_id=x)
    first.subscribe(t)
    p = sub_proc("-t", t, "-i", x)
    first.wait_disconnected()
    first.close()               # no automatic reconnection
    wait_subscribed(t, p)
    pub("-t", t, "-m", "after")
    check_eq(_readline(p, 10), b"after", "the new connection is served")
