// SPDX-License-Identifier: GPL-2.0
/*
 * monitor.c - "mqctl monitor": print the notifications of the "events"
 * multicast group (KMQTTD_CMD_EVENT) until interrupted.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <linux/kmqttd.h>

#include "mqctl.h"
#include "names.h"

static const enum mq_atype event_policy[KMQTTD_A_EVENT_MAX + 1] = {
	[KMQTTD_A_EVENT_TYPE]		= MQ_A_UINT,
	[KMQTTD_A_EVENT_CLIENT_ID]	= MQ_A_STR,
	[KMQTTD_A_EVENT_FAMILY]		= MQ_A_UINT,
	[KMQTTD_A_EVENT_ADDR]		= MQ_A_BIN,
	[KMQTTD_A_EVENT_PORT]		= MQ_A_UINT,
	[KMQTTD_A_EVENT_REASON]		= MQ_A_UINT,
	[KMQTTD_A_EVENT_LISTENER]	= MQ_A_NEST,
	[KMQTTD_A_EVENT_CLEAN]		= MQ_A_UINT,
};

static const enum mq_atype listener_policy[KMQTTD_A_LISTENER_MAX + 1] = {
	[KMQTTD_A_LISTENER_ID]		= MQ_A_UINT,
	[KMQTTD_A_LISTENER_FAMILY]	= MQ_A_UINT,
	[KMQTTD_A_LISTENER_ADDR]	= MQ_A_BIN,
	[KMQTTD_A_LISTENER_PORT]	= MQ_A_UINT,
	[KMQTTD_A_LISTENER_CONNS]	= MQ_A_UINT,
};

struct mon {
	struct json j;
	uint64_t count;		/* stop after this many events (0: never) */
	uint64_t seen;
	bool timestamp;
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void reason_str(uint64_t r, char *buf, size_t n)
{
	if (!r)
		snprintf(buf, n, "none");
	else if (r <= UINT32_MAX && refusal_name(r))
		snprintf(buf, n, "%s", refusal_name(r));
	else
		snprintf(buf, n, "unknown(%" PRIu64 ")", r);
}

/* Address of an event or of a listener nest: tb of FAMILY, ADDR, PORT. */
static bool fmt_addr(const struct nlattr *fam, const struct nlattr *addr,
		     const struct nlattr *port, char *ip, char *full)
{
	if (!fam || !addr)
		return false;
	return mq_fmt_addr(mq_uint(fam, 0), mnl_attr_get_payload(addr),
			   mnl_attr_get_payload_len(addr), mq_uint(port, 0),
			   ip, full);
}

