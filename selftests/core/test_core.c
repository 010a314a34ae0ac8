// SPDX-License-Identifier: GPL-2.0
/*
 * test_core.c - user-space unit tests for the kmqttd protocol core
 * (kmod/core/codec.c, topic.c, trie.c; qos.c is tested in test_qos.c).
 * Prints TAP, exits non-zero on any failure.  Built with KMQ_TEST_ALLOC
 * so allocations can be failed.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kmq_shim.h"
#include "codec.h"
#include "topic.h"
#include "trie.h"
#include "tap.h"

/* ---- tiny TAP harness ------------------------------------------------- */

static int n_tests, n_fail;

void check(int ok, const char *fmt, ...)
{
	va_list ap;

	n_tests++;
	printf("%s %d - ", ok ? "ok" : "not ok", n_tests);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (!ok)
		n_fail++;
}

/* ---- failing allocator ------------------------------------------------ */

static long alloc_countdown = -1;	/* fail when it reaches 0 */
static long alloc_calls;

void *kmq_test_zalloc(size_t sz)
{
	alloc_calls++;
	if (alloc_countdown >= 0 && alloc_countdown-- == 0)
		return NULL;
	return calloc(1, sz);
}

/* ---- byte builder ------------------------------------------------------ */

struct bb {
	u8 d[1 << 17];
	u32 n;
};

static struct bb B;

static void b_reset(struct bb *b)
{
	b->n = 0;
}

static void put8(struct bb *b, unsigned int v)
{
	b->d[b->n++] = (u8)v;
}

static void put16(struct bb *b, unsigned int v)
{
	put8(b, v >> 8);
	put8(b, v & 0xff);
}

static void putraw(struct bb *b, const void *p, u32 len)
{
	memcpy(b->d + b->n, p, len);
	b->n += len;
}

static void putstrn(struct bb *b, const char *s, u32 len)
{
	put16(b, len);
	putraw(b, s, len);
}

static void putstr(struct bb *b, const char *s)
{
	putstrn(b, s, (u32)strlen(s));
}

/* "10 0c 00" -> bytes; returns count */
static u32 hex(u8 *out, const char *s)
{
	u32 n = 0;
	unsigned int v;
	int k;

	while (*s) {
		if (*s == ' ') {
			s++;
			continue;
		}
		if (sscanf(s, "%2x%n", &v, &k) != 1)
			abort();
		out[n++] = (u8)v;
		s += k;
	}
	return n;
}

#define S(x) ((const u8 *)(x))

/* ---- fixed header ------------------------------------------------------ */

static void test_fixed(void)
{
	static const struct {
		const char *hex;
		int rc;
		u8 type, flags, hdr;
		u32 rem;
	} t[] = {
		{ "", KMQ_NEED_MORE, 0, 0, 0, 0 },
		{ "10", KMQ_NEED_MORE, 0, 0, 0, 0 },
		{ "10 00", 0, 1, 0, 2, 0 },
		{ "10 7f", 0, 1, 0, 2, 127 },
		{ "10 80", KMQ_NEED_MORE, 0, 0, 0, 0 },
		{ "10 80 01", 0, 1, 0, 3, 128 },
		{ "10 ff 7f", 0, 1, 0, 3, 16383 },
		{ "10 80 80", KMQ_NEED_MORE, 0, 0, 0, 0 },
		{ "10 80 80 01", 0, 1, 0, 4, 16384 },
		{ "10 ff ff 7f", 0, 1, 0, 4, 2097151 },
		{ "10 80 80 80 01", 0, 1, 0, 5, 2097152 },
		{ "10 ff ff ff", KMQ_NEED_MORE, 0, 0, 0, 0 },
		{ "10 ff ff ff 7f", 0, 1, 0, 5, 268435455 },
		{ "10 ff ff ff ff", -KMQ_R_BAD_LENGTH, 0, 0, 0, 0 },
		{ "10 ff ff ff ff 7f", -KMQ_R_BAD_LENGTH, 0, 0, 0, 0 },
		{ "10 80 80 80 80 01", -KMQ_R_BAD_LENGTH, 0, 0, 0, 0 },
		{ "10 80 00", 0, 1, 0, 3, 0 },	/* non-minimal accepted */
		{ "00 00", -KMQ_R_BAD_TYPE, 0, 0, 0, 0 },
		{ "00", -KMQ_R_BAD_TYPE, 0, 0, 0, 0 },
		{ "f0 00", -KMQ_R_BAD_TYPE, 0, 0, 0, 0 },
		{ "f2", -KMQ_R_BAD_TYPE, 0, 0, 0, 0 },
		{ "11 00", -KMQ_R_BAD_FLAGS, 0, 0, 0, 0 },
		{ "18", -KMQ_R_BAD_FLAGS, 0, 0, 0, 0 },
		{ "20 02", 0, 2, 0, 2, 2 },
		{ "20 00", -KMQ_R_BAD_LENGTH, 0, 0, 0, 0 },
		{ "24 02", -KMQ_R_BAD_FLAGS, 0, 0, 0, 0 },
		{ "30 00", 0, 3, 0, 2, 0 },
		{ "3f 05", 0, 3, 15, 2, 5 },	/* QoS 3: decode_publish's job */
		{ "3b 80 01", 0, 3, 11, 3, 128 },
		{ "40 02", 0, 4, 0, 2, 2 },
		{ "40 03", -KMQ_R_BAD_LENGTH, 0, 0, 0, 0 },
		{ "40 01", -KMQ_R_BAD_LENGTH, 0, 0, 0, 0 },
		{ "42 02", -KMQ_R_BAD_FLAGS, 0, 0, 0, 0 },
		{ "50 02", 0, 5, 0, 2, 2 },
		{ "51 02", -KMQ_R_BAD_FLAGS, 0, 0, 0, 0 },
		{ "62 02", 0, 6, 2, 2, 2 },
		{ "60 02", -KMQ_R_BAD_FLAGS, 0, 0, 0, 0 },
		{ "63 02", -KMQ_R_BAD_FLAGS, 0, 0, 0, 0 },
		{ "62 82 00", 0, 6, 2, 3, 2 },
		{ "70 02", 0, 7, 0, 2, 2 },
		{ "78 02", -KMQ_R_BAD_FLAGS, 0, 0, 0, 0 },
		{ "82 05", 0, 8, 2, 2, 5 },
		{ "80 05", -KMQ_R_BAD_FLAGS, 0, 0, 0, 0 },
		{ "8a 05", -KMQ_R_BAD_FLAGS, 0, 0, 0, 0 },
		{ "90 03", 0, 9, 0, 2, 3 },
		{ "91 03", -KMQ_R_BAD_FLAGS, 0, 0, 0, 0 },
		{ "a2 05", 0, 10, 2, 2, 5 },
		{ "a0 05", -KMQ_R_BAD_FLAGS, 0, 0, 0, 0 },
		{ "b0 02", 0, 11, 0, 2, 2 },
		{ "b0 00", -KMQ_R_BAD_LENGTH, 0, 0, 0, 0 },
		{ "b2 02", -KMQ_R_BAD_FLAGS, 0, 0, 0, 0 },
		{ "c0 00", 0, 12, 0, 2, 0 },
		{ "c0 01", -KMQ_R_BAD_LENGTH, 0, 0, 0, 0 },
		{ "c1 00", -KMQ_R_BAD_FLAGS, 0, 0, 0, 0 },
		{ "d0 00", 0, 13, 0, 2, 0 },
		{ "d0 80 01", -KMQ_R_BAD_LENGTH, 0, 0, 0, 0 },
		{ "e0 00", 0, 14, 0, 2, 0 },
		{ "e0 02", -KMQ_R_BAD_LENGTH, 0, 0, 0, 0 },
		{ "e8 00", -KMQ_R_BAD_FLAGS, 0, 0, 0, 0 },
	};
	u8 buf[16];
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct kmq_fixed fh = { 0 };
		u32 n = hex(buf, t[i].hex);
		int rc = kmq_parse_fixed(buf, n, &fh);
		int ok = rc == t[i].rc;

		if (ok && rc == 0)
			ok = fh.type == t[i].type && fh.flags == t[i].flags &&
			     fh.hdr_len == t[i].hdr &&
			     fh.remaining == t[i].rem;
		if (!ok)
			printf("# rc %d type %u flags %u hdr %u rem %u\n", rc,
			       fh.type, fh.flags, fh.hdr_len, fh.remaining);
		CHECK(ok, "parse_fixed [%s] -> %d", t[i].hex, t[i].rc);
	}

	/* PUBLISH accepts every flag nibble in the fixed header. */
	{
		int all = 1;
		u8 f;

		for (f = 0; f < 16; f++) {
			struct kmq_fixed fh;

			buf[0] = 0x30 | f;
			buf[1] = 0;
			if (kmq_parse_fixed(buf, 2, &fh) || fh.flags != f)
				all = 0;
		}
		CHECK(all, "parse_fixed PUBLISH accepts all 16 flag nibbles");
	}
	/* Every prefix of a valid header needs more. */
	{
		int all = 1;
		u32 n = hex(buf, "30 ff ff ff 7f");
		u32 k;

		for (k = 0; k < n; k++) {
			struct kmq_fixed fh;

			if (kmq_parse_fixed(buf, k, &fh) != KMQ_NEED_MORE)
				all = 0;
		}
		CHECK(all, "parse_fixed every prefix -> NEED_MORE");
	}
}

