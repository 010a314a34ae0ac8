// SPDX-License-Identifier: GPL-2.0
/*
 * auth.c - who may connect, and to what: users with passwords, anonymous
 * access and ACL rules (Documentation/kmqttd.rst, "Authentication and
 * authorization").
 *
 * Users and rules belong to a namespace.  Writers (the netlink handlers)
 * hold kn->auth_lock; readers (CONNECT, SUBSCRIBE, PUBLISH, routing)
 * walk the hash tables and lists under rcu_read_lock() and never sleep
 * there.  Removed objects are freed after a grace period; module exit
 * waits for those callbacks (rcu_barrier()) before checking the live
 * object counters.
 *
 * Passwords are kept as PBKDF2-HMAC-SHA512 hashes in mosquitto_passwd's
 * format, or, when imported, as Mosquitto's older salted SHA-512.  Each
 * PBKDF2 iteration costs two SHA-512 blocks.  A CONNECT is verified on an
 * unbound workqueue while the connection's io_work sleeps in flush_work(),
 * so a slow hash does not hold up other connections on a per-CPU pool.
 */
#include <linux/slab.h>
#include <linux/jhash.h>
#include <linux/random.h>
#include <linux/rculist.h>
#include <linux/workqueue.h>
#include <linux/string.h>
#include <crypto/hash.h>
#include <crypto/algapi.h>
#include <net/genetlink.h>
#include <linux/kmqttd.h>

#include "kmqttd.h"
#include "core/acl.h"

#define KMQ_SALT_LEN	16

/**
 * struct kmq_user - a user who may log in
 * @hnode: in kn->users (RCU)
 * @rcu: deferred free
 * @pw: the password hash
 * @len: length of @name
 * @name: NUL-terminated
 */
struct kmq_user {
	struct hlist_node hnode;
	struct rcu_head rcu;
	struct kmq_pwhash pw;
	u16 len;
	char name[];
};

/**
 * struct kmq_acl_user - the "topic" rules of one user name
 * @hnode: in kn->acl_users (RCU)
 * @rules: struct kmq_acl_rule (RCU)
 * @rcu: deferred free
 * @nrules: length of @rules; freed when it drops to 0
 * @len: length of @name
 * @name: NUL-terminated
 */
struct kmq_acl_user {
	struct hlist_node hnode;
	struct list_head rules;
	struct rcu_head rcu;
	u32 nrules;
	u16 len;
	char name[];
};

/**
 * struct kmq_acl_rule - one ACL rule
 * @node: in its list (RCU)
 * @rcu: deferred free
 * @access: enum kmq_acl_access
 * @len: length of @pattern
 * @pattern: NUL-terminated topic filter
 */
struct kmq_acl_rule {
	struct list_head node;
	struct rcu_head rcu;
	u8 access;
	u16 len;
	char pattern[];
};

static struct workqueue_struct *kmq_auth_wq;
static u32 kmq_auth_seed __read_mostly;

static u32 kmq_name_bucket(const void *name, u32 len)
{
	return jhash(name, len, kmq_auth_seed) >> (32 - KMQ_AUTH_HASH_BITS);
}

/* ---- hashing ---- */

/* PBKDF2 (RFC 8018) with HMAC-SHA-512, one 64-byte block. */
static int kmq_pbkdf2(const u8 *pw, u32 pwlen, const u8 *salt, u32 slen,
		      u32 iterations, u8 *out)
{
	u8 u[KMQ_PW_HASH_LEN], t[KMQ_PW_HASH_LEN];
	__be32 one = cpu_to_be32(1);
	struct crypto_shash *tfm;
	u32 i, k;
	int ret;

	tfm = crypto_alloc_shash("hmac(sha512)", 0, 0);
	if (IS_ERR(tfm))
		return PTR_ERR(tfm);
	ret = crypto_shash_setkey(tfm, pw, pwlen);
	if (ret)
		goto out_free;
	{
		SHASH_DESC_ON_STACK(desc, tfm);

		desc->tfm = tfm;
		ret = crypto_shash_init(desc);
		if (!ret)
			ret = crypto_shash_update(desc, salt, slen);
		if (!ret)
			ret = crypto_shash_finup(desc, (const u8 *)&one,
						 sizeof(one), u);
		memcpy(out, u, sizeof(u));
		for (i = 1; !ret && i < iterations; i++) {
			ret = crypto_shash_digest(desc, u, sizeof(u), t);
			memcpy(u, t, sizeof(u));
			for (k = 0; k < sizeof(u); k++)
				out[k] ^= u[k];
			if (!(i & 255))
				cond_resched();
		}
		shash_desc_zero(desc);
	}
	memzero_explicit(u, sizeof(u));
	memzero_explicit(t, sizeof(t));
out_free:
	crypto_free_shash(tfm);
	return ret;
}