static void print_time(struct mon *m)
{
	struct timeval tv;
	struct tm tm;
	char buf[32];

	gettimeofday(&tv, NULL);
	if (mq_opts.json) {
		snprintf(buf, sizeof(buf), "%lld.%06ld", (long long)tv.tv_sec,
			 (long)tv.tv_usec);
		json_key(&m->j, "time");
		json_raw(&m->j, buf);
		return;
	}
	localtime_r(&tv.tv_sec, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
	printf("[%s.%06ld] ", buf, (long)tv.tv_usec);
}

static int event_cb(const struct nlmsghdr *nlh, void *data)
{
	struct mon *m = data;
	const struct nlattr *tb[KMQTTD_A_EVENT_MAX + 1];
	const struct nlattr *lt[KMQTTD_A_LISTENER_MAX + 1];
	const struct genlmsghdr *g = mnl_nlmsg_get_payload(nlh);
	char ip[MQ_ADDR_LEN], full[MQ_ADDR_LEN], rbuf[48], tbuf[32];
	const char *type;
	bool has_addr, has_lst = false, lst_addr = false;
	uint64_t t;

	if (mnl_nlmsg_get_payload_len(nlh) >= sizeof(*g) &&
	    g->cmd != KMQTTD_CMD_EVENT)
		return MNL_CB_OK;		/* not an event */
	if (mq_parse(nlh, event_policy, KMQTTD_A_EVENT_MAX, tb, "monitor") < 0)
		return MNL_CB_ERROR;
	if (tb[KMQTTD_A_EVENT_LISTENER]) {
		if (mq_parse_nest(tb[KMQTTD_A_EVENT_LISTENER], listener_policy,
				  KMQTTD_A_LISTENER_MAX, lt, "monitor") < 0)
			return MNL_CB_ERROR;
		has_lst = true;
	}

	t = mq_uint(tb[KMQTTD_A_EVENT_TYPE], 0);
	type = t <= UINT32_MAX ? event_name(t) : NULL;
	if (!type) {
		snprintf(tbuf, sizeof(tbuf), "unknown(%" PRIu64 ")", t);
		type = tbuf;
	}
	has_addr = fmt_addr(tb[KMQTTD_A_EVENT_FAMILY], tb[KMQTTD_A_EVENT_ADDR],
			    tb[KMQTTD_A_EVENT_PORT], ip, full);
	/* A connect has no reason (the kernel sends 0): leave it out. */
	if (t == KMQTTD_EVENT_CONNECTED)
		tb[KMQTTD_A_EVENT_REASON] = NULL;
	if (tb[KMQTTD_A_EVENT_REASON])
		reason_str(mq_uint(tb[KMQTTD_A_EVENT_REASON], 0), rbuf,
			   sizeof(rbuf));

	if (mq_opts.json) {
		json_init(&m->j, stdout);
		json_obj_open(&m->j);
		if (m->timestamp)
			print_time(m);
		json_kv_str(&m->j, "event", type);
		if (tb[KMQTTD_A_EVENT_CLIENT_ID])
			mq_json_str_attr(&m->j, "client_id",
					 tb[KMQTTD_A_EVENT_CLIENT_ID]);
		if (has_addr) {
			json_kv_str(&m->j, "family",
				    mq_family_name(mq_uint(tb[KMQTTD_A_EVENT_FAMILY], 0)));
			json_kv_str(&m->j, "address", ip);
			json_kv_u64(&m->j, "port",
				    mq_uint(tb[KMQTTD_A_EVENT_PORT], 0));
		}
		if (tb[KMQTTD_A_EVENT_REASON]) {
			json_key(&m->j, "reason");
			if (mq_uint(tb[KMQTTD_A_EVENT_REASON], 0))
				json_str(&m->j, rbuf);
			else
				json_null(&m->j);
		}
		if (tb[KMQTTD_A_EVENT_CLEAN])
			json_kv_bool(&m->j, "clean",
				     mq_uint(tb[KMQTTD_A_EVENT_CLEAN], 0));
		if (has_lst) {
			lst_addr = fmt_addr(lt[KMQTTD_A_LISTENER_FAMILY],
					    lt[KMQTTD_A_LISTENER_ADDR],
					    lt[KMQTTD_A_LISTENER_PORT], ip,
					    full);
			json_key(&m->j, "listener");
			json_obj_open(&m->j);
			json_kv_u64(&m->j, "id",
				    mq_uint(lt[KMQTTD_A_LISTENER_ID], 0));
			json_key(&m->j, "family");
			json_str(&m->j, lst_addr ? mq_family_name(
				mq_uint(lt[KMQTTD_A_LISTENER_FAMILY], 0)) : NULL);
			json_key(&m->j, "address");
			json_str(&m->j, lst_addr ? ip : NULL);
			json_kv_u64(&m->j, "port",
				    mq_uint(lt[KMQTTD_A_LISTENER_PORT], 0));
			json_obj_close(&m->j);
		}
		json_obj_close(&m->j);
		json_end(&m->j);
	} else {
		if (m->timestamp)
			print_time(m);
		printf("%s", type);
		if (tb[KMQTTD_A_EVENT_CLIENT_ID]) {
			printf(" client=");
			mq_print_text(stdout, mnl_attr_get_payload(
					tb[KMQTTD_A_EVENT_CLIENT_ID]),
				      mq_strlen(tb[KMQTTD_A_EVENT_CLIENT_ID]),
				      true, 0);
		}
		if (has_addr)
			printf(" addr=%s", full);
		if (tb[KMQTTD_A_EVENT_CLEAN])
			printf(" clean=%s", mq_uint(tb[KMQTTD_A_EVENT_CLEAN], 0) ?
			       "yes" : "no");
		if (tb[KMQTTD_A_EVENT_REASON])
			printf(" reason=%s", rbuf);
		if (has_lst) {
			lst_addr = fmt_addr(lt[KMQTTD_A_LISTENER_FAMILY],
					    lt[KMQTTD_A_LISTENER_ADDR],
					    lt[KMQTTD_A_LISTENER_PORT], ip,
					    full);
			printf(" listener=%" PRIu64 " addr=%s",
			       mq_uint(lt[KMQTTD_A_LISTENER_ID], 0),
			       lst_addr ? full : "?");
		}
		putchar('\n');
	}
	if (fflush(stdout) == EOF)
		return MNL_CB_ERROR;
	m->seen++;
	if (m->count && m->seen >= m->count)
		return MNL_CB_STOP;
	return stop ? MNL_CB_STOP : MNL_CB_OK;
}

static void monitor_usage(FILE *f)
{
	fprintf(f,
		"Usage: mqctl monitor [-j] [-t] [-c COUNT]\n"
		"\n"
		"Print the broker's events as they happen, one line each (with -j one\n"
		"JSON object per line), until interrupted: clients connected,\n"
		"disconnected (with the reason) or kicked, listeners added or removed.\n"
		"Needs CAP_NET_ADMIN.\n"
		"\n"
		"  -c, --count COUNT   exit after COUNT events\n"
		"  -t, --timestamp     prefix each event with the time (JSON: \"time\")\n"
		"  -j, --json          print JSON objects\n"
		"  -h, --help          show this help\n");
}

static int mon_opt(int opt, const char *arg, void *data)
{
	struct mon *m = data;

	switch (opt) {
	case 'c':
		if (!mq_parse_uint(arg, UINT64_MAX, &m->count) || !m->count)
			return mq_usage_err("monitor", "bad count '%s'", arg);
		break;
	case 't':
		m->timestamp = true;
		break;
	}
	return 0;
}

int cmd_monitor(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "count",	required_argument,	NULL, 'c' },
		{ "timestamp",	no_argument,		NULL, 't' },
		{ NULL,		0,			NULL, 0 },
	};
	struct mon m = { .count = 0 };
	struct sigaction sa;
	struct nl nl;
	int ret, err;

	ret = mq_parse_opts("monitor", argc, argv, opts, monitor_usage,
			    mon_opt, &m);
	if (ret >= 0)
		return ret;
	if (optind < argc)
		return mq_extra_arg("monitor", argv[optind]);

	ret = mq_connect(&nl);
	if (ret)
		return ret;
	err = nl_join(&nl, KMQTTD_MCGRP_EVENTS);
	if (err == -ENOENT) {
		mq_err("monitor: the loaded kmqttd module has no \"%s\" "
		       "multicast group; load the module that matches this "
		       "mqctl", KMQTTD_MCGRP_EVENTS);
		nl_close(&nl);
		return MQ_EXIT_ERROR;
	}
	if (err) {
		ret = mq_nl_fail(&nl, "monitor: joining the events group", err);
		nl_close(&nl);
		return ret;
	}

	/* No SA_RESTART: a signal must interrupt the wait. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);

	for (;;) {
		if (stop) {
			err = 0;
			break;
		}
		err = nl_listen(&nl, event_cb, &m);
		if (err == -EINTR)
			continue;
		if (err == -ENOBUFS) {
			mq_err("monitor: warning: events were lost (the "
			       "socket's receive queue overflowed)");
			continue;
		}
		break;
	}
	if (err)
		ret = mq_reported ? MQ_EXIT_ERROR :
			mq_nl_fail(&nl, "monitor", err);
	nl_close(&nl);
	return ret;
}