static void test_encode_length(void)
{
	static const struct {
		u32 v;
		u32 n;
		const char *hex;
	} t[] = {
		{ 0, 1, "00" }, { 1, 1, "01" }, { 127, 1, "7f" },
		{ 128, 2, "80 01" }, { 16383, 2, "ff 7f" },
		{ 16384, 3, "80 80 01" }, { 2097151, 3, "ff ff 7f" },
		{ 2097152, 4, "80 80 80 01" },
		{ 268435455, 4, "ff ff ff 7f" },
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		u8 out[8] = { 0 }, want[8], pkt[8];
		u32 n = kmq_encode_length(out, t[i].v);
		struct kmq_fixed fh;
		int ok;

		hex(want, t[i].hex);
		ok = n == t[i].n && !memcmp(out, want, n);
		pkt[0] = 0x30;
		memcpy(pkt + 1, out, n);
		ok = ok && kmq_parse_fixed(pkt, n + 1, &fh) == 0 &&
		     fh.remaining == t[i].v && fh.hdr_len == n + 1;
		CHECK(ok, "encode_length %u -> %s (round trip)", t[i].v,
		      t[i].hex);
	}
	{
		u8 out[8] = { 0 };

		CHECK(kmq_encode_length(out, 0xffffffffu) == 4,
		      "encode_length never writes more than 4 bytes");
	}
}

/* ---- UTF-8 ------------------------------------------------------------- */

static void test_utf8(void)
{
	static const struct {
		const char *hex;
		bool ok;
		const char *what;
	} t[] = {
		{ "", true, "empty" },
		{ "41", true, "ASCII" },
		{ "00", false, "U+0000" },
		{ "41 00 42", false, "embedded U+0000" },
		{ "01", true, "U+0001" },
		{ "7f", true, "U+007F" },
		{ "c2 80", true, "U+0080" },
		{ "df bf", true, "U+07FF" },
		{ "e0 a0 80", true, "U+0800" },
		{ "ef bf bf", true, "U+FFFF" },
		{ "ef bb bf", true, "U+FEFF BOM" },
		{ "f0 90 80 80", true, "U+10000" },
		{ "f4 8f bf bf", true, "U+10FFFF" },
		{ "f4 90 80 80", false, "U+110000" },
		{ "f5 80 80 80", false, "lead F5" },
		{ "f7 bf bf bf", false, "lead F7" },
		{ "f8 88 80 80 80", false, "5-byte form" },
		{ "fc 84 80 80 80 80", false, "6-byte form" },
		{ "fe", false, "FE" },
		{ "ff", false, "FF" },
		{ "c0 80", false, "overlong U+0000 (C0 80)" },
		{ "c0 af", false, "overlong '/'" },
		{ "c1 bf", false, "overlong U+007F" },
		{ "e0 80 80", false, "overlong 3-byte U+0000" },
		{ "e0 9f bf", false, "overlong U+07FF" },
		{ "f0 80 80 80", false, "overlong 4-byte U+0000" },
		{ "f0 8f bf bf", false, "overlong U+FFFF" },
		{ "ed 9f bf", true, "U+D7FF" },
		{ "ed a0 80", false, "surrogate U+D800" },
		{ "ed af bf", false, "surrogate U+DBFF" },
		{ "ed b0 80", false, "surrogate U+DC00" },
		{ "ed bf bf", false, "surrogate U+DFFF" },
		{ "ed a0 bd ed b2 a9", false, "CESU-8 surrogate pair" },
		{ "ee 80 80", true, "U+E000" },
		{ "80", false, "lone continuation" },
		{ "bf", false, "lone continuation BF" },
		{ "41 80", false, "stray continuation" },
		{ "c2", false, "truncated 2-byte" },
		{ "e0 a0", false, "truncated 3-byte" },
		{ "e2", false, "truncated 3-byte lead only" },
		{ "f0 90 80", false, "truncated 4-byte" },
		{ "f4 8f bf", false, "truncated U+10FFFF" },
		{ "c2 41", false, "bad continuation 2-byte" },
		{ "e2 82 41", false, "bad continuation 3-byte" },
		{ "f0 90 41 80", false, "bad continuation 4-byte (2nd)" },
		{ "f0 90 80 c0", false, "bad continuation 4-byte (3rd)" },
		{ "e2 82 ac 24 c2 a2", true, "euro dollar cent" },
		{ "ef bf be", true, "noncharacter U+FFFE" },
		{ "c2 9f", true, "C1 control U+009F" },
	};
	u8 buf[16];
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		u32 n = hex(buf, t[i].hex);

		CHECK(kmq_utf8_valid(buf, n) == t[i].ok, "utf8 %s [%s] %s",
		      t[i].ok ? "accepts" : "rejects", t[i].hex, t[i].what);
	}
	/* Every code point: encode and check verdict. */
	{
		u32 cp, bad = 0;

		for (cp = 0; cp <= 0x10ffff; cp++) {
			u32 n;
			bool want = cp != 0 && !(cp >= 0xd800 && cp <= 0xdfff);

			if (cp < 0x80) {
				buf[0] = (u8)cp;
				n = 1;
			} else if (cp < 0x800) {
				buf[0] = 0xc0 | (cp >> 6);
				buf[1] = 0x80 | (cp & 0x3f);
				n = 2;
			} else if (cp < 0x10000) {
				buf[0] = 0xe0 | (cp >> 12);
				buf[1] = 0x80 | ((cp >> 6) & 0x3f);
				buf[2] = 0x80 | (cp & 0x3f);
				n = 3;
			} else {
				buf[0] = 0xf0 | (cp >> 18);
				buf[1] = 0x80 | ((cp >> 12) & 0x3f);
				buf[2] = 0x80 | ((cp >> 6) & 0x3f);
				buf[3] = 0x80 | (cp & 0x3f);
				n = 4;
			}
			if (kmq_utf8_valid(buf, n) != want)
				bad++;
			/* every proper prefix of a multi-byte form fails */
			if (n > 1 && kmq_utf8_valid(buf, n - 1))
				bad++;
		}
		CHECK_EQ(bad, 0, "utf8 verdict for all 0x110000 code points");
	}
}

/* ---- CONNECT ----------------------------------------------------------- */

static void connect_hdr(struct bb *b, const char *name, u8 level, u8 flags,
			u16 ka)
{
	b_reset(b);
	putstr(b, name);
	put8(b, level);
	put8(b, flags);
	put16(b, ka);
}

static int dec_connect(struct kmq_connect *c)
{
	return kmq_decode_connect(B.d, B.n, c);
}

