// SPDX-License-Identifier: GPL-2.0
/*
 * genl.c - the "kmqttd" generic netlink family (uapi/linux/kmqttd.h,
 * Documentation/netlink/specs/kmqttd.yaml).
 *
 * Every operation works on the namespace of the requesting socket.  Only
 * STATS_GET is open to everyone; the rest needs CAP_NET_ADMIN in that
 * namespace's user namespace (GENL_UNS_ADMIN_PERM), because it changes
 * the broker or reveals client identities and addresses.
 *
 * Dumps resume from an integer cursor kept in cb->args and hold no
 * reference between calls: sessions by their xarray id, subscriptions by
 * (session id, index), listeners by id, retained messages by position.
 */
#include <linux/jiffies.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <net/genetlink.h>
#include <linux/kmqttd.h>

#include "kmqttd.h"
#include "compat.h"
#include "core/trie.h"
#include "core/topic.h"
#include "core/acl.h"

static struct genl_family kmq_genl_family;

enum { KMQ_GRP_EVENTS };

static int kmq_put_stats_u64(struct sk_buff *skb, int attr, u64 v)
{
	return nla_put_u64_64bit(skb, attr, v, KMQTTD_A_STATS_PAD);
}

static int kmq_fill_stats(struct sk_buff *skb, struct kmq_net *kn)
{
	struct kmq_trie_stats ts;
	struct nlattr *nest;
	unsigned int nconns, cmax, nsess, nret;
	u64 subs, rbytes;
	int r;

	mutex_lock(&kn->lock);
	nconns = kn->nconns;
	cmax = kn->conns_max;
	mutex_unlock(&kn->lock);
	down_read(&kn->route_lock);
	subs = kn->subs;
	kmq_trie_get_stats(kn->trie, &ts);
	up_read(&kn->route_lock);
	/* without sess_lock: a large session's teardown may hold it a while */
	nsess = READ_ONCE(kn->nsessions);
	mutex_lock(&kn->retain_lock);
	nret = kn->nretained;
	rbytes = kn->retained_bytes;
	mutex_unlock(&kn->retain_lock);

	if (kmq_put_stats_u64(skb, KMQTTD_A_STATS_CONNS_CURRENT, nconns) ||
	    kmq_put_stats_u64(skb, KMQTTD_A_STATS_CONNS_TOTAL,
			      kmq_stat_sum(kn, KMQ_S_CONNS_TOTAL)) ||
	    kmq_put_stats_u64(skb, KMQTTD_A_STATS_CONNS_MAX, cmax) ||
	    kmq_put_stats_u64(skb, KMQTTD_A_STATS_MSGS_IN,
			      kmq_stat_sum(kn, KMQ_S_MSGS_IN)) ||
	    kmq_put_stats_u64(skb, KMQTTD_A_STATS_MSGS_OUT,
			      kmq_stat_sum(kn, KMQ_S_MSGS_OUT)) ||
	    kmq_put_stats_u64(skb, KMQTTD_A_STATS_BYTES_IN,
			      kmq_stat_sum(kn, KMQ_S_BYTES_IN)) ||
	    kmq_put_stats_u64(skb, KMQTTD_A_STATS_BYTES_OUT,
			      kmq_stat_sum(kn, KMQ_S_BYTES_OUT)) ||
	    kmq_put_stats_u64(skb, KMQTTD_A_STATS_PKTS_IN,
			      kmq_stat_sum(kn, KMQ_S_PKTS_IN)) ||
	    kmq_put_stats_u64(skb, KMQTTD_A_STATS_PKTS_OUT,
			      kmq_stat_sum(kn, KMQ_S_PKTS_OUT)) ||
	    kmq_put_stats_u64(skb, KMQTTD_A_STATS_MSGS_DROPPED,
			      kmq_stat_sum(kn, KMQ_S_DROPPED)) ||
	    kmq_put_stats_u64(skb, KMQTTD_A_STATS_SUBS_CURRENT, subs) ||
	    kmq_put_stats_u64(skb, KMQTTD_A_STATS_SESSIONS_CURRENT, nsess) ||
	    kmq_put_stats_u64(skb, KMQTTD_A_STATS_RETAINED_CURRENT, nret) ||
	    kmq_put_stats_u64(skb, KMQTTD_A_STATS_RETAINED_BYTES, rbytes) ||
	    kmq_put_stats_u64(skb, KMQTTD_A_STATS_MEM_MSG_BYTES,
			      atomic64_read(&kmq_msg_bytes)) ||
	    kmq_put_stats_u64(skb, KMQTTD_A_STATS_QOS3_REQUESTED,
			      kmq_stat_sum(kn, KMQ_S_Q3_REQUESTED)) ||
	    kmq_put_stats_u64(skb, KMQTTD_A_STATS_QOS3_CONFIRMED,
			      kmq_stat_sum(kn, KMQ_S_Q3_CONFIRMED)) ||
	    kmq_put_stats_u64(skb, KMQTTD_A_STATS_QOS3_TIMED_OUT,
			      kmq_stat_sum(kn, KMQ_S_Q3_TIMEOUT)) ||
	    kmq_put_stats_u64(skb, KMQTTD_A_STATS_QOS3_UNREACHABLE,
			      kmq_stat_sum(kn, KMQ_S_Q3_UNREACHABLE)) ||
	    kmq_put_stats_u64(skb, KMQTTD_A_STATS_QOS3_REFUSED,
			      kmq_stat_sum(kn, KMQ_S_Q3_REFUSED)) ||
	    kmq_put_stats_u64(skb, KMQTTD_A_STATS_QOS3_PENDING,
			      READ_ONCE(kn->q3_count)) ||
	    kmq_put_stats_u64(skb, KMQTTD_A_STATS_MEM_USED,
			      atomic64_read(&kn->mem)) ||
	    kmq_put_stats_u64(skb, KMQTTD_A_STATS_UPTIME,
			      (jiffies - kmq_load_jiffies) / HZ) ||
	    kmq_put_stats_u64(skb, KMQTTD_A_STATS_LIVE_CONNS,
			      atomic_read(&kmq_live.conns)) ||
	    kmq_put_stats_u64(skb, KMQTTD_A_STATS_LIVE_SESSIONS,
			      atomic_read(&kmq_live.sessions)) ||
	    kmq_put_stats_u64(skb, KMQTTD_A_STATS_LIVE_MSGS,
			      atomic_read(&kmq_live.msgs)) ||
	    kmq_put_stats_u64(skb, KMQTTD_A_STATS_LIVE_SUBS,
			      atomic_read(&kmq_live.subs)) ||
	    kmq_put_stats_u64(skb, KMQTTD_A_STATS_LIVE_NODES, ts.nodes) ||
	    kmq_put_stats_u64(skb, KMQTTD_A_STATS_LIVE_TXITEMS,
			      atomic_read(&kmq_live.txitems)) ||
	    kmq_put_stats_u64(skb, KMQTTD_A_STATS_LIVE_DELIVERIES,
			      atomic_read(&kmq_live.deliveries)) ||
	    kmq_put_stats_u64(skb, KMQTTD_A_STATS_PUBLISH_HOLDS,
			      kmq_stat_sum(kn, KMQ_S_HOLDS)))
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

/**
 * kmq_nl_put_str() - put a NUL-terminated string attribute, maybe cut short
 * @skb: the message
 * @attr: attribute type
 * @str: the bytes (need not be NUL-terminated)
 * @len: their length
 * @cut: put at most KMQ_NL_STR_CUT bytes, ending on a UTF-8 boundary
 *
 * Client ids, user names, topic filters and topics may each be 65535
 * bytes long, so one object may not fit an empty dump buffer (at most
 * 32 KiB).  Such an object is put again with @cut set and flagged
 * TRUNCATED (see kmq_nl_dump_one()).
 *
 * Return: 0, or -EMSGSIZE.
 */
int kmq_nl_put_str(struct sk_buff *skb, int attr, const void *str, size_t len,
		   bool cut)
{
	const u8 *s = str;
	struct nlattr *a;

	if (cut && len > KMQ_NL_STR_CUT) {
		len = KMQ_NL_STR_CUT;
		while (len && (s[len] & 0xc0) == 0x80)
			len--;
	}
	a = nla_reserve(skb, attr, len + 1);
	if (!a)
		return -EMSGSIZE;
	memcpy(nla_data(a), s, len);
	((char *)nla_data(a))[len] = '\0';
	return 0;
}

/**
 * kmq_nl_dump_one() - add one object to a dump
 * @skb: the dump buffer
 * @cb: the dump state
 * @fam: the netlink family
 * @cmd: the command of the message
 * @fill: puts the object's attributes; its third argument is "cut"
 * @arg: the object
 *
 * An object too large for an empty buffer is put with its strings cut
 * (@fill(skb, arg, true) must then fit), instead of ending the dump with
 * an error.
 *
 * Return: 0, or -EMSGSIZE when the buffer is full (resume in the next).
 */
int kmq_nl_dump_one(struct sk_buff *skb, struct netlink_callback *cb,
		    const struct genl_family *fam, u8 cmd,
		    int (*fill)(struct sk_buff *skb, void *arg, bool cut),
		    void *arg)
{
	bool empty = !skb->len, cut = false;
	void *hdr;
	int ret;

again:
	hdr = genlmsg_put(skb, NETLINK_CB(cb->skb).portid, cb->nlh->nlmsg_seq,
			  fam, NLM_F_MULTI, cmd);
	if (!hdr)
		return -EMSGSIZE;
	ret = fill(skb, arg, cut);
	if (ret) {
		genlmsg_cancel(skb, hdr);
		if (ret == -EMSGSIZE && empty && !cut) {
			cut = true;
			goto again;
		}
		return ret;
	}
	genlmsg_end(skb, hdr);
	return 0;
}

/* Build a reply with one object filled by @fill. */
static int kmq_reply(struct genl_info *info, u8 cmd,
		     int (*fill)(struct sk_buff *skb, void *arg), void *arg)
{
	struct sk_buff *msg;
	void *hdr;
	int ret;

	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	hdr = genlmsg_put_reply(msg, info, &kmq_genl_family, 0, cmd);
	if (!hdr) {
		ret = -EMSGSIZE;
		goto err_free;
	}
	ret = fill(msg, arg);
	if (ret)
		goto err_free;
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);

err_free:
	nlmsg_free(msg);
	return ret;
}

