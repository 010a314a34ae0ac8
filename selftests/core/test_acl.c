// SPDX-License-Identifier: GPL-2.0
/*
 * test_acl.c - unit tests of kmod/core/acl.c: rule verdicts with
 * wildcards, the $-rule and %u/%c substitution, filter overlap and
 * coverage, base64 and mosquitto_passwd hash strings.
 */
#include <stdio.h>
#include <string.h>

#include "kmq_shim.h"
#include "acl.h"
#include "tap.h"

#define S(x)	(const u8 *)(x), (u32)strlen(x)

static struct kmq_acl_who who_of(const char *user, const char *cid)
{
	struct kmq_acl_who w = {
		.user = (const u8 *)user, .ulen = user ? strlen(user) : 0,
		.cid = (const u8 *)cid, .clen = strlen(cid),
	};
	return w;
}

static int verdict(const char *pat, int access, bool subst, const char *user,
		   const char *cid, int op, const char *t)
{
	struct kmq_acl_rule_view r = {
		.pat = (const u8 *)pat, .plen = strlen(pat),
		.access = access, .subst = subst,
	};
	struct kmq_acl_who w = who_of(user, cid);

	return kmq_acl_verdict(&r, &w, op, S(t));
}

/* Mosquitto's decision over a list of rules: deny first, then allow. */
struct rule {
	const char *pat;
	int access;
	bool subst;
};

static bool decide(const struct rule *rules, int n, const char *user,
		   const char *cid, int op, const char *t)
{
	bool allow = false;
	int i, v;

	for (i = 0; i < n; i++) {
		v = verdict(rules[i].pat, rules[i].access, rules[i].subst,
			    user, cid, op, t);
		if (v == KMQ_ACL_DENIED)
			return false;
		if (v == KMQ_ACL_ALLOW)
			allow = true;
	}
	return allow;
}

enum { R = KMQ_ACL_OP_READ, W = KMQ_ACL_OP_WRITE, SUB = KMQ_ACL_OP_SUBSCRIBE };
enum { NONE = KMQ_ACL_NONE, ALLOW = KMQ_ACL_ALLOW, DENIED = KMQ_ACL_DENIED };

static void test_match(void)
{
	static const struct {
		const char *pat, *topic;
		bool match;
	} m[] = {
		{ "a/b", "a/b", true }, { "a/b", "a/c", false },
		{ "a/+", "a/b", true }, { "a/+", "a/b/c", false },
		{ "a/+", "a", false }, { "a/+", "a/", true },
		{ "a/#", "a", true }, { "a/#", "a/b/c", true },
		{ "a/#", "ab", false }, { "#", "a/b", true },
		{ "#", "$SYS/x", false }, { "+/x", "$SYS/x", false },
		{ "$SYS/#", "$SYS/broker/uptime", true },
		{ "$SYS/+/uptime", "$SYS/broker/uptime", true },
		{ "+/+", "/a", true }, { "/+", "/a", true },
		{ "a//b", "a//b", true }, { "a/+/b", "a//b", true },
		{ "A", "a", false }, { "a/b/c", "a/b", false },
	};
	size_t i;

	for (i = 0; i < sizeof(m) / sizeof(m[0]); i++)
		CHECK_EQ(verdict(m[i].pat, KMQ_ACL_READ, false, NULL, "c", R,
				 m[i].topic), m[i].match ? ALLOW : NONE,
			 "acl: '%s' %s '%s'", m[i].pat,
			 m[i].match ? "matches" : "does not match", m[i].topic);
}

