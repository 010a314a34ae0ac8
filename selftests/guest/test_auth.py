# SPDX-License-Identifier: GPL-2.0
"""kmqttd-only: who may connect, and to what.  Users and passwords
(PBKDF2 and Mosquitto's hashes, mosquitto_passwd files), anonymous
access per namespace and per listener, ACL rules on publish, subscribe,
delivery, retained messages, Wills and $SYS, refusal counters, and
mqctl's user/acl commands as root and as nobody.

Every test starts without users or rules and leaves none behind, so the
rest of the suite keeps connecting anonymously."""
import base64
import hashlib
import json
import os
import random
import socket
import subprocess
import time

import harness
from harness import Fail, check, check_eq, diag, on_cleanup, test, wait_for
from mqttlib import CONNACK, Paho, Raw, connect_pkt, mqctl_path, stats, topic

TEST_ORDER = 45

OK, ERROR, USAGE, NOT_LOADED, PERM, NOT_FOUND, EXISTS = range(7)
NOBODY = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]
REFUSED = 0x80


def run(*args, user=None, stdin=None):
    cmd = [mqctl_path()] + [str(a) for a in args]
    if user:
        cmd = NOBODY + cmd
    p = subprocess.run(cmd, input=stdin.encode() if stdin is not None
                       else None, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=60)
    return (p.returncode, p.stdout.decode(errors="replace"),
            p.stderr.decode(errors="replace"))


def mq(*args, rc=OK, err=None, **kw):
    code, out, e = run(*args, **kw)
    if code != rc or (err is not None and err not in e):
        diag("stdout: %s" % out[-2000:])
        diag("stderr: %s" % e[-2000:])
        raise Fail("mqctl %s: exit %d, want %d%s" % (
            " ".join(map(str, args)), code, rc,
            "" if err is None else " with %r on stderr" % err))
    return out


def mqj(*args, **kw):
    return json.loads(mq("-j", *args, **kw))


def fresh(**settings):
    """No users, no rules; restore everything when the test ends."""
    check_eq(mqj("user", "list"), [], "no users left by earlier tests")
    check_eq(mqj("acl", "list"), [], "no ACL rules left by earlier tests")
    old = mqj("get")
    on_cleanup(lambda: run("set", "allow_anonymous", old["allow_anonymous"],
                           "password_iterations",
                           old["password_iterations"]))
    on_cleanup(lambda: run("user", "clear"))
    on_cleanup(lambda: run("acl", "clear"))
    if settings:
        args = []
        for k, v in settings.items():
            args += [k, v]
        mq("set", *args)


def add_user(name, password, *extra):
    mq("user", "add", name, "--stdin", *extra, stdin=password + "\n")


def acl(*rule):
    mq("acl", "add", *rule)


def refusals():
    return stats()["refusals"]


def refusal_deltas(before):
    after = refusals()
    return {k: after[k] - before.get(k, 0) for k in after
            if after[k] != before.get(k, 0)}


def connack(user=None, password=None, port=None, client_id=None, **kw):
    """CONNECT on a raw socket; the CONNACK return code."""
    r = Raw(port=port)
    r.send(connect_pkt(client_id or harness.cid(), user=user,
                       password=password, **kw))
    p = r.expect(CONNACK)
    rc = p.body[1]
    if rc:
        r.wait_closed()
    else:
        r.disconnect()
    return rc


def login(user=None, password=None, client_id=None, port=None, **kw):
    """A raw client, connected (CONNACK 0 checked)."""
    r = Raw(port=port)
    r.connect(client_id or harness.cid(), user=user, password=password, **kw)
    return r


def free_port():
    busy = {x["port"] for x in mqj("listener", "list")}
    for _ in range(100):
        port = random.randrange(20000, 30000)
        if port in busy:
            continue
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)):
                return port
    raise Fail("no free port")


def sync(r):
    """Everything routed before a PINGRESP reached r's queue (one worker
    per connection, in order)."""
    r.ping()


# ------------------------------------------------------------ anonymous

