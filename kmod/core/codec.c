// SPDX-License-Identifier: GPL-2.0
/*
 * codec.c - MQTT 3.1.1 packet decoding and encoding (ISO/IEC 20922).
 *
 * Pure functions over caller buffers: no allocation, no state.
 */
#include "kmq_shim.h"
#include "codec.h"
#include "topic.h"

/* A bounded reader over a packet body. */
struct kmq_rd {
	const u8 *p;
	u32 left;
};

static bool rd_u8(struct kmq_rd *r, u8 *v)
{
	if (r->left < 1)
		return false;
	*v = r->p[0];
	r->p++;
	r->left--;
	return true;
}

static bool rd_u16(struct kmq_rd *r, u16 *v)
{
	if (r->left < 2)
		return false;
	*v = (u16)((r->p[0] << 8) | r->p[1]);
	r->p += 2;
	r->left -= 2;
	return true;
}

/* A 2-byte length followed by that many bytes. */
static bool rd_str(struct kmq_rd *r, struct kmq_str *s)
{
	u16 n;

	if (!rd_u16(r, &n))
		return false;
	if (r->left < n)
		return false;
	s->p = r->p;
	s->len = n;
	r->p += n;
	r->left -= n;
	return true;
}

static void wr_u16(u8 *out, u16 v)
{
	out[0] = (u8)(v >> 8);
	out[1] = (u8)v;
}

/* Remaining length each packet type must have, or -1 if it varies. */
static int fixed_remaining(u8 type)
{
	switch (type) {
	case KMQ_CONNACK:
	case KMQ_PUBACK:
	case KMQ_PUBREC:
	case KMQ_PUBREL:
	case KMQ_PUBCOMP:
	case KMQ_UNSUBACK:
		return 2;
	case KMQ_PINGREQ:
	case KMQ_PINGRESP:
	case KMQ_DISCONNECT:
		return 0;
	default:
		return -1;
	}
}

int kmq_parse_fixed(const u8 *buf, u32 len, struct kmq_fixed *fh)
{
	u32 rem = 0;
	u32 i;
	u8 type, flags;
	int want;

	if (len < 1)
		return KMQ_NEED_MORE;
	type = buf[0] >> 4;
	flags = buf[0] & 0x0f;
	if (type == 0 || type == 15)
		return -KMQ_R_BAD_TYPE;
	switch (type) {
	case KMQ_PUBLISH:
		break;
	case KMQ_PUBREL:
	case KMQ_SUBSCRIBE:
	case KMQ_UNSUBSCRIBE:
		if (flags != 0x2)
			return -KMQ_R_BAD_FLAGS;
		break;
	default:
		if (flags != 0)
			return -KMQ_R_BAD_FLAGS;
		break;
	}

	for (i = 0; i < 4; i++) {
		u8 b;

		if (1 + i >= len)
			return KMQ_NEED_MORE;
		b = buf[1 + i];
		rem |= (u32)(b & 0x7f) << (7 * i);
		if (!(b & 0x80))
			break;
	}
	if (i == 4)
		return -KMQ_R_BAD_LENGTH;

	want = fixed_remaining(type);
	if (want >= 0 && rem != (u32)want)
		return -KMQ_R_BAD_LENGTH;

	fh->type = type;
	fh->flags = flags;
	fh->hdr_len = (u8)(2 + i);
	fh->remaining = rem;
	return 0;
}

bool kmq_utf8_valid(const u8 *p, u32 len)
{
	u32 i = 0;

	while (i < len) {
		u8 c = p[i];
		u8 lo = 0x80, hi = 0xbf;
		u32 n, k;

		if (c < 0x80) {
			if (c == 0)
				return false;
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			if (c == 0xe0)
				lo = 0xa0;	/* overlong */
			else if (c == 0xed)
				hi = 0x9f;	/* surrogates */
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			if (c == 0xf0)
				lo = 0x90;	/* overlong */
			else if (c == 0xf4)
				hi = 0x8f;	/* above U+10FFFF */
		} else {
			/* 0x80..0xc1 (continuation, overlong), 0xf5.. */
			return false;
		}
		if (len - i - 1 < n)
			return false;
		if (p[i + 1] < lo || p[i + 1] > hi)
			return false;
		for (k = 2; k <= n; k++)
			if ((p[i + k] & 0xc0) != 0x80)
				return false;
		i += n + 1;
	}
	return true;
}

