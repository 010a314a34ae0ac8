// SPDX-License-Identifier: GPL-2.0
/*
 * mkreply.c - write fabricated kmqttd netlink replies to stdout, for
 * "KMQ_MQCTL_REPLAY=FILE mqctl ..." (see nl.h), and decode the requests
 * mqctl logged to $KMQ_MQCTL_REQUESTS.
 *
 *	mkreply stats		STATS_GET reply with every counter, kernel-style
 *				64-bit padding, unknown attributes, then ACK
 *	mkreply empty		STATS_GET reply without attributes, then ACK
 *	mkreply malformed	STATS_GET reply with a 3-byte counter
 *	mkreply error ERRNO [MSG]
 *				NLMSG_ERROR -ERRNO with an extack message
 *	mkreply script		build messages from the directives on stdin
 *	mkreply decode FILE	print the requests stored in FILE
 *
 * Script directives, one per line ('#' starts a comment); TYPE, CMD and
 * numbers may be written as uAPI constants (KMQTTD_A_CLIENT_PORT):
 *
 *	msg CMD [dump] [intr]	start a message (dump: NLM_F_MULTI)
 *	u8|u16|u32 TYPE VALUE	integer attributes
 *	u64 TYPE VALUE [PAD]	64-bit aligned with PAD attributes if given
 *	str TYPE TEXT		NUL-terminated string (rest of the line;
 *				\xNN escapes, \s for a space)
 *	strn TYPE TEXT		the same without the NUL
 *	bin TYPE HEX		binary
 *	ip TYPE ADDRESS		4 or 16 address bytes (inet_pton)
 *	nest TYPE ... end	nested attributes
 *	done [intr]		NLMSG_DONE (end of a dump)
 *	ack			NLMSG_ERROR 0
 *	error ERRNO [offs N] [range MIN MAX] [msg TEXT]
 *	clients N [ID_PREFIX]	N client dump messages, 3 to a multi-part
 *				message batch (no done)
 *	subs N			N subscription dump messages (no done)
 *
 * Every message ends where the next directive that starts one begins.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <linux/kmqttd.h>

#define FAMILY_ID	GENL_MIN_ID
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

/* One message at a time, written out when it ends. */
static union {
	char buf[1 << 20];
	uint64_t align;
} out;
static struct nlmsghdr *cur;
static struct nlattr *nests[8];
static int depth;

/* ------------------------------------------------------------ constants */

enum set { S_NONE, S_STATS, S_LISTENER, S_CLIENT, S_SUB, S_RETAIN, S_SET,
	   S_EVENT, S_CMD, S_USER, S_ACL };