/* Mosquitto's "$6$": SHA-512(password || salt). */
static int kmq_sha512_salted(const u8 *pw, u32 pwlen, const u8 *salt,
			     u32 slen, u8 *out)
{
	struct crypto_shash *tfm;
	int ret;

	tfm = crypto_alloc_shash("sha512", 0, 0);
	if (IS_ERR(tfm))
		return PTR_ERR(tfm);
	{
		SHASH_DESC_ON_STACK(desc, tfm);

		desc->tfm = tfm;
		ret = crypto_shash_init(desc);
		if (!ret)
			ret = crypto_shash_update(desc, pw, pwlen);
		if (!ret)
			ret = crypto_shash_finup(desc, salt, slen, out);
		shash_desc_zero(desc);
	}
	crypto_free_shash(tfm);
	return ret;
}

static int kmq_pw_compute(const struct kmq_pwhash *h, const u8 *pw, u32 len,
			  u8 *out)
{
	if (h->algo == KMQ_PW_SHA512)
		return kmq_sha512_salted(pw, len, h->salt, h->salt_len, out);
	return kmq_pbkdf2(pw, len, h->salt, h->salt_len, h->iterations, out);
}

/**
 * kmq_user_hash() - hash a new password with a random salt
 * @pw: the password
 * @len: its length
 * @iterations: PBKDF2 iterations (1..KMQ_PW_ITER_MAX)
 * @h: filled with the result
 *
 * Context: process context; sleeps, costs 2 * @iterations SHA-512 blocks.
 * Return: 0 or a negative errno of the crypto API.
 */
int kmq_user_hash(const u8 *pw, u32 len, u32 iterations, struct kmq_pwhash *h)
{
	memset(h, 0, sizeof(*h));
	h->algo = KMQ_PW_PBKDF2;
	h->iterations = iterations;
	h->salt_len = KMQ_SALT_LEN;
	get_random_bytes(h->salt, KMQ_SALT_LEN);
	return kmq_pw_compute(h, pw, len, h->hash);
}

/**
 * struct kmq_pw_job - a password verification on kmq_auth_wq
 * @work: the work item (on the waiter's stack)
 * @h: the stored hash
 * @pw: the password to check
 * @len: its length
 * @ret: 0 if it matches, -EACCES if not, another errno on failure
 */
struct kmq_pw_job {
	struct work_struct work;
	const struct kmq_pwhash *h;
	const u8 *pw;
	u32 len;
	int ret;
};

static void kmq_pw_work(struct work_struct *work)
{
	struct kmq_pw_job *job = container_of(work, struct kmq_pw_job, work);
	u8 out[KMQ_PW_HASH_LEN];

	job->ret = kmq_pw_compute(job->h, job->pw, job->len, out);
	if (!job->ret && crypto_memneq(out, job->h->hash, sizeof(out)))
		job->ret = -EACCES;
	memzero_explicit(out, sizeof(out));
}

/* Context: process context; sleeps until the hash is computed. */
static int kmq_pw_verify(const struct kmq_pwhash *h, const u8 *pw, u32 len)
{
	struct kmq_pw_job job = { .h = h, .pw = pw, .len = len };

	INIT_WORK_ONSTACK(&job.work, kmq_pw_work);
	queue_work(kmq_auth_wq, &job.work);
	flush_work(&job.work);
	destroy_work_on_stack(&job.work);
	return job.ret;
}

