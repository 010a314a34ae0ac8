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
#include <linux/err.h>
#include <linux/bitops.h>
#include <linux/mm.h>
#include <linux/rbtree.h>

#include <linux/kmqttd.h>

#include "kmqttd.h"
#include "core/topic.h"
#include "core/trie.h"
#include "core/acl.h"

/* Inbound QoS 2 packet ids awaiting PUBREL: one bit per id. */
#define KMQ_QOS2_MAP_BYTES	(BITS_TO_LONGS(65536) * sizeof(long))
/* Memory charged per level of a subscription (a trie node, at most). */
#define KMQ_TRIE_LEVEL_COST	64
/* SUBSCRIBE filters handled per hold of route_lock for writing. */
#define KMQ_SUB_BATCH		64

/* The refusal reason of an allocation that failed with @err. */
static int kmq_mem_reason(int err)
{
	return err == -ENOSPC ? KMQ_R_MEMORY : KMQ_R_NOMEM;
}

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

	return kmq_conn_reply(conn, buf, kmq_encode_ack(buf, type, pid));
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
	char auto_id[24];
	u32 max_ka;
	unsigned long ka;
	bool sp;
	u8 rc;
	int ret;

	ret = kmq_decode_connect(body, len, &c);
	if (ret == -KMQ_R_BAD_LEVEL)
		return kmq_connect_refuse(conn, KMQ_R_BAD_LEVEL,
					  KMQ_CONNACK_BAD_PROTOCOL);
	if (ret < 0)
		return kmq_fail(conn, -ret);

	max_ka = READ_ONCE(conn->kn->set.max_keepalive);
	if (max_ka && (!c.keepalive || c.keepalive > max_ka))
		return kmq_connect_refuse(conn, KMQ_R_KEEPALIVE_CAP,
					  KMQ_CONNACK_ID_REJECTED);
	ret = kmq_auth_connect(conn, &c, &rc);
	if (ret)
		return kmq_connect_refuse(conn, ret, rc);
	if (!c.client_id.len) {
		/* MQTT-3.1.3-8: an empty id needs a clean session */
		if (!c.clean)
			return kmq_connect_refuse(conn, KMQ_R_BAD_CLIENT_ID,
						  KMQ_CONNACK_ID_REJECTED);
		c.client_id.len = scnprintf(auto_id, sizeof(auto_id),
					    "auto-%08x%08x", get_random_u32(),
					    get_random_u32());
		c.client_id.p = auto_id;
	}
	if (c.will && !kmq_topic_within_limits(conn->kn, c.will_topic.p,
					       c.will_topic.len)) {
		conn->close_reason = KMQ_R_TOPIC_LIMIT;
		return -EPROTO;
	}
	if (c.will) {
		struct kmq_msg *will = kmq_msg_new_will(conn->kn, &c);

		if (IS_ERR(will))
			return kmq_connect_refuse(conn,
						  kmq_mem_reason(PTR_ERR(will)),
						  KMQ_CONNACK_UNAVAILABLE);
		conn->will = will;
	}
	if (c.has_user) {
		conn->username = kmemdup_nul(c.user.p, c.user.len,
					     GFP_KERNEL | __GFP_NOWARN);
		if (!conn->username)
			return kmq_connect_refuse(conn, KMQ_R_NOMEM,
						  KMQ_CONNACK_UNAVAILABLE);
	}
	ret = kmq_session_connect(conn, &c, &sp);
	if (ret)
		return kmq_connect_refuse(conn, kmq_mem_reason(ret),
					  KMQ_CONNACK_UNAVAILABLE);
	conn->since = ktime_get_real_seconds();

	WRITE_ONCE(conn->keepalive, c.keepalive);
	WRITE_ONCE(conn->last_rx, jiffies);
	WRITE_ONCE(conn->connected, true);

	ret = kmq_send_connack(conn, sp, KMQ_CONNACK_ACCEPTED);
	if (!ret && sp)
		ret = kmq_session_resume(conn);
	if (ret)
		return kmq_fail(conn, KMQ_R_NOMEM);
	if (c.keepalive) {
		ka = (unsigned long)c.keepalive * HZ * 3 / 2;
		mod_timer(&conn->ka_timer, jiffies + ka);
	} else {
		timer_delete(&conn->ka_timer);
	}
	kmq_event_client(conn->kn, KMQTTD_EVENT_CONNECTED, conn, 0);
	return 0;
}

