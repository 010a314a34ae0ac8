// SPDX-License-Identifier: GPL-2.0
/*
 * listener.c - listening sockets and accept.
 *
 * The listening socket's sk_data_ready queues accept_work, which accepts
 * every pending connection without blocking.  Accepted sockets inherit
 * the listener's callbacks and sk_user_data until kmq_conn_create()
 * replaces them; the listener callback ignores them by checking the
 * socket state.
 */
#include <linux/net.h>
#include <linux/slab.h>
#include <linux/tcp.h>
#include <linux/ipv6.h>
#include <net/sock.h>
#include <net/tcp.h>
#include <net/ipv6.h>

#include <linux/kmqttd.h>

#include "kmqttd.h"

static void kmq_listen_data_ready(struct sock *sk)
{
	struct kmq_listener *l;

	read_lock_bh(&sk->sk_callback_lock);
	l = sk->sk_user_data;
	if (l && sk->sk_state == TCP_LISTEN)
		queue_work(kmq_wq, &l->accept_work);
	read_unlock_bh(&sk->sk_callback_lock);
}

static void kmq_accept_work(struct work_struct *work)
{
	struct kmq_listener *l = container_of(work, struct kmq_listener,
					      accept_work);
	struct kmq_net *kn = l->kn;
	struct socket *newsock;
	unsigned int max;
	int ret;

	for (;;) {
		ret = kernel_accept(l->sock, &newsock, O_NONBLOCK);
		if (ret < 0)
			break;
		max = READ_ONCE(kn->set.max_conns);
		if (max && READ_ONCE(kn->nconns) >= max) {
			kmq_stat_inc(kn, KMQ_S_REFUSAL + KMQ_R_MAX_CONNECTIONS);
			net_info_ratelimited("connection limit %u reached\n",
					     max);
			goto refuse;
		}
		/* only this work adds to l->nconns: no race with the check */
		max = READ_ONCE(l->max_conns);
		if (max && READ_ONCE(l->nconns) >= max) {
			kmq_stat_inc(kn, KMQ_S_REFUSAL + KMQ_R_MAX_CONNECTIONS);
			net_info_ratelimited("connection limit %u of listener %pISpc reached\n",
					     max, &l->addr);
			goto refuse;
		}
		if (!kmq_conn_create(l, newsock))
			sock_release(newsock);
		continue;
refuse:
		sock_no_linger(newsock->sk);
		sock_release(newsock);
	}
}

/**
 * kmq_listener_conn_gone() - a connection accepted by listener @id closed
 * @kn: namespace state
 * @id: the listener's id (it may have been deleted meanwhile)
 *
 * Context: kn->lock held.
 */
void kmq_listener_conn_gone(struct kmq_net *kn, u32 id)
{
	struct kmq_listener *l;

	list_for_each_entry(l, &kn->listeners, node) {
		if (l->id == id) {
			l->nconns--;
			return;
		}
	}
}

static bool kmq_addr_eq(const struct sockaddr_storage *a,
			const struct sockaddr_storage *b)
{
	const struct sockaddr_in *a4 = (const void *)a, *b4 = (const void *)b;
	const struct sockaddr_in6 *a6 = (const void *)a, *b6 = (const void *)b;

	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET)
		return a4->sin_port == b4->sin_port &&
		       a4->sin_addr.s_addr == b4->sin_addr.s_addr;
	return a6->sin6_port == b6->sin6_port &&
	       ipv6_addr_equal(&a6->sin6_addr, &b6->sin6_addr);
}

/* Context: kn->lock held. */
static struct kmq_listener *kmq_listener_find(struct kmq_net *kn, u32 id,
					      const struct sockaddr_storage *ss)
{
	struct kmq_listener *l;

	list_for_each_entry(l, &kn->listeners, node)
		if (ss ? kmq_addr_eq(&l->addr, ss) : l->id == id)
			return l;
	return NULL;
}

/**
 * kmq_listener_add() - open a listening socket
 * @kn: namespace state
 * @ss: address and port to bind
 * @qos3: accept native QoS 3 PUBLISH
 * @anonymous: enum kmqttd_anonymous, or KMQ_ANON_INHERIT
 * @max_conns: connections open through it at most (0: no own cap)
 * @id: set to the new listener's id (may be NULL)
 *
 * Context: process context; takes kn->lock.
 * Return: 0 or a negative errno (-EADDRINUSE, -EADDRNOTAVAIL, ...).
 */