/* ---- users ---- */

/* Context: rcu_read_lock() or kn->auth_lock held. */
static struct kmq_user *kmq_user_find(struct kmq_net *kn, const void *name,
				      u32 len)
{
	struct kmq_user *u;

	hlist_for_each_entry_rcu(u, &kn->users[kmq_name_bucket(name, len)],
				 hnode, lockdep_is_held(&kn->auth_lock))
		if (u->len == len && !memcmp(u->name, name, len))
			return u;
	return NULL;
}

static void kmq_user_free_rcu(struct rcu_head *head)
{
	kfree_sensitive(container_of(head, struct kmq_user, rcu));
	atomic_dec(&kmq_live.users);
}

/**
 * kmq_user_set() - add a user or replace its password
 * @kn: namespace state
 * @name: NUL-terminated user name (validated by the caller)
 * @pw: the password hash
 *
 * Connections already open are not affected.
 *
 * Context: process context; takes kn->auth_lock.
 * Return: 0 or -ENOMEM.
 */
int kmq_user_set(struct kmq_net *kn, const char *name,
		 const struct kmq_pwhash *pw)
{
	u32 len = strlen(name);
	struct kmq_user *u, *old;

	u = kmalloc(struct_size(u, name, len + 1), GFP_KERNEL);
	if (!u)
		return -ENOMEM;
	atomic_inc(&kmq_live.users);
	u->pw = *pw;
	u->len = len;
	memcpy(u->name, name, len + 1);

	mutex_lock(&kn->auth_lock);
	old = kmq_user_find(kn, name, len);
	if (old) {
		hlist_replace_rcu(&old->hnode, &u->hnode);
		call_rcu(&old->rcu, kmq_user_free_rcu);
	} else {
		hlist_add_head_rcu(&u->hnode,
				   &kn->users[kmq_name_bucket(name, len)]);
		WRITE_ONCE(kn->nusers, kn->nusers + 1);
	}
	mutex_unlock(&kn->auth_lock);
	return 0;
}

/* Context: kn->auth_lock held. */
static void kmq_user_unlink(struct kmq_net *kn, struct kmq_user *u)
{
	hlist_del_rcu(&u->hnode);
	WRITE_ONCE(kn->nusers, kn->nusers - 1);
	call_rcu(&u->rcu, kmq_user_free_rcu);
}

/**
 * kmq_user_del() - delete a user
 * @kn: namespace state
 * @name: NUL-terminated user name
 *
 * Context: process context; takes kn->auth_lock.
 * Return: 0 or -ENOENT.
 */
int kmq_user_del(struct kmq_net *kn, const char *name)
{
	struct kmq_user *u;

	mutex_lock(&kn->auth_lock);
	u = kmq_user_find(kn, name, strlen(name));
	if (u)
		kmq_user_unlink(kn, u);
	mutex_unlock(&kn->auth_lock);
	return u ? 0 : -ENOENT;
}

/**
 * kmq_user_clear() - delete every user of a namespace
 * @kn: namespace state
 *
 * Context: process context; takes kn->auth_lock.
 * Return: the number of users deleted.
 */
u32 kmq_user_clear(struct kmq_net *kn)
{
	struct kmq_user *u;
	struct hlist_node *tmp;
	u32 i, n = 0;

	mutex_lock(&kn->auth_lock);
	for (i = 0; i < ARRAY_SIZE(kn->users); i++) {
		hlist_for_each_entry_safe(u, tmp, &kn->users[i], hnode) {
			kmq_user_unlink(kn, u);
			n++;
		}
	}
	mutex_unlock(&kn->auth_lock);
	return n;
}

/* ---- ACL rules ---- */

