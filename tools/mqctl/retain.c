// SPDX-License-Identifier: GPL-2.0
/*
 * retain.c - "mqctl retain list|del": the retained messages of the
 * caller's network namespace (KMQTTD_CMD_RETAIN_*).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <linux/kmqttd.h>

#include "mqctl.h"

static const enum mq_atype retain_policy[KMQTTD_A_RETAIN_MAX + 1] = {
	[KMQTTD_A_RETAIN_TOPIC]		= MQ_A_STR,
	[KMQTTD_A_RETAIN_FILTER]	= MQ_A_STR,
	[KMQTTD_A_RETAIN_QOS]		= MQ_A_UINT,
	[KMQTTD_A_RETAIN_PAYLOAD_LEN]	= MQ_A_UINT,
	[KMQTTD_A_RETAIN_PAYLOAD]	= MQ_A_BIN,
	[KMQTTD_A_RETAIN_COUNT]		= MQ_A_UINT,
	[KMQTTD_A_RETAIN_TRUNCATED]	= MQ_A_BIN,
};

#define PREVIEW		40	/* payload bytes shown in a table row */

struct ret_out {
	struct json j;
	const char *what;
	unsigned long n;
	bool header;
	bool list;		/* print the messages */
	bool have_count;
	uint64_t count;
};

