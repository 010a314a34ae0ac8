// SPDX-License-Identifier: GPL-2.0
/*
 * broker.c - MQTT behaviour: CONNECT, SUBSCRIBE, PUBLISH routing.
 *
 * Everything here runs in the connection's io_work (process context),
 * except kmq_session_end() which runs in its release work.  Packet bodies
 * are decoded by the kernel-free core (core/codec.c); this file turns the
 * results into session state, routing and replies.
 */
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/random.h>
#include <linux/jiffies.h>
#include <linux/timer.h>

#include "kmqttd.h"
#include "core/topic.h"
#include "core/trie.h"

/* Inbound QoS 2 messages a client may have awaiting PUBREL. */
#define KMQ_MAX_QOS2_IN		65535

static int kmq_fail(struct kmq_conn *conn, int reason)
{
	kmq_refuse(conn, reason);
	return -EPROTO;
}

static int kmq_send_connack(struct kmq_conn *conn, bool sp, u8 rc)
{
	u8 buf[4];

	return kmq_conn_send_raw(conn, buf, kmq_encode_connack(buf, sp, rc));
}

static int kmq_send_ack(struct kmq_conn *conn, u8 type, u16 pid)
{
	u8 buf[4];

	return kmq_conn_send_raw(conn, buf, kmq_encode_ack(buf, type, pid));
}

/* Refuse a CONNECT with a return code, then close once it is sent. */
static int kmq_connect_refuse(struct kmq_conn *conn, int reason, u8 rc)
{
	kmq_refuse(conn, reason);
	conn->closing_after_tx = true;
	return kmq_send_connack(conn, false, rc);
}

static int kmq_handle_connect(struct kmq_conn *conn, const u8 *body, u32 len)
{
	struct kmq_connect c;
	unsigned long ka;
	int ret;

	ret = kmq_decode_connect(body, len, &c);
	if (ret == -KMQ_R_BAD_LEVEL)
		return kmq_connect_refuse(conn, KMQ_R_BAD_LEVEL,
					  KMQ_CONNACK_BAD_PROTOCOL);
	if (ret < 0)
		return kmq_fail(conn, -ret);

	if (!c.client_id.len) {
		/* MQTT-3.1.3-8: an empty id needs a clean session */
		if (!c.clean)
			return kmq_connect_refuse(conn, KMQ_R_BAD_CLIENT_ID,
						  KMQ_CONNACK_ID_REJECTED);
		conn->client_id = kasprintf(GFP_KERNEL, "auto-%08x%08x",
					    get_random_u32(), get_random_u32());
	} else {
		conn->client_id = kmemdup_nul(c.client_id.p, c.client_id.len,
					      GFP_KERNEL);
	}
	if (!conn->client_id)
		return kmq_connect_refuse(conn, KMQ_R_NOMEM,
					  KMQ_CONNACK_UNAVAILABLE);

	conn->clean = c.clean;
	WRITE_ONCE(conn->keepalive, c.keepalive);
	WRITE_ONCE(conn->last_rx, jiffies);
	WRITE_ONCE(conn->connected, true);
	atomic_inc(&kmq_live.sessions);

	ret = kmq_send_connack(conn, false, KMQ_CONNACK_ACCEPTED);
	if (ret)
		return ret;
	if (c.keepalive) {
		ka = (unsigned long)c.keepalive * HZ * 3 / 2;
		mod_timer(&conn->ka_timer, jiffies + ka);
	} else {
		timer_delete(&conn->ka_timer);
	}
	return 0;
}

static struct kmq_sub *kmq_sub_find(struct kmq_conn *conn,
				    const struct kmq_str *f)
{
	struct kmq_sub *s;

	list_for_each_entry(s, &conn->subs, node)
		if (s->len == f->len && !memcmp(s->filter, f->p, f->len))
			return s;
	return NULL;
}

