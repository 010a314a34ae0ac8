/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kmqttd.h - kernel-side types shared by the kmqttd glue.
 *
 * Object model (see Documentation/kmqttd.rst):
 *
 *   struct kmq_net      one per network namespace: listeners, connections,
 *                       the subscription trie and the statistics.
 *   struct kmq_listener a listening TCP socket.
 *   struct kmq_conn     one accepted TCP connection and its MQTT session.
 *   struct kmq_msg      one published message, reference counted and shared
 *                       by every subscriber it goes to (one payload copy).
 *   struct kmq_txitem   one packet queued for sending on a connection.
 *
 * Locking, outermost first:
 *
 *   kn->lock (mutex)         listener and connection lists.
 *   kn->route_lock (rwsem)   the trie and every session's subscription list;
 *                            readers route messages, writers (un)subscribe
 *                            and tear sessions down.  A publisher holds it
 *                            for reading while it queues to subscribers, so
 *                            a session found in the trie stays alive until
 *                            up_read().
 *   sk->sk_callback_lock     socket callbacks and sk_user_data.
 *
 * A connection's io_work is the only context that reads its socket, sends
 * on it, or touches its receive and private send state; other contexts
 * only push onto conn->inbox (an llist) and queue io_work.
 */
#ifndef _KMQTTD_H
#define _KMQTTD_H

#include <linux/types.h>
#include <linux/list.h>
#include <linux/llist.h>
#include <linux/mutex.h>
#include <linux/rwsem.h>
#include <linux/workqueue.h>
#include <linux/timer.h>
#include <linux/refcount.h>
#include <linux/percpu.h>
#include <linux/wait.h>
#include <linux/socket.h>
#include <net/sock.h>

#include "core/codec.h"

struct kmq_trie;

/* Per-CPU event counters (summed on read). */
enum kmq_stat {
	KMQ_S_CONNS_TOTAL,
	KMQ_S_MSGS_IN,
	KMQ_S_MSGS_OUT,
	KMQ_S_BYTES_IN,
	KMQ_S_BYTES_OUT,
	KMQ_S_PKTS_IN,
	KMQ_S_PKTS_OUT,
	KMQ_S_DROPPED,
	KMQ_S_REFUSAL,		/* + enum kmq_reason */
	__KMQ_S_MAX = KMQ_S_REFUSAL + __KMQ_R_MAX,
};

struct kmq_pcpu_stats {
	u64 v[__KMQ_S_MAX];
};

/* Module-wide live object counters, checked at unload. */
struct kmq_live {
	atomic_t conns;
	atomic_t sessions;
	atomic_t msgs;
	atomic_t subs;
	atomic_t txitems;
};

extern struct kmq_live kmq_live;
extern struct workqueue_struct *kmq_wq;
extern unsigned long kmq_load_jiffies;

/* Module parameters (kmod/main.c). */
extern unsigned short kmq_param_port;
extern char *kmq_param_bind;
extern unsigned int kmq_param_max_packet;
extern unsigned int kmq_param_max_conns;
extern unsigned int kmq_param_max_queued;
extern unsigned int kmq_param_connect_timeout;

/**
 * struct kmq_net - per network namespace state
 * @net: the namespace
 * @lock: protects @listeners, @conns, @nconns and @exiting
 * @listeners: struct kmq_listener.node
 * @conns: struct kmq_conn.node
 * @nconns: number of entries in @conns
 * @conns_wq: woken when a connection is freed
 * @exiting: set by the pernet exit; no new connections
 * @route_lock: protects @trie and every session's subscription list
 * @trie: subscriptions
 * @subs: number of subscriptions (under @route_lock)
 * @conns_max: peak of @nconns
 * @stats: per-CPU counters
 */
