// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz_codec.c - libFuzzer target for kmod/core/codec.c and topic.c.
 *
 * The input is a byte stream of MQTT packets: each fixed header is parsed
 * and the body handed to the matching decoder (in an exactly sized heap
 * copy so that ASan sees any over-read), decoded packets are re-encoded
 * and decoded again where an encoder exists.  The input is also used
 * whole and split in two for UTF-8, topic validation and matching, each
 * checked against a simple reference implementation.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kmq_shim.h"
#include "codec.h"
#include "topic.h"

int LLVMFuzzerTestOneInput(const u8 *data, size_t size);

#define ASSERT(c) do {							\
	if (!(c)) {							\
		fprintf(stderr, "%s:%d: assertion failed: %s\n",	\
			__FILE__, __LINE__, #c);			\
		abort();						\
	}								\
} while (0)

/* ---- reference implementations --------------------------------------- */

static bool ref_utf8(const u8 *p, u32 len)
{
	u32 i = 0;

	while (i < len) {
		u32 cp, n, k, min;
		u8 c = p[i];

		if (c < 0x80) {
			cp = c;
			n = 0;
			min = 0;
		} else if ((c & 0xe0) == 0xc0) {
			cp = c & 0x1f;
			n = 1;
			min = 0x80;
		} else if ((c & 0xf0) == 0xe0) {
			cp = c & 0x0f;
			n = 2;
			min = 0x800;
		} else if ((c & 0xf8) == 0xf0) {
			cp = c & 0x07;
			n = 3;
			min = 0x10000;
		} else {
			return false;
		}
		if (n > len - i - 1)
			return false;
		for (k = 1; k <= n; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (p[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || cp == 0 ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += n + 1;
	}
	return true;
}

struct lvl {
	u32 s, n;
};

static u32 split(const u8 *t, u32 len, struct lvl *out)
{
	u32 i, n = 0, s = 0;

	for (i = 0; i <= len; i++) {
		if (i == len || t[i] == '/') {
			out[n].s = s;
			out[n].n = i - s;
			n++;
			s = i + 1;
		}
	}
	return n;
}

static bool is1(const u8 *b, struct lvl l, u8 c)
{
	return l.n == 1 && b[l.s] == c;
}

static bool ref_match(const u8 *f, u32 flen, const u8 *t, u32 tlen)
{
	struct lvl *fl = malloc(sizeof(*fl) * (flen + 1));
	struct lvl *tl = malloc(sizeof(*tl) * (tlen + 1));
	u32 nf, nt, i;
	bool m = false;

	ASSERT(fl && tl);
	nf = split(f, flen, fl);
	nt = split(t, tlen, tl);
	if (tlen && t[0] == '$' && (is1(f, fl[0], '+') || is1(f, fl[0], '#')))
		goto out;
	for (i = 0; i < nf; i++) {
		if (is1(f, fl[i], '#')) {
			m = true;
			goto out;
		}
		if (i >= nt)
			goto out;
		if (is1(f, fl[i], '+'))
			continue;
		if (fl[i].n != tl[i].n ||
		    memcmp(f + fl[i].s, t + tl[i].s, fl[i].n))
			goto out;
	}
	m = nf == nt;
out:
	free(fl);
	free(tl);
	return m;
}

static bool ref_filter_valid(const u8 *f, u32 len)
{
	struct lvl *fl;
	u32 n, i, k;
	bool ok = len > 0;

	if (!ok)
		return false;
	fl = malloc(sizeof(*fl) * (len + 1));
	ASSERT(fl);
	n = split(f, len, fl);
	for (i = 0; i < n && ok; i++) {
		if (is1(f, fl[i], '#')) {
			ok = i == n - 1;
			continue;
		}
		if (is1(f, fl[i], '+'))
			continue;
		for (k = 0; k < fl[i].n; k++)
			if (f[fl[i].s + k] == '+' || f[fl[i].s + k] == '#')
				ok = false;
	}
	free(fl);
	return ok;
}

/* ---- packet checks ----------------------------------------------------- */

static bool in_body(const u8 *body, u32 len, const u8 *p, u32 n)
{
	return n == 0 || (p >= body && p + n <= body + len);
}

static void check_connect(const u8 *body, u32 len)
{
	struct kmq_connect c;
	int rc = kmq_decode_connect(body, len, &c);

	ASSERT(rc <= 0 && rc > -__KMQ_R_MAX);
	if (rc)
		return;
	ASSERT(c.level == 3 || c.level == 4);
	ASSERT(c.will_qos < 3);
	ASSERT(c.will || (!c.will_qos && !c.will_retain));
	ASSERT(!c.has_pass || c.has_user);
	ASSERT(in_body(body, len, c.client_id.p, c.client_id.len));
	ASSERT(kmq_utf8_valid(c.client_id.p, c.client_id.len));
	if (c.will) {
		ASSERT(in_body(body, len, c.will_topic.p, c.will_topic.len));
		ASSERT(in_body(body, len, c.will_msg.p, c.will_msg.len));
		ASSERT(kmq_topic_name_valid(c.will_topic.p,
					    c.will_topic.len));
		ASSERT(ref_utf8(c.will_topic.p, c.will_topic.len));
	} else {
		ASSERT(!c.will_topic.len && !c.will_msg.len);
	}
	if (c.has_user)
		ASSERT(ref_utf8(c.user.p, c.user.len));
	ASSERT(in_body(body, len, c.user.p, c.user.len));
	ASSERT(in_body(body, len, c.pass.p, c.pass.len));
}

static void check_publish(u8 flags, const u8 *body, u32 len)
{
	struct kmq_publish p, q;
	struct kmq_fixed fh;
	u8 *pkt;
	u32 hl, total;
	int rc = kmq_decode_publish(flags, body, len, &p);

	ASSERT(rc <= 0 && rc > -__KMQ_R_MAX);
	if (rc)
		return;
	ASSERT(p.qos < 3 && (p.qos || (!p.dup && !p.pid)));
	ASSERT(!p.qos || p.pid);
	ASSERT(p.topic.len && ref_utf8(p.topic.p, p.topic.len));
	ASSERT(in_body(body, len, p.topic.p, p.topic.len));
	ASSERT(p.payload + p.payload_len == body + len);
	ASSERT(2u + p.topic.len + (p.qos ? 2 : 0) + p.payload_len == len);

	/* re-encode and decode again */
	total = KMQ_FIXED_HDR_MAX + 4 + p.topic.len + p.payload_len;
	pkt = malloc(total);
	ASSERT(pkt);
	hl = kmq_encode_publish_hdr(pkt, p.qos, p.dup, p.retain, p.topic.p,
				    p.topic.len, p.pid, p.payload_len);
	memcpy(pkt + hl, p.payload, p.payload_len);
	ASSERT(kmq_parse_fixed(pkt, hl + p.payload_len, &fh) == 0);
	ASSERT(fh.type == KMQ_PUBLISH && fh.flags == flags);
	ASSERT(fh.hdr_len + fh.remaining == hl + p.payload_len);
	ASSERT(fh.remaining == len);
	ASSERT(!memcmp(pkt + fh.hdr_len, body, len));
	ASSERT(kmq_decode_publish(fh.flags, pkt + fh.hdr_len, fh.remaining,
				  &q) == 0);
	ASSERT(q.qos == p.qos && q.dup == p.dup && q.retain == p.retain &&
	       q.pid == p.pid && q.payload_len == p.payload_len);

	/* the prefix encoder agrees with the full one */
	{
		u8 pre[KMQ_FIXED_HDR_MAX + 2];
		u32 n = kmq_encode_publish_prefix(pre, p.qos, p.dup, p.retain,
						  p.topic.len,
						  p.payload_len);

		ASSERT(n >= 3 && n <= 7 && !memcmp(pre, pkt, n));
	}
	free(pkt);
}

static void check_ack(u8 type, const u8 *body, u32 len)
{
	u16 pid;
	u8 out[4];
	struct kmq_fixed fh;
	int rc = kmq_decode_ack(type, body, len, &pid);

	ASSERT(rc <= 0 && rc > -__KMQ_R_MAX);
	if (rc)
		return;
	ASSERT(len == 2 && pid);
	ASSERT(kmq_encode_ack(out, type, pid) == 4);
	ASSERT(kmq_parse_fixed(out, 4, &fh) == 0 && fh.type == type);
	ASSERT(!memcmp(out + 2, body, 2));
}

static void check_sub(u8 type, const u8 *body, u32 len)
{
	struct kmq_iter it;
	struct kmq_str f;
	u16 pid;
	u8 qos, hdr[8];
	u32 n = 0, used = 2;
	bool sub = type == KMQ_SUBSCRIBE;
	int rc;

	if (sub)
		rc = kmq_decode_subscribe(body, len, &pid, &it);
	else
		rc = kmq_decode_unsubscribe(body, len, &pid, &it);
	ASSERT(rc <= 0 && rc > -__KMQ_R_MAX);
	if (rc)
		return;
	ASSERT(pid);
	while (kmq_iter_next(&it, &f, sub ? &qos : NULL)) {
		ASSERT(in_body(body, len, f.p, f.len));
		ASSERT(f.len > 0 && ref_utf8(f.p, f.len));
		ASSERT(kmq_topic_filter_valid(f.p, f.len) ==
		       ref_filter_valid(f.p, f.len));
		if (sub)
			ASSERT(qos <= 2);
		else
			ASSERT(kmq_topic_filter_valid(f.p, f.len));
		used += 2 + f.len + (sub ? 1 : 0);
		n++;
	}
	ASSERT(n > 0 && used == len);
	if (sub) {
		struct kmq_fixed fh;
		u32 hl = kmq_encode_suback_hdr(hdr, pid, n);

		ASSERT(hl >= 4 && hl <= 7);
		ASSERT(kmq_parse_fixed(hdr, hl, &fh) == 0);
		ASSERT(fh.type == KMQ_SUBACK && fh.remaining == 2 + n);
		ASSERT(hdr[hl - 2] == (pid >> 8) && hdr[hl - 1] == (pid & 0xff));
	}
}

static void check_packet(const struct kmq_fixed *fh, const u8 *src)
{
	u8 *body = malloc(fh->remaining ? fh->remaining : 1);

	ASSERT(body);
	memcpy(body, src, fh->remaining);
	switch (fh->type) {
	case KMQ_CONNECT:
		check_connect(body, fh->remaining);
		break;
	case KMQ_PUBLISH:
		check_publish(fh->flags, body, fh->remaining);
		break;
	case KMQ_PUBACK:
	case KMQ_PUBREC:
	case KMQ_PUBREL:
	case KMQ_PUBCOMP:
	case KMQ_UNSUBACK:
		ASSERT(fh->remaining == 2);
		check_ack(fh->type, body, fh->remaining);
		break;
	case KMQ_SUBSCRIBE:
	case KMQ_UNSUBSCRIBE:
		ASSERT(fh->flags == 2);
		check_sub(fh->type, body, fh->remaining);
		break;
	case KMQ_CONNACK: {
		u8 out[4];

		ASSERT(fh->remaining == 2);
		kmq_encode_connack(out, body[0] & 1, body[1]);
		ASSERT(out[0] == 0x20 && out[1] == 2 && out[3] == body[1]);
		ASSERT(out[2] == ((body[0] & 1) && !body[1]));
		break;
	}
	case KMQ_PINGREQ:
	case KMQ_PINGRESP:
	case KMQ_DISCONNECT:
		ASSERT(fh->remaining == 0);
		break;
	default:
		break;
	}
	free(body);
}

/* ---- topic checks ------------------------------------------------------ */

static void check_topics(const u8 *data, u32 size)
{
	u8 *a, *b;
	u32 cut, na, nb, i, slashes = 0;
	bool fv, tv;

	for (i = 0; i < size; i++)
		slashes += data[i] == '/';
	ASSERT(kmq_topic_levels(data, size) == slashes + 1);
	ASSERT(kmq_utf8_valid(data, size) == ref_utf8(data, size));
	ASSERT(kmq_topic_filter_valid(data, size) ==
	       ref_filter_valid(data, size));
	if (size < 1)
		return;

	/* first byte chooses where to cut filter | topic */
	cut = 1 + (size > 1 ? data[0] % (size - 1) : 0);
	na = cut - 1;
	nb = size - cut;
	a = malloc(na + 1);
	b = malloc(nb + 1);
	ASSERT(a && b);
	memcpy(a, data + 1, na);
	memcpy(b, data + cut, nb);
	fv = kmq_topic_filter_valid(a, na);
	tv = kmq_topic_name_valid(b, nb);
	ASSERT(kmq_topic_name_valid(a, na) ==
	       (na && !memchr(a, '+', na) && !memchr(a, '#', na)));
	if (tv)
		ASSERT(kmq_topic_filter_valid(b, nb));
	if (fv && tv) {
		bool m = kmq_topic_match(a, na, b, nb);

		ASSERT(m == ref_match(a, na, b, nb));
		/* a topic name used as a filter matches itself */
		ASSERT(kmq_topic_match(b, nb, b, nb));
	}
	free(a);
	free(b);
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	u32 off = 0, len = (u32)size;

	if (size > (1u << 20))
		return 0;
	check_topics(data, len);

	while (off < len) {
		struct kmq_fixed fh;
		int rc = kmq_parse_fixed(data + off, len - off, &fh);

		ASSERT(rc == 0 || rc == KMQ_NEED_MORE ||
		       (rc < 0 && rc > -__KMQ_R_MAX));
		if (rc)
			break;
		ASSERT(fh.hdr_len >= 2 && fh.hdr_len <= 5);
		ASSERT(fh.type >= 1 && fh.type <= 14);
		ASSERT(fh.remaining <= KMQ_MAX_REMAINING);
		/* the minimal encoding is never longer than the parsed one */
		{
			u8 enc[4];
			u32 n = kmq_encode_length(enc, fh.remaining);

			ASSERT(n <= (u32)fh.hdr_len - 1);
		}
		if (fh.remaining > len - off - fh.hdr_len)
			break;
		check_packet(&fh, data + off + fh.hdr_len);
		off += fh.hdr_len + fh.remaining;
	}
	return 0;
}
