// SPDX-License-Identifier: GPL-2.0
/*
 * acl.c - access control rules and password-hash strings (acl.h).
 *
 * Patterns are compared with topics and filters level by level.  Because
 * a substituted value never contains '/', '+' or '#', the levels of a
 * pattern and their wildcards are those of its raw text; only literal
 * levels need the substitution, done while comparing.
 */
#include "kmq_shim.h"
#include "acl.h"
#include "topic.h"

/* One level of a topic, filter or pattern. */
struct kmq_lvl {
	const u8 *p;
	u32 len;
};

/* Walks the levels of a string. */
struct kmq_lvl_it {
	const u8 *s;
	u32 len;
	u32 pos;
	bool done;
};

static void lvl_init(struct kmq_lvl_it *it, const u8 *s, u32 len)
{
	it->s = s;
	it->len = len;
	it->pos = 0;
	it->done = false;
}

static bool lvl_next(struct kmq_lvl_it *it, struct kmq_lvl *l)
{
	u32 e;

	if (it->done)
		return false;
	e = it->pos;
	while (e < it->len && it->s[e] != '/')
		e++;
	l->p = it->s + it->pos;
	l->len = e - it->pos;
	if (e == it->len)
		it->done = true;
	else
		it->pos = e + 1;
	return true;
}

static bool is_hash(const struct kmq_lvl *l)
{
	return l->len == 1 && l->p[0] == '#';
}

static bool is_plus(const struct kmq_lvl *l)
{
	return l->len == 1 && l->p[0] == '+';
}

static bool is_wild(const struct kmq_lvl *l)
{
	return is_hash(l) || is_plus(l);
}

/* Substitution context; @who is NULL when the pattern is used as is. */
struct kmq_subst {
	const struct kmq_acl_who *who;
};

/* The value of "%u" or "%c" at @p[0..1], or NULL if @p is not one. */
static const u8 *subst_at(const struct kmq_subst *sb, const u8 *p, u32 left,
			  u32 *vlen)
{
	if (!sb->who || left < 2 || p[0] != '%')
		return NULL;
	if (p[1] == 'u') {
		*vlen = sb->who->ulen;
		return sb->who->user;
	}
	if (p[1] == 'c') {
		*vlen = sb->who->clen;
		return sb->who->cid;
	}
	return NULL;
}

/* Does pattern level @pl, substituted, equal the literal level @sl? */
static bool lvl_eq(const struct kmq_subst *sb, const struct kmq_lvl *pl,
		   const struct kmq_lvl *sl)
{
	u32 i = 0, j = 0, vlen;
	const u8 *v;

	while (i < pl->len) {
		v = subst_at(sb, pl->p + i, pl->len - i, &vlen);
		if (v) {
			if (sl->len - j < vlen || memcmp(sl->p + j, v, vlen))
				return false;
			j += vlen;
			i += 2;
			continue;
		}
		if (j >= sl->len || sl->p[j] != pl->p[i])
			return false;
		i++;
		j++;
	}
	return j == sl->len;
}

/* Does the literal level @l (of a pattern if @sb) start with '$'? */
static bool lvl_dollar(const struct kmq_subst *sb, const struct kmq_lvl *l)
{
	u32 vlen;
	const u8 *v;

	if (!l->len)
		return false;
	v = sb ? subst_at(sb, l->p, l->len, &vlen) : NULL;
	if (v)
		return vlen && v[0] == '$';
	return l->p[0] == '$';
}

/* Does pattern @p match topic name @t? */
static bool pat_match(const struct kmq_subst *sb, const u8 *p, u32 plen,
		      const u8 *t, u32 tlen)
{
	struct kmq_lvl_it pi, ti;
	struct kmq_lvl pl, tl;
	bool first = true;

	lvl_init(&pi, p, plen);
	lvl_init(&ti, t, tlen);
	for (;;) {
		bool hp = lvl_next(&pi, &pl), ht = lvl_next(&ti, &tl);

		if (!hp)
			return !ht;
		if (first && tlen && t[0] == '$' && is_wild(&pl))
			return false;
		first = false;
		if (is_hash(&pl))
			return true;	/* "a/#" also matches "a" */
		if (!ht)
			return false;
		if (!is_plus(&pl) && !lvl_eq(sb, &pl, &tl))
			return false;
	}
}

