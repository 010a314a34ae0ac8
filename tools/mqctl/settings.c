// SPDX-License-Identifier: GPL-2.0
/*
 * settings.c - "mqctl get [NAME...]" and "mqctl set NAME VALUE...": the
 * broker settings of the caller's network namespace
 * (KMQTTD_CMD_SETTINGS_GET/SET).
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <strings.h>
#include <linux/kmqttd.h>

#include "mqctl.h"

enum set_type { S_U32, S_U64, S_BOOL, S_ANON };

static const struct setting {
	const char *name;
	unsigned int attr;
	enum set_type type;
	const char *help;
} settings[] = {
	{ "max_connections",	KMQTTD_A_SET_MAX_CONNECTIONS,	S_U32,
	  "open connections at most (0: unlimited)" },
	{ "max_packet_size",	KMQTTD_A_SET_MAX_PACKET_SIZE,	S_U32,
	  "largest packet accepted, bytes (0: protocol maximum)" },
	{ "max_inflight",	KMQTTD_A_SET_MAX_INFLIGHT,	S_U32,
	  "QoS 1/2 messages in flight per client (0: 65535)" },
	{ "max_queued",		KMQTTD_A_SET_MAX_QUEUED,	S_U32,
	  "messages queued per client" },
	{ "max_keepalive",	KMQTTD_A_SET_MAX_KEEPALIVE,	S_U32,
	  "longest keep-alive, s; more or 0 is refused (0: no cap)" },
	{ "session_expiry",	KMQTTD_A_SET_SESSION_EXPIRY,	S_U32,
	  "offline persistent sessions expire after, s (0: never)" },
	{ "retain_available",	KMQTTD_A_SET_RETAIN_AVAILABLE,	S_BOOL,
	  "retained messages are stored (yes/no)" },
	{ "retain_max",		KMQTTD_A_SET_RETAIN_MAX,	S_U32,
	  "retained messages at most (0: unlimited)" },
	{ "retain_max_bytes",	KMQTTD_A_SET_RETAIN_MAX_BYTES,	S_U64,
	  "retained payload bytes at most (0: unlimited)" },
	{ "allow_anonymous",	KMQTTD_A_SET_ALLOW_ANONYMOUS,	S_ANON,
	  "clients without a user name may connect (yes/no/auto)" },
	{ "max_subscriptions",	KMQTTD_A_SET_MAX_SUBSCRIPTIONS,	S_U32,
	  "subscriptions per client (0: unlimited)" },
	{ "max_topic_length",	KMQTTD_A_SET_MAX_TOPIC_LENGTH,	S_U32,
	  "longest topic name or filter, bytes" },
	{ "max_topic_levels",	KMQTTD_A_SET_MAX_TOPIC_LEVELS,	S_U32,
	  "topic levels at most (0: unlimited)" },
	{ "connect_timeout",	KMQTTD_A_SET_CONNECT_TIMEOUT,	S_U32,
	  "time a new connection has to send CONNECT, s" },
	{ "sys_interval",	KMQTTD_A_SET_SYS_INTERVAL,	S_U32,
	  "seconds between $SYS/broker/ updates (0: $SYS off)" },
	{ "qos3_timeout",	KMQTTD_A_SET_QOS3_TIMEOUT,	S_U32,
	  "default QoS 3 timeout, ms (1..3600000)" },
	{ "qos3_max_pending",	KMQTTD_A_SET_QOS3_MAX_PENDING,	S_U32,
	  "pending QoS 3 requests per client (0: unlimited)" },
	{ "qos3_max_total",	KMQTTD_A_SET_QOS3_MAX_TOTAL,	S_U32,
	  "pending QoS 3 requests in the namespace (0: unlimited)" },
	{ "password_iterations", KMQTTD_A_SET_PASSWORD_ITERATIONS, S_U32,
	  "PBKDF2 iterations of passwords set from now on (1..1000000)" },
	{ "max_queued_bytes",	KMQTTD_A_SET_MAX_QUEUED_BYTES,	S_U64,
	  "topic and payload bytes queued per client (0: unlimited)" },
	{ "max_memory",		KMQTTD_A_SET_MAX_MEMORY,	S_U64,
	  "bytes of messages, queues, sessions... (0: unlimited)" },
	{ "slow_reader_timeout", KMQTTD_A_SET_SLOW_READER_TIMEOUT, S_U32,
	  "close a client not reading for, s (0: never)" },
	{ "publish_hold",	KMQTTD_A_SET_PUBLISH_HOLD,	S_U32,
	  "hold publishers for a full queue up to, ms (0: drop)" },
};

#define N_SETTINGS	ARRAY_SIZE(settings)

static const enum mq_atype set_policy[KMQTTD_A_SET_MAX + 1] = {
	[KMQTTD_A_SET_PAD]			= MQ_A_PAD,
	[KMQTTD_A_SET_MAX_CONNECTIONS]		= MQ_A_UINT,
	[KMQTTD_A_SET_MAX_PACKET_SIZE]		= MQ_A_UINT,
	[KMQTTD_A_SET_MAX_INFLIGHT]		= MQ_A_UINT,
	[KMQTTD_A_SET_MAX_QUEUED]		= MQ_A_UINT,
	[KMQTTD_A_SET_MAX_KEEPALIVE]		= MQ_A_UINT,
	[KMQTTD_A_SET_SESSION_EXPIRY]		= MQ_A_UINT,
	[KMQTTD_A_SET_RETAIN_AVAILABLE]		= MQ_A_UINT,
	[KMQTTD_A_SET_RETAIN_MAX]		= MQ_A_UINT,
	[KMQTTD_A_SET_RETAIN_MAX_BYTES]		= MQ_A_UINT,
	[KMQTTD_A_SET_ALLOW_ANONYMOUS]		= MQ_A_UINT,
	[KMQTTD_A_SET_MAX_SUBSCRIPTIONS]	= MQ_A_UINT,
	[KMQTTD_A_SET_MAX_TOPIC_LENGTH]		= MQ_A_UINT,
	[KMQTTD_A_SET_MAX_TOPIC_LEVELS]		= MQ_A_UINT,
	[KMQTTD_A_SET_CONNECT_TIMEOUT]		= MQ_A_UINT,
	[KMQTTD_A_SET_SYS_INTERVAL]		= MQ_A_UINT,
	[KMQTTD_A_SET_QOS3_TIMEOUT]		= MQ_A_UINT,
	[KMQTTD_A_SET_QOS3_MAX_PENDING]		= MQ_A_UINT,
	[KMQTTD_A_SET_QOS3_MAX_TOTAL]		= MQ_A_UINT,
	[KMQTTD_A_SET_PASSWORD_ITERATIONS]	= MQ_A_UINT,
	[KMQTTD_A_SET_MAX_QUEUED_BYTES]		= MQ_A_UINT,
	[KMQTTD_A_SET_MAX_MEMORY]		= MQ_A_UINT,
	[KMQTTD_A_SET_SLOW_READER_TIMEOUT]	= MQ_A_UINT,
	[KMQTTD_A_SET_PUBLISH_HOLD]		= MQ_A_UINT,
};

_Static_assert(N_SETTINGS == KMQTTD_A_SET_MAX - 1,
	       "settings[] does not cover every KMQTTD_A_SET_* attribute");

/* Accept "max-connections" too. */
static const struct setting *find_setting(const char *name, size_t len)
{
	size_t i, k;

	for (i = 0; i < N_SETTINGS; i++) {
		const char *n = settings[i].name;

		if (strlen(n) != len)
			continue;
		for (k = 0; k < len; k++)
			if (n[k] != name[k] && !(n[k] == '_' && name[k] == '-'))
				break;
		if (k == len)
			return &settings[i];
	}
	return NULL;
}

