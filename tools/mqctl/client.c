// SPDX-License-Identifier: GPL-2.0
/*
 * client.c - "mqctl client list|show|kick": the sessions of the caller's
 * network namespace, connected or not (KMQTTD_CMD_CLIENT_*).
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <time.h>
#include <linux/kmqttd.h>

#include "mqctl.h"

static const enum mq_atype client_policy[KMQTTD_A_CLIENT_MAX + 1] = {
	[KMQTTD_A_CLIENT_PAD]			= MQ_A_PAD,
	[KMQTTD_A_CLIENT_CLIENT_ID]		= MQ_A_STR,
	[KMQTTD_A_CLIENT_FAMILY]		= MQ_A_UINT,
	[KMQTTD_A_CLIENT_ADDR]			= MQ_A_BIN,
	[KMQTTD_A_CLIENT_PORT]			= MQ_A_UINT,
	[KMQTTD_A_CLIENT_USERNAME]		= MQ_A_STR,
	[KMQTTD_A_CLIENT_CONNECTED]		= MQ_A_UINT,
	[KMQTTD_A_CLIENT_CONNECTED_SINCE]	= MQ_A_UINT,
	[KMQTTD_A_CLIENT_KEEPALIVE]		= MQ_A_UINT,
	[KMQTTD_A_CLIENT_CLEAN]			= MQ_A_UINT,
	[KMQTTD_A_CLIENT_INFLIGHT]		= MQ_A_UINT,
	[KMQTTD_A_CLIENT_QUEUED]		= MQ_A_UINT,
	[KMQTTD_A_CLIENT_SUBS]			= MQ_A_UINT,
	[KMQTTD_A_CLIENT_MSGS_IN]		= MQ_A_UINT,
	[KMQTTD_A_CLIENT_MSGS_OUT]		= MQ_A_UINT,
	[KMQTTD_A_CLIENT_BYTES_IN]		= MQ_A_UINT,
	[KMQTTD_A_CLIENT_TRUNCATED]		= MQ_A_BIN,
	[KMQTTD_A_CLIENT_BYTES_OUT]		= MQ_A_UINT,
};

/* The plain counters, in JSON order. */
static const struct {
	unsigned int attr;
	const char *key;
} client_counters[] = {
	{ KMQTTD_A_CLIENT_KEEPALIVE,	"keepalive" },
	{ KMQTTD_A_CLIENT_INFLIGHT,	"inflight" },
	{ KMQTTD_A_CLIENT_QUEUED,	"queued" },
	{ KMQTTD_A_CLIENT_SUBS,		"subs" },
	{ KMQTTD_A_CLIENT_MSGS_IN,	"msgs_in" },
	{ KMQTTD_A_CLIENT_MSGS_OUT,	"msgs_out" },
	{ KMQTTD_A_CLIENT_BYTES_IN,	"bytes_in" },
	{ KMQTTD_A_CLIENT_BYTES_OUT,	"bytes_out" },
};

enum client_view { V_LIST, V_SHOW };

struct cl_out {
	struct json j;
	enum client_view view;
	const char *what;
	unsigned long n;
	bool header;
};

#define V(a)	mq_uint(tb[KMQTTD_A_CLIENT_##a], 0)

/* Peer address; false (and "-") when offline or unknown. */
static bool cl_addr(const struct nlattr **tb, char *ip, char *full)
{
	const struct nlattr *a = tb[KMQTTD_A_CLIENT_ADDR];

	if (!a || !tb[KMQTTD_A_CLIENT_FAMILY]) {
		strcpy(ip, "-");
		strcpy(full, "-");
		return false;
	}
	return mq_fmt_addr(V(FAMILY), mnl_attr_get_payload(a),
			   mnl_attr_get_payload_len(a), V(PORT), ip, full);
}

