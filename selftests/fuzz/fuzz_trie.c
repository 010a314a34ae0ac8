// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz_trie.c - libFuzzer target for kmod/core/trie.c.
 *
 * The input is a program of add/del/match operations on one trie, run
 * against a simple model (an array of live subscriptions matched with
 * kmq_topic_match()).  Some adds run with an allocation failure injected
 * at a chosen point and must then either succeed or leave the trie
 * unchanged.  At the end everything is deleted and the counters must be
 * zero.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kmq_shim.h"
#include "topic.h"
#include "trie.h"

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

/* ---- input reader ----------------------------------------------------- */

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

/* ---- model ------------------------------------------------------------ */

#define MAX_SUBS	256
#define MAX_STR		64
#define MAX_LEVELS	8

struct msub {
	char f[MAX_STR];
	u32 flen;
	uintptr_t owner;
	u8 qos;
};

static struct msub model[MAX_SUBS];
static u32 nmodel;

static int model_find(const char *f, u32 flen, uintptr_t owner)
{
	u32 i;

	for (i = 0; i < nmodel; i++)
		if (model[i].owner == owner && model[i].flen == flen &&
		    !memcmp(model[i].f, f, flen))
			return (int)i;
	return -1;
}

/* Number of distinct prefixes (ending at a level end) of live filters. */
static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static u64 model_nodes(void)
{
	static char buf[MAX_SUBS * MAX_LEVELS][MAX_STR];
	static char *ptr[MAX_SUBS * MAX_LEVELS];
	u32 i, k, n = 0;
	u64 distinct = 0;

	for (i = 0; i < nmodel; i++) {
		for (k = 0; k <= model[i].flen; k++) {
			if (k == model[i].flen || model[i].f[k] == '/') {
				memcpy(buf[n], model[i].f, k);
				buf[n][k] = 0;
				ptr[n] = buf[n];
				n++;
			}
		}
	}
	qsort(ptr, n, sizeof(ptr[0]), cmp_str);
	for (i = 0; i < n; i++)
		if (!i || strcmp(ptr[i], ptr[i - 1]))
			distinct++;
	return distinct;
}

/* ---- generators ------------------------------------------------------- */

static u32 gen_level(struct in *in, char *out, bool filter)
{
	static const char *const tok[] = {
		"a", "b", "c", "", "aa", "$", "$s", "+", "#",
	};
	u8 b = next(in);

	if (b & 0x80)	/* many siblings */
		return (u32)sprintf(out, "n%u", b & 0x7f);
	b %= filter ? 9 : 7;
	strcpy(out, tok[b]);
	return (u32)strlen(tok[b]);
}

/* A valid filter (or topic name when !filter) of 1..8 levels. */
static u32 gen(struct in *in, char *out, bool filter)
{
	u32 nl = 1 + next(in) % MAX_LEVELS, i, n = 0;
	char lv[16];

	for (i = 0; i < nl; i++) {
		u32 l = gen_level(in, lv, filter);

		if (!strcmp(lv, "#") && i != nl - 1) {
			strcpy(lv, "+");
			l = 1;
		}
		if (i)
			out[n++] = '/';
		memcpy(out + n, lv, l);
		n += l;
	}
	if (!n)		/* neither a topic name nor a filter may be empty */
		out[n++] = 'e';
	out[n] = 0;
	return n;
}

/* ---- checks ----------------------------------------------------------- */

struct seen {
	u32 n;
	u64 owner_sum;
	u32 qos_sum;
};

static void cb(void *ctx, void *owner, u8 qos)
{
	struct seen *s = ctx;

	s->n++;
	s->owner_sum += (uintptr_t)owner;
	s->qos_sum += qos;
}

/* The node count is costly to model: @full says whether to check it. */
static void check_stats(struct kmq_trie *t, bool full)
{
	struct kmq_trie_stats st;

	kmq_trie_get_stats(t, &st);
	ASSERT(st.subs == nmodel);
	if (full)
		ASSERT(st.nodes == model_nodes());
}

static void check_match(struct kmq_trie *t, const char *topic, u32 tlen)
{
	struct seen got = { 0 }, want = { 0 };
	u32 i, r;

	ASSERT(kmq_topic_name_valid((const u8 *)topic, tlen));
	for (i = 0; i < nmodel; i++) {
		if (kmq_topic_match((const u8 *)model[i].f, model[i].flen,
				    (const u8 *)topic, tlen)) {
			want.n++;
			want.owner_sum += model[i].owner;
			want.qos_sum += model[i].qos;
		}
	}
	r = kmq_trie_match(t, (const u8 *)topic, tlen, cb, &got);
	ASSERT(r == got.n);
	ASSERT(got.n == want.n);
	ASSERT(got.owner_sum == want.owner_sum);
	ASSERT(got.qos_sum == want.qos_sum);
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	struct in in = { data, size };
	struct kmq_trie *t;
	char f[MAX_STR];
	u32 n, ops = 0;

	nmodel = 0;
	fail_at = -1;
	t = kmq_trie_new();
	ASSERT(t);

	while (in.left && ops++ < 2000) {
		u8 op = next(&in);
		uintptr_t owner = 1 + (next(&in) & 7);
		bool full = nmodel < 16;
		int rc, i;

		switch (op & 7) {
		case 0:
		case 1:
		case 2:		/* add, op 2 with allocation failure */
			n = gen(&in, f, true);
			ASSERT(kmq_topic_filter_valid((const u8 *)f, n));
			i = model_find(f, n, owner);
			if (i < 0 && nmodel == MAX_SUBS)
				break;
			if ((op & 7) == 2)
				fail_at = op >> 3;
			rc = kmq_trie_add(t, (const u8 *)f, n, (void *)owner,
					  op % 3);
			fail_at = -1;
			if (rc == -1) {
				ASSERT((op & 7) == 2);
				full = true;
			} else if (i >= 0) {
				ASSERT(rc == 0);
				model[i].qos = op % 3;
			} else {
				ASSERT(rc == 1);
				memcpy(model[nmodel].f, f, n);
				model[nmodel].flen = n;
				model[nmodel].owner = owner;
				model[nmodel].qos = op % 3;
				nmodel++;
			}
			break;
		case 3:		/* delete a live one */
			if (!nmodel)
				break;
			i = (int)(next(&in) % nmodel);
			fail_at = 0;	/* del must not allocate */
			rc = kmq_trie_del(t, (const u8 *)model[i].f,
					  model[i].flen,
					  (void *)model[i].owner);
			ASSERT(fail_at == 0);
			fail_at = -1;
			ASSERT(rc == 1);
			model[i] = model[--nmodel];
			break;
		case 4:		/* delete anything */
			n = gen(&in, f, true);
			i = model_find(f, n, owner);
			rc = kmq_trie_del(t, (const u8 *)f, n, (void *)owner);
			ASSERT(rc == (i >= 0));
			if (i >= 0)
				model[i] = model[--nmodel];
			break;
		default:	/* match */
			n = gen(&in, f, false);
			check_match(t, f, n);
			full = false;
			break;
		}
		check_stats(t, full);
	}
	check_stats(t, true);

	while (nmodel) {
		nmodel--;
		ASSERT(kmq_trie_del(t, (const u8 *)model[nmodel].f,
				    model[nmodel].flen,
				    (void *)model[nmodel].owner) == 1);
	}
	check_stats(t, true);
	{
		struct kmq_trie_stats st;

		kmq_trie_get_stats(t, &st);
		ASSERT(st.nodes == 0 && st.subs == 0);
	}
	kmq_trie_free(t);
	return 0;
}
