// SPDX-License-Identifier: GPL-2.0
/*
 * mqbench - MQTT 3.1.1 load generator for kmqttd (and any other broker).
 *
 * One process runs the publishers and the subscribers, so every payload
 * carries its publisher, sequence number and CLOCK_MONOTONIC send time, and
 * subscribers measure end-to-end latency and check each publisher's stream
 * for loss, duplicates and order.  Each thread owns an edge-triggered epoll
 * loop and a share of the connections.  See usage() or README.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common.h"
#include "hist.h"

#define PAYLOAD_HDR 24			/* run tag, publisher, seq, time */
#define WIN_WORDS 4			/* dup/order window: 256 seqs */
#define SUB_BATCH 100			/* filters per SUBSCRIBE */
#define MAX_PACKET (256u << 20)

int relay_main(int argc, char **argv);	/* relay.c */

/* ------------------------------------------------------------ config */

enum sub_mode { SUB_ALL, SUB_FILTER, SUB_PER_TOPIC };

static struct {
	const char *host, *prefix, *sub_filter, *label;
	int port;
	int npub, nsub, ntopics, nidle;
	enum sub_mode sub_mode;
	bool pub_cycle, json;
	bool sched_time;	/* --rate: stamp the scheduled send time */
	int pub_qos, sub_qos;
	int size;
	double rate;			/* per publisher, 0: as fast as possible */
	int inflight, window;
	double duration, warmup, drain_max, quiet;
	double setup_timeout, settle;
	int threads, keepalive, parallel;
	int sndbuf, rcvbuf;
	int broker_pid;
	struct sockaddr_storage addr;
	socklen_t addrlen;
} cfg = {
	.host = "127.0.0.1", .port = 1883, .prefix = "bench",
	.npub = 1, .nsub = 1, .ntopics = 1, .pub_qos = 0, .sub_qos = 0,
	.size = 64, .inflight = 64, .window = -1, .duration = 5, .warmup = 1,
	.drain_max = 10, .quiet = 2, .setup_timeout = 300, .settle = 2,
	.threads = 1, .keepalive = 60, .parallel = 64, .sndbuf = -1,
};

static uint32_t *fan;		/* per topic: matching subscriptions */
static uint32_t run_tag;	/* first payload word: this run's messages */
/* --window, per publisher: highest seq delivered + 1, and the wake-up */
static _Atomic uint64_t *seen, *wake_at;
static _Atomic int *pub_wait;
static int *pub_evfd;		/* eventfd of the publisher's thread */

/* ------------------------------------------------------------ state */

enum role { R_SUB, R_PUB, R_IDLE };
enum drain_end { DRAIN_COMPLETE, DRAIN_QUIET, DRAIN_TIMEOUT, DRAIN_ABORT };
static const char *const drain_names[] = { "complete", "quiet", "timeout", "abort" };
enum cstate { CS_NEW, CS_CONNECTING, CS_CONNACK, CS_SUBACK, CS_READY,
	      CS_CLOSED };

struct stream {			/* one publisher as seen by one subscriber */
	uint64_t next;		/* highest seq seen + 1 */
	uint64_t win[WIN_WORDS];/* bit i: seq next-1-i seen */
};

struct pubst {
	uint64_t seq;		/* next sequence number */
	uint64_t phase_ns;	/* rate mode: offset of message 0 */
	uint32_t inflight;
	uint64_t forgiven;	/* --window: seqs below this count as seen */
	uint64_t stall_since;	/* --window: blocked since, with seen unchanged */
	uint64_t stall_seen;
	bool blocked;
	uint16_t next_pid;
	uint8_t *pid_state;	/* 0 free, 1 awaiting PUBACK/PUBREC, 2 PUBCOMP */
	char topic[64];
	int topic_len;
};

struct conn {
	int fd;
	uint8_t role, state;
	bool writable, rd_more;
	uint32_t idx;		/* publisher or subscriber number */
	uint32_t subacks;	/* SUBACKs still expected */
	uint64_t last_tx;
	struct buf in, out;
	struct pubst *pub;
	struct stream *streams;	/* subscribers: one per publisher */
};

struct stats {
	uint64_t sent, sent_win, acked, expected;
	uint64_t recv, recv_win, bytes_win, unique, dup, ooo, bad, stale;
	uint64_t conn_ok, conn_fail, errors, proto, window_resets;
	int drain;		/* how the run ended: enum drain_end */
	struct hist lat;
};

struct thr {
	int id, ep, evfd;
	pthread_t tid;
	struct conn **conns;
	int nconns;
	struct conn **pubs;
	int npubs;
	int next_connect, connecting;
	uint64_t last_ping_scan;
	bool pubs_done, window_blocked;
	int nerrmsg;
	struct stats st;
	struct buf scratch;
	struct conn **rdq, **rdq2;	/* reads left for the next turn */
	int nrdq;
};

static struct thr *thrs;
static _Atomic int sync_count[4];	/* arrivals at each sync point */
static _Atomic uint64_t g_t0, g_expected, g_unique, g_last_rx;
static _Atomic int g_pubs_done, g_abort;
static uint64_t t_run0, t_ws, t_end;	/* set before sync point 2 */
static volatile sig_atomic_t interrupted;

static void msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void msg(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("mqbench: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/* ------------------------------------------------------------ helpers */

int raise_nofile(unsigned long want)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return -1;
	if (rl.rlim_cur >= want)
		return 0;
	if (rl.rlim_max < want) {
		struct rlimit r2 = { want, want };

		if (!setrlimit(RLIMIT_NOFILE, &r2))
			return 0;
	}
	rl.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
	if (setrlimit(RLIMIT_NOFILE, &rl))
		return -1;
	return rl.rlim_cur >= want ? 0 : -1;
}

static int topic_of(char *dst, size_t n, int t)
{
	return snprintf(dst, n, "%s/%d", cfg.prefix, t);
}

/* MQTT topic filter matching (for the expected fan-out of --sub-filter). */
static bool topic_match(const char *f, const char *t)
{
	for (;;) {
		if (*f == '#')
			return true;
		if (*f == '+') {
			while (*t && *t != '/')
				t++;
			f++;
		} else {
			while (*f && *f != '/' && *f == *t) {
				f++;
				t++;
			}
			if ((*f && *f != '/') || (*t && *t != '/'))
				return false;
		}
		if (!*f && !*t)
			return true;
		if (!*f || !*t) {
			/* "a/#" matches "a" */
			return !*t && f[0] == '/' && f[1] == '#' && !f[2];
		}
		f++;
		t++;
	}
}

static void read_meminfo(long *avail_kb, long *slab_kb)
{
	char line[256];
	FILE *f = fopen("/proc/meminfo", "r");

	*avail_kb = *slab_kb = -1;
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		sscanf(line, "MemAvailable: %ld", avail_kb);
		sscanf(line, "Slab: %ld", slab_kb);
	}
	fclose(f);
}

