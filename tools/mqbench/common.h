/* SPDX-License-Identifier: GPL-2.0 */
/*
 * common.h - helpers shared by the mqbench client and relay: clock, byte
 * buffers, MQTT framing.
 */
#ifndef MQBENCH_COMMON_H
#define MQBENCH_COMMON_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* MQTT control packet types (high nibble of the first byte). */
enum {
	MQ_CONNECT = 1, MQ_CONNACK, MQ_PUBLISH, MQ_PUBACK, MQ_PUBREC,
	MQ_PUBREL, MQ_PUBCOMP, MQ_SUBSCRIBE, MQ_SUBACK, MQ_UNSUBSCRIBE,
	MQ_UNSUBACK, MQ_PINGREQ, MQ_PINGRESP, MQ_DISCONNECT,
};

static inline uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p) {
		fprintf(stderr, "mqbench: out of memory\n");
		exit(2);
	}
	return p;
}

static inline void *xcalloc(size_t n, size_t sz)
{
	void *p = calloc(n ? n : 1, sz ? sz : 1);

	if (!p) {
		fprintf(stderr, "mqbench: out of memory\n");
		exit(2);
	}
	return p;
}

/* A byte buffer: valid data in p[off, len). */
struct buf {
	uint8_t *p;
	size_t off, len, cap;
};

static inline size_t buf_used(const struct buf *b)
{
	return b->len - b->off;
}

/* Make room for @extra more bytes at p + len. */
static inline void buf_reserve(struct buf *b, size_t extra)
{
	size_t used = b->len - b->off;
	size_t ncap;

	if (b->off == b->len)
		b->off = b->len = 0;
	if (b->len + extra <= b->cap)
		return;
	if (b->off) {
		memmove(b->p, b->p + b->off, used);
		b->off = 0;
		b->len = used;
		if (b->len + extra <= b->cap)
			return;
	}
	ncap = b->cap ? b->cap : 256;
	while (ncap < used + extra)
		ncap *= 2;
	b->p = xrealloc(b->p, ncap);
	b->cap = ncap;
}

static inline void buf_consume(struct buf *b, size_t n)
{
	b->off += n;
	if (b->off == b->len)
		b->off = b->len = 0;
}

static inline void buf_free(struct buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

/* Encode an MQTT remaining length; returns the bytes written (1-4). */
static inline int mq_put_varint(uint8_t *p, uint32_t v)
{
	int n = 0;

	do {
		uint8_t d = v & 0x7f;

		v >>= 7;
		if (v)
			d |= 0x80;
		p[n++] = d;
	} while (v);
	return n;
}

static inline int mq_varint_len(uint32_t v)
{
	return v < 128 ? 1 : v < 16384 ? 2 : v < 2097152 ? 3 : 4;
}

/*
 * Frame one packet at p[0, n): returns 1 with the header and remaining
 * lengths when it is complete, 0 when more bytes are needed, -1 when the
 * remaining length is malformed or larger than @max.
 */
static inline int mq_frame(const uint8_t *p, size_t n, uint32_t max,
			   uint32_t *hdrlen, uint32_t *remlen)
{
	uint32_t v = 0;
	size_t i;

	for (i = 1; i < 5; i++) {
		if (i >= n)
			return 0;
		v |= (uint32_t)(p[i] & 0x7f) << (7 * (i - 1));
		if (!(p[i] & 0x80))
			break;
	}
	if (i == 5 || v > max)
		return -1;
	*hdrlen = (uint32_t)i + 1;
	*remlen = v;
	return n >= *hdrlen + (size_t)v ? 1 : 0;
}

static inline uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

int raise_nofile(unsigned long want);

#endif
