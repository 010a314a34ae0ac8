# SPDX-License-Identifier: GPL-2.0
"""kmqttd-only: network namespaces.  Each namespace has its own
listeners, sessions, topic table, retained messages, settings, counters
and events; a new one starts without a listener; deleting one with
clients and state in it frees everything.

Namespaces are made with `ip netns add` (each has its own loopback, no
veth); mqctl runs in them through `ip netns exec`, and the test's own
clients open their sockets inside them with setns(2)."""
import contextlib
import ctypes
import json
import os
import subprocess

import harness
from harness import Fail, check, check_eq, on_cleanup, test, wait_for
from mqttlib import Paho, Raw, clear_retained, stats, topic
from test_mqctl import OK, Monitor, mq, mqj, run

TEST_ORDER = 45

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def make_ns(tag):
    """A new network namespace with lo up, deleted when the test ends."""
    name = "kmq-%s-%s" % (tag, harness.RUN_ID)
    subprocess.run(["ip", "netns", "add", name], check=True, timeout=30)
    on_cleanup(lambda: subprocess.run(["ip", "netns", "del", name],
                                      stderr=subprocess.DEVNULL, timeout=30))
    subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True,
                   timeout=30)
    return name


@contextlib.contextmanager
def inside(name):
    """Sockets created in this block (by this thread) belong to netns
    name; threads started here too."""
    with open("/proc/self/ns/net") as orig, \
            open("/run/netns/%s" % name) as ns:
        if _libc.setns(ns.fileno(), CLONE_NEWNET):
            e = ctypes.get_errno()
            raise OSError(e, "setns(%s): %s" % (name, os.strerror(e)))
        try:
            yield
        finally:
            if _libc.setns(orig.fileno(), CLONE_NEWNET):
                raise OSError(ctypes.get_errno(), "setns back")


def listen(ns):
    lst = mqj("listener", "add", "127.0.0.1:%d" % harness.PORT, netns=ns)
    check_eq((lst["address"], lst["port"], lst["conns"]),
             ("127.0.0.1", harness.PORT, 0), "listener in %s" % ns)
    return lst


def client_ids(ns=None):
    return {c["client_id"] for c in mqj("client", "list", netns=ns)}


@test(kmqttd_only=True)
def new_netns_has_no_listener():
    ns = make_ns("c")
    check_eq(mqj("listener", "list", netns=ns), [], "listeners")
    check_eq(mqj("client", "list", netns=ns), [], "clients")
    check_eq(mqj("sub", "list", netns=ns), [], "subscriptions")
    s = mqj("stats", netns=ns)
    check_eq((s["conns_current"], s["conns_total"], s["msgs_in"]), (0, 0, 0),
             "stats of a new namespace")
    with inside(ns):
        try:
            Raw()
            raise Fail("a new namespace accepted a connection on %d"
                       % harness.PORT)
        except ConnectionRefusedError:
            pass
    # settings are per namespace too
    init = mqj("get")
    mq("set", "max_queued", init["max_queued"] + 4242, netns=ns)
    check_eq(mqj("get", netns=ns)["max_queued"], init["max_queued"] + 4242,
             "max_queued in the namespace")
    check_eq(mqj("get"), init, "settings of the initial namespace")
    # and so are listeners: the same address in two namespaces
    lst = listen(ns)
    check_eq([x["id"] for x in mqj("listener", "list", netns=ns)],
             [lst["id"]], "listeners after add")
    with inside(ns):
        r = Raw()
    r.connect()
    r.ping()
    r.disconnect()