/* Context: rcu_read_lock() or kn->auth_lock held. */
static struct kmq_acl_user *kmq_acl_user_find(struct kmq_net *kn,
					      const void *name, u32 len)
{
	struct kmq_acl_user *au;

	hlist_for_each_entry_rcu(au,
				 &kn->acl_users[kmq_name_bucket(name, len)],
				 hnode, lockdep_is_held(&kn->auth_lock))
		if (au->len == len && !memcmp(au->name, name, len))
			return au;
	return NULL;
}

static void kmq_acl_rule_free_rcu(struct rcu_head *head)
{
	kfree(container_of(head, struct kmq_acl_rule, rcu));
	atomic_dec(&kmq_live.acl);
}

static void kmq_acl_user_free_rcu(struct rcu_head *head)
{
	kfree(container_of(head, struct kmq_acl_user, rcu));
	atomic_dec(&kmq_live.acl);
}

/*
 * The list that rules of @kind and @user go to; with @create, a missing
 * user's list is created (NULL if that fails).  *@au is set to the
 * user's entry, or NULL for the anonymous and pattern lists.
 * Context: kn->auth_lock held.
 */
static struct list_head *kmq_acl_list(struct kmq_net *kn, int kind,
				      const char *user, bool create,
				      struct kmq_acl_user **au)
{
	u32 len;

	*au = NULL;
	if (kind == KMQTTD_ACL_PATTERN)
		return &kn->acl_patterns;
	if (!user)
		return &kn->acl_anon;
	len = strlen(user);
	*au = kmq_acl_user_find(kn, user, len);
	if (*au || !create)
		return *au ? &(*au)->rules : NULL;
	*au = kmalloc(struct_size(*au, name, len + 1), GFP_KERNEL);
	if (!*au)
		return NULL;
	atomic_inc(&kmq_live.acl);
	INIT_LIST_HEAD(&(*au)->rules);
	(*au)->nrules = 0;
	(*au)->len = len;
	memcpy((*au)->name, user, len + 1);
	hlist_add_head_rcu(&(*au)->hnode,
			   &kn->acl_users[kmq_name_bucket(user, len)]);
	return &(*au)->rules;
}

/* Context: kn->auth_lock held. */
static struct kmq_acl_rule *kmq_acl_find(struct list_head *head, u8 access,
					 const char *pattern, u32 len)
{
	struct kmq_acl_rule *r;

	list_for_each_entry(r, head, node)
		if (r->access == access && r->len == len &&
		    !memcmp(r->pattern, pattern, len))
			return r;
	return NULL;
}

/* Context: kn->auth_lock held. */
static void kmq_acl_unlink(struct kmq_net *kn, struct kmq_acl_user *au,
			   struct kmq_acl_rule *r)
{
	list_del_rcu(&r->node);
	call_rcu(&r->rcu, kmq_acl_rule_free_rcu);
	WRITE_ONCE(kn->nacl, kn->nacl - 1);
	if (au && !--au->nrules) {
		hlist_del_rcu(&au->hnode);
		call_rcu(&au->rcu, kmq_acl_user_free_rcu);
	}
}

/**
 * kmq_acl_add() - add an ACL rule
 * @kn: namespace state
 * @kind: KMQTTD_ACL_TOPIC or KMQTTD_ACL_PATTERN
 * @user: user name of a topic rule, NULL for anonymous clients (and for
 *	pattern rules)
 * @access: enum kmq_acl_access
 * @pattern: NUL-terminated, valid (kmq_acl_pattern_valid())
 *
 * Context: process context; takes kn->auth_lock.
 * Return: 0, -EEXIST or -ENOMEM.
 */