/* Is there a topic name that both pattern @p and filter @f match? */
static bool pat_overlap(const struct kmq_subst *sb, const u8 *p, u32 plen,
			const u8 *f, u32 flen)
{
	struct kmq_subst none = { NULL };
	struct kmq_lvl_it pi, fi;
	struct kmq_lvl pl, fl;
	bool first = true;

	lvl_init(&pi, p, plen);
	lvl_init(&fi, f, flen);
	for (;;) {
		bool hp = lvl_next(&pi, &pl), hf = lvl_next(&fi, &fl);

		if (!hp && !hf)
			return true;
		if (first && hp && hf) {
			/* a wildcard first level excludes '$' topics */
			if (is_wild(&pl) && !is_wild(&fl) &&
			    lvl_dollar(&none, &fl))
				return false;
			if (is_wild(&fl) && !is_wild(&pl) &&
			    lvl_dollar(sb, &pl))
				return false;
		}
		first = false;
		if ((hp && is_hash(&pl)) || (hf && is_hash(&fl)))
			return true;
		if (!hp || !hf)
			return false;
		if (is_plus(&pl) || is_plus(&fl))
			continue;
		if (!lvl_eq(sb, &pl, &fl))
			return false;
	}
}

/* Does pattern @p match every topic name that filter @f matches? */
static bool pat_covers(const struct kmq_subst *sb, const u8 *p, u32 plen,
		       const u8 *f, u32 flen)
{
	struct kmq_subst none = { NULL };
	struct kmq_lvl_it pi, fi;
	struct kmq_lvl pl, fl;
	bool first = true;

	lvl_init(&pi, p, plen);
	lvl_init(&fi, f, flen);
	for (;;) {
		bool hp = lvl_next(&pi, &pl), hf = lvl_next(&fi, &fl);
		bool f_dollar = first && hf && !is_wild(&fl) &&
				lvl_dollar(&none, &fl);

		first = false;
		if (!hp && !hf)
			return true;
		if (hp && is_hash(&pl))
			return !f_dollar;
		if (!hp || !hf)
			return false;
		if (is_hash(&fl))
			return false;
		if (is_plus(&fl)) {
			if (!is_plus(&pl))
				return false;
			continue;
		}
		if (is_plus(&pl)) {
			if (f_dollar)
				return false;
			continue;
		}
		if (!lvl_eq(sb, &pl, &fl))
			return false;
	}
}

bool kmq_filter_overlap(const u8 *a, u32 alen, const u8 *b, u32 blen)
{
	struct kmq_subst none = { NULL };

	return pat_overlap(&none, a, alen, b, blen);
}

bool kmq_filter_covers(const u8 *a, u32 alen, const u8 *b, u32 blen)
{
	struct kmq_subst none = { NULL };

	return pat_covers(&none, a, alen, b, blen);
}

bool kmq_acl_pattern_valid(const u8 *p, u32 len)
{
	return len && !memchr(p, 0, len) && kmq_topic_filter_valid(p, len);
}

/* A value that can replace %u or %c without changing the levels. */
static bool subst_value_ok(const u8 *v, u32 len)
{
	u32 i;

	if (!v || !len)
		return false;
	for (i = 0; i < len; i++)
		if (v[i] == '/' || v[i] == '+' || v[i] == '#')
			return false;
	return true;
}

/*
 * Can @r be evaluated for @who?  1: yes; 0: it uses %u and @who is
 * anonymous (the rule is not for it); -1: a value cannot be substituted.
 */
static int subst_usable(const struct kmq_acl_rule_view *r,
			const struct kmq_acl_who *who)
{
	bool u = false, c = false;
	u32 i;

	for (i = 0; i + 1 < r->plen; i++) {
		if (r->pat[i] != '%')
			continue;
		if (r->pat[i + 1] == 'u')
			u = true;
		else if (r->pat[i + 1] == 'c')
			c = true;
		else
			continue;
		i++;
	}
	if (u && !who->user)
		return 0;
	if ((u && !subst_value_ok(who->user, who->ulen)) ||
	    (c && !subst_value_ok(who->cid, who->clen)))
		return -1;
	return 1;
}

int kmq_acl_verdict(const struct kmq_acl_rule_view *r,
		    const struct kmq_acl_who *who, int op,
		    const u8 *t, u32 tlen)
{
	struct kmq_subst sb = { r->subst ? who : NULL };
	bool deny = r->access == KMQ_ACL_DENY;

	if (r->subst) {
		int u = subst_usable(r, who);

		if (u <= 0)
			return u < 0 && deny ? KMQ_ACL_DENIED : KMQ_ACL_NONE;
	}
	switch (op) {
	case KMQ_ACL_OP_READ:
	case KMQ_ACL_OP_WRITE:
		if (!deny && !(r->access & (op == KMQ_ACL_OP_READ ?
					    KMQ_ACL_READ : KMQ_ACL_WRITE)))
			return KMQ_ACL_NONE;
		if (!pat_match(&sb, r->pat, r->plen, t, tlen))
			return KMQ_ACL_NONE;
		return deny ? KMQ_ACL_DENIED : KMQ_ACL_ALLOW;
	case KMQ_ACL_OP_SUBSCRIBE:
		if (deny)
			return pat_covers(&sb, r->pat, r->plen, t, tlen) ?
			       KMQ_ACL_DENIED : KMQ_ACL_NONE;
		if (!(r->access & KMQ_ACL_READ))
			return KMQ_ACL_NONE;
		return pat_overlap(&sb, r->pat, r->plen, t, tlen) ?
		       KMQ_ACL_ALLOW : KMQ_ACL_NONE;
	}
	return KMQ_ACL_NONE;
}

