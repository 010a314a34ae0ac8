// SPDX-License-Identifier: GPL-2.0
/*
 * qos.c - a session's outbound queue and QoS 1/2 state (MQTT 3.1.1 4.3,
 * 4.4, 4.6).
 *
 * A singly linked FIFO: the inflight entries (KMQ_OUT_WAIT_*) at the
 * front in send order, ending at ->last_inflight, then the queued ones
 * starting at ->next_send.  Nothing here allocates; entries belong to the
 * caller.
 *
 * Costs: push and next are O(1), except that push walks the queued
 * entries up to the oldest QoS 0 one when it has to evict, and that a
 * new packet identifier takes one walk of the inflight entries per
 * KMQ_PID_BLOCK identifiers handed out (->pid_free caches the run of
 * free ones found).  An ack walks the inflight entries up to the one it
 * acknowledges: O(1) for acks in send order, O(inflight) for an unknown
 * packet identifier.
 */
#include "kmq_shim.h"
#include "codec.h"
#include "qos.h"

#define KMQ_PID_MAX	65535u
/* Candidate packet identifiers examined per walk of the inflight part. */
#define KMQ_PID_BLOCK	2048u

void kmq_out_init(struct kmq_out *o)
{
	memset(o, 0, sizeof(*o));
}

/* Unlink @e, whose predecessor is @prev.  Counters are the caller's. */
static void out_unlink(struct kmq_out *o, struct kmq_out_entry *prev,
		       struct kmq_out_entry *e)
{
	if (prev)
		prev->next = e->next;
	else
		o->head = e->next;
	if (o->tail == e)
		o->tail = prev;
	if (o->next_send == e)
		o->next_send = e->next;
	if (o->last_inflight == e)
		o->last_inflight = prev;
	e->next = NULL;
}

struct kmq_out_entry *kmq_out_push(struct kmq_out *o, struct kmq_out_entry *e,
				   u32 max_queued)
{
	struct kmq_out_entry *victim = NULL, *prev, *c;

	e->next = NULL;
	e->pid = 0;
	e->state = KMQ_OUT_QUEUED;
	e->sent = false;
	if (e->qos > 2)
		e->qos = 2;

	if (max_queued && o->queued >= max_queued) {
		if (!e->qos || !o->queued_qos0)
			return e;
		/* the oldest queued QoS 0 entry makes room */
		prev = o->last_inflight;
		for (c = o->next_send; c->qos; c = c->next)
			prev = c;
		victim = c;
		out_unlink(o, prev, victim);
		o->queued--;
		o->queued_qos0--;
	}

	if (o->tail)
		o->tail->next = e;
	else
		o->head = e;
	o->tail = e;
	if (!o->next_send)
		o->next_send = e;
	o->queued++;
	if (!e->qos)
		o->queued_qos0++;
	return victim;
}

/*
 * Candidate @off (0 = the first) for a packet identifier after @last,
 * counting 1..65535 and wrapping from 65535 to 1, and the reverse.
 */
static u16 pid_candidate(u16 last, u32 off)
{
	return (u16)(((u32)last % KMQ_PID_MAX + off) % KMQ_PID_MAX + 1);
}

static u32 pid_offset(u16 last, u16 pid)
{
	return ((u32)pid - 1 + KMQ_PID_MAX - (u32)last % KMQ_PID_MAX) %
	       KMQ_PID_MAX;
}

static bool bit_test(const u8 *map, u32 i)
{
	return map[i / 8] & (1u << (i % 8));
}

/*
 * The first packet identifier after @o->last_pid that no inflight entry
 * uses.  Candidates are examined in blocks, one walk of the inflight
 * entries per block; the free ones that directly follow the chosen one
 * in its block are remembered in @o->pid_free, so that the next calls
 * need no walk.  There must be fewer than 65535 inflight entries.
 */