static void cl_json(struct cl_out *o, const struct nlattr **tb)
{
	char ip[MQ_ADDR_LEN], full[MQ_ADDR_LEN];
	bool has_addr = cl_addr(tb, ip, full);
	size_t i;

	json_obj_open(&o->j);
	mq_json_str_attr(&o->j, "client_id", tb[KMQTTD_A_CLIENT_CLIENT_ID]);
	json_kv_bool(&o->j, "connected", V(CONNECTED));
	json_key(&o->j, "family");
	json_str(&o->j, has_addr ? mq_family_name(V(FAMILY)) : NULL);
	json_key(&o->j, "address");
	json_str(&o->j, has_addr ? ip : NULL);
	json_key(&o->j, "port");
	if (has_addr)
		json_u64(&o->j, V(PORT));
	else
		json_null(&o->j);
	mq_json_str_attr(&o->j, "username", tb[KMQTTD_A_CLIENT_USERNAME]);
	json_key(&o->j, "connected_since");
	if (tb[KMQTTD_A_CLIENT_CONNECTED_SINCE])
		json_u64(&o->j, V(CONNECTED_SINCE));
	else
		json_null(&o->j);
	json_kv_bool(&o->j, "clean", V(CLEAN));
	for (i = 0; i < ARRAY_SIZE(client_counters); i++)
		json_kv_u64(&o->j, client_counters[i].key,
			    mq_uint(tb[client_counters[i].attr], 0));
	json_kv_bool(&o->j, "truncated", !!tb[KMQTTD_A_CLIENT_TRUNCATED]);
	json_obj_close(&o->j);
}

static void print_id(const struct nlattr **tb, size_t width)
{
	const struct nlattr *id = tb[KMQTTD_A_CLIENT_CLIENT_ID];

	if (id)
		mq_print_text(stdout, mnl_attr_get_payload(id), mq_strlen(id),
			      false, width);
	else
		mq_print_text(stdout, "?", 1, false, width);
}

#define CL_HEADER "%-23s %-9s %-22s %9s %5s %5s %8s %6s %9s %9s\n", \
	"CLIENT_ID", "STATE", "ADDRESS", "KEEPALIVE", "CLEAN", "SUBS", \
	"INFLIGHT", "QUEUED", "MSGS_IN", "MSGS_OUT"

static void cl_row(struct cl_out *o, const struct nlattr **tb)
{
	char ip[MQ_ADDR_LEN], full[MQ_ADDR_LEN];

	if (o->header) {
		printf(CL_HEADER);
		o->header = false;
	}
	cl_addr(tb, ip, full);
	print_id(tb, 23);
	printf(" %-9s %-22s %9" PRIu64 " %5s %5" PRIu64 " %8" PRIu64
	       " %6" PRIu64 " %9" PRIu64 " %9" PRIu64 "\n",
	       V(CONNECTED) ? "connected" : "offline", full, V(KEEPALIVE),
	       V(CLEAN) ? "yes" : "no", V(SUBS), V(INFLIGHT), V(QUEUED),
	       V(MSGS_IN), V(MSGS_OUT));
}

static void cl_show(const struct nlattr **tb)
{
	char ip[MQ_ADDR_LEN], full[MQ_ADDR_LEN];
	const struct nlattr *user = tb[KMQTTD_A_CLIENT_USERNAME];

	cl_addr(tb, ip, full);
	printf("%-16s ", "client_id:");
	print_id(tb, 0);
	if (tb[KMQTTD_A_CLIENT_TRUNCATED])
		printf(" (cut: longer than %d bytes)", MQ_STR_CUT);
	printf("\n%-16s %s", "state:", V(CONNECTED) ? "connected" : "offline");
	if (V(CONNECTED) && tb[KMQTTD_A_CLIENT_CONNECTED_SINCE]) {
		time_t since = V(CONNECTED_SINCE), now = time(NULL);
		char when[64], dur[48];
		struct tm tm;

		if (gmtime_r(&since, &tm) &&
		    strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm)) {
			mq_fmt_duration(dur, sizeof(dur),
					now > since ? now - since : 0);
			printf(" since %s (%s)", when, dur);
		}
	}
	printf("\n%-16s %s\n", "address:", full);
	printf("%-16s ", "username:");
	if (user)
		mq_print_text(stdout, mnl_attr_get_payload(user),
			      mq_strlen(user), false, 0);
	else
		printf("-");
	printf("\n%-16s %" PRIu64 " s\n", "keepalive:", V(KEEPALIVE));
	printf("%-16s %s\n", "clean_session:", V(CLEAN) ? "yes" : "no");
	printf("%-16s %" PRIu64 "\n", "subscriptions:", V(SUBS));
	printf("%-16s %" PRIu64 "\n", "inflight:", V(INFLIGHT));
	printf("%-16s %" PRIu64 "\n", "queued:", V(QUEUED));
	printf("%-16s in %" PRIu64 ", out %" PRIu64 "\n", "messages:",
	       V(MSGS_IN), V(MSGS_OUT));
	printf("%-16s in %" PRIu64 ", out %" PRIu64 "\n", "bytes:",
	       V(BYTES_IN), V(BYTES_OUT));
}