static int kmq_fill_stats_cb(struct sk_buff *skb, void *arg)
{
	return kmq_fill_stats(skb, arg);
}

static int kmq_nl_stats_get(struct sk_buff *skb, struct genl_info *info)
{
	return kmq_reply(info, KMQTTD_CMD_STATS_GET, kmq_fill_stats_cb,
			 kmq_net(genl_info_net(info)));
}

/* ---- addresses ---- */

static int kmq_put_addr(struct sk_buff *skb, const struct sockaddr *sa,
			int a_family, int a_addr, int a_port)
{
	const struct sockaddr_in *sin = (const void *)sa;
	const struct sockaddr_in6 *sin6 = (const void *)sa;

	switch (sa->sa_family) {
	case AF_INET:
		if (nla_put_u16(skb, a_family, AF_INET) ||
		    nla_put(skb, a_addr, 4, &sin->sin_addr) ||
		    nla_put_u16(skb, a_port, ntohs(sin->sin_port)))
			return -EMSGSIZE;
		return 0;
	case AF_INET6:
		if (nla_put_u16(skb, a_family, AF_INET6) ||
		    nla_put(skb, a_addr, 16, &sin6->sin6_addr) ||
		    nla_put_u16(skb, a_port, ntohs(sin6->sin6_port)))
			return -EMSGSIZE;
		return 0;
	}
	return 0;
}

static int kmq_get_addr(struct genl_info *info, struct sockaddr_storage *ss)
{
	struct sockaddr_in *sin = (void *)ss;
	struct sockaddr_in6 *sin6 = (void *)ss;
	struct nlattr **a = info->attrs;
	u16 family, port;

	if (GENL_REQ_ATTR_CHECK(info, KMQTTD_A_LISTENER_FAMILY) ||
	    GENL_REQ_ATTR_CHECK(info, KMQTTD_A_LISTENER_ADDR) ||
	    GENL_REQ_ATTR_CHECK(info, KMQTTD_A_LISTENER_PORT))
		return -EINVAL;
	family = nla_get_u16(a[KMQTTD_A_LISTENER_FAMILY]);
	port = nla_get_u16(a[KMQTTD_A_LISTENER_PORT]);
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET &&
	    nla_len(a[KMQTTD_A_LISTENER_ADDR]) == 4) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		nla_memcpy(&sin->sin_addr, a[KMQTTD_A_LISTENER_ADDR], 4);
		return 0;
	}
	if (family == AF_INET6 &&
	    nla_len(a[KMQTTD_A_LISTENER_ADDR]) == 16) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		nla_memcpy(&sin6->sin6_addr, a[KMQTTD_A_LISTENER_ADDR], 16);
		return 0;
	}
	NL_SET_ERR_MSG_ATTR(info->extack, a[KMQTTD_A_LISTENER_ADDR],
			    "address must be 4 bytes (AF_INET) or 16 (AF_INET6)");
	return -EINVAL;
}

/* ---- listeners ---- */

static int kmq_fill_listener(struct sk_buff *skb, struct kmq_listener *l,
			     u32 conns)
{
	if (nla_put_u32(skb, KMQTTD_A_LISTENER_ID, l->id) ||
	    kmq_put_addr(skb, (const struct sockaddr *)&l->addr,
			 KMQTTD_A_LISTENER_FAMILY, KMQTTD_A_LISTENER_ADDR,
			 KMQTTD_A_LISTENER_PORT) ||
	    nla_put_u32(skb, KMQTTD_A_LISTENER_CONNS, conns) ||
	    nla_put_u8(skb, KMQTTD_A_LISTENER_QOS3, l->qos3) ||
	    (l->anonymous != KMQ_ANON_INHERIT &&
	     nla_put_u8(skb, KMQTTD_A_LISTENER_ANONYMOUS, l->anonymous)) ||
	    nla_put_u32(skb, KMQTTD_A_LISTENER_MAX_CONNS, l->max_conns))
		return -EMSGSIZE;
	return 0;
}

static int kmq_nl_listener_dump(struct sk_buff *skb,
				struct netlink_callback *cb)
{
	struct kmq_net *kn = kmq_net(sock_net(skb->sk));
	struct kmq_listener *l;
	int ret = 0;
	void *hdr;

	mutex_lock(&kn->lock);
	list_for_each_entry(l, &kn->listeners, node) {
		if (l->id < cb->args[0])
			continue;
		hdr = genlmsg_put(skb, NETLINK_CB(cb->skb).portid,
				  cb->nlh->nlmsg_seq, &kmq_genl_family,
				  NLM_F_MULTI, KMQTTD_CMD_LISTENER_GET);
		if (!hdr) {
			ret = -EMSGSIZE;
			break;
		}
		ret = kmq_fill_listener(skb, l, l->nconns);
		if (ret) {
			genlmsg_cancel(skb, hdr);
			break;
		}
		genlmsg_end(skb, hdr);
		cb->args[0] = l->id + 1;
	}
	mutex_unlock(&kn->lock);
	if (ret == -EMSGSIZE && skb->len)
		return skb->len;
	return ret ? ret : skb->len;
}

struct kmq_listener_reply {
	struct kmq_net *kn;
	struct kmq_listener *l;
	u32 conns;
};

static int kmq_fill_listener_cb(struct sk_buff *skb, void *arg)
{
	struct kmq_listener_reply *r = arg;

	return kmq_fill_listener(skb, r->l, r->conns);
}

