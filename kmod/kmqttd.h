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
 *   kn->auth_lock (mutex)    writers of the users and ACL rules; never
 *                            held with another kmqttd lock.  Readers
 *                            (CONNECT, routing) use RCU (auth.c).
 *
 *   kn->sess_lock (mutex)    the session table; attaching, detaching,
 *                            creating and destroying sessions.
 *   kn->lock (mutex)         listener and connection lists, connection
 *                            counts (per namespace and per listener).
 *   kn->route_lock (rwsem)   the trie and every session's subscription list;
 *                            readers route messages, writers (un)subscribe
 *                            and tear sessions down.  A publisher holds it
 *                            for reading while it queues to subscribers, so
 *                            a session found in the trie stays alive until
 *                            up_read().
 *   kn->retain_lock (mutex)  the retained messages.
 *   sess->lock (spinlock)    a session's outbound queue and its attached
 *                            connection pointer.
 *   sk->sk_callback_lock     socket callbacks and sk_user_data.
 *
 * kn->mem (the max_memory accounting) is atomic and needs no lock.
 *
 * A connection's io_work is the only context that reads its socket, sends
 * on it, or touches its receive and private send state; publishers only
 * queue to the session (under sess->lock) and queue io_work.
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
#include <linux/in.h>
#include <linux/in6.h>
#include <net/sock.h>

#include <linux/rbtree.h>
#include <linux/xarray.h>
#include <linux/time64.h>

#include "core/codec.h"
#include "core/qos.h"

struct kmq_trie;
struct genl_family;
struct netlink_callback;
struct genl_info;
struct sk_buff;
struct kmq_session;
struct kmq_conn;

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
	KMQ_S_Q3_REQUESTED,
	KMQ_S_Q3_CONFIRMED,
	KMQ_S_Q3_TIMEOUT,
	KMQ_S_Q3_UNREACHABLE,
	KMQ_S_Q3_REFUSED,
	KMQ_S_HOLDS,
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
	atomic_t deliveries;
	atomic_t retained;
	atomic_t q3;
	atomic_t users;
	atomic_t acl;
};

extern struct kmq_live kmq_live;
extern atomic64_t kmq_msg_bytes;
extern struct workqueue_struct *kmq_wq;
extern struct workqueue_struct *kmq_release_wq;
extern unsigned long kmq_load_jiffies;

/* Module parameters (kmod/main.c). */
extern unsigned short kmq_param_port;
extern char *kmq_param_bind;
extern unsigned int kmq_param_max_packet;
extern unsigned int kmq_param_max_conns;
extern unsigned int kmq_param_max_queued;
extern unsigned int kmq_param_connect_timeout;
extern unsigned int kmq_param_max_inflight;
extern unsigned int kmq_param_max_topic_len;
extern unsigned int kmq_param_max_topic_levels;
extern unsigned int kmq_param_max_subs;
extern unsigned int kmq_param_max_keepalive;
extern unsigned int kmq_param_sys_interval;
extern int kmq_param_allow_anonymous;
extern unsigned int kmq_param_pw_iterations;
extern bool kmq_param_qos3;
extern unsigned int kmq_param_qos3_timeout;
extern unsigned int kmq_param_qos3_max_pending;
extern unsigned int kmq_param_qos3_max_total;
extern unsigned int kmq_param_session_expiry;
extern bool kmq_param_retain;
extern unsigned int kmq_param_retain_max;
extern unsigned long kmq_param_retain_max_bytes;
extern unsigned long kmq_param_max_queued_bytes;
extern unsigned long kmq_param_max_memory;
extern unsigned int kmq_param_slow_reader_timeout;
extern unsigned int kmq_param_publish_hold;
#define KMQ_PUBLISH_HOLD_MAX	60000	/* ms */

#define KMQ_SESS_HASH_BITS	12
#define KMQ_SYS_LOADS		5	/* $SYS load averages kept */
#define KMQ_AUTH_HASH_BITS	8
#define KMQ_ANON_INHERIT	0xff	/* listener: the namespace decides */

/**
 * struct kmq_target - a routing destination collected under route_lock
 * @sess: subscriber
 * @qos: granted QoS of the best matching subscription
 */
struct kmq_target {
	struct kmq_session *sess;
	u8 qos;
};