static int cl_cb(const struct nlmsghdr *nlh, void *data)
{
	struct cl_out *o = data;
	const struct nlattr *tb[KMQTTD_A_CLIENT_MAX + 1];

	if (mq_parse(nlh, client_policy, KMQTTD_A_CLIENT_MAX, tb, o->what) < 0)
		return MNL_CB_ERROR;
	if (!tb[KMQTTD_A_CLIENT_CLIENT_ID])
		return MNL_CB_OK;
	o->n++;
	if (mq_opts.json)
		cl_json(o, tb);
	else if (o->view == V_SHOW)
		cl_show(tb);
	else
		cl_row(o, tb);
	return MNL_CB_OK;
}

static void client_usage(FILE *f)
{
	fprintf(f,
		"Usage: mqctl client [list]\n"
		"       mqctl client show CLIENT_ID\n"
		"       mqctl client kick CLIENT_ID [--will] [--purge]\n"
		"\n"
		"List and manage the MQTT sessions of the current network namespace,\n"
		"connected or not.\n"
		"\n"
		"  kick       close the client's connection\n"
		"  --will     publish the client's Will message (default: discard it)\n"
		"  --purge    also delete its persistent session (subscriptions and\n"
		"             queued messages); works on an offline session too\n"
		"  -j, --json print JSON (list: an array of clients)\n"
		"  -h, --help show this help\n"
		"\n"
		"Exit status 5: no such client.\n");
}

static int client_list(int argc, char **argv)
{
	struct cl_out o = { .view = V_LIST, .what = "client list",
			    .header = true };
	struct nlmsghdr *nlh;
	struct nl nl;
	int ret, err;

	ret = mq_parse_opts("client list", argc, argv, NULL, client_usage,
			    NULL, NULL);
	if (ret >= 0)
		return ret;
	if (optind < argc)
		return mq_extra_arg("client list", argv[optind]);

	ret = mq_connect(&nl);
	if (ret)
		return ret;
	nlh = nl_msg(&nl, KMQTTD_CMD_CLIENT_GET, NLM_F_DUMP);
	if (mq_opts.json) {
		json_init(&o.j, stdout);
		json_arr_open(&o.j);
	}
	err = nl_exec(&nl, nlh, cl_cb, &o, NL_STREAM);
	if (mq_opts.json) {
		json_arr_close(&o.j);
		json_end(&o.j);
	} else if (o.header && !err) {
		printf(CL_HEADER);
	}
	if (err)
		ret = mq_reported ? MQ_EXIT_ERROR :
			mq_nl_fail(&nl, "client list", err);
	mq_warn_intr(&nl, "client list");
	nl_close(&nl);
	return ret;
}

static int client_fail(struct nl *nl, int err, const char *verb,
		       const char *id)
{
	int ret;

	if (mq_reported)
		return MQ_EXIT_ERROR;
	if (err == -ENOTCONN) {
		mq_err("client %s '%s': the client is offline (a persistent "
		       "session); add --purge to delete its session", verb, id);
		return MQ_EXIT_ERROR;
	}
	ret = mq_nl_failf(nl, err, "client %s '%s'", verb, id);
	if (err == -ENOENT)
		fprintf(stderr, "No session has this client id; see 'mqctl "
			"client list'.\n");
	return ret;
}