static void test_access(void)
{
	CHECK_EQ(verdict("a", KMQ_ACL_READ, false, "u", "c", W, "a"), NONE,
		 "acl: read rule says nothing about write");
	CHECK_EQ(verdict("a", KMQ_ACL_WRITE, false, "u", "c", R, "a"), NONE,
		 "acl: write rule says nothing about read");
	CHECK_EQ(verdict("a", KMQ_ACL_READWRITE, false, "u", "c", W, "a"),
		 ALLOW, "acl: readwrite allows write");
	CHECK_EQ(verdict("a", KMQ_ACL_READWRITE, false, "u", "c", R, "a"),
		 ALLOW, "acl: readwrite allows read");
	CHECK_EQ(verdict("a/#", KMQ_ACL_DENY, false, "u", "c", R, "a/x"),
		 DENIED, "acl: deny rule denies read");
	CHECK_EQ(verdict("a/#", KMQ_ACL_DENY, false, "u", "c", W, "a/x"),
		 DENIED, "acl: deny rule denies write");
	CHECK_EQ(verdict("a/#", KMQ_ACL_DENY, false, "u", "c", W, "b"), NONE,
		 "acl: deny rule elsewhere says nothing");
	CHECK_EQ(verdict("a", KMQ_ACL_WRITE, false, "u", "c", SUB, "a"), NONE,
		 "acl: write rule does not allow subscribing");
}

static void test_subst(void)
{
	CHECK_EQ(verdict("u/%u/#", KMQ_ACL_READWRITE, true, "bob", "c1", W,
			 "u/bob/x"), ALLOW, "subst: %%u level");
	CHECK_EQ(verdict("u/%u/#", KMQ_ACL_READWRITE, true, "bob", "c1", W,
			 "u/eve/x"), NONE, "subst: %%u other user");
	CHECK_EQ(verdict("c/%c", KMQ_ACL_READ, true, "bob", "dev-7", R,
			 "c/dev-7"), ALLOW, "subst: %%c level");
	CHECK_EQ(verdict("c/%c", KMQ_ACL_READ, true, "bob", "dev-7", R,
			 "c/dev-77"), NONE, "subst: %%c must match whole level");
	CHECK_EQ(verdict("x/%u-%c/y", KMQ_ACL_READ, true, "bob", "d", R,
			 "x/bob-d/y"), ALLOW, "subst: inside a level");
	CHECK_EQ(verdict("x/%u-%c/y", KMQ_ACL_READ, true, "bob", "d", R,
			 "x/bob-e/y"), NONE, "subst: inside a level, mismatch");
	CHECK_EQ(verdict("u/%u", KMQ_ACL_READ, false, "bob", "c", R, "u/bob"),
		 NONE, "subst: topic rules do not substitute");
	CHECK_EQ(verdict("u/%u", KMQ_ACL_READ, false, "bob", "c", R, "u/%u"),
		 ALLOW, "subst: topic rules match %%u literally");
	CHECK_EQ(verdict("u/%x/%", KMQ_ACL_READ, true, "bob", "c", R,
			 "u/%x/%"), ALLOW, "subst: other %% sequences literal");
	CHECK_EQ(verdict("u/%u", KMQ_ACL_READ, true, NULL, "c", R, "u/"),
		 NONE, "subst: %%u rule not for anonymous clients");
	CHECK_EQ(verdict("u/%u", KMQ_ACL_DENY, true, NULL, "c", R, "u/x"),
		 NONE, "subst: %%u deny rule not for anonymous clients");
	CHECK_EQ(verdict("c/%c", KMQ_ACL_READ, true, NULL, "k", R, "c/k"),
		 ALLOW, "subst: %%c rule for anonymous clients");
	CHECK_EQ(verdict("u/%u/#", KMQ_ACL_READ, true, "a/b", "c", R,
			 "u/a/b/x"), NONE, "subst: user name with '/' unusable");
	CHECK_EQ(verdict("u/%u", KMQ_ACL_READ, true, "+", "c", R, "u/x"),
		 NONE, "subst: user name '+' does not become a wildcard");
	CHECK_EQ(verdict("c/%c", KMQ_ACL_READ, true, "u", "#", R, "c/x"),
		 NONE, "subst: client id '#' does not become a wildcard");
	CHECK_EQ(verdict("c/%c", KMQ_ACL_DENY, true, "u", "a#", R, "zzz"),
		 DENIED, "subst: unusable value makes a deny rule deny all");
	CHECK_EQ(verdict("%u/#", KMQ_ACL_READ, true, "$adm", "c", R,
			 "$adm/x"), ALLOW, "subst: $ user level is literal");
}

