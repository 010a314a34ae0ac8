// SPDX-License-Identifier: GPL-2.0
/*
 * conn.c - client connections: socket callbacks, receive, send, teardown.
 *
 * Locking and contexts
 * --------------------
 * The socket callbacks run in softirq with the socket lock held; they only
 * queue work.  io_work is the single context that reads the socket,
 * parses packets, and sends: a work item never runs concurrently with
 * itself, so the receive buffer and the private send list need no lock.
 * Publishers queue deliveries to the connection's session (session.c) and
 * queue io_work, which pulls them into the private send list as the
 * inflight window and the socket allow.
 *
 * Bounds
 * ------
 * A client that does not read cannot make the broker buffer without
 * bound: while the socket's send buffer is full (KMQ_CONN_TX_BLOCKED)
 * nothing is read from the socket; parsing stops while KMQ_TX_MAX items
 * wait in the private send list (the rest of the receive buffer is parsed
 * once they are sent); deliveries wait in the session's queue, which
 * max_queued and max_queued_bytes bound; and a connection whose socket
 * takes no byte for slow_reader_timeout seconds is closed (refusal
 * slow_reader).  The receive buffer grows only with bytes received, up to
 * max_packet_size, and its growth is charged to the namespace's
 * max_memory.
 *
 * An idle connection has no receive buffer: io_work frees it when a run
 * ends with nothing in it, and allocates KMQ_RX_INIT bytes again once the
 * socket has something to read (kmq_rx_ready()).  A held connection or
 * one with a partial packet keeps its bytes.
 *
 * Flow control
 * ------------
 * A publisher faster than its subscribers would fill their queues and
 * lose messages at max_queued.  Instead, once a subscriber's queue passes
 * its high-water mark (session.c), the publisher's connection is "held"
 * (KMQ_CONN_HELD, on kn->held): its io_work finishes the packet at hand
 * and reads no more, so TCP pushes back on the client.  It keeps sending.
 * When a pressing queue drains to its low-water mark, every held
 * connection of the namespace is let go (kmq_hold_release_all()); a
 * connection still pressed holds again at its next PUBLISH.  No session
 * presses for longer than publish_hold milliseconds without draining,
 * and kn->hold_work lets everybody go after that time in any case: a
 * subscriber that stops reading costs its publishers one publish_hold,
 * then its queue overflows and drops as before.
 *
 * Teardown goes through kmq_conn_close(), which may be called from any
 * context, once or many times: the first call sets KMQ_CONN_CLOSING and
 * queues release_work.  Release restores the socket callbacks, stops the
 * timer and io_work, removes the session's subscriptions under the route
 * lock (after which no publisher can reach the connection), flushes
 * io_work once more (a publisher may have queued it meanwhile), and frees
 * everything.  io_work returns at once when it sees KMQ_CONN_CLOSING.
 */
#include <linux/net.h>
#include <linux/slab.h>
#include <linux/mm.h>
#include <linux/jiffies.h>
#include <linux/uio.h>
#include <net/sock.h>
#include <net/tcp.h>

#include <linux/kmqttd.h>

#include "kmqttd.h"
#include "core/acl.h"

#define KMQ_RX_INIT	512		/* initial receive buffer */
#define KMQ_RX_KEEP	(64 << 10)	/* shrink back above this */
#define KMQ_IO_BUDGET	64		/* loops per io_work run */
#define KMQ_RX_BUDGET	64		/* packets handled per io_work run */
#define KMQ_TX_IOV	32		/* kvecs per sendmsg */
#define KMQ_TX_LOW	16		/* pull from the session below this */
#define KMQ_TX_MAX	64		/* stop parsing with this many to send */

static struct kmem_cache *kmq_conn_cache __read_mostly;
static struct kmem_cache *kmq_txitem_cache __read_mostly;

/* ---- socket callbacks (softirq) ---- */

static void kmq_data_ready(struct sock *sk)
{
	struct kmq_conn *conn;

	read_lock_bh(&sk->sk_callback_lock);
	conn = sk->sk_user_data;
	if (conn)
		queue_work(kmq_wq, &conn->io_work);
	read_unlock_bh(&sk->sk_callback_lock);
}

static void kmq_write_space(struct sock *sk)
{
	struct kmq_conn *conn;

	read_lock_bh(&sk->sk_callback_lock);
	conn = sk->sk_user_data;
	if (conn && sk_stream_is_writeable(sk)) {
		clear_bit(SOCK_NOSPACE, &sk->sk_socket->flags);
		queue_work(kmq_wq, &conn->io_work);
	}
	read_unlock_bh(&sk->sk_callback_lock);
}

