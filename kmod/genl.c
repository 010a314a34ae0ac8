// SPDX-License-Identifier: GPL-2.0
/*
 * genl.c - the "kmqttd" generic netlink family (uapi/linux/kmqttd.h,
 * Documentation/netlink/specs/kmqttd.yaml).
 *
 * Every operation works on the namespace of the requesting socket.
 */
#include <linux/jiffies.h>
#include <net/genetlink.h>
#include <linux/kmqttd.h>

#include "kmqttd.h"
#include "core/trie.h"

static struct genl_family kmq_genl_family;

static int kmq_put_u64(struct sk_buff *skb, int attr, u64 v)
{
	return nla_put_u64_64bit(skb, attr, v, KMQTTD_A_STATS_PAD);
}

static int kmq_fill_stats(struct sk_buff *skb, struct kmq_net *kn)
{
	struct kmq_trie_stats ts;
	struct nlattr *nest;
	unsigned int nconns, cmax;
	u64 subs;
	int r;

	mutex_lock(&kn->lock);
	nconns = kn->nconns;
	cmax = kn->conns_max;
	mutex_unlock(&kn->lock);
	down_read(&kn->route_lock);
	subs = kn->subs;
	kmq_trie_get_stats(kn->trie, &ts);
	up_read(&kn->route_lock);

	if (kmq_put_u64(skb, KMQTTD_A_STATS_CONNS_CURRENT, nconns) ||
	    kmq_put_u64(skb, KMQTTD_A_STATS_CONNS_TOTAL,
			kmq_stat_sum(kn, KMQ_S_CONNS_TOTAL)) ||
	    kmq_put_u64(skb, KMQTTD_A_STATS_CONNS_MAX, cmax) ||
	    kmq_put_u64(skb, KMQTTD_A_STATS_MSGS_IN,
			kmq_stat_sum(kn, KMQ_S_MSGS_IN)) ||
	    kmq_put_u64(skb, KMQTTD_A_STATS_MSGS_OUT,
			kmq_stat_sum(kn, KMQ_S_MSGS_OUT)) ||
	    kmq_put_u64(skb, KMQTTD_A_STATS_BYTES_IN,
			kmq_stat_sum(kn, KMQ_S_BYTES_IN)) ||
	    kmq_put_u64(skb, KMQTTD_A_STATS_BYTES_OUT,
			kmq_stat_sum(kn, KMQ_S_BYTES_OUT)) ||
	    kmq_put_u64(skb, KMQTTD_A_STATS_PKTS_IN,
			kmq_stat_sum(kn, KMQ_S_PKTS_IN)) ||
	    kmq_put_u64(skb, KMQTTD_A_STATS_PKTS_OUT,
			kmq_stat_sum(kn, KMQ_S_PKTS_OUT)) ||
	    kmq_put_u64(skb, KMQTTD_A_STATS_MSGS_DROPPED,
			kmq_stat_sum(kn, KMQ_S_DROPPED)) ||
	    kmq_put_u64(skb, KMQTTD_A_STATS_SUBS_CURRENT, subs) ||
	    kmq_put_u64(skb, KMQTTD_A_STATS_UPTIME,
			(jiffies - kmq_load_jiffies) / HZ) ||
	    kmq_put_u64(skb, KMQTTD_A_STATS_LIVE_CONNS,
			atomic_read(&kmq_live.conns)) ||
	    kmq_put_u64(skb, KMQTTD_A_STATS_LIVE_SESSIONS,
			atomic_read(&kmq_live.sessions)) ||
	    kmq_put_u64(skb, KMQTTD_A_STATS_LIVE_MSGS,
			atomic_read(&kmq_live.msgs)) ||
	    kmq_put_u64(skb, KMQTTD_A_STATS_LIVE_SUBS,
			atomic_read(&kmq_live.subs)) ||
	    kmq_put_u64(skb, KMQTTD_A_STATS_LIVE_NODES, ts.nodes))
		return -EMSGSIZE;

	nest = nla_nest_start(skb, KMQTTD_A_STATS_REFUSALS);
	if (!nest)
		return -EMSGSIZE;
	/* enum kmq_reason and enum kmqttd_refusal share their values */
	BUILD_BUG_ON((int)__KMQ_R_MAX != (int)__KMQTTD_REFUSAL_MAX);
	/* pad type 0: every type inside the nest is a refusal reason */
	for (r = KMQ_R_NONE + 1; r < __KMQ_R_MAX; r++)
		if (nla_put_u64_64bit(skb, r, kmq_stat_sum(kn, KMQ_S_REFUSAL + r),
				      0))
			return -EMSGSIZE;
	nla_nest_end(skb, nest);
	return 0;
}

static int kmq_nl_stats_get(struct sk_buff *skb, struct genl_info *info)
{
	struct kmq_net *kn = kmq_net(genl_info_net(info));
	struct sk_buff *msg;
	void *hdr;
	int ret;

	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	hdr = genlmsg_put_reply(msg, info, &kmq_genl_family, 0,
				KMQTTD_CMD_STATS_GET);
	if (!hdr) {
		ret = -EMSGSIZE;
		goto err_free;
	}
	ret = kmq_fill_stats(msg, kn);
	if (ret)
		goto err_free;
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);

err_free:
	nlmsg_free(msg);
	return ret;
}

static const struct genl_ops kmq_genl_ops[] = {
	{
		.cmd = KMQTTD_CMD_STATS_GET,
		.doit = kmq_nl_stats_get,
	},
};

static struct genl_family kmq_genl_family __ro_after_init = {
	.name = KMQTTD_FAMILY_NAME,
	.version = KMQTTD_FAMILY_VERSION,
	.netnsok = true,
	.module = THIS_MODULE,
	.ops = kmq_genl_ops,
	.n_ops = ARRAY_SIZE(kmq_genl_ops),
};

int __init kmq_genl_init(void)
{
	return genl_register_family(&kmq_genl_family);
}

void kmq_genl_exit(void)
{
	genl_unregister_family(&kmq_genl_family);
}
