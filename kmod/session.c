// SPDX-License-Identifier: GPL-2.0
/*
 * session.c - MQTT sessions: the client-id table, takeover, persistence,
 * expiry, and the outbound queue with its QoS 1/2 state.
 *
 * A session outlives its connection when the client connected with
 * CleanSession 0: its subscriptions stay in the trie, QoS 1/2 messages
 * keep queueing (QoS 0 ones are not kept for an absent client), and
 * unacknowledged ones are sent again, with DUP, when it comes back.
 *
 * The outbound FIFO (core/qos.c) is filled by publishers under sess->lock
 * and drained by the attached connection's io_work, which alone assigns
 * packet ids and applies acknowledgments.
 */
#include <linux/slab.h>
#include <linux/jhash.h>
#include <linux/random.h>
#include <linux/jiffies.h>
#include <linux/workqueue.h>
#include <linux/err.h>

#include "kmqttd.h"

static struct kmem_cache *kmq_sess_cache __read_mostly;
static struct kmem_cache *kmq_dlv_cache __read_mostly;
static u32 kmq_id_seed __read_mostly;

static struct hlist_head *kmq_sess_bucket(struct kmq_net *kn, const char *id,
					  u16 len)
{
	u32 h = jhash(id, len, kmq_id_seed);

	return &kn->sessions[h >> (32 - KMQ_SESS_HASH_BITS)];
}

/* Context: kn->sess_lock held. */
static struct kmq_session *kmq_session_lookup(struct kmq_net *kn,
					      const char *id, u16 len)
{
	struct kmq_session *s;

	hlist_for_each_entry(s, kmq_sess_bucket(kn, id, len), hnode)
		if (s->id_len == len && !memcmp(s->client_id, id, len))
			return s;
	return NULL;
}

/**
 * kmq_session_find() - look a session up by client id
 * @kn: namespace state
 * @id: client id
 * @len: its length
 *
 * Context: kn->sess_lock held; the session stays valid while it is.
 * Return: the session or NULL.
 */
struct kmq_session *kmq_session_find(struct kmq_net *kn, const char *id,
				     u16 len)
{
	return kmq_session_lookup(kn, id, len);
}

/* Memory a session is charged for (kmq_mem_charge()). */
static u32 kmq_session_charge(u16 id_len)
{
	return sizeof(struct kmq_session) + id_len + 1;
}

/*
 * Context: kn->sess_lock held.
 * Return: the session, ERR_PTR(-ENOSPC) at max_memory or ERR_PTR(-ENOMEM).
 */
static struct kmq_session *kmq_session_new(struct kmq_net *kn, const char *id,
					   u16 len, const char *user)
{
	struct kmq_session *s;

	if (!kmq_mem_charge(kn, kmq_session_charge(len)))
		return ERR_PTR(-ENOSPC);
	s = kmem_cache_zalloc(kmq_sess_cache, GFP_KERNEL | __GFP_NOWARN);
	if (!s)
		goto err_uncharge;
	s->client_id = kmemdup_nul(id, len, GFP_KERNEL | __GFP_NOWARN);
	if (!s->client_id)
		goto err_free;
	if (user) {
		s->username = kstrdup(user, GFP_KERNEL | __GFP_NOWARN);
		if (!s->username)
			goto err_free_id;
	}
	s->kn = kn;
	s->id_len = len;
	spin_lock_init(&s->lock);
	kmq_out_init(&s->out);
	INIT_LIST_HEAD(&s->subs);
	s->subs_tree = RB_ROOT;
	INIT_LIST_HEAD(&s->q3_pending);
	init_llist_head(&s->q3_done);
	if (xa_alloc_cyclic(&kn->sess_ids, &s->id, s, xa_limit_31b,
			    &kn->sess_next, GFP_KERNEL) < 0)
		goto err_free_id;
	hlist_add_head(&s->hnode, kmq_sess_bucket(kn, id, len));
	WRITE_ONCE(kn->nsessions, kn->nsessions + 1);
	atomic_inc(&kmq_live.sessions);
	return s;

err_free_id:
	kfree(s->username);
	kfree(s->client_id);
err_free:
	kmem_cache_free(kmq_sess_cache, s);
err_uncharge:
	kmq_mem_uncharge(kn, kmq_session_charge(len));
	return ERR_PTR(-ENOMEM);
}