@test(kmqttd_only=True)
def anonymous_auto_default():
    """Default auto: anonymous clients are welcome until the first user or
    ACL rule exists, and again once they are gone."""
    fresh()
    check_eq(mqj("get", "allow_anonymous"), {"allow_anonymous": "auto"},
             "default allow_anonymous")
    check_eq(connack(), 0, "anonymous, no users")
    add_user("ann", "pw-ann")
    before = refusals()
    check_eq(connack(), 5, "anonymous with a user defined")
    check_eq(connack(user="nosuch", password="x"), 4,
             "unknown user name with users defined")
    check_eq(refusal_deltas(before), {"not_authorized": 1, "unknown_user": 1},
             "refusal counters")
    mq("user", "del", "ann")
    check_eq(connack(), 0, "anonymous after the last user is gone")
    acl("topic", "read", "x/#")
    check_eq(connack(), 5, "anonymous with an ACL rule defined")
    mq("acl", "clear")
    check_eq(connack(), 0, "anonymous after acl clear")
    # without users a user name is not verified: accepted, as anonymous
    check_eq(connack(user="someone", password="whatever"), 0,
             "unverified user name without users")


@test(kmqttd_only=True)
def anonymous_explicit_setting():
    """allow_anonymous no refuses anonymous clients even without users;
    yes admits them while users exist."""
    fresh(allow_anonymous="no")
    before = refusals()
    check_eq(connack(), 5, "anonymous, allow_anonymous no")
    check_eq(connack(user="claimed"), 5,
             "unverified user name, allow_anonymous no")
    check_eq(refusal_deltas(before), {"not_authorized": 2}, "counted")
    add_user("ann", "pw-ann")
    mq("set", "allow_anonymous", "yes")
    check_eq(connack(), 0, "anonymous, allow_anonymous yes, users exist")
    check_eq(connack(user="ann", password="pw-ann"), 0, "user still fine")
    check_eq(connack(user="claimed", password="x"), 4,
             "unknown user name is not anonymous while users exist")


@test(kmqttd_only=True)
def anonymous_per_listener():
    """A listener's anonymous on|off overrides the namespace setting."""
    fresh()
    p_off, p_on = free_port(), free_port()
    while p_on == p_off:
        p_on = free_port()
    l_off = mqj("listener", "add", "127.0.0.1:%d" % p_off, "anonymous",
                "off")
    on_cleanup(lambda: run("listener", "del", "id", l_off["id"]))
    l_on = mqj("listener", "add", "127.0.0.1:%d" % p_on, "anonymous", "on")
    on_cleanup(lambda: run("listener", "del", "id", l_on["id"]))
    check_eq((l_off["anonymous"], l_on["anonymous"]), ("off", "on"),
             "listener add reply")
    lst = {x["id"]: x for x in mqj("listener", "list")}
    check_eq((lst[l_off["id"]]["anonymous"], lst[l_on["id"]]["anonymous"]),
             ("off", "on"), "listener list")
    check(all(x["anonymous"] is None for i, x in lst.items()
              if i not in (l_off["id"], l_on["id"])),
          "default listeners follow the setting")
    out = mq("listener", "list")
    check("anonymous off" in out and "anonymous on" in out, "text list")

    check_eq(connack(), 0, "default listener, auto, no users")
    check_eq(connack(port=p_off), 5, "anonymous off listener")
    check_eq(connack(port=p_on), 0, "anonymous on listener")
    add_user("ann", "pw-ann")
    check_eq(connack(), 5, "default listener, auto, a user exists")
    check_eq(connack(port=p_on), 0, "anonymous on listener, a user exists")
    check_eq(connack(port=p_off, user="ann", password="pw-ann"), 0,
             "a user on the anonymous-off listener")
    mq("set", "allow_anonymous", "yes")
    check_eq(connack(port=p_off), 5, "listener off beats allow_anonymous yes")


# ------------------------------------------------------------ passwords