static void test_connect(void)
{
	struct kmq_connect c;
	u32 full, k;
	int rc, all;

	/* Minimal 3.1.1 CONNECT. */
	connect_hdr(&B, "MQTT", 4, 0x02, 60);
	putstr(&B, "cid");
	rc = dec_connect(&c);
	CHECK(rc == 0 && c.level == 4 && c.clean && !c.will &&
	      c.keepalive == 60 && c.client_id.len == 3 &&
	      !memcmp(c.client_id.p, "cid", 3) && !c.has_user && !c.has_pass,
	      "connect minimal 3.1.1");

	/* 3.1 (MQIsdp, level 3). */
	connect_hdr(&B, "MQIsdp", 3, 0x00, 0);
	putstr(&B, "x");
	rc = dec_connect(&c);
	CHECK(rc == 0 && c.level == 3 && !c.clean && c.keepalive == 0,
	      "connect MQIsdp level 3");

	/* Empty client id is the caller's business. */
	connect_hdr(&B, "MQTT", 4, 0x00, 10);
	putstr(&B, "");
	CHECK_EQ(dec_connect(&c), 0, "connect empty client id, clean 0 ok");

	/* Everything. */
	connect_hdr(&B, "MQTT", 4, 0x80 | 0x40 | 0x20 | 0x10 | 0x04 | 0x02,
		    0xffff);
	putstr(&B, "client-1");
	putstr(&B, "will/topic");
	putstrn(&B, "w\0m", 3);
	putstr(&B, "user");
	putstrn(&B, "\xff\x00pw", 4);
	rc = dec_connect(&c);
	CHECK(rc == 0 && c.will && c.will_qos == 2 && c.will_retain &&
	      c.has_user && c.has_pass && c.keepalive == 0xffff &&
	      c.will_topic.len == 10 && !memcmp(c.will_topic.p, "will/topic", 10) &&
	      c.will_msg.len == 3 && !memcmp(c.will_msg.p, "w\0m", 3) &&
	      c.user.len == 4 && !memcmp(c.user.p, "user", 4) &&
	      c.pass.len == 4 && !memcmp(c.pass.p, "\xff\x00pw", 4),
	      "connect with will QoS 2 retain, user, binary password");

	/* Every truncation of it is BAD_LENGTH; so is a trailing byte. */
	full = B.n;
	all = 1;
	for (k = 0; k < full; k++)
		if (kmq_decode_connect(B.d, k, &c) != -KMQ_R_BAD_LENGTH)
			all = 0;
	CHECK(all, "connect every truncation -> BAD_LENGTH");
	put8(&B, 0);
	CHECK_EQ(dec_connect(&c), -KMQ_R_BAD_LENGTH,
		 "connect trailing byte -> BAD_LENGTH");

	/* Will QoS 1, user only. */
	connect_hdr(&B, "MQTT", 4, 0x80 | 0x08 | 0x04, 5);
	putstr(&B, "c");
	putstr(&B, "t");
	putstr(&B, "");
	putstr(&B, "u");
	rc = dec_connect(&c);
	CHECK(rc == 0 && c.will_qos == 1 && !c.will_retain && c.has_user &&
	      !c.has_pass && c.will_msg.len == 0, "connect will QoS 1, user");

	/* Protocol name and level. */
	connect_hdr(&B, "MQTT", 3, 0, 0);
	putstr(&B, "c");
	CHECK_EQ(dec_connect(&c), -KMQ_R_BAD_LEVEL, "connect MQTT level 3");
	connect_hdr(&B, "MQTT", 5, 0, 0);
	putstr(&B, "c");
	CHECK_EQ(dec_connect(&c), -KMQ_R_BAD_LEVEL, "connect MQTT level 5");
	connect_hdr(&B, "MQIsdp", 4, 0, 0);
	putstr(&B, "c");
	CHECK_EQ(dec_connect(&c), -KMQ_R_BAD_LEVEL, "connect MQIsdp level 4");
	connect_hdr(&B, "MQTX", 4, 0, 0);
	putstr(&B, "c");
	CHECK_EQ(dec_connect(&c), -KMQ_R_BAD_PROTOCOL, "connect name MQTX");
	connect_hdr(&B, "mqtt", 4, 0, 0);
	putstr(&B, "c");
	CHECK_EQ(dec_connect(&c), -KMQ_R_BAD_PROTOCOL, "connect name mqtt");
	connect_hdr(&B, "MQTT5", 4, 0, 0);
	putstr(&B, "c");
	CHECK_EQ(dec_connect(&c), -KMQ_R_BAD_PROTOCOL, "connect name MQTT5");
	connect_hdr(&B, "", 4, 0, 0);
	putstr(&B, "c");
	CHECK_EQ(dec_connect(&c), -KMQ_R_BAD_PROTOCOL, "connect empty name");
	connect_hdr(&B, "HTTP", 7, 0, 0);
	putstr(&B, "c");
	CHECK_EQ(dec_connect(&c), -KMQ_R_BAD_PROTOCOL,
		 "connect bad name and level: name checked first");
	b_reset(&B);
	putstr(&B, "MQTT");
	CHECK_EQ(dec_connect(&c), -KMQ_R_BAD_LENGTH,
		 "connect ends after name");
	b_reset(&B);
	putstr(&B, "XQTT");
	CHECK_EQ(dec_connect(&c), -KMQ_R_BAD_PROTOCOL,
		 "connect bad name, nothing after");
	CHECK_EQ(kmq_decode_connect(B.d, 0, &c), -KMQ_R_BAD_LENGTH,
		 "connect empty body");

	/* Connect flags. */
	connect_hdr(&B, "MQTT", 4, 0x01, 0);
	putstr(&B, "c");
	CHECK_EQ(dec_connect(&c), -KMQ_R_BAD_CONNECT, "connect reserved bit");
	connect_hdr(&B, "MQTT", 4, 0x08, 0);
	putstr(&B, "c");
	CHECK_EQ(dec_connect(&c), -KMQ_R_BAD_CONNECT,
		 "connect will QoS without will flag");
	connect_hdr(&B, "MQTT", 4, 0x20, 0);
	putstr(&B, "c");
	CHECK_EQ(dec_connect(&c), -KMQ_R_BAD_CONNECT,
		 "connect will retain without will flag");
	connect_hdr(&B, "MQTT", 4, 0x18 | 0x04, 0);
	putstr(&B, "c");
	putstr(&B, "t");
	putstr(&B, "m");
	CHECK_EQ(dec_connect(&c), -KMQ_R_BAD_CONNECT, "connect will QoS 3");
	connect_hdr(&B, "MQTT", 4, 0x40, 0);
	putstr(&B, "c");
	putstr(&B, "p");
	CHECK_EQ(dec_connect(&c), -KMQ_R_BAD_CONNECT,
		 "connect password without user name");

	/* Fields present iff flags. */
	connect_hdr(&B, "MQTT", 4, 0x80, 0);
	putstr(&B, "c");
	CHECK_EQ(dec_connect(&c), -KMQ_R_BAD_LENGTH,
		 "connect user flag, no user name");
	connect_hdr(&B, "MQTT", 4, 0x00, 0);
	putstr(&B, "c");
	putstr(&B, "u");
	CHECK_EQ(dec_connect(&c), -KMQ_R_BAD_LENGTH,
		 "connect user name without flag (trailing)");
	connect_hdr(&B, "MQTT", 4, 0x04, 0);
	putstr(&B, "c");
	putstr(&B, "t");
	CHECK_EQ(dec_connect(&c), -KMQ_R_BAD_LENGTH,
		 "connect will flag, no will message");
	connect_hdr(&B, "MQTT", 4, 0x00, 0);
	CHECK_EQ(dec_connect(&c), -KMQ_R_BAD_LENGTH, "connect no client id");
	connect_hdr(&B, "MQTT", 4, 0x00, 0);
	put16(&B, 5);
	putraw(&B, "abc", 3);
	CHECK_EQ(dec_connect(&c), -KMQ_R_BAD_LENGTH,
		 "connect client id runs past end");

	/* UTF-8 and topic checks. */
	connect_hdr(&B, "MQTT", 4, 0x02, 0);
	putstrn(&B, "a\xc0\x80", 3);
	CHECK_EQ(dec_connect(&c), -KMQ_R_BAD_UTF8,
		 "connect client id overlong NUL");
	connect_hdr(&B, "MQTT", 4, 0x02, 0);
	putstrn(&B, "a\0", 2);
	CHECK_EQ(dec_connect(&c), -KMQ_R_BAD_UTF8, "connect client id U+0000");
	connect_hdr(&B, "MQTT", 4, 0x02, 0);
	putstr(&B, "\xef\xbb\xbf\xe2\x82\xac");
	CHECK_EQ(dec_connect(&c), 0, "connect client id BOM + euro ok");
	connect_hdr(&B, "MQTT", 4, 0x04, 0);
	putstr(&B, "c");
	putstr(&B, "\xed\xa0\x80");
	putstr(&B, "m");
	CHECK_EQ(dec_connect(&c), -KMQ_R_BAD_UTF8,
		 "connect will topic surrogate");
	connect_hdr(&B, "MQTT", 4, 0x04, 0);
	putstr(&B, "c");
	putstr(&B, "a/+");
	putstr(&B, "m");
	CHECK_EQ(dec_connect(&c), -KMQ_R_BAD_TOPIC, "connect will topic a/+");
	connect_hdr(&B, "MQTT", 4, 0x04, 0);
	putstr(&B, "c");
	putstr(&B, "#");
	putstr(&B, "m");
	CHECK_EQ(dec_connect(&c), -KMQ_R_BAD_TOPIC, "connect will topic #");
	connect_hdr(&B, "MQTT", 4, 0x04, 0);
	putstr(&B, "c");
	putstr(&B, "");
	putstr(&B, "m");
	CHECK_EQ(dec_connect(&c), -KMQ_R_BAD_TOPIC,
		 "connect empty will topic");
	connect_hdr(&B, "MQTT", 4, 0x04, 0);
	putstr(&B, "c");
	putstr(&B, "t");
	putstrn(&B, "\0\xff", 2);
	CHECK_EQ(dec_connect(&c), 0, "connect binary will message");
	connect_hdr(&B, "MQTT", 4, 0x80, 0);
	putstr(&B, "c");
	putstr(&B, "\xf4\x90\x80\x80");
	CHECK_EQ(dec_connect(&c), -KMQ_R_BAD_UTF8,
		 "connect user name above U+10FFFF");
}

/* ---- PUBLISH ----------------------------------------------------------- */

