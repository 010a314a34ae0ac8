# SPDX-License-Identifier: GPL-2.0
"""MQTT 3.1.1 conformance: sessions (3.1.2-4..7, 4.5.0-1), Session
Present in CONNACK (3.2.2-1..5), client id takeover (3.1.4-2).
Every persistent session is discarded when its test ends (session_id)."""
from harness import check_eq, cid, test
from mqttlib import (CONNACK, Raw, clear_retained, connect_pkt,
                     session_id, topic, will_before_sentinel)

TEST_ORDER = 42  # files run in this order

MOSQUITTO_DEVIATIONS = {
    "MQTT-3.1.4-2d": "does not publish the Will of a connection closed by "
                     "a takeover when both use clean session 0 (it does "
                     "with clean session 1)",
}

ACCEPTED = b"\x20\x02\x00\x00"
RESUMED = b"\x20\x02\x01\x00"


def _client(ident=None, clean=True, want=ACCEPTED, **kw):
    r = Raw()
    check_eq(r.connect(ident, clean=clean, **kw).raw, want, "CONNACK")
    return r


def _stored(ident, *subs):
    """Create a stored session with these (filter, qos) subscriptions."""
    r = _client(ident, clean=False)
    if subs:
        r.subscribe(list(subs))
    r.bye()


def _publisher():
    return _client()


@test("MQTT-3.1.2-4 clean session 0: subscriptions survive a disconnect")
def session_subscriptions_kept():
    x, t = session_id(), topic("sess")
    _stored(x, (t, 1))
    a = _client(x, clean=False, want=RESUMED)
    _publisher().pub(t, b"live", qos=1)
    m = a.collect(n=1)
    check_eq([(p.topic, p.payload, p.qos) for p in m], [(t, b"live", 1)],
             "delivery to the resumed session")
    a.bye()


@test("MQTT-3.1.2-5 QoS 1 and 2 messages published while offline are "
      "delivered")
def session_offline_queue():
    x, t = session_id(), topic("sess")
    _stored(x, (t, 2))
    p = _publisher()
    sent = [(b"q1-a", 1), (b"q2-a", 2), (b"q1-b", 1), (b"q2-b", 2)]
    for payload, qos in sent:
        p.pub(t, payload, qos=qos)
    a = Raw()
    a.send(connect_pkt(x, clean=False))
    check_eq(a.expect(CONNACK).raw, RESUMED, "first packet (CONNACK)")
    got = [(m.payload, m.qos) for m in a.collect(n=len(sent))]
    for q in (1, 2):
        check_eq([m for m in got if m[1] == q], [m for m in sent if m[1] == q],
                 "QoS %d messages, in order" % q)
    a.bye()


@test("MQTT-3.1.2-6a clean session 1 discards the stored session")
def clean_discards():
    x, t, u = session_id(), topic("sess"), topic("sess")
    _stored(x, (t, 1))
    p = _publisher()
    p.pub(t, b"queued", qos=1)
    a = _client(x, clean=True, want=ACCEPTED)
    a.subscribe([(u, 1)])
    p.pub(t, b"after", qos=1)
    p.pub(u, b"sentinel", qos=1)
    check_eq(a.collect(until=b"sentinel"), [], "deliveries before sentinel")
    a.bye()


@test("MQTT-3.1.2-6b a clean session 1 session is not reused later")
def clean_not_stored():
    x, t, u = session_id(), topic("sess"), topic("sess")
    a = _client(x, clean=True)
    a.subscribe([(t, 1)])
    a.bye()
    a = _client(x, clean=False, want=ACCEPTED)
    a.subscribe([(u, 1)])
    p = _publisher()
    p.pub(t, b"old-subscription", qos=1)
    p.pub(u, b"sentinel", qos=1)
    check_eq(a.collect(until=b"sentinel"), [], "deliveries before sentinel")
    a.bye()


@test("MQTT-3.1.2-7 retained messages survive the end of the session")
def retained_outlives_session():
    x, t = session_id(), topic("sess")
    try:
        a = _client(x, clean=False)
        a.pub(t, b"kept", qos=1, retain=True)
        a.bye()
        _client(x, clean=True).bye()
        s = _client()
        s.subscribe([(t, 1)])
        m = s.collect(n=1)
        check_eq([(p.payload, p.retain) for p in m], [(b"kept", True)],
                 "retained message")
    finally:
        clear_retained(t)


