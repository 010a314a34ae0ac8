// SPDX-License-Identifier: GPL-2.0
/*
 * sys.c - the $SYS/broker/ topics, as Mosquitto publishes them: retained
 * messages refreshed every sys_interval seconds (0 turns them off).
 *
 * Load figures are exponentially weighted averages over 1, 5 and 15
 * minutes of per-minute rates, like Mosquitto's load/.../1min, kept in
 * fixed point (x1000) because the kernel has no floating point here.
 */
#include <linux/err.h>
#include <linux/jiffies.h>
#include <linux/kernel.h>
#include <linux/slab.h>

#include "kmqttd.h"

#define KMQ_VERSION	"kmqttd 0.2"

enum {
	KMQ_LOAD_MSGS_RX,
	KMQ_LOAD_MSGS_TX,
	KMQ_LOAD_BYTES_RX,
	KMQ_LOAD_BYTES_TX,
	KMQ_LOAD_CONNS,
};

static const char * const kmq_load_names[KMQ_SYS_LOADS] = {
	[KMQ_LOAD_MSGS_RX] = "messages/received",
	[KMQ_LOAD_MSGS_TX] = "messages/sent",
	[KMQ_LOAD_BYTES_RX] = "bytes/received",
	[KMQ_LOAD_BYTES_TX] = "bytes/sent",
	[KMQ_LOAD_CONNS] = "connections",
};

static const unsigned int kmq_load_periods[3] = { 60, 300, 900 };
static const char * const kmq_load_suffix[3] = { "1min", "5min", "15min" };

/* Publish one retained $SYS message. */
static __printf(3, 4) void kmq_sys_pub(struct kmq_net *kn, const char *topic,
			const char *fmt, ...)
{
	struct kmq_publish p = { .retain = true };
	struct kmq_msg *m;
	char buf[64];
	va_list args;
	int n;

	va_start(args, fmt);
	n = vscnprintf(buf, sizeof(buf), fmt, args);
	va_end(args);
	p.topic.p = (const u8 *)topic;
	p.topic.len = strlen(topic);
	p.payload = buf;
	p.payload_len = n;
	m = kmq_msg_new(kn, &p);
	if (IS_ERR(m))
		return;
	kmq_retain_store(kn, m);
	kmq_route(kn, &kn->sys_scratch, m, NULL);
	kmq_msg_put(m);
}

static void kmq_sys_loads(struct kmq_net *kn, unsigned int interval)
{
	u64 now[KMQ_SYS_LOADS];
	char topic[64];
	int i, j;

	now[KMQ_LOAD_MSGS_RX] = kmq_stat_sum(kn, KMQ_S_PKTS_IN);
	now[KMQ_LOAD_MSGS_TX] = kmq_stat_sum(kn, KMQ_S_PKTS_OUT);
	now[KMQ_LOAD_BYTES_RX] = kmq_stat_sum(kn, KMQ_S_BYTES_IN);
	now[KMQ_LOAD_BYTES_TX] = kmq_stat_sum(kn, KMQ_S_BYTES_OUT);
	now[KMQ_LOAD_CONNS] = kmq_stat_sum(kn, KMQ_S_CONNS_TOTAL);

	for (i = 0; i < KMQ_SYS_LOADS; i++) {
		/* events per minute over the last interval, x1000 */
		u64 rate = div_u64((now[i] - kn->sys_last[i]) * 60000, interval);

		kn->sys_last[i] = now[i];
		for (j = 0; j < 3; j++) {
			u64 avg = kn->sys_load[i][j];
			u32 w = min(interval, kmq_load_periods[j]);

			/* avg += (rate - avg) * interval / period */
			if (rate >= avg)
				avg += div_u64((rate - avg) * w,
					       kmq_load_periods[j]);
			else
				avg -= div_u64((avg - rate) * w,
					       kmq_load_periods[j]);
			kn->sys_load[i][j] = avg;
			snprintf(topic, sizeof(topic), "$SYS/broker/load/%s/%s",
				 kmq_load_names[i], kmq_load_suffix[j]);
			kmq_sys_pub(kn, topic, "%llu.%02llu", avg / 1000,
				    (avg % 1000) / 10);
		}
	}
}