/* Does a stored session belong to the user now connecting (or NULL)? */
static bool kmq_session_same_user(const struct kmq_session *s,
				  const char *user)
{
	if (!s->username || !user)
		return s->username == user;
	return !strcmp(s->username, user);
}

/* Free a delivery that was never queued. */
static void kmq_dlv_discard(struct kmq_out_entry *e)
{
	struct kmq_delivery *d = container_of(e, struct kmq_delivery, e);

	if (d->e.msg)
		kmq_msg_put(d->e.msg);
	kmq_mem_uncharge(d->kn, sizeof(*d));
	kmem_cache_free(kmq_dlv_cache, d);
	atomic_dec(&kmq_live.deliveries);
}

/*
 * Free a delivery.  One still holding its message and able to confirm a
 * QoS 3 request is lost to that request: it will never be acknowledged.
 */
static void kmq_dlv_free(struct kmq_out_entry *e)
{
	struct kmq_delivery *d = container_of(e, struct kmq_delivery, e);
	struct kmq_msg *m = d->e.msg;

	if (m && m->q3 && d->e.qos && !d->e.retain)
		kmq_q3_lost(m->q3);
	if (m)
		kmq_msg_put(m);
	kmq_mem_uncharge(d->kn, sizeof(*d));
	kmem_cache_free(kmq_dlv_cache, d);
	atomic_dec(&kmq_live.deliveries);
}

/* Size of a queued entry for max_queued_bytes. */
static u32 kmq_dlv_size(const struct kmq_out_entry *e)
{
	return container_of(e, struct kmq_delivery, e)->size;
}

/*
 * Subtract the queued entries of the list @e from @s->queued_bytes.
 * Context: s->lock held.
 */
static void kmq_dlv_unqueue_list(struct kmq_session *s,
				 const struct kmq_out_entry *e)
{
	for (; e; e = e->next)
		s->queued_bytes -= kmq_dlv_size(e);
}

static void kmq_dlv_free_list(struct kmq_out_entry *e)
{
	struct kmq_out_entry *next;

	for (; e; e = next) {
		next = e->next;
		kmq_dlv_free(e);
	}
}

/*
 * Destroy a session that no connection is attached to.
 * Context: kn->sess_lock held.
 */
static void kmq_session_destroy(struct kmq_session *s)
{
	struct kmq_net *kn = s->kn;
	struct kmq_out_entry *list;

	/* after this, no publisher can find the session */
	kmq_subs_remove_all(s);
	kmq_q3_session_end(s);
	spin_lock(&s->lock);
	s->dead = true;
	list = kmq_out_take_all(&s->out);
	s->queued_bytes = 0;
	spin_unlock(&s->lock);
	kmq_dlv_free_list(list);

	hlist_del(&s->hnode);
	xa_erase(&kn->sess_ids, s->id);
	WRITE_ONCE(kn->nsessions, kn->nsessions - 1);
	kmq_qos2_free(s);
	kmq_mem_uncharge(kn, kmq_session_charge(s->id_len));
	kfree(s->client_id);
	kfree(s->username);
	kmem_cache_free(kmq_sess_cache, s);
	atomic_dec(&kmq_live.sessions);
}

/**
 * kmq_session_connect() - attach a connection to its session
 * @conn: the connection whose CONNECT was accepted
 * @c: the decoded CONNECT; @c->client_id must not be empty
 * @session_present: set to the CONNACK Session Present flag
 *
 * A connection already attached to the session is closed and this waits
 * until its release has finished (MQTT-3.1.4-2).  CleanSession 1 discards
 * any stored session (MQTT-3.1.2-6); CleanSession 0 resumes it
 * (MQTT-3.1.2-4) if it belongs to the same authenticated user (or both
 * are anonymous), else the stored session is discarded: its queued
 * messages and subscriptions were granted to another identity.
 *
 * Context: the connection's io_work; sleeps.
 * Return: 0, -ENOSPC (max_memory) or -ENOMEM.
 */
