// SPDX-License-Identifier: GPL-2.0
/*
 * test_qos.c - unit tests for kmod/core/qos.c, the outbound QoS queue.
 * Linked into test_core (tap.h).  Entries are malloc()ed one by one and
 * freed as soon as the queue hands them back, so that ASan catches a
 * queue that keeps a reference to an entry it gave away.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kmq_shim.h"
#include "codec.h"
#include "qos.h"
#include "tap.h"

#define M(x) ((void *)(uintptr_t)(x))

static struct kmq_out_entry *ent(u8 qos, uintptr_t msg)
{
	struct kmq_out_entry *e = malloc(sizeof(*e));

	if (!e)
		abort();
	/* garbage in the fields push must reset */
	memset(e, 0xa5, sizeof(*e));
	e->qos = qos;
	e->msg = M(msg);
	e->retain = false;
	return e;
}

/* Move last_pid by hand; the pid_free cache must then be dropped. */
static void set_last(struct kmq_out *o, u16 pid)
{
	o->last_pid = pid;
	o->pid_free = 0;
}

static void free_list(struct kmq_out_entry *l)
{
	struct kmq_out_entry *n;

	for (; l; l = n) {
		n = l->next;
		free(l);
	}
}

/*
 * Walk the FIFO and recompute everything struct kmq_out caches.  Prints
 * the first inconsistency as a TAP comment.
 */
static bool inv_ok(const struct kmq_out *o)
{
	static u32 seen[65536], gen;
	const struct kmq_out_entry *e, *last = NULL, *first_q = NULL;
	const struct kmq_out_entry *last_inf = NULL;
	u32 inflight = 0, queued = 0, q0 = 0, n = 0, k;
	const char *why = NULL;

	gen++;
	for (e = o->head; e; e = e->next) {
		if (++n > 200000) {
			why = "cycle";
			break;
		}
		if (e->state == KMQ_OUT_QUEUED) {
			if (!first_q)
				first_q = e;
			queued++;
			if (!e->qos)
				q0++;
			if (e->sent || e->pid) {
				why = "queued entry sent or with a pid";
				break;
			}
		} else {
			if (first_q) {
				why = "inflight entry behind a queued one";
				break;
			}
			inflight++;
			if (!e->qos || e->qos > 2 || !e->sent || !e->pid) {
				why = "inflight entry: qos, sent or pid";
				break;
			}
			if (seen[e->pid] == gen) {
				why = "packet id used twice";
				break;
			}
			seen[e->pid] = gen;
			if (e->qos == 1 && e->state != KMQ_OUT_WAIT_PUBACK) {
				why = "QoS 1 entry not in WAIT_PUBACK";
				break;
			}
			if (e->qos == 2 && e->state != KMQ_OUT_WAIT_PUBREC &&
			    e->state != KMQ_OUT_WAIT_PUBCOMP) {
				why = "QoS 2 entry state";
				break;
			}
			if (e->state == KMQ_OUT_WAIT_PUBCOMP && e->msg) {
				why = "WAIT_PUBCOMP entry still has its msg";
				break;
			}
		}
		if (e->state != KMQ_OUT_QUEUED)
			last_inf = e;
		last = e;
	}
	for (k = 0; !why && k < o->pid_free; k++) {
		u32 p = ((u32)o->last_pid % 65535 + k) % 65535 + 1;

		if (seen[p] == gen)
			why = "pid_free covers a used packet id";
	}
	if (!why && o->pid_free >= 65535)
		why = "pid_free too large";
	if (!why && o->last_inflight != last_inf)
		why = "last_inflight";
	if (!why && o->tail != last)
		why = "tail";
	else if (!why && o->next_send != first_q)
		why = "next_send";
	else if (!why && o->inflight != inflight)
		why = "inflight count";
	else if (!why && o->queued != queued)
		why = "queued count";
	else if (!why && o->queued_qos0 != q0)
		why = "queued_qos0 count";
	else if (!why && (!o->head) != (!o->tail))
		why = "head/tail";
	if (why)
		printf("# invariant broken: %s\n", why);
	return !why;
}

static int ack(struct kmq_out *o, u8 type, u16 pid,
	       struct kmq_out_entry **e, void **msg)
{
	/* poison the outputs: the function must always set them */
	*e = M(1);
	*msg = M(1);
	return kmq_out_ack(o, type, pid, e, msg);
}

/* ---- basics ------------------------------------------------------------ */

