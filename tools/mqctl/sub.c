// SPDX-License-Identifier: GPL-2.0
/*
 * sub.c - "mqctl sub list": the subscriptions of the caller's network
 * namespace (KMQTTD_CMD_SUB_GET dump).
 */
#include <inttypes.h>
#include <linux/kmqttd.h>

#include "mqctl.h"

static const enum mq_atype sub_policy[KMQTTD_A_SUB_MAX + 1] = {
	[KMQTTD_A_SUB_CLIENT_ID]	= MQ_A_STR,
	[KMQTTD_A_SUB_FILTER]		= MQ_A_STR,
	[KMQTTD_A_SUB_QOS]		= MQ_A_UINT,
	[KMQTTD_A_SUB_TRUNCATED]	= MQ_A_BIN,
};

struct sub_out {
	struct json j;
	unsigned long n;
	bool header;
};

#define SUB_HEADER	"%-23s %3s %s\n", "CLIENT_ID", "QOS", "FILTER"

static void text(const struct nlattr *a, size_t width)
{
	if (a)
		mq_print_text(stdout, mnl_attr_get_payload(a), mq_strlen(a),
			      false, width);
	else
		mq_print_text(stdout, "?", 1, false, width);
}

static int sub_cb(const struct nlmsghdr *nlh, void *data)
{
	struct sub_out *o = data;
	const struct nlattr *tb[KMQTTD_A_SUB_MAX + 1];

	if (mq_parse(nlh, sub_policy, KMQTTD_A_SUB_MAX, tb, "sub list") < 0)
		return MNL_CB_ERROR;
	if (!tb[KMQTTD_A_SUB_FILTER])
		return MNL_CB_OK;
	o->n++;
	if (mq_opts.json) {
		json_obj_open(&o->j);
		mq_json_str_attr(&o->j, "client_id", tb[KMQTTD_A_SUB_CLIENT_ID]);
		mq_json_str_attr(&o->j, "filter", tb[KMQTTD_A_SUB_FILTER]);
		json_kv_u64(&o->j, "qos", mq_uint(tb[KMQTTD_A_SUB_QOS], 0));
		json_kv_bool(&o->j, "truncated", !!tb[KMQTTD_A_SUB_TRUNCATED]);
		json_obj_close(&o->j);
		return MNL_CB_OK;
	}
	if (o->header) {
		printf(SUB_HEADER);
		o->header = false;
	}
	text(tb[KMQTTD_A_SUB_CLIENT_ID], 23);
	printf(" %3" PRIu64 " ", mq_uint(tb[KMQTTD_A_SUB_QOS], 0));
	text(tb[KMQTTD_A_SUB_FILTER], 0);
	if (tb[KMQTTD_A_SUB_TRUNCATED])
		printf("...");
	putchar('\n');
	return MNL_CB_OK;
}

static void sub_usage(FILE *f)
{
	fprintf(f,
		"Usage: mqctl sub [list] [FILTER] [--client CLIENT_ID]\n"
		"\n"
		"List the subscriptions of the current network namespace: client id,\n"
		"granted QoS and topic filter.  FILTER selects the subscriptions whose\n"
		"filter is exactly FILTER (not the filters that match it); --client\n"
		"those of one client.\n"
		"\n"
		"  -c, --client ID   only the subscriptions of client ID\n"
		"  -j, --json        print a JSON array\n"
		"  -h, --help        show this help\n");
}

static int client_opt(int opt, const char *arg, void *data)
{
	if (opt == 'c')
		*(const char **)data = arg;
	return 0;
}

static int sub_list(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "client",	required_argument,	NULL, 'c' },
		{ NULL,		0,			NULL, 0 },
	};
	struct sub_out o = { .header = true };
	const char *client = NULL, *filter = NULL;
	struct nlmsghdr *nlh;
	struct nl nl;
	int ret, err;

	ret = mq_parse_opts("sub list", argc, argv, opts, sub_usage,
			    client_opt, &client);
	if (ret >= 0)
		return ret;
	if (optind < argc)
		filter = argv[optind++];
	if (optind < argc)
		return mq_extra_arg("sub list", argv[optind]);
	if (filter && !filter[0])
		return mq_usage_err("sub list", "empty FILTER");
	if (client && !client[0])
		return mq_usage_err("sub list", "empty CLIENT_ID");

	ret = mq_connect(&nl);
	if (ret)
		return ret;
	nlh = nl_msg(&nl, KMQTTD_CMD_SUB_GET, NLM_F_DUMP);
	if (client)
		mnl_attr_put_strz(nlh, KMQTTD_A_SUB_CLIENT_ID, client);
	if (filter)
		mnl_attr_put_strz(nlh, KMQTTD_A_SUB_FILTER, filter);
	if (mq_opts.json) {
		json_init(&o.j, stdout);
		json_arr_open(&o.j);
	}
	err = nl_exec(&nl, nlh, sub_cb, &o, NL_STREAM);
	if (mq_opts.json) {
		json_arr_close(&o.j);
		json_end(&o.j);
	} else if (o.header && !err) {
		printf(SUB_HEADER);
	}
	if (err)
		ret = mq_reported ? MQ_EXIT_ERROR :
			mq_nl_fail(&nl, "sub list", err);
	mq_warn_intr(&nl, "sub list");
	nl_close(&nl);
	return ret;
}

int cmd_sub(int argc, char **argv)
{
	static const struct mq_subcmd subs[] = {
		{ { "list", "ls", "show" },	sub_list },
	};

	return mq_run_subcmd("sub", subs, ARRAY_SIZE(subs), sub_list,
			     sub_usage, argc, argv);
}