static void test_publish(void)
{
	struct kmq_publish p;
	int rc;

	b_reset(&B);
	putstr(&B, "a/b");
	putraw(&B, "hello", 5);
	rc = kmq_decode_publish(0x00, B.d, B.n, &p);
	CHECK(rc == 0 && p.qos == 0 && !p.dup && !p.retain && p.pid == 0 &&
	      p.topic.len == 3 && !memcmp(p.topic.p, "a/b", 3) &&
	      p.payload_len == 5 && !memcmp(p.payload, "hello", 5),
	      "publish QoS 0");
	rc = kmq_decode_publish(0x01, B.d, B.n, &p);
	CHECK(rc == 0 && p.retain, "publish QoS 0 retain");

	b_reset(&B);
	putstr(&B, "a");
	put16(&B, 0x1234);
	rc = kmq_decode_publish(0x02, B.d, B.n, &p);
	CHECK(rc == 0 && p.qos == 1 && p.pid == 0x1234 && p.payload_len == 0,
	      "publish QoS 1, empty payload");
	rc = kmq_decode_publish(0x0d, B.d, B.n, &p);
	CHECK(rc == 0 && p.qos == 2 && p.dup && p.retain && p.pid == 0x1234,
	      "publish QoS 2 dup retain");
	rc = kmq_decode_publish(0x0a, B.d, B.n, &p);
	CHECK(rc == 0 && p.qos == 1 && p.dup, "publish QoS 1 dup");
	rc = kmq_decode_publish(0x06, B.d, B.n, &p);
	CHECK_EQ(rc, -KMQ_R_BAD_QOS, "publish QoS 3");
	rc = kmq_decode_publish(0x0f, B.d, B.n, &p);
	CHECK_EQ(rc, -KMQ_R_BAD_QOS, "publish QoS 3 dup retain");

	b_reset(&B);
	putstr(&B, "a");
	rc = kmq_decode_publish(0x08, B.d, B.n, &p);
	CHECK_EQ(rc, -KMQ_R_BAD_FLAGS, "publish QoS 0 with DUP");
	rc = kmq_decode_publish(0x02, B.d, B.n, &p);
	CHECK_EQ(rc, -KMQ_R_BAD_LENGTH, "publish QoS 1 without packet id");
	put8(&B, 0);
	rc = kmq_decode_publish(0x02, B.d, B.n, &p);
	CHECK_EQ(rc, -KMQ_R_BAD_LENGTH, "publish QoS 1 half packet id");
	put8(&B, 0);
	rc = kmq_decode_publish(0x04, B.d, B.n, &p);
	CHECK_EQ(rc, -KMQ_R_BAD_PACKET_ID, "publish QoS 2 packet id 0");
	rc = kmq_decode_publish(0x00, B.d, B.n, &p);
	CHECK(rc == 0 && p.payload_len == 2,
	      "publish QoS 0: would-be pid bytes are payload");

	b_reset(&B);
	putstr(&B, "");
	CHECK_EQ(kmq_decode_publish(0, B.d, B.n, &p), -KMQ_R_BAD_TOPIC,
		 "publish empty topic");
	b_reset(&B);
	putstr(&B, "a/+/c");
	CHECK_EQ(kmq_decode_publish(0, B.d, B.n, &p), -KMQ_R_BAD_TOPIC,
		 "publish topic with +");
	b_reset(&B);
	putstr(&B, "a/#");
	CHECK_EQ(kmq_decode_publish(0, B.d, B.n, &p), -KMQ_R_BAD_TOPIC,
		 "publish topic with #");
	b_reset(&B);
	putstr(&B, "a\xe0\x80\xaf");
	CHECK_EQ(kmq_decode_publish(0, B.d, B.n, &p), -KMQ_R_BAD_UTF8,
		 "publish topic overlong");
	b_reset(&B);
	putstrn(&B, "a\0b", 3);
	CHECK_EQ(kmq_decode_publish(0, B.d, B.n, &p), -KMQ_R_BAD_UTF8,
		 "publish topic U+0000");
	b_reset(&B);
	put16(&B, 4);
	putraw(&B, "abc", 3);
	CHECK_EQ(kmq_decode_publish(0, B.d, B.n, &p), -KMQ_R_BAD_LENGTH,
		 "publish topic past end");
	CHECK_EQ(kmq_decode_publish(0, B.d, 1, &p), -KMQ_R_BAD_LENGTH,
		 "publish 1-byte body");
	CHECK_EQ(kmq_decode_publish(0, B.d, 0, &p), -KMQ_R_BAD_LENGTH,
		 "publish empty body");
	b_reset(&B);
	putstr(&B, "$SYS/x");
	CHECK_EQ(kmq_decode_publish(0, B.d, B.n, &p), 0,
		 "publish $ topic decodes (policy is the caller's)");
	b_reset(&B);
	putstr(&B, "/");
	CHECK_EQ(kmq_decode_publish(0, B.d, B.n, &p), 0, "publish topic /");
}

/* ---- acks -------------------------------------------------------------- */

static void test_ack(void)
{
	static const u8 types[] = { KMQ_PUBACK, KMQ_PUBREC, KMQ_PUBREL,
				    KMQ_PUBCOMP, KMQ_UNSUBACK };
	u8 b[4] = { 0x12, 0x34, 0, 0 };
	u16 pid;
	size_t i;

	for (i = 0; i < sizeof(types); i++) {
		pid = 0;
		CHECK(kmq_decode_ack(types[i], b, 2, &pid) == 0 &&
		      pid == 0x1234, "decode_ack type %u", types[i]);
		CHECK_EQ(kmq_decode_ack(types[i], b, 1, &pid),
			 -KMQ_R_BAD_LENGTH, "decode_ack type %u len 1",
			 types[i]);
		CHECK_EQ(kmq_decode_ack(types[i], b, 3, &pid),
			 -KMQ_R_BAD_LENGTH, "decode_ack type %u len 3",
			 types[i]);
		CHECK_EQ(kmq_decode_ack(types[i], b + 2, 2, &pid),
			 -KMQ_R_BAD_PACKET_ID, "decode_ack type %u pid 0",
			 types[i]);
	}
	CHECK_EQ(kmq_decode_ack(KMQ_PUBLISH, b, 2, &pid), -KMQ_R_BAD_TYPE,
		 "decode_ack rejects PUBLISH type");
	CHECK_EQ(kmq_decode_ack(KMQ_CONNACK, b, 2, &pid), -KMQ_R_BAD_TYPE,
		 "decode_ack rejects CONNACK type");
}

/* ---- SUBSCRIBE / UNSUBSCRIBE ------------------------------------------ */