static void test_qos_basic(void)
{
	struct kmq_out o;
	struct kmq_out_entry *a, *b, *c, *d, *x, *e;
	void *m;
	int bad = 0;

	memset(&o, 0x5a, sizeof(o));
	kmq_out_init(&o);
	CHECK(!o.head && !o.tail && !o.next_send && !o.last_inflight &&
	      !o.inflight && !o.queued && !o.queued_qos0 && !o.last_pid &&
	      !o.pid_free, "qos: init zeroes");
	CHECK(!kmq_out_next(&o, 0), "qos: next on empty is NULL");
	CHECK(!kmq_out_rewind(&o), "qos: rewind on empty is NULL");
	CHECK(!kmq_out_take_all(&o), "qos: take_all on empty is NULL");
	CHECK(!kmq_out_drop_qos0(&o), "qos: drop_qos0 on empty is NULL");
	CHECK_EQ(ack(&o, KMQ_PUBACK, 1, &e, &m), KMQ_ACK_UNKNOWN,
		 "qos: ack on empty is UNKNOWN");
	CHECK(!e && !m, "qos: ack UNKNOWN clears *e and *msg");

	a = ent(0, 10);
	b = ent(1, 11);
	c = ent(2, 12);
	d = ent(0, 13);
	bad |= !!kmq_out_push(&o, a, 0);
	bad |= !!kmq_out_push(&o, b, 0);
	bad |= !!kmq_out_push(&o, c, 0);
	bad |= !!kmq_out_push(&o, d, 0);
	CHECK(!bad && inv_ok(&o), "qos: push four, nothing dropped");
	CHECK(o.head == a && o.tail == d && o.next_send == a &&
	      o.queued == 4 && o.queued_qos0 == 2 && !o.inflight,
	      "qos: FIFO after push");
	CHECK(a->state == KMQ_OUT_QUEUED && !a->sent && !a->pid &&
	      !d->next && a->msg == M(10), "qos: push resets the entry");
	CHECK(!kmq_out_rewind(&o), "qos: rewind with nothing inflight");

	x = kmq_out_next(&o, 0);
	CHECK(x == a && !x->next && x->sent && inv_ok(&o) && o.head == b,
	      "qos: next unlinks QoS 0 head");
	free(x);
	x = kmq_out_next(&o, 0);
	CHECK(x == b && x->pid == 1 && x->state == KMQ_OUT_WAIT_PUBACK &&
	      x->sent && o.last_pid == 1 && inv_ok(&o),
	      "qos: QoS 1 gets pid 1, WAIT_PUBACK, stays linked");
	x = kmq_out_next(&o, 0);
	CHECK(x == c && x->pid == 2 && x->state == KMQ_OUT_WAIT_PUBREC &&
	      inv_ok(&o) && o.inflight == 2 && o.next_send == d,
	      "qos: QoS 2 gets pid 2, WAIT_PUBREC");
	CHECK(kmq_out_rewind(&o) == b, "qos: rewind returns first inflight");
	x = kmq_out_next(&o, 0);
	CHECK(x == d && !x->next && inv_ok(&o) && o.tail == c &&
	      !o.next_send && c->next == NULL,
	      "qos: QoS 0 behind inflight unlinked, tail fixed");
	free(x);
	CHECK(!kmq_out_next(&o, 0) && inv_ok(&o), "qos: nothing more to send");

	/* acks */
	CHECK_EQ(ack(&o, KMQ_PUBACK, 2, &e, &m), KMQ_ACK_UNKNOWN,
		 "qos: PUBACK for a QoS 2 entry is UNKNOWN");
	CHECK(!e && !m && c->state == KMQ_OUT_WAIT_PUBREC && inv_ok(&o),
	      "qos: ... and changes nothing");
	CHECK_EQ(ack(&o, KMQ_PUBCOMP, 2, &e, &m), KMQ_ACK_UNKNOWN,
		 "qos: PUBCOMP before PUBREC is UNKNOWN");
	CHECK_EQ(ack(&o, KMQ_PUBREC, 1, &e, &m), KMQ_ACK_UNKNOWN,
		 "qos: PUBREC for a QoS 1 entry is UNKNOWN");
	CHECK_EQ(ack(&o, KMQ_PUBCOMP, 1, &e, &m), KMQ_ACK_UNKNOWN,
		 "qos: PUBCOMP for a QoS 1 entry is UNKNOWN");
	CHECK_EQ(ack(&o, KMQ_PUBACK, 3, &e, &m), KMQ_ACK_UNKNOWN,
		 "qos: PUBACK for an unused pid is UNKNOWN");
	CHECK_EQ(ack(&o, KMQ_PUBACK, 0, &e, &m), KMQ_ACK_UNKNOWN,
		 "qos: PUBACK for pid 0 is UNKNOWN");
	CHECK_EQ(ack(&o, KMQ_PUBREL, 2, &e, &m), KMQ_ACK_UNKNOWN,
		 "qos: PUBREL is UNKNOWN");
	CHECK_EQ(ack(&o, KMQ_PUBLISH, 1, &e, &m), KMQ_ACK_UNKNOWN,
		 "qos: PUBLISH is UNKNOWN");
	CHECK_EQ(ack(&o, 0, 1, &e, &m), KMQ_ACK_UNKNOWN,
		 "qos: type 0 is UNKNOWN");
	CHECK(inv_ok(&o) && o.inflight == 2 && b->msg == M(11) &&
	      c->msg == M(12), "qos: unknown acks changed nothing");

	CHECK_EQ(ack(&o, KMQ_PUBREC, 2, &e, &m), KMQ_ACK_PUBREL,
		 "qos: PUBREC gives PUBREL");
	CHECK(e == c && m == M(12) && !c->msg &&
	      c->state == KMQ_OUT_WAIT_PUBCOMP && inv_ok(&o) &&
	      o.inflight == 2, "qos: PUBREC releases msg, WAIT_PUBCOMP");
	CHECK_EQ(ack(&o, KMQ_PUBREC, 2, &e, &m), KMQ_ACK_PUBREL,
		 "qos: duplicate PUBREC gives PUBREL again");
	CHECK(e == c && !m && inv_ok(&o), "qos: ... with msg NULL");
	CHECK_EQ(ack(&o, KMQ_PUBACK, 2, &e, &m), KMQ_ACK_UNKNOWN,
		 "qos: PUBACK for WAIT_PUBCOMP is UNKNOWN");
	CHECK_EQ(ack(&o, KMQ_PUBACK, 1, &e, &m), KMQ_ACK_DONE,
		 "qos: PUBACK done");
	CHECK(e == b && m == M(11) && !b->msg && !b->next && inv_ok(&o) &&
	      o.head == c && o.tail == c && o.inflight == 1,
	      "qos: PUBACK unlinks head, gives msg, clears e->msg");
	free(b);
	CHECK_EQ(ack(&o, KMQ_PUBACK, 1, &e, &m), KMQ_ACK_UNKNOWN,
		 "qos: duplicate PUBACK is UNKNOWN");
	CHECK_EQ(ack(&o, KMQ_PUBCOMP, 2, &e, &m), KMQ_ACK_DONE,
		 "qos: PUBCOMP done");
	CHECK(e == c && !m && inv_ok(&o) && !o.head && !o.tail,
	      "qos: PUBCOMP unlinks, msg NULL, queue empty");
	free(c);
	CHECK_EQ(ack(&o, KMQ_PUBCOMP, 2, &e, &m), KMQ_ACK_UNKNOWN,
		 "qos: duplicate PUBCOMP is UNKNOWN");
	CHECK_EQ(ack(&o, KMQ_PUBREC, 2, &e, &m), KMQ_ACK_UNKNOWN,
		 "qos: PUBREC after PUBCOMP is UNKNOWN");
	CHECK(o.last_pid == 2 && inv_ok(&o), "qos: last_pid kept");

	/* qos > 2 is treated as 2 */
	a = ent(3, 20);
	kmq_out_push(&o, a, 0);
	CHECK(a->qos == 2 && kmq_out_next(&o, 0) == a &&
	      a->state == KMQ_OUT_WAIT_PUBREC && a->pid == 3 && inv_ok(&o),
	      "qos: QoS 3 entry clamped to 2");
	free_list(kmq_out_take_all(&o));
}