static int kmq_nl_listener_get(struct sk_buff *skb, struct genl_info *info)
{
	struct kmq_net *kn = kmq_net(genl_info_net(info));
	struct kmq_listener_reply r = { .kn = kn };
	struct kmq_listener *l;
	u32 id;
	int ret;

	if (GENL_REQ_ATTR_CHECK(info, KMQTTD_A_LISTENER_ID))
		return -EINVAL;
	id = nla_get_u32(info->attrs[KMQTTD_A_LISTENER_ID]);
	mutex_lock(&kn->lock);
	list_for_each_entry(l, &kn->listeners, node)
		if (l->id == id)
			r.l = l;
	if (r.l)
		r.conns = r.l->nconns;
	ret = r.l ? kmq_reply(info, KMQTTD_CMD_LISTENER_GET,
			      kmq_fill_listener_cb, &r) : -ENOENT;
	mutex_unlock(&kn->lock);
	return ret;
}

static int kmq_nl_listener_add(struct sk_buff *skb, struct genl_info *info)
{
	struct kmq_net *kn = kmq_net(genl_info_net(info));
	struct kmq_listener_reply r = { .kn = kn };
	struct kmq_listener tmp = {};
	struct sockaddr_storage ss;
	int ret;

	ret = kmq_get_addr(info, &ss);
	if (ret)
		return ret;
	tmp.qos3 = info->attrs[KMQTTD_A_LISTENER_QOS3] &&
		   nla_get_u8(info->attrs[KMQTTD_A_LISTENER_QOS3]);
	tmp.anonymous = KMQ_ANON_INHERIT;
	if (info->attrs[KMQTTD_A_LISTENER_ANONYMOUS])
		tmp.anonymous =
			nla_get_u8(info->attrs[KMQTTD_A_LISTENER_ANONYMOUS]);
	if (info->attrs[KMQTTD_A_LISTENER_MAX_CONNS])
		tmp.max_conns =
			nla_get_u32(info->attrs[KMQTTD_A_LISTENER_MAX_CONNS]);
	ret = kmq_listener_add(kn, &ss, tmp.qos3, tmp.anonymous,
			       tmp.max_conns, &tmp.id);
	if (ret == -EADDRINUSE)
		NL_SET_ERR_MSG(info->extack, "address already in use");
	if (ret)
		return ret;
	tmp.addr = ss;
	r.l = &tmp;
	return kmq_reply(info, KMQTTD_CMD_LISTENER_ADD, kmq_fill_listener_cb,
			 &r);
}

static int kmq_nl_listener_del(struct sk_buff *skb, struct genl_info *info)
{
	struct kmq_net *kn = kmq_net(genl_info_net(info));
	struct sockaddr_storage ss;
	u32 id = 0;
	int ret;

	if (info->attrs[KMQTTD_A_LISTENER_ID]) {
		id = nla_get_u32(info->attrs[KMQTTD_A_LISTENER_ID]);
		ret = kmq_listener_del(kn, id, NULL);
	} else {
		ret = kmq_get_addr(info, &ss);
		if (ret)
			return ret;
		ret = kmq_listener_del(kn, 0, &ss);
	}
	if (ret == -ENOENT)
		NL_SET_ERR_MSG(info->extack, "no such listener");
	return ret;
}

/* ---- clients ---- */

static int kmq_put_u64c(struct sk_buff *skb, int attr, u64 v)
{
	return nla_put_u64_64bit(skb, attr, v, KMQTTD_A_CLIENT_PAD);
}

/* Context: kn->sess_lock held (keeps the session and its connection). */
static int kmq_fill_client(struct sk_buff *skb, void *arg, bool cut)
{
	struct kmq_session *s = arg;
	struct kmq_conn *conn = s->conn;
	u32 inflight, queued;

	spin_lock(&s->lock);
	inflight = s->out.inflight;
	queued = s->out.queued;
	spin_unlock(&s->lock);

	if (kmq_nl_put_str(skb, KMQTTD_A_CLIENT_CLIENT_ID, s->client_id,
			   strlen(s->client_id), cut) ||
	    (cut && nla_put_flag(skb, KMQTTD_A_CLIENT_TRUNCATED)) ||
	    nla_put_u8(skb, KMQTTD_A_CLIENT_CONNECTED, !!conn) ||
	    nla_put_u8(skb, KMQTTD_A_CLIENT_CLEAN, s->clean) ||
	    nla_put_u32(skb, KMQTTD_A_CLIENT_INFLIGHT, inflight) ||
	    nla_put_u32(skb, KMQTTD_A_CLIENT_QUEUED, queued) ||
	    nla_put_u32(skb, KMQTTD_A_CLIENT_SUBS, READ_ONCE(s->nsubs)))
		return -EMSGSIZE;
	if (!conn)
		return 0;
	if (kmq_put_addr(skb, &conn->peer.sa, KMQTTD_A_CLIENT_FAMILY,
			 KMQTTD_A_CLIENT_ADDR, KMQTTD_A_CLIENT_PORT) ||
	    (conn->username &&
	     kmq_nl_put_str(skb, KMQTTD_A_CLIENT_USERNAME, conn->username,
			    strlen(conn->username), cut)) ||
	    kmq_put_u64c(skb, KMQTTD_A_CLIENT_CONNECTED_SINCE, conn->since) ||
	    nla_put_u16(skb, KMQTTD_A_CLIENT_KEEPALIVE,
			READ_ONCE(conn->keepalive)) ||
	    kmq_put_u64c(skb, KMQTTD_A_CLIENT_MSGS_IN,
			 READ_ONCE(conn->msgs_in)) ||
	    kmq_put_u64c(skb, KMQTTD_A_CLIENT_MSGS_OUT,
			 READ_ONCE(conn->msgs_out)) ||
	    kmq_put_u64c(skb, KMQTTD_A_CLIENT_BYTES_IN,
			 READ_ONCE(conn->bytes_in)) ||
	    kmq_put_u64c(skb, KMQTTD_A_CLIENT_BYTES_OUT,
			 READ_ONCE(conn->bytes_out)))
		return -EMSGSIZE;
	return 0;
}

static int kmq_fill_client_cb(struct sk_buff *skb, void *arg)
{
	return kmq_fill_client(skb, arg, false);
}

static int kmq_fill_client_cut_cb(struct sk_buff *skb, void *arg)
{
	return kmq_fill_client(skb, arg, true);
}

static int kmq_nl_client_get(struct sk_buff *skb, struct genl_info *info)
{
	struct kmq_net *kn = kmq_net(genl_info_net(info));
	struct nlattr *a = info->attrs[KMQTTD_A_CLIENT_CLIENT_ID];
	struct kmq_session *s;
	int ret;

	if (GENL_REQ_ATTR_CHECK(info, KMQTTD_A_CLIENT_CLIENT_ID))
		return -EINVAL;
	mutex_lock(&kn->sess_lock);
	s = kmq_session_find(kn, nla_data(a), strlen(nla_data(a)));
	if (s) {
		ret = kmq_reply(info, KMQTTD_CMD_CLIENT_GET, kmq_fill_client_cb,
				s);
		if (ret == -EMSGSIZE)
			ret = kmq_reply(info, KMQTTD_CMD_CLIENT_GET,
					kmq_fill_client_cut_cb, s);
	} else {
		ret = -ENOENT;
	}
	mutex_unlock(&kn->sess_lock);
	if (ret == -ENOENT)
		NL_SET_ERR_MSG_ATTR(info->extack, a, "no such client");
	return ret;
}

