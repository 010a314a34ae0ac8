# SPDX-License-Identifier: GPL-2.0
"""MQTT 3.1.1 conformance: retained messages (3.3.1-5..12, 3.8.4-3,
4.7.2-1).  Every retained topic is cleared when its test ends."""
from harness import check, check_eq, on_cleanup, test
from mqttlib import Raw, clear_retained, sentinel, topic

TEST_ORDER = 45  # files run in this order

MOSQUITTO_DEVIATIONS = {}


def _rtopic(*levels):
    """A topic whose retained message is deleted when the test ends."""
    t = topic("ret", *levels)
    on_cleanup(lambda: clear_retained(t))
    return t


def _publish(t, payload, qos=1, retain=True):
    p = Raw()
    p.connect()
    p.pub(t, payload, qos=qos, retain=retain)
    p.bye()


def _sub(filters):
    s = Raw()
    s.connect()
    s.subscribe(filters)
    return s


def _nothing_more(s, t, qos=1):
    """No further delivery to s before a sentinel published on t."""
    sentinel(t, qos)
    got = s.collect(until=b"sentinel")
    check_eq([(m.topic, m.payload, m.retain) for m in got], [],
             "deliveries before sentinel")


def _fields(m):
    return (m.topic, m.payload, m.qos, m.retain)


@test("MQTT-3.3.1-5a a retained QoS 1 message is stored with its QoS")
def stored_qos1():
    t = _rtopic()
    _publish(t, b"r1", qos=1)
    s = _sub([(t, 2)])
    check_eq(_fields(s.collect(n=1)[0]), (t, b"r1", 1, True),
             "retained delivery")
    _nothing_more(s, t)


@test("MQTT-3.3.1-5b a retained QoS 2 message: QoS min(2, granted)")
def stored_qos2():
    t = _rtopic()
    _publish(t, b"r2", qos=2)
    for q in (2, 1, 0):
        s = _sub([(t, q)])
        check_eq(_fields(s.collect(n=1)[0]), (t, b"r2", q, True),
                 "retained delivery to a QoS %d subscription" % q)
        s.bye()


@test("MQTT-3.3.1-6 a new subscription gets the last retained message of "
      "each matching topic")
def last_of_each():
    base = topic("ret")
    ta, tb, tcd, te = base + "/a", base + "/b", base + "/c/d", base + "/e"
    on_cleanup(lambda: clear_retained(ta, tb, tcd, te))
    _publish(ta, b"a1")
    _publish(ta, b"a2")
    _publish(tb, b"b", qos=1)
    _publish(tcd, b"cd", qos=2)
    _publish(te, b"e", retain=False)
    s = _sub([(base + "/+", 2)])
    got = sorted(_fields(m) for m in s.collect(n=2))
    check_eq(got, [(ta, b"a2", 1, True), (tb, b"b", 1, True)],
             "retained deliveries for %s/+" % base)
    _nothing_more(s, base + "/z")
    s2 = _sub([(base + "/#", 2)])
    got = sorted(_fields(m) for m in s2.collect(n=3))
    check_eq(got, [(ta, b"a2", 1, True), (tb, b"b", 1, True),
                   (tcd, b"cd", 2, True)], "retained deliveries for %s/#"
             % base)
    _nothing_more(s2, base + "/z")


@test("MQTT-3.3.1-7 a retained QoS 0 message replaces the retained one")
def qos0_replaces():
    t = _rtopic()
    _publish(t, b"old", qos=1)
    _publish(t, b"new", qos=0)
    s = _sub([(t, 1)])
    sentinel(t, 1)
    got = [(m.payload, m.retain) for m in s.collect(until=b"sentinel")]
    check(got in ([], [(b"new", True)]),
          "got %r, want the QoS 0 message or nothing" % got)


@test("MQTT-3.3.1-8 RETAIN=1 when sent because of a new subscription")
def retain_flag_new_sub():
    t = _rtopic()
    _publish(t, b"r", qos=1)
    s = _sub([(t, 1)])
    m = s.collect(n=1)[0]
    check_eq(m.raw[0] & 0x01, 1, "RETAIN flag")


@test("MQTT-3.3.1-9 RETAIN=0 when sent to an established subscription")
def retain_flag_established():
    t = _rtopic()
    s = _sub([(t, 2)])
    for q in (0, 1, 2):
        _publish(t, b"live%d" % q, qos=q, retain=True)
        m = s.collect(n=1)[0]
        check_eq((m.payload, m.raw[0] & 0x01), (b"live%d" % q, 0),
                 "(payload, RETAIN flag)")


@test("MQTT-3.3.1-10a a zero-byte retained PUBLISH is delivered normally")
def empty_retained_forwarded():
    t = _rtopic()
    _publish(t, b"before")
    s = _sub([(t, 1)])
    check_eq(s.collect(n=1)[0].payload, b"before", "retained message")
    _publish(t, b"")
    check_eq(_fields(s.collect(n=1)[0]), (t, b"", 1, False),
             "zero-byte retained PUBLISH to the subscriber")


@test("MQTT-3.3.1-10b a zero-byte retained PUBLISH removes the retained "
      "message")
def empty_retained_removes():
    t = _rtopic()
    _publish(t, b"before")
    _publish(t, b"")
    _nothing_more(_sub([(t, 1)]), t)


@test("MQTT-3.3.1-11 a zero-byte retained message is not stored")
def empty_retained_not_stored():
    t = _rtopic()
    _publish(t, b"", qos=0)
    _publish(t, b"", qos=2)
    _nothing_more(_sub([(t, 1)]), t)


@test("MQTT-3.3.1-12 RETAIN=0 does not store, replace or remove")
def retain0_keeps():
    t, u = _rtopic(), _rtopic()
    _publish(t, b"kept")
    _publish(t, b"not-retained", retain=False)
    _publish(t, b"", retain=False)
    _publish(u, b"never", retain=False)
    s = _sub([(t, 1), (u, 1)])
    check_eq(_fields(s.collect(n=1)[0]), (t, b"kept", 1, True),
             "retained message")
    _nothing_more(s, t)


@test("MQTT-3.8.4-3b re-subscribing with an identical filter re-sends "
      "retained messages")
def resubscribe_resends():
    t = _rtopic()
    _publish(t, b"again")
    s = _sub([(t, 1)])
    check_eq(_fields(s.collect(n=1)[0]), (t, b"again", 1, True), "first")
    s.subscribe([(t, 1)])
    check_eq(_fields(s.collect(n=1)[0]), (t, b"again", 1, True),
             "after re-subscribing")
    _nothing_more(s, t)


@test("MQTT-4.7.2-1b retained $-topic messages are not sent to wildcard "
      "subscriptions")
def retained_dollar():
    d = "$" + topic("ret").replace("/", "-")
    t = d + "/x"
    on_cleanup(lambda: clear_retained(t))
    _publish(t, b"dollar")
    s = _sub([("#", 1), ("+/x", 1), ("+/#", 1)])
    st = topic("ret")
    sentinel(st, 1)
    mine = [_fields(m) for m in s.collect(
        until=lambda m: m.payload == b"sentinel" and m.topic == st)
        if m.topic.startswith("$")]
    check_eq(mine, [], "$-topic deliveries to #, +/x, +/#")
    s2 = _sub([(d + "/#", 1)])
    check_eq(_fields(s2.collect(n=1)[0]), (t, b"dollar", 1, True),
             "retained delivery to %s/#" % d)