static void kmq_state_change(struct sock *sk)
{
	struct kmq_conn *conn;

	read_lock_bh(&sk->sk_callback_lock);
	conn = sk->sk_user_data;
	if (conn) {
		switch (sk->sk_state) {
		case TCP_ESTABLISHED:
			break;
		case TCP_CLOSE_WAIT:
			/* the peer sent FIN: read what precedes it */
			queue_work(kmq_wq, &conn->io_work);
			break;
		default:
			kmq_conn_close(conn, KMQ_R_NONE);
			break;
		}
	}
	read_unlock_bh(&sk->sk_callback_lock);
}

/* ---- keepalive and CONNECT deadline (softirq) ---- */

static void kmq_ka_timer(struct timer_list *t)
{
	struct kmq_conn *conn = from_timer(conn, t, ka_timer);
	unsigned long deadline;
	u16 ka;

	if (!READ_ONCE(conn->connected)) {
		kmq_refuse(conn, KMQ_R_KEEPALIVE);
		kmq_conn_close(conn, KMQ_R_KEEPALIVE);
		return;
	}
	ka = READ_ONCE(conn->keepalive);
	if (!ka)
		return;
	deadline = READ_ONCE(conn->last_rx) + (unsigned long)ka * HZ * 3 / 2;
	if (time_after_eq(jiffies, deadline)) {
		kmq_refuse(conn, KMQ_R_KEEPALIVE);
		kmq_conn_close(conn, KMQ_R_KEEPALIVE);
		return;
	}
	mod_timer(&conn->ka_timer, deadline);
}

/* ---- slow-reader deadline (softirq) ---- */

/*
 * While the timeout is 0 (off), a blocked connection is looked at again
 * every KMQ_TX_RECHECK, so that setting a timeout later also reaches
 * connections that were already blocked.
 */
#define KMQ_TX_RECHECK	(5 * HZ)

static void kmq_tx_timer(struct timer_list *t)
{
	struct kmq_conn *conn = from_timer(conn, t, tx_timer);
	unsigned int secs = READ_ONCE(conn->kn->set.slow_reader_timeout);
	unsigned long deadline;

	if (!test_bit(KMQ_CONN_TX_BLOCKED, &conn->flags))
		return;
	if (!secs) {
		mod_timer(&conn->tx_timer, jiffies + KMQ_TX_RECHECK);
		return;
	}
	deadline = READ_ONCE(conn->tx_progress) + (unsigned long)secs * HZ;
	if (time_after_eq(jiffies, deadline)) {
		kmq_refuse(conn, KMQ_R_SLOW_READER);
		kmq_conn_close(conn, KMQ_R_SLOW_READER);
		return;
	}
	mod_timer(&conn->tx_timer, deadline);
}

/*
 * The socket's send buffer is full.  On the transition, start the
 * slow-reader clock; bytes the socket takes later restart it
 * (kmq_try_send() sets tx_progress).
 */
static void kmq_tx_set_blocked(struct kmq_conn *conn)
{
	unsigned int secs;

	if (test_and_set_bit(KMQ_CONN_TX_BLOCKED, &conn->flags))
		return;
	WRITE_ONCE(conn->tx_progress, jiffies);
	secs = READ_ONCE(conn->kn->set.slow_reader_timeout);
	if (!timer_pending(&conn->tx_timer))
		mod_timer(&conn->tx_timer, jiffies + (secs ?
			  (unsigned long)secs * HZ : KMQ_TX_RECHECK));
}

/* ---- send side ---- */

static struct kmq_txitem *kmq_txitem_alloc(void)
{
	struct kmq_txitem *it;

	it = kmem_cache_zalloc(kmq_txitem_cache, GFP_KERNEL | __GFP_NOWARN);
	if (it)
		atomic_inc(&kmq_live.txitems);
	return it;
}

static void kmq_txitem_free(struct kmq_txitem *it)
{
	if (it->msg)
		kmq_msg_put(it->msg);
	if (it->raw && it->raw != it->inl)
		kfree(it->raw);
	kmem_cache_free(kmq_txitem_cache, it);
	atomic_dec(&kmq_live.txitems);
}

static u32 kmq_txitem_len(const struct kmq_txitem *it)
{
	if (!it->msg)
		return it->rawlen;
	return it->hdrlen + it->msg->topic_len + it->pidlen +
	       it->msg->payload_len;
}