int kmq_acl_add(struct kmq_net *kn, int kind, const char *user, u8 access,
		const char *pattern)
{
	u32 len = strlen(pattern);
	struct kmq_acl_user *au;
	struct kmq_acl_rule *r;
	struct list_head *head;
	int ret = 0;

	r = kmalloc(struct_size(r, pattern, len + 1), GFP_KERNEL);
	if (!r)
		return -ENOMEM;
	atomic_inc(&kmq_live.acl);
	r->access = access;
	r->len = len;
	memcpy(r->pattern, pattern, len + 1);

	mutex_lock(&kn->auth_lock);
	head = kmq_acl_list(kn, kind, user, true, &au);
	if (!head) {
		ret = -ENOMEM;
		goto err_free;
	}
	if (kmq_acl_find(head, access, pattern, len)) {
		ret = -EEXIST;
		goto err_free;
	}
	list_add_tail_rcu(&r->node, head);
	if (au)
		au->nrules++;
	WRITE_ONCE(kn->nacl, kn->nacl + 1);
	mutex_unlock(&kn->auth_lock);
	return 0;

err_free:
	mutex_unlock(&kn->auth_lock);
	kfree(r);
	atomic_dec(&kmq_live.acl);
	return ret;
}

/**
 * kmq_acl_del() - delete the ACL rule with exactly these fields
 * @kn: namespace state
 * @kind: KMQTTD_ACL_TOPIC or KMQTTD_ACL_PATTERN
 * @user: as for kmq_acl_add()
 * @access: enum kmq_acl_access
 * @pattern: NUL-terminated
 *
 * Context: process context; takes kn->auth_lock.
 * Return: 0 or -ENOENT.
 */
int kmq_acl_del(struct kmq_net *kn, int kind, const char *user, u8 access,
		const char *pattern)
{
	struct kmq_acl_rule *r = NULL;
	struct kmq_acl_user *au;
	struct list_head *head;

	mutex_lock(&kn->auth_lock);
	head = kmq_acl_list(kn, kind, user, false, &au);
	if (head)
		r = kmq_acl_find(head, access, pattern, strlen(pattern));
	if (r)
		kmq_acl_unlink(kn, au, r);
	mutex_unlock(&kn->auth_lock);
	return r ? 0 : -ENOENT;
}

/* Context: kn->auth_lock held. */
static u32 kmq_acl_clear_list(struct kmq_net *kn, struct kmq_acl_user *au,
			      struct list_head *head)
{
	struct kmq_acl_rule *r, *tmp;
	u32 n = 0;

	list_for_each_entry_safe(r, tmp, head, node) {
		kmq_acl_unlink(kn, au, r);
		n++;
	}
	return n;
}

/**
 * kmq_acl_clear() - delete every ACL rule of a namespace
 * @kn: namespace state
 *
 * Context: process context; takes kn->auth_lock.
 * Return: the number of rules deleted.
 */
u32 kmq_acl_clear(struct kmq_net *kn)
{
	struct kmq_acl_user *au;
	struct hlist_node *tmp;
	u32 i, n;

	mutex_lock(&kn->auth_lock);
	n = kmq_acl_clear_list(kn, NULL, &kn->acl_anon);
	n += kmq_acl_clear_list(kn, NULL, &kn->acl_patterns);
	for (i = 0; i < ARRAY_SIZE(kn->acl_users); i++)
		hlist_for_each_entry_safe(au, tmp, &kn->acl_users[i], hnode)
			n += kmq_acl_clear_list(kn, au, &au->rules);
	mutex_unlock(&kn->auth_lock);
	return n;
}

/*
 * Apply the rules of @head; false if one denies, else *@allow is set if
 * one allows.  Context: rcu_read_lock() held.
 */
static bool kmq_acl_walk(struct list_head *head, bool subst,
			 const struct kmq_acl_who *who, int op,
			 const u8 *t, u32 len, bool *allow)
{
	struct kmq_acl_rule_view v = { .subst = subst };
	struct kmq_acl_rule *r;

	list_for_each_entry_rcu(r, head, node) {
		v.pat = (const u8 *)r->pattern;
		v.plen = r->len;
		v.access = r->access;
		switch (kmq_acl_verdict(&v, who, op, t, len)) {
		case KMQ_ACL_DENIED:
			return false;
		case KMQ_ACL_ALLOW:
			*allow = true;
			break;
		}
	}
	return true;
}