static const char *get_id(const char *cmd, int argc, char **argv, int *ret)
{
	*ret = MQ_EXIT_OK;
	if (optind >= argc) {
		*ret = mq_usage_err(cmd, "missing CLIENT_ID");
		return NULL;
	}
	if (optind + 1 < argc) {
		*ret = mq_extra_arg(cmd, argv[optind + 1]);
		return NULL;
	}
	if (!argv[optind][0]) {
		*ret = mq_usage_err(cmd, "empty CLIENT_ID");
		return NULL;
	}
	return argv[optind];
}

static int client_show(int argc, char **argv)
{
	struct cl_out o = { .view = V_SHOW, .what = "client show" };
	struct nlmsghdr *nlh;
	const char *id;
	struct nl nl;
	int ret, err;

	ret = mq_parse_opts("client show", argc, argv, NULL, client_usage,
			    NULL, NULL);
	if (ret >= 0)
		return ret;
	id = get_id("client show", argc, argv, &ret);
	if (!id)
		return ret;

	ret = mq_connect(&nl);
	if (ret)
		return ret;
	nlh = nl_msg(&nl, KMQTTD_CMD_CLIENT_GET, 0);
	mnl_attr_put_strz(nlh, KMQTTD_A_CLIENT_CLIENT_ID, id);
	if (mq_opts.json)
		json_init(&o.j, stdout);
	err = nl_exec(&nl, nlh, cl_cb, &o, NULL);
	if (err) {
		ret = client_fail(&nl, err, "show", id);
	} else if (!o.n) {
		mq_err("client show '%s': empty reply", id);
		ret = MQ_EXIT_ERROR;
	} else if (mq_opts.json) {
		json_end(&o.j);
	}
	nl_close(&nl);
	return ret;
}

struct kick_opts {
	bool will, purge;
};

static int kick_opt(int opt, const char *arg, void *data)
{
	struct kick_opts *k = data;

	(void)arg;
	if (opt == 'w')
		k->will = true;
	else if (opt == 'p')
		k->purge = true;
	return 0;
}

static int client_kick(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "will",	no_argument,	NULL, 'w' },
		{ "purge",	no_argument,	NULL, 'p' },
		{ NULL,		0,		NULL, 0 },
	};
	struct kick_opts k = { false, false };
	struct nlmsghdr *nlh;
	const char *id;
	struct json j;
	struct nl nl;
	int ret, err;

	ret = mq_parse_opts("client kick", argc, argv, opts, client_usage,
			    kick_opt, &k);
	if (ret >= 0)
		return ret;
	id = get_id("client kick", argc, argv, &ret);
	if (!id)
		return ret;

	ret = mq_connect(&nl);
	if (ret)
		return ret;
	nlh = nl_msg(&nl, KMQTTD_CMD_CLIENT_KICK, 0);
	mnl_attr_put_strz(nlh, KMQTTD_A_CLIENT_CLIENT_ID, id);
	mnl_attr_put_u8(nlh, KMQTTD_A_CLIENT_WILL, k.will);
	mnl_attr_put_u8(nlh, KMQTTD_A_CLIENT_PURGE, k.purge);
	err = nl_exec(&nl, nlh, NULL, NULL, NULL);
	if (err) {
		ret = client_fail(&nl, err, "kick", id);
	} else if (mq_opts.json) {
		json_init(&j, stdout);
		json_obj_open(&j);
		json_kv_str(&j, "client_id", id);
		json_kv_bool(&j, "will", k.will);
		json_kv_bool(&j, "purge", k.purge);
		json_obj_close(&j);
		json_end(&j);
	}
	nl_close(&nl);
	return ret;
}

int cmd_client(int argc, char **argv)
{
	static const struct mq_subcmd subs[] = {
		{ { "list", "ls" },		client_list },
		{ { "show", "get" },		client_show },
		{ { "kick", "disconnect" },	client_kick },
	};

	return mq_run_subcmd("client", subs, ARRAY_SIZE(subs), client_list,
			     client_usage, argc, argv);
}
