// SPDX-License-Identifier: GPL-2.0
/*
 * trie.c - the subscription table.
 *
 * Nodes are filter levels.  Every node (wildcards included) lives in one
 * chained hash table per trie keyed by (parent, level bytes), so a node
 * with any number of children finds one in O(1); '+' and '#' children are
 * also reachable directly through ->plus and ->multi.  Subscriptions hang
 * off their node in a doubly linked list and are also indexed by
 * (node, owner) in a second hash table, so that neither add nor delete
 * scans a long list.
 *
 * Matching is a depth-first walk without recursion and without a stack:
 * it goes back up through ->parent and recomputes the topic offset of the
 * parent level by scanning back to the previous '/'.  It therefore needs
 * no memory at all, writes nothing, and readers may run concurrently.
 */
#include "kmq_shim.h"
#include "trie.h"

#define HT_MIN_BITS	4
#define HT_MAX_BITS	18	/* 2 MiB of buckets on 64-bit */

struct kmq_hlink {
	struct kmq_hlink *next;
	u32 hval;
};

struct kmq_htab {
	struct kmq_hlink **b;
	u32 bits;
	u32 n;
};

struct kmq_sub;

struct kmq_node {
	struct kmq_hlink link;		/* must be first */
	struct kmq_node *parent;
	struct kmq_node *plus;		/* the '+' child */
	struct kmq_node *multi;		/* the '#' child */
	struct kmq_sub *subs;
	u32 nchild;
	u32 len;
	u8 name[];
};

struct kmq_sub {
	struct kmq_hlink link;		/* must be first */
	struct kmq_node *node;
	void *owner;
	struct kmq_sub *next;
	struct kmq_sub *prev;
	u8 qos;
};

struct kmq_trie {
	struct kmq_node *root;
	struct kmq_htab nodes;
	struct kmq_htab subs;
	u64 nnodes;
	u64 nsubs;
	u32 seed;
};

/* ---- hashing ---------------------------------------------------------- */

static u32 mix32(u32 h)
{
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	return h;
}

static u32 ptr_hash(u32 h, const void *p)
{
	u64 v = (u64)(uintptr_t)p;

	h = mix32(h ^ (u32)v);
	return mix32(h ^ (u32)(v >> 32));
}

static u32 node_hash(const struct kmq_trie *t, const struct kmq_node *parent,
		     const u8 *name, u32 len)
{
	u32 h = ptr_hash(t->seed, parent);
	u32 i;

	for (i = 0; i < len; i++)
		h = (h ^ name[i]) * 0x01000193u;
	return mix32(h ^ len);
}

static u32 sub_hash(const struct kmq_trie *t, const struct kmq_node *node,
		    const void *owner)
{
	return ptr_hash(ptr_hash(t->seed, node), owner);
}

/* ---- chained hash table ----------------------------------------------- */

static struct kmq_hlink **ht_buckets(u32 bits)
{
	return kmq_zalloc(sizeof(struct kmq_hlink *) * ((size_t)1 << bits));
}

static int ht_init(struct kmq_htab *h)
{
	h->b = ht_buckets(HT_MIN_BITS);
	if (!h->b)
		return -1;
	h->bits = HT_MIN_BITS;
	h->n = 0;
	return 0;
}

static u32 ht_slot(const struct kmq_htab *h, u32 hval)
{
	return hval & ((1u << h->bits) - 1);
}

/* Best effort: on allocation failure the table keeps its size. */
static void ht_resize(struct kmq_htab *h, u32 bits)
{
	struct kmq_hlink **nb, *l, *next;
	u32 i, old = 1u << h->bits;

	nb = ht_buckets(bits);
	if (!nb)
		return;
	for (i = 0; i < old; i++) {
		for (l = h->b[i]; l; l = next) {
			u32 s = l->hval & ((1u << bits) - 1);

			next = l->next;
			l->next = nb[s];
			nb[s] = l;
		}
	}
	kmq_free(h->b);
	h->b = nb;
	h->bits = bits;
}

static void ht_insert(struct kmq_htab *h, struct kmq_hlink *l, u32 hval)
{
	u32 s = ht_slot(h, hval);

	l->hval = hval;
	l->next = h->b[s];
	h->b[s] = l;
	h->n++;
	if (h->n > (1u << h->bits) && h->bits < HT_MAX_BITS)
		ht_resize(h, h->bits + 1);
}

static void ht_remove(struct kmq_htab *h, struct kmq_hlink *l)
{
	struct kmq_hlink **pp = &h->b[ht_slot(h, l->hval)];

	while (*pp != l)
		pp = &(*pp)->next;
	*pp = l->next;
	l->next = NULL;
	h->n--;
}