static int unknown_setting(const char *cmd, const char *name)
{
	size_t i;

	mq_err("%s: unknown setting '%s'; the settings are:", cmd, name);
	for (i = 0; i < N_SETTINGS; i++)
		fprintf(stderr, "  %s\n", settings[i].name);
	return MQ_EXIT_USAGE;
}

static void settings_usage(FILE *f)
{
	size_t i;

	fprintf(f,
		"Usage: mqctl get [NAME...]\n"
		"       mqctl set NAME VALUE [NAME VALUE...]   (or NAME=VALUE)\n"
		"\n"
		"Show or change the broker settings of the current network namespace.\n"
		"Values are unsigned decimal numbers; yes/no settings take 1/0, yes/no,\n"
		"true/false or on/off (allow_anonymous also auto).  Changes apply at\n"
		"once to new connections and packets.\n"
		"\n"
		"  -j, --json   print a JSON object (set: the settings afterwards)\n"
		"  -h, --help   show this help\n"
		"\n"
		"Settings:\n");
	for (i = 0; i < N_SETTINGS; i++)
		fprintf(f, "  %-18s %s\n", settings[i].name, settings[i].help);
}

/* enum kmqttd_anonymous as "no", "yes", "auto" ("?" if unknown). */
static const char *anon_name(uint64_t v)
{
	static const char *const names[] = {
		[KMQTTD_ANONYMOUS_OFF] = "no",
		[KMQTTD_ANONYMOUS_ON] = "yes",
		[KMQTTD_ANONYMOUS_AUTO] = "auto",
	};

	return v < ARRAY_SIZE(names) ? names[v] : "?";
}