/* Context: kn->route_lock held for writing. */
static int kmq_sub_add(struct kmq_conn *conn, const struct kmq_str *f, u8 qos)
{
	struct kmq_net *kn = conn->kn;
	struct kmq_sub *s;

	s = kmq_sub_find(conn, f);
	if (s) {
		s->qos = qos;
		return kmq_trie_add(kn->trie, f->p, f->len, conn, qos) < 0 ?
		       -ENOMEM : 0;
	}
	s = kmalloc(struct_size(s, filter, f->len), GFP_KERNEL | __GFP_NOWARN);
	if (!s)
		return -ENOMEM;
	s->qos = qos;
	s->len = f->len;
	memcpy(s->filter, f->p, f->len);
	if (kmq_trie_add(kn->trie, f->p, f->len, conn, qos) < 0) {
		kfree(s);
		return -ENOMEM;
	}
	list_add_tail(&s->node, &conn->subs);
	conn->nsubs++;
	kn->subs++;
	atomic_inc(&kmq_live.subs);
	return 0;
}

/* Context: kn->route_lock held for writing. */
static void kmq_sub_del(struct kmq_conn *conn, struct kmq_sub *s)
{
	struct kmq_net *kn = conn->kn;

	kmq_trie_del(kn->trie, s->filter, s->len, conn);
	list_del(&s->node);
	kfree(s);
	conn->nsubs--;
	kn->subs--;
	atomic_dec(&kmq_live.subs);
}

static int kmq_handle_subscribe(struct kmq_conn *conn, const u8 *body,
				u32 len)
{
	struct kmq_net *kn = conn->kn;
	struct kmq_iter it, count;
	struct kmq_str f;
	u32 n = 0, i = 0, hlen;
	u8 *buf, qos;
	u16 pid;
	int ret;

	ret = kmq_decode_subscribe(body, len, &pid, &it);
	if (ret < 0)
		return kmq_fail(conn, -ret);
	count = it;
	while (kmq_iter_next(&count, &f, NULL))
		n++;
	/* 7 bytes of header at most, then one return code per filter */
	buf = kmalloc(7 + n, GFP_KERNEL | __GFP_NOWARN);
	if (!buf)
		return kmq_fail(conn, KMQ_R_NOMEM);
	hlen = kmq_encode_suback_hdr(buf, pid, n);

	down_write(&kn->route_lock);
	while (kmq_iter_next(&it, &f, &qos)) {
		u8 rc = 0x80;

		if (kmq_topic_filter_valid(f.p, f.len)) {
			/* outbound QoS 1/2 is not implemented yet: grant 0 */
			qos = 0;
			if (!kmq_sub_add(conn, &f, qos))
				rc = qos;
		}
		buf[hlen + i++] = rc;
	}
	up_write(&kn->route_lock);

	ret = kmq_conn_send_raw(conn, buf, hlen + n);
	kfree(buf);
	return ret;
}

static int kmq_handle_unsubscribe(struct kmq_conn *conn, const u8 *body,
				  u32 len)
{
	struct kmq_net *kn = conn->kn;
	struct kmq_iter it;
	struct kmq_str f;
	struct kmq_sub *s;
	u16 pid;
	int ret;

	ret = kmq_decode_unsubscribe(body, len, &pid, &it);
	if (ret < 0)
		return kmq_fail(conn, -ret);
	down_write(&kn->route_lock);
	while (kmq_iter_next(&it, &f, NULL)) {
		s = kmq_sub_find(conn, &f);
		if (s)
			kmq_sub_del(conn, s);
	}
	up_write(&kn->route_lock);
	return kmq_send_ack(conn, KMQ_UNSUBACK, pid);
}

struct kmq_route_ctx {
	struct kmq_conn *conn;
	u32 n;
	bool overflow;
};