static long read_rss_kb(int pid)
{
	char path[64], line[256];
	long v = -1;
	FILE *f;

	if (pid <= 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld", &v) == 1)
			break;
	fclose(f);
	return v;
}

/* ------------------------------------------------------------ output path */

static void conn_close(struct thr *t, struct conn *c, bool error)
{
	if (c->state == CS_CLOSED)
		return;
	if (error) {
		if (c->state == CS_READY)
			t->st.errors++;
		else
			t->st.conn_fail++;
		if (c->state != CS_READY && c->state != CS_NEW)
			t->connecting--;
	}
	epoll_ctl(t->ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = -1;
	c->state = CS_CLOSED;
}

/* Write out as much of c->out as the socket takes. */
static void conn_flush(struct thr *t, struct conn *c)
{
	while (buf_used(&c->out) && c->writable) {
		ssize_t n = write(c->fd, c->out.p + c->out.off,
				  buf_used(&c->out));

		if (n > 0) {
			buf_consume(&c->out, (size_t)n);
			c->last_tx = mono_ns();
		} else if (n < 0 && errno == EAGAIN) {
			c->writable = false;
		} else if (n < 0 && errno == EINTR) {
			continue;
		} else {
			if (c->state == CS_READY && !atomic_load(&g_abort))
				msg("write: %s", strerror(errno));
			conn_close(t, c, true);
			return;
		}
	}
}

static uint8_t *out_put(struct conn *c, size_t n)
{
	uint8_t *p;

	buf_reserve(&c->out, n);
	p = c->out.p + c->out.len;
	c->out.len += n;
	return p;
}

static void put_ack(struct conn *c, int type, uint16_t pid)
{
	uint8_t *p = out_put(c, 4);

	p[0] = (uint8_t)(type << 4 | (type == MQ_PUBREL ? 2 : 0));
	p[1] = 2;
	put16(p + 2, pid);
}

static void put_connect(struct conn *c)
{
	char id[48];
	int idlen = snprintf(id, sizeof(id), "mqb%d%c%u", (int)getpid(),
			     c->role == R_SUB ? 's' : c->role == R_PUB ? 'p' : 'i',
			     c->idx);
	uint32_t rem = 10 + 2 + (uint32_t)idlen;
	uint8_t *p = out_put(c, 1 + (size_t)mq_varint_len(rem) + rem);

	*p++ = MQ_CONNECT << 4;
	p += mq_put_varint(p, rem);
	memcpy(p, "\0\4MQTT\4\2", 8);	/* level 4, clean session */
	p += 8;
	put16(p, (uint16_t)cfg.keepalive);
	p += 2;
	put16(p, (uint16_t)idlen);
	memcpy(p + 2, id, (size_t)idlen);
}

static void put_sub_packet(struct conn *c, char (*topics)[64], const int *tl,
			   int n, uint16_t pid)
{
	uint32_t rem = 2;
	uint8_t *p;
	int i;

	for (i = 0; i < n; i++)
		rem += 2 + (uint32_t)tl[i] + 1;
	p = out_put(c, 1 + (size_t)mq_varint_len(rem) + rem);
	*p++ = MQ_SUBSCRIBE << 4 | 2;
	p += mq_put_varint(p, rem);
	put16(p, pid);
	p += 2;
	for (i = 0; i < n; i++) {
		put16(p, (uint16_t)tl[i]);
		memcpy(p + 2, topics[i], (size_t)tl[i]);
		p += 2 + tl[i];
		*p++ = (uint8_t)cfg.sub_qos;
	}
	c->subacks++;
}

static void put_subscribe(struct conn *c)
{
	char topics[SUB_BATCH][64];
	int tl[SUB_BATCH];
	int first, n, i;
	uint16_t pid = 1;

	if (cfg.sub_mode == SUB_FILTER) {
		tl[0] = snprintf(topics[0], 64, "%s", cfg.sub_filter);
		put_sub_packet(c, topics, tl, 1, pid);
		return;
	}
	if (cfg.sub_mode == SUB_PER_TOPIC) {
		tl[0] = topic_of(topics[0], 64, (int)(c->idx % (uint32_t)cfg.ntopics));
		put_sub_packet(c, topics, tl, 1, pid);
		return;
	}
	for (first = 0; first < cfg.ntopics; first += SUB_BATCH) {
		n = cfg.ntopics - first < SUB_BATCH ? cfg.ntopics - first : SUB_BATCH;
		for (i = 0; i < n; i++)
			tl[i] = topic_of(topics[i], 64, first + i);
		put_sub_packet(c, topics, tl, n, pid++);
		if (!pid)
			pid = 1;
	}
}

/* ------------------------------------------------------------ publishing */

static int pub_topic(const struct conn *c, uint64_t seq)
{
	if (cfg.pub_cycle)
		return (int)((c->idx + seq) % (uint64_t)cfg.ntopics);
	return (int)(c->idx % (uint32_t)cfg.ntopics);
}

/* Append one PUBLISH; returns false when no packet id is free. */
static bool put_publish(struct thr *t, struct conn *c, uint64_t now)
{
	struct pubst *ps = c->pub;
	int topic = pub_topic(c, ps->seq);
	uint16_t pid = 0;
	uint32_t rem;
	uint8_t *p;
	uint32_t v32;
	uint64_t stamp = now;

	if (cfg.pub_cycle)
		ps->topic_len = topic_of(ps->topic, sizeof(ps->topic), topic);
	if (cfg.pub_qos) {
		int tries = 0;

		do {
			pid = ps->next_pid++;
			if (!ps->next_pid)
				ps->next_pid = 1;
		} while (ps->pid_state[pid] && ++tries < 65535);
		if (ps->pid_state[pid])
			return false;
		ps->pid_state[pid] = 1;
		ps->inflight++;
	}
	rem = 2 + (uint32_t)ps->topic_len + (cfg.pub_qos ? 2 : 0) + (uint32_t)cfg.size;
	p = out_put(c, 1 + (size_t)mq_varint_len(rem) + rem);
	*p++ = (uint8_t)(MQ_PUBLISH << 4 | cfg.pub_qos << 1);
	p += mq_put_varint(p, rem);
	put16(p, (uint16_t)ps->topic_len);
	memcpy(p + 2, ps->topic, (size_t)ps->topic_len);
	p += 2 + ps->topic_len;
	if (cfg.pub_qos) {
		put16(p, pid);
		p += 2;
	}
	memcpy(p, &run_tag, 4);
	v32 = c->idx;
	memcpy(p + 4, &v32, 4);
	memcpy(p + 8, &ps->seq, 8);
	/*
	 * --sched-time: the time the schedule wanted the message out, so a
	 * stalled publisher (full --inflight window or socket, e.g. while TCP
	 * retransmits on a lossy link) shows in the latency.
	 */
	if (cfg.sched_time && cfg.rate > 0)
		stamp = t_run0 + ps->phase_ns +
			(uint64_t)((double)ps->seq * 1e9 / cfg.rate);
	memcpy(p + 16, &stamp, 8);
	if (cfg.size > PAYLOAD_HDR)
		memset(p + PAYLOAD_HDR, 0x5a, (size_t)cfg.size - PAYLOAD_HDR);
	ps->seq++;
	t->st.sent++;
	t->st.expected += fan[topic];
	if (now >= t_ws && now < t_end)
		t->st.sent_win++;
	return true;
}

/*
 * QoS 0 at full speed: how many more messages the end-to-end window allows
 * (messages not yet delivered to any subscriber).  When a whole window was
 * lost (nothing delivered for a second), it is written off.
 */
static uint64_t window_room(struct thr *t, struct conn *c, uint64_t now)
{
	struct pubst *ps = c->pub;
	uint64_t s, out, need, w = (uint64_t)cfg.window;

	if (!cfg.window || cfg.rate > 0 || cfg.pub_qos || !cfg.nsub)
		return UINT64_MAX;
	/* once blocked, wait for a quarter of the window */
	need = ps->blocked && w >= 4 ? w / 4 : 1;
	for (;;) {
		s = atomic_load(&seen[c->idx]);
		if (s < ps->forgiven)
			s = ps->forgiven;
		out = ps->seq > s ? ps->seq - s : 0;
		if (out + need <= w) {
			ps->blocked = false;
			ps->stall_since = 0;
			return w - out;
		}
		if (ps->blocked && atomic_load(&pub_wait[c->idx]))
			break;
		/* ask the subscribers for a wake-up, then look again */
		ps->blocked = true;
		atomic_store(&wake_at[c->idx], ps->seq + need - w);
		atomic_store(&pub_wait[c->idx], 1);
	}
	if (!ps->stall_since || s != ps->stall_seen) {
		ps->stall_since = now;
		ps->stall_seen = s;
	} else if (now - ps->stall_since > 1000000000ull) {
		ps->forgiven = ps->seq;
		ps->stall_since = 0;
		ps->blocked = false;
		atomic_store(&pub_wait[c->idx], 0);
		t->st.window_resets++;
		return w;
	}
	return 0;
}

/*
 * Send what this publisher may send now.  Returns true when it could send
 * more at once (the loop should not sleep).
 */
static bool pub_step(struct thr *t, struct conn *c, uint64_t now)
{
	struct pubst *ps = c->pub;
	int batches = 0;

	if (c->state != CS_READY)
		return false;
	conn_flush(t, c);
	if (c->state != CS_READY || !c->writable || now >= t_end)
		return false;
	while (batches++ < 8) {
		size_t start = buf_used(&c->out);
		uint64_t due = UINT64_MAX, room;

		if (cfg.rate > 0) {
			if (now < t_run0 + ps->phase_ns)
				return false;
			due = (uint64_t)((double)(now - t_run0 - ps->phase_ns) *
					 cfg.rate / 1e9) + 1;
		}
		room = window_room(t, c, now);
		if (!room) {
			t->window_blocked = true;
			return false;
		}
		if (room < due - ps->seq)
			due = ps->seq + room;
		/* fill up to 64 KiB (at least one packet) per write */
		while (ps->seq < due && (!cfg.pub_qos ||
					 ps->inflight < (uint32_t)cfg.inflight) &&
		       (buf_used(&c->out) == start ||
			buf_used(&c->out) + (size_t)cfg.size < 65536)) {
			if (!put_publish(t, c, now))
				break;
		}
		if (buf_used(&c->out) == start)
			return false;	/* nothing due or window full */
		conn_flush(t, c);
		if (c->state != CS_READY || !c->writable)
			return false;
		if (cfg.rate > 0 || cfg.pub_qos)
			continue;
		now = mono_ns();
		if (now >= t_end)
			return false;
	}
	return true;
}

/* ------------------------------------------------------------ receiving */

static void stream_seen(struct stats *st, struct stream *s, uint64_t seq)
{
	int i;

	if (seq >= s->next) {
		uint64_t shift = seq - s->next + 1;

		if (shift >= 64 * WIN_WORDS) {
			memset(s->win, 0, sizeof(s->win));
		} else {
			unsigned int w = (unsigned int)(shift / 64), b = shift % 64;

			for (i = WIN_WORDS - 1; i >= 0; i--) {
				uint64_t v = i >= (int)w ? s->win[i - w] << b : 0;

				if (b && i - (int)w - 1 >= 0)
					v |= s->win[i - w - 1] >> (64 - b);
				s->win[i] = v;
			}
		}
		s->win[0] |= 1;
		s->next = seq + 1;
		st->unique++;
	} else {
		uint64_t d = s->next - 1 - seq;

		if (d < 64 * WIN_WORDS) {
			uint64_t bit = 1ull << (d % 64);

			if (s->win[d / 64] & bit) {
				st->dup++;
				return;
			}
			s->win[d / 64] |= bit;
		}
		st->ooo++;
		st->unique++;
	}
}

static void on_publish(struct thr *t, struct conn *c, const uint8_t *p,
		       uint32_t flags, uint32_t rem, uint64_t now)
{
	int qos = (flags >> 1) & 3;
	uint32_t tl, off, plen, tag, pubid;
	uint64_t seq, ts;

	if (rem < 2 || qos == 3)
		goto proto;
	tl = get16(p);
	off = 2 + tl;
	if (qos) {
		if (off + 2 > rem)
			goto proto;
		put_ack(c, qos == 1 ? MQ_PUBACK : MQ_PUBREC, get16(p + off));
		off += 2;
	}
	if (off > rem)
		goto proto;
	plen = rem - off;
	p += off;
	if (plen >= 4)
		memcpy(&tag, p, 4);
	if (plen < 4 || tag != run_tag) {
		t->st.stale++;	/* not ours: e.g. an earlier run's backlog */
		return;
	}
	t->st.recv++;
	if (now >= t_ws && now < t_end) {
		t->st.recv_win++;
		t->st.bytes_win += plen;
	}
	memcpy(&pubid, p + 4, 4);
	memcpy(&seq, p + 8, 8);
	memcpy(&ts, p + 16, 8);
	if (plen != (uint32_t)cfg.size || pubid >= (uint32_t)cfg.npub ||
	    c->role != R_SUB) {
		t->st.bad++;
		return;
	}
	stream_seen(&t->st, &c->streams[pubid], seq);
	if (seen && seq + 1 > atomic_load_explicit(&seen[pubid], memory_order_relaxed)) {
		atomic_store(&seen[pubid], seq + 1);
		if (atomic_load(&pub_wait[pubid]) &&
		    seq + 1 >= atomic_load(&wake_at[pubid]) &&
		    atomic_exchange(&pub_wait[pubid], 0)) {
			uint64_t one = 1;

			if (write(pub_evfd[pubid], &one, sizeof(one)) < 0) {
				/* EAGAIN: the counter is full, it is awake */
			}
		}
	}
	if (ts >= t_ws && ts < t_end && now >= ts)
		hist_add(&t->st.lat, now - ts);
	return;
proto:
	t->st.proto++;
}

static void on_connack(struct thr *t, struct conn *c, const uint8_t *p,
		       uint32_t rem)
{
	if (c->state != CS_CONNACK || rem != 2 || p[1]) {
		msg("connection refused (CONNACK %s%d)",
		    rem == 2 ? "rc " : "length ", rem == 2 ? p[1] : (int)rem);
		conn_close(t, c, true);
		return;
	}
	if (c->role == R_SUB) {
		put_subscribe(c);
		c->state = CS_SUBACK;
	} else {
		c->state = CS_READY;
		t->st.conn_ok++;
		t->connecting--;
	}
}

static void on_suback(struct thr *t, struct conn *c, const uint8_t *p,
		      uint32_t rem)
{
	uint32_t i;

	if (c->state != CS_SUBACK || rem < 3) {
		t->st.proto++;
		return;
	}
	for (i = 2; i < rem; i++) {
		if (p[i] == 0x80) {
			msg("subscription refused (SUBACK 0x80)");
			conn_close(t, c, true);
			return;
		}
	}
	if (--c->subacks == 0) {
		c->state = CS_READY;
		t->st.conn_ok++;
		t->connecting--;
	}
}

static void on_ack(struct thr *t, struct conn *c, int type, const uint8_t *p,
		   uint32_t rem)
{
	struct pubst *ps = c->pub;
	uint16_t pid;

	if (rem != 2) {
		t->st.proto++;
		return;
	}
	pid = get16(p);
	if (type == MQ_PUBREL) {	/* subscriber side of QoS 2 */
		put_ack(c, MQ_PUBCOMP, pid);
		return;
	}
	if (!ps || !ps->pid_state || !ps->pid_state[pid]) {
		t->st.proto++;
		return;
	}
	if (type == MQ_PUBREC && ps->pid_state[pid] == 1 && cfg.pub_qos == 2) {
		ps->pid_state[pid] = 2;
		put_ack(c, MQ_PUBREL, pid);
	} else if ((type == MQ_PUBACK && cfg.pub_qos == 1) ||
		   (type == MQ_PUBCOMP && ps->pid_state[pid] == 2)) {
		ps->pid_state[pid] = 0;
		ps->inflight--;
		t->st.acked++;
	} else {
		t->st.proto++;
	}
}

/* Parse the complete packets in p[0, n); returns the bytes consumed. */
static size_t conn_parse(struct thr *t, struct conn *c, const uint8_t *p,
			 size_t n, uint64_t now)
{
	uint64_t unique0 = t->st.unique;
	size_t done = 0;

	while (c->state != CS_CLOSED) {
		uint32_t hl, rem;
		int r = mq_frame(p + done, n - done, MAX_PACKET, &hl, &rem);

		if (r == 0)
			break;
		if (r < 0) {
			msg("malformed packet from the broker");
			t->st.proto++;
			conn_close(t, c, true);
			break;
		}
		switch (p[done] >> 4) {
		case MQ_PUBLISH:
			on_publish(t, c, p + done + hl, p[done] & 15, rem, now);
			break;
		case MQ_CONNACK:
			on_connack(t, c, p + done + hl, rem);
			break;
		case MQ_SUBACK:
			on_suback(t, c, p + done + hl, rem);
			break;
		case MQ_PUBACK:
		case MQ_PUBREC:
		case MQ_PUBREL:
		case MQ_PUBCOMP:
			on_ack(t, c, p[done] >> 4, p + done + hl, rem);
			break;
		case MQ_PINGRESP:
			break;
		default:
			t->st.proto++;
			break;
		}
		done += hl + rem;
	}
	if (t->st.unique != unique0) {
		atomic_fetch_add_explicit(&g_unique, t->st.unique - unique0,
					  memory_order_relaxed);
		atomic_store_explicit(&g_last_rx, now, memory_order_relaxed);
	}
	return done;
}

static void rdq_push(struct thr *t, struct conn *c)
{
	if (c->rd_more)
		return;
	c->rd_more = true;
	t->rdq[t->nrdq++] = c;
}

#define READ_CHUNK (128u << 10)

/*
 * Read (up to a budget) and parse.  Reads go to the thread's scratch buffer,
 * after the connection's partial packet if any; only a new partial packet
 * is kept with the connection, so idle connections stay small.
 */
static void conn_read(struct thr *t, struct conn *c)
{
	struct buf *s = &t->scratch;
	int budget = 16;

	while (c->state != CS_CLOSED) {
		size_t keep = buf_used(&c->in), used;
		ssize_t n;

		if (budget-- <= 0) {
			rdq_push(t, c);
			break;
		}
		s->off = s->len = 0;
		buf_reserve(s, keep + READ_CHUNK);
		if (keep)
			memcpy(s->p, c->in.p + c->in.off, keep);
		n = read(c->fd, s->p + keep, s->cap - keep);
		if (n > 0) {
			s->len = keep + (size_t)n;
			used = conn_parse(t, c, s->p, s->len, mono_ns());
			if (c->state == CS_CLOSED)
				return;
			c->in.off = c->in.len = 0;
			if (used < s->len) {
				buf_reserve(&c->in, s->len - used);
				memcpy(c->in.p, s->p + used, s->len - used);
				c->in.len = s->len - used;
			}
			if (c->in.cap > 4096 && !c->in.len) {
				buf_free(&c->in);	/* shrink after a large packet */
			}
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (!atomic_load(&g_abort) && t->nerrmsg++ < 5)
			msg("broker closed a connection (%s)",
			    n == 0 ? "EOF" : strerror(errno));
		conn_close(t, c, true);
		return;
	}
	conn_flush(t, c);
}

/* ------------------------------------------------------------ connecting */

static void conn_start(struct thr *t, struct conn *c)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
				  .data.ptr = c };
	int one = 1;

	c->fd = socket(cfg.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		msg("socket: %s", strerror(errno));
		c->state = CS_CLOSED;
		t->st.conn_fail++;
		return;
	}
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (cfg.sndbuf && c->role == R_PUB)
		setsockopt(c->fd, SOL_SOCKET, SO_SNDBUF, &cfg.sndbuf, sizeof(int));
	if (cfg.rcvbuf)
		setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &cfg.rcvbuf, sizeof(int));
	t->connecting++;
	c->state = CS_CONNECTING;
	if (epoll_ctl(t->ep, EPOLL_CTL_ADD, c->fd, &ev)) {
		msg("epoll_ctl: %s", strerror(errno));
		conn_close(t, c, true);
		return;
	}
	if (connect(c->fd, (struct sockaddr *)&cfg.addr, cfg.addrlen) &&
	    errno != EINPROGRESS) {
		msg("connect: %s", strerror(errno));
		conn_close(t, c, true);
	}
}