static void print_settings(const struct nlattr **tb, const bool *want)
{
	struct json j;
	size_t i;

	if (mq_opts.json) {
		json_init(&j, stdout);
		json_obj_open(&j);
	}
	for (i = 0; i < N_SETTINGS; i++) {
		const struct setting *s = &settings[i];
		const struct nlattr *a = tb[s->attr];

		if (want && !want[i])
			continue;
		if (mq_opts.json) {
			json_key(&j, s->name);
			if (!a)
				json_null(&j);
			else if (s->type == S_BOOL)
				json_bool(&j, mq_uint(a, 0));
			else if (s->type == S_ANON)
				json_str(&j, anon_name(mq_uint(a, 0)));
			else
				json_u64(&j, mq_uint(a, 0));
		} else if (!a) {
			printf("%-18s -\n", s->name);
		} else if (s->type == S_BOOL) {
			printf("%-18s %s\n", s->name, mq_uint(a, 0) ? "yes" : "no");
		} else if (s->type == S_ANON) {
			printf("%-18s %s\n", s->name, anon_name(mq_uint(a, 0)));
		} else {
			printf("%-18s %" PRIu64 "\n", s->name, mq_uint(a, 0));
		}
	}
	if (mq_opts.json) {
		json_obj_close(&j);
		json_end(&j);
	}
}

/*
 * SETTINGS_GET and print (the wanted ones).  The reply is parsed in the
 * callback, whose attributes are only valid there: print from it.
 */
struct get_print {
	const bool *want;
};

static int get_print_cb(const struct nlmsghdr *nlh, void *data)
{
	struct get_print *p = data;
	const struct nlattr *tb[KMQTTD_A_SET_MAX + 1];

	if (mq_parse(nlh, set_policy, KMQTTD_A_SET_MAX, tb, "get") < 0)
		return MNL_CB_ERROR;
	print_settings(tb, p->want);
	return MNL_CB_OK;
}

static int do_get(struct nl *nl, const bool *want)
{
	struct get_print p = { want };
	struct nlmsghdr *nlh;
	int err;

	nlh = nl_msg(nl, KMQTTD_CMD_SETTINGS_GET, 0);
	err = nl_exec(nl, nlh, get_print_cb, &p, NULL);
	if (err)
		return mq_reported ? MQ_EXIT_ERROR : mq_nl_fail(nl, "get", err);
	return MQ_EXIT_OK;
}

int cmd_get(int argc, char **argv)
{
	bool want[N_SETTINGS] = { false };
	struct nl nl;
	int ret, i;

	ret = mq_parse_opts("get", argc, argv, NULL, settings_usage, NULL,
			    NULL);
	if (ret >= 0)
		return ret;
	for (i = optind; i < argc; i++) {
		const struct setting *s = find_setting(argv[i], strlen(argv[i]));

		if (!s)
			return unknown_setting("get", argv[i]);
		want[s - settings] = true;
	}

	ret = mq_connect(&nl);
	if (ret)
		return ret;
	ret = do_get(&nl, optind < argc ? want : NULL);
	nl_close(&nl);
	return ret;
}