static int kmq_sub_cmp(const struct kmq_sub *sub, const struct kmq_str *f)
{
	int r = memcmp(sub->filter, f->p, min(sub->len, f->len));

	if (r)
		return r;
	return (int)sub->len - (int)f->len;
}

/*
 * Find @f among @s's subscriptions, or where it would go (@link, @parent).
 * Context: kn->route_lock held.
 */
static struct kmq_sub *kmq_sub_lookup(struct kmq_session *s,
				      const struct kmq_str *f,
				      struct rb_node ***link,
				      struct rb_node **parent)
{
	struct rb_node **p = &s->subs_tree.rb_node, *up = NULL;
	struct kmq_sub *sub;
	int cmp;

	while (*p) {
		up = *p;
		sub = rb_entry(up, struct kmq_sub, rb);
		cmp = kmq_sub_cmp(sub, f);
		if (!cmp)
			return sub;
		p = cmp > 0 ? &up->rb_left : &up->rb_right;
	}
	if (link) {
		*link = p;
		*parent = up;
	}
	return NULL;
}

static struct kmq_sub *kmq_sub_find(struct kmq_session *s,
				    const struct kmq_str *f)
{
	return kmq_sub_lookup(s, f, NULL, NULL);
}

/* Context: kn->route_lock held for writing. */
static int kmq_sub_add(struct kmq_session *s, const struct kmq_str *f, u8 qos)
{
	struct kmq_net *kn = s->kn;
	struct rb_node **link, *parent;
	struct kmq_sub *sub;
	unsigned int max;
	u32 charge;

	sub = kmq_sub_lookup(s, f, &link, &parent);
	if (sub) {
		/* MQTT-3.8.4-3: replace, keeping the flow */
		if (kmq_trie_add(kn->trie, f->p, f->len, s, qos) < 0)
			return -ENOMEM;
		sub->qos = qos;
		return 0;
	}
	max = READ_ONCE(kn->set.max_subs);
	if (max && s->nsubs >= max) {
		kmq_stat_inc(kn, KMQ_S_REFUSAL + KMQ_R_MAX_SUBS);
		return -ENOSPC;
	}
	/* the trie may need a node per level, shared or not */
	charge = struct_size(sub, filter, f->len) +
		 kmq_topic_levels(f->p, f->len) * KMQ_TRIE_LEVEL_COST;
	if (!kmq_mem_charge(kn, charge)) {
		kmq_mem_refused(kn);
		return -ENOSPC;
	}
	sub = kmalloc(struct_size(sub, filter, f->len),
		      GFP_KERNEL | __GFP_NOWARN);
	if (!sub)
		goto err_uncharge;
	sub->qos = qos;
	sub->len = f->len;
	sub->charge = charge;
	memcpy(sub->filter, f->p, f->len);
	if (kmq_trie_add(kn->trie, f->p, f->len, s, qos) < 0) {
		kfree(sub);
		goto err_uncharge;
	}
	rb_link_node(&sub->rb, parent, link);
	rb_insert_color(&sub->rb, &s->subs_tree);
	list_add_tail(&sub->node, &s->subs);
	s->nsubs++;
	kn->subs++;
	atomic_inc(&kmq_live.subs);
	return 0;

err_uncharge:
	kmq_mem_uncharge(kn, charge);
	kmq_stat_inc(kn, KMQ_S_REFUSAL + KMQ_R_NOMEM);
	return -ENOMEM;
}

/* Context: kn->route_lock held for writing. */
static void kmq_sub_del(struct kmq_session *s, struct kmq_sub *sub)
{
	struct kmq_net *kn = s->kn;

	kmq_trie_del(kn->trie, sub->filter, sub->len, s);
	list_del(&sub->node);
	rb_erase(&sub->rb, &s->subs_tree);
	kmq_mem_uncharge(kn, sub->charge);
	kfree(sub);
	s->nsubs--;
	kn->subs--;
	atomic_dec(&kmq_live.subs);
}

