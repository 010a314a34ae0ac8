# SPDX-License-Identifier: GPL-2.0
"""Tiny TAP test harness for the kmqttd guest selftests.

Tests are plain functions registered with @test.  Each one runs in a
forked child (own process group) with a timeout, so a hang or a crash
fails only that test and every socket it opened is closed when it ends.
Tests run one at a time, sorted by (order, the file's TEST_ORDER
(default 50), file name, definition order), so a test
may assume it is the only client of the broker (stats exactness relies
on that).

    from harness import test, check, check_eq, skip, diag, wait_for

    @test()                                  # name: <file>.<function>
    def exact_filter(): ...

    @test("MQTT-3.1.0-1 first packet must be CONNECT")   # free-form name
    def first_packet(): ...

    @test(kmqttd_only=True, order=99, timeout=120)
    def reload(): ...

A test passes by returning, fails by raising (check*() raise Fail), and
skips by calling skip(reason).  kmqttd_only tests are reported as SKIP
unless KMQ_BROKER=kmqttd.

Known deviations of another broker: a test file may define
<BROKER>_DEVIATIONS = {"MQTT-x.y.z-n": "reason"} (e.g. MOSQUITTO_...),
keyed by the first word of the test name.  With KMQ_BROKER=<broker> such
a test is a TAP TODO ("not ok ... # TODO <broker> deviates: reason", or
"ok ... # TODO" if it unexpectedly passes), counted as neither passed nor
failed.  Tests named "MQTT-..." are also summed in a "# conformance:"
line.
"""
import importlib
import json
import os
import select
import signal
import socket
import sys
import time
import traceback

HOST = os.environ.get("KMQ_HOST", "127.0.0.1")
PORT = int(os.environ.get("KMQ_PORT", "1883"))
BROKER = os.environ.get("KMQ_BROKER", "")
IS_KMQTTD = BROKER == "kmqttd"
HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.environ.get("KMQ_TOP") or os.path.dirname(os.path.dirname(HERE))
DEFAULT_TIMEOUT = float(os.environ.get("KMQ_TEST_TIMEOUT", "60"))
# The kernel under test: KMQ_KERNEL from vm.sh (6.1, 6.12, debug); the
# sanitizer kernel runs the module several times slower.
KERNEL = os.environ.get("KMQ_KERNEL", "")
DEBUG_KERNEL = os.uname().release.endswith("kmqdebug")
RUN_ID = os.urandom(4).hex()

TESTS = []
_diag = []
_cleanups = []
_counter = [0]
_test_no = [0]


class Fail(AssertionError):
    pass


class Skip(Exception):
    pass


class Test:
    def __init__(self, fn, name, kmqttd_only, timeout, order):
        self.fn = fn
        self.name = name
        self.kmqttd_only = kmqttd_only
        self.timeout = timeout
        self.order = order
        self.seq = len(TESTS)
        self.todo = None


def test(name=None, kmqttd_only=False, timeout=None, order=50):
    """Register a test.  order: 50 normal, 90 end-of-run checks,
    99 disruptive (module reload)."""
    def deco(fn):
        mod = fn.__module__.rsplit(".", 1)[-1]
        if mod.startswith("test_"):
            mod = mod[5:]
        TESTS.append(Test(fn, name or "%s.%s" % (mod, fn.__name__),
                          kmqttd_only, timeout or DEFAULT_TIMEOUT, order))
        return fn
    return deco


def skip(reason):
    raise Skip(reason)


def diag(msg):
    """Add a diagnostic line, printed if the test fails."""
    for line in str(msg).splitlines() or [""]:
        _diag.append(line)


def progress(msg):
    """Print a diagnostic line now (stderr), for long tests: a test killed
    by its timeout loses its diag() lines."""
    sys.stderr.write("#   [test %d] %s\n" % (_test_no[0], msg))
    sys.stderr.flush()
    diag(msg)


def check(cond, msg="check failed"):
    if not cond:
        raise Fail(msg)


