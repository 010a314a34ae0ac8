// SPDX-License-Identifier: GPL-2.0
/*
 * mkreply.c - write fabricated kmqttd netlink replies to stdout, for
 * "KMQ_MQCTL_REPLAY=FILE mqctl ..." (see nl.h).
 *
 *	mkreply stats		STATS_GET reply with every counter, kernel-style
 *				64-bit padding, unknown attributes, then ACK
 *	mkreply empty		STATS_GET reply without attributes, then ACK
 *	mkreply malformed	STATS_GET reply with a 3-byte counter
 *	mkreply error ERRNO [MSG]
 *				NLMSG_ERROR -ERRNO with an extack message
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <linux/kmqttd.h>

#define FAMILY_ID	GENL_MIN_ID
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

static union {
	char buf[65536];
	uint64_t align;
} out;
static size_t used;

static struct nlmsghdr *msg(uint16_t type, uint16_t flags)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(out.buf + used);

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = flags;
	nlh->nlmsg_seq = 1;
	return nlh;
}

static void msg_end(struct nlmsghdr *nlh)
{
	used += MNL_ALIGN(nlh->nlmsg_len);
}

static struct nlmsghdr *genl_msg(void)
{
	struct nlmsghdr *nlh = msg(FAMILY_ID, 0);
	struct genlmsghdr *g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));

	g->cmd = KMQTTD_CMD_STATS_GET;
	g->version = KMQTTD_FAMILY_VERSION;
	return nlh;
}

/* Like the kernel's nla_put_u64_64bit() without efficient unaligned access. */
static void put_u64(struct nlmsghdr *nlh, uint16_t type, uint64_t v,
		    uint16_t padtype)
{
	uintptr_t tail = (uintptr_t)mnl_nlmsg_get_payload_tail(nlh);

	if ((tail + MNL_ATTR_HDRLEN) % 8)
		mnl_attr_put(nlh, padtype, 0, NULL);
	mnl_attr_put_u64(nlh, type, v);
}

static void ack(void)
{
	struct nlmsghdr *nlh = msg(NLMSG_ERROR, NLM_F_CAPPED);
	struct nlmsgerr *e = mnl_nlmsg_put_extra_header(nlh, sizeof(*e));

	e->error = 0;
	e->msg.nlmsg_len = sizeof(struct nlmsghdr) + GENL_HDRLEN;
	e->msg.nlmsg_type = FAMILY_ID;
	e->msg.nlmsg_seq = 1;
	msg_end(nlh);
}

static void stats(void)
{
	static const struct { uint16_t type; uint64_t v; } vals[] = {
		{ KMQTTD_A_STATS_CONNS_CURRENT,	3 },
		{ KMQTTD_A_STATS_CONNS_TOTAL,	10 },
		{ KMQTTD_A_STATS_CONNS_MAX,	5 },
		{ KMQTTD_A_STATS_MSGS_IN,	100 },
		{ KMQTTD_A_STATS_MSGS_OUT,	200 },
		{ KMQTTD_A_STATS_BYTES_IN,	4096 },
		{ KMQTTD_A_STATS_BYTES_OUT,	UINT64_MAX },
		{ KMQTTD_A_STATS_MSGS_DROPPED,	2 },
		{ KMQTTD_A_STATS_SUBS_CURRENT,	7 },
		{ KMQTTD_A_STATS_LIVE_CONNS,	11 },
		{ KMQTTD_A_STATS_LIVE_SESSIONS,	12 },
		{ KMQTTD_A_STATS_LIVE_MSGS,	13 },
		{ KMQTTD_A_STATS_LIVE_SUBS,	14 },
		{ KMQTTD_A_STATS_LIVE_NODES,	15 },
		{ KMQTTD_A_STATS_UPTIME,	93784 },
		{ KMQTTD_A_STATS_PKTS_IN,	150 },
		{ KMQTTD_A_STATS_PKTS_OUT,	250 },
		{ 250,				999 },	/* unknown: ignored */
	};
	struct nlmsghdr *nlh = genl_msg();
	struct nlattr *nest;
	size_t i;

	/* An odd-sized attribute first, so padding is needed. */
	mnl_attr_put_u32(nlh, 240, 1);		/* unknown: ignored */
	for (i = 0; i < ARRAY_SIZE(vals); i++) {
		put_u64(nlh, vals[i].type, vals[i].v, KMQTTD_A_STATS_PAD);
		if (vals[i].type == KMQTTD_A_STATS_SUBS_CURRENT) {
			nest = mnl_attr_nest_start(nlh, KMQTTD_A_STATS_REFUSALS);
			put_u64(nlh, KMQTTD_REFUSAL_BAD_TYPE, 1, 0);
			put_u64(nlh, KMQTTD_REFUSAL_BAD_UTF8, 0, 0);
			mnl_attr_put_u32(nlh, KMQTTD_REFUSAL_KEEPALIVE, 4);
			mnl_attr_put(nlh, KMQTTD_REFUSAL_NOMEM, 0, NULL);
			put_u64(nlh, KMQTTD_REFUSAL_SLOW_READER, 23, 0);
			put_u64(nlh, 200, 77, 0);	/* unknown: ignored */
			mnl_attr_nest_end(nlh, nest);
		}
	}
	msg_end(nlh);
	ack();
}

static void malformed(void)
{
	struct nlmsghdr *nlh = genl_msg();
	char three[3] = { 1, 2, 3 };

	mnl_attr_put_u64(nlh, KMQTTD_A_STATS_CONNS_CURRENT, 1);
	mnl_attr_put(nlh, KMQTTD_A_STATS_MSGS_IN, sizeof(three), three);
	msg_end(nlh);
	ack();
}

static void error(int err, const char *text)
{
	struct nlmsghdr *nlh = msg(NLMSG_ERROR, NLM_F_CAPPED |
				   (text ? NLM_F_ACK_TLVS : 0));
	struct nlmsgerr *e = mnl_nlmsg_put_extra_header(nlh, sizeof(*e));

	e->error = -err;
	e->msg.nlmsg_len = sizeof(struct nlmsghdr) + GENL_HDRLEN;
	e->msg.nlmsg_type = FAMILY_ID;
	e->msg.nlmsg_seq = 1;
	if (text)
		mnl_attr_put_strz(nlh, NLMSGERR_ATTR_MSG, text);
	msg_end(nlh);
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "stats")) {
		stats();
	} else if (argc == 2 && !strcmp(argv[1], "empty")) {
		msg_end(genl_msg());
		ack();
	} else if (argc == 2 && !strcmp(argv[1], "malformed")) {
		malformed();
	} else if ((argc == 3 || argc == 4) && !strcmp(argv[1], "error")) {
		error(atoi(argv[2]), argc == 4 ? argv[3] : NULL);
	} else {
		fprintf(stderr, "usage: mkreply stats|empty|malformed|error ERRNO [MSG]\n");
		return 2;
	}
	if (fwrite(out.buf, 1, used, stdout) != used)
		return 1;
	return 0;
}