static void json_base64(struct json *j, const unsigned char *p, size_t len)
{
	static const char b64[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *buf = malloc((len + 2) / 3 * 4 + 1);
	size_t i, k = 0;

	if (!buf) {
		json_null(j);
		return;
	}
	for (i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16;

		if (i + 1 < len)
			v |= p[i + 1] << 8;
		if (i + 2 < len)
			v |= p[i + 2];
		buf[k++] = b64[v >> 18 & 63];
		buf[k++] = b64[v >> 12 & 63];
		buf[k++] = i + 1 < len ? b64[v >> 6 & 63] : '=';
		buf[k++] = i + 2 < len ? b64[v & 63] : '=';
	}
	json_strn(j, buf, k);
	free(buf);
}

#define RET_HEADER	"%-30s %3s %8s %s\n", "TOPIC", "QOS", "LENGTH", "PAYLOAD"

static int ret_cb(const struct nlmsghdr *nlh, void *data)
{
	struct ret_out *o = data;
	const struct nlattr *tb[KMQTTD_A_RETAIN_MAX + 1];
	const struct nlattr *topic, *pl;
	uint64_t plen;
	size_t got;

	if (mq_parse(nlh, retain_policy, KMQTTD_A_RETAIN_MAX, tb, o->what) < 0)
		return MNL_CB_ERROR;
	if (tb[KMQTTD_A_RETAIN_COUNT]) {
		o->have_count = true;
		o->count = mq_uint(tb[KMQTTD_A_RETAIN_COUNT], 0);
	}
	topic = tb[KMQTTD_A_RETAIN_TOPIC];
	if (!topic || !o->list)
		return MNL_CB_OK;
	o->n++;
	pl = tb[KMQTTD_A_RETAIN_PAYLOAD];
	got = pl ? mnl_attr_get_payload_len(pl) : 0;
	plen = mq_uint(tb[KMQTTD_A_RETAIN_PAYLOAD_LEN], got);

	if (mq_opts.json) {
		json_obj_open(&o->j);
		mq_json_str_attr(&o->j, "topic", topic);
		json_kv_u64(&o->j, "qos", mq_uint(tb[KMQTTD_A_RETAIN_QOS], 0));
		json_kv_u64(&o->j, "payload_len", plen);
		json_key(&o->j, "payload");
		json_strn(&o->j, pl ? mnl_attr_get_payload(pl) : "", got);
		json_key(&o->j, "payload_base64");
		json_base64(&o->j, pl ? mnl_attr_get_payload(pl) : NULL, got);
		json_kv_bool(&o->j, "truncated", plen > got);
		json_kv_bool(&o->j, "topic_truncated",
			     !!tb[KMQTTD_A_RETAIN_TRUNCATED]);
		json_obj_close(&o->j);
		return MNL_CB_OK;
	}
	if (o->header) {
		printf(RET_HEADER);
		o->header = false;
	}
	mq_print_text(stdout, mnl_attr_get_payload(topic), mq_strlen(topic),
		      false, 30);
	printf(" %3" PRIu64 " %8" PRIu64 " ",
	       mq_uint(tb[KMQTTD_A_RETAIN_QOS], 0), plen);
	mq_print_text(stdout, pl ? mnl_attr_get_payload(pl) : "",
		      got > PREVIEW ? PREVIEW : got, false, 0);
	if (plen > PREVIEW)
		printf("...");
	putchar('\n');
	return MNL_CB_OK;
}

static void retain_usage(FILE *f)
{
	fprintf(f,
		"Usage: mqctl retain [list] [FILTER]\n"
		"       mqctl retain del { TOPIC | --filter FILTER }\n"
		"\n"
		"List or delete the retained messages of the current network namespace.\n"
		"FILTER is an MQTT topic filter ('#' and '+' wildcards allowed); list\n"
		"without FILTER shows every retained message.  del TOPIC deletes the\n"
		"message of exactly that topic; del --filter every matching one.\n"
		"\n"
		"  -f, --filter FILTER   (del) delete every message matching FILTER\n"
		"  -j, --json            print JSON (list: an array; payload as text and\n"
		"                        base64, at most the first 1024 bytes)\n"
		"  -h, --help            show this help\n");
}

static int retain_list(int argc, char **argv)
{
	struct ret_out o = { .what = "retain list", .header = true,
			     .list = true };
	const char *filter = NULL;
	struct nlmsghdr *nlh;
	struct nl nl;
	int ret, err;

	ret = mq_parse_opts("retain list", argc, argv, NULL, retain_usage,
			    NULL, NULL);
	if (ret >= 0)
		return ret;
	if (optind < argc)
		filter = argv[optind++];
	if (optind < argc)
		return mq_extra_arg("retain list", argv[optind]);
	if (filter && !filter[0])
		return mq_usage_err("retain list", "empty FILTER");

	ret = mq_connect(&nl);
	if (ret)
		return ret;
	nlh = nl_msg(&nl, KMQTTD_CMD_RETAIN_GET, NLM_F_DUMP);
	if (filter)
		mnl_attr_put_strz(nlh, KMQTTD_A_RETAIN_FILTER, filter);
	if (mq_opts.json) {
		json_init(&o.j, stdout);
		json_arr_open(&o.j);
	}
	err = nl_exec(&nl, nlh, ret_cb, &o, NL_STREAM);
	if (mq_opts.json) {
		json_arr_close(&o.j);
		json_end(&o.j);
	} else if (o.header && !err) {
		printf(RET_HEADER);
	}
	if (err)
		ret = mq_reported ? MQ_EXIT_ERROR :
			mq_nl_fail(&nl, "retain list", err);
	mq_warn_intr(&nl, "retain list");
	nl_close(&nl);
	return ret;
}

static int filter_opt(int opt, const char *arg, void *data)
{
	if (opt == 'f')
		*(const char **)data = arg;
	return 0;
}

static int retain_del(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "filter",	required_argument,	NULL, 'f' },
		{ NULL,		0,			NULL, 0 },
	};
	struct ret_out o = { .what = "retain del" };
	const char *filter = NULL, *topic = NULL;
	struct nlmsghdr *nlh;
	struct nl nl;
	int ret, err;

	ret = mq_parse_opts("retain del", argc, argv, opts, retain_usage,
			    filter_opt, &filter);
	if (ret >= 0)
		return ret;
	if (optind < argc)
		topic = argv[optind++];
	if (optind < argc)
		return mq_extra_arg("retain del", argv[optind]);
	if (!topic == !filter)
		return mq_usage_err("retain del",
				    "give either a TOPIC or --filter FILTER");
	if ((topic && !topic[0]) || (filter && !filter[0]))
		return mq_usage_err("retain del", "empty topic or filter");
	if (topic && strpbrk(topic, "+#"))
		return mq_usage_err("retain del", "'%s' has wildcards: use "
				    "--filter '%s' to delete every match",
				    topic, topic);

	ret = mq_connect(&nl);
	if (ret)
		return ret;
	nlh = nl_msg(&nl, KMQTTD_CMD_RETAIN_DEL, 0);
	if (topic)
		mnl_attr_put_strz(nlh, KMQTTD_A_RETAIN_TOPIC, topic);
	else
		mnl_attr_put_strz(nlh, KMQTTD_A_RETAIN_FILTER, filter);
	err = nl_exec(&nl, nlh, ret_cb, &o, NULL);
	if (err) {
		ret = mq_reported ? MQ_EXIT_ERROR :
			mq_nl_failf(&nl, err, "retain del '%s'",
				    topic ? topic : filter);
	} else if (mq_opts.json) {
		json_init(&o.j, stdout);
		json_obj_open(&o.j);
		json_key(&o.j, "deleted");
		if (o.have_count)
			json_u64(&o.j, o.count);
		else
			json_null(&o.j);
		json_obj_close(&o.j);
		json_end(&o.j);
	} else if (o.have_count) {
		printf("deleted %" PRIu64 " retained message%s\n", o.count,
		       o.count == 1 ? "" : "s");
	}
	nl_close(&nl);
	return ret;
}

int cmd_retain(int argc, char **argv)
{
	static const struct mq_subcmd subs[] = {
		{ { "list", "ls", "show" },		retain_list },
		{ { "del", "delete", "remove", "rm" },	retain_del },
	};

	return mq_run_subcmd("retain", subs, ARRAY_SIZE(subs), retain_list,
			     retain_usage, argc, argv);
}