static int kmq_nl_client_dump(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct kmq_net *kn = kmq_net(sock_net(skb->sk));
	unsigned long id = cb->args[0];
	struct kmq_session *s;
	int ret = 0;

	mutex_lock(&kn->sess_lock);
	xa_for_each_start(&kn->sess_ids, id, s, id) {
		ret = kmq_nl_dump_one(skb, cb, &kmq_genl_family,
				      KMQTTD_CMD_CLIENT_GET, kmq_fill_client, s);
		if (ret)
			break;
		cb->args[0] = id + 1;
	}
	mutex_unlock(&kn->sess_lock);
	if (ret == -EMSGSIZE && skb->len)
		return skb->len;
	return ret ? ret : skb->len;
}

static int kmq_nl_client_kick(struct sk_buff *skb, struct genl_info *info)
{
	struct kmq_net *kn = kmq_net(genl_info_net(info));
	struct nlattr **a = info->attrs;
	bool will, purge;
	const char *id;
	int ret;

	if (GENL_REQ_ATTR_CHECK(info, KMQTTD_A_CLIENT_CLIENT_ID))
		return -EINVAL;
	id = nla_data(a[KMQTTD_A_CLIENT_CLIENT_ID]);
	will = a[KMQTTD_A_CLIENT_WILL] && nla_get_u8(a[KMQTTD_A_CLIENT_WILL]);
	purge = a[KMQTTD_A_CLIENT_PURGE] &&
		nla_get_u8(a[KMQTTD_A_CLIENT_PURGE]);
	ret = kmq_session_kick(kn, id, strlen(id), will, purge);
	if (ret == -ENOENT)
		NL_SET_ERR_MSG_ATTR(info->extack, a[KMQTTD_A_CLIENT_CLIENT_ID],
				    "no such client");
	else if (ret == -ENOTCONN)
		NL_SET_ERR_MSG(info->extack,
			       "client is not connected (purge deletes its session)");
	return ret;
}

/* ---- subscriptions ---- */

struct kmq_sub_one {
	struct kmq_session *s;
	struct kmq_sub *sub;
};

static int kmq_fill_sub(struct sk_buff *skb, void *arg, bool cut)
{
	struct kmq_sub_one *one = arg;

	if (kmq_nl_put_str(skb, KMQTTD_A_SUB_CLIENT_ID, one->s->client_id,
			   strlen(one->s->client_id), cut) ||
	    kmq_nl_put_str(skb, KMQTTD_A_SUB_FILTER, one->sub->filter,
			   one->sub->len, cut) ||
	    nla_put_u8(skb, KMQTTD_A_SUB_QOS, one->sub->qos) ||
	    (cut && nla_put_flag(skb, KMQTTD_A_SUB_TRUNCATED)))
		return -EMSGSIZE;
	return 0;
}

static int kmq_nl_sub_dump(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct kmq_net *kn = kmq_net(sock_net(skb->sk));
	struct nlattr **a = kmq_dump_attrs(cb);
	struct kmq_sub_one one;
	const char *want_id = NULL, *want_f = NULL;
	unsigned long id = cb->args[0];
	struct kmq_session *s;
	struct kmq_sub *sub;
	int ret = 0;
	long idx;

	if (a && a[KMQTTD_A_SUB_CLIENT_ID])
		want_id = nla_data(a[KMQTTD_A_SUB_CLIENT_ID]);
	if (a && a[KMQTTD_A_SUB_FILTER])
		want_f = nla_data(a[KMQTTD_A_SUB_FILTER]);

	mutex_lock(&kn->sess_lock);
	down_read(&kn->route_lock);
	xa_for_each_start(&kn->sess_ids, id, s, id) {
		if (want_id && strcmp(want_id, s->client_id))
			continue;
		idx = 0;
		list_for_each_entry(sub, &s->subs, node) {
			if (idx++ < cb->args[1])
				continue;
			if (want_f && (strlen(want_f) != sub->len ||
				       memcmp(want_f, sub->filter, sub->len)))
				continue;
			one.s = s;
			one.sub = sub;
			ret = kmq_nl_dump_one(skb, cb, &kmq_genl_family,
					      KMQTTD_CMD_SUB_GET, kmq_fill_sub,
					      &one);
			if (ret)
				goto out;
			cb->args[0] = id;
			cb->args[1] = idx;
		}
		cb->args[0] = id + 1;
		cb->args[1] = 0;
	}
out:
	up_read(&kn->route_lock);
	mutex_unlock(&kn->sess_lock);
	if (ret == -EMSGSIZE && skb->len)
		return skb->len;
	return ret ? ret : skb->len;
}

/* ---- retained messages ---- */

static int kmq_retain_check_filter(struct nlattr *f,
				   struct netlink_ext_ack *extack)
{
	if (!kmq_topic_filter_valid(nla_data(f), strlen(nla_data(f)))) {
		NL_SET_ERR_MSG_ATTR(extack, f, "invalid topic filter");
		return -EINVAL;
	}
	return 0;
}

static int kmq_nl_retain_dump(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct kmq_net *kn = kmq_net(sock_net(skb->sk));
	struct nlattr **a = kmq_dump_attrs(cb);
	const char *f = NULL;

	if (a && a[KMQTTD_A_RETAIN_FILTER]) {
		f = nla_data(a[KMQTTD_A_RETAIN_FILTER]);
		if (kmq_retain_check_filter(a[KMQTTD_A_RETAIN_FILTER],
					    cb->extack))
			return -EINVAL;
	}
	return kmq_retain_dump(kn, skb, cb, &kmq_genl_family, f);
}

static int kmq_nl_retain_del(struct sk_buff *skb, struct genl_info *info)
{
	struct kmq_net *kn = kmq_net(genl_info_net(info));
	struct nlattr **a = info->attrs;
	struct sk_buff *msg;
	void *hdr;
	u32 n;

	if (a[KMQTTD_A_RETAIN_TOPIC]) {
		const char *t = nla_data(a[KMQTTD_A_RETAIN_TOPIC]);

		n = kmq_retain_del(kn, t, strlen(t), false);
	} else if (a[KMQTTD_A_RETAIN_FILTER]) {
		const char *f = nla_data(a[KMQTTD_A_RETAIN_FILTER]);

		if (kmq_retain_check_filter(a[KMQTTD_A_RETAIN_FILTER],
					    info->extack))
			return -EINVAL;
		n = kmq_retain_del(kn, f, strlen(f), true);
	} else {
		NL_SET_ERR_MSG(info->extack, "topic or filter required");
		return -EINVAL;
	}
	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	hdr = genlmsg_put_reply(msg, info, &kmq_genl_family, 0,
				KMQTTD_CMD_RETAIN_DEL);
	if (!hdr || nla_put_u32(msg, KMQTTD_A_RETAIN_COUNT, n)) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);
}

/* ---- settings ---- */