#define C(set, x)	{ #x, x, set }
static const struct cname {
	const char *name;
	long long value;
	enum set set;
} cnames[] = {
	C(S_CMD, KMQTTD_CMD_STATS_GET), C(S_CMD, KMQTTD_CMD_LISTENER_GET),
	C(S_CMD, KMQTTD_CMD_LISTENER_ADD), C(S_CMD, KMQTTD_CMD_LISTENER_DEL),
	C(S_CMD, KMQTTD_CMD_CLIENT_GET), C(S_CMD, KMQTTD_CMD_CLIENT_KICK),
	C(S_CMD, KMQTTD_CMD_SUB_GET), C(S_CMD, KMQTTD_CMD_RETAIN_GET),
	C(S_CMD, KMQTTD_CMD_RETAIN_DEL), C(S_CMD, KMQTTD_CMD_SETTINGS_GET),
	C(S_CMD, KMQTTD_CMD_SETTINGS_SET), C(S_CMD, KMQTTD_CMD_EVENT),
	C(S_CMD, KMQTTD_CMD_USER_GET), C(S_CMD, KMQTTD_CMD_USER_ADD),
	C(S_CMD, KMQTTD_CMD_USER_DEL), C(S_CMD, KMQTTD_CMD_USER_CLEAR),
	C(S_CMD, KMQTTD_CMD_ACL_GET), C(S_CMD, KMQTTD_CMD_ACL_ADD),
	C(S_CMD, KMQTTD_CMD_ACL_DEL), C(S_CMD, KMQTTD_CMD_ACL_CLEAR),

	C(S_LISTENER, KMQTTD_A_LISTENER_ID),
	C(S_LISTENER, KMQTTD_A_LISTENER_FAMILY),
	C(S_LISTENER, KMQTTD_A_LISTENER_ADDR),
	C(S_LISTENER, KMQTTD_A_LISTENER_PORT),
	C(S_LISTENER, KMQTTD_A_LISTENER_CONNS),
	C(S_LISTENER, KMQTTD_A_LISTENER_QOS3),
	C(S_LISTENER, KMQTTD_A_LISTENER_ANONYMOUS),
	C(S_LISTENER, KMQTTD_A_LISTENER_MAX_CONNS),

	C(S_CLIENT, KMQTTD_A_CLIENT_PAD), C(S_CLIENT, KMQTTD_A_CLIENT_CLIENT_ID),
	C(S_CLIENT, KMQTTD_A_CLIENT_FAMILY), C(S_CLIENT, KMQTTD_A_CLIENT_ADDR),
	C(S_CLIENT, KMQTTD_A_CLIENT_PORT), C(S_CLIENT, KMQTTD_A_CLIENT_USERNAME),
	C(S_CLIENT, KMQTTD_A_CLIENT_CONNECTED),
	C(S_CLIENT, KMQTTD_A_CLIENT_CONNECTED_SINCE),
	C(S_CLIENT, KMQTTD_A_CLIENT_KEEPALIVE), C(S_CLIENT, KMQTTD_A_CLIENT_CLEAN),
	C(S_CLIENT, KMQTTD_A_CLIENT_INFLIGHT), C(S_CLIENT, KMQTTD_A_CLIENT_QUEUED),
	C(S_CLIENT, KMQTTD_A_CLIENT_SUBS), C(S_CLIENT, KMQTTD_A_CLIENT_MSGS_IN),
	C(S_CLIENT, KMQTTD_A_CLIENT_MSGS_OUT),
	C(S_CLIENT, KMQTTD_A_CLIENT_BYTES_IN),
	C(S_CLIENT, KMQTTD_A_CLIENT_BYTES_OUT),
	C(S_CLIENT, KMQTTD_A_CLIENT_WILL), C(S_CLIENT, KMQTTD_A_CLIENT_PURGE),
	C(S_CLIENT, KMQTTD_A_CLIENT_TRUNCATED),

	C(S_SUB, KMQTTD_A_SUB_CLIENT_ID), C(S_SUB, KMQTTD_A_SUB_FILTER),
	C(S_SUB, KMQTTD_A_SUB_QOS), C(S_SUB, KMQTTD_A_SUB_TRUNCATED),

	C(S_RETAIN, KMQTTD_A_RETAIN_TOPIC), C(S_RETAIN, KMQTTD_A_RETAIN_FILTER),
	C(S_RETAIN, KMQTTD_A_RETAIN_QOS), C(S_RETAIN, KMQTTD_A_RETAIN_PAYLOAD_LEN),
	C(S_RETAIN, KMQTTD_A_RETAIN_PAYLOAD), C(S_RETAIN, KMQTTD_A_RETAIN_COUNT),
	C(S_RETAIN, KMQTTD_A_RETAIN_TRUNCATED),

	C(S_SET, KMQTTD_A_SET_PAD), C(S_SET, KMQTTD_A_SET_MAX_CONNECTIONS),
	C(S_SET, KMQTTD_A_SET_MAX_PACKET_SIZE), C(S_SET, KMQTTD_A_SET_MAX_INFLIGHT),
	C(S_SET, KMQTTD_A_SET_MAX_QUEUED), C(S_SET, KMQTTD_A_SET_MAX_KEEPALIVE),
	C(S_SET, KMQTTD_A_SET_SESSION_EXPIRY),
	C(S_SET, KMQTTD_A_SET_RETAIN_AVAILABLE), C(S_SET, KMQTTD_A_SET_RETAIN_MAX),
	C(S_SET, KMQTTD_A_SET_RETAIN_MAX_BYTES),
	C(S_SET, KMQTTD_A_SET_ALLOW_ANONYMOUS),
	C(S_SET, KMQTTD_A_SET_MAX_SUBSCRIPTIONS),
	C(S_SET, KMQTTD_A_SET_MAX_TOPIC_LENGTH),
	C(S_SET, KMQTTD_A_SET_MAX_TOPIC_LEVELS),
	C(S_SET, KMQTTD_A_SET_CONNECT_TIMEOUT), C(S_SET, KMQTTD_A_SET_SYS_INTERVAL),
	C(S_SET, KMQTTD_A_SET_QOS3_TIMEOUT),
	C(S_SET, KMQTTD_A_SET_QOS3_MAX_PENDING),
	C(S_SET, KMQTTD_A_SET_QOS3_MAX_TOTAL),
	C(S_SET, KMQTTD_A_SET_PASSWORD_ITERATIONS),
	C(S_SET, KMQTTD_A_SET_MAX_QUEUED_BYTES),
	C(S_SET, KMQTTD_A_SET_MAX_MEMORY),
	C(S_SET, KMQTTD_A_SET_SLOW_READER_TIMEOUT),
	C(S_SET, KMQTTD_A_SET_PUBLISH_HOLD),

	C(S_USER, KMQTTD_A_USER_NAME), C(S_USER, KMQTTD_A_USER_PASSWORD),
	C(S_USER, KMQTTD_A_USER_HASH), C(S_USER, KMQTTD_A_USER_ALGO),
	C(S_USER, KMQTTD_A_USER_ITERATIONS), C(S_USER, KMQTTD_A_USER_COUNT),

	C(S_ACL, KMQTTD_A_ACL_KIND), C(S_ACL, KMQTTD_A_ACL_USER),
	C(S_ACL, KMQTTD_A_ACL_ACCESS), C(S_ACL, KMQTTD_A_ACL_PATTERN),
	C(S_ACL, KMQTTD_A_ACL_COUNT),
	C(S_NONE, KMQTTD_ACL_TOPIC), C(S_NONE, KMQTTD_ACL_PATTERN),
	C(S_NONE, KMQTTD_ACL_DENY), C(S_NONE, KMQTTD_ACL_READ),
	C(S_NONE, KMQTTD_ACL_WRITE), C(S_NONE, KMQTTD_ACL_READWRITE),
	C(S_NONE, KMQTTD_ANONYMOUS_OFF), C(S_NONE, KMQTTD_ANONYMOUS_ON),
	C(S_NONE, KMQTTD_ANONYMOUS_AUTO),

	C(S_EVENT, KMQTTD_A_EVENT_TYPE), C(S_EVENT, KMQTTD_A_EVENT_CLIENT_ID),
	C(S_EVENT, KMQTTD_A_EVENT_FAMILY), C(S_EVENT, KMQTTD_A_EVENT_ADDR),
	C(S_EVENT, KMQTTD_A_EVENT_PORT), C(S_EVENT, KMQTTD_A_EVENT_REASON),
	C(S_EVENT, KMQTTD_A_EVENT_LISTENER), C(S_EVENT, KMQTTD_A_EVENT_CLEAN),

	C(S_NONE, KMQTTD_EVENT_CONNECTED), C(S_NONE, KMQTTD_EVENT_DISCONNECTED),
	C(S_NONE, KMQTTD_EVENT_KICKED), C(S_NONE, KMQTTD_EVENT_LISTENER_ADDED),
	C(S_NONE, KMQTTD_EVENT_LISTENER_REMOVED),
	C(S_NONE, KMQTTD_REFUSAL_KEEPALIVE), C(S_NONE, KMQTTD_REFUSAL_BAD_TYPE),
	C(S_NONE, KMQTTD_REFUSAL_TOPIC_LIMIT),
	C(S_NONE, AF_INET), C(S_NONE, AF_INET6),
	C(S_NONE, ENOENT), C(S_NONE, EPERM), C(S_NONE, EINVAL), C(S_NONE, ERANGE),
	C(S_NONE, EADDRINUSE), C(S_NONE, EADDRNOTAVAIL), C(S_NONE, ENOTCONN),
	C(S_NONE, EEXIST), C(S_NONE, EOPNOTSUPP),
};