static void kmq_tx_append(struct kmq_conn *conn, struct kmq_txitem *it)
{
	it->next = NULL;
	if (conn->txtail)
		conn->txtail->next = it;
	else
		conn->txhead = it;
	conn->txtail = it;
	conn->txcount++;
}

/* Add the bytes of @it, minus the first @skip, to @iov; returns kvecs used. */
static int kmq_txitem_iov(const struct kmq_txitem *it, u32 skip,
			  struct kvec *iov, int max)
{
	const void *base[4];
	u32 len[4];
	int nseg, i, n = 0;

	if (it->msg) {
		base[0] = it->hdr;
		len[0] = it->hdrlen;
		base[1] = it->msg->data;
		len[1] = it->msg->topic_len;
		base[2] = it->pid;
		len[2] = it->pidlen;
		base[3] = kmq_msg_payload(it->msg);
		len[3] = it->msg->payload_len;
		nseg = 4;
	} else {
		base[0] = it->raw;
		len[0] = it->rawlen;
		nseg = 1;
	}
	for (i = 0; i < nseg && n < max; i++) {
		if (skip >= len[i]) {
			skip -= len[i];
			continue;
		}
		iov[n].iov_base = (void *)base[i] + skip;
		iov[n].iov_len = len[i] - skip;
		skip = 0;
		n++;
	}
	return n;
}

/* Free the items fully covered by @sent bytes; keep the offset into the next. */
static void kmq_tx_consume(struct kmq_conn *conn, u32 sent)
{
	struct kmq_net *kn = conn->kn;

	while (sent && conn->txhead) {
		struct kmq_txitem *it = conn->txhead;
		u32 left = kmq_txitem_len(it) - conn->txoff;

		if (sent < left) {
			conn->txoff += sent;
			return;
		}
		sent -= left;
		conn->txoff = 0;
		conn->txhead = it->next;
		if (!conn->txhead)
			conn->txtail = NULL;
		conn->txcount--;
		kmq_stat_inc(kn, KMQ_S_PKTS_OUT);
		if (it->msg) {
			kmq_stat_inc(kn, KMQ_S_MSGS_OUT);
			WRITE_ONCE(conn->msgs_out, conn->msgs_out + 1);
		}
		kmq_txitem_free(it);
	}
}

/*
 * Send as much of the queue as the socket takes.
 * Returns 1 if bytes were sent, 0 if nothing was (empty or blocked), or a
 * negative errno when the connection is broken.
 */
static int kmq_try_send(struct kmq_conn *conn)
{
	struct kvec iov[KMQ_TX_IOV];
	struct kmq_txitem *pos;
	struct msghdr msg;
	int progress = 0;
	int niov, ret;
	size_t total;
	u32 skip;

	ret = kmq_q3_drain(conn);
	if (ret)
		return ret;
	for (;;) {
		if (conn->txcount < KMQ_TX_LOW && conn->sess) {
			ret = kmq_session_pull(conn, KMQ_TX_LOW);
			if (ret < 0)
				return ret;
		}
		if (!conn->txhead)
			break;
		niov = 0;
		total = 0;
		skip = conn->txoff;
		for (pos = conn->txhead; pos && niov < KMQ_TX_IOV - 3;
		     pos = pos->next) {
			int k = kmq_txitem_iov(pos, skip, iov + niov,
					       KMQ_TX_IOV - niov);

			while (k--)
				total += iov[niov++].iov_len;
			skip = 0;
		}
		memset(&msg, 0, sizeof(msg));
		msg.msg_flags = MSG_DONTWAIT | MSG_NOSIGNAL;
		if (pos)
			msg.msg_flags |= MSG_MORE;
		ret = kernel_sendmsg(conn->sock, &msg, iov, niov, total);
		if (ret == -EAGAIN) {
			kmq_tx_set_blocked(conn);
			return progress;
		}
		if (ret < 0)
			return ret;
		WRITE_ONCE(conn->tx_progress, jiffies);
		kmq_stat_add(conn->kn, KMQ_S_BYTES_OUT, ret);
		WRITE_ONCE(conn->bytes_out, conn->bytes_out + ret);
		kmq_tx_consume(conn, ret);
		progress = 1;
		if ((size_t)ret < total) {
			kmq_tx_set_blocked(conn);
			return progress;
		}
		clear_bit(KMQ_CONN_TX_BLOCKED, &conn->flags);
	}
	return progress;
}

/**
 * kmq_conn_send_raw() - queue a packet built by this connection's worker
 * @conn: the connection
 * @buf: packet bytes (copied)
 * @len: length
 *
 * Context: the connection's io_work only.
 * Return: 0 or -ENOMEM.
 */