/* ---- the window -------------------------------------------------------- */

static void test_qos_window(void)
{
	struct kmq_out o;
	struct kmq_out_entry *a, *b, *c, *x, *e;
	void *m;
	u32 i, n;
	bool ok;

	kmq_out_init(&o);
	a = ent(1, 1);
	b = ent(0, 2);
	c = ent(2, 3);
	kmq_out_push(&o, a, 0);
	kmq_out_push(&o, b, 0);
	kmq_out_push(&o, c, 0);
	CHECK(kmq_out_next(&o, 1) == a, "qos: window 1 sends one QoS 1");
	CHECK(!kmq_out_next(&o, 1) && inv_ok(&o) && o.next_send == b &&
	      o.queued_qos0 == 1,
	      "qos: window full blocks the QoS 0 entry behind");
	CHECK(kmq_out_next(&o, 2) == b && inv_ok(&o),
	      "qos: larger window lets the QoS 0 entry go");
	free(b);
	CHECK(!kmq_out_next(&o, 1) && o.next_send == c,
	      "qos: window 1 still full for the QoS 2 entry");
	CHECK_EQ(ack(&o, KMQ_PUBACK, a->pid, &e, &m), KMQ_ACK_DONE,
		 "qos: ack frees the slot");
	free(e);
	x = kmq_out_next(&o, 1);
	CHECK(x == c && x->pid == 2 && inv_ok(&o),
	      "qos: freed slot used, next pid");
	CHECK_EQ(ack(&o, KMQ_PUBREC, 2, &e, &m), KMQ_ACK_PUBREL,
		 "qos: PUBREC");
	a = ent(0, 4);
	kmq_out_push(&o, a, 0);
	CHECK(!kmq_out_next(&o, 1) && inv_ok(&o),
	      "qos: WAIT_PUBCOMP entry still holds its window slot");
	CHECK_EQ(ack(&o, KMQ_PUBCOMP, 2, &e, &m), KMQ_ACK_DONE,
		 "qos: PUBCOMP");
	free(e);
	CHECK(kmq_out_next(&o, 1) == a && inv_ok(&o) && !o.head,
	      "qos: then the QoS 0 entry goes");
	free(a);

	/* window 0 = 65535 and windows above 65535 are clamped */
	for (i = 0; i < 100; i++)
		kmq_out_push(&o, ent(1, i), 0);
	for (n = 0; kmq_out_next(&o, 0); n++)
		;
	CHECK(n == 100 && o.inflight == 100 && inv_ok(&o),
	      "qos: window 0 lets 100 out");
	kmq_out_push(&o, ent(1, 0), 0);
	CHECK(!kmq_out_next(&o, 100) && kmq_out_next(&o, 101) &&
	      inv_ok(&o), "qos: window exactly reached / one more");
	free_list(kmq_out_take_all(&o));

	/* window > 65535 behaves as 65535 (checked in test_qos_pid_full) */
	ok = true;
	kmq_out_push(&o, ent(2, 0), 0);
	ok &= kmq_out_next(&o, 0xffffffffu) != NULL;
	CHECK(ok && inv_ok(&o), "qos: window 0xffffffff accepted");
	free_list(kmq_out_take_all(&o));
}

/* ---- packet identifiers ------------------------------------------------ */