int kmq_session_connect(struct kmq_conn *conn, const struct kmq_connect *c,
			bool *session_present)
{
	struct kmq_net *kn = conn->kn;
	const char *id = (const char *)c->client_id.p;
	u16 len = c->client_id.len;
	struct kmq_session *s;
	struct kmq_conn *old;

	for (;;) {
		mutex_lock(&kn->sess_lock);
		s = kmq_session_lookup(kn, id, len);
		old = NULL;
		if (s) {
			spin_lock(&s->lock);
			old = s->conn;
			if (old)
				kmq_conn_get(old);
			spin_unlock(&s->lock);
		}
		if (!old)
			break;
		mutex_unlock(&kn->sess_lock);
		net_info_ratelimited("client '%s' taken over by %pISpc\n",
				     s->client_id, &conn->peer.sa);
		kmq_conn_close(old, KMQ_R_NONE);
		kmq_conn_wait_released(old);
		kmq_conn_put(old);
	}

	if (s && (c->clean || s->clean ||
		  !kmq_session_same_user(s, conn->auth_user))) {
		kmq_session_destroy(s);
		s = NULL;
	}
	*session_present = s;
	if (!s) {
		s = kmq_session_new(kn, id, len, conn->auth_user);
		if (IS_ERR(s)) {
			mutex_unlock(&kn->sess_lock);
			return PTR_ERR(s);
		}
	}
	s->clean = c->clean;
	spin_lock(&s->lock);
	s->conn = conn;
	spin_unlock(&s->lock);
	conn->sess = s;
	mutex_unlock(&kn->sess_lock);
	return 0;
}

/**
 * kmq_session_disconnect() - detach a closing connection from its session
 * @conn: the connection, in its release work
 *
 * A clean session ends here; a persistent one stays, without its queued
 * QoS 0 messages, until the client returns or it expires.
 */
void kmq_session_disconnect(struct kmq_conn *conn)
{
	struct kmq_session *s = conn->sess;
	struct kmq_net *kn = conn->kn;
	struct kmq_out_entry *dropped = NULL;
	unsigned int expiry = READ_ONCE(kn->set.session_expiry);
	bool pressing;

	if (!s)
		return;
	mutex_lock(&kn->sess_lock);
	spin_lock(&s->lock);
	s->conn = NULL;
	/* an absent client's queue holds nobody up */
	pressing = s->pressing;
	s->pressing = false;
	if (!s->clean) {
		dropped = kmq_out_drop_qos0(&s->out);
		kmq_dlv_unqueue_list(s, dropped);
	}
	spin_unlock(&s->lock);
	if (pressing)
		kmq_hold_release_all(kn);
	conn->sess = NULL;
	if (s->clean || READ_ONCE(kn->exiting)) {
		kmq_session_destroy(s);
	} else {
		s->detached_at = jiffies;
		if (expiry)
			queue_delayed_work(kmq_wq, &kn->expire_work,
					   (unsigned long)expiry * HZ);
	}
	mutex_unlock(&kn->sess_lock);
	kmq_dlv_free_list(dropped);
}

/*
 * High- and low-water marks of a queue for flow control: 3/4 and 1/2 of
 * max_queued and of max_queued_bytes (0: that bound is off).
 */
static bool kmq_session_above(const struct kmq_session *s, u32 max_q,
			      u64 max_b)
{
	return (max_q && (u64)s->out.queued * 4 >= (u64)max_q * 3) ||
	       (max_b && s->queued_bytes * 4 >= max_b * 3);
}

static bool kmq_session_below(const struct kmq_session *s, u32 max_q,
			      u64 max_b)
{
	return (!max_q || (u64)s->out.queued * 2 <= max_q) &&
	       (!max_b || s->queued_bytes * 2 <= max_b);
}

/*
 * After a delivery was queued: does the session ask its publisher to
 * hold?  Only an attached client's queue presses, and for publish_hold
 * ms at most until it drains to the low-water mark.
 * Context: s->lock held.
 */
static bool kmq_session_press(struct kmq_session *s, u32 max_q, u64 max_b)
{
	unsigned int ms = READ_ONCE(s->kn->set.publish_hold);

	if (!ms || !s->conn || !kmq_session_above(s, max_q, max_b))
		return false;
	if (!s->pressing) {
		s->pressing = true;
		s->press_since = jiffies;
	}
	return time_before(jiffies, s->press_since + msecs_to_jiffies(ms));
}