static bool parse_bool(const char *v, uint64_t *out)
{
	static const char *const yes[] = { "1", "yes", "true", "on" };
	static const char *const no[] = { "0", "no", "false", "off" };
	size_t i;

	for (i = 0; i < ARRAY_SIZE(yes); i++) {
		if (!strcasecmp(v, yes[i])) {
			*out = 1;
			return true;
		}
		if (!strcasecmp(v, no[i])) {
			*out = 0;
			return true;
		}
	}
	return false;
}

/* Name the setting the kernel refused (extack offset), if known. */
static const char *refused_setting(const struct nl *nl)
{
	const struct nlattr *a = nl_ext_attr(nl);
	size_t i;

	if (!a)
		return NULL;
	for (i = 0; i < N_SETTINGS; i++)
		if (settings[i].attr == mnl_attr_get_type(a))
			return settings[i].name;
	return NULL;
}

int cmd_set(int argc, char **argv)
{
	bool seen[N_SETTINGS] = { false };
	const char *text[N_SETTINGS] = { NULL };
	uint64_t val[N_SETTINGS];
	struct nlmsghdr *nlh;
	const char *name;
	struct nl nl;
	size_t k;
	int ret, i, err;

	ret = mq_parse_opts("set", argc, argv, NULL, settings_usage, NULL,
			    NULL);
	if (ret >= 0)
		return ret;
	if (optind >= argc)
		return mq_usage_err("set", "missing NAME VALUE");

	for (i = optind; i < argc; i++) {
		const char *arg = argv[i], *eq = strchr(arg, '='), *v;
		size_t nlen = eq ? (size_t)(eq - arg) : strlen(arg);
		const struct setting *s = find_setting(arg, nlen);

		if (!s) {
			char buf[64];

			snprintf(buf, sizeof(buf), "%.*s", (int)nlen, arg);
			return unknown_setting("set", buf);
		}
		k = s - settings;
		if (eq)
			v = eq + 1;
		else if (i + 1 < argc)
			v = argv[++i];
		else
			return mq_usage_err("set", "missing a value for %s",
					    s->name);
		if (seen[k])
			return mq_usage_err("set", "%s given twice", s->name);
		seen[k] = true;
		text[k] = v;
		if (s->type == S_ANON && !strcasecmp(v, "auto"))
			val[k] = KMQTTD_ANONYMOUS_AUTO;
		else if (s->type == S_BOOL || s->type == S_ANON ?
			 !parse_bool(v, &val[k]) :
			 !mq_parse_uint(v, s->type == S_U32 ? UINT32_MAX :
					UINT64_MAX, &val[k]))
			return mq_usage_err("set", "%s: bad value '%s' (want %s)",
					    s->name, v,
					    s->type == S_BOOL ? "yes or no" :
					    s->type == S_ANON ? "yes, no or auto" :
					    s->type == S_U32 ?
					    "a number 0-4294967295" :
					    "a number 0-18446744073709551615");
	}

	ret = mq_connect(&nl);
	if (ret)
		return ret;
	nlh = nl_msg(&nl, KMQTTD_CMD_SETTINGS_SET, 0);
	for (k = 0; k < N_SETTINGS; k++) {
		if (!seen[k])
			continue;
		switch (settings[k].type) {
		case S_BOOL:
		case S_ANON:
			mnl_attr_put_u8(nlh, settings[k].attr, val[k]);
			break;
		case S_U32:
			mnl_attr_put_u32(nlh, settings[k].attr, val[k]);
			break;
		case S_U64:
			mnl_attr_put_u64(nlh, settings[k].attr, val[k]);
			break;
		}
	}

	err = nl_exec(&nl, nlh, NULL, NULL, NULL);
	if (err) {
		name = refused_setting(&nl);
		if (name) {
			k = find_setting(name, strlen(name)) - settings;
			ret = mq_nl_failf(&nl, err, "set %s %s", name, text[k]);
		} else {
			ret = mq_nl_fail(&nl, "set", err);
		}
		if (err == -ERANGE || err == -EINVAL)
			fprintf(stderr, "See 'mqctl help set' for the meaning "
				"of each setting.\n");
	} else if (mq_opts.json) {
		ret = do_get(&nl, NULL);
	}
	nl_close(&nl);
	return ret;
}
