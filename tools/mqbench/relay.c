// SPDX-License-Identifier: GPL-2.0
/*
 * relay.c - "mqbench --relay": the cheapest user-space fan-out, a reference
 * for what copying bytes between loopback sockets costs.
 *
 * One thread, one epoll loop.  It understands just enough MQTT to be driven
 * by mqbench: CONNECT gets CONNACK, SUBSCRIBE makes the connection a
 * subscriber (SUBACK grants QoS 0), PINGREQ gets PINGRESP, and every PUBLISH
 * is copied verbatim to every subscriber, whatever its topic (runs of
 * PUBLISH packets are copied in one piece).  QoS 1/2 publishes are
 * acknowledged (PUBACK, PUBREC/PUBCOMP) but forwarded unchanged; it is meant
 * for QoS 0.  A subscriber with more than 8 MiB unsent loses new messages
 * (counted), like a broker's queue limit.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common.h"

#define RELAY_MAX_OUT (8u << 20)

struct rconn {
	int fd;
	bool sub, writable, in_more;
	int subpos;
	struct buf in, out;
};

static struct rconn **subs;
static int nsubs, subcap;
static unsigned long long forwarded, dropped, bytes;
static volatile sig_atomic_t stop, dump;
static struct rconn **more;	/* read budget ran out */
static int nmore, morecap;

static void on_sig(int s)
{
	if (s == SIGUSR1)
		dump = 1;
	else
		stop = 1;
}

/* SIGUSR1: what waits where. */
static void dump_state(void)
{
	size_t pending = 0;
	int i, blocked = 0, busy = 0;

	for (i = 0; i < nsubs; i++) {
		pending += buf_used(&subs[i]->out);
		busy += buf_used(&subs[i]->out) > 0;
		blocked += !subs[i]->writable;
	}
	fprintf(stderr, "mqbench relay: %d subscribers, %d with %zu bytes unsent, "
		"%d not writable; %d to read again; forwarded %llu, dropped %llu\n",
		nsubs, busy, pending, blocked, nmore, forwarded, dropped);
}

static void rclose(int ep, struct rconn *c)
{
	int j;

	for (j = 0; c->in_more && j < nmore; j++) {
		if (more[j] == c) {
			more[j] = more[--nmore];
			break;
		}
	}
	if (c->sub) {
		subs[c->subpos] = subs[--nsubs];
		subs[c->subpos]->subpos = c->subpos;
	}
	epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	buf_free(&c->in);
	buf_free(&c->out);
	free(c);
}

/* Returns -1 when the connection failed (the caller closes it). */
static int rflush(struct rconn *c)
{
	while (buf_used(&c->out) && c->writable) {
		ssize_t n = write(c->fd, c->out.p + c->out.off, buf_used(&c->out));

		if (n > 0)
			buf_consume(&c->out, (size_t)n);
		else if (n < 0 && errno == EAGAIN)
			c->writable = false;
		else if (!(n < 0 && errno == EINTR))
			return -1;
	}
	return 0;
}

static void rput(struct rconn *c, const void *p, size_t n)
{
	buf_reserve(&c->out, n);
	memcpy(c->out.p + c->out.len, p, n);
	c->out.len += n;
}

static void fan_out(const uint8_t *p, size_t n, unsigned long long npkts)
{
	int i;

	for (i = 0; i < nsubs; i++) {
		struct rconn *s = subs[i];

		if (buf_used(&s->out) + n > RELAY_MAX_OUT) {
			dropped += npkts;
			continue;
		}
		rput(s, p, n);
		forwarded += npkts;
		bytes += n;
	}
}

/* Handle the complete packets of c->in; -1: close the connection. */
static int rparse(struct rconn *c)
{
	const uint8_t *p = c->in.p + c->in.off;
	size_t n = buf_used(&c->in), done = 0, run = 0;
	unsigned long long runpkts = 0;
	uint8_t a[4];

	for (;;) {
		uint32_t hl, rem;
		int r = mq_frame(p + done, n - done, 1u << 28, &hl, &rem);
		int type, qos;

		if (r <= 0) {
			if (r < 0)
				return -1;
			break;
		}
		type = p[done] >> 4;
		if (type == MQ_PUBLISH) {
			if (!runpkts)
				run = done;
			runpkts++;
			qos = (p[done] >> 1) & 3;
			if (qos) {
				uint32_t tl = rem >= 2 ? get16(p + done + hl) : 0;

				if (rem < 4 + tl)
					return -1;
				a[0] = qos == 1 ? MQ_PUBACK << 4 : MQ_PUBREC << 4;
				a[1] = 2;
				memcpy(a + 2, p + done + hl + 2 + tl, 2);
				rput(c, a, 4);
			}
			done += hl + rem;
			continue;
		}
		if (runpkts) {
			fan_out(p + run, done - run, runpkts);
			runpkts = 0;
		}
		switch (type) {
		case MQ_CONNECT:
			rput(c, "\x20\x02\x00\x00", 4);
			break;
		case MQ_SUBSCRIBE: {
			uint32_t i = 2, nf = 0;
			uint8_t hdr[8];
			int vl;

			if (rem < 2)
				return -1;
			while (i + 2 <= rem) {
				i += 2 + get16(p + done + hl + i) + 1;
				nf++;
			}
			hdr[0] = MQ_SUBACK << 4;
			vl = mq_put_varint(hdr + 1, 2 + nf);
			memcpy(hdr + 1 + vl, p + done + hl, 2);
			rput(c, hdr, 3 + (size_t)vl);
			buf_reserve(&c->out, nf);
			memset(c->out.p + c->out.len, 0, nf);
			c->out.len += nf;
			if (!c->sub) {
				if (nsubs == subcap) {
					subcap = subcap ? 2 * subcap : 64;
					subs = xrealloc(subs, (size_t)subcap * sizeof(*subs));
				}
				c->sub = true;
				c->subpos = nsubs;
				subs[nsubs++] = c;
			}
			break;
		}
		case MQ_PUBREL:
			if (rem == 2) {
				a[0] = MQ_PUBCOMP << 4;
				a[1] = 2;
				memcpy(a + 2, p + done + hl, 2);
				rput(c, a, 4);
			}
			break;
		case MQ_PINGREQ:
			rput(c, "\xd0\x00", 2);
			break;
		case MQ_DISCONNECT:
			return -1;
		default:	/* acknowledgments from subscribers */
			break;
		}
		done += hl + rem;
	}
	if (runpkts)
		fan_out(p + run, done - run, runpkts);
	buf_consume(&c->in, done);
	return 0;
}

