/* SPDX-License-Identifier: GPL-2.0 */
/*
 * trie.h - the subscription table: topic filters split into levels.
 *
 * Each node is one level of a filter ("a", "+", "#", "" ...); the
 * subscriptions hang off the node of their last level.  Lookup of a
 * child is by hash, so a node with 10,000 children costs O(1) per level.
 *
 * The trie does no locking.  The caller serialises writers
 * (kmq_trie_add/kmq_trie_del) against each other and against readers
 * (kmq_trie_match); readers may run concurrently with each other.
 * Allocation goes through kmq_zalloc(), which may fail: every operation
 * that allocates returns -1 on failure and leaves the trie unchanged.
 */
#ifndef _KMQ_TRIE_H
#define _KMQ_TRIE_H

#include "kmq_shim.h"

struct kmq_trie;

/**
 * struct kmq_trie_stats - live objects held by a trie
 * @nodes: allocated nodes (excluding the root)
 * @subs: subscriptions
 */
struct kmq_trie_stats {
	u64 nodes;
	u64 subs;
};

/* Create an empty trie; NULL on allocation failure. */
struct kmq_trie *kmq_trie_new(void);
/* Free a trie; it must be empty (every subscription deleted). */
void kmq_trie_free(struct kmq_trie *t);

/**
 * kmq_trie_add() - subscribe @owner to @filter with @qos
 *
 * @filter must be a valid filter.  If @owner already holds exactly this
 * filter, its QoS is replaced.
 *
 * Return: 1 if a new subscription was added, 0 if an existing one was
 * updated, -1 on allocation failure.
 */
int kmq_trie_add(struct kmq_trie *t, const u8 *filter, u32 flen,
		 void *owner, u8 qos);

/**
 * kmq_trie_del() - remove @owner's subscription to @filter
 *
 * Nodes left without subscriptions and children are freed.  Never
 * allocates (hash tables shrink lazily in kmq_trie_add()), so it cannot
 * fail.
 *
 * Return: 1 if removed, 0 if @owner had no such subscription.
 */
int kmq_trie_del(struct kmq_trie *t, const u8 *filter, u32 flen,
		 void *owner);

/* Called once per matching subscription. */
typedef void (*kmq_trie_fn)(void *ctx, void *owner, u8 qos);

/**
 * kmq_trie_match() - visit every subscription whose filter matches @topic
 *
 * @topic must be a valid topic name.  An owner holding several matching
 * filters is visited once per filter.  The $-rule of 4.7.2 applies.
 * @fn may be NULL to only count.  Matching allocates nothing, writes
 * nothing in the trie and uses constant stack whatever the topic depth.
 *
 * Return: the number of visits.
 */
u32 kmq_trie_match(const struct kmq_trie *t, const u8 *topic, u32 tlen,
		   kmq_trie_fn fn, void *ctx);

/* Live object counts. */
void kmq_trie_get_stats(const struct kmq_trie *t, struct kmq_trie_stats *st);

#endif /* _KMQ_TRIE_H */