static void test_subscribe(void)
{
	struct kmq_iter it;
	struct kmq_str f;
	u16 pid;
	u8 q;
	int rc, ok;

	b_reset(&B);
	put16(&B, 7);
	putstr(&B, "a/b");
	put8(&B, 0);
	putstr(&B, "c/#");
	put8(&B, 1);
	putstr(&B, "+");
	put8(&B, 2);
	putstr(&B, "a/#/b");	/* invalid filter: SUBACK 0x80, not error */
	put8(&B, 1);
	rc = kmq_decode_subscribe(B.d, B.n, &pid, &it);
	ok = rc == 0 && pid == 7;
	ok = ok && kmq_iter_next(&it, &f, &q) && f.len == 3 &&
	     !memcmp(f.p, "a/b", 3) && q == 0;
	ok = ok && kmq_iter_next(&it, &f, &q) && f.len == 3 &&
	     !memcmp(f.p, "c/#", 3) && q == 1;
	ok = ok && kmq_iter_next(&it, &f, &q) && f.len == 1 && q == 2;
	ok = ok && kmq_iter_next(&it, &f, &q) && f.len == 5 && q == 1 &&
	     !kmq_topic_filter_valid(f.p, f.len);
	ok = ok && !kmq_iter_next(&it, &f, &q) && !kmq_iter_next(&it, &f, &q);
	CHECK(ok, "subscribe 4 filters, iterate, invalid syntax passes");

	b_reset(&B);
	put16(&B, 1);
	putstr(&B, "a+");
	put8(&B, 0);
	CHECK_EQ(kmq_decode_subscribe(B.d, B.n, &pid, &it), 0,
		 "subscribe filter a+ is not a decode error");

	b_reset(&B);
	put16(&B, 0);
	putstr(&B, "a");
	put8(&B, 0);
	CHECK_EQ(kmq_decode_subscribe(B.d, B.n, &pid, &it),
		 -KMQ_R_BAD_PACKET_ID, "subscribe packet id 0");
	b_reset(&B);
	put16(&B, 9);
	CHECK_EQ(kmq_decode_subscribe(B.d, B.n, &pid, &it),
		 -KMQ_R_EMPTY_PAYLOAD, "subscribe without filters");
	CHECK_EQ(kmq_decode_subscribe(B.d, 1, &pid, &it), -KMQ_R_BAD_LENGTH,
		 "subscribe 1-byte body");
	CHECK_EQ(kmq_decode_subscribe(B.d, 0, &pid, &it), -KMQ_R_BAD_LENGTH,
		 "subscribe empty body");
	b_reset(&B);
	put16(&B, 9);
	putstr(&B, "");
	put8(&B, 0);
	CHECK_EQ(kmq_decode_subscribe(B.d, B.n, &pid, &it), -KMQ_R_BAD_FILTER,
		 "subscribe zero-length filter");
	b_reset(&B);
	put16(&B, 9);
	putstr(&B, "a");
	put8(&B, 3);
	CHECK_EQ(kmq_decode_subscribe(B.d, B.n, &pid, &it), -KMQ_R_BAD_QOS,
		 "subscribe QoS 3");
	b_reset(&B);
	put16(&B, 9);
	putstr(&B, "a");
	put8(&B, 0x40);
	CHECK_EQ(kmq_decode_subscribe(B.d, B.n, &pid, &it), -KMQ_R_BAD_QOS,
		 "subscribe reserved QoS bits");
	b_reset(&B);
	put16(&B, 9);
	putstr(&B, "a");
	put8(&B, 0x81);
	CHECK_EQ(kmq_decode_subscribe(B.d, B.n, &pid, &it), -KMQ_R_BAD_QOS,
		 "subscribe QoS byte 0x81");
	b_reset(&B);
	put16(&B, 9);
	putstr(&B, "a");
	put8(&B, 1);
	putstr(&B, "b");
	CHECK_EQ(kmq_decode_subscribe(B.d, B.n, &pid, &it), -KMQ_R_BAD_LENGTH,
		 "subscribe missing last QoS byte");
	b_reset(&B);
	put16(&B, 9);
	putstr(&B, "a");
	put8(&B, 1);
	put8(&B, 0);
	CHECK_EQ(kmq_decode_subscribe(B.d, B.n, &pid, &it), -KMQ_R_BAD_LENGTH,
		 "subscribe half a length field");
	b_reset(&B);
	put16(&B, 9);
	put16(&B, 10);
	putraw(&B, "abc", 3);
	CHECK_EQ(kmq_decode_subscribe(B.d, B.n, &pid, &it), -KMQ_R_BAD_LENGTH,
		 "subscribe filter past end");
	b_reset(&B);
	put16(&B, 9);
	putstr(&B, "a/\xed\xbf\xbf");
	put8(&B, 1);
	CHECK_EQ(kmq_decode_subscribe(B.d, B.n, &pid, &it), -KMQ_R_BAD_UTF8,
		 "subscribe filter surrogate");

	/* UNSUBSCRIBE */
	b_reset(&B);
	put16(&B, 0xffff);
	putstr(&B, "a/+/c");
	putstr(&B, "#");
	rc = kmq_decode_unsubscribe(B.d, B.n, &pid, &it);
	ok = rc == 0 && pid == 0xffff;
	ok = ok && kmq_iter_next(&it, &f, NULL) && f.len == 5;
	ok = ok && kmq_iter_next(&it, &f, NULL) && f.len == 1 && f.p[0] == '#';
	ok = ok && !kmq_iter_next(&it, &f, NULL);
	CHECK(ok, "unsubscribe 2 filters, iterate");
	b_reset(&B);
	put16(&B, 3);
	putstr(&B, "a/#/b");
	CHECK_EQ(kmq_decode_unsubscribe(B.d, B.n, &pid, &it),
		 -KMQ_R_BAD_FILTER, "unsubscribe a/#/b");
	b_reset(&B);
	put16(&B, 3);
	putstr(&B, "ok");
	putstr(&B, "a+");
	CHECK_EQ(kmq_decode_unsubscribe(B.d, B.n, &pid, &it),
		 -KMQ_R_BAD_FILTER, "unsubscribe a+ (second filter)");
	b_reset(&B);
	put16(&B, 3);
	putstr(&B, "");
	CHECK_EQ(kmq_decode_unsubscribe(B.d, B.n, &pid, &it),
		 -KMQ_R_BAD_FILTER, "unsubscribe zero-length filter");
	b_reset(&B);
	put16(&B, 3);
	CHECK_EQ(kmq_decode_unsubscribe(B.d, B.n, &pid, &it),
		 -KMQ_R_EMPTY_PAYLOAD, "unsubscribe without filters");
	b_reset(&B);
	put16(&B, 0);
	putstr(&B, "a");
	CHECK_EQ(kmq_decode_unsubscribe(B.d, B.n, &pid, &it),
		 -KMQ_R_BAD_PACKET_ID, "unsubscribe packet id 0");
	b_reset(&B);
	put16(&B, 3);
	putstr(&B, "\xc1\x81");
	CHECK_EQ(kmq_decode_unsubscribe(B.d, B.n, &pid, &it), -KMQ_R_BAD_UTF8,
		 "unsubscribe overlong filter");
	b_reset(&B);
	put16(&B, 3);
	putstr(&B, "a");
	put8(&B, 1);
	CHECK_EQ(kmq_decode_unsubscribe(B.d, B.n, &pid, &it),
		 -KMQ_R_BAD_LENGTH, "unsubscribe trailing byte");
	CHECK_EQ(kmq_decode_unsubscribe(B.d, 1, &pid, &it), -KMQ_R_BAD_LENGTH,
		 "unsubscribe 1-byte body");
}

/* ---- encoders ---------------------------------------------------------- */

static void test_encoders(void)
{
	u8 out[80], want[16];
	u8 types[] = { KMQ_PUBACK, KMQ_PUBREC, KMQ_PUBREL, KMQ_PUBCOMP,
		       KMQ_UNSUBACK };
	struct kmq_fixed fh;
	struct kmq_publish p;
	u32 n;
	size_t i;

	n = kmq_encode_connack(out, false, 0);
	CHECK(n == 4 && !memcmp(out, "\x20\x02\x00\x00", 4),
	      "connack accepted");
	n = kmq_encode_connack(out, true, 0);
	CHECK(n == 4 && !memcmp(out, "\x20\x02\x01\x00", 4),
	      "connack session present");
	n = kmq_encode_connack(out, true, KMQ_CONNACK_NOT_AUTHORIZED);
	CHECK(n == 4 && !memcmp(out, "\x20\x02\x00\x05", 4),
	      "connack refused clears session present");
	n = kmq_encode_connack(out, false, KMQ_CONNACK_BAD_PROTOCOL);
	CHECK(n == 4 && kmq_parse_fixed(out, n, &fh) == 0 &&
	      fh.type == KMQ_CONNACK && out[3] == 1, "connack 0x01 parses");

	for (i = 0; i < sizeof(types); i++) {
		u16 pid = 0;

		n = kmq_encode_ack(out, types[i], 0xbeef);
		CHECK(n == 4 && out[0] == (u8)((types[i] << 4) |
				(types[i] == KMQ_PUBREL ? 2 : 0)) &&
		      out[1] == 2 && out[2] == 0xbe && out[3] == 0xef &&
		      kmq_parse_fixed(out, n, &fh) == 0 &&
		      kmq_decode_ack(fh.type, out + 2, fh.remaining,
				     &pid) == 0 && pid == 0xbeef,
		      "encode_ack type %u round trip", types[i]);
	}

	n = kmq_encode_pingresp(out);
	CHECK(n == 2 && out[0] == 0xd0 && out[1] == 0, "pingresp");

	n = kmq_encode_suback_hdr(out, 0x0102, 1);
	hex(want, "90 03 01 02");
	CHECK(n == 4 && !memcmp(out, want, 4), "suback header n=1");
	n = kmq_encode_suback_hdr(out, 7, 126);
	CHECK(n == 5 && out[1] == 0x80 && out[2] == 0x01 && out[3] == 0 &&
	      out[4] == 7, "suback header n=126 (remaining 128)");
	n = kmq_encode_suback_hdr(out, 7, 125);
	CHECK(n == 4 && out[1] == 0x7f, "suback header n=125");
	n = kmq_encode_suback_hdr(out, 7, 32767);
	CHECK(n == 6 && kmq_parse_fixed(out, n, &fh) == 0 &&
	      fh.remaining == 32769 && fh.type == KMQ_SUBACK,
	      "suback header n=32767");

	/* PUBLISH header, QoS 0 round trip. */
	{
		u8 pkt[200];
		u32 hl;

		hl = kmq_encode_publish_hdr(pkt, 0, true, true, S("a/b"), 3,
					    99, 4);
		memcpy(pkt + hl, "data", 4);
		CHECK(hl == 7 && pkt[0] == 0x31 &&
		      kmq_parse_fixed(pkt, hl + 4, &fh) == 0 &&
		      fh.remaining == 9 &&
		      kmq_decode_publish(fh.flags, pkt + fh.hdr_len,
					 fh.remaining, &p) == 0 &&
		      p.qos == 0 && p.retain && !p.dup && p.payload_len == 4 &&
		      !memcmp(p.payload, "data", 4),
		      "publish_hdr QoS 0 round trip (DUP dropped)");
		hl = kmq_encode_publish_hdr(pkt, 2, true, false, S("t"), 1,
					    0xabcd, 0);
		CHECK(hl == 7 && pkt[0] == 0x3c &&
		      kmq_parse_fixed(pkt, hl, &fh) == 0 &&
		      kmq_decode_publish(fh.flags, pkt + fh.hdr_len,
					 fh.remaining, &p) == 0 &&
		      p.qos == 2 && p.dup && p.pid == 0xabcd &&
		      p.payload_len == 0 && p.topic.len == 1,
		      "publish_hdr QoS 2 dup round trip");
		hl = kmq_encode_publish_hdr(pkt, 1, false, false, S("t"), 1,
					    5, 268435455 - 5);
		CHECK(hl == 10 && kmq_parse_fixed(pkt, hl, &fh) == 0 &&
		      fh.remaining == 268435455,
		      "publish_hdr maximal remaining length");
		n = kmq_encode_publish_prefix(out, 1, false, true, 3, 10);
		CHECK(n == 4 && out[0] == 0x33 && out[1] == 17 &&
		      out[2] == 0 && out[3] == 3, "publish_prefix QoS 1");
		n = kmq_encode_publish_prefix(out, 0, false, false, 65535,
					      1000000);
		CHECK(n == 6 && kmq_parse_fixed(out, n, &fh) == 0 &&
		      fh.remaining == 1065537 && out[4] == 0xff &&
		      out[5] == 0xff, "publish_prefix 4-byte length");
	}
}