/**
 * kmq_acl_check() - may a session's client do @op on @t?
 * @kn: namespace state
 * @s: the session (its user name and client id)
 * @op: enum kmq_acl_op
 * @t: topic name (READ, WRITE) or filter (SUBSCRIBE)
 * @len: its length
 *
 * Without any rule in the namespace everything is allowed.  Otherwise
 * the client's "topic" rules (those of its user, or the anonymous ones)
 * and every "pattern" rule are applied: a denying rule wins, then an
 * allowing one; if none applies the operation is denied.
 *
 * Context: any; does not sleep.
 * Return: true if allowed.
 */
bool kmq_acl_check(struct kmq_net *kn, const struct kmq_session *s, int op,
		   const u8 *t, u32 len)
{
	struct kmq_acl_who who = {
		.user = (const u8 *)s->username,
		.ulen = s->username ? strlen(s->username) : 0,
		.cid = (const u8 *)s->client_id,
		.clen = s->id_len,
	};
	struct kmq_acl_user *au;
	struct list_head *head;
	bool allow = false;

	if (!READ_ONCE(kn->nacl))
		return true;
	rcu_read_lock();
	if (s->username) {
		au = kmq_acl_user_find(kn, who.user, who.ulen);
		head = au ? &au->rules : NULL;
	} else {
		head = &kn->acl_anon;
	}
	if ((head && !kmq_acl_walk(head, false, &who, op, t, len, &allow)) ||
	    !kmq_acl_walk(&kn->acl_patterns, true, &who, op, t, len, &allow))
		allow = false;
	rcu_read_unlock();
	return allow;
}

/* ---- CONNECT ---- */

static bool kmq_anonymous_ok(struct kmq_conn *conn)
{
	struct kmq_net *kn = conn->kn;
	u8 mode = conn->anonymous;

	if (mode == KMQ_ANON_INHERIT)
		mode = READ_ONCE(kn->set.allow_anonymous);
	switch (mode) {
	case KMQTTD_ANONYMOUS_ON:
		return true;
	case KMQTTD_ANONYMOUS_AUTO:
		return !READ_ONCE(kn->nusers) && !READ_ONCE(kn->nacl);
	}
	return false;
}

/**
 * kmq_auth_connect() - decide whether a CONNECT may go on
 * @conn: the connection
 * @c: its decoded CONNECT
 * @rc: set to the CONNACK return code of a refusal
 *
 * A user name that a user of the namespace has needs that user's
 * password; then conn->auth_user is set.  Any other user name is refused
 * while the namespace has users; without users it is accepted unverified
 * and the client counts as anonymous.  Anonymous clients need the
 * listener's, or else the namespace's, anonymous access.  An unknown
 * name costs the same hash as a wrong password.
 *
 * Context: the connection's io_work; sleeps.
 * Return: 0, or the enum kmq_reason of the refusal.
 */
int kmq_auth_connect(struct kmq_conn *conn, const struct kmq_connect *c,
		     u8 *rc)
{
	static const u8 empty[1];
	struct kmq_net *kn = conn->kn;
	struct kmq_pwhash pw;
	struct kmq_user *u;
	bool found = false;
	int ret;

	if (c->has_user) {
		rcu_read_lock();
		u = kmq_user_find(kn, c->user.p, c->user.len);
		if (u) {
			pw = u->pw;
			found = true;
		}
		rcu_read_unlock();
		if (found || READ_ONCE(kn->nusers)) {
			if (!found) {
				/* as costly as a real check, never matches */
				memset(&pw, 0, sizeof(pw));
				pw.algo = KMQ_PW_PBKDF2;
				pw.salt_len = KMQ_SALT_LEN;
				pw.iterations =
					READ_ONCE(kn->set.pw_iterations) ?: 1;
			}
			ret = kmq_pw_verify(&pw, c->has_pass ? c->pass.p : empty,
					    c->has_pass ? c->pass.len : 0);
			memzero_explicit(&pw, sizeof(pw));
			*rc = KMQ_CONNACK_BAD_AUTH;
			if (!found)
				return KMQ_R_UNKNOWN_USER;
			if (ret == -EACCES || (!ret && !c->has_pass))
				return KMQ_R_BAD_PASSWORD;
			*rc = KMQ_CONNACK_UNAVAILABLE;
			if (ret)
				return KMQ_R_NOMEM;
			conn->auth_user = kmemdup_nul(c->user.p, c->user.len,
						      GFP_KERNEL |
						      __GFP_NOWARN);
			return conn->auth_user ? 0 : KMQ_R_NOMEM;
		}
	}
	if (!kmq_anonymous_ok(conn)) {
		*rc = KMQ_CONNACK_NOT_AUTHORIZED;
		return KMQ_R_NOT_AUTHORIZED;
	}
	return 0;
}

