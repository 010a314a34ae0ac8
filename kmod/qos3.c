// SPDX-License-Identifier: GPL-2.0
/*
 * qos3.c - QoS 3: the publisher learns that N subscribers received its
 * message (Documentation/qos3.rst).
 *
 * A QoS 3 publish creates a struct kmq_q3, referenced by the routed
 * message (so every delivery of it can find it), by the publisher's
 * session (pending list) and by its timeout work.  A subscriber's
 * ordinary acknowledgment of its delivery (PUBACK at QoS 1, PUBREC at
 * QoS 2) confirms it; a delivery dropped unacknowledged (a clean session
 * ending, a full queue) is "lost".  The request ends once, the first of:
 *
 *   confirmed >= required             -> KMQ_Q3_CONFIRMED
 *   confirmed + outstanding < required -> KMQ_Q3_UNREACHABLE
 *   the timeout expires               -> KMQ_Q3_TIMEOUT
 *   the publisher's session ends      -> no answer
 *
 * The answer is queued on the publisher's session (q3_done llist) and
 * sent by the publisher's own io_work: a native QoS 3 answer packet, or,
 * for the "$qos3/N/topic" convention, the withheld PUBACK (QoS 1) or
 * PUBCOMP (QoS 2, once PUBREL has arrived) plus a report message on
 * "$qos3/result/<client id>".
 *
 * Locking: q3->lock protects the counters; kn->q3_lock protects every
 * q3->pub pointer and session pending list.  Order: kn->sess_lock,
 * kn->q3_lock, sess->lock.  Everything runs in process context.
 */
#include <linux/err.h>
#include <linux/slab.h>
#include <linux/jiffies.h>
#include <linux/workqueue.h>

#include "kmqttd.h"

static struct kmem_cache *kmq_q3_cache __read_mostly;

static void kmq_q3_put(struct kmq_q3 *q)
{
	if (refcount_dec_and_test(&q->ref)) {
		kmem_cache_free(kmq_q3_cache, q);
		atomic_dec(&kmq_live.q3);
	}
}

/**
 * kmq_q3_msg_release() - a message carrying @q is freed
 * @q: its QoS 3 request
 */
void kmq_q3_msg_release(struct kmq_q3 *q)
{
	kmq_q3_put(q);
}

/*
 * End the request with @result, once.  Hands it to the publisher's
 * session for answering, or drops it when the session is gone.
 */
static void kmq_q3_finish(struct kmq_q3 *q, u8 result)
{
	struct kmq_net *kn = q->kn;
	struct kmq_session *s;

	if (atomic_cmpxchg(&q->state, KMQ_Q3_PENDING, KMQ_Q3_DONE) !=
	    KMQ_Q3_PENDING)
		return;
	q->result = result;
	if (cancel_delayed_work(&q->timeout))
		kmq_q3_put(q);		/* the timeout's reference */

	switch (result) {
	case KMQ_Q3_CONFIRMED:
		kmq_stat_inc(kn, KMQ_S_Q3_CONFIRMED);
		break;
	case KMQ_Q3_TIMEOUT:
		kmq_stat_inc(kn, KMQ_S_Q3_TIMEOUT);
		break;
	case KMQ_Q3_UNREACHABLE:
		kmq_stat_inc(kn, KMQ_S_Q3_UNREACHABLE);
		break;
	}

	spin_lock(&kn->q3_lock);
	s = q->pub;
	if (s) {
		list_del_init(&q->node);
		s->q3_count--;
		kn->q3_count--;
		/* the pending list's reference moves to the done list */
		llist_add(&q->done, &s->q3_done);
		spin_lock(&s->lock);
		if (s->conn)
			queue_work(kmq_wq, &s->conn->io_work);
		spin_unlock(&s->lock);
	}
	spin_unlock(&kn->q3_lock);
}