struct kmq_net {
	struct net *net;
	struct mutex lock;	/* listeners, conns, nconns, exiting */
	struct list_head listeners;
	struct list_head conns;
	unsigned int nconns;
	wait_queue_head_t conns_wq;
	bool exiting;
	struct rw_semaphore route_lock;
	struct kmq_trie *trie;
	u64 subs;
	unsigned int conns_max;
	struct kmq_pcpu_stats __percpu *stats;
};

/**
 * struct kmq_listener - a listening socket
 * @kn: owning namespace state
 * @sock: the socket
 * @node: in kn->listeners
 * @accept_work: accepts pending connections
 * @saved_data_ready: original callback of the listening socket
 * @saved_state_change: original callback (inherited by children)
 * @saved_write_space: original callback (inherited by children)
 * @addr: bound address
 */
struct kmq_listener {
	struct kmq_net *kn;
	struct socket *sock;
	struct list_head node;
	struct work_struct accept_work;
	void (*saved_data_ready)(struct sock *sk);
	void (*saved_state_change)(struct sock *sk);
	void (*saved_write_space)(struct sock *sk);
	struct sockaddr_storage addr;
};

/**
 * struct kmq_msg - one published message
 * @ref: one reference per queued delivery, plus the creator's
 * @topic_len: bytes of topic at @data
 * @payload_len: bytes of payload after the topic
 * @qos: QoS it was published with
 * @retain: RETAIN flag as published
 * @data: topic then payload
 */
struct kmq_msg {
	refcount_t ref;
	u16 topic_len;
	u8 qos;
	bool retain;
	u32 payload_len;
	u8 data[];
};

static inline const u8 *kmq_msg_payload(const struct kmq_msg *m)
{
	return m->data + m->topic_len;
}

struct kmq_msg *kmq_msg_new(const struct kmq_publish *p);
void kmq_msg_put(struct kmq_msg *m);

static inline void kmq_msg_get(struct kmq_msg *m)
{
	refcount_inc(&m->ref);
}

/**
 * struct kmq_txitem - a packet waiting to be sent
 * @ll: in conn->inbox, then in the private send list
 * @msg: message of a PUBLISH (holds a reference), or NULL
 * @raw: bytes of any other packet (@inl or a kmalloc'd buffer)
 * @rawlen: length of @raw
 * @hdr: PUBLISH prefix (fixed header and topic length)
 * @hdrlen: length of @hdr
 * @pid: packet identifier of a PUBLISH, big endian
 * @pidlen: 0 (QoS 0) or 2
 * @counted: counts against the connection's queue limit
 * @inl: storage for small packets
 */
struct kmq_txitem {
	struct llist_node ll;
	struct kmq_msg *msg;
	u8 *raw;
	u32 rawlen;
	u8 hdr[8];
	u8 hdrlen;
	u8 pid[2];
	u8 pidlen;
	bool counted;
	u8 inl[8];
};

/* Connection flags (conn->flags). */
enum {
	KMQ_CONN_CLOSING,	/* release is queued or running */
	KMQ_CONN_TX_BLOCKED,	/* the socket's send buffer is full */
};

/**
 * struct kmq_target - a routing destination collected under route_lock
 * @conn: subscriber
 * @qos: granted QoS of the best matching subscription
 */
struct kmq_target {
	struct kmq_conn *conn;
	u8 qos;
};

/**
 * struct kmq_sub - one subscription of a session
 * @node: in conn->subs, under kn->route_lock
 * @qos: granted QoS
 * @len: filter length
 * @filter: the filter
 */
struct kmq_sub {
	struct list_head node;
	u8 qos;
	u16 len;
	u8 filter[];
};