/* subscriptions removed per hold of route_lock by kmq_subs_remove_all() */
#define KMQ_SUBS_DEL_BATCH	256

/**
 * kmq_subs_remove_all() - remove every subscription of a session
 * @s: the session
 *
 * After this returns no publisher can reach @s.  A session may hold
 * hundreds of thousands of subscriptions: they are removed in batches,
 * and route_lock is let go between them, so that publishers (and the
 * other readers of the topic tree) do not stall behind one session's end.
 * Publishers that find @s in the meantime queue to it as before.
 *
 * Context: process context; takes kn->route_lock for writing.  Nothing
 * else changes @s->subs meanwhile: the session has no connection, and
 * kn->sess_lock, held by the caller, keeps the control plane out.
 */
void kmq_subs_remove_all(struct kmq_session *s)
{
	struct kmq_net *kn = s->kn;
	struct kmq_sub *sub;
	unsigned int n;

	lockdep_assert_held(&kn->sess_lock);
	do {
		down_write(&kn->route_lock);
		for (n = 0; n < KMQ_SUBS_DEL_BATCH && !list_empty(&s->subs);
		     n++) {
			sub = list_first_entry(&s->subs, struct kmq_sub, node);
			kmq_sub_del(s, sub);
		}
		up_write(&kn->route_lock);
		cond_resched();
	} while (!list_empty(&s->subs));
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

	count = it;
	down_write(&kn->route_lock);
	while (kmq_iter_next(&it, &f, &qos)) {
		u8 rc = 0x80;

		if (!kmq_topic_filter_valid(f.p, f.len) ||
		    !kmq_topic_within_limits(kn, f.p, f.len))
			goto next;
		if (!kmq_acl_check(kn, conn->sess, KMQ_ACL_OP_SUBSCRIBE, f.p,
				   f.len)) {
			kmq_stat_inc(kn, KMQ_S_REFUSAL + KMQ_R_ACL_SUBSCRIBE);
			goto next;
		}
		if (!kmq_sub_add(conn->sess, &f, qos))
			rc = qos;
next:
		buf[hlen + i++] = rc;
		/* let publishers in between batches of a long SUBSCRIBE */
		if (!(i % KMQ_SUB_BATCH)) {
			up_write(&kn->route_lock);
			cond_resched();
			down_write(&kn->route_lock);
		}
	}
	up_write(&kn->route_lock);

	ret = kmq_conn_reply(conn, buf, hlen + n);
	if (ret)
		goto out;
	/* retained messages follow the SUBACK, filter by filter */
	for (i = 0; kmq_iter_next(&count, &f, &qos); i++)
		if (buf[hlen + i] != 0x80)
			kmq_retain_deliver(kn, conn->sess, f.p, f.len,
					   buf[hlen + i]);
out:
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
		s = kmq_sub_find(conn->sess, &f);
		if (s)
			kmq_sub_del(conn->sess, s);
	}
	up_write(&kn->route_lock);
	return kmq_send_ack(conn, KMQ_UNSUBACK, pid);
}

struct kmq_route_ctx {
	struct kmq_scratch *sc;
	u32 n;
	bool overflow;
};

/* kmq_trie_match() callback: collect one destination. */
static void kmq_route_collect(void *arg, void *owner, u8 qos)
{
	struct kmq_route_ctx *ctx = arg;
	struct kmq_scratch *sc = ctx->sc;

	if (ctx->n == sc->cap) {
		u32 cap = sc->cap ? sc->cap * 2 : 16;
		struct kmq_target *t;

		t = kvmalloc_array(cap, sizeof(*t), GFP_KERNEL | __GFP_NOWARN);
		if (!t) {
			ctx->overflow = true;
			return;
		}
		if (ctx->n)
			memcpy(t, sc->t, ctx->n * sizeof(*t));
		kvfree(sc->t);
		sc->t = t;
		sc->cap = cap;
	}
	sc->t[ctx->n].sess = owner;
	sc->t[ctx->n].qos = qos;
	ctx->n++;
}

