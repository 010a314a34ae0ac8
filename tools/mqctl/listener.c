// SPDX-License-Identifier: GPL-2.0
/*
 * listener.c - "mqctl listener add|del|list": the TCP listeners of the
 * caller's network namespace (KMQTTD_CMD_LISTENER_*).
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <linux/kmqttd.h>

#include "mqctl.h"

static const enum mq_atype listener_policy[KMQTTD_A_LISTENER_MAX + 1] = {
	[KMQTTD_A_LISTENER_ID]		= MQ_A_UINT,
	[KMQTTD_A_LISTENER_FAMILY]	= MQ_A_UINT,
	[KMQTTD_A_LISTENER_ADDR]	= MQ_A_BIN,
	[KMQTTD_A_LISTENER_PORT]	= MQ_A_UINT,
	[KMQTTD_A_LISTENER_CONNS]	= MQ_A_UINT,
	[KMQTTD_A_LISTENER_QOS3]	= MQ_A_UINT,
	[KMQTTD_A_LISTENER_ANONYMOUS]	= MQ_A_UINT,
	[KMQTTD_A_LISTENER_MAX_CONNS]	= MQ_A_UINT,
};

/* A listener's anonymous access; NULL: the namespace's setting. */
static const char *anon_str(const struct nlattr *a)
{
	static const char *const names[] = {
		[KMQTTD_ANONYMOUS_OFF] = "off",
		[KMQTTD_ANONYMOUS_ON] = "on",
		[KMQTTD_ANONYMOUS_AUTO] = "auto",
	};
	uint64_t v;

	if (!a)
		return NULL;
	v = mq_uint(a, 0);
	return v < ARRAY_SIZE(names) ? names[v] : "?";
}

struct lst_out {
	struct json j;
	const char *what;
	unsigned long n;
	bool header;		/* text: print the header before a row */
	bool verb;		/* text: "added listener ..." */
};

static void lst_addr(const struct nlattr **tb, char *ip, char *full)
{
	const struct nlattr *a = tb[KMQTTD_A_LISTENER_ADDR];

	mq_fmt_addr(mq_uint(tb[KMQTTD_A_LISTENER_FAMILY], 0),
		    a ? mnl_attr_get_payload(a) : NULL,
		    a ? mnl_attr_get_payload_len(a) : 0,
		    mq_uint(tb[KMQTTD_A_LISTENER_PORT], 0), ip, full);
}

#define LST_HEADER	"%-6s %-30s %-8s %s\n", "ID", "ADDRESS", "CONNS", "MAX"

static void lst_print(struct lst_out *o, const struct nlattr **tb)
{
	unsigned int family = mq_uint(tb[KMQTTD_A_LISTENER_FAMILY], 0);
	char ip[MQ_ADDR_LEN], full[MQ_ADDR_LEN], max[24];

	lst_addr(tb, ip, full);
	if (mq_opts.json) {
		json_obj_open(&o->j);
		json_kv_u64(&o->j, "id", mq_uint(tb[KMQTTD_A_LISTENER_ID], 0));
		json_key(&o->j, "family");
		json_str(&o->j, mq_family_name(family));
		json_kv_str(&o->j, "address", ip);
		json_kv_u64(&o->j, "port",
			    mq_uint(tb[KMQTTD_A_LISTENER_PORT], 0));
		json_kv_u64(&o->j, "conns",
			    mq_uint(tb[KMQTTD_A_LISTENER_CONNS], 0));
		json_kv_bool(&o->j, "qos3",
			     mq_uint(tb[KMQTTD_A_LISTENER_QOS3], 0));
		json_key(&o->j, "anonymous");
		if (tb[KMQTTD_A_LISTENER_ANONYMOUS])
			json_str(&o->j, anon_str(tb[KMQTTD_A_LISTENER_ANONYMOUS]));
		else
			json_null(&o->j);
		json_kv_u64(&o->j, "max_conns",
			    mq_uint(tb[KMQTTD_A_LISTENER_MAX_CONNS], 0));
		json_obj_close(&o->j);
		return;
	}
	if (o->verb) {
		printf("%s listener %" PRIu64 " on %s\n", o->what,
		       mq_uint(tb[KMQTTD_A_LISTENER_ID], 0), full);
		return;
	}
	if (o->header) {
		printf(LST_HEADER);
		o->header = false;
	}
	if (mq_uint(tb[KMQTTD_A_LISTENER_MAX_CONNS], 0))
		snprintf(max, sizeof(max), "%" PRIu64,
			 mq_uint(tb[KMQTTD_A_LISTENER_MAX_CONNS], 0));
	else
		snprintf(max, sizeof(max), "-");
	printf("%-6" PRIu64 " %-30s %-8" PRIu64 " %s%s%s%s\n",
	       mq_uint(tb[KMQTTD_A_LISTENER_ID], 0), full,
	       mq_uint(tb[KMQTTD_A_LISTENER_CONNS], 0), max,
	       mq_uint(tb[KMQTTD_A_LISTENER_QOS3], 0) ? "  qos3" : "",
	       tb[KMQTTD_A_LISTENER_ANONYMOUS] ? "  anonymous " : "",
	       tb[KMQTTD_A_LISTENER_ANONYMOUS] ?
	       anon_str(tb[KMQTTD_A_LISTENER_ANONYMOUS]) : "");
}