/* ---- topics ------------------------------------------------------------ */

static void test_topic_valid(void)
{
	static const struct {
		const char *s;
		bool name, filter;
	} t[] = {
		{ "a", true, true },
		{ "a/b/c", true, true },
		{ "/", true, true },
		{ "//", true, true },
		{ "/a", true, true },
		{ "a/", true, true },
		{ " ", true, true },
		{ "Accounts payable", true, true },
		{ "$SYS/x", true, true },
		{ "#", false, true },
		{ "+", false, true },
		{ "+/+", false, true },
		{ "/+", false, true },
		{ "+/", false, true },
		{ "sport/tennis/#", false, true },
		{ "sport/+/player1", false, true },
		{ "+/tennis/#", false, true },
		{ "/#", false, true },
		{ "+/#", false, true },
		{ "sport/tennis#", false, false },
		{ "sport/tennis/#/ranking", false, false },
		{ "sport+", false, false },
		{ "a/b+/c", false, false },
		{ "a/++", false, false },
		{ "##", false, false },
		{ "#/", false, false },
		{ "a/#/", false, false },
		{ "#/a", false, false },
		{ "a#", false, false },
		{ "+a", false, false },
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		u32 n = (u32)strlen(t[i].s);

		CHECK(kmq_topic_name_valid(S(t[i].s), n) == t[i].name &&
		      kmq_topic_filter_valid(S(t[i].s), n) == t[i].filter,
		      "topic \"%s\": name %d filter %d", t[i].s, t[i].name,
		      t[i].filter);
	}
	CHECK(!kmq_topic_name_valid(S(""), 0) &&
	      !kmq_topic_filter_valid(S(""), 0), "empty name/filter invalid");
	CHECK(kmq_topic_levels(S("a"), 1) == 1 &&
	      kmq_topic_levels(S("/"), 1) == 2 &&
	      kmq_topic_levels(S("a/b/c"), 5) == 3 &&
	      kmq_topic_levels(S("//"), 2) == 3 &&
	      kmq_topic_levels(S(""), 0) == 1, "topic_levels");
}

static const struct {
	const char *f, *t;
	bool m;
} match_cases[] = {
	/* 4.7.1.2 */
	{ "sport/tennis/player1/#", "sport/tennis/player1", true },
	{ "sport/tennis/player1/#", "sport/tennis/player1/ranking", true },
	{ "sport/tennis/player1/#", "sport/tennis/player1/score/wimbledon",
	  true },
	{ "sport/tennis/player1/#", "sport/tennis/player2", false },
	{ "sport/tennis/player1/#", "sport/tennis", false },
	{ "sport/#", "sport", true },
	{ "sport/#", "sports", false },
	{ "sport/#", "sport/", true },
	{ "#", "sport", true },
	{ "#", "/", true },
	{ "#", "a/b/c/d", true },
	/* 4.7.1.3 */
	{ "sport/tennis/+", "sport/tennis/player1", true },
	{ "sport/tennis/+", "sport/tennis/player2", true },
	{ "sport/tennis/+", "sport/tennis/player1/ranking", false },
	{ "sport/tennis/+", "sport/tennis", false },
	{ "sport/+", "sport", false },
	{ "sport/+", "sport/", true },
	{ "+/+", "/finance", true },
	{ "/+", "/finance", true },
	{ "+", "/finance", false },
	{ "+", "finance", true },
	{ "+/tennis/#", "sport/tennis/player1", true },
	{ "+/tennis/#", "sport/tennis", true },
	{ "+/tennis/#", "sport/golf", false },
	{ "sport/+/player1", "sport/tennis/player1", true },
	{ "sport/+/player1", "sport/tennis/player2", false },
	{ "sport/+/player1", "sport//player1", true },
	{ "a/+", "a/", true },
	{ "+/+", "/", true },
	{ "+", "/", false },
	{ "+/", "a/", true },
	{ "+/", "a", false },
	{ "/#", "/", true },
	{ "/#", "/a/b", true },
	{ "/#", "a", false },
	{ "+/#", "a", true },
	{ "+/#", "/", true },
	{ "+/+/+", "a/b", false },
	{ "a/b", "a/b", true },
	{ "a/b", "a/b/", false },
	{ "a/b/", "a/b", false },
	{ "a/b", "a/bc", false },
	{ "a/bc", "a/b", false },
	/* 4.7.2: $ topics */
	{ "#", "$SYS/monitor/Clients", false },
	{ "+/monitor/Clients", "$SYS/monitor/Clients", false },
	{ "$SYS/#", "$SYS/monitor/Clients", true },
	{ "$SYS/monitor/+", "$SYS/monitor/Clients", true },
	{ "$SYS/#", "$SYS", true },
	{ "+", "$SYS", false },
	{ "#", "$", false },
	{ "a/#", "a/$b", true },
	{ "a/+", "a/$b", true },
	{ "+/$b", "a/$b", true },
	{ "$+", "$+", true },
	/* 4.7.3: case and spaces */
	{ "ACCOUNTS", "Accounts", false },
	{ "Accounts payable", "Accounts payable", true },
	{ "Accounts", "Accounts payable", false },
	{ "\xc3\xa9t\xc3\xa9/+", "\xc3\xa9t\xc3\xa9/x", true },
};

static void test_topic_match(void)
{
	size_t i;

	for (i = 0; i < sizeof(match_cases) / sizeof(match_cases[0]); i++) {
		const char *f = match_cases[i].f, *t = match_cases[i].t;

		CHECK(kmq_topic_match(S(f), (u32)strlen(f), S(t),
				      (u32)strlen(t)) == match_cases[i].m,
		      "match \"%s\" %s \"%s\"", f,
		      match_cases[i].m ? "~" : "!~", t);
	}
}

/* ---- trie -------------------------------------------------------------- */

struct visits {
	u32 n;
	u64 owner_sum;
	u32 qos_sum;
	u32 per_owner[64];
};

static void visit_fn(void *ctx, void *owner, u8 qos)
{
	struct visits *v = ctx;
	uintptr_t o = (uintptr_t)owner;

	v->n++;
	v->owner_sum += o;
	v->qos_sum += qos;
	if (o < 64)
		v->per_owner[o]++;
}

#define OW(x) ((void *)(uintptr_t)(x))

static int tadd(struct kmq_trie *t, const char *f, uintptr_t o, u8 q)
{
	return kmq_trie_add(t, S(f), (u32)strlen(f), OW(o), q);
}

static int tdel(struct kmq_trie *t, const char *f, uintptr_t o)
{
	return kmq_trie_del(t, S(f), (u32)strlen(f), OW(o));
}

static u32 tmatch(struct kmq_trie *t, const char *topic, struct visits *v)
{
	memset(v, 0, sizeof(*v));
	return kmq_trie_match(t, S(topic), (u32)strlen(topic), visit_fn, v);
}

static bool stats_are(struct kmq_trie *t, u64 nodes, u64 subs)
{
	struct kmq_trie_stats st;

	kmq_trie_get_stats(t, &st);
	if (st.nodes != nodes || st.subs != subs)
		printf("# stats nodes %llu subs %llu\n", st.nodes, st.subs);
	return st.nodes == nodes && st.subs == subs;
}

