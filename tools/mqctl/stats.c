// SPDX-License-Identifier: GPL-2.0
/*
 * stats.c - "mqctl stats": broker-wide counters (KMQTTD_CMD_STATS_GET).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <linux/kmqttd.h>

#include "json.h"
#include "mqctl.h"
#include "names.h"

enum stat_group {
	G_CONNS,
	G_MSGS,
	G_PKTS,
	G_BYTES,
	G_SUBS,
	G_SESSIONS,
	G_RETAINED,
	G_MEMORY,
	G_QOS3,
	G_LIVE,
	G_UPTIME,
};

static const char *const group_titles[] = {
	[G_CONNS]	= "connections",
	[G_MSGS]	= "messages (PUBLISH)",
	[G_PKTS]	= "packets (all types)",
	[G_BYTES]	= "bytes",
	[G_SUBS]	= "subscriptions",
	[G_SESSIONS]	= "sessions",
	[G_RETAINED]	= "retained messages",
	[G_MEMORY]	= "memory",
	[G_QOS3]	= "QoS 3 requests",
	[G_LIVE]	= "live objects",
	[G_UPTIME]	= "uptime",
};

/* In JSON key order; the text output goes group by group. */
static const struct stat_field {
	unsigned int attr;
	const char *key;	/* JSON key (inside "live" for G_LIVE) */
	const char *label;	/* text label */
	enum stat_group group;
} stat_fields[] = {
	{ KMQTTD_A_STATS_CONNS_CURRENT,	"conns_current", "current",  G_CONNS },
	{ KMQTTD_A_STATS_CONNS_TOTAL,	"conns_total",	 "total",    G_CONNS },
	{ KMQTTD_A_STATS_CONNS_MAX,	"conns_max",	 "max",      G_CONNS },
	{ KMQTTD_A_STATS_MSGS_IN,	"msgs_in",	 "in",       G_MSGS },
	{ KMQTTD_A_STATS_MSGS_OUT,	"msgs_out",	 "out",      G_MSGS },
	{ KMQTTD_A_STATS_BYTES_IN,	"bytes_in",	 "in",       G_BYTES },
	{ KMQTTD_A_STATS_BYTES_OUT,	"bytes_out",	 "out",      G_BYTES },
	{ KMQTTD_A_STATS_PKTS_IN,	"pkts_in",	 "in",       G_PKTS },
	{ KMQTTD_A_STATS_PKTS_OUT,	"pkts_out",	 "out",      G_PKTS },
	{ KMQTTD_A_STATS_MSGS_DROPPED,	"msgs_dropped",	 "dropped",  G_MSGS },
	{ KMQTTD_A_STATS_PUBLISH_HOLDS,	"publish_holds", "publishers held", G_MSGS },
	{ KMQTTD_A_STATS_SUBS_CURRENT,	"subs_current",	 "current",  G_SUBS },
	{ KMQTTD_A_STATS_SESSIONS_CURRENT, "sessions_current", "current", G_SESSIONS },
	{ KMQTTD_A_STATS_RETAINED_CURRENT, "retained_current", "current", G_RETAINED },
	{ KMQTTD_A_STATS_RETAINED_BYTES, "retained_bytes", "bytes",   G_RETAINED },
	{ KMQTTD_A_STATS_MEM_MSG_BYTES,	"mem_msg_bytes", "message bytes", G_MEMORY },
	{ KMQTTD_A_STATS_MEM_USED,	"mem_used",	 "accounted", G_MEMORY },
	{ KMQTTD_A_STATS_QOS3_REQUESTED, "qos3_requested", "requested", G_QOS3 },
	{ KMQTTD_A_STATS_QOS3_CONFIRMED, "qos3_confirmed", "confirmed", G_QOS3 },
	{ KMQTTD_A_STATS_QOS3_TIMED_OUT, "qos3_timed_out", "timed out", G_QOS3 },
	{ KMQTTD_A_STATS_QOS3_UNREACHABLE, "qos3_unreachable", "unreachable", G_QOS3 },
	{ KMQTTD_A_STATS_QOS3_REFUSED,	"qos3_refused",	 "refused",  G_QOS3 },
	{ KMQTTD_A_STATS_QOS3_PENDING,	"qos3_pending",	 "pending",  G_QOS3 },
	{ KMQTTD_A_STATS_UPTIME,	"uptime",	 "seconds",  G_UPTIME },
	{ KMQTTD_A_STATS_LIVE_CONNS,	"conns",	 "conns",    G_LIVE },
	{ KMQTTD_A_STATS_LIVE_SESSIONS,	"sessions",	 "sessions", G_LIVE },
	{ KMQTTD_A_STATS_LIVE_MSGS,	"msgs",		 "msgs",     G_LIVE },
	{ KMQTTD_A_STATS_LIVE_SUBS,	"subs",		 "subs",     G_LIVE },
	{ KMQTTD_A_STATS_LIVE_NODES,	"nodes",	 "nodes",    G_LIVE },
	{ KMQTTD_A_STATS_LIVE_TXITEMS,	"txitems",	 "txitems",  G_LIVE },
	{ KMQTTD_A_STATS_LIVE_DELIVERIES, "deliveries",	 "deliveries", G_LIVE },
};