int kmq_decode_connect(const u8 *body, u32 len, struct kmq_connect *c)
{
	struct kmq_rd r = { .p = body, .left = len };
	struct kmq_str name;
	u8 level, flags;
	u8 want;

	memset(c, 0, sizeof(*c));

	if (!rd_str(&r, &name))
		return -KMQ_R_BAD_LENGTH;
	if (name.len == 4 && !memcmp(name.p, "MQTT", 4))
		want = 4;
	else if (name.len == 6 && !memcmp(name.p, "MQIsdp", 6))
		want = 3;
	else
		return -KMQ_R_BAD_PROTOCOL;
	if (!rd_u8(&r, &level))
		return -KMQ_R_BAD_LENGTH;
	if (level != want)
		return -KMQ_R_BAD_LEVEL;
	if (!rd_u8(&r, &flags) || !rd_u16(&r, &c->keepalive))
		return -KMQ_R_BAD_LENGTH;

	if (flags & 0x01)
		return -KMQ_R_BAD_CONNECT;
	c->level = level;
	c->clean = flags & 0x02;
	c->will = flags & 0x04;
	c->will_qos = (flags >> 3) & 0x03;
	c->will_retain = flags & 0x20;
	c->has_pass = flags & 0x40;
	c->has_user = flags & 0x80;
	if (!c->will && (c->will_qos || c->will_retain))
		return -KMQ_R_BAD_CONNECT;
	if (c->will_qos == 3)
		return -KMQ_R_BAD_CONNECT;
	if (c->has_pass && !c->has_user)
		return -KMQ_R_BAD_CONNECT;

	if (!rd_str(&r, &c->client_id))
		return -KMQ_R_BAD_LENGTH;
	if (!kmq_utf8_valid(c->client_id.p, c->client_id.len))
		return -KMQ_R_BAD_UTF8;
	if (c->will) {
		if (!rd_str(&r, &c->will_topic))
			return -KMQ_R_BAD_LENGTH;
		if (!kmq_utf8_valid(c->will_topic.p, c->will_topic.len))
			return -KMQ_R_BAD_UTF8;
		if (!kmq_topic_name_valid(c->will_topic.p,
					  c->will_topic.len))
			return -KMQ_R_BAD_TOPIC;
		if (!rd_str(&r, &c->will_msg))
			return -KMQ_R_BAD_LENGTH;
	}
	if (c->has_user) {
		if (!rd_str(&r, &c->user))
			return -KMQ_R_BAD_LENGTH;
		if (!kmq_utf8_valid(c->user.p, c->user.len))
			return -KMQ_R_BAD_UTF8;
	}
	if (c->has_pass) {
		if (!rd_str(&r, &c->pass))
			return -KMQ_R_BAD_LENGTH;
	}
	if (r.left)
		return -KMQ_R_BAD_LENGTH;
	return 0;
}

int kmq_decode_publish(u8 flags, const u8 *body, u32 len,
		       struct kmq_publish *p)
{
	struct kmq_rd r = { .p = body, .left = len };

	memset(p, 0, sizeof(*p));
	p->qos = (flags >> 1) & 0x03;
	p->dup = flags & 0x08;
	p->retain = flags & 0x01;
	if (p->qos == 3)
		return -KMQ_R_BAD_QOS;
	if (p->qos == 0 && p->dup)
		return -KMQ_R_BAD_FLAGS;

	if (!rd_str(&r, &p->topic))
		return -KMQ_R_BAD_LENGTH;
	if (!kmq_utf8_valid(p->topic.p, p->topic.len))
		return -KMQ_R_BAD_UTF8;
	if (!kmq_topic_name_valid(p->topic.p, p->topic.len))
		return -KMQ_R_BAD_TOPIC;
	if (p->qos) {
		if (!rd_u16(&r, &p->pid))
			return -KMQ_R_BAD_LENGTH;
		if (!p->pid)
			return -KMQ_R_BAD_PACKET_ID;
	}
	p->payload = r.p;
	p->payload_len = r.left;
	return 0;
}

static bool rd_u32(struct kmq_rd *r, u32 *v)
{
	u16 hi, lo;

	if (!rd_u16(r, &hi) || !rd_u16(r, &lo))
		return false;
	*v = ((u32)hi << 16) | lo;
	return true;
}

