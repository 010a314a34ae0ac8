// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz_session.c - whole-session libFuzzer target for the protocol core.
 *
 * A small user-space broker built only from the core (codec, topic, trie,
 * qos) serves up to four client connections whose byte streams come from
 * the input.  It follows kmod/conn.c and kmod/broker.c: incremental
 * parsing with a packet size cap, refusal closes the connection, CONNECT
 * and its CONNACK codes, SUBSCRIBE/UNSUBSCRIBE on a shared trie, inbound
 * QoS 2 exactly once by packet id until PUBREL, routing to every matching
 * session's kmq_out at min(published, granted), sending through
 * kmq_out_next() with the encoders, the clients' acks through
 * kmq_out_ack(), wills, persistent sessions (clean session 0: QoS 0
 * dropped while offline, inflight re-sent with DUP or PUBREL on resume).
 *
 * Checked: every packet the broker writes re-parses with kmq_parse_fixed()
 * and its decoder and says what was meant; every kmq_out after every
 * packet (counters, order, unique packet ids, the pid cache, a drained
 * queue while the window allows); each kmq_out_push/next/ack result
 * against a simple expectation; per-session FIFO order of first sends;
 * and at the end, after closing everything, that every message reference
 * and queue entry is released and the trie is empty.
 *
 * Input:
 *   byte 0  bits 0-1 connection slots - 1, bits 2-4 inflight window,
 *           bits 5-7 queue limit (tables below)
 *   byte 1  bits 0-1 maximum packet size (table below)
 *   then operations, a tag byte each: bits 0-1 slot, 2-4 arg, 5-7 opcode
 *     op 0-3  data: a length byte n, then n bytes for the slot's stream
 *     op 4    build packet arg (build()) from the next bytes and feed it
 *     op 5    the slot's client acknowledges what it received (ack_op())
 *     op 6    the slot's connection drops (no DISCONNECT)
 *     op 7    arg bit 0 clear: the next byte is an allocation countdown
 *             (trie failures); set: the next two bytes become the slot's
 *             session's last_pid, as if it had been running for long
 *   A closed slot opens a new connection on its next data.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kmq_shim.h"
#include "codec.h"
#include "topic.h"
#include "trie.h"
#include "qos.h"

int LLVMFuzzerTestOneInput(const u8 *data, size_t size);

#define ASSERT(c) do {							\
	if (!(c)) {							\
		fprintf(stderr, "%s:%d: assertion failed: %s\n",	\
			__FILE__, __LINE__, #c);			\
		abort();						\
	}								\
} while (0)

/* ---- allocator with injectable failure ---------------------------------- */

static long fail_at = -1;

void *kmq_test_zalloc(size_t sz)
{
	if (fail_at >= 0 && fail_at-- == 0)
		return NULL;
	return calloc(1, sz);
}

/* ---- limits and configuration ------------------------------------------ */

#define NSLOT		4
#define NSESS		6
#define MAX_SUBS	16	/* per session */
#define MAX_PKTS	256	/* inbound packets handled per input */
#define MAX_OPS		4096
#define MAX_OBL		256	/* acks a client owes, remembered */
#define RXCAP		8192	/* > largest max packet + one fed chunk */
#define PID_MAX		65535u

static const u32 windows[8] = { 0, 1, 2, 3, 4, 16, 65535, 70000 };
static const u32 limits[8] = { 0, 1, 2, 3, 5, 8, 16, 64 };
static const u32 max_packets[4] = { 4096, 32, 128, 1024 };

static u32 cfg_window, cfg_limit, cfg_max_packet;

/* ---- messages ---------------------------------------------------------- */

struct hmsg {
	u32 ref;
	u32 seq;
	u8 qos;
	u16 tlen;
	u32 plen;
	u8 data[];	/* topic, then payload */
};

static long live_msgs, live_entries;
static u32 msg_seq;

static struct hmsg *msg_new(const u8 *t, u16 tlen, const u8 *p, u32 plen,
			    u8 qos)
{
	struct hmsg *m = malloc(sizeof(*m) + tlen + plen + 1);

	ASSERT(m);
	m->ref = 1;
	m->seq = ++msg_seq;
	m->qos = qos;
	m->tlen = tlen;
	m->plen = plen;
	memcpy(m->data, t, tlen);
	if (plen)
		memcpy(m->data + tlen, p, plen);
	live_msgs++;
	return m;
}

static void msg_get(struct hmsg *m)
{
	ASSERT(m->ref > 0);
	m->ref++;
}

static void msg_put(struct hmsg *m)
{
	ASSERT(m->ref > 0);
	if (--m->ref)
		return;
	live_msgs--;
	free(m);
}

static void entry_free(struct kmq_out_entry *e)
{
	if (e->msg)
		msg_put(e->msg);
	free(e);
	live_entries--;
}

/* ---- sessions and connections ------------------------------------------ */

struct hsub {
	u8 *f;
	u16 len;
	u8 qos;
};

struct conn;

struct sess {
	bool used;
	bool clean;
	u8 *id;
	u16 idlen;
	struct conn *conn;		/* NULL while offline */
	struct kmq_out out;
	struct hsub subs[MAX_SUBS];
	u32 nsubs;
	u32 last_seq;			/* of the last first send */
	u8 qos2_in[65536 / 8];		/* inbound QoS 2 awaiting PUBREL */
};