static int lst_cb(const struct nlmsghdr *nlh, void *data)
{
	struct lst_out *o = data;
	const struct nlattr *tb[KMQTTD_A_LISTENER_MAX + 1];

	if (mq_parse(nlh, listener_policy, KMQTTD_A_LISTENER_MAX, tb,
		     o->what) < 0)
		return MNL_CB_ERROR;
	if (!tb[KMQTTD_A_LISTENER_ID] && !tb[KMQTTD_A_LISTENER_PORT])
		return MNL_CB_OK;		/* nothing to show */
	lst_print(o, tb);
	o->n++;
	return MNL_CB_OK;
}

static void listener_usage(FILE *f)
{
	fprintf(f,
		"Usage: mqctl listener [list]\n"
		"       mqctl listener add ADDR:PORT [qos3 on|off] [anonymous on|off|auto]\n"
		"                              [max_connections N]\n"
		"       mqctl listener del { ADDR:PORT | id ID }\n"
		"\n"
		"Manage the TCP listeners of kmqttd in the current network namespace.\n"
		"ADDR:PORT is an IPv4 address and port (0.0.0.0:8883, 127.0.0.1:1884)\n"
		"or an IPv6 address in brackets ([::]:8883, [::1]:1884).\n"
		"'qos3 on' accepts native QoS 3 PUBLISH there (Documentation/qos3.rst).\n"
		"'anonymous' overrides the allow_anonymous setting for its clients\n"
		"(see 'mqctl help set'); without it the setting applies.\n"
		"'max_connections N' caps the connections open through it (0: no cap\n"
		"of its own; the setting max_connections still applies).\n"
		"\n"
		"  -j, --json   print JSON (list: an array of listeners)\n"
		"  -h, --help   show this help\n"
		"\n"
		"Exit status 6: the address is in use; 5: no such listener.\n");
}

static int listener_list(int argc, char **argv)
{
	struct lst_out o = { .what = "listener list", .header = true };
	struct nlmsghdr *nlh;
	struct nl nl;
	int ret, err;

	ret = mq_parse_opts("listener list", argc, argv, NULL, listener_usage,
			    NULL, NULL);
	if (ret >= 0)
		return ret;
	if (optind < argc)
		return mq_extra_arg("listener list", argv[optind]);

	ret = mq_connect(&nl);
	if (ret)
		return ret;
	nlh = nl_msg(&nl, KMQTTD_CMD_LISTENER_GET, NLM_F_DUMP);
	if (mq_opts.json) {
		json_init(&o.j, stdout);
		json_arr_open(&o.j);
	}
	err = nl_exec(&nl, nlh, lst_cb, &o, NL_STREAM);
	if (mq_opts.json) {
		json_arr_close(&o.j);
		json_end(&o.j);
	} else if (o.header && !err) {
		printf(LST_HEADER);
	}
	if (err)
		ret = mq_reported ? MQ_EXIT_ERROR :
			mq_nl_fail(&nl, "listener list", err);
	mq_warn_intr(&nl, "listener list");
	nl_close(&nl);
	return ret;
}