int kmq_decode_publish3(u8 flags, const u8 *body, u32 len,
			struct kmq_publish *p, struct kmq_qos3 *q)
{
	struct kmq_rd r = { .p = body, .left = len };

	memset(p, 0, sizeof(*p));
	memset(q, 0, sizeof(*q));
	p->qos = 3;
	p->dup = flags & 0x08;
	p->retain = flags & 0x01;
	if (((flags >> 1) & 0x03) != 3)
		return -KMQ_R_BAD_QOS;
	if (!rd_str(&r, &p->topic))
		return -KMQ_R_BAD_LENGTH;
	if (!kmq_utf8_valid(p->topic.p, p->topic.len))
		return -KMQ_R_BAD_UTF8;
	if (!kmq_topic_name_valid(p->topic.p, p->topic.len))
		return -KMQ_R_BAD_TOPIC;
	if (!rd_u16(&r, &p->pid) || !rd_u16(&r, &q->required) ||
	    !rd_u32(&r, &q->timeout_ms))
		return -KMQ_R_BAD_LENGTH;
	if (!p->pid)
		return -KMQ_R_BAD_PACKET_ID;
	if (q->timeout_ms > KMQ_Q3_MAX_TIMEOUT_MS)
		q->timeout_ms = KMQ_Q3_MAX_TIMEOUT_MS;
	p->payload = r.p;
	p->payload_len = r.left;
	return 0;
}

/* A decimal number of at most @max digits' value at @t[*i..len). */
static bool rd_dec(const u8 *t, u32 len, u32 *i, u32 max, u32 *v)
{
	u32 start = *i;

	*v = 0;
	while (*i < len && t[*i] >= '0' && t[*i] <= '9') {
		*v = *v * 10 + (t[*i] - '0');
		if (*v > max)
			return false;
		(*i)++;
	}
	return *i > start;
}

int kmq_qos3_topic(const u8 *t, u32 len, struct kmq_qos3 *q, u32 *off)
{
	static const u8 prefix[] = "$qos3/";
	u32 i = sizeof(prefix) - 1, v;

	if (len < i || memcmp(t, prefix, i))
		return 0;
	memset(q, 0, sizeof(*q));
	if (len - i >= 3 && !memcmp(t + i, "all", 3)) {
		i += 3;
	} else {
		if (!rd_dec(t, len, &i, 65535, &v) || !v)
			return -KMQ_R_BAD_TOPIC;
		q->required = v;
	}
	if (i < len && t[i] == ',') {
		i++;
		if (!rd_dec(t, len, &i, KMQ_Q3_MAX_TIMEOUT_MS, &v) || !v)
			return -KMQ_R_BAD_TOPIC;
		q->timeout_ms = v;
	}
	if (i >= len || t[i] != '/')
		return -KMQ_R_BAD_TOPIC;
	i++;
	if (!kmq_topic_name_valid(t + i, len - i))
		return -KMQ_R_BAD_TOPIC;
	*off = i;
	return 1;
}

int kmq_decode_ack(u8 type, const u8 *body, u32 len, u16 *pid)
{
	switch (type) {
	case KMQ_PUBACK:
	case KMQ_PUBREC:
	case KMQ_PUBREL:
	case KMQ_PUBCOMP:
	case KMQ_UNSUBACK:
		break;
	default:
		return -KMQ_R_BAD_TYPE;
	}
	if (len != 2)
		return -KMQ_R_BAD_LENGTH;
	*pid = (u16)((body[0] << 8) | body[1]);
	if (!*pid)
		return -KMQ_R_BAD_PACKET_ID;
	return 0;
}

static int decode_filters(const u8 *body, u32 len, u16 *pid,
			  struct kmq_iter *it, bool with_qos)
{
	struct kmq_rd r = { .p = body, .left = len };
	struct kmq_str f;
	u8 q;

	if (!rd_u16(&r, pid))
		return -KMQ_R_BAD_LENGTH;
	if (!*pid)
		return -KMQ_R_BAD_PACKET_ID;
	if (!r.left)
		return -KMQ_R_EMPTY_PAYLOAD;

	it->p = r.p;
	it->left = r.left;
	it->with_qos = with_qos;