/**
 * struct kmq_scratch - a growable array of routing targets
 * @t: the targets
 * @cap: capacity of @t
 */
struct kmq_scratch {
	struct kmq_target *t;
	u32 cap;
};

/**
 * struct kmq_settings - the limits of a namespace (mqctl set/get)
 *
 * Read with READ_ONCE() anywhere; written by the netlink handler.  New
 * namespaces start from the module parameters.  0 means "no limit"
 * unless stated otherwise.
 */
struct kmq_settings {
	u32 max_conns;
	u32 max_packet;		/* 0: protocol maximum */
	u32 max_inflight;	/* 0: 65535 */
	u32 max_queued;
	u32 max_keepalive;	/* clients asking more (or 0): CONNACK 0x02 */
	u32 session_expiry;	/* seconds; 0: never */
	u32 retain_max;
	u64 retain_max_bytes;
	u32 max_subs;
	u32 max_topic_len;
	u32 max_topic_levels;
	u32 connect_timeout;	/* seconds */
	u32 sys_interval;	/* seconds; 0: no $SYS */
	u32 qos3_timeout;	/* milliseconds */
	u32 qos3_max_pending;	/* per client */
	u32 qos3_max_total;	/* per namespace */
	u32 pw_iterations;	/* PBKDF2 iterations of new passwords */
	u64 max_queued_bytes;	/* per client, queued (not inflight) */
	u64 max_memory;		/* accounted bytes per namespace */
	u32 slow_reader_timeout; /* seconds without a byte sent; 0: never */
	u32 publish_hold;	/* ms publishers wait for a full queue; 0: off */
	bool retain;
	u8 allow_anonymous;	/* enum kmqttd_anonymous */
};

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
 * @set: settings
 * @sess_lock: protects @sessions, @nsessions and session attach/detach
 * @sessions: hash table of struct kmq_session by client id
 * @nsessions: sessions in the table (written under @sess_lock, read
 *	locklessly by the statistics)
 * @sess_ids: sessions by id, for netlink dumps (under @sess_lock)
 * @sess_next: next id to try
 * @lst_next: next listener id (under @lock)
 * @sys_work: publishes $SYS
 * @sys_scratch: routing scratch of @sys_work
 * @sys_load: load averages of $SYS, x1000 (sys_work only)
 * @sys_last: counters at the previous $SYS update (sys_work only)
 * @expire_work: destroys persistent sessions away for too long
 * @retain_lock: protects @retained and its counters
 * @retained: struct kmq_retained by topic
 * @nretained: retained messages
 * @retained_bytes: their topic and payload bytes
 * @q3_lock: protects every QoS 3 request's publisher pointer, the
 *	sessions' pending lists and @q3_count
 * @q3_count: pending QoS 3 requests
 * @auth_lock: serialises writers of @users, @nusers and the ACL
 * @users: struct kmq_user by name (RCU)
 * @nusers: entries in @users
 * @acl_users: struct kmq_acl_user by name: "topic" rules of each user (RCU)
 * @acl_anon: "topic" rules of anonymous clients (RCU)
 * @acl_patterns: "pattern" rules (RCU)
 * @nacl: ACL rules in all lists; 0: no ACL, everything allowed
 * @mem: bytes accounted against @set.max_memory (kmq_mem_charge())
 * @hold_lock: protects @held and every connection's hold_node
 * @held: connections that stopped reading because a subscriber's queue
 *	is nearly full (struct kmq_conn.hold_node; flow control, session.c)
 * @hold_work: lets every held connection go after set.publish_hold, in
 *	case no subscriber's queue drains
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
	struct kmq_settings set;
	struct mutex sess_lock;	/* sessions, nsessions, attach/detach */
	struct hlist_head sessions[1 << KMQ_SESS_HASH_BITS];
	unsigned int nsessions;
	struct xarray sess_ids;
	u32 sess_next;
	u32 lst_next;
	struct delayed_work sys_work;
	struct kmq_scratch sys_scratch;
	u64 sys_load[KMQ_SYS_LOADS][3];
	u64 sys_last[KMQ_SYS_LOADS];
	struct delayed_work expire_work;
	struct mutex retain_lock;	/* retained, nretained, retained_bytes */
	struct rb_root retained;
	unsigned int nretained;
	u64 retained_bytes;
	spinlock_t q3_lock;	/* q3->pub, sess->q3_pending, q3_count */
	u32 q3_count;
	struct mutex auth_lock;	/* writers: users, nusers, acl_*, nacl */
	struct hlist_head users[1 << KMQ_AUTH_HASH_BITS];
	u32 nusers;
	struct hlist_head acl_users[1 << KMQ_AUTH_HASH_BITS];
	struct list_head acl_anon;
	struct list_head acl_patterns;
	u32 nacl;
	atomic64_t mem;
	spinlock_t hold_lock;	/* held, conn->hold_node */
	struct list_head held;
	struct delayed_work hold_work;
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
 * @id: listener id (netlink)
 * @qos3: accept native QoS 3 PUBLISH (QoS bits 11)
 * @anonymous: enum kmqttd_anonymous, or KMQ_ANON_INHERIT
 * @max_conns: connections through this listener at most (0: no own cap)
 * @nconns: connections accepted through it and still open (kn->lock)
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
	u32 id;
	bool qos3;
	u8 anonymous;
	u32 max_conns;
	u32 nconns;
};