static void test_qos_pid(void)
{
	struct kmq_out o;
	struct kmq_out_entry *x, *e, *keep;
	void *m;
	u16 pids[4];
	u32 i;

	kmq_out_init(&o);
	set_last(&o, 65534);
	for (i = 0; i < 4; i++) {
		kmq_out_push(&o, ent(1, i), 0);
		x = kmq_out_next(&o, 0);
		pids[i] = x->pid;
	}
	CHECK(pids[0] == 65535 && pids[1] == 1 && pids[2] == 2 &&
	      pids[3] == 3 && inv_ok(&o), "qos: pid wraps 65535 -> 1, skips 0");
	free_list(kmq_out_take_all(&o));
	CHECK(o.last_pid == 3 && !o.head && !o.inflight && inv_ok(&o),
	      "qos: take_all keeps last_pid");

	kmq_out_init(&o);
	set_last(&o, 65535);
	kmq_out_push(&o, ent(2, 0), 0);
	keep = kmq_out_next(&o, 0);
	CHECK(keep->pid == 1, "qos: last_pid 65535 -> next pid 1");
	/* keep pid 1 inflight, cycle the others through the whole space */
	for (i = 0; i < 65534 + 3; i++) {
		kmq_out_push(&o, ent(1, i), 0);
		x = kmq_out_next(&o, 0);
		if (!x || x->pid == 1 || !x->pid)
			break;
		if (i == 65533 && x->pid != 65535)
			break;
		if (i == 65534 && x->pid != 2)
			break;
		if (ack(&o, KMQ_PUBACK, x->pid, &e, &m) != KMQ_ACK_DONE ||
		    e != x)
			break;
		free(e);
	}
	CHECK(i == 65534 + 3 && inv_ok(&o) && o.inflight == 1 &&
	      o.head == keep, "qos: pid 1 in use is skipped across wraps");

	/* two in a row in use */
	set_last(&o, 65535);
	kmq_out_push(&o, ent(1, 0), 0);
	x = kmq_out_next(&o, 0);
	CHECK(x->pid == 2, "qos: 1 in use -> 2");
	set_last(&o, 0);
	kmq_out_push(&o, ent(1, 0), 0);
	x = kmq_out_next(&o, 0);
	CHECK(x->pid == 3 && inv_ok(&o), "qos: 1 and 2 in use -> 3");
	free_list(kmq_out_take_all(&o));

	/* the cached run of free ids stops before one in use */
	set_last(&o, 9);
	kmq_out_push(&o, keep = ent(1, 0), 0);
	kmq_out_next(&o, 0);
	set_last(&o, 0);
	for (i = 0; i < 10; i++) {
		kmq_out_push(&o, ent(2, i), 0);
		x = kmq_out_next(&o, 0);
		pids[i & 3] = x->pid;
		if (!inv_ok(&o) || x->pid != (i < 9 ? i + 1 : 11))
			break;
	}
	CHECK(keep->pid == 10 && i == 10 && o.pid_free == 2046,
	      "qos: cached free ids skip the one in use");
	free_list(kmq_out_take_all(&o));
	CHECK(!o.pid_free && o.last_pid == 11, "qos: take_all drops cache");
}

/* 65535 inflight: the whole id space used. */
static void test_qos_pid_full(void)
{
	/* last_pid, the only free id: offsets 0, 2047, 2048 (block edges), */
	/* 29999, 65534 (the last candidate) */
	static const struct {
		u16 last, hole;
	} holes[] = {
		{ 65535, 30000 }, { 0, 2048 }, { 0, 2049 }, { 65535, 1 },
		{ 65534, 65535 }, { 100, 100 }, { 65535, 65535 }, { 1, 2 },
		{ 7, 6 },
	};
	struct kmq_out o;
	struct kmq_out_entry *x, *e, *q0, *q1;
	void *m;
	u32 i, n = 0;
	bool ok = true;

	kmq_out_init(&o);
	for (i = 0; i < 65535; i++)
		kmq_out_push(&o, ent(1, i), 0);
	q0 = ent(0, 0);
	q1 = ent(1, 0);
	kmq_out_push(&o, q0, 0);
	kmq_out_push(&o, q1, 0);
	while ((x = kmq_out_next(&o, 70000))) {
		if (x->pid != n + 1)
			ok = false;
		n++;
	}
	CHECK(ok && n == 65535 && o.inflight == 65535 && o.last_pid == 65535,
	      "qos: window 70000 stops at 65535, pids 1..65535 in order");
	CHECK(inv_ok(&o) && o.next_send == q0 && o.queued == 2,
	      "qos: full id space, QoS 0 and 1 wait");
	CHECK(!kmq_out_next(&o, 0), "qos: window 0 (65535) full too");

	/* free one id at a time, the next send must find exactly it */
	for (i = 0; i < sizeof(holes) / sizeof(holes[0]); i++) {
		if (ack(&o, KMQ_PUBACK, holes[i].hole, &e, &m) !=
		    KMQ_ACK_DONE || e->pid != holes[i].hole) {
			ok = false;
			break;
		}
		free(e);
		if (!o.next_send || !o.next_send->qos) {
			/* the QoS 0 entry goes first, then fill the hole */
			x = kmq_out_next(&o, 0);
			if (x != q0) {
				ok = false;
				break;
			}
			free(x);
		}
		kmq_out_push(&o, ent(1, 0), 0);
		set_last(&o, holes[i].last);
		x = kmq_out_next(&o, 0);
		if (!x || x->pid != holes[i].hole || kmq_out_next(&o, 0)) {
			printf("# hole %u: got %u\n", holes[i].hole,
			       x ? x->pid : 0);
			ok = false;
			break;
		}
	}
	CHECK(ok && inv_ok(&o) && o.inflight == 65535,
	      "qos: full id space, freed ids found (wrap, block edges)");

	/* free two: the one after last_pid in wrap order wins */
	ack(&o, KMQ_PUBACK, 100, &e, &m);
	free(e);
	ack(&o, KMQ_PUBACK, 50, &e, &m);
	free(e);
	set_last(&o, 60);	/* 100 comes first from here */
	x = kmq_out_next(&o, 0);
	CHECK(x && x->pid == 100, "qos: first free id after last_pid");
	kmq_out_push(&o, ent(2, 0), 0);
	x = kmq_out_next(&o, 0);
	CHECK(x && x->pid == 50 && inv_ok(&o), "qos: then wraps to 50");
	free_list(kmq_out_take_all(&o));
}

