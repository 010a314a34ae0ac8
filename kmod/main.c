// SPDX-License-Identifier: GPL-2.0
/*
 * kmqttd - an MQTT 3.1.1 broker in the Linux kernel.
 *
 * Module init and exit ordering only.
 */
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/jiffies.h>
#include <linux/rcupdate.h>
#include <net/genetlink.h>
#include <linux/kmqttd.h>

#include "kmqttd.h"

struct kmq_live kmq_live;
struct workqueue_struct *kmq_wq;
/*
 * Connection teardown (conn->release_work) runs on its own workqueue: a
 * CONNECT taking over a session waits, in its io_work on kmq_wq, for the
 * old connection's release; with both on one workqueue, enough such
 * waiters could hold every slot (max_active) the releases need.
 */
struct workqueue_struct *kmq_release_wq;
unsigned long kmq_load_jiffies;

/*
 * Parameters other than port and bind are the initial settings of every
 * network namespace; change them at run time with "mqctl set".
 */

/* 0 disables the default listener. */
unsigned short kmq_param_port = 1883;
module_param_named(port, kmq_param_port, ushort, 0444);
MODULE_PARM_DESC(port, "TCP port of the default listener (0: none)");

/* Addresses of the default listener, comma separated. */
char *kmq_param_bind = "0.0.0.0,::";
module_param_named(bind, kmq_param_bind, charp, 0444);
MODULE_PARM_DESC(bind, "Addresses of the default listener (default 0.0.0.0,::)");

unsigned int kmq_param_max_packet = 16 << 20;
module_param_named(max_packet_size, kmq_param_max_packet, uint, 0444);
MODULE_PARM_DESC(max_packet_size, "Largest accepted packet in bytes (default 16 MiB)");

unsigned int kmq_param_max_conns;
module_param_named(max_connections, kmq_param_max_conns, uint, 0444);
MODULE_PARM_DESC(max_connections, "Connections per namespace (0: unlimited)");

unsigned int kmq_param_max_queued = 1000;
module_param_named(max_queued_messages, kmq_param_max_queued, uint, 0444);
MODULE_PARM_DESC(max_queued_messages, "Messages queued per client (default 1000)");

unsigned int kmq_param_max_inflight = 20;
module_param_named(max_inflight_messages, kmq_param_max_inflight, uint, 0444);
MODULE_PARM_DESC(max_inflight_messages, "Outbound QoS 1/2 messages in flight per client (default 20; 0: 65535)");

unsigned int kmq_param_session_expiry;
module_param_named(session_expiry, kmq_param_session_expiry, uint, 0444);
MODULE_PARM_DESC(session_expiry, "Seconds a persistent session outlives its client (default 0: forever)");

bool kmq_param_retain = true;
module_param_named(retain_available, kmq_param_retain, bool, 0444);
MODULE_PARM_DESC(retain_available, "Store retained messages (default Y)");

unsigned int kmq_param_retain_max;
module_param_named(retain_max, kmq_param_retain_max, uint, 0444);
MODULE_PARM_DESC(retain_max, "Retained messages per namespace (default 0: unlimited)");

unsigned long kmq_param_retain_max_bytes = 64UL << 20;
module_param_named(retain_max_bytes, kmq_param_retain_max_bytes, ulong, 0444);
MODULE_PARM_DESC(retain_max_bytes, "Bytes of retained topics and payloads per namespace (default 64 MiB)");

unsigned int kmq_param_max_topic_len = 65535;
module_param_named(max_topic_length, kmq_param_max_topic_len, uint, 0444);
MODULE_PARM_DESC(max_topic_length, "Longest topic name or filter, bytes (default 65535)");

unsigned int kmq_param_max_topic_levels;
module_param_named(max_topic_levels, kmq_param_max_topic_levels, uint, 0444);
MODULE_PARM_DESC(max_topic_levels, "Most levels in a topic name or filter (default 0: unlimited)");