static void test_subscribe(void)
{
	CHECK_EQ(verdict("a/#", KMQ_ACL_READ, false, "u", "c", SUB, "#"),
		 ALLOW, "sub: '#' overlaps a readable subtree");
	CHECK_EQ(verdict("a/#", KMQ_ACL_READ, false, "u", "c", SUB, "b/#"),
		 NONE, "sub: disjoint subtree");
	CHECK_EQ(verdict("a/+/c", KMQ_ACL_READ, false, "u", "c", SUB,
			 "+/b/+"), ALLOW, "sub: wildcards on both sides");
	CHECK_EQ(verdict("a/+/c", KMQ_ACL_READ, false, "u", "c", SUB,
			 "+/b/d"), NONE, "sub: last level differs");
	CHECK_EQ(verdict("$SYS/#", KMQ_ACL_READ, false, "u", "c", SUB, "#"),
		 NONE, "sub: '#' never reaches $SYS");
	CHECK_EQ(verdict("#", KMQ_ACL_READ, false, "u", "c", SUB, "$SYS/#"),
		 NONE, "sub: rule '#' does not allow $SYS/#");
	CHECK_EQ(verdict("+/broker/#", KMQ_ACL_READ, false, "u", "c", SUB,
			 "$SYS/broker/x"), NONE, "sub: rule '+/..' not for $SYS");
	CHECK_EQ(verdict("$SYS/broker/#", KMQ_ACL_READ, false, "u", "c", SUB,
			 "$SYS/#"), ALLOW, "sub: $SYS/# overlaps $SYS/broker/#");
	CHECK_EQ(verdict("#", KMQ_ACL_READ, false, "u", "c", SUB, "+"),
		 ALLOW, "sub: '#' rule and '+' filter");
	CHECK_EQ(verdict("a", KMQ_ACL_READ, false, "u", "c", SUB, "a/#"),
		 ALLOW, "sub: 'a/#' includes 'a'");
	CHECK_EQ(verdict("a/#", KMQ_ACL_DENY, false, "u", "c", SUB, "a/b/+"),
		 DENIED, "sub: deny covering the filter");
	CHECK_EQ(verdict("a/#", KMQ_ACL_DENY, false, "u", "c", SUB, "#"),
		 NONE, "sub: deny covering part of the filter does not refuse");
	CHECK_EQ(verdict("a/+", KMQ_ACL_DENY, false, "u", "c", SUB, "a/#"),
		 NONE, "sub: deny 'a/+' does not cover 'a/#'");
	CHECK_EQ(verdict("u/%u/#", KMQ_ACL_READ, true, "bob", "c", SUB,
			 "u/bob/#"), ALLOW, "sub: substituted pattern");
	CHECK_EQ(verdict("u/%u/#", KMQ_ACL_READ, true, "bob", "c", SUB,
			 "u/eve/#"), NONE, "sub: substituted pattern, other user");
	CHECK_EQ(verdict("u/%u/#", KMQ_ACL_READ, true, "bob", "c", SUB,
			 "u/+/#"), ALLOW, "sub: '+' overlaps the user level");
}

static void test_sets(void)
{
	static const struct {
		const char *a, *b;
		bool overlap, covers;	/* covers: a matches all b matches */
	} s[] = {
		{ "#", "a/b", true, true },
		{ "#", "$SYS/x", false, false },
		{ "+/#", "a", true, true },
		{ "a/#", "a", true, true },
		{ "a", "a/#", true, false },
		{ "a/+", "a/#", true, false },
		{ "a/#", "a/+/b", true, true },
		{ "+/+", "a/+", true, true },
		{ "a/+", "+/+", true, false },
		{ "a/b", "a/c", false, false },
		{ "a/b/c", "a/b", false, false },
		{ "$SYS/#", "$SYS/a/+", true, true },
		{ "+", "$SYS", false, false },
		{ "#", "+", true, true },
		{ "+", "#", true, false },
		{ "a/#", "#", true, false },
		{ "/+", "+/a", true, false },
	};
	size_t i;

	for (i = 0; i < sizeof(s) / sizeof(s[0]); i++) {
		CHECK_EQ(kmq_filter_overlap(S(s[i].a), S(s[i].b)),
			 s[i].overlap, "sets: '%s' overlaps '%s': %d", s[i].a,
			 s[i].b, s[i].overlap);
		CHECK_EQ(kmq_filter_overlap(S(s[i].b), S(s[i].a)),
			 s[i].overlap, "sets: overlap is symmetric ('%s', '%s')",
			 s[i].b, s[i].a);
		CHECK_EQ(kmq_filter_covers(S(s[i].a), S(s[i].b)), s[i].covers,
			 "sets: '%s' covers '%s': %d", s[i].a, s[i].b,
			 s[i].covers);
	}
}