/* ---- ack out of order, removal from the middle ------------------------- */

static void test_qos_ack_order(void)
{
	struct kmq_out o;
	struct kmq_out_entry *en[6], *e, *q;
	void *m;
	int r[3];
	u32 i;

	kmq_out_init(&o);
	for (i = 0; i < 3; i++)
		kmq_out_push(&o, en[i] = ent(2, 100 + i), 0);
	for (i = 0; i < 3; i++)
		kmq_out_next(&o, 0);
	q = ent(1, 200);
	kmq_out_push(&o, q, 0);
	r[0] = ack(&o, KMQ_PUBREC, 3, &e, &m);
	CHECK(r[0] == KMQ_ACK_PUBREL && e == en[2] && m == M(102) &&
	      inv_ok(&o), "qos: PUBREC for the last inflight entry first");
	r[0] = ack(&o, KMQ_PUBREC, 1, &e, &m);
	r[1] = ack(&o, KMQ_PUBREC, 2, &e, &m);
	CHECK(r[0] == KMQ_ACK_PUBREL && r[1] == KMQ_ACK_PUBREL &&
	      m == M(101) && inv_ok(&o), "qos: PUBREC 1, 2");
	r[0] = ack(&o, KMQ_PUBCOMP, 2, &e, &m);
	CHECK(r[0] == KMQ_ACK_DONE && e == en[1] && !m && inv_ok(&o) &&
	      o.head == en[0] && en[0]->next == en[2] && en[2]->next == q &&
	      o.next_send == q && o.tail == q,
	      "qos: PUBCOMP from the middle relinks");
	free(e);
	r[0] = ack(&o, KMQ_PUBCOMP, 3, &e, &m);
	CHECK(r[0] == KMQ_ACK_DONE && e == en[2] && inv_ok(&o) &&
	      en[0]->next == q && o.next_send == q,
	      "qos: PUBCOMP of last inflight before a queued entry");
	free(e);
	r[0] = ack(&o, KMQ_PUBCOMP, 1, &e, &m);
	CHECK(r[0] == KMQ_ACK_DONE && e == en[0] && inv_ok(&o) &&
	      o.head == q && o.tail == q && !o.inflight,
	      "qos: PUBCOMP of head leaves the queued entry");
	free(e);
	CHECK(kmq_out_next(&o, 0) == q && q->pid == 4, "qos: then send");
	free_list(kmq_out_take_all(&o));

	/* removal of the tail when nothing is queued */
	for (i = 0; i < 3; i++)
		kmq_out_push(&o, en[i] = ent(1, i), 0);
	for (i = 0; i < 3; i++)
		kmq_out_next(&o, 0);
	r[0] = ack(&o, KMQ_PUBACK, en[2]->pid, &e, &m);
	CHECK(r[0] == KMQ_ACK_DONE && e == en[2] && o.tail == en[1] &&
	      !en[1]->next && inv_ok(&o), "qos: PUBACK of tail fixes tail");
	free(e);
	kmq_out_push(&o, en[2] = ent(0, 9), 0);
	CHECK(o.tail == en[2] && en[1]->next == en[2] && inv_ok(&o),
	      "qos: push after tail removal links behind the new tail");
	r[0] = ack(&o, KMQ_PUBACK, en[1]->pid, &e, &m);
	free(e);
	r[1] = ack(&o, KMQ_PUBACK, en[0]->pid, &e, &m);
	free(e);
	CHECK(r[0] == KMQ_ACK_DONE && r[1] == KMQ_ACK_DONE &&
	      o.head == en[2] && inv_ok(&o), "qos: all acked");
	free_list(kmq_out_take_all(&o));
}

/* ---- the queue limit --------------------------------------------------- */