@test(kmqttd_only=True, timeout=120)
def isolation_between_namespaces():
    a, b = make_ns("a"), make_ns("b")
    listen(a)
    listen(b)
    t, tr = topic("iso"), topic("isoret")
    on_cleanup(lambda: clear_retained(tr))

    mon = Monitor(netns=b)
    with inside(b):
        mon.sync()
    with inside(a):
        sub_a, pub_a = Paho(), Paho()
    with inside(b):
        sub_b, pub_b = Paho(), Paho()
    sub_i, pub_i = Paho(), Paho()
    for s in (sub_a, sub_b, sub_i):
        s.subscribe(t, 1)

    pub_a.publish(t, b"from A", qos=1)
    pub_a.publish(tr, b"retained in A", qos=1, retain=True)
    check_eq([m.payload for m in sub_a.wait_msgs(1)], [b"from A"],
             "delivery in A")
    pub_b.publish(t, b"sentinel B", qos=1)
    pub_i.publish(t, b"sentinel init", qos=1)
    check_eq([m.payload for m in sub_b.wait_payload(b"sentinel B")], [],
             "messages in B before its sentinel")
    check_eq([m.payload for m in sub_i.wait_payload(b"sentinel init")], [],
             "messages in the initial namespace before its sentinel")

    ids_a = {sub_a.client_id, pub_a.client_id}
    ids_b = {sub_b.client_id, pub_b.client_id}
    check_eq(client_ids(a), ids_a, "client list in A")
    check_eq(client_ids(b), ids_b, "client list in B")
    check(not (client_ids() & (ids_a | ids_b)),
          "clients of A or B in the initial namespace")
    check_eq({(x["client_id"], x["filter"]) for x in
              mqj("sub", "list", netns=a)}, {(sub_a.client_id, t)},
             "sub list in A")
    check_eq([x["topic"] for x in mqj("retain", "list", tr, netns=a)], [tr],
             "retained message in A")
    check_eq(mqj("retain", "list", tr, netns=b), [], "retained in B")
    check_eq(mqj("retain", "list", tr), [], "retained in init")
    # $SYS is per namespace too
    check(any(x["topic"] == "$SYS/broker/version"
              for x in mqj("retain", "list", "$SYS/#", netns=a)),
          "$SYS/broker/version in A")

    sa, sb = mqj("stats", netns=a), mqj("stats", netns=b)
    check_eq((sa["conns_current"], sa["msgs_in"], sa["retained_current"] > 0),
             (2, 2, True), "stats of A (conns, msgs_in, retained)")
    check_eq((sb["conns_current"], sb["msgs_in"]), (2, 1),
             "stats of B (conns, msgs_in)")
    check_eq([x["conns"] for x in mqj("listener", "list", netns=a)], [2],
             "connections of A's listener")

    # events stay in their namespace
    mon.wait(lambda e: e.get("client_id") == sub_b.client_id, "B's client")
    check_eq([e for e in mon.events if e.get("client_id") in ids_a], [],
             "A's events seen by a monitor in B")

    # kicking in A does not reach B, even for the same client id
    mq("client", "kick", sub_b.client_id, netns=a, rc=5)
    mq("client", "kick", sub_a.client_id, netns=a)
    sub_a.wait_disconnected()
    check(sub_b.client_id in client_ids(b), "B's client after a kick in A")
    check_eq(mon.stop(), OK, "monitor exit status")


def live():
    s = stats()
    return {"conns": s["live"]["conns"], "sessions": s["live"]["sessions"],
            "subs": s["live"]["subs"],
            "msgs": s["live"]["msgs"] - s["retained_current"]}


@test(kmqttd_only=True, timeout=120)
def delete_netns_with_clients():
    """`ip netns del` while clients are connected, a persistent session,
    retained messages and a listener exist: the namespace goes away when
    its last socket closes, and every kmqttd object of it is freed."""
    # Tests run alone: once earlier namespaces are gone (their cleanup
    # is asynchronous) nothing is left but the initial one's retained.
    base = {"conns": 0, "sessions": 0, "subs": 0, "msgs": 0}
    wait_for(lambda: live() == base, 60, "objects of earlier namespaces "
             "freed (%r)" % live(), 0.2)
    d = make_ns("d")
    listen(d)
    t = topic("del")
    # Raw clients only: paho's internal socket pair would pin the netns
    with inside(d):
        clients = [Raw() for _ in range(3)]
        p = Raw()
    for c in clients:
        c.connect()
        c.subscribe([t])
    p.connect(harness.cid(), clean=False)
    p.subscribe([(t, 1)])
    p.pub(t + "/r", b"retained", qos=1, retain=True)
    p.disconnect()              # persistent session stays, offline
    proc = subprocess.Popen(["ip", "netns", "exec", d, "mosquitto_sub",
                             "-h", "127.0.0.1", "-p", str(harness.PORT),
                             "-t", t, "-q", "1", "-i", harness.cid()],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    on_cleanup(lambda: proc.poll() is None and proc.kill())
    wait_for(lambda: len(mqj("client", "list", netns=d)) == 5, 10,
             "5 sessions in the namespace")
    clients[0].publish(t, b"to all")
    for c in clients:
        check_eq([m.payload for m in c.collect(n=1)], [b"to all"], "delivery")

    subprocess.run(["ip", "netns", "del", d], check=True, timeout=30)
    # still alive while our sockets hold it
    clients[1].ping()
    proc.kill()
    proc.wait()
    for c in clients:
        c.close()

    def freed():
        now = live()
        return now if now == base else None
    try:
        wait_for(freed, 60, "live objects back to %r" % base, 0.2)
    except Fail:
        raise Fail("live objects %r, before the namespace %r"
                   % (live(), base))
    # the initial namespace still works
    r = Raw()
    r.connect()
    r.ping()
    r.disconnect()
    code, out, err = run("listener", "list", "-j")
    check_eq(code, OK, "listener list after the namespace went")
    check(any(x["port"] == harness.PORT for x in json.loads(out)),
          "default listener still there")