@test(kmqttd_only=True)
def password_login():
    """Right password, wrong one, none, unknown user; with paho,
    mosquitto_pub and raw CONNECT; each refusal counted by reason."""
    fresh()
    add_user("alice", "correct horse")
    users = mqj("user", "list")
    check_eq([(u["name"], u["algo"], u["iterations"]) for u in users],
             [("alice", "pbkdf2-sha512", 1000)], "user list")
    check("correct horse" not in json.dumps(users), "no password listed")

    c = Paho(connect=False)
    c.c.username_pw_set("alice", "correct horse")
    c.connect()
    t = topic("auth")
    c.subscribe(t)
    c.publish(t, b"hi")
    check_eq([m.payload for m in c.wait_msgs(1)], [b"hi"], "paho exchange")
    c.disconnect()

    p = subprocess.run(["mosquitto_pub", "-h", harness.HOST, "-p",
                        str(harness.PORT), "-u", "alice", "-P",
                        "correct horse", "-t", t, "-m", "x"],
                       stderr=subprocess.PIPE, timeout=30)
    check_eq(p.returncode, 0, "mosquitto_pub with the password")
    p = subprocess.run(["mosquitto_pub", "-h", harness.HOST, "-p",
                        str(harness.PORT), "-u", "alice", "-P", "wrong",
                        "-t", t, "-m", "x"],
                       stderr=subprocess.PIPE, timeout=30)
    check(p.returncode != 0 and b"bad user name or password" in p.stderr,
          "mosquitto_pub with a wrong password: %r" % p.stderr)

    before = refusals()
    check_eq(connack("alice", "correct horsE"), 4, "wrong password")
    check_eq(connack("alice", ""), 4, "empty password")
    check_eq(connack("alice"), 4, "no password")
    check_eq(connack("Alice", "correct horse"), 4, "names are case-sensitive")
    check_eq(connack("bob", "correct horse"), 4, "unknown user")
    check_eq(connack("alice", "correct horse"), 0, "right password")
    check_eq(refusal_deltas(before), {"bad_password": 3, "unknown_user": 2},
             "refusals by reason")

    # a new password replaces the old one
    add_user("alice", "battery staple")
    check_eq(connack("alice", "correct horse"), 4, "old password")
    check_eq(connack("alice", "battery staple"), 0, "new password")
    mq("user", "del", "alice")
    mq("user", "del", "alice", rc=NOT_FOUND, err="not found")
    check_eq(mqj("user", "list"), [], "deleted")


@test(kmqttd_only=True)
def password_hash_is_pbkdf2():
    """The kernel's hash is standard PBKDF2-HMAC-SHA512 (checked with
    Python's hashlib), with the iterations asked for or the setting."""
    fresh()
    add_user("it5000", "s3cret", "--iterations", "5000")
    mq("set", "password_iterations", 2000)
    add_user("it2000", "other")
    users = {u["name"]: u for u in mqj("user", "list")}
    for name, pw, it in (("it5000", "s3cret", 5000),
                         ("it2000", "other", 2000)):
        h = users[name]["hash"]
        f = h.split("$")
        check_eq((f[1], f[2]), ("7", str(it)), "%s: $7$ and iterations" % name)
        salt = base64.b64decode(f[3])
        check_eq(len(salt), 16, "%s: 16-byte salt" % name)
        want = hashlib.pbkdf2_hmac("sha512", pw.encode(), salt, it)
        check_eq(base64.b64decode(f[4]), want, "%s: PBKDF2 value" % name)
        check_eq(connack(name, pw), 0, "%s logs in" % name)
    check(users["it5000"]["hash"].split("$")[3] !=
          users["it2000"]["hash"].split("$")[3], "salts differ")
    mq("set", "password_iterations", 0, rc=ERROR)
    mq("set", "password_iterations", 1000001, rc=ERROR)