static void test_qos_limit(void)
{
	struct kmq_out o;
	struct kmq_out_entry *a, *b, *c, *d, *x, *r;
	u32 i;

	kmq_out_init(&o);
	a = ent(0, 1);
	b = ent(1, 2);
	c = ent(0, 3);
	CHECK(!kmq_out_push(&o, a, 3) && !kmq_out_push(&o, b, 3) &&
	      !kmq_out_push(&o, c, 3), "qos: limit 3: three pushed");
	d = ent(0, 4);
	r = kmq_out_push(&o, d, 3);
	CHECK(r == d && inv_ok(&o) && o.queued == 3 && o.tail == c,
	      "qos: full: a new QoS 0 entry is refused");
	free(d);
	d = ent(1, 5);
	r = kmq_out_push(&o, d, 3);
	CHECK(r == a && !a->next && inv_ok(&o) && o.head == b &&
	      o.next_send == b && o.tail == d && o.queued == 3 &&
	      o.queued_qos0 == 1,
	      "qos: full: QoS 1 evicts the oldest QoS 0 (head, next_send)");
	free(a);
	a = ent(2, 6);
	r = kmq_out_push(&o, a, 3);
	CHECK(r == c && inv_ok(&o) && o.queued_qos0 == 0 && b->next == d &&
	      d->next == a && o.tail == a,
	      "qos: full: QoS 2 evicts QoS 0 from the middle");
	free(c);
	c = ent(1, 7);
	r = kmq_out_push(&o, c, 3);
	CHECK(r == c && inv_ok(&o) && o.tail == a && o.queued == 3,
	      "qos: full of QoS 1/2: new QoS 1 refused");
	free(c);
	c = ent(0, 8);
	CHECK(kmq_out_push(&o, c, 3) == c && inv_ok(&o),
	      "qos: full of QoS 1/2: new QoS 0 refused");
	free(c);

	/* inflight entries do not count */
	x = kmq_out_next(&o, 0);
	CHECK(x == b && o.queued == 2 && o.inflight == 1,
	      "qos: one sent");
	c = ent(0, 9);
	CHECK(!kmq_out_push(&o, c, 3) && inv_ok(&o) && o.queued == 3,
	      "qos: limit counts queued entries only");
	/* victim is the tail, behind an inflight entry */
	x = ent(1, 10);
	r = kmq_out_push(&o, x, 3);
	CHECK(r == c && inv_ok(&o) && o.tail == x && a->next == x,
	      "qos: evicting the tail QoS 0 entry");
	free(c);
	/* victim is next_send, behind an inflight entry */
	free_list(kmq_out_take_all(&o));
	kmq_out_push(&o, a = ent(1, 1), 2);
	kmq_out_next(&o, 0);
	kmq_out_push(&o, b = ent(0, 2), 2);
	kmq_out_push(&o, c = ent(1, 3), 2);
	r = kmq_out_push(&o, d = ent(1, 4), 2);
	CHECK(r == b && inv_ok(&o) && a->next == c && o.next_send == c &&
	      o.tail == d, "qos: evicting next_send behind inflight");
	free(b);
	free_list(kmq_out_take_all(&o));

	/* limit 0 = none */
	for (i = 0; i < 1000; i++)
		if (kmq_out_push(&o, ent(i & 1, i), 0))
			break;
	CHECK(i == 1000 && inv_ok(&o) && o.queued == 1000 &&
	      o.queued_qos0 == 500, "qos: limit 0 is unlimited");
	/* a lowered limit: still one evicted per QoS 1 push */
	a = ent(1, 0);
	r = kmq_out_push(&o, a, 10);
	CHECK(r && r->qos == 0 && r->msg == M(0) && inv_ok(&o) &&
	      o.queued == 1000 && o.queued_qos0 == 499,
	      "qos: over the limit: QoS 1 evicts the oldest QoS 0");
	free(r);
	free_list(kmq_out_take_all(&o));

	/* limit 1 */
	a = ent(0, 1);
	kmq_out_push(&o, a, 1);
	b = ent(1, 2);
	CHECK(kmq_out_push(&o, b, 1) == a && o.head == b && o.tail == b &&
	      o.next_send == b && inv_ok(&o),
	      "qos: limit 1: the only entry evicted");
	free(a);
	free_list(kmq_out_take_all(&o));
}

/* ---- rewind, take_all, drop_qos0 ---------------------------------------- */