struct stats {
	uint64_t val[KMQTTD_A_STATS_MAX + 1];
	uint64_t refusals[KMQTTD_REFUSAL_MAX + 1];
	bool bad_reply;		/* a diagnostic was printed */
};

#define LABEL_W	20
#define VALUE_W	20

/* Counters are u64; accept u32 too so the kernel may shrink them later. */
static int get_uint(const struct nlattr *attr, uint64_t *v)
{
	switch (mnl_attr_get_payload_len(attr)) {
	case sizeof(uint64_t):
		*v = mnl_attr_get_u64(attr);
		return 0;
	case sizeof(uint32_t):
		*v = mnl_attr_get_u32(attr);
		return 0;
	}
	return -1;
}

static int bad_attr(struct stats *s, const char *where,
		    const struct nlattr *attr)
{
	mq_err("stats: malformed reply: %s attribute %u has length %u",
	       where, mnl_attr_get_type(attr),
	       (unsigned int)mnl_attr_get_payload_len(attr));
	s->bad_reply = true;
	errno = EBADMSG;
	return MNL_CB_ERROR;
}

static int refusal_cb(const struct nlattr *attr, void *data)
{
	struct stats *s = data;
	unsigned int type = mnl_attr_get_type(attr);

	/*
	 * Type 0 (and, leniently, any empty attribute) is padding: the
	 * nest has no pad type of its own.  Unknown reasons come from a
	 * newer kernel and are ignored.
	 */
	if (!mnl_attr_get_payload_len(attr))
		return MNL_CB_OK;
	if (type > KMQTTD_REFUSAL_MAX || !refusal_name(type))
		return MNL_CB_OK;
	if (get_uint(attr, &s->refusals[type]))
		return bad_attr(s, "refusal", attr);
	return MNL_CB_OK;
}

static int stats_attr_cb(const struct nlattr *attr, void *data)
{
	struct stats *s = data;
	unsigned int type = mnl_attr_get_type(attr);

	switch (type) {
	case KMQTTD_A_STATS_PAD:
		return MNL_CB_OK;
	case KMQTTD_A_STATS_REFUSALS:
		memset(s->refusals, 0, sizeof(s->refusals));
		if (mnl_attr_parse_nested(attr, refusal_cb, s) < 0 &&
		    !s->bad_reply)
			return bad_attr(s, "refusals nest, inner", attr);
		return s->bad_reply ? MNL_CB_ERROR : MNL_CB_OK;
	}
	if (type > KMQTTD_A_STATS_MAX)
		return MNL_CB_OK;		/* newer kernel: ignore */
	if (get_uint(attr, &s->val[type]))
		return bad_attr(s, "stats", attr);
	return MNL_CB_OK;
}

static int stats_cb(const struct nlmsghdr *nlh, void *data)
{
	struct stats *s = data;

	if (mnl_nlmsg_get_payload_len(nlh) < NL_GENL_HDRLEN) {
		mq_err("stats: malformed reply: message too short");
		s->bad_reply = true;
		errno = EBADMSG;
		return MNL_CB_ERROR;
	}
	if (mnl_attr_parse(nlh, NL_GENL_HDRLEN, stats_attr_cb, s) < 0) {
		if (!s->bad_reply) {
			mq_err("stats: malformed reply: bad attribute layout");
			s->bad_reply = true;
		}
		errno = EBADMSG;
		return MNL_CB_ERROR;
	}
	return MNL_CB_OK;
}