/*
 * Give memory back after many deletions.  Called from kmq_trie_add() only,
 * so that kmq_trie_del() never allocates.
 */
static void ht_maybe_shrink(struct kmq_htab *h)
{
	u32 bits = HT_MIN_BITS;

	if (h->bits == HT_MIN_BITS || h->n >= (1u << h->bits) / 8)
		return;
	while ((1u << bits) < 2 * h->n)
		bits++;
	if (bits < h->bits)
		ht_resize(h, bits);
}

/* ---- nodes and subscriptions ------------------------------------------ */

static bool is_plus(const u8 *s, u32 len)
{
	return len == 1 && s[0] == '+';
}

static bool is_multi(const u8 *s, u32 len)
{
	return len == 1 && s[0] == '#';
}

static u32 level_end(const u8 *s, u32 len, u32 i)
{
	while (i < len && s[i] != '/')
		i++;
	return i;
}

/* The child of @p named exactly @name (wildcards included), or NULL. */
static struct kmq_node *find_child(const struct kmq_trie *t,
				   const struct kmq_node *p,
				   const u8 *name, u32 len)
{
	struct kmq_hlink *l;
	u32 hval;

	if (is_plus(name, len))
		return p->plus;
	if (is_multi(name, len))
		return p->multi;
	hval = node_hash(t, p, name, len);
	for (l = t->nodes.b[ht_slot(&t->nodes, hval)]; l; l = l->next) {
		struct kmq_node *n = (struct kmq_node *)l;

		if (l->hval == hval && n->parent == p && n->len == len &&
		    !memcmp(n->name, name, len))
			return n;
	}
	return NULL;
}

static struct kmq_sub *find_sub(const struct kmq_trie *t,
				const struct kmq_node *n, const void *owner)
{
	struct kmq_hlink *l;
	u32 hval = sub_hash(t, n, owner);

	for (l = t->subs.b[ht_slot(&t->subs, hval)]; l; l = l->next) {
		struct kmq_sub *s = (struct kmq_sub *)l;

		if (l->hval == hval && s->node == n && s->owner == owner)
			return s;
	}
	return NULL;
}

static struct kmq_node *node_alloc(const u8 *name, u32 len)
{
	struct kmq_node *n;

	n = kmq_zalloc(sizeof(*n) + (size_t)len);
	if (!n)
		return NULL;
	n->len = len;
	if (len)
		memcpy(n->name, name, len);
	return n;
}

/* Hook @n (whose ->parent is set) under its parent. */
static void link_child(struct kmq_trie *t, struct kmq_node *n)
{
	struct kmq_node *p = n->parent;

	if (is_plus(n->name, n->len))
		p->plus = n;
	else if (is_multi(n->name, n->len))
		p->multi = n;
	ht_insert(&t->nodes, &n->link, node_hash(t, p, n->name, n->len));
	p->nchild++;
	t->nnodes++;
}

static void unlink_child(struct kmq_trie *t, struct kmq_node *n)
{
	struct kmq_node *p = n->parent;

	if (p->plus == n)
		p->plus = NULL;
	else if (p->multi == n)
		p->multi = NULL;
	ht_remove(&t->nodes, &n->link);
	p->nchild--;
	t->nnodes--;
}

/* ---- API -------------------------------------------------------------- */

struct kmq_trie *kmq_trie_new(void)
{
	struct kmq_trie *t;

	t = kmq_zalloc(sizeof(*t));
	if (!t)
		return NULL;
	t->root = node_alloc(NULL, 0);
	if (!t->root)
		goto fail;
	if (ht_init(&t->nodes))
		goto fail;
	if (ht_init(&t->subs))
		goto fail;
	t->seed = mix32((u32)(uintptr_t)t ^ (u32)((u64)(uintptr_t)t >> 32));
	return t;
fail:
	kmq_free(t->nodes.b);
	kmq_free(t->root);
	kmq_free(t);
	return NULL;
}

void kmq_trie_free(struct kmq_trie *t)
{
	struct kmq_hlink *l, *next;
	u32 i;

	if (!t)
		return;
	/* The trie should be empty; free whatever is left anyway. */
	for (i = 0; i < (1u << t->subs.bits); i++)
		for (l = t->subs.b[i]; l; l = next) {
			next = l->next;
			kmq_free(l);
		}
	for (i = 0; i < (1u << t->nodes.bits); i++)
		for (l = t->nodes.b[i]; l; l = next) {
			next = l->next;
			kmq_free(l);
		}
	kmq_free(t->subs.b);
	kmq_free(t->nodes.b);
	kmq_free(t->root);
	kmq_free(t);
}

