// SPDX-License-Identifier: GPL-2.0
/*
 * nl.c - small generic netlink helper layer for mqctl.  See nl.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/netlink.h>

#include "nl.h"

#define NL_RXBUF_SIZE		65536	/* >= MNL_SOCKET_BUFFER_SIZE */
#define NL_DUMP_RETRIES		8

/* Not in older <linux/netlink.h>; values are ABI. */
#define NL_NLMSGERR_ATTR_OFFS		2
#define NL_NLMSGERR_ATTR_POLICY		4
#define NL_NLMSGERR_ATTR_MISS_TYPE	5
#define NL_POLICY_TYPE_ATTR_MIN_VALUE_U	4
#define NL_POLICY_TYPE_ATTR_MAX_VALUE_U	5
#define NL_POLICY_TYPE_ATTR_MIN_LENGTH	6
#define NL_POLICY_TYPE_ATTR_MAX_LENGTH	7

#define NL_MCAST_RCVBUF		(1 << 20)

struct exec_state {
	struct nl *nl;
	mnl_cb_t cb;
	void *data;
	bool intr;		/* NLM_F_DUMP_INTR seen */
	bool stop;		/* cb returned MNL_CB_STOP */
	int err;		/* negative errno, 0 if none */
};

static void parse_policy(struct nl *nl, const struct nlattr *nest)
{
	const struct nlattr *a;

	mnl_attr_for_each_nested(a, nest) {
		if (mnl_attr_get_payload_len(a) != sizeof(uint64_t))
			continue;
		switch (mnl_attr_get_type(a)) {
		case NL_POLICY_TYPE_ATTR_MIN_VALUE_U:
			nl->ext_min = mnl_attr_get_u64(a);
			nl->ext_has_range = true;
			break;
		case NL_POLICY_TYPE_ATTR_MAX_VALUE_U:
			nl->ext_max = mnl_attr_get_u64(a);
			nl->ext_has_range = true;
			break;
		}
	}
	mnl_attr_for_each_nested(a, nest) {
		if (mnl_attr_get_payload_len(a) != sizeof(uint32_t))
			continue;
		switch (mnl_attr_get_type(a)) {
		case NL_POLICY_TYPE_ATTR_MIN_LENGTH:
			nl->ext_min_len = mnl_attr_get_u32(a);
			nl->ext_has_len = true;
			break;
		case NL_POLICY_TYPE_ATTR_MAX_LENGTH:
			nl->ext_max_len = mnl_attr_get_u32(a);
			nl->ext_has_len = true;
			break;
		}
	}
}

static void parse_extack(struct nl *nl, const struct nlmsghdr *nlh,
			 size_t off)
{
	const struct nlattr *attr;

	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return;
	if (mnl_nlmsg_size(MNL_ALIGN(off)) > nlh->nlmsg_len)
		return;

	mnl_attr_for_each(attr, nlh, off) {
		size_t len = mnl_attr_get_payload_len(attr);

		switch (mnl_attr_get_type(attr)) {
		case NLMSGERR_ATTR_MSG:
			if (len >= sizeof(nl->ext_msg))
				len = sizeof(nl->ext_msg) - 1;
			len = strnlen(mnl_attr_get_payload(attr), len);
			memcpy(nl->ext_msg, mnl_attr_get_payload(attr), len);
			nl->ext_msg[len] = '\0';
			/* Strip trailing newlines some subsystems add. */
			while (len && nl->ext_msg[len - 1] == '\n')
				nl->ext_msg[--len] = '\0';
			break;
		case NL_NLMSGERR_ATTR_MISS_TYPE:
			if (len == sizeof(uint32_t))
				nl->ext_miss_type = mnl_attr_get_u32(attr);
			break;
		case NL_NLMSGERR_ATTR_OFFS:
			if (len == sizeof(uint32_t))
				nl->ext_offs = mnl_attr_get_u32(attr);
			break;
		case NL_NLMSGERR_ATTR_POLICY:
			parse_policy(nl, attr);
			break;
		}
	}
}