struct obl {
	u8 type;
	u16 pid;
};

struct conn {
	bool open;
	bool connected;
	struct sess *s;
	u32 rxlen;
	u8 rx[RXCAP];
	bool will;
	u8 will_qos;
	u8 *will_topic;
	u16 will_tlen;
	u8 *will_msg;
	u16 will_mlen;
	struct obl obl[MAX_OBL];	/* what the client owes, in order */
	u32 nobl;
};

static struct sess sessions[NSESS];
static struct conn conns[NSLOT];
static struct kmq_trie *trie;
static u32 pkts, auto_ids;
static bool stop;

static void conn_close(struct conn *c, bool graceful);

/* ---- output: encode, re-parse, check ----------------------------------- */

/* A packet the broker writes: it must be exactly one well-formed packet. */
static const u8 *reparse(const u8 *pkt, u32 len, struct kmq_fixed *fh)
{
	ASSERT(kmq_parse_fixed(pkt, len, fh) == 0);
	ASSERT(fh->hdr_len + fh->remaining == len);
	/* the minimal encoding is the one written */
	{
		u8 enc[4];

		ASSERT(kmq_encode_length(enc, fh->remaining) ==
		       (u32)fh->hdr_len - 1);
	}
	return pkt + fh->hdr_len;
}

static void owe(struct conn *c, u8 type, u16 pid)
{
	if (c->nobl < MAX_OBL) {
		c->obl[c->nobl].type = type;
		c->obl[c->nobl].pid = pid;
		c->nobl++;
	}
}

static void send_ack(struct conn *c, u8 type, u16 pid)
{
	struct kmq_fixed fh;
	u8 *pkt = malloc(4);
	const u8 *body;
	u16 got;

	ASSERT(pkt);
	ASSERT(kmq_encode_ack(pkt, type, pid) == 4);
	body = reparse(pkt, 4, &fh);
	ASSERT(fh.type == type);
	ASSERT(kmq_decode_ack(type, body, fh.remaining, &got) == 0);
	ASSERT(got == pid);
	free(pkt);
	if (type == KMQ_PUBREL)
		owe(c, KMQ_PUBCOMP, pid);
	else if (type == KMQ_PUBREC)
		owe(c, KMQ_PUBREL, pid);
}

static void send_connack(bool sp, u8 rc)
{
	struct kmq_fixed fh;
	u8 *pkt = malloc(4);
	const u8 *body;

	ASSERT(pkt);
	ASSERT(kmq_encode_connack(pkt, sp, rc) == 4);
	body = reparse(pkt, 4, &fh);
	ASSERT(fh.type == KMQ_CONNACK && fh.flags == 0);
	ASSERT(body[0] == (sp && !rc) && body[1] == rc);
	free(pkt);
}

static void send_pingresp(void)
{
	struct kmq_fixed fh;
	u8 *pkt = malloc(2);

	ASSERT(pkt);
	ASSERT(kmq_encode_pingresp(pkt) == 2);
	reparse(pkt, 2, &fh);
	ASSERT(fh.type == KMQ_PINGRESP && fh.remaining == 0);
	free(pkt);
}

/* A PUBLISH for @e, gathered like the kernel does: prefix, topic, pid. */
static void send_publish(struct conn *c, struct kmq_out_entry *e, bool dup)
{
	struct hmsg *m = e->msg;
	struct kmq_publish p;
	struct kmq_fixed fh;
	u32 total, n;
	u8 *pkt, *hdr;
	const u8 *body;

	ASSERT(m && e->qos <= m->qos);
	total = KMQ_FIXED_HDR_MAX + 2 + m->tlen + 2 + m->plen;
	pkt = malloc(total);
	hdr = malloc(KMQ_FIXED_HDR_MAX + 4 + m->tlen);
	ASSERT(pkt && hdr);
	n = kmq_encode_publish_prefix(pkt, e->qos, dup, e->retain, m->tlen,
				      m->plen);
	memcpy(pkt + n, m->data, m->tlen);
	n += m->tlen;
	if (e->qos) {
		pkt[n++] = (u8)(e->pid >> 8);
		pkt[n++] = (u8)e->pid;
	}
	/* the one-piece header encoder agrees */
	ASSERT(kmq_encode_publish_hdr(hdr, e->qos, dup, e->retain, m->data,
				      m->tlen, e->pid, m->plen) == n);
	ASSERT(!memcmp(hdr, pkt, n));
	memcpy(pkt + n, m->data + m->tlen, m->plen);
	n += m->plen;
	ASSERT(n <= total);

	body = reparse(pkt, n, &fh);
	ASSERT(fh.type == KMQ_PUBLISH);
	ASSERT(kmq_decode_publish(fh.flags, body, fh.remaining, &p) == 0);
	ASSERT(p.qos == e->qos && p.dup == (dup && e->qos) &&
	       p.retain == e->retain);
	ASSERT(p.pid == (e->qos ? e->pid : 0));
	ASSERT(p.topic.len == m->tlen &&
	       !memcmp(p.topic.p, m->data, m->tlen));
	ASSERT(p.payload_len == m->plen &&
	       !memcmp(p.payload, m->data + m->tlen, m->plen));
	free(hdr);
	free(pkt);

	if (e->qos)
		owe(c, e->qos == 1 ? KMQ_PUBACK : KMQ_PUBREC, e->pid);
}