	while (r.left) {
		if (!rd_str(&r, &f))
			return -KMQ_R_BAD_LENGTH;
		if (!f.len)
			return -KMQ_R_BAD_FILTER;
		if (!kmq_utf8_valid(f.p, f.len))
			return -KMQ_R_BAD_UTF8;
		if (with_qos) {
			if (!rd_u8(&r, &q))
				return -KMQ_R_BAD_LENGTH;
			if (q > 2)
				return -KMQ_R_BAD_QOS;
		} else if (!kmq_topic_filter_valid(f.p, f.len)) {
			return -KMQ_R_BAD_FILTER;
		}
	}
	return 0;
}

int kmq_decode_subscribe(const u8 *body, u32 len, u16 *pid,
			 struct kmq_iter *it)
{
	return decode_filters(body, len, pid, it, true);
}

int kmq_decode_unsubscribe(const u8 *body, u32 len, u16 *pid,
			   struct kmq_iter *it)
{
	return decode_filters(body, len, pid, it, false);
}

bool kmq_iter_next(struct kmq_iter *it, struct kmq_str *filter, u8 *qos)
{
	struct kmq_rd r = { .p = it->p, .left = it->left };
	u8 q = 0;

	if (!rd_str(&r, filter))
		return false;
	if (it->with_qos && !rd_u8(&r, &q))
		return false;
	if (qos)
		*qos = q;
	it->p = r.p;
	it->left = r.left;
	return true;
}

u32 kmq_encode_length(u8 *out, u32 len)
{
	u32 n = 0;

	len &= KMQ_MAX_REMAINING;
	do {
		u8 b = len & 0x7f;

		len >>= 7;
		if (len)
			b |= 0x80;
		out[n++] = b;
	} while (len);
	return n;
}

u32 kmq_encode_connack(u8 *out, bool session_present, u8 rc)
{
	out[0] = KMQ_CONNACK << 4;
	out[1] = 2;
	out[2] = (session_present && rc == KMQ_CONNACK_ACCEPTED) ? 1 : 0;
	out[3] = rc;
	return 4;
}

u32 kmq_encode_ack(u8 *out, u8 type, u16 pid)
{
	out[0] = (u8)(type << 4) | (type == KMQ_PUBREL ? 0x2 : 0);
	out[1] = 2;
	wr_u16(out + 2, pid);
	return 4;
}

u32 kmq_encode_q3_answer(u8 *out, u16 pid, u8 result, u16 confirmed,
			 u16 matched, u16 unconfirmable)
{
	out[0] = (KMQ_PUBACK << 4) | 0x1;
	out[1] = KMQ_Q3_ANSWER_LEN - 2;
	wr_u16(out + 2, pid);
	out[4] = result;
	wr_u16(out + 5, confirmed);
	wr_u16(out + 7, matched);
	wr_u16(out + 9, unconfirmable);
	return KMQ_Q3_ANSWER_LEN;
}

u32 kmq_encode_pingresp(u8 *out)
{
	out[0] = KMQ_PINGRESP << 4;
	out[1] = 0;
	return 2;
}

u32 kmq_encode_suback_hdr(u8 *out, u16 pid, u32 n)
{
	u32 off;

	out[0] = (KMQ_SUBACK << 4);
	off = 1 + kmq_encode_length(out + 1, 2 + n);
	wr_u16(out + off, pid);
	return off + 2;
}

u32 kmq_encode_publish_prefix(u8 *out, u8 qos, bool dup, bool retain,
			      u16 topic_len, u32 payload_len)
{
	u32 rem, off;

	qos &= 0x03;
	rem = 2 + (u32)topic_len + (qos ? 2 : 0) + payload_len;
	out[0] = (KMQ_PUBLISH << 4) | (qos << 1) | (dup && qos ? 0x08 : 0) |
		 (retain ? 0x01 : 0);
	off = 1 + kmq_encode_length(out + 1, rem);
	wr_u16(out + off, topic_len);
	return off + 2;
}

u32 kmq_encode_publish_hdr(u8 *out, u8 qos, bool dup, bool retain,
			   const u8 *topic, u16 topic_len, u16 pid,
			   u32 payload_len)
{
	u32 off;

	off = kmq_encode_publish_prefix(out, qos, dup, retain, topic_len,
					payload_len);
	if (topic_len)
		memcpy(out + off, topic, topic_len);
	off += topic_len;
	if (qos & 0x03) {
		wr_u16(out + off, pid);
		off += 2;
	}
	return off;
}