/**
 * kmq_session_deliver() - queue a message to a session
 * @s: the subscriber's session
 * @m: the message (a reference is taken)
 * @qos: QoS of this delivery
 * @retain: send with RETAIN (a retained message sent on subscribe)
 * @hold: set to true if the publisher should hold (flow control), or NULL
 *
 * QoS 0 messages are not queued for an absent client.  When the queue is
 * full (max_queued), QoS 0 is dropped first (core/qos.c).  A delivery that
 * would take the queued bytes above max_queued_bytes is dropped, unless
 * nothing is queued (so that any message can get through), and so is one
 * that would exceed the namespace's max_memory.  Drops are counted.
 *
 * Flow control: when the queue of an attached client passes its
 * high-water mark, *@hold is set, and the publisher should stop reading
 * (kmq_conn_hold()) until it drains (kmq_session_pull()).
 *
 * Context: process context; the caller keeps @s alive (kn->route_lock
 * held for reading, or @s is the caller's own attached session).
 * Return: true if the delivery was queued.
 */
bool kmq_session_deliver(struct kmq_session *s, struct kmq_msg *m, u8 qos,
			 bool retain, bool *hold)
{
	struct kmq_net *kn = s->kn;
	u64 max_bytes = READ_ONCE(kn->set.max_queued_bytes);
	u32 max_q = READ_ONCE(kn->set.max_queued);
	struct kmq_out_entry *victim;
	struct kmq_delivery *d;

	if (!kmq_mem_charge(kn, sizeof(*d))) {
		kmq_stat_inc(kn, KMQ_S_DROPPED);
		kmq_mem_refused(kn);
		return false;
	}
	d = kmem_cache_alloc(kmq_dlv_cache, GFP_KERNEL | __GFP_NOWARN);
	if (!d) {
		kmq_mem_uncharge(kn, sizeof(*d));
		kmq_stat_inc(kn, KMQ_S_DROPPED);
		kmq_stat_inc(kn, KMQ_S_REFUSAL + KMQ_R_NOMEM);
		return false;
	}
	atomic_inc(&kmq_live.deliveries);
	kmq_msg_get(m);
	d->e.msg = m;
	d->e.qos = qos;
	d->e.retain = retain;
	d->kn = kn;
	d->size = kmq_msg_size(m);

	spin_lock(&s->lock);
	if (s->dead || (!s->conn && !qos)) {
		victim = &d->e;
	} else if (max_bytes && s->out.queued &&
		   s->queued_bytes + d->size > max_bytes) {
		victim = &d->e;
		kmq_stat_inc(kn, KMQ_S_REFUSAL + KMQ_R_QUEUE_FULL);
	} else {
		victim = kmq_out_push(&s->out, &d->e, max_q);
		if (victim)
			kmq_stat_inc(kn, KMQ_S_REFUSAL + KMQ_R_QUEUE_FULL);
		if (victim != &d->e) {
			s->queued_bytes += d->size;
			if (victim)
				s->queued_bytes -= kmq_dlv_size(victim);
		}
		if (s->conn && victim != &d->e) {
			queue_work(kmq_wq, &s->conn->io_work);
			if (hold && kmq_session_press(s, max_q, max_bytes))
				*hold = true;
		}
	}
	spin_unlock(&s->lock);
	if (!victim)
		return true;
	kmq_stat_inc(kn, KMQ_S_DROPPED);
	if (victim == &d->e) {
		kmq_dlv_discard(victim);
		return false;
	}
	kmq_dlv_free(victim);
	return true;
}

#define KMQ_PULL_BATCH	16

/**
 * kmq_session_pull() - move deliveries the window allows to the send list
 * @conn: the connection, attached to its session
 * @max: at most this many
 *
 * Context: the connection's io_work.
 * Return: the number of PUBLISH packets queued for sending, or -ENOMEM.
 */