/* ---- queue checks ------------------------------------------------------- */

static u32 eff_window(void)
{
	return !cfg_window || cfg_window > PID_MAX ? PID_MAX : cfg_window;
}

static u32 pid_offset(u16 last, u16 pid)
{
	return ((u32)pid - 1 + PID_MAX - (u32)last % PID_MAX) % PID_MAX;
}

static void check_out(const struct sess *s)
{
	static u32 seen[65536], gen;
	const struct kmq_out *o = &s->out;
	const struct kmq_out_entry *e, *last = NULL, *first_q = NULL;
	const struct kmq_out_entry *last_inf = NULL;
	u32 inflight = 0, queued = 0, q0 = 0;

	gen++;
	for (e = o->head; e; e = e->next) {
		if (e->state == KMQ_OUT_QUEUED) {
			if (!first_q)
				first_q = e;
			queued++;
			q0 += !e->qos;
			ASSERT(!e->pid && !e->sent && e->msg);
			ASSERT(s->conn || e->qos);	/* no QoS 0 offline */
		} else {
			ASSERT(!first_q);
			ASSERT(e->state <= KMQ_OUT_WAIT_PUBCOMP);
			ASSERT(e->qos == 1 || e->qos == 2);
			ASSERT(e->qos == 1 ?
			       e->state == KMQ_OUT_WAIT_PUBACK :
			       e->state != KMQ_OUT_WAIT_PUBACK);
			ASSERT(e->sent && e->pid);
			ASSERT(seen[e->pid] != gen);	/* unique */
			seen[e->pid] = gen;
			ASSERT(!e->msg == (e->state == KMQ_OUT_WAIT_PUBCOMP));
			/* the cached free ids are free */
			ASSERT(pid_offset(o->last_pid, e->pid) >= o->pid_free);
			inflight++;
			last_inf = e;
		}
		if (e->msg)
			ASSERT(((struct hmsg *)e->msg)->ref > 0);
		ASSERT(e->qos <= 2);
		last = e;
	}
	ASSERT(o->tail == last && o->next_send == first_q);
	ASSERT(o->last_inflight == last_inf);
	ASSERT(o->inflight == inflight && o->queued == queued &&
	       o->queued_qos0 == q0);
	ASSERT(o->pid_free < PID_MAX);
	ASSERT(inflight <= eff_window());
	/* a connected session's queue is drained as far as the window lets */
	if (s->conn && s->conn->connected)
		ASSERT(!o->next_send || inflight >= eff_window());
}

static void check_all(void)
{
	u32 i;

	for (i = 0; i < NSESS; i++)
		if (sessions[i].used)
			check_out(&sessions[i]);
}

static const struct kmq_out_entry *find_inflight(const struct kmq_out *o,
						 u16 pid)
{
	const struct kmq_out_entry *e;

	for (e = o->head; e != o->next_send; e = e->next)
		if (e->pid == pid)
			return e;
	return NULL;
}

/* ---- sending ------------------------------------------------------------ */

/* Send whatever the window allows. */
static void pump(struct sess *s)
{
	struct kmq_out *o = &s->out;
	struct kmq_out_entry *e, *want;
	struct conn *c = s->conn;
	u32 pid;

	if (!c || !c->connected)
		return;
	for (;;) {
		want = o->inflight < eff_window() ? o->next_send : NULL;
		/* the pid the rules say, computed the slow way */
		pid = o->last_pid;
		if (want && want->qos && o->inflight <= 64) {
			do {
				pid = pid == PID_MAX ? 1 : pid + 1;
			} while (find_inflight(o, (u16)pid));
		}
		e = kmq_out_next(o, cfg_window);
		ASSERT(e == want);
		if (!e)
			break;
		ASSERT(e->sent);
		if (e->qos && o->inflight <= 65)
			ASSERT(e->pid == pid);
		ASSERT(((struct hmsg *)e->msg)->seq > s->last_seq);
		s->last_seq = ((struct hmsg *)e->msg)->seq;
		send_publish(c, e, false);
		if (!e->qos) {
			ASSERT(!e->next);
			entry_free(e);
		} else {
			ASSERT(e->state == (e->qos == 1 ?
					    KMQ_OUT_WAIT_PUBACK :
					    KMQ_OUT_WAIT_PUBREC));
		}
	}
}

/* Re-send the inflight part on a resumed session (4.4). */
static void resend(struct sess *s)
{
	struct kmq_out_entry *e = kmq_out_rewind(&s->out);

	ASSERT(e == (s->out.inflight ? s->out.head : NULL));
	for (; e && e->state != KMQ_OUT_QUEUED; e = e->next) {
		if (e->state == KMQ_OUT_WAIT_PUBCOMP)
			send_ack(s->conn, KMQ_PUBREL, e->pid);
		else
			send_publish(s->conn, e, true);
	}
}