static int addr_fail(struct nl *nl, int err, const char *verb,
		     const char *arg)
{
	int ret = mq_nl_failf(nl, err, "listener %s %s", verb, arg);

	switch (err) {
	case -EADDRINUSE:
		fprintf(stderr, "kmqttd or another socket already listens "
			"there; see 'mqctl listener list' and 'ss -ltn'.\n");
		break;
	case -EADDRNOTAVAIL:
		fprintf(stderr, "No interface of this network namespace has "
			"that address; see 'ip address'.\n");
		break;
	case -ENOENT:
		fprintf(stderr, "No such listener; see 'mqctl listener "
			"list'.\n");
		break;
	}
	return ret;
}

static void put_sockaddr(struct nlmsghdr *nlh, const struct mq_sockaddr *sa)
{
	mnl_attr_put_u16(nlh, KMQTTD_A_LISTENER_FAMILY, sa->family);
	mnl_attr_put(nlh, KMQTTD_A_LISTENER_ADDR, sa->addr_len, sa->addr);
	mnl_attr_put_u16(nlh, KMQTTD_A_LISTENER_PORT, sa->port);
}

/* Without a reply message, show what was asked for. */
static void print_request(struct lst_out *o, const struct mq_sockaddr *sa,
			  const uint64_t *id)
{
	char ip[MQ_ADDR_LEN], full[MQ_ADDR_LEN];

	if (!sa) {
		if (mq_opts.json) {
			json_obj_open(&o->j);
			json_kv_u64(&o->j, "id", *id);
			json_obj_close(&o->j);
		}
		return;
	}
	mq_fmt_addr(sa->family, sa->addr, sa->addr_len, sa->port, ip, full);
	if (mq_opts.json) {
		json_obj_open(&o->j);
		json_key(&o->j, "id");
		json_null(&o->j);
		json_kv_str(&o->j, "family", mq_family_name(sa->family));
		json_kv_str(&o->j, "address", ip);
		json_kv_u64(&o->j, "port", sa->port);
		json_obj_close(&o->j);
	} else if (!strcmp(o->what, "added")) {
		printf("added listener on %s\n", full);
	}
}

static int listener_add(int argc, char **argv)
{
	struct lst_out o = { .what = "added", .verb = true };
	struct mq_sockaddr sa;
	struct nlmsghdr *nlh;
	const char *why;
	struct nl nl;
	int ret, err, qos3 = -1, anon = -1, i;
	uint64_t max_conns = 0;
	bool have_max = false;

	ret = mq_parse_opts("listener add", argc, argv, NULL, listener_usage,
			    NULL, NULL);
	if (ret >= 0)
		return ret;
	if (optind >= argc)
		return mq_usage_err("listener add", "missing ADDR:PORT");
	for (i = optind + 1; i < argc; i += 2) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(argv[i], "qos3") && qos3 < 0) {
			if (!v)
				return mq_usage_err("listener add", "missing on|off after 'qos3'");
			if (!strcmp(v, "on"))
				qos3 = 1;
			else if (!strcmp(v, "off"))
				qos3 = 0;
			else
				return mq_usage_err("listener add", "qos3 wants on or off, got '%s'",
						    v);
		} else if (!strcmp(argv[i], "anonymous") && anon < 0) {
			if (!v)
				return mq_usage_err("listener add", "missing on|off|auto after 'anonymous'");
			if (!strcmp(v, "on"))
				anon = KMQTTD_ANONYMOUS_ON;
			else if (!strcmp(v, "off"))
				anon = KMQTTD_ANONYMOUS_OFF;
			else if (!strcmp(v, "auto"))
				anon = KMQTTD_ANONYMOUS_AUTO;
			else
				return mq_usage_err("listener add", "anonymous wants on, off or auto, got '%s'",
						    v);
		} else if ((!strcmp(argv[i], "max_connections") ||
			    !strcmp(argv[i], "max-connections")) && !have_max) {
			if (!v)
				return mq_usage_err("listener add", "missing N after 'max_connections'");
			if (!mq_parse_uint(v, UINT32_MAX, &max_conns))
				return mq_usage_err("listener add", "max_connections: bad value '%s' (want a number 0-4294967295)",
						    v);
			have_max = true;
		} else {
			return mq_extra_arg("listener add", argv[i]);
		}
	}
	why = mq_parse_sockaddr(argv[optind], &sa);
	if (why)
		return mq_usage_err("listener add", "bad address '%s': %s",
				    argv[optind], why);

	ret = mq_connect(&nl);
	if (ret)
		return ret;
	nlh = nl_msg(&nl, KMQTTD_CMD_LISTENER_ADD, 0);
	put_sockaddr(nlh, &sa);
	if (qos3 >= 0)
		mnl_attr_put_u8(nlh, KMQTTD_A_LISTENER_QOS3, qos3);
	if (anon >= 0)
		mnl_attr_put_u8(nlh, KMQTTD_A_LISTENER_ANONYMOUS, anon);
	if (have_max)
		mnl_attr_put_u32(nlh, KMQTTD_A_LISTENER_MAX_CONNS, max_conns);
	if (mq_opts.json)
		json_init(&o.j, stdout);
	err = nl_exec(&nl, nlh, lst_cb, &o, NULL);
	if (err) {
		ret = mq_reported ? MQ_EXIT_ERROR :
			addr_fail(&nl, err, "add", argv[optind]);
	} else {
		if (!o.n)
			print_request(&o, &sa, NULL);
		if (mq_opts.json)
			json_end(&o.j);
	}
	nl_close(&nl);
	return ret;
}