static void test_trie_basic(void)
{
	struct kmq_trie *t = kmq_trie_new();
	struct visits v;
	size_t i;
	int ok;

	CHECK(t && stats_are(t, 0, 0), "trie_new empty");
	CHECK_EQ(tmatch(t, "a", &v), 0, "empty trie matches nothing");

	CHECK_EQ(tadd(t, "a/b/c", 1, 1), 1, "add a/b/c owner 1");
	CHECK(stats_are(t, 3, 1), "stats 3 nodes 1 sub");
	CHECK_EQ(tadd(t, "a/b/c", 1, 2), 0, "re-add same owner updates");
	CHECK(stats_are(t, 3, 1), "stats unchanged after update");
	CHECK(tmatch(t, "a/b/c", &v) == 1 && v.qos_sum == 2,
	      "match sees updated QoS");
	CHECK_EQ(tadd(t, "a/b/c", 2, 0), 1, "add a/b/c owner 2");
	CHECK_EQ(tadd(t, "a/+/c", 1, 1), 1, "add a/+/c owner 1 (overlap)");
	CHECK_EQ(tadd(t, "a/#", 3, 0), 1, "add a/# owner 3");
	CHECK_EQ(tadd(t, "#", 4, 0), 1, "add # owner 4");
	CHECK_EQ(tadd(t, "+/+/+", 5, 0), 1, "add +/+/+ owner 5");
	CHECK_EQ(tadd(t, "a/b", 6, 0), 1, "add a/b owner 6");
	CHECK(stats_are(t, 10, 7), "stats 10 nodes 7 subs");

	CHECK(tmatch(t, "a/b/c", &v) == 6 && v.per_owner[1] == 2 &&
	      v.per_owner[2] == 1 && v.per_owner[3] == 1 &&
	      v.per_owner[4] == 1 && v.per_owner[5] == 1 &&
	      v.per_owner[6] == 0,
	      "a/b/c: owner 1 twice (a/b/c, a/+/c), 2, 3, 4, 5");
	CHECK(tmatch(t, "a/b", &v) == 3 && v.per_owner[6] == 1 &&
	      v.per_owner[3] == 1 && v.per_owner[4] == 1, "a/b: 6, 3, 4");
	CHECK(tmatch(t, "a", &v) == 2 && v.per_owner[3] == 1 &&
	      v.per_owner[4] == 1, "a: a/# and #");
	CHECK(tmatch(t, "x/y/z", &v) == 2 && v.per_owner[4] == 1 &&
	      v.per_owner[5] == 1, "x/y/z: # and +/+/+");
	CHECK(tmatch(t, "$SYS/y/z", &v) == 0, "$SYS/y/z: no wildcard match");
	CHECK_EQ(kmq_trie_match(t, S("a/b/c"), 5, NULL, NULL), 6,
		 "match with NULL fn counts");

	CHECK_EQ(tdel(t, "a/b/c", 9), 0, "del unknown owner -> 0");
	CHECK_EQ(tdel(t, "a/b/x", 1), 0, "del unknown filter -> 0");
	CHECK_EQ(tdel(t, "a/b/c/d", 1), 0, "del longer filter -> 0");
	CHECK_EQ(tdel(t, "a/+", 1), 0, "del prefix of existing -> 0");
	CHECK(stats_are(t, 10, 7), "stats unchanged after failed dels");
	CHECK_EQ(tdel(t, "a/b/c", 1), 1, "del a/b/c owner 1");
	CHECK_EQ(tdel(t, "a/b/c", 1), 0, "del again -> 0");
	CHECK(tmatch(t, "a/b/c", &v) == 5 && v.per_owner[1] == 1,
	      "a/b/c after del: owner 1 once");
	CHECK_EQ(tdel(t, "a/b/c", 2), 1, "del a/b/c owner 2");
	CHECK(stats_are(t, 9, 5), "a/b/c node pruned, a/b kept");
	CHECK_EQ(tdel(t, "a/b", 6), 1, "del a/b");
	CHECK(stats_are(t, 8, 4), "a/b pruned");
	ok = tdel(t, "a/+/c", 1) == 1 && tdel(t, "a/#", 3) == 1 &&
	     tdel(t, "#", 4) == 1 && tdel(t, "+/+/+", 5) == 1;
	CHECK(ok, "del the rest");
	CHECK(stats_are(t, 0, 0), "counters back to zero");
	CHECK_EQ(tmatch(t, "a/b/c", &v), 0, "empty again");

	/* Filters with empty levels and $ topics. */
	{
		static const char *const fl[] = {
			"/", "//", "/+", "+/", "+/+", "/#", "$SYS/#",
			"$SYS/+", "$SYS", "+", "#", "$SYS/a/#", "+/a",
		};

		for (i = 0; i < sizeof(fl) / sizeof(fl[0]); i++)
			tadd(t, fl[i], i, 0);
		CHECK(tmatch(t, "/", &v) == 6 && v.per_owner[0] &&
		      v.per_owner[2] && v.per_owner[3] && v.per_owner[4] &&
		      v.per_owner[5] && v.per_owner[10],
		      "\"/\" matches /, /+, +/, +/+, /#, #");
		CHECK(tmatch(t, "$SYS/a", &v) == 3 && v.per_owner[6] &&
		      v.per_owner[7] && v.per_owner[11],
		      "$SYS/a matches $SYS/#, $SYS/+, $SYS/a/#");
		CHECK(tmatch(t, "$SYS", &v) == 2 && v.per_owner[6] &&
		      v.per_owner[8], "$SYS matches $SYS, $SYS/#");
		CHECK(tmatch(t, "x/a", &v) == 3 && v.per_owner[4] &&
		      v.per_owner[10] && v.per_owner[12],
		      "x/a matches +/+, #, +/a");
		for (i = 0; i < sizeof(fl) / sizeof(fl[0]); i++)
			tdel(t, fl[i], i);
		CHECK(stats_are(t, 0, 0), "counters zero after $ tests");
	}
	kmq_trie_free(t);
}

/* Cross-check kmq_trie_match against kmq_topic_match over all filters. */
static void test_trie_oracle(void)
{
	static const char *const parts[] = { "a", "b", "", "+", "#", "$x" };
	static char filters[600][16];
	static char topics[300][16];
	static bool deleted[600];
	struct kmq_trie *t = kmq_trie_new();
	u32 nf = 0, nt = 0, i, j, bad = 0;
	unsigned int seed = 12345;

	/* all filters of up to 3 levels from parts, keep valid ones */
	for (i = 0; i < 6 * 6 * 6 + 6 * 6 + 6; i++) {
		char buf[16];
		u32 x = i, lv, k;

		buf[0] = 0;
		lv = i < 6 ? 1 : i < 42 ? 2 : 3;
		x = i < 6 ? i : i < 42 ? i - 6 : i - 42;
		for (k = 0; k < lv; k++) {
			if (k)
				strcat(buf, "/");
			strcat(buf, parts[x % 6]);
			x /= 6;
		}
		if (kmq_topic_filter_valid(S(buf), (u32)strlen(buf)))
			strcpy(filters[nf++], buf);
		if (kmq_topic_name_valid(S(buf), (u32)strlen(buf)))
			strcpy(topics[nt++], buf);
	}
	for (i = 0; i < nf; i++)
		if (tadd(t, filters[i], i, (u8)(i % 3)) != 1)
			bad++;
	/* a second owner on every third filter */
	for (i = 0; i < nf; i += 3)
		if (tadd(t, filters[i], 1000 + i, 0) != 1)
			bad++;
	CHECK(!bad, "oracle: added %u filters", nf);

	bad = 0;
	for (j = 0; j < nt; j++) {
		u32 want = 0, got;

		for (i = 0; i < nf; i++)
			if (kmq_topic_match(S(filters[i]),
					    (u32)strlen(filters[i]),
					    S(topics[j]),
					    (u32)strlen(topics[j])))
				want += (i % 3 == 0) ? 2 : 1;
		got = kmq_trie_match(t, S(topics[j]), (u32)strlen(topics[j]),
				     NULL, NULL);
		if (got != want) {
			printf("# topic \"%s\": trie %u, oracle %u\n",
			       topics[j], got, want);
			bad++;
		}
	}
	CHECK(!bad, "oracle: %u topics x %u filters agree", nt, nf);

	/* delete in pseudo-random order, re-checking a few topics */
	bad = 0;
	for (i = 0; i < nf; i++) {
		u32 k;

		seed = seed * 1103515245u + 12345u;
		k = (seed >> 8) % nf;
		while (deleted[k])
			k = (k + 1) % nf;
		if (tdel(t, filters[k], k) != 1)
			bad++;
		if (k % 3 == 0 && tdel(t, filters[k], 1000 + k) != 1)
			bad++;
		deleted[k] = true;
	}
	CHECK(!bad, "oracle: all deleted");
	CHECK(stats_are(t, 0, 0), "oracle: counters zero");
	kmq_trie_free(t);
}