int kmq_session_pull(struct kmq_conn *conn, u32 max)
{
	struct kmq_session *s = conn->sess;
	struct kmq_out_entry *batch[KMQ_PULL_BATCH];
	struct kmq_net *kn = conn->kn;
	u32 window = READ_ONCE(kn->set.max_inflight);
	struct kmq_out_entry *e;
	int i, n = 0, ret = 0;
	bool drained = false;

	if (!s)
		return 0;
	if (max > KMQ_PULL_BATCH)
		max = KMQ_PULL_BATCH;
	spin_lock(&s->lock);
	while (n < max && (e = kmq_out_next(&s->out, window))) {
		s->queued_bytes -= kmq_dlv_size(e);
		batch[n++] = e;
	}
	if (s->pressing &&
	    kmq_session_below(s, READ_ONCE(kn->set.max_queued),
			      READ_ONCE(kn->set.max_queued_bytes))) {
		s->pressing = false;
		drained = true;
	}
	spin_unlock(&s->lock);
	if (drained)
		kmq_hold_release_all(kn);

	/*
	 * QoS 1/2 entries stay inflight in the session, and only this
	 * io_work removes inflight entries, so they are stable here.
	 */
	for (i = 0; i < n; i++) {
		e = batch[i];
		if (!ret)
			ret = kmq_conn_send_publish(conn, e->msg, e->qos, e->pid,
						    false, e->retain);
		if (!e->qos)
			kmq_dlv_free(e);
	}
	return ret ? ret : n;
}

/**
 * kmq_session_resume() - send the inflight part again after a reconnect
 * @conn: the connection, just attached to a resumed session
 *
 * PUBLISH packets go with DUP and their original packet ids, PUBRELs
 * again, in their original order, before anything new (MQTT-4.4.0-1).
 *
 * Context: the connection's io_work.
 * Return: 0 or -ENOMEM.
 */
int kmq_session_resume(struct kmq_conn *conn)
{
	struct kmq_session *s = conn->sess;
	struct kmq_out_entry *e;
	int ret = 0;
	u8 buf[4];

	/*
	 * Only this io_work changes the inflight part; publishers only
	 * append queued entries behind it, under the lock.
	 */
	spin_lock(&s->lock);
	e = kmq_out_rewind(&s->out);
	spin_unlock(&s->lock);
	while (e && !ret) {
		if (e->state == KMQ_OUT_WAIT_PUBCOMP)
			ret = kmq_conn_send_raw(conn, buf,
						kmq_encode_ack(buf, KMQ_PUBREL,
							       e->pid));
		else
			ret = kmq_conn_send_publish(conn, e->msg, e->qos,
						    e->pid, true, e->retain);
		spin_lock(&s->lock);
		e = e->next;
		if (e && e->state == KMQ_OUT_QUEUED)
			e = NULL;
		spin_unlock(&s->lock);
	}
	return ret;
}

/**
 * kmq_session_ack() - apply a PUBACK, PUBREC or PUBCOMP from the client
 * @conn: the connection
 * @type: packet type
 * @pid: packet identifier
 *
 * An acknowledgment for no inflight message is ignored.
 *
 * Context: the connection's io_work.
 * Return: 0 or -ENOMEM.
 */
int kmq_session_ack(struct kmq_conn *conn, u8 type, u16 pid)
{
	struct kmq_session *s = conn->sess;
	struct kmq_out_entry *e = NULL;
	void *msg = NULL;
	u8 buf[4];
	int r;

	spin_lock(&s->lock);
	r = kmq_out_ack(&s->out, type, pid, &e, &msg);
	if (r == KMQ_ACK_DONE)
		e->msg = NULL;
	spin_unlock(&s->lock);
	if (msg) {
		struct kmq_msg *m = msg;

		/* PUBACK or the first PUBREC confirms a QoS 3 delivery */
		if (m->q3 && !e->retain)
			kmq_q3_confirm(m->q3);
		kmq_msg_put(m);
	}
	if (r == KMQ_ACK_DONE)
		kmq_dlv_free(e);
	if (r == KMQ_ACK_PUBREL)
		return kmq_conn_send_raw(conn, buf,
					 kmq_encode_ack(buf, KMQ_PUBREL, pid));
	return 0;
}

/**
 * kmq_session_kick() - disconnect a client on an administrator's request
 * @kn: namespace state
 * @id: client id
 * @len: its length
 * @will: publish the client's Will
 * @purge: also delete its session, connected or not
 *
 * Context: process context; sleeps until the connection is gone.
 * Return: 0, -ENOENT (no such client) or -ENOTCONN (offline, no @purge).
 */