/**
 * struct kmq_msg - one published message
 * @ref: one reference per queued delivery, plus the creator's
 * @kn: the namespace its memory is accounted to
 * @topic_len: bytes of topic at @data
 * @payload_len: bytes of payload after the topic
 * @q3: the QoS 3 request it belongs to, or NULL (holds a reference)
 * @qos: QoS it was published with
 * @retain: RETAIN flag as published
 * @data: topic then payload
 */
struct kmq_msg {
	refcount_t ref;
	struct kmq_net *kn;
	struct kmq_q3 *q3;
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

struct kmq_msg *kmq_msg_new(struct kmq_net *kn, const struct kmq_publish *p);
struct kmq_msg *kmq_msg_new_will(struct kmq_net *kn,
				 const struct kmq_connect *c);

static inline u32 kmq_msg_size(const struct kmq_msg *m)
{
	return m->topic_len + m->payload_len;
}

void kmq_msg_put(struct kmq_msg *m);

static inline void kmq_msg_get(struct kmq_msg *m)
{
	refcount_inc(&m->ref);
}

/**
 * struct kmq_txitem - a packet waiting to be sent on a connection
 * @next: private FIFO link (io_work only)
 * @msg: message of a PUBLISH (holds a reference), or NULL
 * @raw: bytes of any other packet (@inl or a kmalloc'd buffer)
 * @rawlen: length of @raw
 * @hdr: PUBLISH prefix (fixed header and topic length)
 * @hdrlen: length of @hdr
 * @pid: packet identifier of a PUBLISH, big endian
 * @pidlen: 0 (QoS 0) or 2
 * @inl: storage for small packets
 */
struct kmq_txitem {
	struct kmq_txitem *next;
	struct kmq_msg *msg;
	u8 *raw;
	u32 rawlen;
	u8 hdr[8];
	u8 hdrlen;
	u8 pid[2];
	u8 pidlen;
	u8 inl[8];
};

/* Connection flags (conn->flags). */
enum {
	KMQ_CONN_CLOSING,	/* release is queued or running */
	KMQ_CONN_RELEASED,	/* release done: detached, socket gone */
	KMQ_CONN_TX_BLOCKED,	/* the socket's send buffer is full */
	KMQ_CONN_HELD,		/* on kn->held: not reading (flow control) */
};

/**
 * struct kmq_sub - one subscription of a session
 * @node: in sess->subs, under kn->route_lock
 * @rb: in sess->subs_tree by filter, under kn->route_lock
 * @charge: bytes accounted for it (kmq_mem_charge())
 * @qos: granted QoS
 * @len: filter length
 * @filter: the filter
 */
struct kmq_sub {
	struct list_head node;
	struct rb_node rb;
	u32 charge;
	u8 qos;
	u16 len;
	u8 filter[];
};

/**
 * struct kmq_delivery - a message queued to a session
 * @e: the core's queue entry (e.msg is the struct kmq_msg reference)
 * @kn: the namespace its memory is accounted to
 * @size: topic and payload bytes of the message (max_queued_bytes)
 */
struct kmq_delivery {
	struct kmq_out_entry e;
	struct kmq_net *kn;
	u32 size;
};

/**
 * struct kmq_session - MQTT session state (3.1.2.4), keyed by client id
 * @kn: namespace state
 * @hnode: in kn->sessions, under kn->sess_lock
 * @client_id: NUL-terminated
 * @id_len: length of @client_id
 * @clean: created by a clean-session CONNECT (ends with its connection)
 * @lock: protects @conn, @dead, @out, @queued_bytes, @pressing and
 *	@press_since
 * @conn: attached connection, or NULL while the client is away
 * @dead: being destroyed; deliveries are refused
 * @out: outbound FIFO and QoS 1/2 state (core/qos.h)
 * @queued_bytes: topic and payload bytes of the queued (not inflight)
 *	entries of @out, under @lock (max_queued_bytes)
 * @subs: struct kmq_sub, under kn->route_lock
 * @subs_tree: the same, by filter
 * @nsubs: length of @subs
 * @qos2_ids: bitmap of the inbound QoS 2 packet ids awaiting PUBREL
 *	(65536 bits, allocated at the first one); used only by the
 *	attached connection's io_work
 * @nqos2: bits set in @qos2_ids
 * @detached_at: jiffies when the last connection ended (expiry)
 * @id: index in kn->sess_ids (netlink dump cursor)
 * @q3_pending: QoS 3 requests of this publisher awaiting an outcome
 *	(under kn->q3_lock)
 * @q3_count: length of @q3_pending
 * @q3_done: finished requests to answer (its connection's io_work)
 * @username: the authenticated user it belongs to, NULL if anonymous;
 *	set at creation, never changed (ACL checks read it unlocked)
 * @pressing: the queue passed its high-water mark while a connection was
 *	attached; publishers are asked to hold until it drains to the
 *	low-water mark (under @lock)
 * @press_since: jiffies when @pressing was set; after set.publish_hold
 *	the session stops asking (a subscriber that does not drain must
 *	not stall its publishers for long)
 *
 * Lifetime: created and destroyed under kn->sess_lock.  A session is
 * destroyed only while no connection is attached, after its subscriptions
 * are removed under kn->route_lock held for writing, so publishers (which
 * find sessions in the trie under route_lock held for reading) never see
 * a freed session.
 */
struct kmq_session {
	struct kmq_net *kn;
	struct hlist_node hnode;
	char *client_id;
	u16 id_len;
	bool clean;
	spinlock_t lock;	/* conn, dead, out, queued_bytes, pressing */
	struct kmq_conn *conn;
	bool dead;
	struct kmq_out out;
	u64 queued_bytes;
	struct list_head subs;
	struct rb_root subs_tree;
	u32 nsubs;
	unsigned long *qos2_ids;
	u32 nqos2;
	unsigned long detached_at;
	u32 id;
	struct list_head q3_pending;
	u32 q3_count;
	struct llist_head q3_done;
	char *username;
	bool pressing;
	unsigned long press_since;
};

/**
 * union kmq_addr - an IPv4 or IPv6 socket address, for %pISpc and netlink
 * @sa: the family, as any socket address
 * @in: AF_INET
 * @in6: AF_INET6 (IPv4 clients of an IPv6 listener come mapped)
 */
union kmq_addr {
	struct sockaddr sa;
	struct sockaddr_in in;
	struct sockaddr_in6 in6;
};

/**
 * struct kmq_conn - a client connection
 * @kn: namespace state
 * @sock: the accepted socket
 * @saved_data_ready: original socket callback, restored at release
 * @saved_state_change: original socket callback
 * @saved_write_space: original socket callback
 * @node: in kn->conns
 * @ref: the connection's own reference (dropped at the end of release)
 *	plus short-lived ones (takeover waits for release with one)
 * @flags: KMQ_CONN_* bits
 * @io_work: reads, parses, and sends; never runs concurrently with itself
 * @release_work: tears the connection down
 * @ka_timer: keepalive and CONNECT deadline
 * @tx_timer: slow-reader deadline, armed while the send buffer is full
 * @tx_progress: jiffies when the socket last took bytes (or the send
 *	list was last empty)
 * @rx_backlog: complete packets wait in @rxbuf; parsing stopped because
 *	the send list was long or @rx_budget ran out (io_work only)
 * @rx_budget: packets the current io_work run may still handle
 * @rx_charge: bytes of @rxbuf accounted to the namespace (above the
 *	initial size)
 * @peer: remote address, for logs and netlink
 * @last_rx: jiffies of the last received packet
 * @close_reason: why the connection is being closed (enum kmq_reason)
 * @connected: CONNECT accepted
 * @closing_after_tx: stop reading; close once the send list is empty
 * @keepalive: negotiated keepalive, seconds (0 = off)
 * @sess: attached session (after CONNECT)
 * @will: Will message, published unless the client sends DISCONNECT
 * @rxbuf: receive buffer (one packet at a time, grows up to max packet);
 *	NULL while the connection is idle (io_work only)
 * @rxcap: size of @rxbuf (0 without one)
 * @rxlen: bytes in @rxbuf
 * @txhead: private FIFO of packets being sent (io_work only)
 * @txtail: last element of @txhead
 * @txoff: bytes of @txhead already sent
 * @txcount: items in the private FIFO
 * @scratch: routing scratch (io_work and release only)
 * @lid: id of the listener it was accepted on
 * @since: wall-clock second the CONNECT was accepted
 * @username: user name of the CONNECT, or NULL
 * @auth_user: the user name, if the password was verified, else NULL
 * @anonymous: its listener's enum kmqttd_anonymous or KMQ_ANON_INHERIT
 * @suppress_will: closing without publishing the Will (kick)
 * @kicked: closed by an administrator
 * @qos3: native QoS 3 enabled on its listener
 * @msgs_in: PUBLISH packets received (io_work writes, others READ_ONCE)
 * @msgs_out: PUBLISH packets sent
 * @bytes_in: bytes received
 * @bytes_out: bytes sent
 * @hold_node: in kn->held while KMQ_CONN_HELD is set (kn->hold_lock)
 */
struct kmq_conn {
	struct kmq_net *kn;
	struct socket *sock;
	void (*saved_data_ready)(struct sock *sk);
	void (*saved_state_change)(struct sock *sk);
	void (*saved_write_space)(struct sock *sk);
	struct list_head node;
	refcount_t ref;
	int close_reason;
	unsigned long flags;
	struct work_struct io_work;
	struct work_struct release_work;
	struct timer_list ka_timer;
	struct timer_list tx_timer;
	unsigned long tx_progress;
	unsigned long last_rx;
	union kmq_addr peer;
	u16 keepalive;
	bool connected;
	bool closing_after_tx;
	struct kmq_session *sess;
	struct kmq_msg *will;