/* EPOLLOUT on a connecting socket. */
static void conn_established(struct thr *t, struct conn *c)
{
	int err = 0;
	socklen_t len = sizeof(err);

	getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
	if (err) {
		msg("connect: %s", strerror(err));
		conn_close(t, c, true);
		return;
	}
	c->state = CS_CONNACK;
	put_connect(c);
	conn_flush(t, c);
}

static void handle_event(struct thr *t, struct epoll_event *ev)
{
	struct conn *c = ev->data.ptr;
	uint64_t v;

	if (!c) {	/* a subscriber opened a publisher's window */
		while (read(t->evfd, &v, sizeof(v)) > 0)
			;
		return;
	}
	if (c->state == CS_CLOSED)
		return;
	if (c->state == CS_CONNECTING) {
		if (!(ev->events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
			return;
		c->writable = true;
		conn_established(t, c);
		if (c->state == CS_CLOSED)
			return;
	}
	if (ev->events & EPOLLOUT) {
		c->writable = true;
		conn_flush(t, c);
	}
	if (c->state != CS_CLOSED &&
	    (ev->events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)))
		conn_read(t, c);
}

/* Send PINGREQ on connections quiet for half the keepalive. */
static void ping_scan(struct thr *t, uint64_t now)
{
	uint64_t idle = (uint64_t)cfg.keepalive * 500000000ull;
	int i;

	if (!cfg.keepalive || now - t->last_ping_scan < 1000000000ull)
		return;
	t->last_ping_scan = now;
	for (i = 0; i < t->nconns; i++) {
		struct conn *c = t->conns[i];

		if (c->state == CS_READY && now - c->last_tx > idle) {
			uint8_t *p = out_put(c, 2);

			p[0] = MQ_PINGREQ << 4;
			p[1] = 0;
			c->last_tx = now;
			conn_flush(t, c);
		}
	}
}

/* One turn of the event loop; @timeout_ms < 0: decide from the state. */
static void loop_once(struct thr *t, int timeout_ms)
{
	struct epoll_event ev[256];
	int n, i;

	n = epoll_wait(t->ep, ev, 256, timeout_ms);
	for (i = 0; i < n; i++)
		handle_event(t, &ev[i]);
}

/*
 * --rate: wait until this thread's next message is due (at most 1 ms), to
 * the microsecond: a 1 ms epoll_wait() step would add up to 1 ms to every
 * latency.  Falls back to epoll_wait() where epoll_pwait2() is missing.
 */
static void loop_until_due(struct thr *t, uint64_t now)
{
	struct epoll_event ev[256];
	uint64_t next = now + 1000000;
	struct timespec ts;
	int n, i;

	for (i = 0; i < t->npubs; i++) {
		struct pubst *ps = t->pubs[i]->pub;
		uint64_t due;

		/* a full window or socket: the ack or EPOLLOUT wakes us */
		if (t->pubs[i]->state != CS_READY || !t->pubs[i]->writable ||
		    (cfg.pub_qos && ps->inflight >= (uint32_t)cfg.inflight))
			continue;
		due = t_run0 + ps->phase_ns +
		      (uint64_t)((double)ps->seq * 1e9 / cfg.rate);
		if (due < next)
			next = due;
	}
	if (next <= now)
		next = now;
	ts.tv_sec = (time_t)((next - now) / 1000000000ull);
	ts.tv_nsec = (long)((next - now) % 1000000000ull);
	n = epoll_pwait2(t->ep, ev, 256, &ts, NULL);
	if (n < 0 && errno == ENOSYS) {
		loop_once(t, 1);
		return;
	}
	for (i = 0; i < n; i++)
		handle_event(t, &ev[i]);
}

/* Continue the reads that ran out of budget; true if some still do. */
static bool any_rd_more(struct thr *t)
{
	int i, n = t->nrdq;

	if (!n)
		return false;
	memcpy(t->rdq2, t->rdq, (size_t)n * sizeof(*t->rdq));
	t->nrdq = 0;
	for (i = 0; i < n; i++) {
		struct conn *c = t->rdq2[i];

		c->rd_more = false;
		if (c->state != CS_CLOSED)
			conn_read(t, c);
	}
	return t->nrdq > 0;
}

/*
 * Wait until every thread and the main thread (@t NULL) reached sync point
 * @idx.  Threads keep serving their connections meanwhile (reads, keepalive):
 * a thread that is done early must not let its connections time out.
 */
static void sync_wait(struct thr *t, int idx)
{
	atomic_fetch_add(&sync_count[idx], 1);
	while (atomic_load(&sync_count[idx]) < cfg.threads + 1) {
		if (t) {
			loop_once(t, 20);
			any_rd_more(t);
			ping_scan(t, mono_ns());
		} else {
			usleep(5000);
		}
	}
}

/* Connect every connection of @role in this thread, @parallel at a time. */
static int connect_phase(struct thr *t, int role, uint64_t deadline)
{
	int par = (cfg.parallel + cfg.threads - 1) / cfg.threads;
	int i, next = 0, pending;

	for (;;) {
		while (t->connecting < par && next < t->nconns) {
			struct conn *c = t->conns[next++];

			if (c->role == role && c->state == CS_NEW)
				conn_start(t, c);
		}
		pending = t->connecting;
		for (i = next; i < t->nconns && !pending; i++)
			if (t->conns[i]->role == role && t->conns[i]->state == CS_NEW)
				pending = 1;
		if (!pending)
			return 0;
		if (mono_ns() > deadline || interrupted) {
			msg("setup timed out (%d connections pending)", t->connecting);
			return -1;
		}
		loop_once(t, 100);
		any_rd_more(t);
		ping_scan(t, mono_ns());
	}
}

/* ------------------------------------------------------------ threads */

static void *thread_main(void *arg)
{
	struct thr *t = arg;
	uint64_t deadline = mono_ns() + (uint64_t)(cfg.setup_timeout * 1e9);
	int i, fail;

	/* subscribers (and idle connections) first, then publishers */
	fail = connect_phase(t, R_SUB, deadline);
	fail |= connect_phase(t, R_IDLE, deadline);
	if (fail || t->st.conn_fail)
		atomic_store(&g_abort, 1);
	sync_wait(t, 0);
	if (!atomic_load(&g_abort) && connect_phase(t, R_PUB, deadline))
		atomic_store(&g_abort, 1);
	if (t->st.conn_fail)
		atomic_store(&g_abort, 1);
	sync_wait(t, 1);
	/* the main thread sets the run times */
	sync_wait(t, 2);

	for (;;) {
		uint64_t now = mono_ns();
		bool busy = false;
		int timeout = 100;

		if (atomic_load(&g_abort) || interrupted) {
			t->st.drain = DRAIN_ABORT;
			break;
		}
		t->window_blocked = false;
		if (now < t_end) {
			for (i = 0; i < t->npubs; i++)
				busy |= pub_step(t, t->pubs[i], now);
		} else if (!t->pubs_done) {
			bool done = true;

			for (i = 0; i < t->npubs; i++) {
				struct conn *c = t->pubs[i];

				conn_flush(t, c);
				if (c->state == CS_READY &&
				    (c->pub->inflight || buf_used(&c->out)))
					done = false;
			}
			if (done) {
				t->pubs_done = true;
				atomic_fetch_add(&g_expected, t->st.expected);
				atomic_fetch_add(&g_pubs_done, 1);
			}
		}
		if (now >= t_end) {
			uint64_t last = atomic_load_explicit(&g_last_rx, memory_order_relaxed);

			if (atomic_load(&g_pubs_done) == cfg.threads &&
			    atomic_load(&g_unique) >= atomic_load(&g_expected)) {
				t->st.drain = DRAIN_COMPLETE;
				break;
			}
			if (now > t_end + (uint64_t)(cfg.drain_max * 1e9)) {
				t->st.drain = DRAIN_TIMEOUT;
				break;
			}
			if (now > (last > t_end ? last : t_end) +
			    (uint64_t)(cfg.quiet * 1e9) && t->pubs_done &&
			    atomic_load(&g_pubs_done) == cfg.threads) {
				t->st.drain = DRAIN_QUIET;
				break;
			}
		}
		ping_scan(t, now);
		busy |= any_rd_more(t);
		if (busy) {
			timeout = 0;
		} else if (cfg.rate > 0 && now < t_end) {
			loop_until_due(t, now);
			continue;
		} else if (now < t_end) {
			uint64_t left = (t_end - now) / 1000000 + 1;

			timeout = left < 100 ? (int)left : 100;
		} else {
			timeout = 10;
		}
		loop_once(t, timeout);
	}
	sync_wait(t, 3);
	for (i = 0; i < t->nconns; i++) {
		struct conn *c = t->conns[i];

		if (c->state == CS_READY) {
			uint8_t *p = out_put(c, 2);

			p[0] = MQ_DISCONNECT << 4;
			p[1] = 0;
			conn_flush(t, c);
		}
		if (c->state != CS_CLOSED)
			conn_close(t, c, false);
	}
	return NULL;
}

/* ------------------------------------------------------------ reporting */

static double us(uint64_t ns)
{
	return (double)ns / 1000.0;
}

static void report(const struct stats *s, uint64_t setup_ns, int nconns)
{
	double d = cfg.duration;
	uint64_t lost = s->expected > s->unique ? s->expected - s->unique : 0;
	const struct hist *h = &s->lat;
	uint64_t q[6];
	static const double qs[6] = { 0.5, 0.9, 0.99, 0.999, 1.0, 0.0 };
	double mean = h->count ? (double)h->sum / (double)h->count : 0;
	int i;

	for (i = 0; i < 5; i++)
		q[i] = hist_quantile(h, qs[i]);
	q[5] = h->count ? h->min : 0;
	if (cfg.json) {
		printf("{\"label\":\"%s\",\"host\":\"%s\",\"port\":%d,"
		       "\"pub\":%d,\"sub\":%d,\"topics\":%d,\"sub_mode\":\"%s\","
		       "\"pub_cycle\":%s,\"qos\":%d,\"sub_qos\":%d,\"size\":%d,"
		       "\"rate\":%g,\"sched_time\":%s,\"inflight\":%d,\"window\":%d,\"duration\":%g,"
		       "\"warmup\":%g,"
		       "\"threads\":%d,\"connections\":%d,\"setup_s\":%.6f,",
		       cfg.label ? cfg.label : "", cfg.host, cfg.port, cfg.npub,
		       cfg.nsub, cfg.ntopics,
		       cfg.sub_mode == SUB_ALL ? "all" : cfg.sub_mode == SUB_FILTER ?
		       "filter" : "per-topic", cfg.pub_cycle ? "true" : "false",
		       cfg.pub_qos, cfg.sub_qos, cfg.size, cfg.rate,
		       cfg.sched_time ? "true" : "false", cfg.inflight,
		       cfg.window,
		       cfg.duration, cfg.warmup, cfg.threads, nconns,
		       (double)setup_ns / 1e9);
		printf("\"published\":%llu,\"publish_rate\":%.1f,\"acked\":%llu,"
		       "\"expected\":%llu,\"received\":%llu,\"unique\":%llu,"
		       "\"delivered_rate\":%.1f,\"delivered_mbps\":%.3f,"
		       "\"lost\":%llu,\"duplicates\":%llu,\"out_of_order\":%llu,"
		       "\"bad\":%llu,\"stale\":%llu,\"errors\":%llu,"
		       "\"protocol_errors\":%llu,\"window_resets\":%llu,"
		       "\"drain\":\"%s\",",
		       (unsigned long long)s->sent, (double)s->sent_win / d,
		       (unsigned long long)s->acked,
		       (unsigned long long)s->expected,
		       (unsigned long long)s->recv, (unsigned long long)s->unique,
		       (double)s->recv_win / d, (double)s->bytes_win / d / 1e6,
		       (unsigned long long)lost, (unsigned long long)s->dup,
		       (unsigned long long)s->ooo, (unsigned long long)s->bad,
		       (unsigned long long)s->stale,
		       (unsigned long long)(s->errors + s->conn_fail),
		       (unsigned long long)s->proto,
		       (unsigned long long)s->window_resets, drain_names[s->drain]);
		printf("\"latency_us\":{\"count\":%llu,\"min\":%.1f,\"mean\":%.1f,"
		       "\"p50\":%.1f,\"p90\":%.1f,\"p99\":%.1f,\"p999\":%.1f,"
		       "\"max\":%.1f}}\n",
		       (unsigned long long)h->count, us(q[5]), mean / 1000.0,
		       us(q[0]), us(q[1]), us(q[2]), us(q[3]), us(q[4]));
		return;
	}
	printf("mqbench %s:%d  pub %d  sub %d  topics %d  qos %d/%d  size %d  "
	       "%s  %g s (+%g s warmup)  threads %d\n",
	       cfg.host, cfg.port, cfg.npub, cfg.nsub, cfg.ntopics, cfg.pub_qos,
	       cfg.sub_qos, cfg.size, cfg.rate > 0 ? "rate-limited" : "max rate",
	       cfg.duration, cfg.warmup, cfg.threads);
	printf("  setup      %d connections in %.3f s\n", nconns,
	       (double)setup_ns / 1e9);
	printf("  published  %llu msgs, %.1f msg/s in the window",
	       (unsigned long long)s->sent, (double)s->sent_win / d);
	if (cfg.pub_qos)
		printf(", %llu acknowledged", (unsigned long long)s->acked);
	printf("\n  delivered  %.1f msg/s (%.2f MB/s payload) over %d subscribers\n",
	       (double)s->recv_win / d, (double)s->bytes_win / d / 1e6, cfg.nsub);
	printf("  checked    expected %llu, unique %llu, lost %llu, duplicates %llu, "
	       "out-of-order %llu, bad %llu (drain: %s)\n",
	       (unsigned long long)s->expected, (unsigned long long)s->unique,
	       (unsigned long long)lost, (unsigned long long)s->dup,
	       (unsigned long long)s->ooo, (unsigned long long)s->bad,
	       drain_names[s->drain]);
	if (s->drain == DRAIN_TIMEOUT)
		printf("             (drain timed out: 'lost' includes messages "
		       "still on their way)\n");
	if (s->window_resets)
		printf("  window     written off %llu times (a whole window lost)\n",
		       (unsigned long long)s->window_resets);
	if (s->stale)
		printf("  stale      %llu messages of an earlier run ignored\n",
		       (unsigned long long)s->stale);
	if (s->errors || s->conn_fail || s->proto)
		printf("  errors     %llu connection, %llu protocol\n",
		       (unsigned long long)(s->errors + s->conn_fail),
		       (unsigned long long)s->proto);
	printf("  latency us min %.1f  mean %.1f  p50 %.1f  p90 %.1f  p99 %.1f  "
	       "p99.9 %.1f  max %.1f  (%llu samples)\n",
	       us(q[5]), mean / 1000.0, us(q[0]), us(q[1]), us(q[2]), us(q[3]),
	       us(q[4]), (unsigned long long)h->count);
}

/* --connect-only: open N idle connections, measure, hold them. */
static int connect_only(void)
{
	long a0, s0, a1, s1, r0, r1;
	uint64_t t0, t1, hold_end, ok = 0, fail = 0, errors = 0;
	double per_avail, per_slab, per_rss;
	int i;

	read_meminfo(&a0, &s0);
	r0 = read_rss_kb(cfg.broker_pid);
	t0 = mono_ns();
	for (i = 0; i < cfg.threads; i++)
		pthread_create(&thrs[i].tid, NULL, thread_main, &thrs[i]);
	/* threads: connect, sync, (no publishers), sync */
	sync_wait(NULL, 0);
	sync_wait(NULL, 1);
	t1 = mono_ns();
	for (i = 0; i < cfg.threads; i++) {
		ok += thrs[i].st.conn_ok;
		fail += thrs[i].st.conn_fail;
	}
	/* let the broker finish its per-connection work, then sample */
	usleep((useconds_t)(cfg.settle * 1e6));
	read_meminfo(&a1, &s1);
	r1 = read_rss_kb(cfg.broker_pid);
	hold_end = t1 + (uint64_t)(cfg.duration * 1e9);
	t_run0 = t_ws = mono_ns();
	t_end = hold_end > t_ws ? hold_end : t_ws;
	sync_wait(NULL, 2);
	sync_wait(NULL, 3);
	for (i = 0; i < cfg.threads; i++) {
		pthread_join(thrs[i].tid, NULL);
		errors += thrs[i].st.errors;
	}
	per_avail = ok ? (double)(a0 - a1) * 1024.0 / (double)ok : 0;
	per_slab = ok ? (double)(s1 - s0) * 1024.0 / (double)ok : 0;
	per_rss = ok && r0 >= 0 ? (double)(r1 - r0) * 1024.0 / (double)ok : 0;
	if (cfg.json) {
		printf("{\"label\":\"%s\",\"host\":\"%s\",\"port\":%d,"
		       "\"connect_only\":%d,\"connected\":%llu,\"failed\":%llu,"
		       "\"errors\":%llu,\"connect_s\":%.6f,\"connect_rate\":%.1f,"
		       "\"memavailable_kb_before\":%ld,\"memavailable_kb_after\":%ld,"
		       "\"mem_per_conn_bytes\":%.0f,\"slab_per_conn_bytes\":%.0f,"
		       "\"broker_rss_kb_before\":%ld,\"broker_rss_kb_after\":%ld,"
		       "\"rss_per_conn_bytes\":%.0f}\n",
		       cfg.label ? cfg.label : "", cfg.host, cfg.port, cfg.nidle,
		       (unsigned long long)ok, (unsigned long long)fail,
		       (unsigned long long)errors, (double)(t1 - t0) / 1e9,
		       (double)ok / ((double)(t1 - t0) / 1e9), a0, a1,
		       per_avail, per_slab, r0, r1, per_rss);
	} else {
		printf("mqbench %s:%d  %d idle connections\n", cfg.host, cfg.port,
		       cfg.nidle);
		printf("  connected  %llu (failed %llu) in %.3f s, %.0f conn/s\n",
		       (unsigned long long)ok, (unsigned long long)fail,
		       (double)(t1 - t0) / 1e9, (double)ok / ((double)(t1 - t0) / 1e9));
		printf("  memory     MemAvailable -%ld KiB (%.0f B/conn), Slab +%ld KiB "
		       "(%.0f B/conn)\n", a0 - a1, per_avail, s1 - s0, per_slab);
		if (r0 >= 0)
			printf("  broker RSS %ld -> %ld KiB (%.0f B/conn)\n", r0, r1,
			       per_rss);
		if (errors)
			printf("  errors     %llu connections lost while held\n",
			       (unsigned long long)errors);
	}
	if (ok < (uint64_t)cfg.nidle && !cfg.json)
		printf("  INCOMPLETE %llu of %d connected\n", (unsigned long long)ok,
		       cfg.nidle);
	return ok < (uint64_t)cfg.nidle || fail || errors ? 1 : 0;
}

/* ------------------------------------------------------------ setup */

static void usage(FILE *f)
{
	fputs(
"usage: mqbench [options]              MQTT 3.1.1 load generator\n"
"       mqbench --relay [-p PORT]      trivial PUBLISH fan-out relay (reference)\n"
"\n"
"  -h, --host HOST        broker address (127.0.0.1)\n"
"  -p, --port PORT        broker port (1883)\n"
"      --pub N            publishers (1)\n"
"      --sub M            subscribers (1)\n"
"      --topics T         topics PREFIX/0 .. PREFIX/T-1 (1); publisher i\n"
"                         publishes to PREFIX/<i % T>\n"
"      --pub-cycle        publisher i sends message k to PREFIX/<(i+k) % T>\n"
"      --sub-filter F     each subscriber subscribes to F only (e.g. 'bench/#');\n"
"                         default: every subscriber subscribes to all T topics\n"
"      --sub-per-topic    subscriber j subscribes to PREFIX/<j % T> only\n"
"      --prefix P         topic prefix (bench)\n"
"  -q, --qos Q            QoS of publishes and subscriptions (0)\n"
"      --pub-qos Q, --sub-qos Q   set them apart\n"
"  -s, --size BYTES       payload size (64; at least 24: publisher, seq, time)\n"
"  -r, --rate R           msgs/s per publisher (default: as fast as possible:\n"
"                         QoS 0 paced by the socket send buffer, QoS 1/2 by\n"
"                         --inflight)\n"
"      --sched-time       with --rate: stamp each message with its scheduled\n"
"                         send time, not the time it was written, so that\n"
"                         publisher stalls count in the latency\n"
"  -w, --inflight W       outstanding QoS 1/2 publishes per publisher (64)\n"
"      --window N         QoS 0 at full speed: at most N messages per publisher\n"
"                         not yet delivered to a subscriber (1000, or 4 MiB\n"
"                         of payload if less, at least 16; 0: no window, only\n"
"                         the socket buffers limit the backlog)\n"
"  -d, --duration S       measured seconds (5)\n"
"      --warmup S         seconds before the measurement (1)\n"
"      --drain S          at most this long after the end for late messages (10)\n"
"      --quiet S          ...and stop after S seconds without any (2)\n"
"      --connect-only N   open N idle connections, report the time to connect\n"
"                         and the memory (MemAvailable, Slab, --broker-pid RSS),\n"
"                         hold them --duration seconds\n"
"      --broker-pid PID   sample this process's VmRSS (--connect-only)\n"
"      --settle S         wait before the memory sample (2)\n"
"      --parallel K       connections being set up at once (64)\n"
"  -t, --threads N        event-loop threads (1)\n"
"  -k, --keepalive S      MQTT keepalive; PINGREQ after S/2 idle (60)\n"
"      --sndbuf B         publishers' SO_SNDBUF (QoS 0 at full speed: 32 KiB\n"
"                         or 4 packets; else, and 0: the system's)\n"
"      --rcvbuf B         SO_RCVBUF of every connection (system default)\n"
"      --setup-timeout S  connect + subscribe deadline (300)\n"
"      --label TEXT       copied into the JSON output\n"
"      --json             one JSON object on stdout\n"
"      --help\n"
"\n"
"Payloads carry the publisher, a sequence number and the send time\n"
"(CLOCK_MONOTONIC): subscribers count loss, duplicates and reordering per\n"
"publisher and the end-to-end latency of messages sent in the window.\n"
"Exit status: 0 ok, 1 connection or protocol errors, 2 usage.\n", f);
}

enum {
	O_PUB = 256, O_SUB, O_TOPICS, O_CYCLE, O_FILTER, O_PERTOPIC, O_PREFIX,
	O_PUBQOS, O_SUBQOS, O_WARMUP, O_DRAIN, O_QUIET, O_CONNONLY, O_BPID,
	O_SETTLE, O_PAR, O_SNDBUF, O_RCVBUF, O_SETUPTO, O_LABEL, O_JSON,
	O_HELP, O_RELAY, O_WINDOW, O_SCHED,
};

static const struct option longopts[] = {
	{ "host", 1, 0, 'h' }, { "port", 1, 0, 'p' }, { "pub", 1, 0, O_PUB },
	{ "sub", 1, 0, O_SUB }, { "topics", 1, 0, O_TOPICS },
	{ "pub-cycle", 0, 0, O_CYCLE }, { "sub-filter", 1, 0, O_FILTER },
	{ "sub-per-topic", 0, 0, O_PERTOPIC }, { "prefix", 1, 0, O_PREFIX },
	{ "qos", 1, 0, 'q' }, { "pub-qos", 1, 0, O_PUBQOS },
	{ "sub-qos", 1, 0, O_SUBQOS }, { "size", 1, 0, 's' },
	{ "rate", 1, 0, 'r' }, { "inflight", 1, 0, 'w' },
	{ "sched-time", 0, 0, O_SCHED },
	{ "duration", 1, 0, 'd' }, { "warmup", 1, 0, O_WARMUP },
	{ "drain", 1, 0, O_DRAIN }, { "quiet", 1, 0, O_QUIET },
	{ "connect-only", 1, 0, O_CONNONLY }, { "broker-pid", 1, 0, O_BPID },
	{ "settle", 1, 0, O_SETTLE }, { "parallel", 1, 0, O_PAR },
	{ "threads", 1, 0, 't' }, { "keepalive", 1, 0, 'k' },
	{ "sndbuf", 1, 0, O_SNDBUF }, { "rcvbuf", 1, 0, O_RCVBUF },
	{ "setup-timeout", 1, 0, O_SETUPTO }, { "label", 1, 0, O_LABEL },
	{ "json", 0, 0, O_JSON }, { "help", 0, 0, O_HELP },
	{ "relay", 0, 0, O_RELAY }, { "window", 1, 0, O_WINDOW },
	{ 0, 0, 0, 0 },
};

static long num(const char *s, long lo, long hi, const char *what)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || end == s || v < lo || v > hi) {
		msg("bad %s '%s' (%ld..%ld)", what, s, lo, hi);
		exit(2);
	}
	return v;
}