static int data_cb(const struct nlmsghdr *nlh, void *arg)
{
	struct exec_state *st = arg;
	int ret;

	if (!st->cb)
		return MNL_CB_OK;
	errno = 0;
	ret = st->cb(nlh, st->data);
	if (ret == MNL_CB_STOP)
		st->stop = true;
	if (ret == MNL_CB_ERROR) {
		st->err = errno ? -errno : -EPROTO;
		errno = -st->err;
	}
	return ret;
}

static int error_cb(const struct nlmsghdr *nlh, void *arg)
{
	struct exec_state *st = arg;
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	size_t off;

	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*e))) {
		st->err = -EBADMSG;
		errno = EBADMSG;
		return MNL_CB_ERROR;
	}

	/* The extack TLVs follow the (possibly capped) original request. */
	off = sizeof(*e);
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED) &&
	    e->msg.nlmsg_len > sizeof(struct nlmsghdr))
		off += e->msg.nlmsg_len - sizeof(struct nlmsghdr);
	parse_extack(st->nl, nlh, off);

	if (e->error == 0) {
		/* ACK; an extack message here is a warning. */
		if (st->nl->ext_msg[0])
			fprintf(stderr, "mqctl: kernel warning: %s\n",
				st->nl->ext_msg);
		return MNL_CB_STOP;
	}
	st->err = e->error < 0 ? e->error : -e->error;
	errno = -st->err;
	return MNL_CB_ERROR;
}

static int done_cb(const struct nlmsghdr *nlh, void *arg)
{
	struct exec_state *st = arg;
	int err = 0;

	if (mnl_nlmsg_get_payload_len(nlh) >= sizeof(int))
		memcpy(&err, mnl_nlmsg_get_payload(nlh), sizeof(int));
	if (err < 0) {
		parse_extack(st->nl, nlh, sizeof(int));
		st->err = err;
		errno = -err;
		return MNL_CB_ERROR;
	}
	return MNL_CB_STOP;
}

static int noop_cb(const struct nlmsghdr *nlh, void *arg)
{
	(void)nlh;
	(void)arg;
	return MNL_CB_OK;
}

static int overrun_cb(const struct nlmsghdr *nlh, void *arg)
{
	struct exec_state *st = arg;

	(void)nlh;
	st->err = -ENOBUFS;
	errno = ENOBUFS;
	return MNL_CB_ERROR;
}

static mnl_cb_t ctl_cbs[NLMSG_MIN_TYPE] = {
	[NLMSG_NOOP]	= noop_cb,
	[NLMSG_ERROR]	= error_cb,
	[NLMSG_DONE]	= done_cb,
	[NLMSG_OVERRUN]	= overrun_cb,
};

static int run(struct exec_state *st, void *buf, size_t len,
	       unsigned int seq, unsigned int portid)
{
	struct nlmsghdr *nlh = buf;
	int n = len;
	int ret;

	/*
	 * libmnl fails a batch at the first NLM_F_DUMP_INTR (EINTR) and
	 * leaves the rest of the dump unread: note the flag and clear it,
	 * so the dump is read to its end and then restarted or reported.
	 */
	for (; mnl_nlmsg_ok(nlh, n); nlh = mnl_nlmsg_next(nlh, &n)) {
		if (nlh->nlmsg_flags & NLM_F_DUMP_INTR) {
			nlh->nlmsg_flags &= ~NLM_F_DUMP_INTR;
			st->intr = true;
		}
	}

	ret = mnl_cb_run2(buf, len, seq, portid, data_cb, st, ctl_cbs,
			  NLMSG_MIN_TYPE);
	if (ret == MNL_CB_ERROR && !st->err)
		st->err = errno ? -errno : -EPROTO;
	return ret;
}