	u8 *rxbuf;
	u32 rxcap;
	u32 rxlen;
	u32 rx_budget;
	u32 rx_charge;
	bool rx_backlog;

	struct kmq_txitem *txhead;
	struct kmq_txitem *txtail;
	u32 txoff;
	u32 txcount;

	struct kmq_scratch scratch;
	u32 lid;
	u8 anonymous;
	bool suppress_will;
	bool kicked;
	bool qos3;
	time64_t since;
	char *username;
	char *auth_user;
	u64 msgs_in;
	u64 msgs_out;
	u64 bytes_in;
	u64 bytes_out;
	struct list_head hold_node;
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
bool kmq_mem_charge(struct kmq_net *kn, u64 bytes);
void kmq_mem_uncharge(struct kmq_net *kn, u64 bytes);
void kmq_mem_refused(struct kmq_net *kn);
bool kmq_topic_within_limits(struct kmq_net *kn, const u8 *t, u32 len);

/* netns.c */
struct kmq_net *kmq_net(struct net *net);
int kmq_netns_init(void);
void kmq_netns_exit(void);

/* listener.c */
int kmq_listener_add(struct kmq_net *kn, const struct sockaddr_storage *ss,
		     bool qos3, u8 anonymous, u32 max_conns, u32 *id);
void kmq_listener_conn_gone(struct kmq_net *kn, u32 id);
int kmq_listener_del(struct kmq_net *kn, u32 id,
		     const struct sockaddr_storage *ss);
void kmq_listener_stop_all(struct kmq_net *kn);

/* conn.c */
struct kmq_conn *kmq_conn_create(struct kmq_listener *l, struct socket *sock);
void kmq_conn_close(struct kmq_conn *conn, int reason);
void kmq_conn_wait_released(struct kmq_conn *conn);
void kmq_conn_hold(struct kmq_conn *conn);
void kmq_hold_release_all(struct kmq_net *kn);
void kmq_hold_net_init(struct kmq_net *kn);
void kmq_hold_net_exit(struct kmq_net *kn);
void kmq_conn_close_all(struct kmq_net *kn);
void kmq_conn_put(struct kmq_conn *conn);
int kmq_conn_send_raw(struct kmq_conn *conn, const u8 *buf, u32 len);
int kmq_conn_reply(struct kmq_conn *conn, const u8 *buf, u32 len);
int kmq_conn_send_publish(struct kmq_conn *conn, struct kmq_msg *m, u8 qos,
			  u16 pid, bool dup, bool retain);
int kmq_conns_init(void);
void kmq_conns_exit(void);

static inline void kmq_conn_get(struct kmq_conn *conn)
{
	refcount_inc(&conn->ref);
}

/* session.c */
int kmq_session_connect(struct kmq_conn *conn, const struct kmq_connect *c,
			bool *session_present);
void kmq_session_disconnect(struct kmq_conn *conn);
bool kmq_session_deliver(struct kmq_session *s, struct kmq_msg *m, u8 qos,
			 bool retain, bool *hold);
int kmq_session_pull(struct kmq_conn *conn, u32 max);
int kmq_session_ack(struct kmq_conn *conn, u8 type, u16 pid);
int kmq_session_resume(struct kmq_conn *conn);
struct kmq_session *kmq_session_find(struct kmq_net *kn, const char *id,
				     u16 len);
int kmq_session_kick(struct kmq_net *kn, const char *id, u16 len, bool will,
		     bool purge);
void kmq_sessions_net_init(struct kmq_net *kn);
void kmq_sessions_net_exit(struct kmq_net *kn);
int kmq_sessions_init(void);
void kmq_sessions_exit(void);

/* retain.c */
void kmq_retain_store(struct kmq_net *kn, struct kmq_msg *m);
void kmq_retain_deliver(struct kmq_net *kn, struct kmq_session *s,
			const u8 *filter, u32 flen, u8 qos);
void kmq_retain_net_exit(struct kmq_net *kn);
u32 kmq_retain_del(struct kmq_net *kn, const char *t, u32 len, bool filter);
int kmq_retain_dump(struct kmq_net *kn, struct sk_buff *skb,
		    struct netlink_callback *cb, struct genl_family *fam,
		    const char *filter);

/* broker.c */
int kmq_handle_packet(struct kmq_conn *conn, const struct kmq_fixed *fh,
		      const u8 *body);
bool kmq_route(struct kmq_net *kn, struct kmq_scratch *sc, struct kmq_msg *m,
	       const struct kmq_session *from);
void kmq_subs_remove_all(struct kmq_session *s);
void kmq_qos2_free(struct kmq_session *s);

/* qos3.c */
enum { KMQ_Q3_PENDING, KMQ_Q3_DONE };
enum { KMQ_Q3_NATIVE, KMQ_Q3_TOPIC_Q1, KMQ_Q3_TOPIC_Q2 };

/**
 * struct kmq_q3 - a QoS 3 request (qos3.c)
 * @ref: held by the publisher's pending or done list, by the message and
 *	by the timeout work while it is armed
 * @kn: namespace state
 * @pub: the publisher's session, NULL once it is gone (kn->q3_lock)
 * @node: in pub->q3_pending (kn->q3_lock)
 * @done: in pub->q3_done once finished
 * @timeout: ends the request with KMQ_Q3_TIMEOUT
 * @state: KMQ_Q3_PENDING, then KMQ_Q3_DONE exactly once
 * @lock: protects the counters below
 * @pid: the publisher's packet id
 * @mode: KMQ_Q3_NATIVE, KMQ_Q3_TOPIC_Q1 or KMQ_Q3_TOPIC_Q2
 * @result: enum kmq_q3_result, once done
 * @armed: routing has finished; counters may decide the outcome
 * @pubrel: (TOPIC_Q2) PUBREL received, PUBCOMP withheld (kn->q3_lock)
 * @required: confirmations needed
 * @matched: subscribers the message was routed to
 * @confirmable: of which could confirm (QoS >= 1, queued)
 * @confirmed: confirmations received
 * @lost: confirmable deliveries dropped unacknowledged
 */
struct kmq_q3 {
	refcount_t ref;
	struct kmq_net *kn;
	struct kmq_session *pub;
	struct list_head node;
	struct llist_node done;
	struct delayed_work timeout;
	atomic_t state;
	spinlock_t lock;	/* the counters */
	u16 pid;
	u8 mode;
	u8 result;
	bool armed;
	bool pubrel;
	u32 required;
	u32 matched;
	u32 confirmable;
	u32 confirmed;
	u32 lost;
};

/**
 * struct kmq_route_result - what kmq_route_counted() did
 * @matched: subscribers the message was queued or dropped for
 * @confirmable: deliveries queued at QoS 1 or 2
 * @hold: a subscriber other than @from asks the publisher to hold
 */
struct kmq_route_result {
	u32 matched;
	u32 confirmable;
	bool hold;
};

void kmq_route_counted(struct kmq_net *kn, struct kmq_scratch *sc,
		       struct kmq_msg *m, const struct kmq_session *from,
		       struct kmq_route_result *rr);
int kmq_q3_publish(struct kmq_conn *conn, struct kmq_msg *m,
		   const struct kmq_qos3 *ask, u16 pid, u8 mode, bool retain);
bool kmq_q3_pending(struct kmq_conn *conn, u16 pid);
bool kmq_q3_pubrel(struct kmq_conn *conn, u16 pid);
void kmq_q3_confirm(struct kmq_q3 *q);
void kmq_q3_lost(struct kmq_q3 *q);
void kmq_q3_msg_release(struct kmq_q3 *q);
int kmq_q3_drain(struct kmq_conn *conn);
int kmq_q3_answer_refused(struct kmq_conn *conn, u16 pid, u8 mode);
void kmq_q3_session_end(struct kmq_session *s);
int kmq_q3_init(void);
void kmq_q3_exit(void);

/* genl.c */
#define KMQ_NL_STR_CUT	1024	/* strings of an object cut to fit a dump */
int kmq_nl_put_str(struct sk_buff *skb, int attr, const void *str, size_t len,
		   bool cut);
int kmq_nl_dump_one(struct sk_buff *skb, struct netlink_callback *cb,
		    const struct genl_family *fam, u8 cmd,
		    int (*fill)(struct sk_buff *skb, void *arg, bool cut),
		    void *arg);
int kmq_genl_init(void);
void kmq_genl_exit(void);
void kmq_event_client(struct kmq_net *kn, int type, struct kmq_conn *conn,
		      int reason);
void kmq_event_listener(struct kmq_net *kn, int type,
			struct kmq_listener *l);

/* auth.c */
struct kmq_pwhash;

int kmq_auth_connect(struct kmq_conn *conn, const struct kmq_connect *c,
		     u8 *rc);
bool kmq_acl_check(struct kmq_net *kn, const struct kmq_session *s, int op,
		   const u8 *t, u32 len);
int kmq_user_set(struct kmq_net *kn, const char *name,
		 const struct kmq_pwhash *pw);
int kmq_user_del(struct kmq_net *kn, const char *name);
u32 kmq_user_clear(struct kmq_net *kn);
int kmq_user_hash(const u8 *pw, u32 len, u32 iterations,
		  struct kmq_pwhash *h);
int kmq_acl_add(struct kmq_net *kn, int kind, const char *user, u8 access,
		const char *pattern);
int kmq_acl_del(struct kmq_net *kn, int kind, const char *user, u8 access,
		const char *pattern);
u32 kmq_acl_clear(struct kmq_net *kn);
int kmq_user_dump(struct kmq_net *kn, struct sk_buff *skb,
		  struct netlink_callback *cb, struct genl_family *fam);
int kmq_user_get(struct kmq_net *kn, struct genl_info *info,
		 struct genl_family *fam, const char *name);
int kmq_acl_dump(struct kmq_net *kn, struct sk_buff *skb,
		 struct netlink_callback *cb, struct genl_family *fam);
void kmq_auth_net_init(struct kmq_net *kn);
void kmq_auth_net_exit(struct kmq_net *kn);
int kmq_auth_init(void);
void kmq_auth_exit(void);

/* sys.c */
void kmq_sys_net_init(struct kmq_net *kn);
void kmq_sys_net_exit(struct kmq_net *kn);
void kmq_sys_kick(struct kmq_net *kn);

#endif /* _KMQTTD_H */