/* kmq_trie_match() callback: collect one destination. */
static void kmq_route_collect(void *arg, void *owner, u8 qos)
{
	struct kmq_route_ctx *ctx = arg;
	struct kmq_conn *conn = ctx->conn;

	if (ctx->n == conn->ntargets_cap) {
		u32 cap = conn->ntargets_cap ? conn->ntargets_cap * 2 : 16;
		struct kmq_target *t;

		t = kvmalloc_array(cap, sizeof(*t), GFP_KERNEL | __GFP_NOWARN);
		if (!t) {
			ctx->overflow = true;
			return;
		}
		if (ctx->n)
			memcpy(t, conn->targets, ctx->n * sizeof(*t));
		kvfree(conn->targets);
		conn->targets = t;
		conn->ntargets_cap = cap;
	}
	conn->targets[ctx->n].conn = owner;
	conn->targets[ctx->n].qos = qos;
	ctx->n++;
}

static int kmq_target_cmp(const void *a, const void *b)
{
	const struct kmq_target *x = a, *y = b;

	if (x->conn == y->conn)
		return 0;
	return x->conn < y->conn ? -1 : 1;
}

/*
 * Route @p to every matching subscription: one delivery per subscriber,
 * at the highest QoS among its matching subscriptions (MQTT-3.3.5-1),
 * capped at the published QoS.  One kmq_msg is shared by all.
 */
static void kmq_route(struct kmq_conn *conn, const struct kmq_publish *p)
{
	struct kmq_net *kn = conn->kn;
	struct kmq_route_ctx ctx = { .conn = conn };
	struct kmq_target *t;
	struct kmq_msg *m;
	u32 i, j;

	m = kmq_msg_new(p);
	if (!m) {
		kmq_stat_inc(kn, KMQ_S_DROPPED);
		kmq_stat_inc(kn, KMQ_S_REFUSAL + KMQ_R_NOMEM);
		return;
	}
	down_read(&kn->route_lock);
	kmq_trie_match(kn->trie, p->topic.p, p->topic.len, kmq_route_collect,
		       &ctx);
	if (ctx.overflow) {
		kmq_stat_inc(kn, KMQ_S_REFUSAL + KMQ_R_NOMEM);
		kmq_stat_inc(kn, KMQ_S_DROPPED);
	}
	t = conn->targets;
	if (ctx.n > 1)
		sort(t, ctx.n, sizeof(*t), kmq_target_cmp, NULL);
	for (i = 0; i < ctx.n; i = j) {
		u8 qos = t[i].qos;

		for (j = i + 1; j < ctx.n && t[j].conn == t[i].conn; j++)
			qos = max(qos, t[j].qos);
		kmq_conn_deliver(t[i].conn, m, min(qos, m->qos));
	}
	up_read(&kn->route_lock);
	kmq_msg_put(m);
}

static bool kmq_qos2_seen(struct kmq_conn *conn, u16 pid)
{
	u32 i;

	for (i = 0; i < conn->nqos2; i++)
		if (conn->qos2_ids[i] == pid)
			return true;
	return false;
}

static int kmq_qos2_add(struct kmq_conn *conn, u16 pid)
{
	u16 *ids;

	if (conn->nqos2 >= KMQ_MAX_QOS2_IN)
		return -ENOSPC;
	if (!(conn->nqos2 & 15)) {
		ids = krealloc_array(conn->qos2_ids, conn->nqos2 + 16,
				     sizeof(*ids), GFP_KERNEL | __GFP_NOWARN);
		if (!ids)
			return -ENOMEM;
		conn->qos2_ids = ids;
	}
	conn->qos2_ids[conn->nqos2++] = pid;
	return 0;
}

static void kmq_qos2_del(struct kmq_conn *conn, u16 pid)
{
	u32 i;

	for (i = 0; i < conn->nqos2; i++) {
		if (conn->qos2_ids[i] == pid) {
			conn->qos2_ids[i] = conn->qos2_ids[--conn->nqos2];
			return;
		}
	}
}