@test(kmqttd_only=True)
def mosquitto_password_file():
    """mosquitto_passwd files (PBKDF2 and the older salted SHA-512)
    import as they are and their passwords work."""
    fresh()
    d = "/tmp/kmq-auth-%s" % harness.RUN_ID
    os.makedirs(d, exist_ok=True)
    pwfile = os.path.join(d, "passwd")
    subprocess.run(["mosquitto_passwd", "-c", "-b", pwfile, "m7", "pw seven"],
                   check=True, timeout=30)
    subprocess.run(["mosquitto_passwd", "-H", "sha512", "-b", pwfile, "m6",
                    "pw-six"], check=True, timeout=30)
    lines = {ln.split(":", 1)[0]: ln.split(":", 1)[1]
             for ln in open(pwfile).read().split("\n") if ln}
    check(lines["m7"].startswith("$7$101$") and
          lines["m6"].startswith("$6$"), "mosquitto_passwd wrote %r" % lines)
    with open(pwfile, "a") as f:
        f.write("# a comment\n\n")
    out = mq("user", "import", pwfile)
    check("imported 2 users" in out, "import summary: %r" % out)
    users = {u["name"]: u for u in mqj("user", "list")}
    check_eq((users["m7"]["algo"], users["m7"]["iterations"]),
             ("pbkdf2-sha512", 101), "m7 kept its hash")
    check_eq(users["m6"]["algo"], "sha512", "m6 kept its hash")
    check_eq(users["m7"]["hash"], lines["m7"], "hash listed as imported")
    check_eq(users["m6"]["hash"], lines["m6"], "$6$ hash listed as imported")
    check_eq(connack("m7", "pw seven"), 0, "$7$ user logs in")
    check_eq(connack("m6", "pw-six"), 0, "$6$ user logs in")
    check_eq(connack("m7", "pw-six"), 4, "$7$ user, wrong password")
    check_eq(connack("m6", "pw seven"), 4, "$6$ user, wrong password")

    bad = os.path.join(d, "bad")
    h = lines["m7"].split("$")
    with open(bad, "w") as f:
        f.write("x:$7$1000001$%s$%s\n" % (h[3], h[4]))   # too many rounds
        f.write("y:$7$101$%s$%s\n" % (h[3], h[4][:-8]))  # short hash
        f.write("z:plaintext\n")
        f.write("ok:%s\n" % lines["m6"])
    code, out, err = run("user", "import", bad)
    check_eq(code, ERROR, "import with bad lines: exit status")
    check("bad:1: user 'x'" in err and "bad:2: user 'y'" in err and
          "bad:3: not NAME:$7$" in err, "errors by line: %r" % err)
    check("imported 1 user" in out, "the good line imported: %r" % out)
    check_eq(sorted(u["name"] for u in mqj("user", "list")),
             ["m6", "m7", "ok"], "users after the bad import")


# ------------------------------------------------------------ ACL

def sub_codes(r, filters):
    return r.subscribe([(f, 1) for f in filters])


@test(kmqttd_only=True)
def acl_subscribe_and_publish():
    """Topic rules with + and #: SUBACK 0x80 where no readable topic can
    match, publishes without write access acknowledged but dropped."""
    fresh()
    for u in ("alice", "bob"):
        add_user(u, "pw-" + u)
    acl("user", "alice", "topic", "read", "a/#")
    acl("user", "alice", "topic", "write", "w/+/x")
    acl("user", "bob", "topic", "readwrite", "#")
    before = refusals()
    alice = login("alice", "pw-alice")
    check_eq(sub_codes(alice, ["a/#", "b/#", "#", "a/+/c", "w/1/x", "+/1"]),
             [1, REFUSED, 1, 1, REFUSED, 1], "alice's SUBACK")
    check_eq(refusal_deltas(before), {"acl_subscribe": 2}, "acl_subscribe")

    bob = login("bob", "pw-bob")
    check_eq(sub_codes(bob, ["#"]), [1], "bob subscribes #")
    before = refusals()
    # QoS 0, 1 and 2 without write access: acknowledged, not delivered
    alice.publish("a/zero", b"q0", qos=0)
    alice.pub("a/one", b"q1", qos=1)
    alice.pub("a/two", b"q2", qos=2, retain=True)
    alice.pub("w/1/x", b"allowed", qos=1)
    alice.pub("w/1/y", b"not-w", qos=1)
    got = bob.collect(until=b"allowed")
    check_eq([p.payload for p in got], [], "denied publishes delivered")
    # alice may write w/1/x but not read it: her '#' does not get it
    check_eq(refusal_deltas(before), {"acl_publish": 4, "acl_delivery": 1},
             "acl_publish, acl_delivery")
    check_eq(mqj("retain", "list", "a/#"), [], "denied retained not stored")
    login("bob", "pw-bob").pub("a/1", b"to-alice", qos=1)
    check_eq(alice.collect(n=1)[0].payload, b"to-alice", "alice reads a/1")


