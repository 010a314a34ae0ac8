// SPDX-License-Identifier: GPL-2.0
/*
 * msg.c - published messages.
 *
 * A message is allocated once per PUBLISH received and shared by every
 * delivery: each queued delivery holds a reference, so the payload is
 * copied once however many subscribers it reaches.
 */
#include <linux/slab.h>
#include <linux/mm.h>
#include <linux/overflow.h>
#include <linux/err.h>

#include "kmqttd.h"

/* Bytes held by live messages, module-wide. */
atomic64_t kmq_msg_bytes = ATOMIC64_INIT(0);

/**
 * kmq_msg_new() - copy a decoded PUBLISH into a new message
 * @kn: the namespace the message is routed in (its memory is charged there)
 * @p: the decoded PUBLISH (its views point into the receive buffer)
 *
 * Context: process context.
 * Return: the message with one reference, ERR_PTR(-ENOSPC) at the
 * namespace's max_memory, or ERR_PTR(-ENOMEM).
 */
struct kmq_msg *kmq_msg_new(struct kmq_net *kn, const struct kmq_publish *p)
{
	struct kmq_msg *m;
	size_t size;

	size = struct_size(m, data, (size_t)p->topic.len + p->payload_len);
	if (!kmq_mem_charge(kn, size))
		return ERR_PTR(-ENOSPC);
	m = kvmalloc(size, GFP_KERNEL | __GFP_NOWARN);
	if (!m) {
		kmq_mem_uncharge(kn, size);
		return ERR_PTR(-ENOMEM);
	}
	refcount_set(&m->ref, 1);
	m->kn = kn;
	m->q3 = NULL;
	m->topic_len = p->topic.len;
	m->payload_len = p->payload_len;
	m->qos = p->qos;
	m->retain = p->retain;
	memcpy(m->data, p->topic.p, p->topic.len);
	if (p->payload_len)
		memcpy(m->data + p->topic.len, p->payload, p->payload_len);
	atomic_inc(&kmq_live.msgs);
	atomic64_add(size, &kmq_msg_bytes);
	return m;
}

/**
 * kmq_msg_put() - drop a reference, freeing the message with the last one
 * @m: the message
 */
void kmq_msg_put(struct kmq_msg *m)
{
	if (refcount_dec_and_test(&m->ref)) {
		size_t size = struct_size(m, data, (size_t)kmq_msg_size(m));

		atomic64_sub(size, &kmq_msg_bytes);
		kmq_mem_uncharge(m->kn, size);
		if (m->q3)
			kmq_q3_msg_release(m->q3);
		kvfree(m);
		atomic_dec(&kmq_live.msgs);
	}
}

/**
 * kmq_msg_new_will() - build the Will message of a CONNECT
 * @kn: namespace state
 * @c: the decoded CONNECT, with @c->will set
 *
 * Return: as kmq_msg_new().
 */
struct kmq_msg *kmq_msg_new_will(struct kmq_net *kn,
				 const struct kmq_connect *c)
{
	struct kmq_publish p = {
		.qos = c->will_qos,
		.retain = c->will_retain,
		.topic = c->will_topic,
		.payload = c->will_msg.p,
		.payload_len = c->will_msg.len,
	};

	return kmq_msg_new(kn, &p);
}