/**
 * struct kmq_conn - a client connection and its session
 * @kn: namespace state
 * @sock: the accepted socket
 * @saved_data_ready: original socket callback, restored at release
 * @saved_state_change: original socket callback
 * @saved_write_space: original socket callback
 * @node: in kn->conns
 * @flags: KMQ_CONN_* bits
 * @io_work: reads, parses, and sends; never runs concurrently with itself
 * @release_work: tears the connection down
 * @ka_timer: keepalive and CONNECT deadline
 * @peer: remote address, for logs
 * @last_rx: jiffies of the last received packet
 * @close_reason: why the connection is being closed (enum kmq_reason)
 * @connected: CONNECT accepted
 * @closing_after_tx: stop reading; close once the send list is empty
 * @keepalive: negotiated keepalive, seconds (0 = off)
 * @client_id: NUL-terminated client identifier
 * @clean: clean session flag
 * @rxbuf: receive buffer (one packet at a time, grows up to max packet)
 * @rxcap: size of @rxbuf
 * @rxlen: bytes in @rxbuf
 * @inbox: packets queued by other contexts, newest first
 * @txhead: private FIFO of packets being sent (io_work only)
 * @txtail: last element of @txhead
 * @txoff: bytes of the first item of @txhead already sent
 * @qlen: queued PUBLISH deliveries (counted items)
 * @subs: struct kmq_sub, under kn->route_lock
 * @nsubs: length of @subs
 * @targets: routing scratch (io_work only)
 * @ntargets_cap: capacity of @targets
 * @qos2_ids: packet ids of inbound QoS 2 messages awaiting PUBREL
 * @nqos2: entries used in @qos2_ids
 */
struct kmq_conn {
	struct kmq_net *kn;
	struct socket *sock;
	void (*saved_data_ready)(struct sock *sk);
	void (*saved_state_change)(struct sock *sk);
	void (*saved_write_space)(struct sock *sk);
	struct list_head node;
	unsigned long flags;
	struct work_struct io_work;
	struct work_struct release_work;
	struct timer_list ka_timer;
	struct sockaddr_storage peer;
	unsigned long last_rx;
	int close_reason;
	bool connected;
	bool closing_after_tx;
	u16 keepalive;
	char *client_id;
	bool clean;

	u8 *rxbuf;
	u32 rxcap;
	u32 rxlen;

	struct llist_head inbox;
	struct llist_node *txhead;
	struct llist_node *txtail;
	u32 txoff;
	atomic_t qlen;

	struct list_head subs;
	u32 nsubs;

	struct kmq_target *targets;
	u32 ntargets_cap;

	u16 *qos2_ids;
	u32 nqos2;
};

/* stats.c */
static inline void kmq_stat_add(struct kmq_net *kn, enum kmq_stat s, u64 n)
{
	this_cpu_add(kn->stats->v[s], n);
}

static inline void kmq_stat_inc(struct kmq_net *kn, enum kmq_stat s)
{
	this_cpu_inc(kn->stats->v[s]);
}

u64 kmq_stat_sum(struct kmq_net *kn, unsigned int s);
void kmq_refuse(struct kmq_conn *conn, int reason);

/* netns.c */
struct kmq_net *kmq_net(struct net *net);
int kmq_netns_init(void);
void kmq_netns_exit(void);

/* listener.c */
int kmq_listener_add(struct kmq_net *kn, const struct sockaddr_storage *ss);
void kmq_listener_stop_all(struct kmq_net *kn);

/* conn.c */
struct kmq_conn *kmq_conn_create(struct kmq_listener *l, struct socket *sock);
void kmq_conn_close(struct kmq_conn *conn, int reason);
void kmq_conn_close_all(struct kmq_net *kn);
int kmq_conn_send_raw(struct kmq_conn *conn, const u8 *buf, u32 len);
void kmq_conn_deliver(struct kmq_conn *conn, struct kmq_msg *m, u8 qos);
int kmq_conns_init(void);
void kmq_conns_exit(void);

/* broker.c */
int kmq_handle_packet(struct kmq_conn *conn, const struct kmq_fixed *fh,
		      const u8 *body);
void kmq_session_end(struct kmq_conn *conn);

/* genl.c */
int kmq_genl_init(void);
void kmq_genl_exit(void);

#endif /* _KMQTTD_H */