static void test_qos_lists(void)
{
	struct kmq_out o;
	struct kmq_out_entry *en[8], *l, *e;
	void *m;
	static const u8 qs[8] = { 1, 2, 1, 0, 2, 0, 0, 1 };
	u32 i, n;
	bool ok;

	kmq_out_init(&o);
	for (i = 0; i < 8; i++)
		kmq_out_push(&o, en[i] = ent(qs[i], i), 0);
	for (i = 0; i < 3; i++)
		kmq_out_next(&o, 3);
	ack(&o, KMQ_PUBREC, en[1]->pid, &e, &m);
	CHECK(inv_ok(&o) && o.inflight == 3 && o.queued == 5 &&
	      o.queued_qos0 == 3, "qos: 3 inflight, 5 queued");

	/* rewind: walk the inflight part */
	ok = true;
	n = 0;
	for (e = kmq_out_rewind(&o); e && e->state != KMQ_OUT_QUEUED;
	     e = e->next) {
		if (e != en[n] || !e->sent)
			ok = false;
		n++;
	}
	CHECK(ok && n == 3 && e == en[3] && en[1]->state ==
	      KMQ_OUT_WAIT_PUBCOMP && inv_ok(&o),
	      "qos: rewind walks inflight entries in send order");

	l = kmq_out_drop_qos0(&o);
	ok = l == en[3] && en[3]->next == en[5] && en[5]->next == en[6] &&
	     !en[6]->next;
	CHECK(ok, "qos: drop_qos0 returns the QoS 0 entries in order");
	CHECK(inv_ok(&o) && o.queued == 2 && !o.queued_qos0 &&
	      o.next_send == en[4] && en[2]->next == en[4] &&
	      en[4]->next == en[7] && o.tail == en[7] && o.inflight == 3,
	      "qos: drop_qos0 relinks around them");
	free_list(l);
	CHECK(!kmq_out_drop_qos0(&o) && inv_ok(&o),
	      "qos: drop_qos0 with no QoS 0 entry");

	/* QoS 0 at the tail only */
	kmq_out_push(&o, en[3] = ent(0, 3), 0);
	l = kmq_out_drop_qos0(&o);
	CHECK(l == en[3] && !l->next && o.tail == en[7] && inv_ok(&o),
	      "qos: drop_qos0 of the tail");
	free_list(l);

	set_last(&o, 4242);
	l = kmq_out_take_all(&o);
	n = 0;
	ok = true;
	for (e = l; e; e = e->next) {
		static const u32 want[5] = { 0, 1, 2, 4, 7 };

		if (n >= 5 || e != en[want[n]])
			ok = false;
		n++;
	}
	CHECK(ok && n == 5, "qos: take_all returns every entry in order");
	CHECK(!o.head && !o.tail && !o.next_send && !o.inflight &&
	      !o.queued && !o.queued_qos0 && o.last_pid == 4242,
	      "qos: take_all reinitialises, keeps last_pid");
	free_list(l);

	/* only QoS 0 entries, nothing inflight */
	for (i = 0; i < 3; i++)
		kmq_out_push(&o, ent(0, i), 0);
	l = kmq_out_drop_qos0(&o);
	for (n = 0, e = l; e; e = e->next)
		n++;
	CHECK(n == 3 && !o.head && !o.tail && !o.next_send && inv_ok(&o),
	      "qos: drop_qos0 of everything empties the queue");
	free_list(l);

	/* nothing queued, all inflight */
	kmq_out_push(&o, en[0] = ent(1, 0), 0);
	kmq_out_next(&o, 0);
	CHECK(!kmq_out_drop_qos0(&o) && kmq_out_rewind(&o) == en[0] &&
	      inv_ok(&o), "qos: drop_qos0/rewind with all inflight");
	l = kmq_out_take_all(&o);
	CHECK(l == en[0] && !l->next, "qos: take_all inflight only");
	free_list(l);
}

/* ---- randomized model test ---------------------------------------------- */

#define MAXE 64

struct ment {
	struct kmq_out_entry *e;
	uintptr_t msg;		/* 0 once released by PUBREC */
	u8 qos, state;
	u16 pid;
};

struct model {
	struct ment v[MAXE + 8];
	u32 n;
	u16 last_pid;
};

static u32 rnd_state;

static u32 rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 17;
	rnd_state ^= rnd_state << 5;
	return rnd_state;
}

static void m_del(struct model *md, u32 i)
{
	memmove(&md->v[i], &md->v[i + 1], (md->n - i - 1) * sizeof(md->v[0]));
	md->n--;
}

static bool m_inflight_pid(const struct model *md, u16 pid)
{
	u32 i;

	for (i = 0; i < md->n; i++)
		if (md->v[i].state != KMQ_OUT_QUEUED && md->v[i].pid == pid)
			return true;
	return false;
}

static u32 m_count(const struct model *md, bool inflight)
{
	u32 i, n = 0;

	for (i = 0; i < md->n; i++)
		n += (md->v[i].state != KMQ_OUT_QUEUED) == inflight;
	return n;
}

/* The queue holds exactly the model's entries, in order, same fields. */
static bool m_same(const struct model *md, const struct kmq_out *o)
{
	const struct kmq_out_entry *e = o->head;
	u32 i;

	for (i = 0; i < md->n; i++, e = e->next) {
		const struct ment *x = &md->v[i];

		if (!e || e != x->e || e->qos != x->qos ||
		    e->state != x->state || e->msg != M(x->msg) ||
		    (x->state != KMQ_OUT_QUEUED && e->pid != x->pid))
			return false;
	}
	return !e && o->last_pid == md->last_pid;
}