static int kmq_fill_settings(struct sk_buff *skb, void *arg)
{
	struct kmq_settings *set = arg;

	if (nla_put_u32(skb, KMQTTD_A_SET_MAX_CONNECTIONS, set->max_conns) ||
	    nla_put_u32(skb, KMQTTD_A_SET_MAX_PACKET_SIZE, set->max_packet) ||
	    nla_put_u32(skb, KMQTTD_A_SET_MAX_INFLIGHT, set->max_inflight) ||
	    nla_put_u32(skb, KMQTTD_A_SET_MAX_QUEUED, set->max_queued) ||
	    nla_put_u32(skb, KMQTTD_A_SET_MAX_KEEPALIVE, set->max_keepalive) ||
	    nla_put_u32(skb, KMQTTD_A_SET_SESSION_EXPIRY,
			set->session_expiry) ||
	    nla_put_u8(skb, KMQTTD_A_SET_RETAIN_AVAILABLE, set->retain) ||
	    nla_put_u32(skb, KMQTTD_A_SET_RETAIN_MAX, set->retain_max) ||
	    nla_put_u64_64bit(skb, KMQTTD_A_SET_RETAIN_MAX_BYTES,
			      set->retain_max_bytes, KMQTTD_A_SET_PAD) ||
	    nla_put_u8(skb, KMQTTD_A_SET_ALLOW_ANONYMOUS,
		       set->allow_anonymous) ||
	    nla_put_u32(skb, KMQTTD_A_SET_MAX_SUBSCRIPTIONS, set->max_subs) ||
	    nla_put_u32(skb, KMQTTD_A_SET_MAX_TOPIC_LENGTH,
			set->max_topic_len) ||
	    nla_put_u32(skb, KMQTTD_A_SET_MAX_TOPIC_LEVELS,
			set->max_topic_levels) ||
	    nla_put_u32(skb, KMQTTD_A_SET_CONNECT_TIMEOUT,
			set->connect_timeout) ||
	    nla_put_u32(skb, KMQTTD_A_SET_SYS_INTERVAL, set->sys_interval) ||
	    nla_put_u32(skb, KMQTTD_A_SET_QOS3_TIMEOUT, set->qos3_timeout) ||
	    nla_put_u32(skb, KMQTTD_A_SET_QOS3_MAX_PENDING,
			set->qos3_max_pending) ||
	    nla_put_u32(skb, KMQTTD_A_SET_QOS3_MAX_TOTAL,
			set->qos3_max_total) ||
	    nla_put_u32(skb, KMQTTD_A_SET_PASSWORD_ITERATIONS,
			set->pw_iterations) ||
	    nla_put_u64_64bit(skb, KMQTTD_A_SET_MAX_QUEUED_BYTES,
			      set->max_queued_bytes, KMQTTD_A_SET_PAD) ||
	    nla_put_u64_64bit(skb, KMQTTD_A_SET_MAX_MEMORY, set->max_memory,
			      KMQTTD_A_SET_PAD) ||
	    nla_put_u32(skb, KMQTTD_A_SET_SLOW_READER_TIMEOUT,
			set->slow_reader_timeout) ||
	    nla_put_u32(skb, KMQTTD_A_SET_PUBLISH_HOLD, set->publish_hold))
		return -EMSGSIZE;
	return 0;
}

static int kmq_nl_settings_get(struct sk_buff *skb, struct genl_info *info)
{
	struct kmq_net *kn = kmq_net(genl_info_net(info));
	struct kmq_settings copy;

	mutex_lock(&kn->lock);
	copy = kn->set;
	mutex_unlock(&kn->lock);
	return kmq_reply(info, KMQTTD_CMD_SETTINGS_GET, kmq_fill_settings,
			 &copy);
}

static void kmq_set_u32(struct nlattr **a, int attr, u32 *field)
{
	if (a[attr])
		WRITE_ONCE(*field, nla_get_u32(a[attr]));
}

static void kmq_set_u64(struct nlattr **a, int attr, u64 *field)
{
	if (a[attr])
		WRITE_ONCE(*field, nla_get_u64(a[attr]));
}

#define KMQ_SET_U32(attr, field) kmq_set_u32(a, attr, &kn->set.field)

static int kmq_nl_settings_set(struct sk_buff *skb, struct genl_info *info)
{
	struct kmq_net *kn = kmq_net(genl_info_net(info));
	struct nlattr **a = info->attrs;
	bool sys_changed;

	/* ranges the policy cannot express */
	if (a[KMQTTD_A_SET_MAX_PACKET_SIZE]) {
		u32 v = nla_get_u32(a[KMQTTD_A_SET_MAX_PACKET_SIZE]);

		if (v && (v < 20 || v > KMQ_MAX_REMAINING + KMQ_FIXED_HDR_MAX)) {
			NL_SET_ERR_MSG_ATTR(info->extack,
					    a[KMQTTD_A_SET_MAX_PACKET_SIZE],
					    "max_packet_size must be 0 or 20..268435460");
			return -ERANGE;
		}
	}
	if (a[KMQTTD_A_SET_MAX_KEEPALIVE] &&
	    nla_get_u32(a[KMQTTD_A_SET_MAX_KEEPALIVE]) > 65535) {
		NL_SET_ERR_MSG_ATTR(info->extack, a[KMQTTD_A_SET_MAX_KEEPALIVE],
				    "max_keepalive must be 0..65535");
		return -ERANGE;
	}
	if (a[KMQTTD_A_SET_MAX_INFLIGHT] &&
	    nla_get_u32(a[KMQTTD_A_SET_MAX_INFLIGHT]) > 65535) {
		NL_SET_ERR_MSG_ATTR(info->extack, a[KMQTTD_A_SET_MAX_INFLIGHT],
				    "max_inflight must be 0..65535");
		return -ERANGE;
	}
	if (a[KMQTTD_A_SET_QOS3_TIMEOUT] &&
	    (!nla_get_u32(a[KMQTTD_A_SET_QOS3_TIMEOUT]) ||
	     nla_get_u32(a[KMQTTD_A_SET_QOS3_TIMEOUT]) > KMQ_Q3_MAX_TIMEOUT_MS)) {
		NL_SET_ERR_MSG_ATTR(info->extack, a[KMQTTD_A_SET_QOS3_TIMEOUT],
				    "qos3_timeout must be 1..3600000 ms");
		return -ERANGE;
	}
	if (a[KMQTTD_A_SET_CONNECT_TIMEOUT] &&
	    !nla_get_u32(a[KMQTTD_A_SET_CONNECT_TIMEOUT])) {
		NL_SET_ERR_MSG_ATTR(info->extack, a[KMQTTD_A_SET_CONNECT_TIMEOUT],
				    "connect_timeout must be at least 1");
		return -ERANGE;
	}

	mutex_lock(&kn->lock);
	KMQ_SET_U32(KMQTTD_A_SET_MAX_CONNECTIONS, max_conns);
	KMQ_SET_U32(KMQTTD_A_SET_MAX_PACKET_SIZE, max_packet);
	KMQ_SET_U32(KMQTTD_A_SET_MAX_INFLIGHT, max_inflight);
	KMQ_SET_U32(KMQTTD_A_SET_MAX_QUEUED, max_queued);
	KMQ_SET_U32(KMQTTD_A_SET_MAX_KEEPALIVE, max_keepalive);
	KMQ_SET_U32(KMQTTD_A_SET_SESSION_EXPIRY, session_expiry);
	KMQ_SET_U32(KMQTTD_A_SET_RETAIN_MAX, retain_max);
	KMQ_SET_U32(KMQTTD_A_SET_MAX_SUBSCRIPTIONS, max_subs);
	KMQ_SET_U32(KMQTTD_A_SET_MAX_TOPIC_LENGTH, max_topic_len);
	KMQ_SET_U32(KMQTTD_A_SET_MAX_TOPIC_LEVELS, max_topic_levels);
	KMQ_SET_U32(KMQTTD_A_SET_CONNECT_TIMEOUT, connect_timeout);
	KMQ_SET_U32(KMQTTD_A_SET_SYS_INTERVAL, sys_interval);
	KMQ_SET_U32(KMQTTD_A_SET_QOS3_TIMEOUT, qos3_timeout);
	KMQ_SET_U32(KMQTTD_A_SET_QOS3_MAX_PENDING, qos3_max_pending);
	KMQ_SET_U32(KMQTTD_A_SET_QOS3_MAX_TOTAL, qos3_max_total);
	KMQ_SET_U32(KMQTTD_A_SET_PASSWORD_ITERATIONS, pw_iterations);
	KMQ_SET_U32(KMQTTD_A_SET_SLOW_READER_TIMEOUT, slow_reader_timeout);
	KMQ_SET_U32(KMQTTD_A_SET_PUBLISH_HOLD, publish_hold);
	kmq_set_u64(a, KMQTTD_A_SET_RETAIN_MAX_BYTES, &kn->set.retain_max_bytes);
	kmq_set_u64(a, KMQTTD_A_SET_MAX_QUEUED_BYTES, &kn->set.max_queued_bytes);
	kmq_set_u64(a, KMQTTD_A_SET_MAX_MEMORY, &kn->set.max_memory);
	if (a[KMQTTD_A_SET_RETAIN_AVAILABLE])
		WRITE_ONCE(kn->set.retain,
			   !!nla_get_u8(a[KMQTTD_A_SET_RETAIN_AVAILABLE]));
	if (a[KMQTTD_A_SET_ALLOW_ANONYMOUS])
		WRITE_ONCE(kn->set.allow_anonymous,
			   nla_get_u8(a[KMQTTD_A_SET_ALLOW_ANONYMOUS]));
	mutex_unlock(&kn->lock);

	sys_changed = a[KMQTTD_A_SET_SYS_INTERVAL];
	if (sys_changed)
		kmq_sys_kick(kn);
	if (a[KMQTTD_A_SET_SESSION_EXPIRY])
		mod_delayed_work(kmq_wq, &kn->expire_work, 0);
	return 0;
}