@test(kmqttd_only=True)
def acl_delivery_filter():
    """A subscription to '#' never leaks a topic the subscriber may not
    read, nor one a deny rule covers; each drop is counted."""
    fresh()
    add_user("reader", "r")
    add_user("writer", "w")
    acl("user", "reader", "topic", "read", "pub/#")
    acl("user", "reader", "topic", "read", "team/#")
    acl("user", "reader", "topic", "deny", "team/secret")
    acl("user", "writer", "topic", "write", "#")
    rd = login("reader", "r")
    check_eq(sub_codes(rd, ["#"]), [1], "reader subscribes #")
    check_eq(sub_codes(rd, ["team/secret"]), [REFUSED],
             "deny rule refuses the exact filter")
    wr = login("writer", "w")
    before = refusals()
    for t in ("pub/1", "priv/1", "team/a", "team/secret", "pub/2"):
        wr.pub(t, t.encode(), qos=1)
    wr.pub("pub/end", b"end", qos=1)
    got = rd.collect(until=b"end")
    check_eq([p.topic for p in got], ["pub/1", "team/a", "pub/2"],
             "delivered to the # subscriber")
    check_eq(refusal_deltas(before), {"acl_delivery": 2}, "acl_delivery")


@test(kmqttd_only=True)
def acl_patterns():
    """pattern rules with %u and %c apply to every client; topic rules
    without a user apply to anonymous clients."""
    fresh(allow_anonymous="yes")
    add_user("carol", "c")
    acl("pattern", "readwrite", "dev/%u/#")
    acl("pattern", "read", "cmd/%c")
    acl("topic", "read", "public/#")
    acl("user", "carol", "topic", "write", "public/#")
    carol = login("carol", "c", client_id="dev7")
    check_eq(sub_codes(carol, ["dev/carol/#", "dev/dave/#", "cmd/dev7",
                               "cmd/dev8", "cmd/+", "public/#"]),
             [1, REFUSED, 1, REFUSED, 1, REFUSED], "carol's SUBACK")
    anon = login(client_id="kiosk")
    check_eq(sub_codes(anon, ["public/#", "cmd/kiosk", "dev/carol/#",
                              "dev/+/x"]),
             [1, 1, REFUSED, REFUSED], "anonymous SUBACK (%u not for it)")
    before = refusals()
    carol2 = login("carol", "c", client_id="dev7-pub")
    carol2.pub("dev/carol/t", b"own", qos=1)
    carol2.pub("dev/dave/t", b"other", qos=1)
    carol2.pub("public/news", b"news", qos=1)
    check_eq([p.payload for p in carol.collect(n=1)], [b"own"],
             "carol receives her own topic")
    check_eq([p.payload for p in anon.collect(n=1)], [b"news"],
             "anonymous client receives public/")
    anon.pub("public/x", b"anon-write", qos=1)
    check_eq(refusal_deltas(before), {"acl_publish": 2},
             "dev/dave and the anonymous publish refused")
    # a client id or user name with '/' or a wildcard is never substituted
    add_user("a/b", "x")
    odd = login("a/b", "x", client_id="c+")
    check_eq(sub_codes(odd, ["dev/a/b/#", "dev/+/#", "cmd/+", "#"]),
             [REFUSED] * 4, "no substitution of a/b or c+")


@test(kmqttd_only=True)
def acl_sys_topics():
    """$SYS is readable only where a rule names it: '#' does not."""
    fresh(sys_interval=1)
    on_cleanup(lambda: run("set", "sys_interval", 10))
    add_user("all", "a")
    add_user("mon", "m")
    acl("user", "all", "topic", "read", "#")
    acl("user", "mon", "topic", "read", "$SYS/broker/uptime")
    everyone = login("all", "a")
    check_eq(sub_codes(everyone, ["#", "$SYS/#", "$SYS/broker/uptime",
                                  "+/broker/#"]),
             [1, REFUSED, REFUSED, 1], "'#' rule and $SYS filters")
    mon = login("mon", "m")
    check_eq(sub_codes(mon, ["$SYS/#", "#"]), [1, REFUSED],
             "$SYS rule: $SYS/# overlaps it, # does not")
    # retained $SYS messages: only the allowed topic arrives
    got = mon.collect(n=1, timeout=15)
    check_eq(got[0].topic, "$SYS/broker/uptime", "first $SYS message")
    time.sleep(2.5)
    rest = []
    while True:
        try:
            rest += mon.collect(n=1, timeout=0.5)
        except Fail:
            break
    check(rest and all(p.topic == "$SYS/broker/uptime" for p in rest),
          "only $SYS/broker/uptime delivered: %r" %
          sorted({p.topic for p in rest}))
    check(refusals()["acl_delivery"] > 0, "other $SYS topics counted")


