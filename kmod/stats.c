// SPDX-License-Identifier: GPL-2.0
/*
 * stats.c - counters and refusal accounting.
 */
#include <linux/percpu.h>
#include <linux/net.h>

#include "kmqttd.h"
#include "core/topic.h"

static const char * const kmq_reason_names[__KMQ_R_MAX] = {
	[KMQ_R_NONE] = "none",
	[KMQ_R_BAD_TYPE] = "reserved packet type",
	[KMQ_R_BAD_FLAGS] = "bad fixed-header flags",
	[KMQ_R_BAD_LENGTH] = "bad remaining length",
	[KMQ_R_TOO_LARGE] = "packet too large",
	[KMQ_R_BAD_UTF8] = "bad UTF-8 string",
	[KMQ_R_BAD_PROTOCOL] = "bad protocol name",
	[KMQ_R_BAD_LEVEL] = "unsupported protocol level",
	[KMQ_R_BAD_CONNECT] = "malformed CONNECT",
	[KMQ_R_BAD_CLIENT_ID] = "client identifier rejected",
	[KMQ_R_BAD_TOPIC] = "bad topic name",
	[KMQ_R_BAD_FILTER] = "bad topic filter",
	[KMQ_R_BAD_QOS] = "bad QoS",
	[KMQ_R_BAD_PACKET_ID] = "packet identifier 0",
	[KMQ_R_EMPTY_PAYLOAD] = "no topic filter",
	[KMQ_R_NOT_CONNECTED] = "packet before CONNECT",
	[KMQ_R_SECOND_CONNECT] = "second CONNECT",
	[KMQ_R_UNEXPECTED] = "unexpected packet type",
	[KMQ_R_KEEPALIVE] = "keepalive expired",
	[KMQ_R_MAX_CONNECTIONS] = "connection limit",
	[KMQ_R_NOMEM] = "out of memory",
	[KMQ_R_MAX_SUBS] = "subscription limit",
	[KMQ_R_QUEUE_FULL] = "queue full",
	[KMQ_R_SLOW_READER] = "client not reading",
	[KMQ_R_RETAIN_FULL] = "retained store full",
	[KMQ_R_TOPIC_LIMIT] = "topic length or depth limit",
	[KMQ_R_KEEPALIVE_CAP] = "keepalive above the cap",
	[KMQ_R_NOT_AUTHORIZED] = "not authorized",
	[KMQ_R_BAD_PASSWORD] = "bad password",
	[KMQ_R_UNKNOWN_USER] = "unknown user",
	[KMQ_R_ACL_PUBLISH] = "publish denied by the ACL",
	[KMQ_R_ACL_SUBSCRIBE] = "subscription denied by the ACL",
	[KMQ_R_ACL_DELIVERY] = "delivery denied by the ACL",
	[KMQ_R_ACL_WILL] = "Will denied by the ACL",
	[KMQ_R_MEMORY] = "memory limit",
};

/**
 * kmq_stat_sum() - sum a per-CPU counter
 * @kn: namespace state
 * @s: enum kmq_stat value
 *
 * Return: the total over all possible CPUs.
 */
u64 kmq_stat_sum(struct kmq_net *kn, unsigned int s)
{
	u64 sum = 0;
	int cpu;

	for_each_possible_cpu(cpu)
		sum += per_cpu_ptr(kn->stats, cpu)->v[s];
	return sum;
}

/**
 * kmq_topic_within_limits() - check max_topic_length and max_topic_levels
 * @kn: namespace state (counts a refusal when the check fails)
 * @t: topic name or filter
 * @len: its length
 *
 * Return: true if within the limits.
 */
bool kmq_topic_within_limits(struct kmq_net *kn, const u8 *t, u32 len)
{
	unsigned int max_len = READ_ONCE(kn->set.max_topic_len);
	unsigned int max_levels = READ_ONCE(kn->set.max_topic_levels);

	if ((max_len && len > max_len) ||
	    (max_levels && kmq_topic_levels(t, len) > max_levels)) {
		kmq_stat_inc(kn, KMQ_S_REFUSAL + KMQ_R_TOPIC_LIMIT);
		return false;
	}
	return true;
}

/**
 * kmq_refuse() - count a refusal and log it, rate limited
 * @conn: the offending connection
 * @reason: enum kmq_reason
 *
 * Records @reason as the connection's close reason; closing is up to the
 * caller.
 *
 * Context: any.
 */
void kmq_refuse(struct kmq_conn *conn, int reason)
{
	if (reason <= KMQ_R_NONE || reason >= __KMQ_R_MAX)
		reason = KMQ_R_UNEXPECTED;
	conn->close_reason = reason;
	kmq_stat_inc(conn->kn, KMQ_S_REFUSAL + reason);
	net_info_ratelimited("%pISpc: %s\n", &conn->peer.sa,
			     kmq_reason_names[reason]);
}

/**
 * kmq_mem_charge() - account memory to a namespace, within max_memory
 * @kn: namespace state
 * @bytes: size of what the caller is about to keep
 *
 * Messages, queued deliveries, sessions, subscriptions, retained-message
 * nodes, inbound QoS 2 state and receive buffers above their initial size
 * are charged here and uncharged with kmq_mem_uncharge() when freed.  A
 * failed charge changes nothing; the caller refuses or drops what it was
 * about to keep, and counts it (kmq_mem_refused()).
 *
 * Context: any.
 * Return: true if charged, false if that would exceed max_memory.
 */
bool kmq_mem_charge(struct kmq_net *kn, u64 bytes)
{
	u64 max = READ_ONCE(kn->set.max_memory);

	if (atomic64_add_return(bytes, &kn->mem) > max && max) {
		atomic64_sub(bytes, &kn->mem);
		return false;
	}
	return true;
}

/**
 * kmq_mem_uncharge() - give back what kmq_mem_charge() accounted
 * @kn: namespace state
 * @bytes: the same size
 *
 * Context: any.
 */
void kmq_mem_uncharge(struct kmq_net *kn, u64 bytes)
{
	atomic64_sub(bytes, &kn->mem);
}

/**
 * kmq_mem_refused() - count and log a refusal at the memory cap
 * @kn: namespace state
 *
 * Context: any.
 */
void kmq_mem_refused(struct kmq_net *kn)
{
	kmq_stat_inc(kn, KMQ_S_REFUSAL + KMQ_R_MEMORY);
	net_info_ratelimited("namespace memory limit (max_memory %llu) reached\n",
			     (unsigned long long)READ_ONCE(kn->set.max_memory));
}