static void test_trie_big(void)
{
	struct kmq_trie *t = kmq_trie_new();
	static char buf[70000];
	struct visits v;
	u32 i, bad = 0, n;

	/* 10,000 siblings. */
	for (i = 0; i < 10000; i++) {
		n = (u32)snprintf(buf, sizeof(buf), "s/%u", i);
		if (kmq_trie_add(t, S(buf), n, OW(i), 1) != 1)
			bad++;
	}
	CHECK(!bad && stats_are(t, 10001, 10000), "10,000 siblings added");
	bad = 0;
	for (i = 0; i < 10000; i++) {
		n = (u32)snprintf(buf, sizeof(buf), "s/%u", i);
		memset(&v, 0, sizeof(v));
		if (kmq_trie_match(t, S(buf), n, visit_fn, &v) != 1 ||
		    v.owner_sum != i)
			bad++;
	}
	CHECK(!bad, "10,000 siblings each match exactly their owner");
	CHECK_EQ(tmatch(t, "s/10000", &v), 0, "s/10000 matches nothing");
	CHECK_EQ(tadd(t, "s/+", 77777, 0), 1, "add s/+ beside siblings");
	CHECK_EQ(tmatch(t, "s/5", &v), 2, "s/5 matches s/5 and s/+");
	CHECK_EQ(tdel(t, "s/+", 77777), 1, "del s/+");
	bad = 0;
	for (i = 0; i < 10000; i++) {
		n = (u32)snprintf(buf, sizeof(buf), "s/%u", i);
		if (kmq_trie_del(t, S(buf), n, OW(i)) != 1)
			bad++;
	}
	CHECK(!bad && stats_are(t, 0, 0), "10,000 siblings deleted");

	/* 10,000 owners on one filter. */
	bad = 0;
	for (i = 0; i < 10000; i++)
		if (tadd(t, "one/filter", i + 1, 0) != 1)
			bad++;
	CHECK(!bad && stats_are(t, 2, 10000) &&
	      tmatch(t, "one/filter", &v) == 10000,
	      "10,000 owners on one filter");
	for (i = 0; i < 10000; i++)
		if (tdel(t, "one/filter", i + 1) != 1)
			bad++;
	CHECK(!bad && stats_are(t, 0, 0), "10,000 owners removed");

	/* A 10,000-level topic and filters. */
	memset(buf, 0, sizeof(buf));
	for (i = 0; i < 10000; i++) {
		buf[2 * i] = 'x';
		buf[2 * i + 1] = '/';
	}
	n = 2 * 10000 - 1;	/* "x/x/.../x" */
	buf[n] = 0;
	CHECK_EQ(kmq_topic_levels(S(buf), n), 10000, "10,000 levels");
	CHECK(kmq_topic_name_valid(S(buf), n) &&
	      kmq_topic_filter_valid(S(buf), n), "deep topic valid");
	CHECK_EQ(kmq_trie_add(t, S(buf), n, OW(1), 0), 1,
		 "add 10,000-level filter");
	CHECK(stats_are(t, 10000, 1), "10,000 nodes");
	CHECK(tadd(t, "#", 2, 0) == 1 && tadd(t, "x/#", 3, 0) == 1 &&
	      tadd(t, "x/+/x/#", 4, 0) == 1, "add # x/# x/+/x/#");
	CHECK(tmatch(t, buf, &v) == 4 && v.per_owner[1] && v.per_owner[2] &&
	      v.per_owner[3] && v.per_owner[4], "deep topic matches 4");
	CHECK(kmq_topic_match(S(buf), n, S(buf), n),
	      "topic_match deep filter on deep topic");
	/* all-'+' deep filter: every level a '+' */
	{
		static char pf[70000];

		for (i = 0; i < 10000; i++) {
			pf[2 * i] = '+';
			pf[2 * i + 1] = '/';
		}
		pf[n] = 0;
		CHECK_EQ(kmq_trie_add(t, S(pf), n, OW(5), 0), 1,
			 "add 10,000-level +/+/... filter");
		CHECK(tmatch(t, buf, &v) == 5 && v.per_owner[5],
		      "deep topic matches the all-+ filter too");
		CHECK(kmq_topic_match(S(pf), n, S(buf), n),
		      "topic_match all-+ deep");
		buf[n - 1] = 'y';
		CHECK(tmatch(t, buf, &v) == 4 && !v.per_owner[1] &&
		      v.per_owner[5], "deep topic, last level differs");
		buf[n - 1] = 'x';
		CHECK_EQ(kmq_trie_del(t, S(pf), n, OW(5)), 1,
			 "del all-+ filter");
	}
	/* a shorter-by-one topic: 9,999 levels */
	CHECK(kmq_trie_match(t, S(buf), n - 2, NULL, NULL) == 3,
	      "9,999-level topic matches #, x/#, x/+/x/#");
	CHECK_EQ(kmq_trie_del(t, S(buf), n, OW(1)), 1,
		 "del 10,000-level filter");
	CHECK(tdel(t, "#", 2) == 1 && tdel(t, "x/#", 3) == 1 &&
	      tdel(t, "x/+/x/#", 4) == 1, "del the wildcards");
	CHECK(stats_are(t, 0, 0), "deep: counters zero");

	/* Many '+' alternatives: 2 branches per level, 16 levels. */
	{
		u32 lv;
		char f[64];

		bad = 0;
		for (i = 0; i < (1u << 12); i++) {
			f[0] = 0;
			for (lv = 0; lv < 12; lv++) {
				strcat(f, (i >> lv) & 1 ? "+" : "q");
				if (lv < 11)
					strcat(f, "/");
			}
			if (tadd(t, f, i, 0) != 1)
				bad++;
		}
		CHECK(!bad, "4096 filters of q/+ mixes");
		CHECK_EQ(tmatch(t, "q/q/q/q/q/q/q/q/q/q/q/q", &v), 4096,
			 "q/q/... matches all 4096");
		CHECK_EQ(tmatch(t, "z/q/q/q/q/q/q/q/q/q/q/q", &v), 2048,
			 "z/q/... matches 2048");
		CHECK_EQ(tmatch(t, "q/q/q/q/q/q/q/q/q/q/q", &v), 0,
			 "11 levels match none");
		for (i = 0; i < (1u << 12); i++) {
			f[0] = 0;
			for (lv = 0; lv < 12; lv++) {
				strcat(f, (i >> lv) & 1 ? "+" : "q");
				if (lv < 11)
					strcat(f, "/");
			}
			if (tdel(t, f, i) != 1)
				bad++;
		}
		CHECK(!bad && stats_are(t, 0, 0), "q/+ mixes deleted");
	}
	kmq_trie_free(t);
}

/* Allocation failure at every possible point leaves the trie unchanged. */
static void test_trie_nomem(void)
{
	struct kmq_trie *t;
	long k;
	int ok = 1, rc;

	for (k = 0; k < 5; k++) {
		alloc_countdown = k;
		t = kmq_trie_new();
		alloc_countdown = -1;
		if (t) {
			kmq_trie_free(t);
			break;
		}
	}
	CHECK(k >= 1 && k < 5, "trie_new fails cleanly on each of %ld allocs",
	      k);

	t = kmq_trie_new();
	tadd(t, "a/b", 1, 0);
	for (k = 0; k < 20; k++) {
		struct visits v;

		alloc_countdown = k;
		rc = tadd(t, "a/b/c/d/e", 2, 1);
		alloc_countdown = -1;
		if (rc == 1)
			break;
		if (rc != -1 || !stats_are(t, 2, 1) ||
		    tmatch(t, "a/b", &v) != 1)
			ok = 0;
	}
	CHECK(ok && k == 4, "add fails cleanly at each of %ld allocations",
	      k);
	CHECK(stats_are(t, 5, 2), "add succeeded afterwards");

	/* Hash-table growth failing is harmless. */
	{
		char f[32];
		u32 i, bad = 0;

		tadd(t, "g/base", 1, 0);
		for (i = 0; i < 200; i++) {
			snprintf(f, sizeof(f), "g/%u", i);
			alloc_countdown = 2;	/* sub, node ok; growth fails */
			rc = tadd(t, f, 1, 0);
			alloc_countdown = -1;
			if (rc != 1)
				bad++;
		}
		for (i = 0; i < 200; i++) {
			snprintf(f, sizeof(f), "g/%u", i);
			if (kmq_trie_match(t, S(f), (u32)strlen(f), NULL,
					   NULL) != 1)
				bad++;
		}
		CHECK(!bad && stats_are(t, 207, 203),
		      "failing table growth: adds succeed and match");
		alloc_calls = 0;
		for (i = 0; i < 200; i++) {
			snprintf(f, sizeof(f), "g/%u", i);
			if (tdel(t, f, 1) != 1)
				bad++;
		}
		CHECK(!bad && alloc_calls == 0, "trie_del never allocates");
		CHECK(tdel(t, "g/base", 1) == 1 && stats_are(t, 5, 2),
		      "deletes done");
	}
	CHECK(tdel(t, "a/b/c/d/e", 2) == 1 && tdel(t, "a/b", 1) == 1 &&
	      stats_are(t, 0, 0), "nomem: counters zero");
	kmq_trie_free(t);

	/* kmq_trie_free copes with a non-empty trie (no leak under ASan). */
	t = kmq_trie_new();
	tadd(t, "x/y", 1, 0);
	tadd(t, "x/#", 2, 0);
	tadd(t, "+", 3, 0);
	kmq_trie_free(t);
	kmq_trie_free(NULL);
	CHECK(1, "trie_free on non-empty trie and NULL");
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	test_fixed();
	test_encode_length();
	test_utf8();
	test_connect();
	test_publish();
	test_ack();
	test_subscribe();
	test_encoders();
	test_topic_valid();
	test_topic_match();
	test_trie_basic();
	test_trie_oracle();
	test_trie_big();
	test_trie_nomem();
	test_qos();
	test_acl();
	printf("1..%d\n", n_tests);
	if (n_fail)
		printf("# %d of %d tests failed\n", n_fail, n_tests);
	return n_fail ? 1 : 0;
}