unsigned int kmq_param_max_subs;
module_param_named(max_subscriptions, kmq_param_max_subs, uint, 0444);
MODULE_PARM_DESC(max_subscriptions, "Subscriptions per client (default 0: unlimited)");

unsigned int kmq_param_max_keepalive;
module_param_named(max_keepalive, kmq_param_max_keepalive, uint, 0444);
MODULE_PARM_DESC(max_keepalive, "Longest keepalive a client may ask, seconds (default 0: no cap)");

unsigned int kmq_param_sys_interval = 10;
module_param_named(sys_interval, kmq_param_sys_interval, uint, 0444);
MODULE_PARM_DESC(sys_interval, "Seconds between $SYS updates (default 10; 0: none)");

static const char * const kmq_anon_names[] = {
	[KMQTTD_ANONYMOUS_OFF] = "N",
	[KMQTTD_ANONYMOUS_ON] = "Y",
	[KMQTTD_ANONYMOUS_AUTO] = "auto",
};

static int kmq_anon_param_set(const char *val, const struct kernel_param *kp)
{
	bool on;

	if (sysfs_streq(val, "auto")) {
		*(int *)kp->arg = KMQTTD_ANONYMOUS_AUTO;
		return 0;
	}
	if (kstrtobool(val, &on))
		return -EINVAL;
	*(int *)kp->arg = on ? KMQTTD_ANONYMOUS_ON : KMQTTD_ANONYMOUS_OFF;
	return 0;
}

static int kmq_anon_param_get(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%s\n", kmq_anon_names[*(int *)kp->arg]);
}

static const struct kernel_param_ops kmq_anon_param_ops = {
	.set = kmq_anon_param_set,
	.get = kmq_anon_param_get,
};

/* auto: anonymous clients only while a namespace has no user and no ACL */
int kmq_param_allow_anonymous = KMQTTD_ANONYMOUS_AUTO;
module_param_cb(allow_anonymous, &kmq_anon_param_ops,
		&kmq_param_allow_anonymous, 0444);
MODULE_PARM_DESC(allow_anonymous, "Accept clients without a user name: Y, N or auto (default auto: while there are no users and no ACL rules)");

unsigned int kmq_param_pw_iterations = 1000;
module_param_named(password_iterations, kmq_param_pw_iterations, uint, 0444);
MODULE_PARM_DESC(password_iterations, "PBKDF2 iterations of new passwords, 1..1000000 (default 1000)");

bool kmq_param_qos3;
module_param_named(qos3, kmq_param_qos3, bool, 0444);
MODULE_PARM_DESC(qos3, "Accept native QoS 3 PUBLISH on the default listener (default N)");

unsigned int kmq_param_qos3_timeout = 5000;
module_param_named(qos3_timeout, kmq_param_qos3_timeout, uint, 0444);
MODULE_PARM_DESC(qos3_timeout, "Default QoS 3 timeout, ms (default 5000)");

unsigned int kmq_param_qos3_max_pending = 100;
module_param_named(qos3_max_pending, kmq_param_qos3_max_pending, uint, 0444);
MODULE_PARM_DESC(qos3_max_pending, "Pending QoS 3 requests per client (default 100)");

unsigned int kmq_param_qos3_max_total = 10000;
module_param_named(qos3_max_total, kmq_param_qos3_max_total, uint, 0444);
MODULE_PARM_DESC(qos3_max_total, "Pending QoS 3 requests per namespace (default 10000)");

unsigned long kmq_param_max_queued_bytes = 64UL << 20;
module_param_named(max_queued_bytes, kmq_param_max_queued_bytes, ulong, 0444);
MODULE_PARM_DESC(max_queued_bytes, "Topic and payload bytes queued per client (default 64 MiB; 0: unlimited)");

unsigned long kmq_param_max_memory = 512UL << 20;
module_param_named(max_memory, kmq_param_max_memory, ulong, 0444);
MODULE_PARM_DESC(max_memory, "Bytes of messages, queues, sessions, subscriptions and receive buffers per namespace (default 512 MiB; 0: unlimited)");