static double fnum(const char *s, double lo, const char *what)
{
	char *end;
	double v = strtod(s, &end);

	if (*end || end == s || !(v >= lo)) {
		msg("bad %s '%s'", what, s);
		exit(2);
	}
	return v;
}

static void parse_args(int argc, char **argv)
{
	int o, qos = -1, pq = -1, sq = -1;

	while ((o = getopt_long(argc, argv, "h:p:q:s:r:w:d:t:k:", longopts, NULL)) != -1) {
		switch (o) {
		case 'h': cfg.host = optarg; break;
		case 'p': cfg.port = (int)num(optarg, 1, 65535, "port"); break;
		case O_PUB: cfg.npub = (int)num(optarg, 0, 1000000, "--pub"); break;
		case O_SUB: cfg.nsub = (int)num(optarg, 0, 1000000, "--sub"); break;
		case O_TOPICS: cfg.ntopics = (int)num(optarg, 1, 10000000, "--topics"); break;
		case O_CYCLE: cfg.pub_cycle = true; break;
		case O_FILTER: cfg.sub_filter = optarg; cfg.sub_mode = SUB_FILTER; break;
		case O_PERTOPIC: cfg.sub_mode = SUB_PER_TOPIC; break;
		case O_PREFIX: cfg.prefix = optarg; break;
		case 'q': qos = (int)num(optarg, 0, 2, "QoS"); break;
		case O_PUBQOS: pq = (int)num(optarg, 0, 2, "QoS"); break;
		case O_SUBQOS: sq = (int)num(optarg, 0, 2, "QoS"); break;
		case 's': cfg.size = (int)num(optarg, PAYLOAD_HDR, 100 << 20, "--size"); break;
		case 'r': cfg.rate = fnum(optarg, 0, "--rate"); break;
		case O_SCHED: cfg.sched_time = true; break;
		case 'w': cfg.inflight = (int)num(optarg, 1, 65535, "--inflight"); break;
		case O_WINDOW: cfg.window = (int)num(optarg, 0, 1 << 30, "--window"); break;
		case 'd': cfg.duration = fnum(optarg, 0.001, "--duration"); break;
		case O_WARMUP: cfg.warmup = fnum(optarg, 0, "--warmup"); break;
		case O_DRAIN: cfg.drain_max = fnum(optarg, 0, "--drain"); break;
		case O_QUIET: cfg.quiet = fnum(optarg, 0, "--quiet"); break;
		case O_CONNONLY: cfg.nidle = (int)num(optarg, 1, 1000000, "--connect-only"); break;
		case O_BPID: cfg.broker_pid = (int)num(optarg, 1, 1 << 30, "--broker-pid"); break;
		case O_SETTLE: cfg.settle = fnum(optarg, 0, "--settle"); break;
		case O_PAR: cfg.parallel = (int)num(optarg, 1, 1000000, "--parallel"); break;
		case 't': cfg.threads = (int)num(optarg, 1, 256, "--threads"); break;
		case 'k': cfg.keepalive = (int)num(optarg, 0, 65535, "--keepalive"); break;
		case O_SNDBUF: cfg.sndbuf = (int)num(optarg, 0, 1 << 30, "--sndbuf"); break;
		case O_RCVBUF: cfg.rcvbuf = (int)num(optarg, 0, 1 << 30, "--rcvbuf"); break;
		case O_SETUPTO: cfg.setup_timeout = fnum(optarg, 1, "--setup-timeout"); break;
		case O_LABEL: cfg.label = optarg; break;
		case O_JSON: cfg.json = true; break;
		case O_HELP: usage(stdout); exit(0);
		default: usage(stderr); exit(2);
		}
	}
	if (optind < argc) {
		msg("unexpected argument '%s'", argv[optind]);
		exit(2);
	}
	cfg.pub_qos = pq >= 0 ? pq : qos >= 0 ? qos : 0;
	/*
	 * QoS 0 at full speed is paced by the send buffer (keep it small, but
	 * a few packets: a packet larger than it stalls TCP) and the window.
	 */
	if (cfg.sndbuf < 0)
		cfg.sndbuf = cfg.pub_qos || cfg.rate > 0 ? 0 :
			     cfg.size < 8192 ? 32768 : 4 * (cfg.size + 256);
	if (cfg.window < 0) {
		cfg.window = (4 << 20) / cfg.size;
		cfg.window = cfg.window > 1000 ? 1000 : cfg.window < 16 ? 16 : cfg.window;
	}
	cfg.sub_qos = sq >= 0 ? sq : qos >= 0 ? qos : 0;
	if (cfg.nidle)
		cfg.npub = cfg.nsub = 0;
	if (cfg.label && strpbrk(cfg.label, "\"\\")) {
		msg("--label must not contain quotes or backslashes");
		exit(2);
	}
	if (cfg.sub_filter && strlen(cfg.sub_filter) > 63) {
		msg("--sub-filter too long");
		exit(2);
	}
	if (strlen(cfg.prefix) > 40) {
		msg("--prefix too long");
		exit(2);
	}
}