int kmq_conn_send_raw(struct kmq_conn *conn, const u8 *buf, u32 len)
{
	struct kmq_txitem *it = kmq_txitem_alloc();

	if (!it)
		return -ENOMEM;
	if (len <= sizeof(it->inl)) {
		memcpy(it->inl, buf, len);
		it->raw = it->inl;
	} else {
		it->raw = kmemdup(buf, len, GFP_KERNEL | __GFP_NOWARN);
		if (!it->raw) {
			kmq_txitem_free(it);
			return -ENOMEM;
		}
	}
	it->rawlen = len;
	kmq_tx_append(conn, it);
	return 0;
}

/**
 * kmq_conn_reply() - queue a reply to a client's packet
 * @conn: the connection
 * @buf: packet bytes (copied)
 * @len: length
 *
 * Deliveries already queued to the session (as far as the inflight window
 * allows) are moved to the send list first, so that a reply keeps its
 * place after the messages that preceded it.
 *
 * Context: the connection's io_work only.
 * Return: 0 or -ENOMEM.
 */
int kmq_conn_reply(struct kmq_conn *conn, const u8 *buf, u32 len)
{
	int ret;

	if (conn->sess) {
		ret = kmq_session_pull(conn, KMQ_TX_LOW);
		if (ret < 0)
			return ret;
	}
	return kmq_conn_send_raw(conn, buf, len);
}

/**
 * kmq_conn_send_publish() - queue a PUBLISH for sending
 * @conn: the connection
 * @m: the message (a reference is taken)
 * @qos: QoS of this delivery
 * @pid: packet identifier (QoS 1/2)
 * @dup: DUP flag (a re-send)
 * @retain: RETAIN flag
 *
 * Context: the connection's io_work.
 * Return: 0 or -ENOMEM.
 */
int kmq_conn_send_publish(struct kmq_conn *conn, struct kmq_msg *m, u8 qos,
			  u16 pid, bool dup, bool retain)
{
	struct kmq_txitem *it = kmq_txitem_alloc();

	if (!it)
		return -ENOMEM;
	kmq_msg_get(m);
	it->msg = m;
	it->hdrlen = kmq_encode_publish_prefix(it->hdr, qos, dup, retain,
					       m->topic_len, m->payload_len);
	if (qos) {
		it->pid[0] = pid >> 8;
		it->pid[1] = pid & 0xff;
		it->pidlen = 2;
	}
	kmq_tx_append(conn, it);
	return 0;
}

static void kmq_tx_purge(struct kmq_conn *conn)
{
	struct kmq_txitem *pos, *next;

	for (pos = conn->txhead; pos; pos = next) {
		next = pos->next;
		kmq_txitem_free(pos);
	}
	conn->txhead = NULL;
	conn->txtail = NULL;
	conn->txcount = 0;
}

/* ---- receive side ---- */

/*
 * Replace the receive buffer by one of @cap bytes.  What it holds above
 * KMQ_RX_INIT is charged to the namespace.
 * Return: 0, -ENOSPC (max_memory) or -ENOMEM; the old buffer stays.
 */
static int kmq_rx_resize(struct kmq_conn *conn, u32 cap)
{
	u32 charge = cap > KMQ_RX_INIT ? cap - KMQ_RX_INIT : 0;
	u32 more = charge > conn->rx_charge ? charge - conn->rx_charge : 0;
	u8 *buf;

	if (more && !kmq_mem_charge(conn->kn, more))
		return -ENOSPC;
	buf = kvmalloc(cap, GFP_KERNEL | __GFP_NOWARN);
	if (!buf) {
		if (more)
			kmq_mem_uncharge(conn->kn, more);
		return -ENOMEM;
	}
	if (charge < conn->rx_charge)
		kmq_mem_uncharge(conn->kn, conn->rx_charge - charge);
	conn->rx_charge = charge;
	if (conn->rxlen)
		memcpy(buf, conn->rxbuf, conn->rxlen);
	kvfree(conn->rxbuf);
	conn->rxbuf = buf;
	conn->rxcap = cap;
	return 0;
}

/* Free an empty receive buffer: an idle connection keeps none. */
static void kmq_rx_release(struct kmq_conn *conn)
{
	if (!conn->rxbuf || conn->rxlen)
		return;
	kvfree(conn->rxbuf);
	conn->rxbuf = NULL;
	conn->rxcap = 0;
	kmq_mem_uncharge(conn->kn, conn->rx_charge);
	conn->rx_charge = 0;
}

