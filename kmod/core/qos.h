/* SPDX-License-Identifier: GPL-2.0 */
/*
 * qos.h - a session's outbound queue and QoS 1/2 state (MQTT 3.1.1 4.3,
 * 4.4, 4.6).
 *
 * One FIFO per session holds every delivery, QoS 0 included, so that
 * messages leave in the order they were queued whatever their QoS.  The
 * front of the FIFO is the "inflight" part: QoS 1/2 PUBLISHes sent and not
 * yet acknowledged (and QoS 2 PUBRELs awaiting PUBCOMP), in send order.
 * Behind them are the queued entries, waiting for a send slot.  The
 * inflight window caps the inflight part; when it is full, the whole
 * queue waits, QoS 0 included (ordering, 4.6).
 *
 * Entries are allocated and freed by the caller; the queue only links
 * them.  @msg is an opaque reference owned by the entry.  No locking:
 * the caller serialises every call on one struct kmq_out.
 */
#ifndef _KMQ_QOS_H
#define _KMQ_QOS_H

#include "kmq_shim.h"

enum kmq_out_state {
	KMQ_OUT_QUEUED = 0,	/* waiting for a send slot */
	KMQ_OUT_WAIT_PUBACK,	/* QoS 1 PUBLISH sent */
	KMQ_OUT_WAIT_PUBREC,	/* QoS 2 PUBLISH sent */
	KMQ_OUT_WAIT_PUBCOMP,	/* QoS 2 PUBREL sent; @msg already released */
};

/**
 * struct kmq_out_entry - one delivery to a session
 * @next: FIFO link
 * @msg: the caller's message reference (NULL once a PUBREC released it)
 * @pid: packet identifier, assigned when first sent (QoS 1/2)
 * @qos: QoS of this delivery (min of published and granted)
 * @state: enum kmq_out_state
 * @retain: send with RETAIN set (retained message sent on subscribe)
 * @sent: sent at least once (a re-send then carries DUP)
 */
struct kmq_out_entry {
	struct kmq_out_entry *next;
	void *msg;
	u16 pid;
	u8 qos;
	u8 state;
	bool retain;
	bool sent;
};

/**
 * struct kmq_out - the FIFO
 * @head: oldest entry (inflight ones first)
 * @tail: newest entry
 * @next_send: first entry in state KMQ_OUT_QUEUED, or NULL
 * @last_inflight: last entry in a KMQ_OUT_WAIT_* state (the one before
 *	@next_send), or NULL
 * @inflight: entries in a KMQ_OUT_WAIT_* state
 * @queued: entries in state KMQ_OUT_QUEUED
 * @queued_qos0: of which QoS 0
 * @last_pid: last packet identifier assigned
 * @pid_free: how many identifiers after @last_pid are known to be unused
 *	(a cache; 0 is always correct: set it to 0 if @last_pid is changed)
 *
 * All zero (kmq_out_init(), kzalloc()) is an empty FIFO.
 */
struct kmq_out {
	struct kmq_out_entry *head;
	struct kmq_out_entry *tail;
	struct kmq_out_entry *next_send;
	struct kmq_out_entry *last_inflight;
	u32 inflight;
	u32 queued;
	u32 queued_qos0;
	u16 last_pid;
	u16 pid_free;
};

void kmq_out_init(struct kmq_out *o);

/**
 * kmq_out_push() - queue a delivery, within a limit
 * @o: the FIFO
 * @e: the new entry (@e->qos, @e->msg, @e->retain set; the rest is reset)
 * @max_queued: limit on queued (not inflight) entries; 0 = none
 *
 * When the queue is full, QoS 0 is dropped first: a new QoS 1/2 entry
 * evicts the oldest queued QoS 0 entry if there is one; otherwise the new
 * entry is refused.
 *
 * Return: NULL if @e was queued and nothing dropped; otherwise the entry
 * the caller must free (and count as dropped): the evicted one (and @e is
 * queued) or @e itself (refused).
 */
struct kmq_out_entry *kmq_out_push(struct kmq_out *o, struct kmq_out_entry *e,
				   u32 max_queued);

/**
 * kmq_out_next() - the next entry to send, if the window allows
 * @o: the FIFO
 * @window: maximum inflight entries; 0 (or above 65535) = 65535
 *
 * A QoS 0 entry is unlinked and returned: the caller sends and frees it.
 * A QoS 1/2 entry gets a packet identifier not in use by another inflight
 * entry, moves to WAIT_PUBACK or WAIT_PUBREC, is marked sent, and stays
 * linked.  When the window is full nothing is returned, even if a QoS 0
 * entry is queued behind (ordering).
 *
 * Return: the entry, or NULL.
 */
struct kmq_out_entry *kmq_out_next(struct kmq_out *o, u32 window);

enum kmq_ack_result {
	KMQ_ACK_UNKNOWN = 0,	/* no inflight entry waits for this ack */
	KMQ_ACK_DONE,		/* PUBACK or PUBCOMP: entry unlinked */
	KMQ_ACK_PUBREL,		/* PUBREC: now WAIT_PUBCOMP; send PUBREL */
};

/**
 * kmq_out_ack() - apply an acknowledgment from the client
 * @o: the FIFO
 * @type: KMQ_PUBACK, KMQ_PUBREC or KMQ_PUBCOMP (enum kmq_ptype)
 * @pid: its packet identifier
 * @e: set to the entry concerned (for KMQ_ACK_DONE and KMQ_ACK_PUBREL)
 * @msg: set to the message reference the caller must now release
 *	 (KMQ_ACK_DONE with a QoS 1 entry, KMQ_ACK_PUBREL), else NULL
 *
 * KMQ_ACK_DONE: the caller frees @e (@e->msg is cleared: the reference
 * is in *@msg).  KMQ_ACK_PUBREL: @e stays linked with @e->msg cleared.
 * A PUBREC for an entry already in WAIT_PUBCOMP (a duplicate) also
 * returns KMQ_ACK_PUBREL with *@msg NULL.
 *
 * Return: enum kmq_ack_result.
 */
int kmq_out_ack(struct kmq_out *o, u8 type, u16 pid,
		struct kmq_out_entry **e, void **msg);

/**
 * kmq_out_rewind() - prepare a re-send of the inflight part (reconnect)
 * @o: the FIFO
 *
 * Inflight entries keep their packet identifiers and order (4.4): the
 * caller walks them from @o->head while their state is not QUEUED and
 * re-sends a PUBLISH with DUP (WAIT_PUBACK, WAIT_PUBREC) or a PUBREL
 * (WAIT_PUBCOMP).  Nothing changes in the FIFO; this only exists so that
 * the walk has a name.
 *
 * Return: the first inflight entry, or NULL.
 */
struct kmq_out_entry *kmq_out_rewind(struct kmq_out *o);

/**
 * kmq_out_take_all() - empty the FIFO
 * @o: the FIFO (reinitialised, keeping last_pid)
 *
 * Return: the former entries as a NULL-terminated list via ->next; the
 * caller releases each entry's @msg (if any) and frees it.
 */
struct kmq_out_entry *kmq_out_take_all(struct kmq_out *o);

/**
 * kmq_out_drop_qos0() - remove every queued QoS 0 entry (session offline)
 * @o: the FIFO
 *
 * Return: the removed entries as a NULL-terminated list via ->next.
 */
struct kmq_out_entry *kmq_out_drop_qos0(struct kmq_out *o);

#endif /* _KMQ_QOS_H */