static int kmq_target_cmp(const void *a, const void *b)
{
	const struct kmq_target *x = a, *y = b;

	if (x->sess == y->sess)
		return 0;
	return x->sess < y->sess ? -1 : 1;
}

/**
 * kmq_route() - deliver a message to every matching subscription
 * @kn: namespace state
 * @sc: scratch array of the caller's context
 * @m: the message
 * @from: the publisher's session, or NULL
 *
 * One delivery per subscriber, at the highest QoS among its matching
 * subscriptions (MQTT-3.3.5-1), capped at the published QoS, if the ACL
 * lets the subscriber read the topic.  Every delivery shares @m.
 *
 * Context: process context that owns @sc.
 * Return: true if a subscriber's queue (not @from's: a client that
 * receives its own messages must go on reading its acknowledgements)
 * asks the publisher to hold (flow control, kmq_conn_hold()).
 */
bool kmq_route(struct kmq_net *kn, struct kmq_scratch *sc, struct kmq_msg *m,
	       const struct kmq_session *from)
{
	struct kmq_route_result rr;

	kmq_route_counted(kn, sc, m, from, &rr);
	return rr.hold;
}

/**
 * kmq_route_counted() - kmq_route(), counting the deliveries
 * @kn: namespace state
 * @sc: scratch array of the caller's context
 * @m: the message
 * @from: the publisher's session, or NULL
 * @rr: filled with the counts and the flow-control answer
 */
void kmq_route_counted(struct kmq_net *kn, struct kmq_scratch *sc,
		       struct kmq_msg *m, const struct kmq_session *from,
		       struct kmq_route_result *rr)
{
	struct kmq_route_ctx ctx = { .sc = sc };
	struct kmq_route_result res = {};
	struct kmq_target *t;
	bool acl, hold;
	u32 i, j;

	down_read(&kn->route_lock);
	kmq_trie_match(kn->trie, m->data, m->topic_len, kmq_route_collect,
		       &ctx);
	if (ctx.overflow) {
		kmq_stat_inc(kn, KMQ_S_REFUSAL + KMQ_R_NOMEM);
		kmq_stat_inc(kn, KMQ_S_DROPPED);
	}
	t = sc->t;
	if (ctx.n > 1)
		sort(t, ctx.n, sizeof(*t), kmq_target_cmp, NULL);
	acl = READ_ONCE(kn->nacl);
	for (i = 0; i < ctx.n; i = j) {
		u8 qos = t[i].qos;

		for (j = i + 1; j < ctx.n && t[j].sess == t[i].sess; j++)
			qos = max(qos, t[j].qos);
		/* a subscription to "#" must not leak what it may not read */
		if (acl && !kmq_acl_check(kn, t[i].sess, KMQ_ACL_OP_READ,
					  m->data, m->topic_len)) {
			kmq_stat_inc(kn, KMQ_S_REFUSAL + KMQ_R_ACL_DELIVERY);
			continue;
		}
		qos = min(qos, m->qos);
		res.matched++;
		hold = false;
		if (kmq_session_deliver(t[i].sess, m, qos, false, &hold) && qos)
			res.confirmable++;
		if (hold && t[i].sess != from)
			res.hold = true;
	}
	up_read(&kn->route_lock);
	*rr = res;
}

/*
 * Inbound QoS 2 packet ids awaiting PUBREL are session state, so that a
 * PUBLISH re-sent after a reconnect is not delivered twice.  Only the
 * attached connection's io_work touches them.
 */
static bool kmq_qos2_seen(struct kmq_session *s, u16 pid)
{
	return s->qos2_ids && test_bit(pid, s->qos2_ids);
}

/* Return: 0, -ENOSPC (max_memory) or -ENOMEM. */
static int kmq_qos2_add(struct kmq_session *s, u16 pid)
{
	if (!s->qos2_ids) {
		if (!kmq_mem_charge(s->kn, KMQ_QOS2_MAP_BYTES))
			return -ENOSPC;
		s->qos2_ids = kvzalloc(KMQ_QOS2_MAP_BYTES,
				       GFP_KERNEL | __GFP_NOWARN);
		if (!s->qos2_ids) {
			kmq_mem_uncharge(s->kn, KMQ_QOS2_MAP_BYTES);
			return -ENOMEM;
		}
	}
	__set_bit(pid, s->qos2_ids);
	s->nqos2++;
	return 0;
}