static void die(const char *fmt, const char *arg)
{
	fprintf(stderr, "mkreply: ");
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	exit(2);
}

static long long num(const char *s)
{
	char *end;
	long long v;
	size_t i;

	if (!s)
		die("missing number%s", "");
	for (i = 0; i < ARRAY_SIZE(cnames); i++)
		if (!strcmp(cnames[i].name, s))
			return cnames[i].value;
	errno = 0;
	v = strtoll(s, &end, 0);
	if (errno == ERANGE)
		v = (long long)strtoull(s, &end, 0);
	if (*end)
		die("bad number or unknown constant '%s'", s);
	return v;
}

/* ------------------------------------------------------------ building */

static void flush(void)
{
	static const char zero[NLMSG_ALIGNTO];
	size_t len;

	if (!cur)
		return;
	if (depth)
		die("unterminated nest%s", "");
	len = cur->nlmsg_len;
	if (fwrite(out.buf, 1, len, stdout) != len ||
	    fwrite(zero, 1, MNL_ALIGN(len) - len, stdout) != MNL_ALIGN(len) - len)
		exit(1);
	cur = NULL;
}

static struct nlmsghdr *msg(uint16_t type, uint16_t flags)
{
	flush();
	memset(out.buf, 0, 4096);
	cur = mnl_nlmsg_put_header(out.buf);
	cur->nlmsg_type = type;
	cur->nlmsg_flags = flags;
	cur->nlmsg_seq = 1;
	return cur;
}