/*
 * Is there anything for recvmsg: data, a FIN or an error?  A lockless
 * peek as in tcp_poll(); what arrives later queues io_work again.
 */
static bool kmq_rx_ready(struct sock *sk)
{
	return !skb_queue_empty_lockless(&sk->sk_receive_queue) ||
	       READ_ONCE(sk->sk_err) ||
	       (READ_ONCE(sk->sk_shutdown) & RCV_SHUTDOWN);
}

/* Handle every complete packet in the receive buffer. */
static int kmq_parse_rx(struct kmq_conn *conn)
{
	u32 max = READ_ONCE(conn->kn->set.max_packet);
	struct kmq_fixed fh;
	u32 off = 0;
	int ret = 0;

	conn->rx_backlog = false;
	while (off < conn->rxlen) {
		if (conn->txcount >= KMQ_TX_MAX || !conn->rx_budget ||
		    test_bit(KMQ_CONN_HELD, &conn->flags)) {
			/*
			 * The rest once the send list has gone out, the hold
			 * ends, or in the next run: a flood from one client
			 * must not keep the worker from the others.
			 */
			conn->rx_backlog = true;
			break;
		}
		ret = kmq_parse_fixed(conn->rxbuf + off, conn->rxlen - off, &fh);
		if (ret == KMQ_NEED_MORE) {
			ret = 0;
			break;
		}
		if (ret < 0) {
			kmq_refuse(conn, -ret);
			break;
		}
		if (max && fh.hdr_len + fh.remaining > max) {
			kmq_refuse(conn, KMQ_R_TOO_LARGE);
			ret = -KMQ_R_TOO_LARGE;
			break;
		}
		if (conn->rxlen - off < fh.hdr_len + fh.remaining)
			break;
		kmq_stat_inc(conn->kn, KMQ_S_PKTS_IN);
		conn->rx_budget--;
		ret = kmq_handle_packet(conn, &fh, conn->rxbuf + off + fh.hdr_len);
		off += fh.hdr_len + fh.remaining;
		if (ret < 0)
			break;
		if (conn->closing_after_tx ||
		    test_bit(KMQ_CONN_CLOSING, &conn->flags)) {
			/* process no further data (MQTT-3.1.4-5) */
			off = conn->rxlen;
			break;
		}
	}
	if (ret < 0)
		return ret;
	conn->rxlen -= off;
	if (off && conn->rxlen)
		memmove(conn->rxbuf, conn->rxbuf + off, conn->rxlen);
	if (conn->rxcap > KMQ_RX_KEEP && conn->rxlen <= KMQ_RX_INIT)
		kmq_rx_resize(conn, KMQ_RX_INIT); /* failure: keep the big one */
	return 0;
}

/*
 * Read once and handle what arrived.
 * Returns 1 on progress, 0 when nothing was there, negative to close.
 */
static int kmq_try_recv(struct kmq_conn *conn)
{
	u32 max = READ_ONCE(conn->kn->set.max_packet);
	struct msghdr msg = { .msg_flags = MSG_DONTWAIT };
	struct kvec iov;
	u32 before;
	int n, ret;

	if (conn->rx_backlog) {
		/* complete packets wait: handle them before reading more */
		before = conn->rxlen;
		ret = kmq_parse_rx(conn);
		if (ret < 0)
			return ret;
		/* once it is gone, go on to read the socket */
		return conn->rxlen != before || !conn->rx_backlog;
	}
	if (!conn->rxbuf) {
		if (!kmq_rx_ready(conn->sock->sk))
			return 0;
		ret = kmq_rx_resize(conn, KMQ_RX_INIT);
		if (ret) {
			kmq_refuse(conn, KMQ_R_NOMEM);
			return ret;
		}
	}
	if (conn->rxlen == conn->rxcap) {
		/* grow with what actually arrives, never to a claimed size */
		u32 cap = conn->rxcap * 2;

		if (max && cap > max + KMQ_FIXED_HDR_MAX)
			cap = max + KMQ_FIXED_HDR_MAX;
		ret = cap > conn->rxcap ? kmq_rx_resize(conn, cap) : -ENOMEM;
		if (ret) {
			kmq_refuse(conn, ret == -ENOSPC ? KMQ_R_MEMORY :
				   KMQ_R_NOMEM);
			return ret;
		}
	}
	iov.iov_base = conn->rxbuf + conn->rxlen;
	iov.iov_len = conn->rxcap - conn->rxlen;
	n = kernel_recvmsg(conn->sock, &msg, &iov, 1, iov.iov_len,
			   MSG_DONTWAIT);
	if (n == -EAGAIN)
		return 0;
	if (n == 0)
		return -ECONNRESET;
	if (n < 0)
		return n;
	conn->rxlen += n;
	kmq_stat_add(conn->kn, KMQ_S_BYTES_IN, n);
	WRITE_ONCE(conn->bytes_in, conn->bytes_in + n);
	ret = kmq_parse_rx(conn);
	return ret < 0 ? ret : 1;
}