/* Evaluate the counters.  Context: q->lock held. */
static int kmq_q3_verdict(struct kmq_q3 *q)
{
	int outstanding = q->confirmable - q->confirmed - q->lost;

	if (!q->armed)
		return -1;
	if (q->confirmed >= q->required)
		return KMQ_Q3_CONFIRMED;
	if (q->confirmed + outstanding < q->required)
		return KMQ_Q3_UNREACHABLE;
	return -1;
}

static void kmq_q3_update(struct kmq_q3 *q, int confirmed, int lost)
{
	int verdict;

	spin_lock(&q->lock);
	q->confirmed += confirmed;
	q->lost += lost;
	verdict = kmq_q3_verdict(q);
	spin_unlock(&q->lock);
	if (verdict >= 0)
		kmq_q3_finish(q, verdict);
}

/**
 * kmq_q3_confirm() - a subscriber acknowledged its delivery
 * @q: the request of the acknowledged message
 */
void kmq_q3_confirm(struct kmq_q3 *q)
{
	if (atomic_read(&q->state) == KMQ_Q3_PENDING)
		kmq_q3_update(q, 1, 0);
}

/**
 * kmq_q3_lost() - a delivery that could have confirmed was dropped
 * @q: the request of the dropped message
 */
void kmq_q3_lost(struct kmq_q3 *q)
{
	if (atomic_read(&q->state) == KMQ_Q3_PENDING)
		kmq_q3_update(q, 0, 1);
}

static void kmq_q3_timeout(struct work_struct *work)
{
	struct kmq_q3 *q = container_of(to_delayed_work(work), struct kmq_q3,
					timeout);

	kmq_q3_finish(q, KMQ_Q3_TIMEOUT);
	kmq_q3_put(q);
}

/**
 * kmq_q3_find() - a pending request of a session by packet id
 * @s: the publisher's session
 * @pid: packet id
 *
 * Context: the session's connection io_work; kn->q3_lock held.
 * Return: the request or NULL.
 */
static struct kmq_q3 *kmq_q3_find(struct kmq_session *s, u16 pid)
{
	struct kmq_q3 *q;

	list_for_each_entry(q, &s->q3_pending, node)
		if (q->pid == pid)
			return q;
	return NULL;
}

/**
 * kmq_q3_pending() - is a request with this packet id still pending?
 * @conn: the publisher's connection
 * @pid: packet id
 *
 * A PUBLISH re-sent with DUP while its request is pending is not routed
 * again (it must not be confirmed twice).
 */
bool kmq_q3_pending(struct kmq_conn *conn, u16 pid)
{
	struct kmq_net *kn = conn->kn;
	bool found;

	spin_lock(&kn->q3_lock);
	found = kmq_q3_find(conn->sess, pid);
	spin_unlock(&kn->q3_lock);
	return found;
}

/**
 * kmq_q3_pubrel() - PUBREL of a "$qos3/" QoS 2 publish
 * @conn: the publisher's connection
 * @pid: packet id
 *
 * Return: true if the request is pending: its PUBCOMP is withheld until
 * it ends; false: answer PUBCOMP now.
 */
bool kmq_q3_pubrel(struct kmq_conn *conn, u16 pid)
{
	struct kmq_net *kn = conn->kn;
	struct kmq_q3 *q;

	spin_lock(&kn->q3_lock);
	q = kmq_q3_find(conn->sess, pid);
	if (q)
		q->pubrel = true;
	spin_unlock(&kn->q3_lock);
	return q;
}

/**
 * kmq_q3_publish() - route a QoS 3 message and start waiting
 * @conn: the publisher's connection (attached to its session)
 * @m: the message, to be routed at QoS 2 at most
 * @ask: the required count and timeout
 * @pid: the publisher's packet id
 * @mode: KMQ_Q3_NATIVE, KMQ_Q3_TOPIC_Q1 or KMQ_Q3_TOPIC_Q2
 * @retain: store @m as the retained message once the limits accept it
 *
 * Return: 0, or -ENOSPC when a pending limit refuses the request (the
 * caller answers at once; the message is not routed).
 */