int kmq_session_kick(struct kmq_net *kn, const char *id, u16 len, bool will,
		     bool purge)
{
	struct kmq_conn *conn = NULL;
	struct kmq_session *s;
	int ret = 0;

	mutex_lock(&kn->sess_lock);
	s = kmq_session_lookup(kn, id, len);
	if (!s) {
		ret = -ENOENT;
		goto out;
	}
	spin_lock(&s->lock);
	conn = s->conn;
	if (conn)
		kmq_conn_get(conn);
	spin_unlock(&s->lock);
	if (!conn) {
		if (purge)
			kmq_session_destroy(s);
		else
			ret = -ENOTCONN;
		goto out;
	}
	mutex_unlock(&kn->sess_lock);

	WRITE_ONCE(conn->suppress_will, !will);
	WRITE_ONCE(conn->kicked, true);
	kmq_conn_close(conn, KMQ_R_NONE);
	kmq_conn_wait_released(conn);
	kmq_conn_put(conn);
	if (!purge)
		return 0;

	mutex_lock(&kn->sess_lock);
	s = kmq_session_lookup(kn, id, len);
	if (s && !s->conn)
		kmq_session_destroy(s);
out:
	mutex_unlock(&kn->sess_lock);
	return ret;
}

static void kmq_expire_work(struct work_struct *work)
{
	struct kmq_net *kn = container_of(to_delayed_work(work),
					  struct kmq_net, expire_work);
	unsigned long expiry = READ_ONCE(kn->set.session_expiry);
	unsigned long next = 0, due;
	struct kmq_session *s;
	struct hlist_node *tmp;
	int b;

	if (!expiry)
		return;
	expiry *= HZ;
	mutex_lock(&kn->sess_lock);
	for (b = 0; b < ARRAY_SIZE(kn->sessions); b++) {
		hlist_for_each_entry_safe(s, tmp, &kn->sessions[b], hnode) {
			if (s->conn || s->clean)
				continue;
			due = s->detached_at + expiry;
			if (time_after_eq(jiffies, due))
				kmq_session_destroy(s);
			else if (!next || time_before(due, next))
				next = due;
		}
	}
	mutex_unlock(&kn->sess_lock);
	if (next)
		queue_delayed_work(kmq_wq, &kn->expire_work,
				   max_t(long, next - jiffies, 1));
}

void kmq_sessions_net_init(struct kmq_net *kn)
{
	int b;

	mutex_init(&kn->sess_lock);
	xa_init_flags(&kn->sess_ids, XA_FLAGS_ALLOC1);
	for (b = 0; b < ARRAY_SIZE(kn->sessions); b++)
		INIT_HLIST_HEAD(&kn->sessions[b]);
	INIT_DELAYED_WORK(&kn->expire_work, kmq_expire_work);
}

/**
 * kmq_sessions_net_exit() - destroy every session of a namespace
 * @kn: namespace state; no connection is left
 */
void kmq_sessions_net_exit(struct kmq_net *kn)
{
	struct kmq_session *s;
	struct hlist_node *tmp;
	int b;

	cancel_delayed_work_sync(&kn->expire_work);
	mutex_lock(&kn->sess_lock);
	for (b = 0; b < ARRAY_SIZE(kn->sessions); b++)
		hlist_for_each_entry_safe(s, tmp, &kn->sessions[b], hnode)
			kmq_session_destroy(s);
	mutex_unlock(&kn->sess_lock);
	xa_destroy(&kn->sess_ids);
	/*
	 * A QoS 3 timeout that fired just before its publisher's session was
	 * destroyed may still be inside kmq_q3_finish(), which touches @kn.
	 */
	flush_workqueue(kmq_wq);
}

int kmq_sessions_init(void)
{
	kmq_id_seed = get_random_u32();
	kmq_sess_cache = KMEM_CACHE(kmq_session, 0);
	if (!kmq_sess_cache)
		return -ENOMEM;
	kmq_dlv_cache = KMEM_CACHE(kmq_delivery, 0);
	if (!kmq_dlv_cache) {
		kmem_cache_destroy(kmq_sess_cache);
		return -ENOMEM;
	}
	return 0;
}

void kmq_sessions_exit(void)
{
	kmem_cache_destroy(kmq_dlv_cache);
	kmem_cache_destroy(kmq_sess_cache);
}