static void kmq_sys_work(struct work_struct *work)
{
	struct kmq_net *kn = container_of(to_delayed_work(work),
					  struct kmq_net, sys_work);
	unsigned int interval = READ_ONCE(kn->set.sys_interval);
	unsigned int nconns, cmax, nsess, nret;
	u64 subs;

	if (!interval)
		return;
	mutex_lock(&kn->lock);
	nconns = kn->nconns;
	cmax = kn->conns_max;
	mutex_unlock(&kn->lock);
	nsess = READ_ONCE(kn->nsessions);
	down_read(&kn->route_lock);
	subs = kn->subs;
	up_read(&kn->route_lock);
	mutex_lock(&kn->retain_lock);
	nret = kn->nretained;
	mutex_unlock(&kn->retain_lock);

	kmq_sys_pub(kn, "$SYS/broker/version", "%s", KMQ_VERSION);
	kmq_sys_pub(kn, "$SYS/broker/uptime", "%lu seconds",
		    (jiffies - kmq_load_jiffies) / HZ);
	kmq_sys_pub(kn, "$SYS/broker/clients/connected", "%u", nconns);
	kmq_sys_pub(kn, "$SYS/broker/clients/active", "%u", nconns);
	kmq_sys_pub(kn, "$SYS/broker/clients/total", "%u", nsess);
	kmq_sys_pub(kn, "$SYS/broker/clients/disconnected", "%u",
		    nsess > nconns ? nsess - nconns : 0);
	kmq_sys_pub(kn, "$SYS/broker/clients/maximum", "%u", cmax);
	kmq_sys_pub(kn, "$SYS/broker/messages/received", "%llu",
		    kmq_stat_sum(kn, KMQ_S_PKTS_IN));
	kmq_sys_pub(kn, "$SYS/broker/messages/sent", "%llu",
		    kmq_stat_sum(kn, KMQ_S_PKTS_OUT));
	kmq_sys_pub(kn, "$SYS/broker/publish/messages/received", "%llu",
		    kmq_stat_sum(kn, KMQ_S_MSGS_IN));
	kmq_sys_pub(kn, "$SYS/broker/publish/messages/sent", "%llu",
		    kmq_stat_sum(kn, KMQ_S_MSGS_OUT));
	kmq_sys_pub(kn, "$SYS/broker/publish/messages/dropped", "%llu",
		    kmq_stat_sum(kn, KMQ_S_DROPPED));
	kmq_sys_pub(kn, "$SYS/broker/bytes/received", "%llu",
		    kmq_stat_sum(kn, KMQ_S_BYTES_IN));
	kmq_sys_pub(kn, "$SYS/broker/bytes/sent", "%llu",
		    kmq_stat_sum(kn, KMQ_S_BYTES_OUT));
	kmq_sys_pub(kn, "$SYS/broker/subscriptions/count", "%llu", subs);
	kmq_sys_pub(kn, "$SYS/broker/retained messages/count", "%u", nret);
	kmq_sys_loads(kn, interval);

	queue_delayed_work(kmq_wq, &kn->sys_work,
			   (unsigned long)interval * HZ);
}

/**
 * kmq_sys_kick() - publish $SYS now and re-arm with the current interval
 * @kn: namespace state
 */
void kmq_sys_kick(struct kmq_net *kn)
{
	if (READ_ONCE(kn->set.sys_interval))
		mod_delayed_work(kmq_wq, &kn->sys_work, 0);
}

void kmq_sys_net_init(struct kmq_net *kn)
{
	INIT_DELAYED_WORK(&kn->sys_work, kmq_sys_work);
}

/* Context: the namespace is going away; nothing re-arms the work. */
void kmq_sys_net_exit(struct kmq_net *kn)
{
	WRITE_ONCE(kn->set.sys_interval, 0);
	cancel_delayed_work_sync(&kn->sys_work);
	kvfree(kn->sys_scratch.t);
	kn->sys_scratch.t = NULL;
}