static void kmq_qos2_del(struct kmq_session *s, u16 pid)
{
	if (s->qos2_ids && __test_and_clear_bit(pid, s->qos2_ids))
		s->nqos2--;
}

/**
 * kmq_qos2_free() - free a session's inbound QoS 2 state
 * @s: the session, being destroyed
 */
void kmq_qos2_free(struct kmq_session *s)
{
	if (!s->qos2_ids)
		return;
	kvfree(s->qos2_ids);
	s->qos2_ids = NULL;
	s->nqos2 = 0;
	kmq_mem_uncharge(s->kn, KMQ_QOS2_MAP_BYTES);
}

/*
 * May the publisher write on the (real) topic?  A refused PUBLISH is
 * still acknowledged, as 3.1.1 has no way to say no, and counted.
 */
static bool kmq_publish_allowed(struct kmq_conn *conn,
				const struct kmq_publish *p)
{
	if (kmq_acl_check(conn->kn, conn->sess, KMQ_ACL_OP_WRITE, p->topic.p,
			  p->topic.len))
		return true;
	kmq_stat_inc(conn->kn, KMQ_S_REFUSAL + KMQ_R_ACL_PUBLISH);
	net_info_ratelimited("%pISpc: publish denied by the ACL\n",
			     &conn->peer.sa);
	return false;
}

/* Store if RETAIN, then route; the message is created once. */
static int kmq_publish(struct kmq_conn *conn, const struct kmq_publish *p)
{
	struct kmq_net *kn = conn->kn;
	struct kmq_msg *m;

	if (!kmq_publish_allowed(conn, p))
		return 0;

	m = kmq_msg_new(kn, p);
	if (IS_ERR(m)) {
		kmq_stat_inc(kn, KMQ_S_DROPPED);
		if (PTR_ERR(m) == -ENOSPC)
			kmq_mem_refused(kn);
		else
			kmq_stat_inc(kn, KMQ_S_REFUSAL + KMQ_R_NOMEM);
		return -ENOMEM;
	}
	if (p->retain)
		kmq_retain_store(kn, m);
	if (kmq_route(kn, &conn->scratch, m, conn->sess))
		kmq_conn_hold(conn);
	kmq_msg_put(m);
	return 0;
}

/*
 * A QoS 3 publish (native, or by the "$qos3/" convention): routed at
 * QoS 2 at most, then answered once the subscribers confirmed.  Refused
 * by the pending limits or the ACL, it is answered at once and not
 * routed.
 */
static int kmq_publish_q3(struct kmq_conn *conn, struct kmq_publish *p,
			  const struct kmq_qos3 *ask, u8 mode)
{
	struct kmq_net *kn = conn->kn;
	struct kmq_msg *m;
	int ret;

	if (!kmq_publish_allowed(conn, p))
		return kmq_q3_answer_refused(conn, p->pid, mode);
	p->qos = min_t(u8, p->qos, 2);
	m = kmq_msg_new(kn, p);
	if (IS_ERR(m)) {
		if (PTR_ERR(m) == -ENOSPC)
			kmq_mem_refused(kn);
		else
			kmq_stat_inc(kn, KMQ_S_REFUSAL + KMQ_R_NOMEM);
		return kmq_q3_answer_refused(conn, p->pid, mode);
	}
	ret = kmq_q3_publish(conn, m, ask, p->pid, mode, p->retain);
	kmq_msg_put(m);
	if (ret == -ENOSPC)
		return kmq_q3_answer_refused(conn, p->pid, mode);
	return ret;
}