int kmq_listener_add(struct kmq_net *kn, const struct sockaddr_storage *ss,
		     bool qos3, u8 anonymous, u32 max_conns, u32 *id)
{
	struct kmq_listener *l;
	struct socket *sock;
	struct sock *sk;
	int len, ret;

	len = ss->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) :
					  sizeof(struct sockaddr_in);
	l = kzalloc(sizeof(*l), GFP_KERNEL);
	if (!l)
		return -ENOMEM;
	l->kn = kn;
	l->addr = *ss;
	l->qos3 = qos3;
	l->anonymous = anonymous;
	l->max_conns = max_conns;
	INIT_WORK(&l->accept_work, kmq_accept_work);

	ret = sock_create_kern(kn->net, ss->ss_family, SOCK_STREAM,
			       IPPROTO_TCP, &sock);
	if (ret)
		goto err_free;
	sk = sock->sk;
	sock_set_reuseaddr(sk);
	tcp_sock_set_nodelay(sk);
	if (ss->ss_family == AF_INET6)
		ip6_sock_set_v6only(sk);

	ret = kernel_bind(sock, (struct sockaddr *)ss, len);
	if (ret)
		goto err_release;

	l->sock = sock;
	write_lock_bh(&sk->sk_callback_lock);
	l->saved_data_ready = sk->sk_data_ready;
	l->saved_state_change = sk->sk_state_change;
	l->saved_write_space = sk->sk_write_space;
	sk->sk_user_data = l;
	sk->sk_data_ready = kmq_listen_data_ready;
	write_unlock_bh(&sk->sk_callback_lock);

	ret = kernel_listen(sock, SOMAXCONN);
	if (ret)
		goto err_restore;

	mutex_lock(&kn->lock);
	if (kn->exiting) {
		mutex_unlock(&kn->lock);
		ret = -ESHUTDOWN;
		goto err_restore;
	}
	if (kmq_listener_find(kn, 0, ss)) {
		/* SO_REUSEADDR let the bind through; one listener is enough */
		mutex_unlock(&kn->lock);
		ret = -EADDRINUSE;
		goto err_restore;
	}
	l->id = ++kn->lst_next;
	list_add_tail(&l->node, &kn->listeners);
	if (id)
		*id = l->id;
	kmq_event_listener(kn, KMQTTD_EVENT_LISTENER_ADDED, l);
	mutex_unlock(&kn->lock);
	pr_info("listening on %pISpc\n", ss);
	return 0;

err_restore:
	write_lock_bh(&sk->sk_callback_lock);
	sk->sk_user_data = NULL;
	sk->sk_data_ready = l->saved_data_ready;
	write_unlock_bh(&sk->sk_callback_lock);
	cancel_work_sync(&l->accept_work);
err_release:
	sock_release(sock);
err_free:
	kfree(l);
	return ret;
}

static void kmq_listener_free(struct kmq_listener *l)
{
	struct sock *sk = l->sock->sk;

	write_lock_bh(&sk->sk_callback_lock);
	sk->sk_user_data = NULL;
	sk->sk_data_ready = l->saved_data_ready;
	write_unlock_bh(&sk->sk_callback_lock);
	cancel_work_sync(&l->accept_work);
	sock_release(l->sock);
	kfree(l);
}

/**
 * kmq_listener_del() - close a listener
 * @kn: namespace state
 * @id: its id, used when @ss is NULL
 * @ss: its address
 *
 * Connections accepted through it stay open.
 *
 * Context: process context; takes kn->lock.
 * Return: 0 or -ENOENT.
 */
int kmq_listener_del(struct kmq_net *kn, u32 id,
		     const struct sockaddr_storage *ss)
{
	struct kmq_listener *l;

	mutex_lock(&kn->lock);
	l = kmq_listener_find(kn, id, ss);
	if (l) {
		list_del(&l->node);
		kmq_event_listener(kn, KMQTTD_EVENT_LISTENER_REMOVED, l);
	}
	mutex_unlock(&kn->lock);
	if (!l)
		return -ENOENT;
	pr_info("stopped listening on %pISpc\n", &l->addr);
	kmq_listener_free(l);
	return 0;
}

/**
 * kmq_listener_stop_all() - close every listener of a namespace
 * @kn: namespace state
 *
 * Connections accepted earlier stay open; they keep the listener's saved
 * callbacks, which belong to the TCP stack, not to the listener.
 */
void kmq_listener_stop_all(struct kmq_net *kn)
{
	struct kmq_listener *l, *tmp;
	LIST_HEAD(list);

	mutex_lock(&kn->lock);
	list_splice_init(&kn->listeners, &list);
	mutex_unlock(&kn->lock);

	list_for_each_entry_safe(l, tmp, &list, node) {
		list_del(&l->node);
		kmq_listener_free(l);
	}
}