static struct nlmsghdr *genl_msg(uint8_t cmd, uint16_t flags)
{
	struct nlmsghdr *nlh = msg(FAMILY_ID, flags);
	struct genlmsghdr *g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));

	g->cmd = cmd;
	g->version = KMQTTD_FAMILY_VERSION;
	return nlh;
}

static void need_msg(void)
{
	if (!cur)
		die("attribute outside a message%s", "");
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
	flush();
}

static void done(uint16_t flags)
{
	struct nlmsghdr *nlh = msg(NLMSG_DONE, NLM_F_MULTI | flags);
	int zero = 0;

	memcpy(mnl_nlmsg_put_extra_header(nlh, sizeof(int)), &zero, sizeof(int));
	flush();
}

static void error(int err, const char *text, long long offs, bool range,
		  uint64_t min, uint64_t max)
{
	struct nlmsghdr *nlh = msg(NLMSG_ERROR, NLM_F_CAPPED |
				   (text || offs >= 0 || range ?
				    NLM_F_ACK_TLVS : 0));
	struct nlmsgerr *e = mnl_nlmsg_put_extra_header(nlh, sizeof(*e));
	struct nlattr *nest;

	e->error = -err;
	e->msg.nlmsg_len = sizeof(struct nlmsghdr) + GENL_HDRLEN;
	e->msg.nlmsg_type = FAMILY_ID;
	e->msg.nlmsg_seq = 1;
	if (text)
		mnl_attr_put_strz(nlh, NLMSGERR_ATTR_MSG, text);
	if (offs >= 0)
		mnl_attr_put_u32(nlh, NLMSGERR_ATTR_OFFS, offs);
	if (range) {
		nest = mnl_attr_nest_start(nlh, NLMSGERR_ATTR_POLICY);
		mnl_attr_put_u32(nlh, NL_POLICY_TYPE_ATTR_TYPE, NL_ATTR_TYPE_U32);
		mnl_attr_put_u64(nlh, NL_POLICY_TYPE_ATTR_MIN_VALUE_U, min);
		mnl_attr_put_u64(nlh, NL_POLICY_TYPE_ATTR_MAX_VALUE_U, max);
		mnl_attr_nest_end(nlh, nest);
	}
	flush();
}

/* ------------------------------------------------------------ fixed replies */

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
		{ KMQTTD_A_STATS_SESSIONS_CURRENT, 8 },
		{ KMQTTD_A_STATS_RETAINED_CURRENT, 9 },
		{ KMQTTD_A_STATS_RETAINED_BYTES, 1234 },
		{ KMQTTD_A_STATS_MEM_MSG_BYTES,	56789 },
		{ KMQTTD_A_STATS_MEM_USED,	77777 },
		{ KMQTTD_A_STATS_LIVE_TXITEMS,	16 },
		{ KMQTTD_A_STATS_LIVE_DELIVERIES, 17 },
		{ KMQTTD_A_STATS_PUBLISH_HOLDS, 18 },
		{ 250,				999 },	/* unknown: ignored */
	};
	struct nlmsghdr *nlh = genl_msg(KMQTTD_CMD_STATS_GET, 0);
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
			put_u64(nlh, KMQTTD_REFUSAL_TOPIC_LIMIT, 6, 0);
			put_u64(nlh, KMQTTD_REFUSAL_MEMORY, 5, 0);
			put_u64(nlh, 200, 77, 0);	/* unknown: ignored */
			mnl_attr_nest_end(nlh, nest);
		}
	}
	flush();
	ack();
}