/* ---- base64 and password hashes ---- */

static const char kmq_b64[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

u32 kmq_base64_encode(const u8 *in, u32 len, char *out)
{
	u32 i, o = 0, v;

	for (i = 0; i + 2 < len; i += 3) {
		v = (u32)in[i] << 16 | (u32)in[i + 1] << 8 | in[i + 2];
		out[o++] = kmq_b64[v >> 18];
		out[o++] = kmq_b64[(v >> 12) & 63];
		out[o++] = kmq_b64[(v >> 6) & 63];
		out[o++] = kmq_b64[v & 63];
	}
	if (i < len) {
		v = (u32)in[i] << 16;
		if (i + 1 < len)
			v |= (u32)in[i + 1] << 8;
		out[o++] = kmq_b64[v >> 18];
		out[o++] = kmq_b64[(v >> 12) & 63];
		out[o++] = i + 1 < len ? kmq_b64[(v >> 6) & 63] : '=';
		out[o++] = '=';
	}
	return o;
}

static int b64_val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int kmq_base64_decode(const char *in, u32 len, u8 *out, u32 cap)
{
	u32 i, n = 0, bits = 0, acc = 0, pad = 0;
	int v;

	/* padding: at most two '=', only at the end of a 4-char group */
	while (len && in[len - 1] == '=' && pad < 2) {
		len--;
		pad++;
	}
	if (pad && (len + pad) % 4)
		return -1;
	if (len % 4 == 1)
		return -1;
	for (i = 0; i < len; i++) {
		v = b64_val(in[i]);
		if (v < 0)
			return -1;
		acc = (acc << 6) | (u32)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (n >= cap)
				return -1;
			out[n++] = (u8)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	/* the unused low bits must be zero (one encoding per value) */
	if (acc)
		return -1;
	return (int)n;
}

/* Split off the next '$'-terminated field of @s (or the rest). */
static bool pw_field(const char **s, u32 *left, const char **f, u32 *flen)
{
	u32 i = 0;

	while (i < *left && (*s)[i] != '$')
		i++;
	*f = *s;
	*flen = i;
	if (i < *left) {
		*s += i + 1;
		*left -= i + 1;
		return true;
	}
	*s += i;
	*left = 0;
	return false;
}

int kmq_pwhash_parse(const char *s, u32 len, struct kmq_pwhash *h)
{
	const char *f;
	u32 flen, i, iter = 1;
	int n;

	memset(h, 0, sizeof(*h));
	if (len < 3 || s[0] != '$' || s[2] != '$' ||
	    (s[1] != '6' && s[1] != '7'))
		return -1;
	h->algo = s[1] - '0';
	s += 3;
	len -= 3;
	if (h->algo == KMQ_PW_PBKDF2) {
		if (!pw_field(&s, &len, &f, &flen) || !flen || flen > 7)
			return -1;
		iter = 0;
		for (i = 0; i < flen; i++) {
			if (f[i] < '0' || f[i] > '9')
				return -1;
			iter = iter * 10 + (u32)(f[i] - '0');
		}
		if (!iter || iter > KMQ_PW_ITER_MAX)
			return -1;
	}
	h->iterations = iter;
	if (!pw_field(&s, &len, &f, &flen))
		return -1;
	n = kmq_base64_decode(f, flen, h->salt, KMQ_PW_SALT_MAX);
	if (n <= 0)
		return -1;
	h->salt_len = (u8)n;
	if (pw_field(&s, &len, &f, &flen))
		return -1;	/* a fifth '$' */
	n = kmq_base64_decode(f, flen, h->hash, KMQ_PW_HASH_LEN);
	if (n != KMQ_PW_HASH_LEN)
		return -1;
	return 0;
}

static u32 fmt_uint(char *buf, u32 v)
{
	char tmp[10];
	u32 n = 0, i;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (i = 0; i < n; i++)
		buf[i] = tmp[n - 1 - i];
	return n;
}

u32 kmq_pwhash_format(const struct kmq_pwhash *h, char *buf)
{
	u32 o = 0;

	buf[o++] = '$';
	buf[o++] = (char)('0' + h->algo);
	buf[o++] = '$';
	if (h->algo == KMQ_PW_PBKDF2) {
		o += fmt_uint(buf + o, h->iterations);
		buf[o++] = '$';
	}
	o += kmq_base64_encode(h->salt, h->salt_len, buf + o);
	buf[o++] = '$';
	o += kmq_base64_encode(h->hash, KMQ_PW_HASH_LEN, buf + o);
	buf[o] = '\0';
	return o;
}