int kmq_q3_publish(struct kmq_conn *conn, struct kmq_msg *m,
		   const struct kmq_qos3 *ask, u16 pid, u8 mode, bool retain)
{
	struct kmq_session *s = conn->sess;
	struct kmq_net *kn = conn->kn;
	struct kmq_route_result rr;
	unsigned long timeout;
	struct kmq_q3 *q;
	int verdict;

	kmq_stat_inc(kn, KMQ_S_Q3_REQUESTED);
	q = kmem_cache_zalloc(kmq_q3_cache, GFP_KERNEL | __GFP_NOWARN);
	if (!q)
		goto refuse;
	spin_lock(&kn->q3_lock);
	if ((READ_ONCE(kn->set.qos3_max_pending) &&
	     s->q3_count >= READ_ONCE(kn->set.qos3_max_pending)) ||
	    (READ_ONCE(kn->set.qos3_max_total) &&
	     kn->q3_count >= READ_ONCE(kn->set.qos3_max_total))) {
		spin_unlock(&kn->q3_lock);
		kmem_cache_free(kmq_q3_cache, q);
		goto refuse;
	}
	atomic_inc(&kmq_live.q3);
	/* references: pending list, message, timeout */
	refcount_set(&q->ref, 3);
	q->kn = kn;
	q->pub = s;
	q->pid = pid;
	q->mode = mode;
	q->required = ask->required;
	spin_lock_init(&q->lock);
	atomic_set(&q->state, KMQ_Q3_PENDING);
	INIT_DELAYED_WORK(&q->timeout, kmq_q3_timeout);
	list_add_tail(&q->node, &s->q3_pending);
	s->q3_count++;
	kn->q3_count++;
	spin_unlock(&kn->q3_lock);

	timeout = ask->timeout_ms ? ask->timeout_ms :
		  READ_ONCE(kn->set.qos3_timeout);
	queue_delayed_work(kmq_wq, &q->timeout, msecs_to_jiffies(timeout));

	if (retain)
		kmq_retain_store(kn, m);
	m->q3 = q;
	kmq_route_counted(kn, &conn->scratch, m, conn->sess, &rr);
	if (rr.hold)
		kmq_conn_hold(conn);

	spin_lock(&q->lock);
	q->matched = rr.matched;
	q->confirmable = rr.confirmable;
	if (!ask->required)
		q->required = rr.confirmable;
	q->armed = true;
	verdict = kmq_q3_verdict(q);
	spin_unlock(&q->lock);
	if (verdict >= 0)
		kmq_q3_finish(q, verdict);
	return 0;

refuse:
	kmq_stat_inc(kn, KMQ_S_Q3_REFUSED);
	return -ENOSPC;
}

/* Publish the outcome of a "$qos3/" request for its publisher to read. */
static void kmq_q3_report(struct kmq_conn *conn, struct kmq_q3 *q)
{
	static const char * const names[] = {
		[KMQ_Q3_CONFIRMED] = "confirmed",
		[KMQ_Q3_TIMEOUT] = "timeout",
		[KMQ_Q3_UNREACHABLE] = "unreachable",
		[KMQ_Q3_REFUSED] = "refused",
	};
	struct kmq_publish p = {};
	struct kmq_msg *m;
	char payload[192];
	char *topic;

	/* the whole client id: a cut topic could split a UTF-8 character */
	topic = kasprintf(GFP_KERNEL, "$qos3/result/%s", conn->sess->client_id);
	if (!topic)
		return;
	p.topic.len = min_t(size_t, strlen(topic), 65535);
	p.topic.p = topic;
	p.payload_len = scnprintf(payload, sizeof(payload),
				  "{\"pid\":%u,\"result\":\"%s\",\"confirmed\":%u,\"required\":%u,\"matched\":%u,\"unconfirmable\":%u}",
				  q->pid, names[q->result], q->confirmed,
				  q->required, q->matched,
				  q->matched - q->confirmable);
	p.payload = payload;
	p.qos = 1;
	m = kmq_msg_new(conn->kn, &p);
	kfree(topic);
	if (IS_ERR(m))
		return;
	kmq_route(conn->kn, &conn->scratch, m, NULL);
	kmq_msg_put(m);
}