@test("MQTT-3.1.4-2a a second connection with the same client id closes "
      "the first")
def takeover_closes():
    x = cid()
    a = _client(x)
    b = _client(x)
    _, got = a.wait_closed()
    check_eq(got, b"", "bytes to the old connection")
    b.ping()
    b.bye()


@test("MQTT-3.1.4-2b takeover with clean session 0 keeps the session")
def takeover_keeps_session():
    x, t = session_id(), topic("sess")
    a = _client(x, clean=False)
    a.subscribe([(t, 1)])
    b = _client(x, clean=False, want=RESUMED)
    a.wait_closed()
    _publisher().pub(t, b"to-b", qos=1)
    check_eq([m.payload for m in b.collect(n=1)], [b"to-b"], "delivery")
    b.bye()


def _takeover_will(clean):
    x, wt = session_id(), topic("will")
    s = _client()
    s.subscribe([(wt, 1)])
    a = _client(x, clean=clean, will=(wt, b"will-of-a", 1, False))
    b = _client(x, clean=clean, want=RESUMED if not clean else ACCEPTED)
    a.wait_closed()
    will_before_sentinel(s, wt, b"will-of-a", 1)
    b.bye()


@test("MQTT-3.1.4-2c takeover: the Will of the closed connection is "
      "published")
def takeover_will():
    _takeover_will(True)


@test("MQTT-3.1.4-2d takeover resuming a clean-0 session: the Will is "
      "published")
def takeover_will_resumed():
    _takeover_will(False)


@test("MQTT-3.2.2-1 clean session 1: Session Present 0 even with a stored "
      "session")
def sp_clean():
    x, t = session_id(), topic("sess")
    _stored(x, (t, 1))
    _client(x, clean=True, want=ACCEPTED).bye()


@test("MQTT-3.2.2-2 clean session 0 with a stored session: Session "
      "Present 1")
def sp_resumed():
    x, y, t = session_id(), session_id(), topic("sess")
    _stored(x, (t, 1))
    _client(x, clean=False, want=RESUMED).bye()
    _stored(y)      # no subscriptions: still a session
    _client(y, clean=False, want=RESUMED).bye()


@test("MQTT-3.2.2-3 clean session 0 without a stored session: Session "
      "Present 0")
def sp_new():
    _client(session_id(), clean=False, want=ACCEPTED).bye()


@test("MQTT-3.2.2-4 refused CONNECT: Session Present 0 even with a stored "
      "session")
def sp_refused():
    x, t = session_id(), topic("sess")
    _stored(x, (t, 1))
    r = Raw()
    r.send(connect_pkt(x, clean=False, level=2))
    check_eq(r.expect(CONNACK).raw, b"\x20\x02\x00\x01", "CONNACK")
    r.wait_closed()


@test("MQTT-3.2.2-5 after a non-zero CONNACK the connection is closed")
def refused_closes():
    for pkt, rc in ((connect_pkt(cid(), level=2), 1),
                    (connect_pkt("", clean=False), 2)):
        r = Raw()
        r.send(pkt)
        check_eq(r.expect(CONNACK).raw, bytes([0x20, 2, 0, rc]), "CONNACK")
        r.expect_silent_close("after CONNACK %#x" % rc)


@test("MQTT-4.5.0-1 messages matching an offline session's wildcard "
      "subscription are kept")
def offline_wildcard():
    x, base = session_id(), topic("sess")
    _stored(x, (base + "/+/c", 1))
    p = _publisher()
    p.pub(base + "/x/c", b"m1", qos=1)
    p.pub(base + "/x/d", b"no", qos=1)
    p.pub(base + "/y/c", b"m2", qos=2)
    a = _client(x, clean=False, want=RESUMED)
    got = a.collect(n=2)
    check_eq(sorted((m.topic, m.payload) for m in got),
             [(base + "/x/c", b"m1"), (base + "/y/c", b"m2")], "deliveries")
    p.pub(base + "/z/c", b"sentinel", qos=1)
    check_eq(a.collect(until=b"sentinel"), [], "more deliveries")
    a.bye()