/* Test hook: load the file nl->replay once. */
static int replay_load(struct nl *nl)
{
	FILE *f;
	char *buf = NULL;
	size_t len = 0, cap = 0, n;

	if (nl->replay_buf)
		return 0;
	f = fopen(nl->replay, "rb");
	if (!f) {
		fprintf(stderr, "mqctl: KMQ_MQCTL_REPLAY=%s: %s\n", nl->replay,
			strerror(errno));
		return -EIO;
	}
	do {
		if (len == cap) {
			char *p;

			cap = cap ? 2 * cap : NL_RXBUF_SIZE;
			p = realloc(buf, cap);
			if (!p) {
				free(buf);
				fclose(f);
				return -ENOMEM;
			}
			buf = p;
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
	} while (n);
	fclose(f);
	nl->replay_buf = buf;
	nl->replay_len = len;
	nl->replay_off = 0;
	return 0;
}

/*
 * Test hook: feed the next stored messages to the callbacks, one message
 * at a time, until one ends the request (ACK, error, NLMSG_DONE) or the
 * file does; the next request goes on from there.
 */
static int replay(struct nl *nl, struct exec_state *st)
{
	int ret = replay_load(nl);

	if (ret)
		return ret;
	while (nl->replay_off + sizeof(struct nlmsghdr) <= nl->replay_len) {
		struct nlmsghdr *nlh = (void *)
			(nl->replay_buf + nl->replay_off);
		size_t left = nl->replay_len - nl->replay_off;
		size_t len = nlh->nlmsg_len;

		if (len < sizeof(*nlh) || len > left)
			return -EBADMSG;
		/* seq/portid 0: accept whatever the file holds. */
		ret = run(st, nlh, len, 0, 0);
		nl->replay_off += MNL_ALIGN(len) < left ? MNL_ALIGN(len) : left;
		if (ret <= MNL_CB_STOP)
			break;
	}
	return st->err;
}

/* Test hook: append the request to $KMQ_MQCTL_REQUESTS. */
static void log_request(const struct nlmsghdr *nlh)
{
	const char *path = getenv("KMQ_MQCTL_REQUESTS");
	int fd;

	if (!path || !path[0])
		return;
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0644);
	if (fd < 0)
		return;
	if (write(fd, nlh, nlh->nlmsg_len) != (ssize_t)nlh->nlmsg_len)
		fprintf(stderr, "mqctl: cannot log the request to %s\n", path);
	close(fd);
}

void nl_stream(void *data)
{
	(void)data;
}

int nl_exec(struct nl *nl, struct nlmsghdr *nlh, mnl_cb_t cb, void *data,
	    void (*reset)(void *data))
{
	struct exec_state st;
	int tries = 0;
	ssize_t n;
	int ret;

	nl->dump_intr = false;
again:
	memset(&st, 0, sizeof(st));
	st.nl = nl;
	st.cb = cb;
	st.data = data;
	nl->ext_msg[0] = '\0';
	nl->ext_miss_type = -1;
	nl->ext_offs = -1;
	nl->ext_has_range = false;
	nl->ext_has_len = false;

	nlh->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = ++nl->seq;

	if (nl->replay) {
		log_request(nlh);
		ret = replay(nl, &st);
		if (ret)
			return ret;
		goto check_intr;
	}

	if (mnl_socket_sendto(nl->sock, nlh, nlh->nlmsg_len) < 0)
		return -errno;

	ret = MNL_CB_OK;
	do {
		n = mnl_socket_recvfrom(nl->sock, nl->rxbuf, nl->rxlen);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		ret = run(&st, nl->rxbuf, n, nlh->nlmsg_seq, nl->portid);
	} while (ret == MNL_CB_OK);
	if (ret == MNL_CB_ERROR)
		return st.err;

check_intr:
	if (st.intr) {
		if (reset == nl_stream) {
			nl->dump_intr = true;
			return 0;
		}
		if (!reset || ++tries >= NL_DUMP_RETRIES)
			return -EAGAIN;
		reset(data);
		goto again;
	}
	return 0;
}