static void kmq_io_work(struct work_struct *work)
{
	struct kmq_conn *conn = container_of(work, struct kmq_conn, io_work);
	int budget = KMQ_IO_BUDGET;
	int progress, ret;

	conn->rx_budget = KMQ_RX_BUDGET;
	do {
		if (test_bit(KMQ_CONN_CLOSING, &conn->flags))
			return;
		progress = 0;
		ret = kmq_try_send(conn);
		if (ret < 0)
			goto close;
		progress |= ret;
		if (conn->closing_after_tx) {
			if (!conn->txhead)
				goto close;
			continue;
		}
		if (!test_bit(KMQ_CONN_TX_BLOCKED, &conn->flags) &&
		    !test_bit(KMQ_CONN_HELD, &conn->flags)) {
			ret = kmq_try_recv(conn);
			if (ret < 0)
				goto close;
			progress |= ret;
		}
	} while (progress && --budget);

	/* out of budget: the rest in a new run, behind the other work */
	if (progress || (conn->rx_backlog &&
			 !test_bit(KMQ_CONN_TX_BLOCKED, &conn->flags) &&
			 !test_bit(KMQ_CONN_HELD, &conn->flags)))
		queue_work(kmq_wq, &conn->io_work);
	else
		kmq_rx_release(conn);	/* idle until the socket has data */
	return;
close:
	kmq_conn_close(conn, conn->close_reason);
}

/* ---- flow control ---- */

/**
 * kmq_conn_hold() - stop reading a publisher for a while
 * @conn: the publisher, whose last PUBLISH went to a nearly full queue
 *
 * Its io_work handles no further packet and reads no more until
 * kmq_hold_release_all() lets it go: when a pressing queue drains, or
 * after set.publish_hold at the latest.
 *
 * Context: the connection's io_work.
 */
void kmq_conn_hold(struct kmq_conn *conn)
{
	struct kmq_net *kn = conn->kn;
	unsigned int ms = READ_ONCE(kn->set.publish_hold);

	spin_lock(&kn->hold_lock);
	if (!test_and_set_bit(KMQ_CONN_HELD, &conn->flags)) {
		list_add_tail(&conn->hold_node, &kn->held);
		/* pending already: the earlier deadline stands */
		queue_delayed_work(kmq_wq, &kn->hold_work,
				   msecs_to_jiffies(ms ? ms : 1));
		kmq_stat_inc(kn, KMQ_S_HOLDS);
	}
	spin_unlock(&kn->hold_lock);
}

/**
 * kmq_hold_release_all() - let every held connection read again
 * @kn: namespace state
 *
 * Context: process context, no spinlock held.
 */
void kmq_hold_release_all(struct kmq_net *kn)
{
	struct kmq_conn *conn, *tmp;

	spin_lock(&kn->hold_lock);
	list_for_each_entry_safe(conn, tmp, &kn->held, hold_node) {
		list_del_init(&conn->hold_node);
		clear_bit(KMQ_CONN_HELD, &conn->flags);
		queue_work(kmq_wq, &conn->io_work);
	}
	spin_unlock(&kn->hold_lock);
}

/* Release a connection from kn->held (its own teardown). */
static void kmq_conn_unhold(struct kmq_conn *conn)
{
	struct kmq_net *kn = conn->kn;

	spin_lock(&kn->hold_lock);
	if (test_and_clear_bit(KMQ_CONN_HELD, &conn->flags))
		list_del_init(&conn->hold_node);
	spin_unlock(&kn->hold_lock);
}

static void kmq_hold_work(struct work_struct *work)
{
	struct kmq_net *kn = container_of(to_delayed_work(work),
					  struct kmq_net, hold_work);

	kmq_hold_release_all(kn);
}

/**
 * kmq_hold_net_init() - set up a namespace's flow control
 * @kn: namespace state
 */
void kmq_hold_net_init(struct kmq_net *kn)
{
	spin_lock_init(&kn->hold_lock);
	INIT_LIST_HEAD(&kn->held);
	INIT_DELAYED_WORK(&kn->hold_work, kmq_hold_work);
}

/**
 * kmq_hold_net_exit() - stop a namespace's flow control
 * @kn: namespace state, without connections
 */