static int kmq_handle_publish(struct kmq_conn *conn, u8 flags,
			      const u8 *body, u32 len)
{
	struct kmq_publish p;
	int ret;

	ret = kmq_decode_publish(flags, body, len, &p);
	if (ret < 0)
		return kmq_fail(conn, -ret);
	kmq_stat_inc(conn->kn, KMQ_S_MSGS_IN);

	switch (p.qos) {
	case 0:
		kmq_route(conn, &p);
		return 0;
	case 1:
		kmq_route(conn, &p);
		return kmq_send_ack(conn, KMQ_PUBACK, p.pid);
	default:
		/* deliver once; a re-sent PUBLISH only gets its PUBREC again */
		if (!kmq_qos2_seen(conn, p.pid)) {
			if (kmq_qos2_add(conn, p.pid))
				return kmq_fail(conn, KMQ_R_NOMEM);
			kmq_route(conn, &p);
		}
		return kmq_send_ack(conn, KMQ_PUBREC, p.pid);
	}
}

/**
 * kmq_handle_packet() - act on one complete packet
 * @conn: the connection
 * @fh: its fixed header (type and flags already validated)
 * @body: fh->remaining bytes
 *
 * Context: the connection's io_work.
 * Return: 0, or a negative errno after which the connection is closed
 * (conn->close_reason says why).
 */
int kmq_handle_packet(struct kmq_conn *conn, const struct kmq_fixed *fh,
		      const u8 *body)
{
	u16 pid;
	int ret;

	if (!conn->connected) {
		if (fh->type != KMQ_CONNECT)
			return kmq_fail(conn, KMQ_R_NOT_CONNECTED);
		return kmq_handle_connect(conn, body, fh->remaining);
	}
	WRITE_ONCE(conn->last_rx, jiffies);

	switch (fh->type) {
	case KMQ_PUBLISH:
		return kmq_handle_publish(conn, fh->flags, body, fh->remaining);
	case KMQ_PUBACK:
	case KMQ_PUBREC:
	case KMQ_PUBCOMP:
		/* acks for outbound QoS 1/2, which is not sent yet */
		ret = kmq_decode_ack(fh->type, body, fh->remaining, &pid);
		return ret < 0 ? kmq_fail(conn, -ret) : 0;
	case KMQ_PUBREL:
		ret = kmq_decode_ack(fh->type, body, fh->remaining, &pid);
		if (ret < 0)
			return kmq_fail(conn, -ret);
		kmq_qos2_del(conn, pid);
		return kmq_send_ack(conn, KMQ_PUBCOMP, pid);
	case KMQ_SUBSCRIBE:
		return kmq_handle_subscribe(conn, body, fh->remaining);
	case KMQ_UNSUBSCRIBE:
		return kmq_handle_unsubscribe(conn, body, fh->remaining);
	case KMQ_PINGREQ: {
		u8 buf[2];

		return kmq_conn_send_raw(conn, buf, kmq_encode_pingresp(buf));
	}
	case KMQ_DISCONNECT:
		kmq_conn_close(conn, KMQ_R_NONE);
		return 0;
	case KMQ_CONNECT:
		return kmq_fail(conn, KMQ_R_SECOND_CONNECT);
	default:
		return kmq_fail(conn, KMQ_R_UNEXPECTED);
	}
}

/**
 * kmq_session_end() - drop a connection's session state
 * @conn: the connection, already unreachable from its socket
 *
 * Removes every subscription, after which no publisher can find @conn.
 *
 * Context: the connection's release work.
 */
void kmq_session_end(struct kmq_conn *conn)
{
	struct kmq_net *kn = conn->kn;
	struct kmq_sub *s, *tmp;

	down_write(&kn->route_lock);
	list_for_each_entry_safe(s, tmp, &conn->subs, node)
		kmq_sub_del(conn, s);
	up_write(&kn->route_lock);
	if (conn->connected)
		atomic_dec(&kmq_live.sessions);
}