static int kmq_handle_publish(struct kmq_conn *conn, u8 flags,
			      const u8 *body, u32 len)
{
	struct kmq_session *s = conn->sess;
	struct kmq_publish p;
	struct kmq_qos3 ask;
	u32 off;
	int ret;

	if (((flags >> 1) & 3) == 3 && conn->qos3) {
		ret = kmq_decode_publish3(flags, body, len, &p, &ask);
		if (ret < 0)
			return kmq_fail(conn, -ret);
	} else {
		ret = kmq_decode_publish(flags, body, len, &p);
		if (ret < 0)
			return kmq_fail(conn, -ret);
	}
	WRITE_ONCE(conn->msgs_in, conn->msgs_in + 1);
	if (!kmq_topic_within_limits(conn->kn, p.topic.p, p.topic.len)) {
		conn->close_reason = KMQ_R_TOPIC_LIMIT;
		return -EPROTO;
	}
	kmq_stat_inc(conn->kn, KMQ_S_MSGS_IN);

	if (p.qos == 3) {
		/* a DUP re-send of a pending request is not routed again */
		if (kmq_q3_pending(conn, p.pid))
			return 0;
		return kmq_publish_q3(conn, &p, &ask, KMQ_Q3_NATIVE);
	}
	ret = kmq_qos3_topic(p.topic.p, p.topic.len, &ask, &off);
	if (ret < 0)
		return kmq_fail(conn, -ret);
	if (ret) {
		/* "$qos3/N/topic": route the real topic */
		p.topic.p += off;
		p.topic.len -= off;
	}

	switch (p.qos) {
	case 0:
		/* no acknowledgment to withhold: routed without QoS 3 */
		kmq_publish(conn, &p);
		return 0;
	case 1:
		if (ret) {
			if (kmq_q3_pending(conn, p.pid))
				return 0;
			return kmq_publish_q3(conn, &p, &ask, KMQ_Q3_TOPIC_Q1);
		}
		/* acknowledged even if it could not be routed (3.3.5-2) */
		kmq_publish(conn, &p);
		return kmq_send_ack(conn, KMQ_PUBACK, p.pid);
	default:
		/* deliver once; a re-sent PUBLISH only gets its PUBREC again */
		if (!kmq_qos2_seen(s, p.pid)) {
			int err = kmq_qos2_add(s, p.pid);

			if (err)
				return kmq_fail(conn, kmq_mem_reason(err));
			if (ret)
				ret = kmq_publish_q3(conn, &p, &ask,
						     KMQ_Q3_TOPIC_Q2);
			else
				ret = kmq_publish(conn, &p);
			if (ret == -ENOMEM)
				ret = 0;
			if (ret)
				return ret;
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
		ret = kmq_decode_ack(fh->type, body, fh->remaining, &pid);
		if (ret < 0)
			return kmq_fail(conn, -ret);
		return kmq_session_ack(conn, fh->type, pid);
	case KMQ_PUBREL:
		/* an unknown id is answered too: the PUBCOMP may have been lost */
		ret = kmq_decode_ack(fh->type, body, fh->remaining, &pid);
		if (ret < 0)
			return kmq_fail(conn, -ret);
		kmq_qos2_del(conn->sess, pid);
		/* a pending "$qos3/" request withholds its PUBCOMP */
		if (kmq_q3_pubrel(conn, pid))
			return 0;
		return kmq_send_ack(conn, KMQ_PUBCOMP, pid);
	case KMQ_SUBSCRIBE:
		return kmq_handle_subscribe(conn, body, fh->remaining);
	case KMQ_UNSUBSCRIBE:
		return kmq_handle_unsubscribe(conn, body, fh->remaining);
	case KMQ_PINGREQ: {
		u8 buf[2];

		return kmq_conn_reply(conn, buf, kmq_encode_pingresp(buf));
	}
	case KMQ_DISCONNECT:
		/* MQTT-3.14.4-3: discard the Will */
		if (conn->will) {
			kmq_msg_put(conn->will);
			conn->will = NULL;
		}
		kmq_conn_close(conn, KMQ_R_NONE);
		return 0;
	case KMQ_CONNECT:
		return kmq_fail(conn, KMQ_R_SECOND_CONNECT);
	default:
		return kmq_fail(conn, KMQ_R_UNEXPECTED);
	}
}