void kmq_hold_net_exit(struct kmq_net *kn)
{
	cancel_delayed_work_sync(&kn->hold_work);
	WARN_ON(!list_empty(&kn->held));
}

/* ---- lifetime ---- */

static void kmq_release_work(struct work_struct *work)
{
	struct kmq_conn *conn = container_of(work, struct kmq_conn,
					     release_work);
	struct kmq_net *kn = conn->kn;
	struct sock *sk = conn->sock->sk;

	write_lock_bh(&sk->sk_callback_lock);
	sk->sk_user_data = NULL;
	sk->sk_data_ready = conn->saved_data_ready;
	sk->sk_state_change = conn->saved_state_change;
	sk->sk_write_space = conn->saved_write_space;
	write_unlock_bh(&sk->sk_callback_lock);

	timer_shutdown_sync(&conn->ka_timer);
	timer_shutdown_sync(&conn->tx_timer);
	cancel_work_sync(&conn->io_work);
	/* io_work, the only one to hold it, will not run again */
	kmq_conn_unhold(conn);
	if (conn->will) {
		/* every end but DISCONNECT publishes the Will (MQTT-3.1.2-8) */
		if (conn->connected && !READ_ONCE(conn->suppress_will) &&
		    !kmq_acl_check(kn, conn->sess, KMQ_ACL_OP_WRITE,
				   conn->will->data, conn->will->topic_len)) {
			/* the ACL applies when the Will is published */
			kmq_stat_inc(kn, KMQ_S_REFUSAL + KMQ_R_ACL_WILL);
		} else if (conn->connected && !READ_ONCE(conn->suppress_will)) {
			if (conn->will->retain)
				kmq_retain_store(kn, conn->will);
			kmq_route(kn, &conn->scratch, conn->will, NULL);
		}
		kmq_msg_put(conn->will);
		conn->will = NULL;
	}
	if (conn->connected)
		kmq_event_client(kn, READ_ONCE(conn->kicked) ?
				 KMQTTD_EVENT_KICKED : KMQTTD_EVENT_DISCONNECTED,
				 conn, conn->close_reason);
	kmq_session_disconnect(conn);
	/* a publisher may have queued io_work before the session ended */
	cancel_work_sync(&conn->io_work);

	if (READ_ONCE(kn->exiting))
		sock_no_linger(sk);
	kernel_sock_shutdown(conn->sock, SHUT_RDWR);
	sock_release(conn->sock);
	kmq_tx_purge(conn);

	kvfree(conn->rxbuf);
	conn->rxbuf = NULL;
	kmq_mem_uncharge(kn, conn->rx_charge);
	conn->rx_charge = 0;
	kvfree(conn->scratch.t);
	conn->scratch.t = NULL;
	kfree(conn->username);
	conn->username = NULL;
	kfree(conn->auth_user);
	conn->auth_user = NULL;

	mutex_lock(&kn->lock);
	list_del(&conn->node);
	kn->nconns--;
	kmq_listener_conn_gone(kn, conn->lid);
	wake_up(&kn->conns_wq);
	mutex_unlock(&kn->lock);

	set_bit(KMQ_CONN_RELEASED, &conn->flags);
	smp_mb__after_atomic();	/* pairs with wait_var_event() */
	wake_up_var(&conn->flags);
	kmq_conn_put(conn);
}

/**
 * kmq_conn_put() - drop a reference; the last one frees the connection
 * @conn: the connection
 */
void kmq_conn_put(struct kmq_conn *conn)
{
	if (refcount_dec_and_test(&conn->ref)) {
		kmem_cache_free(kmq_conn_cache, conn);
		atomic_dec(&kmq_live.conns);
	}
}

/**
 * kmq_conn_close() - start tearing a connection down
 * @conn: the connection
 * @reason: enum kmq_reason, or KMQ_R_NONE for an ordinary end
 *
 * Context: any; idempotent.
 */
void kmq_conn_close(struct kmq_conn *conn, int reason)
{
	if (test_and_set_bit(KMQ_CONN_CLOSING, &conn->flags))
		return;
	conn->close_reason = reason;
	queue_work(kmq_release_wq, &conn->release_work);
}