static void print_json(const struct stats *s)
{
	struct json j;
	size_t i;
	unsigned int r;

	json_init(&j, stdout);
	json_obj_open(&j);
	for (i = 0; i < ARRAY_SIZE(stat_fields); i++)
		if (stat_fields[i].group != G_LIVE)
			json_kv_u64(&j, stat_fields[i].key,
				    s->val[stat_fields[i].attr]);

	json_key(&j, "live");
	json_obj_open(&j);
	for (i = 0; i < ARRAY_SIZE(stat_fields); i++)
		if (stat_fields[i].group == G_LIVE)
			json_kv_u64(&j, stat_fields[i].key,
				    s->val[stat_fields[i].attr]);
	json_obj_close(&j);

	json_key(&j, "refusals");
	json_obj_open(&j);
	for (r = 1; r <= KMQTTD_REFUSAL_MAX; r++)
		if (refusal_name(r))
			json_kv_u64(&j, refusal_name(r), s->refusals[r]);
	json_obj_close(&j);

	json_obj_close(&j);
	json_end(&j);
}

static void row(const char *label, uint64_t v)
{
	printf("  %-*s %*" PRIu64 "\n", LABEL_W, label, VALUE_W, v);
}

static void print_uptime(uint64_t secs)
{
	char buf[64];
	uint64_t d = secs / 86400, h = secs / 3600 % 24;
	uint64_t m = secs / 60 % 60, sec = secs % 60;

	if (d)
		snprintf(buf, sizeof(buf), "%" PRIu64 "d %02" PRIu64 ":%02"
			 PRIu64 ":%02" PRIu64, d, h, m, sec);
	else
		snprintf(buf, sizeof(buf), "%02" PRIu64 ":%02" PRIu64 ":%02"
			 PRIu64, h, m, sec);
	printf("  %-*s %*s\n", LABEL_W, "elapsed", VALUE_W, buf);
}

static void print_group(const struct stats *s, enum stat_group g)
{
	size_t i;

	printf("%s\n", group_titles[g]);
	for (i = 0; i < ARRAY_SIZE(stat_fields); i++)
		if (stat_fields[i].group == g)
			row(stat_fields[i].label, s->val[stat_fields[i].attr]);
}

static void print_text(const struct stats *s, bool all)
{
	unsigned int r, shown = 0;

	print_group(s, G_CONNS);
	print_group(s, G_MSGS);
	print_group(s, G_PKTS);
	print_group(s, G_BYTES);
	print_group(s, G_SUBS);
	print_group(s, G_SESSIONS);
	print_group(s, G_RETAINED);
	print_group(s, G_MEMORY);
	print_group(s, G_QOS3);

	printf("refusals%s\n", all ? "" : " (non-zero)");
	for (r = 1; r <= KMQTTD_REFUSAL_MAX; r++) {
		if (!refusal_name(r) || (!all && !s->refusals[r]))
			continue;
		row(refusal_name(r), s->refusals[r]);
		shown++;
	}
	if (!shown)
		printf("  none\n");

	print_group(s, G_LIVE);
	print_group(s, G_UPTIME);
	print_uptime(s->val[KMQTTD_A_STATS_UPTIME]);
}

static void stats_usage(FILE *f)
{
	fprintf(f,
		"Usage: mqctl stats [-j|--json] [-a|--all]\n"
		"\n"
		"Show the counters of kmqttd in the current network namespace\n"
		"(the live objects are module-wide).\n"
		"\n"
		"  -j, --json   print one JSON object\n"
		"  -a, --all    list every refusal reason, also those at zero\n"
		"  -h, --help   show this help\n");
}

int cmd_stats(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json",	no_argument,	NULL, 'j' },
		{ "all",	no_argument,	NULL, 'a' },
		{ "help",	no_argument,	NULL, 'h' },
		{ NULL,		0,		NULL, 0 },
	};
	static struct stats s;
	struct nlmsghdr *nlh;
	struct nl nl;
	bool all = false;
	int opt, err, ret;

	opterr = 0;
	optopt = 0;
	while ((opt = getopt_long(argc, argv, ":jah", opts, NULL)) != -1) {
		switch (opt) {
		case 'j':
			mq_opts.json = true;
			break;
		case 'a':
			all = true;
			break;
		case 'h':
			stats_usage(stdout);
			return MQ_EXIT_OK;
		default:
			return mq_bad_option("stats", argv, opt);
		}
	}
	if (optind < argc)
		return mq_extra_arg("stats", argv[optind]);

	ret = mq_connect(&nl);
	if (ret)
		return ret;

	memset(&s, 0, sizeof(s));
	nlh = nl_msg(&nl, KMQTTD_CMD_STATS_GET, 0);
	err = nl_exec(&nl, nlh, stats_cb, &s, NULL);
	if (err) {
		ret = s.bad_reply ? MQ_EXIT_ERROR : mq_nl_fail(&nl, "stats", err);
		nl_close(&nl);
		return ret;
	}
	nl_close(&nl);

	if (mq_opts.json)
		print_json(&s);
	else
		print_text(&s, all);
	return MQ_EXIT_OK;
}