/* Queue one delivery, as kmq_conn_deliver() would. */
static void deliver(struct sess *s, struct hmsg *m, u8 qos)
{
	struct kmq_out *o = &s->out;
	struct kmq_out_entry *e, *r, *want = NULL, *c;

	if (!s->conn && !qos)
		return;		/* QoS 0 is not kept for offline sessions */
	e = malloc(sizeof(*e));
	ASSERT(e);
	memset(e, 0xa5, sizeof(*e));	/* push resets what it owns */
	live_entries++;
	msg_get(m);
	e->msg = m;
	e->qos = qos;
	e->retain = false;		/* 3.3.1-9 */
	if (cfg_limit && o->queued >= cfg_limit) {
		want = e;
		if (qos && o->queued_qos0) {
			for (c = o->next_send; c->qos; c = c->next)
				;
			want = c;
		}
	}
	r = kmq_out_push(o, e, cfg_limit);
	ASSERT(r == want);
	if (r) {
		ASSERT(!r->next && r->state == KMQ_OUT_QUEUED);
		entry_free(r);
	}
	pump(s);
}

/* ---- routing ------------------------------------------------------------ */

struct target {
	struct sess *s;
	u8 qos;
};

struct route_ctx {
	struct target t[NSESS * MAX_SUBS];
	u32 n;
};

static void collect(void *arg, void *owner, u8 qos)
{
	struct route_ctx *ctx = arg;

	ASSERT(ctx->n < NSESS * MAX_SUBS);
	ctx->t[ctx->n].s = owner;
	ctx->t[ctx->n].qos = qos;
	ctx->n++;
}

static void route(const u8 *topic, u16 tlen, const u8 *payload, u32 plen,
		  u8 qos)
{
	static struct route_ctx ctx;
	u8 best[NSESS];
	struct hmsg *m;
	u32 i, k, n, want = 0;

	ASSERT(kmq_topic_name_valid(topic, tlen));
	/* the trie agrees with kmq_topic_match over every subscription */
	memset(best, 0xff, sizeof(best));
	for (i = 0; i < NSESS; i++) {
		struct sess *s = &sessions[i];

		if (!s->used)
			continue;
		for (k = 0; k < s->nsubs; k++) {
			if (!kmq_topic_match(s->subs[k].f, s->subs[k].len,
					     topic, tlen))
				continue;
			want++;
			if (best[i] == 0xff || s->subs[k].qos > best[i])
				best[i] = s->subs[k].qos;
		}
	}
	ctx.n = 0;
	n = kmq_trie_match(trie, topic, tlen, collect, &ctx);
	ASSERT(n == ctx.n && n == want);
	for (i = 0; i < ctx.n; i++) {
		struct sess *s = ctx.t[i].s;

		ASSERT(s >= sessions && s < sessions + NSESS && s->used);
		for (k = 0; k < s->nsubs; k++)
			if (kmq_topic_match(s->subs[k].f, s->subs[k].len,
					    topic, tlen) &&
			    s->subs[k].qos == ctx.t[i].qos)
				break;
		ASSERT(k < s->nsubs);
	}

	m = msg_new(topic, tlen, payload, plen, qos);
	for (i = 0; i < NSESS; i++)
		if (best[i] != 0xff && sessions[i].used)
			deliver(&sessions[i], m,
				best[i] < qos ? best[i] : qos);
	msg_put(m);
}

/* ---- session lifetime --------------------------------------------------- */

/* kmq_trie_del() must not allocate: any allocation would fail here. */
static int trie_del_noalloc(struct sess *s, const u8 *f, u16 len)
{
	long saved = fail_at;
	int rc;

	fail_at = 0;
	rc = kmq_trie_del(trie, f, len, s);
	ASSERT(fail_at == 0);
	fail_at = saved;
	return rc;
}

static void sess_destroy(struct sess *s)
{
	struct kmq_out_entry *l, *n;
	u32 k, cnt = 0, want = s->out.inflight + s->out.queued;
	u16 last = s->out.last_pid;

	ASSERT(s->used && !s->conn);
	l = kmq_out_take_all(&s->out);
	for (; l; l = n) {
		n = l->next;
		entry_free(l);
		cnt++;
	}
	ASSERT(cnt == want);
	ASSERT(!s->out.head && !s->out.tail && !s->out.next_send &&
	       !s->out.last_inflight && !s->out.inflight &&
	       !s->out.queued && !s->out.queued_qos0 &&
	       s->out.last_pid == last);
	for (k = 0; k < s->nsubs; k++) {
		ASSERT(trie_del_noalloc(s, s->subs[k].f,
					s->subs[k].len) == 1);
		free(s->subs[k].f);
	}
	free(s->id);
	memset(s, 0, sizeof(*s));
}

static void will_free(struct conn *c)
{
	free(c->will_topic);
	free(c->will_msg);
	c->will = false;
	c->will_topic = NULL;
	c->will_msg = NULL;
}