static void malformed(void)
{
	struct nlmsghdr *nlh = genl_msg(KMQTTD_CMD_STATS_GET, 0);
	char three[3] = { 1, 2, 3 };

	mnl_attr_put_u64(nlh, KMQTTD_A_STATS_CONNS_CURRENT, 1);
	mnl_attr_put(nlh, KMQTTD_A_STATS_MSGS_IN, sizeof(three), three);
	flush();
	ack();
}

/* ------------------------------------------------------------ generators */

static void clients(long long n, const char *prefix)
{
	static const uint8_t lo[4] = { 127, 0, 0, 1 };
	char id[64];
	long long i;

	for (i = 0; i < n; i++) {
		struct nlmsghdr *nlh = genl_msg(KMQTTD_CMD_CLIENT_GET,
						NLM_F_MULTI);

		snprintf(id, sizeof(id), "%s%lld", prefix, i);
		mnl_attr_put_strz(nlh, KMQTTD_A_CLIENT_CLIENT_ID, id);
		mnl_attr_put_u16(nlh, KMQTTD_A_CLIENT_FAMILY, AF_INET);
		mnl_attr_put(nlh, KMQTTD_A_CLIENT_ADDR, 4, lo);
		mnl_attr_put_u16(nlh, KMQTTD_A_CLIENT_PORT, 10000 + i % 50000);
		mnl_attr_put_u8(nlh, KMQTTD_A_CLIENT_CONNECTED, 1);
		put_u64(nlh, KMQTTD_A_CLIENT_CONNECTED_SINCE, 1700000000,
			KMQTTD_A_CLIENT_PAD);
		mnl_attr_put_u16(nlh, KMQTTD_A_CLIENT_KEEPALIVE, 60);
		mnl_attr_put_u8(nlh, KMQTTD_A_CLIENT_CLEAN, 1);
		mnl_attr_put_u32(nlh, KMQTTD_A_CLIENT_SUBS, i % 3);
		put_u64(nlh, KMQTTD_A_CLIENT_MSGS_IN, i, KMQTTD_A_CLIENT_PAD);
		put_u64(nlh, KMQTTD_A_CLIENT_MSGS_OUT, 2 * i, KMQTTD_A_CLIENT_PAD);
	}
	flush();
}

static void subs(long long n)
{
	char buf[64];
	long long i;

	for (i = 0; i < n; i++) {
		struct nlmsghdr *nlh = genl_msg(KMQTTD_CMD_SUB_GET, NLM_F_MULTI);

		snprintf(buf, sizeof(buf), "c%lld", i / 4);
		mnl_attr_put_strz(nlh, KMQTTD_A_SUB_CLIENT_ID, buf);
		snprintf(buf, sizeof(buf), "t/%lld/#", i);
		mnl_attr_put_strz(nlh, KMQTTD_A_SUB_FILTER, buf);
		mnl_attr_put_u8(nlh, KMQTTD_A_SUB_QOS, i % 3);
	}
	flush();
}

/* ------------------------------------------------------------ script */

static size_t unescape(const char *s, char *buf, size_t cap)
{
	size_t n = 0;

	while (*s && n < cap) {
		if (s[0] == '\\' && s[1] == 'x' && s[2] && s[3]) {
			char hex[3] = { s[2], s[3], 0 };

			buf[n++] = (char)strtol(hex, NULL, 16);
			s += 4;
		} else if (s[0] == '\\' && s[1] == 's') {
			buf[n++] = ' ';
			s += 2;
		} else if (s[0] == '\\' && s[1] == '\\') {
			buf[n++] = '\\';
			s += 2;
		} else {
			buf[n++] = *s++;
		}
	}
	return n;
}