def check_eq(got, want, what="value"):
    if got != want:
        raise Fail("%s: got %s, want %s" % (what, _short(got), _short(want)))


def _short(v, n=300):
    s = repr(v)
    return s if len(s) <= n else s[:n] + "...(%d chars)" % len(s)


def wait_for(pred, timeout=10.0, what="condition", interval=0.01):
    """Poll pred() until it returns a truthy value (returned) or fail."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() >= deadline:
            raise Fail("timed out after %.1fs waiting for %s"
                       % (timeout, what))
        time.sleep(interval)


def uid(tag="c"):
    """A topic level unique to this run and call (see cid() for ids)."""
    _counter[0] += 1
    return "kmqt-%s-%d-%s-%d" % (RUN_ID, _test_no[0], tag, _counter[0])


def cid():
    """A client id unique to this run and call: at most 23 characters
    of 0-9a-zA-Z, which every 3.1.1 server must accept."""
    _counter[0] += 1
    return ("k%st%dc%d" % (RUN_ID, _test_no[0], _counter[0]))[-23:]


def on_cleanup(fn):
    """Run fn() when the current test ends (LIFO), even on failure."""
    _cleanups.append(fn)


def port_open(host=None, port=None, timeout=1.0):
    try:
        socket.create_connection((host or HOST, port or PORT),
                                 timeout=timeout).close()
        return True
    except OSError:
        return False


def wait_port(timeout=20.0, host=None, port=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_open(host, port):
            return True
        time.sleep(0.1)
    return False


# ---------------------------------------------------------------- runner

def _run_child(t, wfd):
    res = {"status": "pass", "reason": ""}
    try:
        t.fn()
    except Skip as e:
        res = {"status": "skip", "reason": str(e)}
    except Fail as e:
        res = {"status": "fail", "reason": str(e)}
    except BaseException as e:  # noqa: B902 - report everything
        res = {"status": "fail", "reason": "%s: %s" % (type(e).__name__, e)}
        diag(traceback.format_exc().rstrip())
    while _cleanups:
        try:
            _cleanups.pop()()
        except BaseException:  # noqa: B902
            pass
    res["diag"] = _diag
    data = json.dumps(res).encode()
    while data:
        n = os.write(wfd, data)
        data = data[n:]


def _run_one(t, n=0):
    sys.stdout.flush()
    sys.stderr.flush()
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        _test_no[0] = n
        try:
            os.setpgid(0, 0)
            _run_child(t, w)
        finally:
            os._exit(0)
    os.close(w)
    buf = b""
    deadline = time.monotonic() + t.timeout
    timed_out = False
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            timed_out = True
            break
        rl, _, _ = select.select([r], [], [], left)
        if rl:
            chunk = os.read(r, 65536)
            if not chunk:
                break
            buf += chunk
    os.close(r)
    if timed_out:
        for target in (-pid, pid):
            try:
                os.kill(target, signal.SIGKILL)
            except OSError:
                pass
    _, status = os.waitpid(pid, 0)
    if timed_out:
        return {"status": "fail", "diag": [],
                "reason": "timed out after %.0fs" % t.timeout}
    try:
        return json.loads(buf.decode())
    except ValueError:
        return {"status": "fail", "diag": [],
                "reason": "test process died (wait status %d)" % status}


_unknown_deviations = []


def load_tests(directory=HERE):
    sys.path.insert(0, directory)
    for i, f in enumerate(sorted(os.listdir(directory))):
        if f.startswith("test_") and f.endswith(".py"):
            mod = importlib.import_module(f[:-3])
            devs = dict(getattr(mod, BROKER.upper() + "_DEVIATIONS", {})
                        if BROKER else {})
            for t in TESTS:
                if t.fn.__module__ != mod.__name__:
                    continue
                t.file_key = (getattr(mod, "TEST_ORDER", 50), i)
                key = t.name.split()[0]
                if key in devs:
                    t.todo = "%s deviates: %s" % (BROKER, devs.pop(key))
            _unknown_deviations.extend("%s:%s" % (f, k) for k in devs)
    return sorted(TESTS, key=lambda t: (t.order, t.file_key, t.seq))


def main(argv):
    import re
    listing = verbose = False
    pats = []
    for a in argv:
        if a in ("-l", "--list"):
            listing = True
        elif a in ("-v", "--verbose"):
            verbose = True
        elif a in ("-h", "--help"):
            print("usage: run.sh [-l] [-v] [REGEX...]  (env: KMQ_HOST KMQ_PORT"
                  " KMQ_BROKER KMQ_TOP KMQ_TEST_TIMEOUT)")
            return 0
        else:
            pats.append(re.compile(a))
    tests = [t for t in load_tests()
             if not pats or any(p.search(t.name) for p in pats)]
    if listing:
        for t in tests:
            print(t.name + ("  [kmqttd]" if t.kmqttd_only else ""))
        return 0

    passed = failed = skipped = todo = 0
    conf = {"pass": 0, "fail": 0, "skip": 0, "todo": 0}
    conf_rules = set()
    durations = []
    t_start = time.monotonic()
    if not wait_port(20.0):
        print("1..1")
        print("not ok 1 - broker listening on %s:%d" % (HOST, PORT))
        print("# no connection accepted within 20s")
        print("# guest: 0 passed, 1 failed, 0 skipped")
        return 1
    print("1..%d" % len(tests))
    print("# broker %s at %s:%d, run %s" % (BROKER or "generic", HOST, PORT,
                                           RUN_ID))
    for k in _unknown_deviations:
        print("# deviation entry matches no test: %s" % k)
    for n, t in enumerate(tests, 1):
        if t.kmqttd_only and not IS_KMQTTD:
            res = {"status": "skip", "diag": [],
                   "reason": "kmqttd-only (KMQ_BROKER=%s)" % (BROKER or "")}
        else:
            t0 = time.monotonic()
            res = _run_one(t, n)
            durations.append((time.monotonic() - t0, t.name))
            if verbose:
                res["diag"].append("%.2fs" % durations[-1][0])
        st = res["status"]
        if t.todo and st != "skip":
            todo += 1
            if st == "pass":
                print("ok %d - %s # TODO %s" % (n, t.name, t.todo))
                print("# passed although listed as a deviation")
            else:
                print("not ok %d - %s # TODO %s" % (n, t.name, t.todo))
                print("# %s" % res["reason"])
            st = "todo"
        elif st == "pass":
            passed += 1
            print("ok %d - %s" % (n, t.name))
        elif st == "skip":
            skipped += 1
            print("ok %d - %s # SKIP %s" % (n, t.name, res["reason"]))
        else:
            failed += 1
            print("not ok %d - %s" % (n, t.name))
            print("# %s" % res["reason"])
        if t.name.startswith("MQTT-"):
            conf[st] += 1
            conf_rules.add(re.sub(r"[a-z]$", "", t.name.split()[0]))
        if st == "fail" or verbose:
            for line in res["diag"]:
                print("#   %s" % line)
        sys.stdout.flush()
    print("# time: %.1fs" % (time.monotonic() - t_start))
    durations.sort(reverse=True)
    print("# slowest: %s" % ", ".join("%s %.1fs" % (name, d)
                                      for d, name in durations[:12]))
    nconf = sum(conf.values())
    if nconf:
        print("# conformance: %d distinct statement ids (MQTT-x.y.z-n)"
              % len(conf_rules))
        print("# conformance: %d passed, %d failed, %d todo of %d rules%s"
              % (conf["pass"], conf["fail"], conf["todo"], nconf,
                 ", %d skipped" % conf["skip"] if conf["skip"] else ""))
    print("# guest: %d passed, %d failed, %d skipped%s"
          % (passed, failed, skipped, ", %d todo" % todo if todo else ""))
    return 1 if failed else 0
