/* SPDX-License-Identifier: GPL-2.0 */
/*
 * acl.h - access control rules in the style of Mosquitto's acl_file, and
 * the password-file hash format of mosquitto_passwd.
 *
 * A rule is a topic filter ("pattern") with an access: read, write,
 * readwrite or deny.  Rules of kind "pattern" substitute %u (the client's
 * user name) and %c (its client id) first.  The glue collects the rules
 * that apply to a client and asks kmq_acl_verdict() about each one: any
 * DENIED wins, else any ALLOW allows, else the operation is refused
 * (deny by default once any rule exists).
 *
 * Substitution never changes the level structure: a value that is empty
 * or contains '/', '+' or '#' cannot be substituted, and the rule then
 * does not apply (an allow rule) or applies to everything (a deny rule).
 *
 * Nothing here allocates; every function is iterative.
 */
#ifndef _KMQ_ACL_H
#define _KMQ_ACL_H

#include "kmq_shim.h"

/* Access of a rule (values of the uapi's KMQTTD_A_ACL_ACCESS). */
enum kmq_acl_access {
	KMQ_ACL_DENY = 0,
	KMQ_ACL_READ = 1,
	KMQ_ACL_WRITE = 2,
	KMQ_ACL_READWRITE = 3,
};

/* What a client wants to do. */
enum kmq_acl_op {
	KMQ_ACL_OP_READ,	/* receive a message on a topic name */
	KMQ_ACL_OP_WRITE,	/* publish on a topic name */
	KMQ_ACL_OP_SUBSCRIBE,	/* subscribe to a topic filter */
};

/* What one rule says. */
enum kmq_acl_verdict {
	KMQ_ACL_NONE,		/* the rule does not apply */
	KMQ_ACL_ALLOW,
	KMQ_ACL_DENIED,
};

/**
 * struct kmq_acl_who - the client a rule is evaluated for
 * @user: authenticated user name, or NULL (anonymous)
 * @ulen: its length
 * @cid: client id
 * @clen: its length
 */
struct kmq_acl_who {
	const u8 *user;
	u32 ulen;
	const u8 *cid;
	u32 clen;
};

/**
 * struct kmq_acl_rule_view - one rule, as a view
 * @pat: the pattern (a topic filter; %u/%c if @subst)
 * @plen: its length
 * @access: enum kmq_acl_access
 * @subst: substitute %u and %c (rules of kind "pattern")
 */
struct kmq_acl_rule_view {
	const u8 *pat;
	u32 plen;
	u8 access;
	bool subst;
};

/*
 * Is @p usable as a rule pattern?  A valid topic filter (section 4.7)
 * without U+0000; UTF-8 is the caller's business.
 */
bool kmq_acl_pattern_valid(const u8 *p, u32 len);

/*
 * kmq_acl_verdict() - what rule @r says about @op on @t for @who
 *
 * READ and WRITE: @t is a topic name; the rule applies if its pattern
 * matches @t (with the $-rule of 4.7.2: a pattern starting with a
 * wildcard does not match a topic starting with '$').
 * SUBSCRIBE: @t is a topic filter; an allow rule with read access
 * applies if some topic name matches both its pattern and @t, a deny
 * rule if its pattern matches every topic name @t matches.
 */
int kmq_acl_verdict(const struct kmq_acl_rule_view *r,
		    const struct kmq_acl_who *who, int op,
		    const u8 *t, u32 tlen);

/* Set comparisons of two filters (no substitution), for the tests. */
bool kmq_filter_overlap(const u8 *a, u32 alen, const u8 *b, u32 blen);
bool kmq_filter_covers(const u8 *a, u32 alen, const u8 *b, u32 blen);

/* ---- password hashes (mosquitto_passwd's file format) ---- */

#define KMQ_PW_HASH_LEN		64	/* SHA-512 */
#define KMQ_PW_SALT_MAX		64
#define KMQ_PW_ITER_MAX		1000000
/* "$7$" + 7 digits + "$" + base64(64) + "$" + base64(64), and a NUL */
#define KMQ_PW_STR_MAX		(3 + 7 + 1 + 88 + 1 + 88 + 1)

enum kmq_pw_algo {
	KMQ_PW_SHA512 = 6,	/* "$6$salt$hash": SHA-512(password || salt) */
	KMQ_PW_PBKDF2 = 7,	/* "$7$iter$salt$hash": PBKDF2-HMAC-SHA-512 */
};

/**
 * struct kmq_pwhash - a parsed password hash
 * @algo: enum kmq_pw_algo
 * @salt_len: bytes of @salt (1..KMQ_PW_SALT_MAX)
 * @iterations: PBKDF2 iterations (1..KMQ_PW_ITER_MAX), 1 for SHA512
 * @salt: the salt
 * @hash: the 64-byte digest
 */
struct kmq_pwhash {
	u8 algo;
	u8 salt_len;
	u32 iterations;
	u8 salt[KMQ_PW_SALT_MAX];
	u8 hash[KMQ_PW_HASH_LEN];
};

/*
 * Parse "$7$ITER$SALT$HASH" or "$6$SALT$HASH" (standard base64, padding
 * optional).  Return: 0, or -1 if malformed or out of bounds.
 */
int kmq_pwhash_parse(const char *s, u32 len, struct kmq_pwhash *h);

/*
 * Format @h like mosquitto_passwd into @buf (KMQ_PW_STR_MAX bytes),
 * NUL-terminated.  Return: the length.
 */
u32 kmq_pwhash_format(const struct kmq_pwhash *h, char *buf);

/* Standard base64 with padding; @out needs 4 * ((len + 2) / 3) bytes. */
u32 kmq_base64_encode(const u8 *in, u32 len, char *out);
/*
 * Decode standard base64 (padding optional, nothing else allowed) into
 * at most @cap bytes.  Return: the length, or -1.
 */
int kmq_base64_decode(const char *in, u32 len, u8 *out, u32 cap);

#endif /* _KMQ_ACL_H */