static void resolve(void)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai;
	char port[16];
	int r;

	snprintf(port, sizeof(port), "%d", cfg.port);
	r = getaddrinfo(cfg.host, port, &hints, &ai);
	if (r) {
		msg("%s: %s", cfg.host, gai_strerror(r));
		exit(2);
	}
	memcpy(&cfg.addr, ai->ai_addr, ai->ai_addrlen);
	cfg.addrlen = ai->ai_addrlen;
	freeaddrinfo(ai);
}

static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

/* Build the connections and spread them over the threads. */
static void build_conns(void)
{
	int nconn = cfg.nsub + cfg.npub + cfg.nidle, i, k = 0;
	struct conn *all = xcalloc((size_t)nconn, sizeof(*all));
	char topic[64];

	fan = xcalloc((size_t)cfg.ntopics, sizeof(*fan));
	if (cfg.window && cfg.rate <= 0 && !cfg.pub_qos && cfg.nsub) {
		seen = xcalloc((size_t)cfg.npub + 1, sizeof(*seen));
		wake_at = xcalloc((size_t)cfg.npub + 1, sizeof(*wake_at));
		pub_wait = xcalloc((size_t)cfg.npub + 1, sizeof(*pub_wait));
	}
	pub_evfd = xcalloc((size_t)cfg.npub + 1, sizeof(*pub_evfd));
	for (i = 0; i < cfg.ntopics; i++) {
		topic_of(topic, sizeof(topic), i);
		if (cfg.sub_mode == SUB_ALL)
			fan[i] = (uint32_t)cfg.nsub;
		else if (cfg.sub_mode == SUB_FILTER)
			fan[i] = topic_match(cfg.sub_filter, topic) ? (uint32_t)cfg.nsub : 0;
		else
			fan[i] = (uint32_t)(cfg.nsub / cfg.ntopics +
					    (i < cfg.nsub % cfg.ntopics));
	}
	thrs = xcalloc((size_t)cfg.threads, sizeof(*thrs));
	for (i = 0; i < cfg.threads; i++) {
		struct thr *t = &thrs[i];

		t->id = i;
		t->ep = epoll_create1(EPOLL_CLOEXEC);
		t->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (t->ep < 0 || t->evfd < 0) {
			msg("epoll_create1/eventfd: %s", strerror(errno));
			exit(2);
		} else {
			struct epoll_event ev = { .events = EPOLLIN | EPOLLET,
						  .data.ptr = NULL };

			epoll_ctl(t->ep, EPOLL_CTL_ADD, t->evfd, &ev);
		}
		t->conns = xcalloc((size_t)nconn, sizeof(*t->conns));
		t->pubs = xcalloc((size_t)cfg.npub + 1, sizeof(*t->pubs));
		t->rdq = xcalloc((size_t)nconn, sizeof(*t->rdq));
		t->rdq2 = xcalloc((size_t)nconn, sizeof(*t->rdq2));
		buf_reserve(&t->scratch, READ_CHUNK + 65536 + (size_t)cfg.size);
		hist_init(&t->st.lat);
	}
	/* subscribers from thread 0 up, publishers from the last one down */
	for (i = 0; i < cfg.nsub + cfg.nidle; i++, k++) {
		struct conn *c = &all[k];
		struct thr *t = &thrs[i % cfg.threads];

		c->fd = -1;
		c->role = i < cfg.nsub ? R_SUB : R_IDLE;
		c->idx = (uint32_t)(i < cfg.nsub ? i : i - cfg.nsub);
		if (c->role == R_SUB)
			c->streams = xcalloc((size_t)cfg.npub, sizeof(*c->streams));
		/* preallocate, so --connect-only's memory delta is the sockets' */
		buf_reserve(&c->out, 128);
		t->conns[t->nconns++] = c;
	}
	for (i = 0; i < cfg.npub; i++, k++) {
		struct conn *c = &all[k];
		struct thr *t = &thrs[cfg.threads - 1 - i % cfg.threads];
		struct pubst *ps = xcalloc(1, sizeof(*ps));

		c->fd = -1;
		c->role = R_PUB;
		c->idx = (uint32_t)i;
		c->pub = ps;
		pub_evfd[i] = t->evfd;
		ps->next_pid = 1;
		if (cfg.pub_qos)
			ps->pid_state = xcalloc(65536, 1);
		ps->topic_len = topic_of(ps->topic, sizeof(ps->topic),
					 (int)(c->idx % (uint32_t)cfg.ntopics));
		if (cfg.rate > 0)
			ps->phase_ns = (uint64_t)(1e9 / cfg.rate * i / cfg.npub);
		t->conns[t->nconns++] = c;
		t->pubs[t->npubs++] = c;
	}
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct stats tot;
	uint64_t s0, s1;
	int i, nconn, rc = 0;

	for (i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--relay"))
			return relay_main(argc, argv);
	parse_args(argc, argv);
	resolve();
	run_tag = (uint32_t)(mono_ns() ^ ((uint64_t)getpid() << 16)) | 1;
	signal(SIGPIPE, SIG_IGN);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	nconn = cfg.nsub + cfg.npub + cfg.nidle;
	if (raise_nofile((unsigned long)nconn + 64 + 2 * (unsigned long)cfg.threads))
		msg("warning: cannot raise RLIMIT_NOFILE to %d", nconn + 64);
	if (cfg.threads > nconn && nconn > 0)
		cfg.threads = nconn;
	build_conns();

	if (cfg.nidle)
		return connect_only();

	s0 = mono_ns();
	for (i = 0; i < cfg.threads; i++)
		pthread_create(&thrs[i].tid, NULL, thread_main, &thrs[i]);
	sync_wait(NULL, 0);			/* subscribers ready */
	sync_wait(NULL, 1);			/* publishers ready */
	s1 = mono_ns();
	t_run0 = s1 + 1000000;
	t_ws = t_run0 + (uint64_t)(cfg.warmup * 1e9);
	t_end = t_ws + (uint64_t)(cfg.duration * 1e9);
	atomic_store(&g_t0, t_run0);
	sync_wait(NULL, 2);			/* run */
	sync_wait(NULL, 3);			/* drained */

	memset(&tot, 0, sizeof(tot));
	hist_init(&tot.lat);
	for (i = 0; i < cfg.threads; i++) {
		struct stats *s = &thrs[i].st;

		pthread_join(thrs[i].tid, NULL);
		tot.sent += s->sent;
		tot.sent_win += s->sent_win;
		tot.acked += s->acked;
		tot.expected += s->expected;
		tot.recv += s->recv;
		tot.recv_win += s->recv_win;
		tot.bytes_win += s->bytes_win;
		tot.unique += s->unique;
		tot.dup += s->dup;
		tot.ooo += s->ooo;
		tot.bad += s->bad;
		tot.stale += s->stale;
		tot.conn_ok += s->conn_ok;
		tot.conn_fail += s->conn_fail;
		tot.errors += s->errors;
		tot.proto += s->proto;
		tot.window_resets += s->window_resets;
		if (s->drain > tot.drain)
			tot.drain = s->drain;
		hist_merge(&tot.lat, &s->lat);
	}
	if (atomic_load(&g_abort)) {
		msg("setup failed: %llu of %d connections ready",
		    (unsigned long long)tot.conn_ok, nconn);
		rc = 1;
	}
	if (tot.errors || tot.conn_fail || tot.proto)
		rc = 1;
	report(&tot, s1 - s0, nconn);
	return interrupted ? 130 : rc;
}