unsigned int kmq_param_slow_reader_timeout = 30;
module_param_named(slow_reader_timeout, kmq_param_slow_reader_timeout, uint, 0444);
MODULE_PARM_DESC(slow_reader_timeout, "Seconds a client may leave its socket full before it is closed (default 30; 0: never)");

unsigned int kmq_param_publish_hold = 1000;
module_param_named(publish_hold, kmq_param_publish_hold, uint, 0444);
MODULE_PARM_DESC(publish_hold, "Milliseconds a publisher may be held back while a subscriber's queue is nearly full (default 1000, at most 60000; 0: never, drop instead)");

unsigned int kmq_param_connect_timeout = 10;
module_param_named(connect_timeout, kmq_param_connect_timeout, uint, 0444);
MODULE_PARM_DESC(connect_timeout, "Seconds a new connection has to send CONNECT (default 10)");

static void kmq_check_live(void)
{
	int c = atomic_read(&kmq_live.conns);
	int s = atomic_read(&kmq_live.sessions);
	int m = atomic_read(&kmq_live.msgs);
	int u = atomic_read(&kmq_live.subs);
	int t = atomic_read(&kmq_live.txitems);
	int d = atomic_read(&kmq_live.deliveries);
	int r = atomic_read(&kmq_live.retained);
	int q = atomic_read(&kmq_live.q3);
	int us = atomic_read(&kmq_live.users);
	int a = atomic_read(&kmq_live.acl);

	if (c || s || m || u || t || d || r || q || us || a)
		pr_err("LEAK: live objects at unload: conns %d sessions %d msgs %d subs %d txitems %d deliveries %d retained %d qos3 %d users %d acl %d\n",
		       c, s, m, u, t, d, r, q, us, a);
	else
		pr_info("unloaded, no live objects\n");
}

static int __init kmq_init(void)
{
	int ret;

	kmq_load_jiffies = jiffies;

	kmq_wq = alloc_workqueue("kmqttd", 0, 0);
	if (!kmq_wq)
		return -ENOMEM;
	kmq_release_wq = alloc_workqueue("kmqttd_release", 0, 0);
	if (!kmq_release_wq) {
		ret = -ENOMEM;
		goto err_destroy_wq;
	}

	ret = kmq_conns_init();
	if (ret)
		goto err_destroy_release_wq;

	ret = kmq_sessions_init();
	if (ret)
		goto err_conns;

	ret = kmq_q3_init();
	if (ret)
		goto err_sessions_cache;

	ret = kmq_auth_init();
	if (ret)
		goto err_q3;

	ret = kmq_netns_init();
	if (ret)
		goto err_auth;

	ret = kmq_genl_init();
	if (ret)
		goto err_netns;

	pr_info("MQTT broker loaded\n");
	return 0;

err_netns:
	kmq_netns_exit();
	rcu_barrier();
err_auth:
	kmq_auth_exit();
err_q3:
	kmq_q3_exit();
err_sessions_cache:
	kmq_sessions_exit();
err_conns:
	kmq_conns_exit();
err_destroy_release_wq:
	destroy_workqueue(kmq_release_wq);
err_destroy_wq:
	destroy_workqueue(kmq_wq);
	return ret;
}

static void __exit kmq_exit(void)
{
	kmq_genl_exit();
	kmq_netns_exit();
	destroy_workqueue(kmq_release_wq);
	destroy_workqueue(kmq_wq);
	rcu_barrier();
	kmq_auth_exit();
	kmq_q3_exit();
	kmq_sessions_exit();
	kmq_conns_exit();
	kmq_check_live();
}

module_init(kmq_init);
module_exit(kmq_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("kmqttd: MQTT 3.1.1 broker in the kernel");
MODULE_AUTHOR("kmqttd developers");
MODULE_ALIAS_GENL_FAMILY(KMQTTD_FAMILY_NAME);