/* The network connection ends; @graceful after DISCONNECT. */
static void conn_close(struct conn *c, bool graceful)
{
	struct sess *s = c->s;

	if (!c->open)
		return;
	c->open = false;
	if (c->connected) {
		struct kmq_out_entry *l, *n;
		u32 q0, cnt = 0;

		ASSERT(s && s->conn == c);
		s->conn = NULL;
		c->s = NULL;
		c->connected = false;
		if (c->will && !graceful)
			route(c->will_topic, c->will_tlen, c->will_msg,
			      c->will_mlen, c->will_qos);
		if (s->clean) {
			sess_destroy(s);
		} else {
			/* after the will, which may have evicted some */
			q0 = s->out.queued_qos0;
			l = kmq_out_drop_qos0(&s->out);
			for (; l; l = n) {
				n = l->next;
				ASSERT(!l->qos && l->state == KMQ_OUT_QUEUED);
				entry_free(l);
				cnt++;
			}
			ASSERT(cnt == q0 && !s->out.queued_qos0);
			check_out(s);
		}
	}
	will_free(c);
	c->rxlen = 0;
	c->nobl = 0;
}

static struct sess *sess_find(const u8 *id, u16 len)
{
	u32 i;

	for (i = 0; i < NSESS; i++)
		if (sessions[i].used && sessions[i].idlen == len &&
		    !memcmp(sessions[i].id, id, len))
			return &sessions[i];
	return NULL;
}

static u8 *dup_bytes(const u8 *p, u32 len)
{
	u8 *d = malloc(len + 1);

	ASSERT(d);
	if (len)
		memcpy(d, p, len);
	return d;
}

/* Return 0, or -1 to close the connection. */
static int handle_connect(struct conn *c, const u8 *body, u32 len)
{
	struct kmq_connect cc;
	struct sess *s;
	char autoid[32];
	const u8 *id;
	u16 idlen;
	bool sp;
	u32 i;
	int rc;

	rc = kmq_decode_connect(body, len, &cc);
	if (rc == -KMQ_R_BAD_LEVEL) {
		send_connack(false, KMQ_CONNACK_BAD_PROTOCOL);
		return -1;
	}
	if (rc < 0)
		return -1;
	ASSERT(cc.level == 3 || cc.level == 4);
	if (!cc.client_id.len) {
		if (!cc.clean) {	/* 3.1.3-8 */
			send_connack(false, KMQ_CONNACK_ID_REJECTED);
			return -1;
		}
		idlen = (u16)snprintf(autoid, sizeof(autoid), "auto-%u",
				      ++auto_ids);
		id = (const u8 *)autoid;
	} else {
		id = cc.client_id.p;
		idlen = cc.client_id.len;
	}

	s = sess_find(id, idlen);
	if (s && s->conn) {
		/* take-over (3.1.4-2): the old connection is closed */
		ASSERT(s->conn != c);
		conn_close(s->conn, false);
		s = sess_find(id, idlen);	/* gone if it was clean */
	}
	if (s && cc.clean) {
		sess_destroy(s);
		s = NULL;
	}
	sp = s;
	if (!s) {
		for (i = 0; i < NSESS && sessions[i].used; i++)
			;
		if (i == NSESS) {
			send_connack(false, KMQ_CONNACK_UNAVAILABLE);
			return -1;
		}
		s = &sessions[i];
		memset(s, 0, sizeof(*s));
		s->used = true;
		s->id = dup_bytes(id, idlen);
		s->idlen = idlen;
		kmq_out_init(&s->out);
	}
	s->clean = cc.clean;
	s->conn = c;
	c->s = s;
	c->connected = true;
	if (cc.will) {
		c->will = true;
		c->will_qos = cc.will_qos;
		c->will_topic = dup_bytes(cc.will_topic.p, cc.will_topic.len);
		c->will_tlen = cc.will_topic.len;
		c->will_msg = dup_bytes(cc.will_msg.p, cc.will_msg.len);
		c->will_mlen = cc.will_msg.len;
	}
	send_connack(sp, KMQ_CONNACK_ACCEPTED);
	if (sp)
		resend(s);
	pump(s);
	return 0;
}

static int handle_subscribe(struct conn *c, const u8 *body, u32 len)
{
	struct sess *s = c->s;
	struct kmq_iter it, cnt;
	struct kmq_str f;
	struct kmq_fixed fh;
	struct kmq_trie_stats st0, st1;
	u32 n = 0, i = 0, k, hl;
	const u8 *rb;
	u8 *pkt, qos;
	u16 pid;
	int rc;

	if (kmq_decode_subscribe(body, len, &pid, &it) < 0)
		return -1;
	cnt = it;
	while (kmq_iter_next(&cnt, &f, NULL))
		n++;
	pkt = malloc(7 + n);
	ASSERT(pkt);
	hl = kmq_encode_suback_hdr(pkt, pid, n);
	while (kmq_iter_next(&it, &f, &qos)) {
		u8 code = 0x80;

		ASSERT(qos <= 2 && f.len);
		if (kmq_topic_filter_valid(f.p, f.len)) {
			for (k = 0; k < s->nsubs; k++)
				if (s->subs[k].len == f.len &&
				    !memcmp(s->subs[k].f, f.p, f.len))
					break;
			kmq_trie_get_stats(trie, &st0);
			if (k < s->nsubs) {
				rc = kmq_trie_add(trie, f.p, f.len, s, qos);
				ASSERT(rc == 0);
				s->subs[k].qos = qos;
				code = qos;
			} else if (s->nsubs < MAX_SUBS) {
				rc = kmq_trie_add(trie, f.p, f.len, s, qos);
				kmq_trie_get_stats(trie, &st1);
				if (rc < 0) {
					/* only an injected failure */
					ASSERT(fail_at == -1);
					ASSERT(st0.nodes == st1.nodes &&
					       st0.subs == st1.subs);
				} else {
					ASSERT(rc == 1);
					ASSERT(st1.subs == st0.subs + 1);
					s->subs[s->nsubs].f =
						dup_bytes(f.p, f.len);
					s->subs[s->nsubs].len = f.len;
					s->subs[s->nsubs].qos = qos;
					s->nsubs++;
					code = qos;
				}
			}
		}
		pkt[hl + i++] = code;
	}
	ASSERT(i == n);

	rb = reparse(pkt, hl + n, &fh);
	ASSERT(fh.type == KMQ_SUBACK && fh.remaining == 2 + n);
	ASSERT(rb[0] == (pid >> 8) && rb[1] == (pid & 0xff));
	for (i = 0; i < n; i++)
		ASSERT(rb[2 + i] <= 2 || rb[2 + i] == 0x80);
	free(pkt);
	return 0;
}