static void test_decide(void)
{
	/* a gateway: sensors write their own topics, backend reads all */
	static const struct rule rules[] = {
		{ "sensors/%c/#", KMQ_ACL_WRITE, true },
		{ "cmd/%u/#", KMQ_ACL_READ, true },
		{ "sensors/#", KMQ_ACL_READ, false },
		{ "sensors/secret", KMQ_ACL_DENY, false },
	};
	int n = sizeof(rules) / sizeof(rules[0]);

	CHECK(decide(rules, n, "s1", "dev1", W, "sensors/dev1/t"),
	      "decide: own topic writable");
	CHECK(!decide(rules, n, "s1", "dev1", W, "sensors/dev2/t"),
	      "decide: another device's topic is not");
	CHECK(decide(rules, n, "s1", "dev1", R, "cmd/s1/reboot"),
	      "decide: own command topic readable");
	CHECK(!decide(rules, n, NULL, "dev1", R, "cmd/s1/reboot"),
	      "decide: not for an anonymous client");
	CHECK(!decide(rules, n, "s1", "dev1", R, "sensors/secret"),
	      "decide: deny wins over allow");
	CHECK(!decide(rules, n, "s1", "dev1", SUB, "sensors/secret"),
	      "decide: deny refuses the exact subscription");
	CHECK(decide(rules, n, "s1", "dev1", SUB, "sensors/#"),
	      "decide: subscription overlapping the denied topic allowed");
	CHECK(!decide(rules, n, "s1", "dev1", R, "other"),
	      "decide: nothing matches: denied by default");
	CHECK(!decide(rules, 0, "s1", "dev1", R, "other"),
	      "decide: no rule at all: nothing allowed (glue skips)");
}

static void test_base64(void)
{
	static const struct {
		const char *raw, *enc;
	} v[] = {
		{ "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" },
		{ "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" },
		{ "foobar", "Zm9vYmFy" },
	};
	char out[32];
	u8 dec[32];
	size_t i;
	u32 n;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		n = kmq_base64_encode(S(v[i].raw), out);
		out[n] = 0;
		CHECK(!strcmp(out, v[i].enc), "base64: encode '%s'", v[i].raw);
		CHECK_EQ(kmq_base64_decode(v[i].enc, strlen(v[i].enc), dec,
					   sizeof(dec)), strlen(v[i].raw),
			 "base64: decode '%s'", v[i].enc);
		CHECK(!memcmp(dec, v[i].raw, strlen(v[i].raw)),
		      "base64: decoded bytes of '%s'", v[i].enc);
	}
	CHECK_EQ(kmq_base64_decode("Zm8", 3, dec, sizeof(dec)), 2,
		 "base64: padding optional");
	CHECK_EQ(kmq_base64_decode("Zm9=", 4, dec, sizeof(dec)), -1,
		 "base64: non-zero unused bits refused");
	CHECK_EQ(kmq_base64_decode("Z===", 4, dec, sizeof(dec)), -1,
		 "base64: three '=' refused");
	CHECK_EQ(kmq_base64_decode("Zm 9", 4, dec, sizeof(dec)), -1,
		 "base64: space refused");
	CHECK_EQ(kmq_base64_decode("Zg=a", 4, dec, sizeof(dec)), -1,
		 "base64: '=' inside refused");
	CHECK_EQ(kmq_base64_decode("Zm9vYmFy", 8, dec, 5), -1,
		 "base64: output bound");
	CHECK_EQ(kmq_base64_decode("Z", 1, dec, sizeof(dec)), -1,
		 "base64: one char refused");
}