/* ---- users and ACL rules ---- */

/* A user name: UTF-8 as in CONNECT; no ':' (the password file's separator). */
static int kmq_check_user(struct nlattr *a, bool for_password,
			  struct netlink_ext_ack *extack)
{
	const char *name = nla_data(a);
	u32 len = strlen(name);

	if (!len || !kmq_utf8_valid((const u8 *)name, len)) {
		NL_SET_ERR_MSG_ATTR(extack, a,
				    "user name must be non-empty UTF-8");
		return -EINVAL;
	}
	if (for_password && strchr(name, ':')) {
		NL_SET_ERR_MSG_ATTR(extack, a, "user name must not contain ':'");
		return -EINVAL;
	}
	return 0;
}

static int kmq_nl_user_get(struct sk_buff *skb, struct genl_info *info)
{
	struct kmq_net *kn = kmq_net(genl_info_net(info));
	struct nlattr *a = info->attrs[KMQTTD_A_USER_NAME];
	int ret;

	if (GENL_REQ_ATTR_CHECK(info, KMQTTD_A_USER_NAME))
		return -EINVAL;
	ret = kmq_user_get(kn, info, &kmq_genl_family, nla_data(a));
	if (ret == -ENOENT)
		NL_SET_ERR_MSG_ATTR(info->extack, a, "no such user");
	return ret;
}

static int kmq_nl_user_dump(struct sk_buff *skb, struct netlink_callback *cb)
{
	return kmq_user_dump(kmq_net(sock_net(skb->sk)), skb, cb,
			     &kmq_genl_family);
}

static int kmq_nl_user_add(struct sk_buff *skb, struct genl_info *info)
{
	struct kmq_net *kn = kmq_net(genl_info_net(info));
	struct nlattr **a = info->attrs;
	struct kmq_pwhash *pw;
	u32 iter;
	int ret;

	if (GENL_REQ_ATTR_CHECK(info, KMQTTD_A_USER_NAME))
		return -EINVAL;
	ret = kmq_check_user(a[KMQTTD_A_USER_NAME], true, info->extack);
	if (ret)
		return ret;
	if (!a[KMQTTD_A_USER_PASSWORD] == !a[KMQTTD_A_USER_HASH]) {
		NL_SET_ERR_MSG(info->extack, "give a password or a hash");
		return -EINVAL;
	}
	pw = kzalloc(sizeof(*pw), GFP_KERNEL);
	if (!pw)
		return -ENOMEM;
	if (a[KMQTTD_A_USER_HASH]) {
		const char *h = nla_data(a[KMQTTD_A_USER_HASH]);

		if (kmq_pwhash_parse(h, strlen(h), pw)) {
			NL_SET_ERR_MSG_ATTR(info->extack, a[KMQTTD_A_USER_HASH],
					    "not a $7$ITERATIONS$SALT$HASH (iterations 1..1000000) or $6$SALT$HASH password hash");
			ret = -EINVAL;
			goto out;
		}
	} else {
		iter = READ_ONCE(kn->set.pw_iterations);
		if (a[KMQTTD_A_USER_ITERATIONS])
			iter = nla_get_u32(a[KMQTTD_A_USER_ITERATIONS]);
		ret = kmq_user_hash(nla_data(a[KMQTTD_A_USER_PASSWORD]),
				    nla_len(a[KMQTTD_A_USER_PASSWORD]),
				    clamp_val(iter, 1, KMQ_PW_ITER_MAX), pw);
		if (ret)
			goto out;
	}
	ret = kmq_user_set(kn, nla_data(a[KMQTTD_A_USER_NAME]), pw);
out:
	kfree_sensitive(pw);
	return ret;
}

static int kmq_nl_user_del(struct sk_buff *skb, struct genl_info *info)
{
	struct kmq_net *kn = kmq_net(genl_info_net(info));
	struct nlattr *a = info->attrs[KMQTTD_A_USER_NAME];
	int ret;

	if (GENL_REQ_ATTR_CHECK(info, KMQTTD_A_USER_NAME))
		return -EINVAL;
	ret = kmq_user_del(kn, nla_data(a));
	if (ret == -ENOENT)
		NL_SET_ERR_MSG_ATTR(info->extack, a, "no such user");
	return ret;
}

/* Reply to a *_CLEAR with the number of objects deleted. */
static int kmq_reply_count(struct genl_info *info, u8 cmd, int attr, u32 n)
{
	struct sk_buff *msg;
	void *hdr;

	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	hdr = genlmsg_put_reply(msg, info, &kmq_genl_family, 0, cmd);
	if (!hdr || nla_put_u32(msg, attr, n)) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);
}

static int kmq_nl_user_clear(struct sk_buff *skb, struct genl_info *info)
{
	struct kmq_net *kn = kmq_net(genl_info_net(info));

	return kmq_reply_count(info, KMQTTD_CMD_USER_CLEAR,
			       KMQTTD_A_USER_COUNT, kmq_user_clear(kn));
}

static int kmq_nl_acl_dump(struct sk_buff *skb, struct netlink_callback *cb)
{
	return kmq_acl_dump(kmq_net(sock_net(skb->sk)), skb, cb,
			    &kmq_genl_family);
}

/* The fields of an ACL_ADD or ACL_DEL request, checked. */
static int kmq_acl_req(struct genl_info *info, int *kind, const char **user,
		       u8 *access, const char **pattern)
{
	struct nlattr **a = info->attrs;
	int ret;

	if (GENL_REQ_ATTR_CHECK(info, KMQTTD_A_ACL_KIND) ||
	    GENL_REQ_ATTR_CHECK(info, KMQTTD_A_ACL_PATTERN))
		return -EINVAL;
	*kind = nla_get_u8(a[KMQTTD_A_ACL_KIND]);
	*access = a[KMQTTD_A_ACL_ACCESS] ? nla_get_u8(a[KMQTTD_A_ACL_ACCESS]) :
					   KMQTTD_ACL_READWRITE;
	*user = NULL;
	if (a[KMQTTD_A_ACL_USER]) {
		if (*kind == KMQTTD_ACL_PATTERN) {
			NL_SET_ERR_MSG_ATTR(info->extack, a[KMQTTD_A_ACL_USER],
					    "pattern rules apply to every user");
			return -EINVAL;
		}
		ret = kmq_check_user(a[KMQTTD_A_ACL_USER], false,
				     info->extack);
		if (ret)
			return ret;
		*user = nla_data(a[KMQTTD_A_ACL_USER]);
	}
	*pattern = nla_data(a[KMQTTD_A_ACL_PATTERN]);
	if (!kmq_utf8_valid((const u8 *)*pattern, strlen(*pattern)) ||
	    !kmq_acl_pattern_valid((const u8 *)*pattern, strlen(*pattern))) {
		NL_SET_ERR_MSG_ATTR(info->extack, a[KMQTTD_A_ACL_PATTERN],
				    "invalid topic pattern");
		return -EINVAL;
	}
	return 0;
}