static int handle_unsubscribe(struct conn *c, const u8 *body, u32 len)
{
	struct sess *s = c->s;
	struct kmq_iter it;
	struct kmq_str f;
	u32 k;
	u16 pid;

	if (kmq_decode_unsubscribe(body, len, &pid, &it) < 0)
		return -1;
	while (kmq_iter_next(&it, &f, NULL)) {
		ASSERT(kmq_topic_filter_valid(f.p, f.len));
		for (k = 0; k < s->nsubs; k++)
			if (s->subs[k].len == f.len &&
			    !memcmp(s->subs[k].f, f.p, f.len))
				break;
		ASSERT(trie_del_noalloc(s, f.p, f.len) == (k < s->nsubs));
		if (k < s->nsubs) {
			free(s->subs[k].f);
			s->subs[k] = s->subs[--s->nsubs];
		}
	}
	send_ack(c, KMQ_UNSUBACK, pid);
	return 0;
}

static int handle_publish(struct conn *c, u8 flags, const u8 *body, u32 len)
{
	struct sess *s = c->s;
	struct kmq_publish p;

	if (kmq_decode_publish(flags, body, len, &p) < 0)
		return -1;
	switch (p.qos) {
	case 0:
		route(p.topic.p, p.topic.len, p.payload, p.payload_len, 0);
		break;
	case 1:
		route(p.topic.p, p.topic.len, p.payload, p.payload_len, 1);
		send_ack(c, KMQ_PUBACK, p.pid);
		break;
	default:
		/* once per packet id until its PUBREL */
		if (!(s->qos2_in[p.pid / 8] & (1u << (p.pid % 8)))) {
			s->qos2_in[p.pid / 8] |= (u8)(1u << (p.pid % 8));
			route(p.topic.p, p.topic.len, p.payload,
			      p.payload_len, 2);
		}
		send_ack(c, KMQ_PUBREC, p.pid);
		break;
	}
	return 0;
}

/* An ack from the client for the broker's outbound QoS 1/2. */
static void handle_out_ack(struct conn *c, u8 type, u16 pid)
{
	struct sess *s = c->s;
	const struct kmq_out_entry *x = find_inflight(&s->out, pid);
	struct kmq_out_entry *e;
	void *m;
	int want = KMQ_ACK_UNKNOWN, r;
	void *wmsg = NULL;

	if (x && type == KMQ_PUBACK && x->state == KMQ_OUT_WAIT_PUBACK) {
		want = KMQ_ACK_DONE;
		wmsg = x->msg;
	} else if (x && type == KMQ_PUBREC &&
		   x->state != KMQ_OUT_WAIT_PUBACK) {
		want = KMQ_ACK_PUBREL;
		wmsg = x->msg;
	} else if (x && type == KMQ_PUBCOMP &&
		   x->state == KMQ_OUT_WAIT_PUBCOMP) {
		want = KMQ_ACK_DONE;
	}
	r = kmq_out_ack(&s->out, type, pid, &e, &m);
	ASSERT(r == want && m == wmsg);
	switch (r) {
	case KMQ_ACK_DONE:
		ASSERT(e == x && !e->next && !e->msg && e->pid == pid);
		if (m)
			msg_put(m);
		entry_free(e);
		break;
	case KMQ_ACK_PUBREL:
		ASSERT(e == x && e->state == KMQ_OUT_WAIT_PUBCOMP && !e->msg);
		if (m)
			msg_put(m);
		send_ack(c, KMQ_PUBREL, pid);
		break;
	default:
		ASSERT(!e && !m);
		break;
	}
	pump(s);
}

