// SPDX-License-Identifier: GPL-2.0
/*
 * retain.c - retained messages (MQTT 3.1.1 section 3.3.1.3).
 *
 * One message per topic, in an rbtree ordered by topic bytes.  The stored
 * object is the same reference-counted message that was routed; storing
 * takes a reference.  Memory is bounded by retain_max_bytes (topic plus
 * payload) and retain_max (count); a retained PUBLISH beyond the bounds
 * is routed but not stored, and counted as refusal retain_full.
 */
#include <linux/rbtree.h>
#include <linux/slab.h>
#include <net/genetlink.h>
#include <linux/kmqttd.h>

#include "kmqttd.h"
#include "core/topic.h"
#include "core/acl.h"

/**
 * struct kmq_retained - a retained message
 * @node: in kn->retained
 * @msg: the message (holds a reference)
 */
struct kmq_retained {
	struct rb_node node;
	struct kmq_msg *msg;
};

static int kmq_topic_cmp(const struct kmq_msg *a, const u8 *t, u16 len)
{
	int r = memcmp(a->data, t, min(a->topic_len, len));

	if (r)
		return r;
	return (int)a->topic_len - (int)len;
}

static u64 kmq_retained_size(const struct kmq_msg *m)
{
	return (u64)m->topic_len + m->payload_len;
}

static void kmq_retained_free(struct kmq_net *kn, struct kmq_retained *r)
{
	rb_erase(&r->node, &kn->retained);
	kn->nretained--;
	kn->retained_bytes -= kmq_retained_size(r->msg);
	kmq_msg_put(r->msg);
	kfree(r);
	kmq_mem_uncharge(kn, sizeof(*r));
	atomic_dec(&kmq_live.retained);
}

/**
 * kmq_retain_store() - apply a PUBLISH with RETAIN set to the store
 * @kn: namespace state
 * @m: the message; an empty payload deletes the topic's retained message
 *     (MQTT-3.3.1-10, -11), any other replaces it (MQTT-3.3.1-5, -7)
 *
 * Context: process context; takes kn->retain_lock.
 */
void kmq_retain_store(struct kmq_net *kn, struct kmq_msg *m)
{
	struct rb_node **link = &kn->retained.rb_node, *parent = NULL;
	unsigned int max = READ_ONCE(kn->set.retain_max);
	u64 max_bytes = READ_ONCE(kn->set.retain_max_bytes);
	struct kmq_retained *r = NULL;
	int cmp;

	if (!READ_ONCE(kn->set.retain))
		return;
	mutex_lock(&kn->retain_lock);
	while (*link) {
		parent = *link;
		r = rb_entry(parent, struct kmq_retained, node);
		cmp = kmq_topic_cmp(r->msg, m->data, m->topic_len);
		if (!cmp)
			break;
		link = cmp > 0 ? &parent->rb_left : &parent->rb_right;
		r = NULL;
	}
	if (!m->payload_len) {
		if (r)
			kmq_retained_free(kn, r);
		goto out;
	}
	if (r) {
		u64 bytes = kn->retained_bytes - kmq_retained_size(r->msg) +
			    kmq_retained_size(m);

		if (max_bytes && bytes > max_bytes)
			goto full;
		kn->retained_bytes = bytes;
		kmq_msg_get(m);
		kmq_msg_put(r->msg);
		r->msg = m;
		goto out;
	}
	if ((max && kn->nretained >= max) ||
	    (max_bytes && kn->retained_bytes + kmq_retained_size(m) > max_bytes))
		goto full;
	if (!kmq_mem_charge(kn, sizeof(*r))) {
		kmq_mem_refused(kn);
		goto out;
	}
	r = kmalloc(sizeof(*r), GFP_KERNEL | __GFP_NOWARN);
	if (!r) {
		kmq_mem_uncharge(kn, sizeof(*r));
		goto full;
	}
	kmq_msg_get(m);
	r->msg = m;
	rb_link_node(&r->node, parent, link);
	rb_insert_color(&r->node, &kn->retained);
	kn->nretained++;
	kn->retained_bytes += kmq_retained_size(m);
	atomic_inc(&kmq_live.retained);
	goto out;
full:
	kmq_stat_inc(kn, KMQ_S_REFUSAL + KMQ_R_RETAIN_FULL);
	net_info_ratelimited("retained store full, not storing a message\n");
out:
	mutex_unlock(&kn->retain_lock);
}

/**
 * kmq_retain_deliver() - send the retained messages matching a new
 *   subscription (MQTT-3.3.1-6, -8) that the subscriber may read
 * @kn: namespace state
 * @s: the subscriber's session (attached to the caller's connection)
 * @filter: the filter just subscribed
 * @flen: its length
 * @qos: the granted QoS
 *
 * Context: the subscriber's io_work.
 */