static void test_pwhash(void)
{
	/* mosquitto_passwd -c -b pw alice secret (Debian 12, 2.0.11) */
	static const char h7[] =
		"$7$101$JPWRUPKwWsE89IbV$K6ZfhayJgMbbG1ydtFGjXA6muvnKF0KQd1Ow"
		"iUh8OV05ygQrX2vAkT5ePzWzL3kt5Emujjtb91EiOxzkp1BH+g==";
	/* mosquitto_passwd -H sha512 -c -b pw6 bob hunter2 */
	static const char h6[] =
		"$6$mft5cecGwalGDiUW$pHnNFStAnU9wbzCf1V+aKgU8UDPI1KX4qCpGmTq5"
		"X6S61eYnh6wAd/r8zReFosHEeBFSgC94ykCrtoiQO7vrlg==";
	static const char *const bad[] = {
		"", "$", "$7$", "$5$abc$def", "$7$0$JPWRUPKwWsE89IbV$K6Zf",
		"$7$1000001$JPWRUPKwWsE89IbV$K6Zf", "$7$x$a$b",
		"$7$101$$K6ZfhayJ", "$7$101$JPWRUPKwWsE89IbV$short",
		"$6$mft5cecGwalGDiUW$pHnNFStAnU9wbzCf1V+aKgU8UDPI1KX4qCpGmTq5X6S6"
		"1eYnh6wAd/r8zReFosHEeBFSgC94ykCrtoiQO7vrlg==$extra",
		"$7$101$JPWRUPKwWsE89IbV",
		"$7$00000000101$JPWRUPKwWsE89IbV$K6Zf",
		"plaintext",
	};
	struct kmq_pwhash h;
	char buf[KMQ_PW_STR_MAX];
	size_t i;
	u32 n;

	CHECK_EQ(kmq_pwhash_parse(h7, strlen(h7), &h), 0, "pwhash: parse $7$");
	CHECK(h.algo == 7 && h.iterations == 101 && h.salt_len == 12,
	      "pwhash: $7$ fields");
	n = kmq_pwhash_format(&h, buf);
	CHECK(n == strlen(h7) && !strcmp(buf, h7), "pwhash: $7$ round trip");
	CHECK_EQ(kmq_pwhash_parse(h6, strlen(h6), &h), 0, "pwhash: parse $6$");
	CHECK(h.algo == 6 && h.iterations == 1 && h.salt_len == 12,
	      "pwhash: $6$ fields");
	n = kmq_pwhash_format(&h, buf);
	CHECK(n == strlen(h6) && !strcmp(buf, h6), "pwhash: $6$ round trip");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_EQ(kmq_pwhash_parse(bad[i], strlen(bad[i]), &h), -1,
			 "pwhash: refuse '%.20s'", bad[i]);
	/* the largest string fits KMQ_PW_STR_MAX */
	memset(&h, 0xff, sizeof(h));
	h.algo = KMQ_PW_PBKDF2;
	h.iterations = KMQ_PW_ITER_MAX;
	h.salt_len = KMQ_PW_SALT_MAX;
	n = kmq_pwhash_format(&h, buf);
	CHECK(n < KMQ_PW_STR_MAX && !kmq_pwhash_parse(buf, n, &h),
	      "pwhash: largest hash string fits and parses");
}

static void test_pattern_valid(void)
{
	CHECK(kmq_acl_pattern_valid(S("a/%u/#")), "pattern: valid");
	CHECK(!kmq_acl_pattern_valid(S("a/#/b")), "pattern: '#' not last");
	CHECK(!kmq_acl_pattern_valid(S("a+")), "pattern: '+' in a level");
	CHECK(!kmq_acl_pattern_valid(S("")), "pattern: empty");
	CHECK(!kmq_acl_pattern_valid((const u8 *)"a\0b", 3),
	      "pattern: NUL inside");
}

void test_acl(void)
{
	test_match();
	test_access();
	test_subst();
	test_subscribe();
	test_sets();
	test_decide();
	test_base64();
	test_pwhash();
	test_pattern_valid();
}