static int kmq_nl_acl_add(struct sk_buff *skb, struct genl_info *info)
{
	struct kmq_net *kn = kmq_net(genl_info_net(info));
	const char *user, *pattern;
	u8 access;
	int kind, ret;

	ret = kmq_acl_req(info, &kind, &user, &access, &pattern);
	if (ret)
		return ret;
	ret = kmq_acl_add(kn, kind, user, access, pattern);
	if (ret == -EEXIST)
		NL_SET_ERR_MSG(info->extack, "the rule exists");
	return ret;
}

static int kmq_nl_acl_del(struct sk_buff *skb, struct genl_info *info)
{
	struct kmq_net *kn = kmq_net(genl_info_net(info));
	const char *user, *pattern;
	u8 access;
	int kind, ret;

	ret = kmq_acl_req(info, &kind, &user, &access, &pattern);
	if (ret)
		return ret;
	ret = kmq_acl_del(kn, kind, user, access, pattern);
	if (ret == -ENOENT)
		NL_SET_ERR_MSG(info->extack, "no such rule");
	return ret;
}

static int kmq_nl_acl_clear(struct sk_buff *skb, struct genl_info *info)
{
	struct kmq_net *kn = kmq_net(genl_info_net(info));

	return kmq_reply_count(info, KMQTTD_CMD_ACL_CLEAR, KMQTTD_A_ACL_COUNT,
			       kmq_acl_clear(kn));
}

/* ---- events ---- */

static struct sk_buff *kmq_event_new(struct kmq_net *kn, int type,
				     void **hdr)
{
	struct sk_buff *skb;

	if (!genl_has_listeners(&kmq_genl_family, kn->net, KMQ_GRP_EVENTS))
		return NULL;
	skb = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!skb)
		return NULL;
	*hdr = genlmsg_put(skb, 0, 0, &kmq_genl_family, 0, KMQTTD_CMD_EVENT);
	if (!*hdr || nla_put_u32(skb, KMQTTD_A_EVENT_TYPE, type)) {
		nlmsg_free(skb);
		return NULL;
	}
	return skb;
}

static void kmq_event_send(struct kmq_net *kn, struct sk_buff *skb, void *hdr)
{
	genlmsg_end(skb, hdr);
	genlmsg_multicast_netns(&kmq_genl_family, kn->net, skb, 0,
				KMQ_GRP_EVENTS, GFP_KERNEL);
}

/**
 * kmq_event_client() - notify the events group about a client
 * @kn: namespace state
 * @type: enum kmqttd_event
 * @conn: the client's connection (attached to its session)
 * @reason: enum kmq_reason of a disconnect, or 0
 *
 * Context: process context.
 */
void kmq_event_client(struct kmq_net *kn, int type, struct kmq_conn *conn,
		      int reason)
{
	struct sk_buff *skb;
	void *hdr;

	skb = kmq_event_new(kn, type, &hdr);
	if (!skb)
		return;
	if ((conn->sess &&
	     (nla_put_string(skb, KMQTTD_A_EVENT_CLIENT_ID,
			     conn->sess->client_id) ||
	      nla_put_u8(skb, KMQTTD_A_EVENT_CLEAN, conn->sess->clean))) ||
	    kmq_put_addr(skb, &conn->peer.sa, KMQTTD_A_EVENT_FAMILY,
			 KMQTTD_A_EVENT_ADDR, KMQTTD_A_EVENT_PORT) ||
	    nla_put_u32(skb, KMQTTD_A_EVENT_REASON, reason)) {
		nlmsg_free(skb);
		return;
	}
	kmq_event_send(kn, skb, hdr);
}

/**
 * kmq_event_listener() - notify the events group about a listener
 * @kn: namespace state
 * @type: KMQTTD_EVENT_LISTENER_ADDED or _REMOVED
 * @l: the listener
 *
 * Context: process context.
 */
void kmq_event_listener(struct kmq_net *kn, int type, struct kmq_listener *l)
{
	struct sk_buff *skb;
	struct nlattr *nest;
	void *hdr;

	skb = kmq_event_new(kn, type, &hdr);
	if (!skb)
		return;
	nest = nla_nest_start(skb, KMQTTD_A_EVENT_LISTENER);
	if (!nest || kmq_fill_listener(skb, l, 0)) {
		nlmsg_free(skb);
		return;
	}
	nla_nest_end(skb, nest);
	kmq_event_send(kn, skb, hdr);
}

/* ---- policies and ops ---- */

static const struct nla_policy kmq_listener_policy[KMQTTD_A_LISTENER_MAX + 1] = {
	[KMQTTD_A_LISTENER_ID] = { .type = NLA_U32 },
	[KMQTTD_A_LISTENER_FAMILY] = { .type = NLA_U16 },
	[KMQTTD_A_LISTENER_ADDR] = { .type = NLA_BINARY, .len = 16 },
	[KMQTTD_A_LISTENER_PORT] = NLA_POLICY_MIN(NLA_U16, 1),
	[KMQTTD_A_LISTENER_QOS3] = NLA_POLICY_MAX(NLA_U8, 1),
	[KMQTTD_A_LISTENER_ANONYMOUS] =
		NLA_POLICY_MAX(NLA_U8, KMQTTD_ANONYMOUS_AUTO),
	[KMQTTD_A_LISTENER_MAX_CONNS] = { .type = NLA_U32 },
};

static const struct nla_policy kmq_client_policy[KMQTTD_A_CLIENT_MAX + 1] = {
	[KMQTTD_A_CLIENT_CLIENT_ID] = { .type = NLA_NUL_STRING, .len = 65535 },
	[KMQTTD_A_CLIENT_WILL] = NLA_POLICY_MAX(NLA_U8, 1),
	[KMQTTD_A_CLIENT_PURGE] = NLA_POLICY_MAX(NLA_U8, 1),
};

static const struct nla_policy kmq_sub_policy[KMQTTD_A_SUB_MAX + 1] = {
	[KMQTTD_A_SUB_CLIENT_ID] = { .type = NLA_NUL_STRING, .len = 65535 },
	[KMQTTD_A_SUB_FILTER] = { .type = NLA_NUL_STRING, .len = 65535 },
};

static const struct nla_policy kmq_retain_policy[KMQTTD_A_RETAIN_MAX + 1] = {
	[KMQTTD_A_RETAIN_TOPIC] = { .type = NLA_NUL_STRING, .len = 65535 },
	[KMQTTD_A_RETAIN_FILTER] = { .type = NLA_NUL_STRING, .len = 65535 },
};

static struct netlink_range_validation kmq_iter_range __ro_after_init = {
	.min = 1,
	.max = KMQ_PW_ITER_MAX,
};

static struct netlink_range_validation kmq_hold_range __ro_after_init = {
	.max = KMQ_PUBLISH_HOLD_MAX,
};