void kmq_retain_deliver(struct kmq_net *kn, struct kmq_session *s,
			const u8 *filter, u32 flen, u8 qos)
{
	struct kmq_retained *r;
	struct rb_node *n;

	mutex_lock(&kn->retain_lock);
	for (n = rb_first(&kn->retained); n; n = rb_next(n)) {
		r = rb_entry(n, struct kmq_retained, node);
		if (!kmq_topic_match(filter, flen, r->msg->data,
				     r->msg->topic_len))
			continue;
		if (!kmq_acl_check(kn, s, KMQ_ACL_OP_READ, r->msg->data,
				   r->msg->topic_len)) {
			kmq_stat_inc(kn, KMQ_S_REFUSAL + KMQ_R_ACL_DELIVERY);
			continue;
		}
		kmq_session_deliver(s, r->msg, min(qos, r->msg->qos), true, NULL);
	}
	mutex_unlock(&kn->retain_lock);
}

/**
 * kmq_retain_net_exit() - drop every retained message of a namespace
 * @kn: namespace state
 */
void kmq_retain_net_exit(struct kmq_net *kn)
{
	struct rb_node *n;

	mutex_lock(&kn->retain_lock);
	while ((n = rb_first(&kn->retained)))
		kmq_retained_free(kn, rb_entry(n, struct kmq_retained, node));
	mutex_unlock(&kn->retain_lock);
}

/**
 * kmq_retain_del() - delete retained messages (mqctl retain del)
 * @kn: namespace state
 * @t: a topic name, or a topic filter if @filter
 * @len: its length
 * @filter: @t is a filter: delete every message it matches
 *
 * Return: the number of messages deleted.
 */
u32 kmq_retain_del(struct kmq_net *kn, const char *t, u32 len, bool filter)
{
	struct kmq_retained *r;
	struct rb_node *n, *next;
	u32 count = 0;

	mutex_lock(&kn->retain_lock);
	for (n = rb_first(&kn->retained); n; n = next) {
		next = rb_next(n);
		r = rb_entry(n, struct kmq_retained, node);
		if (filter ? kmq_topic_match(t, len, r->msg->data,
					     r->msg->topic_len) :
			     (len == r->msg->topic_len &&
			      !memcmp(t, r->msg->data, len))) {
			kmq_retained_free(kn, r);
			count++;
		}
	}
	mutex_unlock(&kn->retain_lock);
	return count;
}

#define KMQ_RETAIN_PAYLOAD_MAX	1024

static int kmq_retain_fill(struct sk_buff *skb, void *arg, bool cut)
{
	const struct kmq_msg *m = arg;

	if (kmq_nl_put_str(skb, KMQTTD_A_RETAIN_TOPIC, m->data, m->topic_len,
			   cut) ||
	    (cut && nla_put_flag(skb, KMQTTD_A_RETAIN_TRUNCATED)) ||
	    nla_put_u8(skb, KMQTTD_A_RETAIN_QOS, m->qos) ||
	    nla_put_u32(skb, KMQTTD_A_RETAIN_PAYLOAD_LEN, m->payload_len) ||
	    nla_put(skb, KMQTTD_A_RETAIN_PAYLOAD,
		    min_t(u32, m->payload_len, KMQ_RETAIN_PAYLOAD_MAX),
		    kmq_msg_payload(m)))
		return -EMSGSIZE;
	return 0;
}

/**
 * kmq_retain_dump() - dump retained messages, optionally those matching a
 *   filter; resumes by position (cb->args[0] messages already visited)
 * @kn: namespace state
 * @skb: the dump buffer
 * @cb: the dump state
 * @fam: the netlink family
 * @filter: NUL-terminated topic filter, or NULL for all
 *
 * Return: skb->len, or a negative errno.
 */
int kmq_retain_dump(struct kmq_net *kn, struct sk_buff *skb,
		    struct netlink_callback *cb, struct genl_family *fam,
		    const char *filter)
{
	u32 flen = filter ? strlen(filter) : 0;
	struct kmq_retained *r;
	struct rb_node *n;
	long pos = 0;
	int ret = 0;

	mutex_lock(&kn->retain_lock);
	for (n = rb_first(&kn->retained); n; n = rb_next(n), pos++) {
		if (pos < cb->args[0])
			continue;
		r = rb_entry(n, struct kmq_retained, node);
		if (!filter || kmq_topic_match(filter, flen, r->msg->data,
					       r->msg->topic_len)) {
			ret = kmq_nl_dump_one(skb, cb, fam,
					      KMQTTD_CMD_RETAIN_GET,
					      kmq_retain_fill, r->msg);
			if (ret)
				break;
		}
		cb->args[0] = pos + 1;
	}
	mutex_unlock(&kn->retain_lock);
	if (ret == -EMSGSIZE && skb->len)
		return skb->len;
	return ret ? ret : skb->len;
}