static int listener_del(int argc, char **argv)
{
	struct lst_out o = { .what = "deleted", .verb = true };
	struct mq_sockaddr sa;
	struct nlmsghdr *nlh;
	const char *why, *arg;
	char idbuf[32];
	uint64_t id = 0;
	bool by_id;
	struct nl nl;
	int ret, err;

	ret = mq_parse_opts("listener del", argc, argv, NULL, listener_usage,
			    NULL, NULL);
	if (ret >= 0)
		return ret;
	argc -= optind;
	argv += optind;
	if (argc < 1)
		return mq_usage_err("listener del", "missing ADDR:PORT or 'id ID'");
	by_id = !strcmp(argv[0], "id");
	if (by_id) {
		if (argc < 2)
			return mq_usage_err("listener del", "missing ID after 'id'");
		if (!mq_parse_uint(argv[1], UINT32_MAX, &id))
			return mq_usage_err("listener del", "bad listener id '%s'",
					    argv[1]);
		if (argc > 2)
			return mq_extra_arg("listener del", argv[2]);
		snprintf(idbuf, sizeof(idbuf), "id %" PRIu64, id);
		arg = idbuf;
	} else {
		if (argc > 1)
			return mq_extra_arg("listener del", argv[1]);
		why = mq_parse_sockaddr(argv[0], &sa);
		if (why)
			return mq_usage_err("listener del", "bad address '%s': %s",
					    argv[0], why);
		arg = argv[0];
	}

	ret = mq_connect(&nl);
	if (ret)
		return ret;
	nlh = nl_msg(&nl, KMQTTD_CMD_LISTENER_DEL, 0);
	if (by_id)
		mnl_attr_put_u32(nlh, KMQTTD_A_LISTENER_ID, id);
	else
		put_sockaddr(nlh, &sa);
	/* The text output of del is silent, like ip(8). */
	if (mq_opts.json)
		json_init(&o.j, stdout);
	else
		o.what = "";
	err = nl_exec(&nl, nlh, mq_opts.json ? lst_cb : NULL, &o, NULL);
	if (err) {
		ret = mq_reported ? MQ_EXIT_ERROR :
			addr_fail(&nl, err, "del", arg);
	} else if (mq_opts.json) {
		if (!o.n)
			print_request(&o, by_id ? NULL : &sa, &id);
		json_end(&o.j);
	}
	nl_close(&nl);
	return ret;
}

int cmd_listener(int argc, char **argv)
{
	static const struct mq_subcmd subs[] = {
		{ { "list", "ls", "show" },		listener_list },
		{ { "add" },				listener_add },
		{ { "del", "delete", "remove", "rm" },	listener_del },
	};

	return mq_run_subcmd("listener", subs, ARRAY_SIZE(subs),
			     listener_list, listener_usage, argc, argv);
}