int kmq_trie_add(struct kmq_trie *t, const u8 *filter, u32 flen,
		 void *owner, u8 qos)
{
	struct kmq_node *node = t->root, *last, *n, *c;
	struct kmq_sub *s;
	u32 i = 0, e;
	bool found = false;

	ht_maybe_shrink(&t->nodes);
	ht_maybe_shrink(&t->subs);

	/* Follow the existing part of the path. */
	for (;;) {
		e = level_end(filter, flen, i);
		c = find_child(t, node, filter + i, e - i);
		if (!c)
			break;
		node = c;
		if (e == flen) {
			found = true;
			break;
		}
		i = e + 1;
	}
	if (found) {
		s = find_sub(t, node, owner);
		if (s) {
			s->qos = qos;
			return 0;
		}
	}

	/* Allocate everything missing before touching the trie. */
	s = kmq_zalloc(sizeof(*s));
	if (!s)
		return -1;
	last = node;
	if (!found) {
		for (;;) {
			e = level_end(filter, flen, i);
			n = node_alloc(filter + i, e - i);
			if (!n)
				goto fail;
			n->parent = last;
			last = n;
			if (e == flen)
				break;
			i = e + 1;
		}
	}

	/* Commit: nothing below can fail. */
	for (n = last; n != node; n = n->parent)
		link_child(t, n);
	s->node = last;
	s->owner = owner;
	s->qos = qos;
	s->next = last->subs;
	if (s->next)
		s->next->prev = s;
	last->subs = s;
	ht_insert(&t->subs, &s->link, sub_hash(t, last, owner));
	t->nsubs++;
	return 1;

fail:
	while (last != node) {
		n = last;
		last = last->parent;
		kmq_free(n);
	}
	kmq_free(s);
	return -1;
}

int kmq_trie_del(struct kmq_trie *t, const u8 *filter, u32 flen,
		 void *owner)
{
	struct kmq_node *node = t->root, *p;
	struct kmq_sub *s;
	u32 i = 0, e;

	for (;;) {
		e = level_end(filter, flen, i);
		node = find_child(t, node, filter + i, e - i);
		if (!node)
			return 0;
		if (e == flen)
			break;
		i = e + 1;
	}
	s = find_sub(t, node, owner);
	if (!s)
		return 0;

	if (s->prev)
		s->prev->next = s->next;
	else
		node->subs = s->next;
	if (s->next)
		s->next->prev = s->prev;
	ht_remove(&t->subs, &s->link);
	kmq_free(s);
	t->nsubs--;

	while (node != t->root && !node->subs && !node->nchild) {
		p = node->parent;
		unlink_child(t, node);
		kmq_free(node);
		node = p;
	}
	return 1;
}

static u32 visit(const struct kmq_node *n, kmq_trie_fn fn, void *ctx)
{
	const struct kmq_sub *s;
	u32 cnt = 0;

	for (s = n->subs; s; s = s->next) {
		if (fn)
			fn(ctx, s->owner, s->qos);
		cnt++;
	}
	return cnt;
}

/*
 * Depth-first walk.  @node has consumed the topic levels before offset
 * @off; @off == @tlen + 1 means the whole topic is consumed.  Children are
 * tried exact first, then '+'; '#' children are visited on the spot.
 */
u32 kmq_trie_match(const struct kmq_trie *t, const u8 *topic, u32 tlen,
		   kmq_trie_fn fn, void *ctx)
{
	const struct kmq_node *root = t->root, *node = root, *p, *c;
	bool dollar = tlen && topic[0] == '$';
	u32 off = 0, e, cnt = 0;

	for (;;) {
		/* Entering @node at @off. */
		bool wild = !(node == root && dollar);

		if (node->multi && wild)
			cnt += visit(node->multi, fn, ctx);
		if (off > tlen) {
			cnt += visit(node, fn, ctx);
		} else {
			e = level_end(topic, tlen, off);
			c = find_child(t, node, topic + off, e - off);
			if (c == node->plus || c == node->multi)
				c = NULL;	/* not a valid topic level */
			if (!c && wild)
				c = node->plus;
			if (c) {
				node = c;
				off = e + 1;
				continue;
			}
		}

		/* Go back up until a '+' sibling is still to be tried. */
		for (;;) {
			if (node == root)
				return cnt;
			p = node->parent;
			if (node != p->plus && p->plus &&
			    !(p == root && dollar)) {
				node = p->plus;
				break;	/* same @off */
			}
			/* Start of the level that ends at @off - 1. */
			e = off - 1;
			while (e > 0 && topic[e - 1] != '/')
				e--;
			off = e;
			node = p;
		}
	}
}

void kmq_trie_get_stats(const struct kmq_trie *t, struct kmq_trie_stats *st)
{
	st->nodes = t->nnodes;
	st->subs = t->nsubs;
}