/* ---- netlink dumps ---- */

static int kmq_user_fill(struct sk_buff *skb, const struct kmq_user *u)
{
	char buf[KMQ_PW_STR_MAX];

	kmq_pwhash_format(&u->pw, buf);
	if (nla_put_string(skb, KMQTTD_A_USER_NAME, u->name) ||
	    nla_put_u8(skb, KMQTTD_A_USER_ALGO, u->pw.algo) ||
	    nla_put_u32(skb, KMQTTD_A_USER_ITERATIONS, u->pw.iterations) ||
	    nla_put_string(skb, KMQTTD_A_USER_HASH, buf))
		return -EMSGSIZE;
	return 0;
}

/**
 * kmq_user_dump() - dump the users; resumes at (bucket, index) in
 *   cb->args[0..1]
 * @kn: namespace state
 * @skb: the dump buffer
 * @cb: the dump state
 * @fam: the netlink family
 *
 * Return: skb->len, or a negative errno.
 */
int kmq_user_dump(struct kmq_net *kn, struct sk_buff *skb,
		  struct netlink_callback *cb, struct genl_family *fam)
{
	struct kmq_user *u;
	long b, idx;
	int ret = 0;
	void *hdr;

	mutex_lock(&kn->auth_lock);
	for (b = cb->args[0]; b < ARRAY_SIZE(kn->users); b++) {
		idx = 0;
		hlist_for_each_entry(u, &kn->users[b], hnode) {
			if (idx++ < cb->args[1])
				continue;
			hdr = genlmsg_put(skb, NETLINK_CB(cb->skb).portid,
					  cb->nlh->nlmsg_seq, fam, NLM_F_MULTI,
					  KMQTTD_CMD_USER_GET);
			if (!hdr) {
				ret = -EMSGSIZE;
				goto out;
			}
			ret = kmq_user_fill(skb, u);
			if (ret) {
				genlmsg_cancel(skb, hdr);
				goto out;
			}
			genlmsg_end(skb, hdr);
			cb->args[0] = b;
			cb->args[1] = idx;
		}
		cb->args[0] = b + 1;
		cb->args[1] = 0;
	}
out:
	mutex_unlock(&kn->auth_lock);
	if (ret == -EMSGSIZE && skb->len)
		return skb->len;
	return ret ? ret : skb->len;
}

/**
 * kmq_user_get() - reply with one user
 * @kn: namespace state
 * @info: the request
 * @fam: the netlink family
 * @name: NUL-terminated user name
 *
 * Return: 0 or a negative errno (-ENOENT).
 */
int kmq_user_get(struct kmq_net *kn, struct genl_info *info,
		 struct genl_family *fam, const char *name)
{
	struct sk_buff *msg;
	struct kmq_user *u;
	void *hdr;
	int ret;

	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	hdr = genlmsg_put_reply(msg, info, fam, 0, KMQTTD_CMD_USER_GET);
	if (!hdr) {
		ret = -EMSGSIZE;
		goto err_free;
	}
	mutex_lock(&kn->auth_lock);
	u = kmq_user_find(kn, name, strlen(name));
	ret = u ? kmq_user_fill(msg, u) : -ENOENT;
	mutex_unlock(&kn->auth_lock);
	if (ret)
		goto err_free;
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);

err_free:
	nlmsg_free(msg);
	return ret;
}

struct kmq_acl_dump_ctx {
	struct sk_buff *skb;
	struct netlink_callback *cb;
	struct genl_family *fam;
	long pos;
};

