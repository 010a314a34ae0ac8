// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz_acl.c - libFuzzer target for kmod/core/acl.c.
 *
 * The input is split at NUL bytes into a pattern, a topic or filter, a
 * user name and a client id.  Beyond "no crash", it checks invariants
 * that tie the three comparisons together and to kmq_topic_match():
 *
 *   - without substitution, a rule matches a topic name exactly when
 *     kmq_topic_match() says so;
 *   - for a topic name t (a filter without wildcards): covers(p, t) and
 *     overlap(p, t) both equal match(p, t);
 *   - covers(a, b) implies overlap(a, b); overlap is symmetric;
 *   - a pattern covers itself;
 *   - substituting a user name that is a literal level equals matching
 *     the pattern with that level written out (checked for "%u" alone);
 *   - any password-hash string that parses formats back to a string
 *     that parses to the same fields.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kmq_shim.h"
#include "acl.h"
#include "topic.h"

int LLVMFuzzerTestOneInput(const u8 *data, size_t size);

#define ASSERT(c) do {							\
	if (!(c)) {							\
		fprintf(stderr, "%s:%d: assertion failed: %s\n",	\
			__FILE__, __LINE__, #c);			\
		abort();						\
	}								\
} while (0)

static const u8 *field(const u8 **p, size_t *left, u32 *len)
{
	const u8 *s = *p, *e = memchr(s, 0, *left);
	size_t n = e ? (size_t)(e - s) : *left;

	*len = n > 0xffff ? 0xffff : (u32)n;
	*p += e ? n + 1 : n;
	*left -= e ? n + 1 : n;
	return s;
}

static int rule(const u8 *p, u32 plen, int access, bool subst,
		const struct kmq_acl_who *w, int op, const u8 *t, u32 tlen)
{
	struct kmq_acl_rule_view r = { p, plen, (u8)access, subst };

	return kmq_acl_verdict(&r, w, op, t, tlen);
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	const u8 *pat, *t, *user, *cid;
	u32 plen, tlen, ulen, clen;
	struct kmq_acl_who w;
	struct kmq_pwhash h, h2;
	char buf[KMQ_PW_STR_MAX];
	bool pv, tv, fv, m;
	u32 n;

	pat = field(&data, &size, &plen);
	t = field(&data, &size, &tlen);
	user = field(&data, &size, &ulen);
	cid = field(&data, &size, &clen);
	w.user = ulen ? user : NULL;
	w.ulen = ulen;
	w.cid = cid;
	w.clen = clen;

	if (!kmq_pwhash_parse((const char *)pat, plen, &h)) {
		n = kmq_pwhash_format(&h, buf);
		ASSERT(n < sizeof(buf));
		ASSERT(!kmq_pwhash_parse(buf, n, &h2));
		ASSERT(!memcmp(&h, &h2, sizeof(h)));
	}

	pv = kmq_acl_pattern_valid(pat, plen);
	fv = kmq_topic_filter_valid(t, tlen);
	tv = kmq_topic_name_valid(t, tlen);
	/* anything goes for invalid input, as long as it does not crash */
	rule(pat, plen, size & 3, size & 4, &w, (int)(size % 3), t, tlen);
	if (!pv || !fv)
		return 0;

	if (tv) {
		m = kmq_topic_match(pat, plen, t, tlen);
		ASSERT(rule(pat, plen, KMQ_ACL_READ, false, &w,
			    KMQ_ACL_OP_READ, t, tlen) ==
		       (m ? KMQ_ACL_ALLOW : KMQ_ACL_NONE));
		ASSERT(kmq_filter_covers(pat, plen, t, tlen) == m);
		ASSERT(kmq_filter_overlap(pat, plen, t, tlen) == m);
	}
	if (kmq_filter_covers(pat, plen, t, tlen))
		ASSERT(kmq_filter_overlap(pat, plen, t, tlen));
	ASSERT(kmq_filter_overlap(pat, plen, t, tlen) ==
	       kmq_filter_overlap(t, tlen, pat, plen));
	ASSERT(kmq_filter_covers(pat, plen, pat, plen));
	ASSERT(kmq_filter_covers(t, tlen, t, tlen));

	/* "%u" alone in the pattern's first level vs the name spelled out */
	if (tv && ulen && kmq_topic_name_valid(user, ulen) &&
	    !memchr(user, '/', ulen) && !memchr(user, '%', ulen) &&
	    plen + ulen < 4096 && !memchr(pat, '%', plen)) {
		u8 a[4096], b[4096];
		u32 alen, blen;

		memcpy(a, "%u/", 3);
		memcpy(a + 3, pat, plen);
		alen = plen + 3;
		memcpy(b, user, ulen);
		b[ulen] = '/';
		memcpy(b + ulen + 1, pat, plen);
		blen = ulen + 1 + plen;
		ASSERT(rule(a, alen, KMQ_ACL_READ, true, &w, KMQ_ACL_OP_READ,
			    t, tlen) ==
		       rule(b, blen, KMQ_ACL_READ, false, &w, KMQ_ACL_OP_READ,
			    t, tlen));
	}
	return 0;
}
