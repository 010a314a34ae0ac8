// SPDX-License-Identifier: GPL-2.0
/*
 * netns.c - per network namespace state.
 *
 * Each namespace has its own listeners, connections, subscriptions and
 * statistics.  The initial namespace gets the default listener from the
 * module parameters.  The pernet exit hook is the single teardown path
 * for rmmod and for a dying namespace.
 */
#include <linux/slab.h>
#include <linux/inet.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <linux/string.h>
#include <net/net_namespace.h>
#include <net/netns/generic.h>

#include "kmqttd.h"
#include "core/trie.h"
#include "core/acl.h"

static unsigned int kmq_net_id __read_mostly;

/**
 * kmq_net() - the kmqttd state of a namespace
 * @net: the namespace
 *
 * Return: the state; valid while @net is alive and the module loaded.
 */
struct kmq_net *kmq_net(struct net *net)
{
	return net_generic(net, kmq_net_id);
}

static int kmq_parse_addr(const char *s, u16 port, struct sockaddr_storage *ss)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (in4_pton(s, -1, (u8 *)&sin->sin_addr.s_addr, '\0', NULL)) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		return 0;
	}
	if (in6_pton(s, -1, sin6->sin6_addr.s6_addr, '\0', NULL)) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		return 0;
	}
	return -EINVAL;
}

/* Open the listeners named by the "bind" module parameter. */
static void kmq_default_listeners(struct kmq_net *kn)
{
	char *list, *cur, *tok;
	struct sockaddr_storage ss;
	int ret;

	if (!kmq_param_port || !kmq_param_bind)
		return;
	list = kstrdup(kmq_param_bind, GFP_KERNEL);
	if (!list)
		return;
	cur = list;
	while ((tok = strsep(&cur, ",")) != NULL) {
		tok = strim(tok);
		if (!*tok)
			continue;
		if (kmq_parse_addr(tok, kmq_param_port, &ss)) {
			pr_warn("bad bind address '%s'\n", tok);
			continue;
		}
		ret = kmq_listener_add(kn, &ss, kmq_param_qos3,
				       KMQ_ANON_INHERIT, 0, NULL);
		if (ret)
			pr_warn("cannot listen on %pISpc: %d\n", &ss, ret);
	}
	kfree(list);
}

/* Settings of a new namespace: the module parameters. */
static void kmq_settings_init(struct kmq_settings *set)
{
	set->max_conns = kmq_param_max_conns;
	set->max_packet = kmq_param_max_packet;
	set->max_inflight = kmq_param_max_inflight;
	set->max_queued = kmq_param_max_queued;
	set->max_keepalive = kmq_param_max_keepalive;
	set->session_expiry = kmq_param_session_expiry;
	set->retain = kmq_param_retain;
	set->retain_max = kmq_param_retain_max;
	set->retain_max_bytes = kmq_param_retain_max_bytes;
	set->allow_anonymous = kmq_param_allow_anonymous;
	set->pw_iterations = clamp_val(kmq_param_pw_iterations, 1,
				       KMQ_PW_ITER_MAX);
	set->max_subs = kmq_param_max_subs;
	set->max_topic_len = kmq_param_max_topic_len;
	set->max_topic_levels = kmq_param_max_topic_levels;
	set->connect_timeout = kmq_param_connect_timeout;
	set->sys_interval = kmq_param_sys_interval;
	set->qos3_timeout = kmq_param_qos3_timeout;
	set->qos3_max_pending = kmq_param_qos3_max_pending;
	set->qos3_max_total = kmq_param_qos3_max_total;
	set->max_queued_bytes = kmq_param_max_queued_bytes;
	set->max_memory = kmq_param_max_memory;
	set->slow_reader_timeout = kmq_param_slow_reader_timeout;
	set->publish_hold = min(kmq_param_publish_hold, KMQ_PUBLISH_HOLD_MAX);
}

static int __net_init kmq_net_init(struct net *net)
{
	struct kmq_net *kn = kmq_net(net);

	kn->net = net;
	kmq_settings_init(&kn->set);
	mutex_init(&kn->lock);
	INIT_LIST_HEAD(&kn->listeners);
	INIT_LIST_HEAD(&kn->conns);
	init_waitqueue_head(&kn->conns_wq);
	init_rwsem(&kn->route_lock);
	mutex_init(&kn->retain_lock);
	kn->retained = RB_ROOT;
	spin_lock_init(&kn->q3_lock);
	kmq_hold_net_init(kn);
	kmq_sessions_net_init(kn);
	kmq_sys_net_init(kn);
	kmq_auth_net_init(kn);

	kn->stats = alloc_percpu(struct kmq_pcpu_stats);
	if (!kn->stats)
		return -ENOMEM;
	kn->trie = kmq_trie_new();
	if (!kn->trie) {
		free_percpu(kn->stats);
		return -ENOMEM;
	}
	if (net_eq(net, &init_net))
		kmq_default_listeners(kn);
	kmq_sys_kick(kn);
	return 0;
}

static void __net_exit kmq_net_exit(struct net *net)
{
	struct kmq_net *kn = kmq_net(net);

	mutex_lock(&kn->lock);
	kn->exiting = true;
	mutex_unlock(&kn->lock);

	kmq_sys_net_exit(kn);
	kmq_listener_stop_all(kn);
	kmq_conn_close_all(kn);
	wait_event(kn->conns_wq, READ_ONCE(kn->nconns) == 0);
	/* the last release work may still be inside its kn->lock section */
	mutex_lock(&kn->lock);
	mutex_unlock(&kn->lock);

	kmq_hold_net_exit(kn);
	kmq_sessions_net_exit(kn);
	kmq_retain_net_exit(kn);
	kmq_auth_net_exit(kn);
	/* everything charged has been freed: the accounting must balance */
	if (atomic64_read(&kn->mem))
		pr_err("LEAK: %lld bytes still accounted at namespace exit\n",
		       (long long)atomic64_read(&kn->mem));
	kmq_trie_free(kn->trie);
	free_percpu(kn->stats);
}

static struct pernet_operations kmq_net_ops = {
	.init = kmq_net_init,
	.exit = kmq_net_exit,
	.id = &kmq_net_id,
	.size = sizeof(struct kmq_net),
};

int kmq_netns_init(void)
{
	return register_pernet_subsys(&kmq_net_ops);
}

void kmq_netns_exit(void)
{
	unregister_pernet_subsys(&kmq_net_ops);
}