/**
 * kmq_conn_wait_released() - wait until a closing connection is released
 * @conn: the connection (kmq_conn_close() called, a reference held)
 *
 * Used by a CONNECT that takes over a session, and by a kick, so that
 * the session is detached (Will published, inflight state requeued)
 * before it is reused.
 *
 * This waits for the release work like flush_work() would, without
 * telling lockdep: every connection's io_work and release_work share one
 * lockdep class each, and a release waits for its own io_work, so
 * "io_work of B waits for the release of A" reads as a cycle.  It is
 * none: only a connection still in CONNECT (not attached to a session,
 * so nobody waits for its release) ever waits here, and the release it
 * waits for runs on kmq_release_wq, whose slots io_work never holds.
 *
 * Context: process context; sleeps.
 */
void kmq_conn_wait_released(struct kmq_conn *conn)
{
	wait_var_event(&conn->flags,
		       test_bit(KMQ_CONN_RELEASED, &conn->flags));
}

/**
 * kmq_conn_create() - adopt an accepted socket
 * @l: the listener it was accepted on
 * @sock: the new socket
 *
 * Context: process context (the listener's accept work).
 * Return: the connection, or NULL (the caller releases @sock).
 */
struct kmq_conn *kmq_conn_create(struct kmq_listener *l, struct socket *sock)
{
	struct kmq_net *kn = l->kn;
	struct sock *sk = sock->sk;
	struct kmq_conn *conn;

	conn = kmem_cache_zalloc(kmq_conn_cache, GFP_KERNEL | __GFP_NOWARN);
	if (!conn)
		goto err_nomem;
	conn->kn = kn;
	conn->sock = sock;
	conn->lid = l->id;
	conn->qos3 = l->qos3;
	conn->anonymous = l->anonymous;
	INIT_WORK(&conn->io_work, kmq_io_work);
	INIT_WORK(&conn->release_work, kmq_release_work);
	INIT_LIST_HEAD(&conn->hold_node);
	timer_setup(&conn->ka_timer, kmq_ka_timer, 0);
	timer_setup(&conn->tx_timer, kmq_tx_timer, 0);
	refcount_set(&conn->ref, 1);
	conn->last_rx = jiffies;
	conn->saved_data_ready = l->saved_data_ready;
	conn->saved_state_change = l->saved_state_change;
	conn->saved_write_space = l->saved_write_space;
	if (kernel_getpeername(sock, &conn->peer.sa) < 0)
		conn->peer.sa.sa_family = AF_UNSPEC;
	sock_set_keepalive(sk);

	mutex_lock(&kn->lock);
	if (kn->exiting) {
		mutex_unlock(&kn->lock);
		goto err_free;
	}
	list_add_tail(&conn->node, &kn->conns);
	kn->nconns++;
	l->nconns++;
	if (kn->nconns > kn->conns_max)
		kn->conns_max = kn->nconns;
	mutex_unlock(&kn->lock);
	atomic_inc(&kmq_live.conns);
	kmq_stat_inc(kn, KMQ_S_CONNS_TOTAL);

	mod_timer(&conn->ka_timer,
		  jiffies + READ_ONCE(kn->set.connect_timeout) * HZ);

	write_lock_bh(&sk->sk_callback_lock);
	sk->sk_user_data = conn;
	sk->sk_data_ready = kmq_data_ready;
	sk->sk_write_space = kmq_write_space;
	sk->sk_state_change = kmq_state_change;
	write_unlock_bh(&sk->sk_callback_lock);

	/* bytes or a FIN may have arrived before the callbacks were set */
	queue_work(kmq_wq, &conn->io_work);
	return conn;

err_free:
	kmem_cache_free(kmq_conn_cache, conn);
err_nomem:
	kmq_stat_inc(kn, KMQ_S_REFUSAL + KMQ_R_NOMEM);
	return NULL;
}

/**
 * kmq_conn_close_all() - close every connection of a namespace
 * @kn: namespace state
 *
 * Context: process context; the caller then waits for kn->nconns == 0.
 */
void kmq_conn_close_all(struct kmq_net *kn)
{
	struct kmq_conn *conn;

	mutex_lock(&kn->lock);
	list_for_each_entry(conn, &kn->conns, node)
		kmq_conn_close(conn, KMQ_R_NONE);
	mutex_unlock(&kn->lock);
}

int kmq_conns_init(void)
{
	kmq_conn_cache = KMEM_CACHE(kmq_conn, 0);
	if (!kmq_conn_cache)
		return -ENOMEM;
	kmq_txitem_cache = KMEM_CACHE(kmq_txitem, 0);
	if (!kmq_txitem_cache) {
		kmem_cache_destroy(kmq_conn_cache);
		return -ENOMEM;
	}
	return 0;
}

void kmq_conns_exit(void)
{
	kmem_cache_destroy(kmq_txitem_cache);
	kmem_cache_destroy(kmq_conn_cache);
}