const struct nlattr *nl_ext_attr(const struct nl *nl)
{
	const struct nlmsghdr *nlh = (const void *)nl->txbuf;
	const struct nlattr *a;

	if (nl->ext_offs < 0)
		return NULL;
	mnl_attr_for_each(a, nlh, NL_GENL_HDRLEN)
		if ((const char *)a - nl->txbuf == nl->ext_offs)
			return a;
	return NULL;
}

int nl_join(struct nl *nl, const char *name)
{
	int grp, size = NL_MCAST_RCVBUF;

	if (nl->replay)
		return 0;
	grp = nl_mcgrp_id(nl, name);
	if (grp < 0)
		return grp;
	if (mnl_socket_setsockopt(nl->sock, NETLINK_ADD_MEMBERSHIP, &grp,
				  sizeof(grp)) < 0)
		return -errno;
	/* Best effort: a bigger buffer loses fewer events in a burst. */
	setsockopt(mnl_socket_get_fd(nl->sock), SOL_SOCKET, SO_RCVBUF, &size,
		   sizeof(size));
	return 0;
}

int nl_listen(struct nl *nl, mnl_cb_t cb, void *data)
{
	struct exec_state st;
	ssize_t n;
	int ret;

	memset(&st, 0, sizeof(st));
	st.nl = nl;
	st.cb = cb;
	st.data = data;

	if (nl->replay) {
		ret = replay_load(nl);
		while (!ret && nl->replay_off < nl->replay_len) {
			ret = replay(nl, &st);
			if (!ret && st.stop)
				break;
		}
		return ret;
	}

	for (;;) {
		n = mnl_socket_recvfrom(nl->sock, nl->rxbuf, nl->rxlen);
		if (n < 0)
			return -errno;	/* -EINTR, -ENOBUFS: caller decides */
		/* Notifications carry seq 0 and portid 0. */
		ret = run(&st, nl->rxbuf, n, 0, 0);
		if (ret == MNL_CB_ERROR)
			return st.err;
		if (ret == MNL_CB_STOP && st.stop)
			return 0;
	}
}

static struct nlmsghdr *msg_start(struct nl *nl, uint16_t type, uint8_t cmd,
				  uint8_t version, uint16_t flags)
{
	struct nlmsghdr *nlh;
	struct genlmsghdr *genl;

	memset(nl->txbuf, 0, nl->txlen);
	nlh = mnl_nlmsg_put_header(nl->txbuf);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	genl = mnl_nlmsg_put_extra_header(nlh, sizeof(*genl));
	genl->cmd = cmd;
	genl->version = version;
	return nlh;
}

struct nlmsghdr *nl_msg(struct nl *nl, uint8_t cmd, uint16_t flags)
{
	return msg_start(nl, nl->family_id, cmd, nl->version, flags);
}

static void add_mcgrp(struct nl *nl, const struct nlattr *grp)
{
	const struct nlattr *a;
	struct nl_mcgrp g = { .name = "" };
	bool have_id = false;

	mnl_attr_for_each_nested(a, grp) {
		switch (mnl_attr_get_type(a)) {
		case CTRL_ATTR_MCAST_GRP_NAME:
			if (mnl_attr_validate(a, MNL_TYPE_NUL_STRING) < 0)
				break;
			snprintf(g.name, sizeof(g.name), "%s",
				 mnl_attr_get_str(a));
			break;
		case CTRL_ATTR_MCAST_GRP_ID:
			if (mnl_attr_validate(a, MNL_TYPE_U32) < 0)
				break;
			g.id = mnl_attr_get_u32(a);
			have_id = true;
			break;
		}
	}
	if (have_id && g.name[0] && nl->n_mcgrps < NL_MAX_MCGRPS)
		nl->mcgrps[nl->n_mcgrps++] = g;
}