/* Dump the rules of one list from position cb->args[0]. */
static int kmq_acl_dump_list(struct kmq_acl_dump_ctx *d, int kind,
			     const char *user, struct list_head *head)
{
	struct sk_buff *skb = d->skb;
	struct kmq_acl_rule *r;
	void *hdr;

	list_for_each_entry(r, head, node) {
		if (d->pos++ < d->cb->args[0])
			continue;
		hdr = genlmsg_put(skb, NETLINK_CB(d->cb->skb).portid,
				  d->cb->nlh->nlmsg_seq, d->fam, NLM_F_MULTI,
				  KMQTTD_CMD_ACL_GET);
		if (!hdr)
			return -EMSGSIZE;
		if (nla_put_u8(skb, KMQTTD_A_ACL_KIND, kind) ||
		    (user && nla_put_string(skb, KMQTTD_A_ACL_USER, user)) ||
		    nla_put_u8(skb, KMQTTD_A_ACL_ACCESS, r->access) ||
		    nla_put_string(skb, KMQTTD_A_ACL_PATTERN, r->pattern)) {
			genlmsg_cancel(skb, hdr);
			return -EMSGSIZE;
		}
		genlmsg_end(skb, hdr);
		d->cb->args[0] = d->pos;
	}
	return 0;
}

/**
 * kmq_acl_dump() - dump the ACL rules: anonymous ones, then each user's,
 *   then the patterns; resumes by position (cb->args[0])
 * @kn: namespace state
 * @skb: the dump buffer
 * @cb: the dump state
 * @fam: the netlink family
 *
 * Return: skb->len, or a negative errno.
 */
int kmq_acl_dump(struct kmq_net *kn, struct sk_buff *skb,
		 struct netlink_callback *cb, struct genl_family *fam)
{
	struct kmq_acl_dump_ctx d = { .skb = skb, .cb = cb, .fam = fam };
	struct kmq_acl_user *au;
	int ret;
	u32 i;

	mutex_lock(&kn->auth_lock);
	ret = kmq_acl_dump_list(&d, KMQTTD_ACL_TOPIC, NULL, &kn->acl_anon);
	for (i = 0; !ret && i < ARRAY_SIZE(kn->acl_users); i++)
		hlist_for_each_entry(au, &kn->acl_users[i], hnode) {
			ret = kmq_acl_dump_list(&d, KMQTTD_ACL_TOPIC, au->name,
						&au->rules);
			if (ret)
				break;
		}
	if (!ret)
		ret = kmq_acl_dump_list(&d, KMQTTD_ACL_PATTERN, NULL,
					&kn->acl_patterns);
	mutex_unlock(&kn->auth_lock);
	if (ret == -EMSGSIZE && skb->len)
		return skb->len;
	return ret ? ret : skb->len;
}

/* ---- namespace and module ---- */

void kmq_auth_net_init(struct kmq_net *kn)
{
	mutex_init(&kn->auth_lock);
	INIT_LIST_HEAD(&kn->acl_anon);
	INIT_LIST_HEAD(&kn->acl_patterns);
}

/* Context: no connection is left in the namespace. */
void kmq_auth_net_exit(struct kmq_net *kn)
{
	kmq_user_clear(kn);
	kmq_acl_clear(kn);
}

int __init kmq_auth_init(void)
{
	struct crypto_shash *tfm;

	kmq_auth_seed = get_random_u32();
	kmq_auth_wq = alloc_workqueue("kmqttd_auth", WQ_UNBOUND, 0);
	if (!kmq_auth_wq)
		return -ENOMEM;
	/* load the algorithms now rather than at the first CONNECT */
	tfm = crypto_alloc_shash("hmac(sha512)", 0, 0);
	if (IS_ERR(tfm))
		pr_warn("hmac(sha512) unavailable (%ld): passwords cannot be checked\n",
			PTR_ERR(tfm));
	else
		crypto_free_shash(tfm);
	return 0;
}

void kmq_auth_exit(void)
{
	destroy_workqueue(kmq_auth_wq);
}