/* Send the answer of one finished request. */
static int kmq_q3_answer(struct kmq_conn *conn, struct kmq_q3 *q)
{
	u8 buf[KMQ_Q3_ANSWER_LEN];
	int ret = 0;

	switch (q->mode) {
	case KMQ_Q3_NATIVE:
		return kmq_conn_reply(conn, buf,
				      kmq_encode_q3_answer(buf, q->pid, q->result,
							   min(q->confirmed, 65535),
							   min(q->matched, 65535),
							   min(q->matched - q->confirmable,
							       65535)));
	case KMQ_Q3_TOPIC_Q1:
		ret = kmq_conn_reply(conn, buf,
				     kmq_encode_ack(buf, KMQ_PUBACK, q->pid));
		break;
	case KMQ_Q3_TOPIC_Q2:
		if (q->pubrel)
			ret = kmq_conn_reply(conn, buf,
					     kmq_encode_ack(buf, KMQ_PUBCOMP,
							    q->pid));
		break;
	}
	if (!ret)
		kmq_q3_report(conn, q);
	return ret;
}

/**
 * kmq_q3_drain() - answer the session's finished requests
 * @conn: the publisher's connection
 *
 * Context: its io_work.
 * Return: 0 or -ENOMEM.
 */
int kmq_q3_drain(struct kmq_conn *conn)
{
	struct llist_node *list;
	struct kmq_q3 *q, *tmp;
	int ret = 0;

	if (!conn->sess || llist_empty(&conn->sess->q3_done))
		return 0;
	list = llist_reverse_order(llist_del_all(&conn->sess->q3_done));
	llist_for_each_entry_safe(q, tmp, list, done) {
		if (!ret)
			ret = kmq_q3_answer(conn, q);
		kmq_q3_put(q);
	}
	return ret;
}

/**
 * kmq_q3_answer_refused() - answer a request refused by the limits
 * @conn: the publisher's connection
 * @pid: its packet id
 * @mode: how it asked
 *
 * Return: 0 or -ENOMEM.
 */
int kmq_q3_answer_refused(struct kmq_conn *conn, u16 pid, u8 mode)
{
	struct kmq_q3 q = {
		.pid = pid, .mode = mode, .result = KMQ_Q3_REFUSED,
		.pubrel = mode == KMQ_Q3_TOPIC_Q2 ? false : true,
	};

	return kmq_q3_answer(conn, &q);
}

/**
 * kmq_q3_session_end() - the publisher's session is being destroyed
 * @s: the session
 *
 * Its pending requests end without an answer; finished ones not yet
 * answered are dropped.
 */
void kmq_q3_session_end(struct kmq_session *s)
{
	struct kmq_net *kn = s->kn;
	struct llist_node *list;
	struct kmq_q3 *q, *tmp;
	LIST_HEAD(pending);

	spin_lock(&kn->q3_lock);
	list_for_each_entry_safe(q, tmp, &s->q3_pending, node) {
		list_move_tail(&q->node, &pending);
		q->pub = NULL;
		s->q3_count--;
		kn->q3_count--;
	}
	spin_unlock(&kn->q3_lock);
	list_for_each_entry_safe(q, tmp, &pending, node) {
		list_del_init(&q->node);
		if (atomic_cmpxchg(&q->state, KMQ_Q3_PENDING, KMQ_Q3_DONE) ==
		    KMQ_Q3_PENDING && cancel_delayed_work(&q->timeout))
			kmq_q3_put(q);
		kmq_q3_put(q);		/* the pending list's reference */
	}
	list = llist_del_all(&s->q3_done);
	llist_for_each_entry_safe(q, tmp, list, done)
		kmq_q3_put(q);
}

int kmq_q3_init(void)
{
	kmq_q3_cache = KMEM_CACHE(kmq_q3, 0);
	return kmq_q3_cache ? 0 : -ENOMEM;
}

void kmq_q3_exit(void)
{
	kmem_cache_destroy(kmq_q3_cache);
}