static int family_cb(const struct nlmsghdr *nlh, void *arg)
{
	struct nl *nl = arg;
	const struct nlattr *attr, *grp;

	mnl_attr_for_each(attr, nlh, NL_GENL_HDRLEN) {
		switch (mnl_attr_get_type(attr)) {
		case CTRL_ATTR_FAMILY_ID:
			if (mnl_attr_validate(attr, MNL_TYPE_U16) == 0)
				nl->family_id = mnl_attr_get_u16(attr);
			break;
		case CTRL_ATTR_VERSION:
			if (mnl_attr_validate(attr, MNL_TYPE_U32) == 0)
				nl->family_version = mnl_attr_get_u32(attr);
			break;
		case CTRL_ATTR_MCAST_GROUPS:
			mnl_attr_for_each_nested(grp, attr)
				add_mcgrp(nl, grp);
			break;
		}
	}
	return MNL_CB_OK;
}

static int resolve_family(struct nl *nl, const char *family)
{
	struct nlmsghdr *nlh;
	int err;

	nlh = msg_start(nl, GENL_ID_CTRL, CTRL_CMD_GETFAMILY, 1, 0);
	mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, family);
	nl->n_mcgrps = 0;
	err = nl_exec(nl, nlh, family_cb, nl, NULL);
	if (err)
		return err;
	return nl->family_id ? 0 : -EPROTO;
}

int nl_open(struct nl *nl, const char *family, uint8_t version)
{
	int one = 1;
	int err;

	memset(nl, 0, sizeof(*nl));
	nl->version = version;
	nl->ext_miss_type = -1;
	nl->ext_offs = -1;
	nl->rxlen = NL_RXBUF_SIZE;
	if (nl->rxlen < (size_t)MNL_SOCKET_BUFFER_SIZE)
		nl->rxlen = MNL_SOCKET_BUFFER_SIZE;
	nl->txlen = MNL_SOCKET_BUFFER_SIZE;
	if (nl->txlen < 8192)
		nl->txlen = 8192;
	nl->rxbuf = malloc(nl->rxlen);
	nl->txbuf = malloc(nl->txlen);
	if (!nl->rxbuf || !nl->txbuf) {
		err = -ENOMEM;
		goto fail;
	}

	nl->replay = getenv("KMQ_MQCTL_REPLAY");
	if (nl->replay && nl->replay[0]) {
		nl->family_id = GENL_MIN_ID;
		nl->family_version = version;
		return 0;
	}
	nl->replay = NULL;

	nl->sock = mnl_socket_open(NETLINK_GENERIC);
	if (!nl->sock) {
		err = -errno;
		goto fail;
	}
	/* Best effort: older kernels lack these options. */
	mnl_socket_setsockopt(nl->sock, NETLINK_EXT_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(nl->sock, NETLINK_CAP_ACK, &one, sizeof(one));
	if (mnl_socket_bind(nl->sock, 0, MNL_SOCKET_AUTOPID) < 0) {
		err = -errno;
		goto fail;
	}
	nl->portid = mnl_socket_get_portid(nl->sock);

	err = resolve_family(nl, family);
	if (err)
		goto fail;
	return 0;

fail:
	nl_close(nl);
	return err;
}

void nl_close(struct nl *nl)
{
	if (nl->sock)
		mnl_socket_close(nl->sock);
	nl->sock = NULL;
	free(nl->rxbuf);
	free(nl->txbuf);
	free(nl->replay_buf);
	nl->rxbuf = NULL;
	nl->txbuf = NULL;
	nl->replay_buf = NULL;
}

int nl_mcgrp_id(const struct nl *nl, const char *name)
{
	unsigned int i;

	for (i = 0; i < nl->n_mcgrps; i++)
		if (!strcmp(nl->mcgrps[i].name, name))
			return nl->mcgrps[i].id;
	return -ENOENT;
}