@test(kmqttd_only=True)
def acl_retained():
    """Retained messages delivered on subscribe obey read rules."""
    fresh()
    add_user("w", "w")
    add_user("r", "r")
    acl("user", "w", "topic", "write", "#")
    acl("user", "r", "topic", "read", "ret/ok/#")
    on_cleanup(lambda: run("retain", "del", "--filter", "ret/#"))
    w = login("w", "w")
    w.pub("ret/ok/1", b"visible", qos=1, retain=True)
    w.pub("ret/no/1", b"hidden", qos=1, retain=True)
    check_eq(len(mqj("retain", "list", "ret/#")), 2, "both stored")
    r = login("r", "r")
    before = refusals()
    check_eq(sub_codes(r, ["ret/#"]), [1], "subscribe ret/#")
    w.pub("ret/ok/end", b"end", qos=1)
    got = r.collect(until=b"end")
    check_eq([(p.topic, p.payload, p.retain) for p in got],
             [("ret/ok/1", b"visible", True)], "retained on subscribe")
    check_eq(refusal_deltas(before), {"acl_delivery": 1}, "hidden counted")


@test(kmqttd_only=True)
def acl_will():
    """A Will is published only if its topic is writable when it is
    due; a refused one is counted."""
    fresh()
    add_user("dev", "d")
    add_user("mon", "m")
    acl("user", "dev", "topic", "write", "will/ok")
    acl("user", "mon", "topic", "read", "will/#")
    mon = login("mon", "m")
    check_eq(sub_codes(mon, ["will/#"]), [1], "monitor subscribes")
    before = refusals()
    for wt in ("will/no", "will/ok"):
        d = login("dev", "d", will=(wt, "gone:" + wt, 1, False))
        d.hangup()
    got = mon.collect(n=1)
    check_eq([(p.topic, p.payload) for p in got],
             [("will/ok", b"gone:will/ok")], "only the allowed Will")
    wait_for(lambda: refusals()["acl_will"] - before["acl_will"] == 1,
             what="acl_will counted")
    check_eq(refusal_deltas(before), {"acl_will": 1}, "acl_will")