static u16 out_new_pid(struct kmq_out *o)
{
	u8 used[KMQ_PID_BLOCK / 8];
	const struct kmq_out_entry *c;
	u32 base, end, off, i, run;

	if (o->pid_free) {
		o->pid_free--;
		return pid_candidate(o->last_pid, 0);
	}
	for (base = 0; base < KMQ_PID_MAX; base += KMQ_PID_BLOCK) {
		end = KMQ_PID_MAX - base;
		if (end > KMQ_PID_BLOCK)
			end = KMQ_PID_BLOCK;
		memset(used, 0, sizeof(used));
		for (c = o->head; c != o->next_send; c = c->next) {
			off = pid_offset(o->last_pid, c->pid);
			if (off >= base && off - base < end) {
				off -= base;
				used[off / 8] |= (u8)(1u << (off % 8));
			}
		}
		for (i = 0; i < end && bit_test(used, i); i++)
			;
		if (i == end)
			continue;
		for (run = 0; i + 1 + run < end; run++)
			if (bit_test(used, i + 1 + run))
				break;
		o->pid_free = (u16)run;
		return pid_candidate(o->last_pid, base + i);
	}
	return 0;	/* not reached while inflight < 65535 */
}

struct kmq_out_entry *kmq_out_next(struct kmq_out *o, u32 window)
{
	struct kmq_out_entry *e = o->next_send;

	if (!window || window > KMQ_PID_MAX)
		window = KMQ_PID_MAX;
	if (!e || o->inflight >= window)
		return NULL;

	e->sent = true;
	if (!e->qos) {
		out_unlink(o, o->last_inflight, e);
		o->queued--;
		o->queued_qos0--;
		return e;
	}

	e->pid = out_new_pid(o);
	o->last_pid = e->pid;
	e->state = e->qos == 1 ? KMQ_OUT_WAIT_PUBACK : KMQ_OUT_WAIT_PUBREC;
	o->next_send = e->next;
	o->last_inflight = e;
	o->queued--;
	o->inflight++;
	return e;
}

int kmq_out_ack(struct kmq_out *o, u8 type, u16 pid,
		struct kmq_out_entry **e, void **msg)
{
	struct kmq_out_entry *prev = NULL, *c;

	*e = NULL;
	*msg = NULL;
	for (c = o->head; c != o->next_send; c = c->next) {
		if (c->pid == pid)
			break;
		prev = c;
	}
	if (c == o->next_send)
		return KMQ_ACK_UNKNOWN;

	switch (type) {
	case KMQ_PUBACK:
		if (c->state != KMQ_OUT_WAIT_PUBACK)
			return KMQ_ACK_UNKNOWN;
		break;
	case KMQ_PUBREC:
		if (c->state == KMQ_OUT_WAIT_PUBREC) {
			c->state = KMQ_OUT_WAIT_PUBCOMP;
			*msg = c->msg;
			c->msg = NULL;
		} else if (c->state != KMQ_OUT_WAIT_PUBCOMP) {
			return KMQ_ACK_UNKNOWN;
		}
		*e = c;
		return KMQ_ACK_PUBREL;
	case KMQ_PUBCOMP:
		if (c->state != KMQ_OUT_WAIT_PUBCOMP)
			return KMQ_ACK_UNKNOWN;
		break;
	default:
		return KMQ_ACK_UNKNOWN;
	}

	out_unlink(o, prev, c);
	o->inflight--;
	*msg = c->msg;
	c->msg = NULL;
	*e = c;
	return KMQ_ACK_DONE;
}

struct kmq_out_entry *kmq_out_rewind(struct kmq_out *o)
{
	return o->inflight ? o->head : NULL;
}

struct kmq_out_entry *kmq_out_take_all(struct kmq_out *o)
{
	struct kmq_out_entry *list = o->head;
	u16 last_pid = o->last_pid;

	kmq_out_init(o);
	o->last_pid = last_pid;
	return list;
}

struct kmq_out_entry *kmq_out_drop_qos0(struct kmq_out *o)
{
	struct kmq_out_entry *list = NULL, *ltail = NULL;
	struct kmq_out_entry *prev = o->last_inflight, *c, *next;

	if (!o->queued_qos0)
		return NULL;
	for (c = o->next_send; c; c = next) {
		next = c->next;
		if (c->qos) {
			prev = c;
			continue;
		}
		out_unlink(o, prev, c);
		o->queued--;
		if (ltail)
			ltail->next = c;
		else
			list = c;
		ltail = c;
	}
	o->queued_qos0 = 0;
	return list;
}