static void script(void)
{
	static char line[1 << 16], text[1 << 16];
	unsigned int lineno = 0;

	while (fgets(line, sizeof(line), stdin)) {
		char *save, *op, *a, *b, *rest;
		size_t n;

		lineno++;
		line[strcspn(line, "\n")] = '\0';
		if (line[strspn(line, " \t")] == '#')
			continue;
		op = strtok_r(line, " \t", &save);
		if (!op)
			continue;
		if (!strcmp(op, "msg")) {
			uint16_t flags = 0;
			uint8_t cmd = num(strtok_r(NULL, " \t", &save));

			while ((a = strtok_r(NULL, " \t", &save))) {
				if (!strcmp(a, "dump"))
					flags |= NLM_F_MULTI;
				else if (!strcmp(a, "intr"))
					flags |= NLM_F_DUMP_INTR;
				else
					die("msg: unknown flag '%s'", a);
			}
			genl_msg(cmd, flags);
		} else if (!strcmp(op, "done")) {
			a = strtok_r(NULL, " \t", &save);
			done(a && !strcmp(a, "intr") ? NLM_F_DUMP_INTR : 0);
		} else if (!strcmp(op, "ack")) {
			ack();
		} else if (!strcmp(op, "error")) {
			int err = num(strtok_r(NULL, " \t", &save));
			long long offs = -1;
			bool range = false;
			uint64_t min = 0, max = 0;
			const char *m = NULL;

			while ((a = strtok_r(NULL, " \t", &save))) {
				if (!strcmp(a, "offs")) {
					offs = num(strtok_r(NULL, " \t", &save));
				} else if (!strcmp(a, "range")) {
					range = true;
					min = num(strtok_r(NULL, " \t", &save));
					max = num(strtok_r(NULL, " \t", &save));
				} else if (!strcmp(a, "msg")) {
					m = save;
					break;
				} else {
					die("error: unknown word '%s'", a);
				}
			}
			error(err, m, offs, range, min, max);
		} else if (!strcmp(op, "clients")) {
			a = strtok_r(NULL, " \t", &save);
			b = strtok_r(NULL, " \t", &save);
			clients(num(a), b ? b : "client-");
		} else if (!strcmp(op, "subs")) {
			subs(num(strtok_r(NULL, " \t", &save)));
		} else if (!strcmp(op, "end")) {
			need_msg();
			if (!depth)
				die("end without nest%s", "");
			mnl_attr_nest_end(cur, nests[--depth]);
		} else {
			uint16_t type;

			need_msg();
			type = num(strtok_r(NULL, " \t", &save));
			rest = save ? save : (char *)"";
			if (!strcmp(op, "nest")) {
				if (depth == ARRAY_SIZE(nests))
					die("nests too deep%s", "");
				nests[depth++] = mnl_attr_nest_start(cur, type);
			} else if (!strcmp(op, "u8")) {
				mnl_attr_put_u8(cur, type, num(strtok_r(NULL, " \t", &save)));
			} else if (!strcmp(op, "u16")) {
				mnl_attr_put_u16(cur, type, num(strtok_r(NULL, " \t", &save)));
			} else if (!strcmp(op, "u32")) {
				mnl_attr_put_u32(cur, type, num(strtok_r(NULL, " \t", &save)));
			} else if (!strcmp(op, "u64")) {
				uint64_t v = num(strtok_r(NULL, " \t", &save));

				a = strtok_r(NULL, " \t", &save);
				if (a)
					put_u64(cur, type, v, num(a));
				else
					mnl_attr_put_u64(cur, type, v);
			} else if (!strcmp(op, "str") || !strcmp(op, "strn")) {
				n = unescape(rest, text, sizeof(text) - 1);
				if (!strcmp(op, "str"))
					text[n++] = '\0';
				mnl_attr_put(cur, type, n, text);
			} else if (!strcmp(op, "bin")) {
				a = strtok_r(NULL, " \t", &save);
				for (n = 0; a && a[2 * n] && a[2 * n + 1]; n++) {
					char hex[3] = { a[2 * n], a[2 * n + 1], 0 };

					text[n] = (char)strtol(hex, NULL, 16);
				}
				mnl_attr_put(cur, type, n, text);
			} else if (!strcmp(op, "ip")) {
				unsigned char addr[16];

				a = strtok_r(NULL, " \t", &save);
				if (a && inet_pton(AF_INET, a, addr) == 1)
					mnl_attr_put(cur, type, 4, addr);
				else if (a && inet_pton(AF_INET6, a, addr) == 1)
					mnl_attr_put(cur, type, 16, addr);
				else
					die("bad address '%s'", a ? a : "");
			} else {
				fprintf(stderr, "mkreply: line %u: ", lineno);
				die("unknown directive '%s'", op);
			}
		}
	}
	flush();
}

/* ------------------------------------------------------------ decode */

