#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Write the seed corpus for the kmqttd core fuzzers.

    python3 mkcorpus.py [OUTDIR]      (default: corpus/ next to this file)

Creates OUTDIR/codec/* (valid MQTT 3.1.1 packets and packet streams),
OUTDIR/trie/* (operation programs for fuzz_trie.c) and OUTDIR/session/*
(client sessions for fuzz_session.c).  Deterministic.
"""
import os
import struct
import sys


def rlen(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            b |= 0x80
        out.append(b)
        if not n:
            return bytes(out)


def pkt(ptype, flags, body):
    return bytes([(ptype << 4) | flags]) + rlen(len(body)) + body


def s(x):
    if isinstance(x, str):
        x = x.encode()
    return struct.pack(">H", len(x)) + x


def u16(v):
    return struct.pack(">H", v)


def connect(name="MQTT", level=4, flags=0x02, ka=60, cid="c", will=None,
            user=None, pw=None):
    body = s(name) + bytes([level, flags]) + u16(ka) + s(cid)
    if will:
        body += s(will[0]) + s(will[1])
    if user is not None:
        body += s(user)
    if pw is not None:
        body += s(pw)
    return pkt(1, 0, body)


def publish(topic, payload=b"", qos=0, pid=0, dup=False, retain=False):
    flags = (qos << 1) | (8 if dup else 0) | (1 if retain else 0)
    body = s(topic) + (u16(pid) if qos else b"") + payload
    return pkt(3, flags, body)


def subscribe(pid, filters):
    return pkt(8, 2, u16(pid) + b"".join(s(f) + bytes([q]) for f, q in filters))


def unsubscribe(pid, filters):
    return pkt(10, 2, u16(pid) + b"".join(s(f) for f in filters))


CODEC = {
    "connect_min": connect(),
    "connect_31": connect("MQIsdp", 3, 0x00, 0, "x"),
    "connect_full": connect(flags=0xF6, ka=65535, cid="client-1",
                            will=("will/topic", b"bye\x00"), user="user",
                            pw=b"\xff\x00pw"),
    "connect_will_q1": connect(flags=0x8C, cid="", will=("w", b""),
                               user="u"),
    "connect_bad_level": connect(level=5),
    "connect_utf8": connect(cid="\u00e9t\u00e9\U0001F600\ufeff"),
    "connack": pkt(2, 0, b"\x01\x00"),
    "publish_q0": publish("a/b", b"hello"),
    "publish_q1": publish("sensors/temp", b"21.5", 1, 1),
    "publish_q2_dup_retain": publish("$SYS/x", b"", 2, 0xFFFF, True, True),
    "publish_128": publish("t", b"x" * 124),
    "publish_300": publish("big/" + "x" * 100, b"y" * 190, 1, 7),
    "puback": pkt(4, 0, u16(1)),
    "pubrec": pkt(5, 0, u16(2)),
    "pubrel": pkt(6, 2, u16(3)),
    "pubcomp": pkt(7, 0, u16(4)),
    "subscribe": subscribe(10, [("a/b", 0), ("c/#", 1), ("+/x/+", 2)]),
    "subscribe_bad_syntax": subscribe(11, [("a/#/b", 1), ("a+", 0)]),
    "suback": pkt(9, 0, u16(10) + b"\x00\x01\x80"),
    "unsubscribe": unsubscribe(12, ["a/b", "#", "/+/"]),
    "unsuback": pkt(11, 0, u16(12)),
    "pingreq": pkt(12, 0, b""),
    "pingresp": pkt(13, 0, b""),
    "disconnect": pkt(14, 0, b""),
    "stream_session": (connect(cid="s") + subscribe(1, [("a/+", 1)]) +
                       publish("a/b", b"p", 1, 2) + pkt(4, 0, u16(2)) +
                       publish("a/c", b"q", 2, 3) + pkt(6, 2, u16(3)) +
                       pkt(12, 0, b"") + unsubscribe(4, ["a/+"]) +
                       pkt(14, 0, b"")),
    "len_5byte": b"\x30\xff\xff\xff\xff\x7f",
    "len_nonminimal": b"\x62\x82\x00\x00\x01",
    "topics_match": b"\x07sport/#sport/tennis",
    "topics_dollar": b"\x03+/#$SYS/x",
}


def trie_prog():
    """fuzz_trie ops: op, owner, then generator bytes.

    op & 7: 0,1 add; 2 add with failing allocation number op >> 3;
    3 delete live entry; 4 delete generated; 5-7 match.
    A generated string: level-count byte (n % 8 + 1 levels), then one
    byte per level: 0 a, 1 b, 2 c, 3 "", 4 aa, 5 $, 6 $s, 7 +, 8 # (mod 9
    for filters, mod 7 for topics); bytes >= 0x80 give "n<b & 0x7f>".
    """
    A, B, C, E, AA, D, DS, P, H = range(9)

    def g(*lv):
        return bytes([len(lv) - 1]) + bytes(lv)

    def add(owner, *lv, op=0):
        return bytes([op, owner]) + g(*lv)

    def match(*lv):
        return bytes([5, 0]) + g(*lv)

    progs = {}
    progs["basic"] = (add(1, A, B) + add(2, A, P) + add(3, H) +
                      add(4, A, H) + match(A, B) + match(A) +
                      match(D, B) + bytes([4, 1]) + g(A, B) + match(A, B))
    progs["dollar"] = (add(1, DS, H) + add(2, P, P) + add(3, H) +
                       add(4, D) + match(DS, A) + match(D) + match(A, A) +
                       bytes([3, 0, 0]) + match(DS))
    progs["empty_levels"] = (add(1, E, E) + add(2, P, E) + add(3, E, H) +
                             add(4, P) + match(E, E) + match(E) +
                             match(A, E) + match(E, A, E))
    progs["siblings"] = (b"".join(add(i % 8, A, 0x80 | i) for i in range(40))
                         + b"".join(match(A, 0x80 | i) for i in range(0, 40, 7))
                         + add(1, A, P) + match(A, 0x85))
    progs["nomem"] = (add(1, A, B, C, op=2 | (0 << 3)) +
                      add(1, A, B, C, op=2 | (1 << 3)) +
                      add(1, A, B, C, op=2 | (2 << 3)) +
                      add(1, A, B, C, op=2 | (5 << 3)) +
                      match(A, B, C) + bytes([3 | 8, 0, 0]) + match(A, B, C))
    progs["deep"] = (add(1, *([A] * 8)) + add(2, *([P] * 8)) +
                     add(3, *([P] * 7), H) + match(*([A] * 8)) +
                     match(*([A] * 7)) + add(1, *([A] * 8), op=1))
    return progs


def session_prog():
    """fuzz_session inputs: two config bytes, then tagged operations.

    Byte 0: slots - 1 (bits 0-1), window index (2-4), queue limit index
    (5-7); byte 1: max packet index (bits 0-1).  Tag: slot (bits 0-1),
    arg (2-4), op (5-7): 0-3 data (length byte + bytes), 4 build packet
    arg, 5 client acks (arg bit 2 all, bit 1 keep, bit 0 pick), 6 drop
    the connection, 7 allocation countdown byte (arg 0) or set the
    session's last_pid from two bytes (arg 1).
    """
    windows = [0, 1, 2, 3, 4, 16, 65535, 70000]
    limits = [0, 1, 2, 3, 5, 8, 16, 64]
    maxpkt = [4096, 32, 128, 1024]

    def cfg(slots=2, window=0, limit=0, mp=4096):
        return bytes([(slots - 1) | (windows.index(window) << 2) |
                      (limits.index(limit) << 5), maxpkt.index(mp)])

    def data(slot, raw, step=255):
        out = bytearray()
        for i in range(0, len(raw), step):
            chunk = raw[i:i + step]
            out += bytes([slot, len(chunk)]) + chunk
        return bytes(out)

    def build(slot, kind, *args):
        return bytes([(4 << 5) | (kind << 2) | slot]) + bytes(args)

    def acks(slot, arg=4, *pick):
        return bytes([(5 << 5) | (arg << 2) | slot]) + bytes(pick)

    def drop(slot):
        return bytes([(6 << 5) | slot])

    def fault(n):
        return bytes([7 << 5, n])

    def last_pid(slot, pid):
        return bytes([(7 << 5) | (1 << 2) | slot]) + u16(pid)

    def ack(t, pid):
        return pkt(t, 2 if t == 6 else 0, u16(pid))

    disc = pkt(14, 0, b"")
    c0 = connect(cid="c0")
    c1 = connect(cid="c1")
    progs = {}
    # subscriber at QoS 2 on '#', publisher at each QoS, acks by hand:
    # the broker's outbound pids are 1 (QoS 1) and 2 (QoS 2)
    progs["qos_each"] = (
        cfg() + data(0, c0 + subscribe(1, [("#", 2)])) +
        data(1, c1 + publish("a/b", b"zero") +
             publish("a/b", b"one", 1, 10) +
             publish("a/b", b"two", 2, 11) + ack(6, 11)) +
        data(0, ack(4, 1) + ack(5, 2) + ack(7, 2)) +
        data(1, disc) + data(0, disc))
    # the same with the harness acking, granted QoS below published
    progs["qos_auto_acks"] = (
        cfg(3) + data(0, c0 + subscribe(1, [("a/+", 1), ("+/b", 0)])) +
        data(2, connect(cid="c2") + subscribe(2, [("a/b", 2)])) +
        data(1, c1 + publish("a/b", b"p0") + publish("a/b", b"p1", 1, 1) +
             publish("a/b", b"p2", 2, 2) + publish("a/c", b"p3", 2, 3)) +
        acks(1) + acks(0) + acks(2) + acks(2) + acks(0) +
        data(0, pkt(12, 0, b"") + unsubscribe(3, ["a/+", "x"])) +
        data(1, publish("a/b", b"after", 1, 4)) + acks(0) + acks(1))
    # window 1, queue limit 2: QoS 0 waits behind, evictions, refusals
    progs["window1_limit2"] = (
        cfg(2, 1, 2) + data(0, c0 + subscribe(1, [("t", 2)])) +
        data(1, c1 + b"".join(publish("t", bytes([i]), i % 3, 1 + i)
                              for i in range(8))) +
        acks(0, 0) + acks(0, 0) + acks(0, 4) + acks(0, 4) + acks(1))
    # out of order and duplicate acks
    progs["acks_out_of_order"] = (
        cfg(2, 16) + data(0, c0 + subscribe(1, [("q", 2)])) +
        data(1, c1 + b"".join(publish("q", b"x", 2, 1 + i)
                              for i in range(4))) +
        data(0, ack(5, 3) + ack(5, 1) + ack(5, 3) + ack(7, 1) +
             ack(7, 1) + ack(4, 2) + ack(7, 4) + ack(5, 4) + ack(5, 2) +
             ack(7, 2) + ack(7, 3) + ack(7, 4) + ack(5, 9)) + acks(1))
    # persistent session: offline queueing, resume with DUP and PUBREL
    progs["persistent"] = (
        cfg(2, 4, 8) +
        data(0, connect(flags=0, cid="p") + subscribe(1, [("a/#", 2)])) +
        data(1, c1 + publish("a/1", b"q1", 1, 1) +
             publish("a/2", b"q2", 2, 2) + publish("a/3", b"q2b", 2, 3)) +
        data(0, ack(5, 2)) + drop(0) +
        data(1, publish("a/4", b"q0") + publish("a/5", b"q1", 1, 4)) +
        data(0, connect(flags=0, cid="p")) + acks(0) + acks(0) +
        acks(1) + data(0, disc) +
        data(0, connect(flags=0x02, cid="p")) + data(0, disc))
    # take-over, wills, DISCONNECT suppresses the will
    progs["takeover_will"] = (
        cfg(3) + data(1, c1 + subscribe(1, [("w/#", 2)])) +
        data(0, connect(flags=0x2E, cid="x", will=("w/x", b"gone"))) +
        data(2, connect(flags=0x0E, cid="x", will=("w/y", b"y"))) +
        data(2, disc) +
        data(0, connect(flags=0x16, cid="z", will=("w/z", b"z"))) +
        drop(0) + acks(1) + acks(1))
    # refusals: bad level, empty id without clean session, too large,
    # second CONNECT, not CONNECT first, server-only packet, bad QoS
    progs["refusals"] = (
        cfg(4, 0, 0, 32) + data(0, connect(level=5)) +
        data(1, connect(flags=0, cid="")) +
        data(2, c0 + publish("a", b"y" * 40)) +
        data(3, c1 + c1) + data(0, pkt(12, 0, b"")) +
        data(1, connect(cid="") + pkt(9, 0, u16(1) + b"\x00")) +
        data(2, connect(cid="") + b"\x36\x05\x00\x01a\x00\x01"))
    # packets split into one-byte chunks (NEED_MORE everywhere)
    progs["split_bytes"] = (
        cfg() + data(0, c0 + subscribe(1, [("s", 1)]), 1) +
        data(1, c1 + publish("s", b"split", 1, 7), 1) +
        data(0, ack(4, 1), 1) + data(1, disc, 3))
    # the packet builder and an allocation failure while subscribing
    progs["builder"] = (
        cfg(2, 2, 3) + build(0, 0, 0x11, 0x05) + build(1, 0, 0x03, 0) +
        build(0, 1, 0x01, 0x21, 0x14) + fault(0) + build(0, 1, 0, 0x13) +
        build(1, 3, 0x08, 5, 3, 1, 2, 3) + build(1, 3, 0x11, 6, 0) +
        build(1, 3, 0x50, 7, 1, 9) + build(1, 6, 6) + acks(0, 4) +
        build(0, 4) + build(0, 2, 0x01) + build(0, 7, 1, 0) + drop(0) +
        build(0, 0, 0x04, 0) + acks(0, 7, 0) + build(1, 5))
    # packet ids wrap 65535 -> 1 and skip those still in use
    progs["pid_wrap"] = (
        cfg(2, 65535) + data(0, c0 + subscribe(1, [("p", 2)])) +
        data(1, c1) + last_pid(0, 65534) +
        data(1, b"".join(publish("p", b"w", 1 + i % 2, 1 + i)
                         for i in range(4))) +
        data(0, ack(4, 65535) + ack(4, 2)) + last_pid(0, 0) +
        data(1, b"".join(publish("p", b"s", 1, 9 + i) for i in range(3))) +
        acks(0) + acks(0) + acks(1))
    return progs


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "corpus")
    for sub, items in (("codec", CODEC), ("trie", trie_prog()),
                       ("session", session_prog())):
        d = os.path.join(out, sub)
        os.makedirs(d, exist_ok=True)
        for name, data in sorted(items.items()):
            with open(os.path.join(d, name), "wb") as f:
                f.write(data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
