#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Write the seed corpus for the kmqttd core fuzzers.

    python3 mkcorpus.py [OUTDIR]      (default: corpus/ next to this file)

Creates OUTDIR/codec/* (valid MQTT 3.1.1 packets and packet streams) and
OUTDIR/trie/* (operation programs for fuzz_trie.c).  Deterministic.
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


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "corpus")
    for sub, items in (("codec", CODEC), ("trie", trie_prog())):
        d = os.path.join(out, sub)
        os.makedirs(d, exist_ok=True)
        for name, data in sorted(items.items()):
            with open(os.path.join(d, name), "wb") as f:
                f.write(data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