static enum set cmd_set(uint8_t cmd)
{
	switch (cmd) {
	case KMQTTD_CMD_STATS_GET:	return S_STATS;
	case KMQTTD_CMD_LISTENER_GET:
	case KMQTTD_CMD_LISTENER_ADD:
	case KMQTTD_CMD_LISTENER_DEL:	return S_LISTENER;
	case KMQTTD_CMD_CLIENT_GET:
	case KMQTTD_CMD_CLIENT_KICK:	return S_CLIENT;
	case KMQTTD_CMD_SUB_GET:	return S_SUB;
	case KMQTTD_CMD_RETAIN_GET:
	case KMQTTD_CMD_RETAIN_DEL:	return S_RETAIN;
	case KMQTTD_CMD_SETTINGS_GET:
	case KMQTTD_CMD_SETTINGS_SET:	return S_SET;
	case KMQTTD_CMD_USER_GET:
	case KMQTTD_CMD_USER_ADD:
	case KMQTTD_CMD_USER_DEL:
	case KMQTTD_CMD_USER_CLEAR:	return S_USER;
	case KMQTTD_CMD_ACL_GET:
	case KMQTTD_CMD_ACL_ADD:
	case KMQTTD_CMD_ACL_DEL:
	case KMQTTD_CMD_ACL_CLEAR:	return S_ACL;
	}
	return S_NONE;
}

static const char *cname(long long v, enum set set)
{
	static char buf[32];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cnames); i++)
		if (cnames[i].set == set && cnames[i].value == v)
			return cnames[i].name;
	snprintf(buf, sizeof(buf), "%lld", v);
	return buf;
}

static void decode_attr(const struct nlattr *a, enum set set)
{
	const unsigned char *p = mnl_attr_get_payload(a);
	size_t len = mnl_attr_get_payload_len(a), i;
	bool str = len > 1 && !p[len - 1];

	for (i = 0; str && i + 1 < len; i++)
		if (p[i] < 0x20 || p[i] >= 0x7f)
			str = false;
	printf("  %s", cname(mnl_attr_get_type(a), set));
	if (str) {
		printf(" str %s\n", (const char *)p);
		return;
	}
	switch (len) {
	case 1:
		printf(" u8 %u\n", p[0]);
		return;
	case 2:
		printf(" u16 %u\n", mnl_attr_get_u16(a));
		return;
	case 4:
		printf(" u32 %u\n", mnl_attr_get_u32(a));
		return;
	case 8:
		printf(" u64 %" PRIu64 "\n", mnl_attr_get_u64(a));
		return;
	}
	printf(" bin ");
	for (i = 0; i < len; i++)
		printf("%02x", p[i]);
	printf("\n");
}

static int decode(const char *path)
{
	FILE *f = fopen(path, "rb");
	size_t len, off = 0;

	if (!f) {
		perror(path);
		return 1;
	}
	len = fread(out.buf, 1, sizeof(out.buf), f);
	fclose(f);
	while (off + sizeof(struct nlmsghdr) <= len) {
		const struct nlmsghdr *nlh = (const void *)(out.buf + off);
		const struct genlmsghdr *g = mnl_nlmsg_get_payload(nlh);
		const struct nlattr *a;

		if (nlh->nlmsg_len < sizeof(*nlh) + sizeof(*g) ||
		    nlh->nlmsg_len > len - off)
			return 1;
		printf("%s%s\n", cname(g->cmd, S_CMD),
		       nlh->nlmsg_flags & NLM_F_DUMP ? " dump" : "");
		mnl_attr_for_each(a, nlh, sizeof(*g))
			decode_attr(a, cmd_set(g->cmd));
		off += MNL_ALIGN(nlh->nlmsg_len);
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "stats")) {
		stats();
	} else if (argc == 2 && !strcmp(argv[1], "empty")) {
		genl_msg(KMQTTD_CMD_STATS_GET, 0);
		flush();
		ack();
	} else if (argc == 2 && !strcmp(argv[1], "malformed")) {
		malformed();
	} else if ((argc == 3 || argc == 4) && !strcmp(argv[1], "error")) {
		error(atoi(argv[2]), argc == 4 ? argv[3] : NULL, -1, false, 0, 0);
	} else if (argc == 2 && !strcmp(argv[1], "script")) {
		script();
	} else if (argc == 3 && !strcmp(argv[1], "decode")) {
		return decode(argv[2]);
	} else {
		fprintf(stderr, "usage: mkreply stats|empty|malformed|script|"
			"error ERRNO [MSG]|decode FILE\n");
		return 2;
	}
	flush();
	return fflush(stdout) ? 1 : 0;
}