/* One complete packet.  Return 0, or -1 to close (1 after DISCONNECT). */
static int handle_packet(struct conn *c, const struct kmq_fixed *fh,
			 const u8 *body)
{
	struct sess *s = c->s;
	u16 pid;

	if (!c->connected) {
		if (fh->type != KMQ_CONNECT)
			return -1;
		return handle_connect(c, body, fh->remaining);
	}
	switch (fh->type) {
	case KMQ_PUBLISH:
		return handle_publish(c, fh->flags, body, fh->remaining);
	case KMQ_PUBACK:
	case KMQ_PUBREC:
	case KMQ_PUBCOMP:
		if (kmq_decode_ack(fh->type, body, fh->remaining, &pid) < 0)
			return -1;
		handle_out_ack(c, fh->type, pid);
		return 0;
	case KMQ_PUBREL:
		if (kmq_decode_ack(fh->type, body, fh->remaining, &pid) < 0)
			return -1;
		s->qos2_in[pid / 8] &= (u8)~(1u << (pid % 8));
		send_ack(c, KMQ_PUBCOMP, pid);
		return 0;
	case KMQ_SUBSCRIBE:
		return handle_subscribe(c, body, fh->remaining);
	case KMQ_UNSUBSCRIBE:
		return handle_unsubscribe(c, body, fh->remaining);
	case KMQ_PINGREQ:
		send_pingresp();
		return 0;
	case KMQ_DISCONNECT:
		return 1;
	default:	/* second CONNECT, or a server-to-client packet */
		return -1;
	}
}

/* Bytes arrive on a slot, as in kmq_try_recv() + kmq_parse_rx(). */
static void feed(struct conn *c, const u8 *p, u32 n)
{
	struct kmq_fixed fh;
	u32 off = 0;
	int rc;

	if (!c->open) {
		c->open = true;
		c->connected = false;
		c->rxlen = 0;
		c->nobl = 0;
	}
	ASSERT(c->rxlen + n <= RXCAP);
	memcpy(c->rx + c->rxlen, p, n);
	c->rxlen += n;

	while (off < c->rxlen) {
		u8 *body;

		rc = kmq_parse_fixed(c->rx + off, c->rxlen - off, &fh);
		if (rc == KMQ_NEED_MORE)
			break;
		if (rc < 0) {
			ASSERT(rc > -__KMQ_R_MAX);
			conn_close(c, false);
			return;
		}
		if (fh.hdr_len + fh.remaining > cfg_max_packet) {
			conn_close(c, false);	/* KMQ_R_TOO_LARGE */
			return;
		}
		if (c->rxlen - off < fh.hdr_len + fh.remaining)
			break;
		if (++pkts > MAX_PKTS) {
			stop = true;
			return;
		}
		/* an exactly sized copy, so that ASan sees any over-read */
		body = malloc(fh.remaining ? fh.remaining : 1);
		ASSERT(body);
		memcpy(body, c->rx + off + fh.hdr_len, fh.remaining);
		rc = handle_packet(c, &fh, body);
		free(body);
		off += fh.hdr_len + fh.remaining;
		check_all();
		if (rc) {
			/* refused, or DISCONNECT: nothing more is read */
			conn_close(c, rc > 0);
			check_all();
			return;
		}
		ASSERT(c->open);
	}
	c->rxlen -= off;
	if (off && c->rxlen)
		memmove(c->rx, c->rx + off, c->rxlen);
	/* what is left is a partial packet within the size cap */
	ASSERT(c->rxlen <= cfg_max_packet + KMQ_FIXED_HDR_MAX);
}

/* ---- input -------------------------------------------------------------- */

struct in {
	const u8 *p;
	size_t left;
};

static u8 next(struct in *in)
{
	if (!in->left)
		return 0;
	in->left--;
	return *in->p++;
}

static const char *const topics[8] = {
	"a", "a/b", "a/c", "b", "$SYS/x", "a/b/c", "/x", "x/b",
};

static const char *const filters[16] = {
	"#", "a/#", "a/+", "a/b", "+/b", "+/+", "a", "+",
	"$SYS/#", "a/#/b", "a+", "b", "/+", "+/#", "$SYS/+", "x/#",
};

static const char *const ids[8] = {
	"c0", "c1", "c2", "c3", "c4", "c5", "c6", "",
};

struct bb {
	u8 d[512];
	u32 n;
};

static void put8(struct bb *b, u32 v)
{
	b->d[b->n++] = (u8)v;
}

static void put16(struct bb *b, u32 v)
{
	put8(b, v >> 8);
	put8(b, v & 0xff);
}

static void putstr(struct bb *b, const char *s)
{
	u32 n = (u32)strlen(s);

	put16(b, n);
	memcpy(b->d + b->n, s, n);
	b->n += n;
}

/* Wrap @body (in b->d from offset 8) into a packet at the front. */
static u32 finish(struct bb *b, u8 first, u8 *out)
{
	u32 n = 0, blen = b->n - 8;

	out[n++] = first;
	n += kmq_encode_length(out + n, blen);
	memcpy(out + n, b->d + 8, blen);
	return n + blen;
}