@test(kmqttd_only=True)
def acl_mosquitto_file():
    """A Mosquitto acl_file imports, lists back in the same format and
    re-imports as 'existed already'."""
    fresh(allow_anonymous="yes")
    add_user("ops", "o")
    add_user("sensor", "s")
    d = "/tmp/kmq-auth-%s" % harness.RUN_ID
    os.makedirs(d, exist_ok=True)
    f = os.path.join(d, "acl")
    with open(f, "w") as fh:
        fh.write("# anonymous clients\n"
                 "topic read public/#\n"
                 "\n"
                 "user ops\n"
                 "topic readwrite #\n"
                 "topic read $SYS/#\n"
                 "\n"
                 "user sensor\n"
                 "topic write sensors/data\n"
                 "   topic deny sensors/data/secret\n"
                 "\n"
                 "# every client\n"
                 "pattern write clients/%c/status\n"
                 "pattern read users/%u/inbox/#\n")
    out = mq("acl", "import", f)
    check("imported 7 rules" in out, "import summary: %r" % out)
    rules = mqj("acl", "list")
    check_eq(len(rules), 7, "rules")
    check_eq(rules[0], {"kind": "topic", "user": None, "access": "read",
                        "pattern": "public/#"}, "anonymous rule first")
    check_eq(rules[-2:], [
        {"kind": "pattern", "user": None, "access": "write",
         "pattern": "clients/%c/status"},
        {"kind": "pattern", "user": None, "access": "read",
         "pattern": "users/%u/inbox/#"}], "patterns last")
    text = os.path.join(d, "listed")
    with open(text, "w") as fh:
        fh.write(mq("acl", "list"))
    out = mq("acl", "import", text)
    check("imported 0 rules, 7 existed already" in out,
          "re-import of the listing: %r" % out)
    s = login("sensor", "s", client_id="s1")
    check_eq(sub_codes(s, ["users/sensor/inbox/#", "users/ops/inbox/#",
                           "public/#", "sensors/#"]),
             [1, REFUSED, REFUSED, REFUSED], "sensor's SUBACK")
    ops_sys = login("ops", "o")
    check_eq(sub_codes(ops_sys, ["$SYS/broker/uptime", "$SYS/#"]), [1, 1],
             "ops reads $SYS")
    ops = login("ops", "o")
    check_eq(sub_codes(ops, ["#"]), [1], "ops subscribes #")
    before = refusals()
    s.pub("sensors/data", b"d1", qos=1)
    s.pub("sensors/data/secret", b"no", qos=1)
    s.pub("clients/s1/status", b"up", qos=1)
    s.pub("clients/s2/status", b"spoof", qos=1)
    s.pub("public/x", b"end", qos=1)
    got = ops.collect(n=2, timeout=10)
    check_eq([(p.topic, p.payload) for p in got],
             [("sensors/data", b"d1"), ("clients/s1/status", b"up")],
             "ops receives the allowed publishes")
    check_eq(refusal_deltas(before), {"acl_publish": 3}, "refused publishes")
    mq("acl", "del", "user", "ops", "topic", "readwrite", "#")
    mq("acl", "del", "user", "ops", "topic", "readwrite", "#",
       rc=NOT_FOUND, err="not found")
    mq("acl", "add", "user", "sensor", "topic", "write", "sensors/data",
       rc=EXISTS)
    mq("acl", "add", "topic", "a/#/b", rc=ERROR, err="invalid topic pattern")


@test(kmqttd_only=True)
def session_belongs_to_its_user():
    """A persistent session is resumed only by the user who made it."""
    fresh()
    add_user("u1", "p1")
    add_user("u2", "p2")
    ident = "shared-%s" % harness.RUN_ID
    on_cleanup(lambda: run("client", "kick", ident, "--purge"))
    r = Raw()
    p = r.connect(ident, clean=False, user="u1", password="p1")
    check_eq(p.body[0], 0, "new session")
    r.subscribe([("x/#", 1)])
    r.disconnect()
    r = Raw()
    p = r.connect(ident, clean=False, user="u1", password="p1")
    check_eq(p.body[0], 1, "same user resumes")
    r.disconnect()
    r = Raw()
    p = r.connect(ident, clean=False, user="u2", password="p2")
    check_eq(p.body[0], 0, "another user does not")
    r.disconnect()
    subs = mqj("sub", "list", "--client", ident)
    check_eq(subs, [], "u1's subscriptions are gone")


# ------------------------------------------------------------ mqctl

@test(kmqttd_only=True)
def mqctl_needs_admin():
    """As nobody: exit 4 for every user and acl command."""
    fresh()
    add_user("keep", "k")
    for args in (("user", "list"), ("user", "del", "keep"),
                 ("user", "clear"), ("acl", "list"),
                 ("acl", "add", "topic", "x"), ("acl", "del", "topic", "x"),
                 ("acl", "clear"), ("set", "allow_anonymous", "yes")):
        mq(*args, user="nobody", rc=PERM,
           err="permission denied: this needs CAP_NET_ADMIN")
    mq("user", "add", "evil", "--stdin", user="nobody", stdin="x\n", rc=PERM)
    code, out, err = run("user", "import", "-", user="nobody",
                         stdin="evil:$6$c2FsdA$%s\n" %
                         base64.b64encode(b"\0" * 64).decode())
    check_eq(code, PERM, "user import as nobody")
    code, out, err = run("acl", "import", "-", user="nobody",
                         stdin="topic read #\n")
    check_eq(code, PERM, "acl import as nobody")
    check_eq([u["name"] for u in mqj("user", "list")], ["keep"],
             "users unchanged")
    check_eq(mqj("acl", "list"), [], "rules unchanged")
    check_eq(mqj("get", "allow_anonymous"), {"allow_anonymous": "auto"},
             "setting unchanged")