static bool m_step(struct model *md, struct kmq_out *o, u32 op)
{
	static uintptr_t next_msg = 1;
	struct kmq_out_entry *e, *r;
	u32 i, k, lim, win;
	void *m;

	switch (op) {
	case 0: case 1: case 2: case 3: {	/* push */
		u8 qos = (u8)(rnd() % 3);
		u32 q = m_count(md, false), q0 = 0, victim = md->n;

		lim = rnd() % 10;	/* 0 = unlimited */
		if (!lim && md->n >= MAXE)
			lim = 1 + rnd() % 8;
		if (md->n >= MAXE && (!lim || lim > q))
			return true;	/* keep the model bounded */
		for (i = 0; i < md->n; i++)
			if (md->v[i].state == KMQ_OUT_QUEUED &&
			    !md->v[i].qos) {
				if (victim == md->n)
					victim = i;
				q0++;
			}
		e = ent(qos, next_msg);
		r = kmq_out_push(o, e, lim);
		if (lim && q >= lim) {
			if (!qos || !q0) {
				if (r != e)
					return false;
				free(e);
				return true;
			}
			if (r != md->v[victim].e || r->next)
				return false;
			free(r);
			m_del(md, victim);
		} else if (r) {
			return false;
		}
		md->v[md->n].e = e;
		md->v[md->n].msg = next_msg++;
		md->v[md->n].qos = qos;
		md->v[md->n].state = KMQ_OUT_QUEUED;
		md->v[md->n].pid = 0;
		md->n++;
		return true;
	}
	case 4: case 5: case 6: {		/* next */
		u32 infl = m_count(md, true);
		u32 w;

		win = rnd() % 6;
		w = win ? win : 65535;
		e = kmq_out_next(o, win);
		for (i = 0; i < md->n; i++)
			if (md->v[i].state == KMQ_OUT_QUEUED)
				break;
		if (i == md->n || infl >= w)
			return !e;
		if (e != md->v[i].e || !e->sent)
			return false;
		if (!md->v[i].qos) {
			if (e->next)
				return false;
			free(e);
			m_del(md, i);
			return true;
		}
		k = md->last_pid;
		do {
			k = k == 65535 ? 1 : k + 1;
		} while (m_inflight_pid(md, (u16)k));
		if (e->pid != k)
			return false;
		md->last_pid = (u16)k;
		md->v[i].pid = (u16)k;
		md->v[i].state = md->v[i].qos == 1 ? KMQ_OUT_WAIT_PUBACK :
						     KMQ_OUT_WAIT_PUBREC;
		return true;
	}
	case 7: case 8: case 9: case 10: {	/* ack */
		static const u8 types[] = { KMQ_PUBACK, KMQ_PUBREC,
					    KMQ_PUBCOMP, KMQ_PUBACK,
					    KMQ_PUBREC, KMQ_PUBCOMP,
					    KMQ_PUBREL, KMQ_PUBLISH };
		u8 type = types[rnd() % 8];
		u16 pid;
		int want = KMQ_ACK_UNKNOWN, got;
		uintptr_t wmsg = 0;

		/* mostly a pid in use, sometimes any */
		if (md->n && rnd() % 4)
			pid = md->v[rnd() % md->n].pid;
		else
			pid = (u16)(md->last_pid + rnd() % 5 - 2);
		for (i = 0; i < md->n; i++)
			if (md->v[i].state != KMQ_OUT_QUEUED &&
			    md->v[i].pid == pid)
				break;
		if (i < md->n) {
			struct ment *x = &md->v[i];

			if (type == KMQ_PUBACK &&
			    x->state == KMQ_OUT_WAIT_PUBACK) {
				want = KMQ_ACK_DONE;
				wmsg = x->msg;
			} else if (type == KMQ_PUBREC &&
				   (x->state == KMQ_OUT_WAIT_PUBREC ||
				    x->state == KMQ_OUT_WAIT_PUBCOMP)) {
				want = KMQ_ACK_PUBREL;
				wmsg = x->msg;
			} else if (type == KMQ_PUBCOMP &&
				   x->state == KMQ_OUT_WAIT_PUBCOMP) {
				want = KMQ_ACK_DONE;
			}
		}
		got = ack(o, type, pid, &e, &m);
		if (got != want || m != M(wmsg))
			return false;
		if (want == KMQ_ACK_UNKNOWN)
			return !e;
		if (e != md->v[i].e)
			return false;
		if (want == KMQ_ACK_PUBREL) {
			md->v[i].state = KMQ_OUT_WAIT_PUBCOMP;
			md->v[i].msg = 0;
			return true;
		}
		if (e->next || e->msg)
			return false;
		free(e);
		m_del(md, i);
		return true;
	}
	case 11:				/* rewind */
		e = kmq_out_rewind(o);
		if (!md->n || md->v[0].state == KMQ_OUT_QUEUED)
			return !e;
		return e == md->v[0].e;
	case 12: {				/* drop_qos0 */
		struct kmq_out_entry *l = kmq_out_drop_qos0(o), *n;

		for (i = 0; i < md->n;) {
			if (md->v[i].state != KMQ_OUT_QUEUED ||
			    md->v[i].qos) {
				i++;
				continue;
			}
			if (l != md->v[i].e)
				return false;
			n = l->next;
			free(l);
			l = n;
			m_del(md, i);
		}
		return !l;
	}
	default: {				/* take_all, rarely */
		struct kmq_out_entry *l, *n;

		if (rnd() % 16)
			return true;
		l = kmq_out_take_all(o);
		for (i = 0; i < md->n; i++) {
			if (l != md->v[i].e)
				return false;
			n = l->next;
			free(l);
			l = n;
		}
		md->n = 0;
		return !l;
	}
	}
}

static void test_qos_model(void)
{
	static const char *const names[] = {
		"push", "push", "push", "push", "next", "next", "next",
		"ack", "ack", "ack", "ack", "rewind", "drop_qos0", "take_all",
	};
	static struct model md;
	struct kmq_out o;
	u32 round, step, ops = 0, fails = 0;

	for (round = 0; round < 40 && !fails; round++) {
		rnd_state = 0x9e3779b9u * (round + 1);
		kmq_out_init(&o);
		memset(&md, 0, sizeof(md));
		/* some rounds start near the pid wrap */
		if (round & 1)
			set_last(&o, (u16)(65535 - round));
		md.last_pid = o.last_pid;
		for (step = 0; step < 5000; step++) {
			u32 op = rnd() % 14;

			ops++;
			if (!m_step(&md, &o, op) || !inv_ok(&o) ||
			    !m_same(&md, &o)) {
				printf("# round %u step %u op %s differs\n",
				       round, step, names[op]);
				fails++;
				break;
			}
		}
		free_list(kmq_out_take_all(&o));
	}
	CHECK(!fails, "qos: model test, %u random ops agree", ops);
}

void test_qos(void)
{
	test_qos_basic();
	test_qos_window();
	test_qos_pid();
	test_qos_pid_full();
	test_qos_ack_order();
	test_qos_limit();
	test_qos_lists();
	test_qos_model();
}