/* A valid (mostly) packet from a few bytes, so that sessions go deep. */
static u32 build(u32 kind, struct in *in, u8 *out)
{
	struct bb b = { .n = 8 };
	u32 x = next(in), y, i;

	switch (kind) {
	case 0: {	/* CONNECT */
		u8 fl = (x & 1) ? 0x02 : 0;

		y = next(in);
		putstr(&b, "MQTT");
		if (x & 0x10) {
			fl |= 0x04 | (u8)(((y & 3) % 3) << 3);
			if (y & 0x20)
				fl |= 0x20;
		}
		put8(&b, 4);
		put8(&b, fl);
		put16(&b, 60);
		putstr(&b, ids[(x >> 1) & 7]);
		if (x & 0x10) {
			putstr(&b, topics[(y >> 2) & 7]);
			putstr(&b, "will");
		}
		return finish(&b, KMQ_CONNECT << 4, out);
	}
	case 1:		/* SUBSCRIBE, one or two filters */
		put16(&b, 1 + (x >> 1));
		for (i = 0; i <= (x & 1); i++) {
			y = next(in);
			putstr(&b, filters[y & 15]);
			put8(&b, (y >> 4) % 3);
		}
		return finish(&b, (KMQ_SUBSCRIBE << 4) | 2, out);
	case 2:		/* UNSUBSCRIBE */
		put16(&b, 1 + (x >> 4));
		putstr(&b, filters[x & 15]);
		return finish(&b, (KMQ_UNSUBSCRIBE << 4) | 2, out);
	case 3: {	/* PUBLISH */
		u8 qos = ((x >> 3) & 3) % 3;
		u8 fl = (u8)(qos << 1) | ((x >> 5) & 1);
		u32 plen;

		if (qos && (x & 0x40))
			fl |= 0x08;
		putstr(&b, topics[x & 7]);
		if (qos)
			put16(&b, 1 + next(in));
		plen = next(in) % 32;
		for (i = 0; i < plen; i++)
			put8(&b, next(in));
		return finish(&b, (KMQ_PUBLISH << 4) | fl, out);
	}
	case 4:
		out[0] = KMQ_PINGREQ << 4;
		out[1] = 0;
		return 2;
	case 5:
		out[0] = KMQ_DISCONNECT << 4;
		out[1] = 0;
		return 2;
	case 6:
		return kmq_encode_ack(out, KMQ_PUBREL, (u16)(1 + x));
	default: {
		static const u8 t[3] = { KMQ_PUBACK, KMQ_PUBREC, KMQ_PUBCOMP };

		return kmq_encode_ack(out, t[x % 3], (u16)(1 + next(in)));
	}
	}
}

/*
 * The client sends acks it owes: arg bit 2 all of them in order, else one
 * (bit 0: chosen by the next byte, else the oldest); bit 1 keeps it owed,
 * so that it is sent again later (a duplicate).
 */
static void ack_op(struct conn *c, u32 arg, struct in *in)
{
	u32 n, k, idx;
	u8 pkt[4];
	struct obl o;

	if (!c->open || !c->connected || !c->nobl)
		return;
	n = (arg & 4) ? c->nobl : 1;
	for (k = 0; k < n && c->open && c->nobl && !stop; k++) {
		idx = (arg & 1) ? next(in) % c->nobl : 0;
		o = c->obl[idx];
		if (!(arg & 2)) {
			memmove(&c->obl[idx], &c->obl[idx + 1],
				(c->nobl - idx - 1) * sizeof(c->obl[0]));
			c->nobl--;
		}
		kmq_encode_ack(pkt, o.type, o.pid);
		feed(c, pkt, 4);
	}
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	struct in in = { data, size };
	struct kmq_trie_stats st;
	u32 nslot, ops = 0, i;
	u8 a, b;

	fail_at = -1;
	memset(sessions, 0, sizeof(sessions));
	memset(conns, 0, sizeof(conns));
	pkts = 0;
	auto_ids = 0;
	stop = false;
	msg_seq = 0;
	ASSERT(!live_msgs && !live_entries);

	a = next(&in);
	b = next(&in);
	nslot = 1 + (a & 3);
	cfg_window = windows[(a >> 2) & 7];
	cfg_limit = limits[(a >> 5) & 7];
	cfg_max_packet = max_packets[b & 3];
	trie = kmq_trie_new();
	ASSERT(trie);

	while (in.left && !stop && ops++ < MAX_OPS) {
		u8 tag = next(&in);
		struct conn *c = &conns[(tag & 3) % nslot];
		u32 arg = (tag >> 2) & 7, n;
		u8 buf[512];

		switch (tag >> 5) {
		case 0:
		case 1:
		case 2:
		case 3:
			n = next(&in);
			if (n > in.left)
				n = (u32)in.left;
			memcpy(buf, in.p, n);
			in.p += n;
			in.left -= n;
			feed(c, buf, n);
			break;
		case 4:
			n = build(arg, &in, buf);
			feed(c, buf, n);
			break;
		case 5:
			ack_op(c, arg, &in);
			break;
		case 6:
			conn_close(c, false);
			check_all();
			break;
		default:
			if (!(arg & 1)) {
				fail_at = next(&in);
				break;
			}
			n = next(&in) << 8;
			n |= next(&in);
			if (c->open && c->connected) {
				/* 0 is always a correct pid_free */
				c->s->out.last_pid = (u16)n;
				c->s->out.pid_free = 0;
			}
			break;
		}
	}

	/* teardown: every connection drops, every session ends */
	fail_at = -1;
	for (i = 0; i < NSLOT; i++)
		conn_close(&conns[i], false);
	check_all();
	for (i = 0; i < NSESS; i++)
		if (sessions[i].used)
			sess_destroy(&sessions[i]);
	ASSERT(live_msgs == 0);
	ASSERT(live_entries == 0);
	kmq_trie_get_stats(trie, &st);
	ASSERT(st.nodes == 0 && st.subs == 0);
	kmq_trie_free(trie);
	trie = NULL;
	return 0;
}