static int rread(struct rconn *c)
{
	int budget = 16;

	while (budget-- > 0) {
		ssize_t n;

		buf_reserve(&c->in, 65536);
		n = read(c->fd, c->in.p + c->in.len, c->in.cap - c->in.len);
		if (n > 0) {
			c->in.len += (size_t)n;
			if (rparse(c))
				return -1;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 0;
		return -1;
	}
	return 1;	/* more to read */
}

int relay_main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "port", 1, 0, 'p' }, { "relay", 0, 0, 'R' }, { 0, 0, 0, 0 },
	};
	struct sockaddr_in sin = { .sin_family = AF_INET,
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct sigaction sa = { .sa_handler = on_sig };
	struct epoll_event ev, evs[256];
	int port = 1885, o, ls, ep, one = 1, i;

	optind = 1;
	while ((o = getopt_long(argc, argv, "p:", lo, NULL)) != -1) {
		if (o == 'p')
			port = atoi(optarg);
		else if (o != 'R')
			return 2;
	}
	sin.sin_port = htons((uint16_t)port);
	signal(SIGPIPE, SIG_IGN);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	raise_nofile(65536);
	ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ls < 0 || bind(ls, (struct sockaddr *)&sin, sizeof(sin)) ||
	    listen(ls, 4096)) {
		perror("mqbench --relay: listen");
		return 1;
	}
	ep = epoll_create1(EPOLL_CLOEXEC);
	ev.events = EPOLLIN;
	ev.data.ptr = NULL;
	epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev);
	fprintf(stderr, "mqbench relay: listening on 127.0.0.1:%d\n", port);
	while (!stop) {
		int n = epoll_wait(ep, evs, 256, nmore ? 0 : 1000);
		bool fwd = false;
		unsigned long long f0 = forwarded;

		if (dump) {
			dump = 0;
			dump_state();
		}
		for (i = 0; i < n; i++) {
			struct rconn *c = evs[i].data.ptr;
			int r = 0;

			if (c == (void *)&ls)
				continue;
			if (!c) {
				int fd;

				while ((fd = accept4(ls, NULL, NULL,
						     SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
					c = xcalloc(1, sizeof(*c));
					c->fd = fd;
					setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
					ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
					ev.data.ptr = c;
					epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
				}
				continue;
			}
			if (evs[i].events & EPOLLOUT)
				c->writable = true;
			if (evs[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
				r = rread(c);
			if (r > 0 && !c->in_more) {
				c->in_more = true;
				if (nmore == morecap) {
					morecap = morecap ? 2 * morecap : 64;
					more = xrealloc(more, (size_t)morecap * sizeof(*more));
				}
				more[nmore++] = c;
			}
			if (r < 0 || rflush(c)) {
				int j;

				for (j = i + 1; j < n; j++)	/* never seen again */
					if (evs[j].data.ptr == c)
						evs[j].data.ptr = &ls, evs[j].events = 0;
				rclose(ep, c);
			}
		}
		/* connections whose read budget ran out */
		for (i = 0; i < nmore;) {
			struct rconn *c = more[i];
			int r = rread(c);

			if (r > 0) {
				i++;
				continue;
			}
			more[i] = more[--nmore];
			c->in_more = false;
			if (r < 0 || rflush(c))
				rclose(ep, c);
		}
		fwd = forwarded != f0;
		for (i = 0; fwd && i < nsubs;) {
			struct rconn *s = subs[i];

			if (rflush(s))
				rclose(ep, s);	/* swaps the last one in */
			else
				i++;
		}
	}
	fprintf(stderr, "mqbench relay: forwarded %llu messages (%llu bytes), "
		"dropped %llu\n", forwarded, bytes, dropped);
	return 0;
}