static const struct nla_policy kmq_set_policy[KMQTTD_A_SET_MAX + 1] = {
	[KMQTTD_A_SET_MAX_CONNECTIONS] = { .type = NLA_U32 },
	[KMQTTD_A_SET_MAX_PACKET_SIZE] = { .type = NLA_U32 },
	[KMQTTD_A_SET_MAX_INFLIGHT] = { .type = NLA_U32 },
	[KMQTTD_A_SET_MAX_QUEUED] = { .type = NLA_U32 },
	[KMQTTD_A_SET_MAX_KEEPALIVE] = { .type = NLA_U32 },
	[KMQTTD_A_SET_SESSION_EXPIRY] = { .type = NLA_U32 },
	[KMQTTD_A_SET_RETAIN_AVAILABLE] = NLA_POLICY_MAX(NLA_U8, 1),
	[KMQTTD_A_SET_RETAIN_MAX] = { .type = NLA_U32 },
	[KMQTTD_A_SET_RETAIN_MAX_BYTES] = { .type = NLA_U64 },
	[KMQTTD_A_SET_ALLOW_ANONYMOUS] =
		NLA_POLICY_MAX(NLA_U8, KMQTTD_ANONYMOUS_AUTO),
	[KMQTTD_A_SET_MAX_SUBSCRIPTIONS] = { .type = NLA_U32 },
	[KMQTTD_A_SET_MAX_TOPIC_LENGTH] = { .type = NLA_U32 },
	[KMQTTD_A_SET_MAX_TOPIC_LEVELS] = { .type = NLA_U32 },
	[KMQTTD_A_SET_CONNECT_TIMEOUT] = { .type = NLA_U32 },
	[KMQTTD_A_SET_SYS_INTERVAL] = { .type = NLA_U32 },
	[KMQTTD_A_SET_QOS3_TIMEOUT] = { .type = NLA_U32 },
	[KMQTTD_A_SET_QOS3_MAX_PENDING] = { .type = NLA_U32 },
	[KMQTTD_A_SET_QOS3_MAX_TOTAL] = { .type = NLA_U32 },
	[KMQTTD_A_SET_PASSWORD_ITERATIONS] =
		NLA_POLICY_FULL_RANGE(NLA_U32, &kmq_iter_range),
	[KMQTTD_A_SET_MAX_QUEUED_BYTES] = { .type = NLA_U64 },
	[KMQTTD_A_SET_MAX_MEMORY] = { .type = NLA_U64 },
	[KMQTTD_A_SET_SLOW_READER_TIMEOUT] = { .type = NLA_U32 },
	[KMQTTD_A_SET_PUBLISH_HOLD] =
		NLA_POLICY_FULL_RANGE(NLA_U32, &kmq_hold_range),
};

static const struct nla_policy kmq_user_policy[KMQTTD_A_USER_MAX + 1] = {
	/* short enough that a user or rule always fits one message */
	[KMQTTD_A_USER_NAME] = { .type = NLA_NUL_STRING, .len = 1024 },
	[KMQTTD_A_USER_PASSWORD] = { .type = NLA_BINARY, .len = 65535 },
	[KMQTTD_A_USER_HASH] = { .type = NLA_NUL_STRING,
				 .len = KMQ_PW_STR_MAX - 1 },
	[KMQTTD_A_USER_ITERATIONS] =
		NLA_POLICY_FULL_RANGE(NLA_U32, &kmq_iter_range),
};

static const struct nla_policy kmq_acl_policy[KMQTTD_A_ACL_MAX + 1] = {
	[KMQTTD_A_ACL_KIND] = NLA_POLICY_RANGE(NLA_U8, KMQTTD_ACL_TOPIC,
					       KMQTTD_ACL_PATTERN),
	[KMQTTD_A_ACL_USER] = { .type = NLA_NUL_STRING, .len = 1024 },
	[KMQTTD_A_ACL_ACCESS] = NLA_POLICY_MAX(NLA_U8, KMQTTD_ACL_READWRITE),
	[KMQTTD_A_ACL_PATTERN] = { .type = NLA_NUL_STRING, .len = 2048 },
};

#define KMQ_OP(_cmd, _doit, _dumpit, _policy, _maxattr) {		\
		.cmd = (_cmd),						\
		.doit = (_doit),					\
		.dumpit = (_dumpit),					\
		.policy = (_policy),					\
		.maxattr = (_maxattr),					\
		.flags = GENL_UNS_ADMIN_PERM,				\
	}

static const struct genl_ops kmq_genl_ops[] = {
	{
		.cmd = KMQTTD_CMD_STATS_GET,
		.doit = kmq_nl_stats_get,
	},
	KMQ_OP(KMQTTD_CMD_LISTENER_GET, kmq_nl_listener_get,
	       kmq_nl_listener_dump, kmq_listener_policy, KMQTTD_A_LISTENER_MAX),
	KMQ_OP(KMQTTD_CMD_LISTENER_ADD, kmq_nl_listener_add, NULL,
	       kmq_listener_policy, KMQTTD_A_LISTENER_MAX),
	KMQ_OP(KMQTTD_CMD_LISTENER_DEL, kmq_nl_listener_del, NULL,
	       kmq_listener_policy, KMQTTD_A_LISTENER_MAX),
	KMQ_OP(KMQTTD_CMD_CLIENT_GET, kmq_nl_client_get, kmq_nl_client_dump,
	       kmq_client_policy, KMQTTD_A_CLIENT_MAX),
	KMQ_OP(KMQTTD_CMD_CLIENT_KICK, kmq_nl_client_kick, NULL,
	       kmq_client_policy, KMQTTD_A_CLIENT_MAX),
	KMQ_OP(KMQTTD_CMD_SUB_GET, NULL, kmq_nl_sub_dump, kmq_sub_policy,
	       KMQTTD_A_SUB_MAX),
	KMQ_OP(KMQTTD_CMD_RETAIN_GET, NULL, kmq_nl_retain_dump,
	       kmq_retain_policy, KMQTTD_A_RETAIN_MAX),
	KMQ_OP(KMQTTD_CMD_RETAIN_DEL, kmq_nl_retain_del, NULL,
	       kmq_retain_policy, KMQTTD_A_RETAIN_MAX),
	KMQ_OP(KMQTTD_CMD_SETTINGS_GET, kmq_nl_settings_get, NULL,
	       kmq_set_policy, KMQTTD_A_SET_MAX),
	KMQ_OP(KMQTTD_CMD_SETTINGS_SET, kmq_nl_settings_set, NULL,
	       kmq_set_policy, KMQTTD_A_SET_MAX),
	KMQ_OP(KMQTTD_CMD_USER_GET, kmq_nl_user_get, kmq_nl_user_dump,
	       kmq_user_policy, KMQTTD_A_USER_MAX),
	KMQ_OP(KMQTTD_CMD_USER_ADD, kmq_nl_user_add, NULL, kmq_user_policy,
	       KMQTTD_A_USER_MAX),
	KMQ_OP(KMQTTD_CMD_USER_DEL, kmq_nl_user_del, NULL, kmq_user_policy,
	       KMQTTD_A_USER_MAX),
	KMQ_OP(KMQTTD_CMD_USER_CLEAR, kmq_nl_user_clear, NULL,
	       kmq_user_policy, KMQTTD_A_USER_MAX),
	KMQ_OP(KMQTTD_CMD_ACL_GET, NULL, kmq_nl_acl_dump, kmq_acl_policy,
	       KMQTTD_A_ACL_MAX),
	KMQ_OP(KMQTTD_CMD_ACL_ADD, kmq_nl_acl_add, NULL, kmq_acl_policy,
	       KMQTTD_A_ACL_MAX),
	KMQ_OP(KMQTTD_CMD_ACL_DEL, kmq_nl_acl_del, NULL, kmq_acl_policy,
	       KMQTTD_A_ACL_MAX),
	KMQ_OP(KMQTTD_CMD_ACL_CLEAR, kmq_nl_acl_clear, NULL, kmq_acl_policy,
	       KMQTTD_A_ACL_MAX),
};

static const struct genl_multicast_group kmq_genl_mcgrps[] = {
	[KMQ_GRP_EVENTS] = {
		.name = KMQTTD_MCGRP_EVENTS,
		.flags = GENL_MCAST_CAP_NET_ADMIN,
	},
};

static struct genl_family kmq_genl_family __ro_after_init = {
	.name = KMQTTD_FAMILY_NAME,
	.version = KMQTTD_FAMILY_VERSION,
	.netnsok = true,
	.module = THIS_MODULE,
	.ops = kmq_genl_ops,
	.n_ops = ARRAY_SIZE(kmq_genl_ops),
	.mcgrps = kmq_genl_mcgrps,
	.n_mcgrps = ARRAY_SIZE(kmq_genl_mcgrps),
};

int __init kmq_genl_init(void)
{
	return genl_register_family(&kmq_genl_family);
}

void kmq_genl_exit(void)
{
	genl_unregister_family(&kmq_genl_family);
}
