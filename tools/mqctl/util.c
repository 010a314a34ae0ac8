// SPDX-License-Identifier: GPL-2.0
/*
 * util.c - error reporting shared by the mqctl commands.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <linux/kmqttd.h>

#include "mqctl.h"

void mq_err(const char *fmt, ...)
{
	va_list ap;

	fputs("mqctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void usage_hint(const char *cmd)
{
	if (cmd)
		fprintf(stderr, "Try 'mqctl help %s'.\n", cmd);
	else
		fprintf(stderr, "Try 'mqctl --help'.\n");
}

int mq_bad_option(const char *cmd, char **argv, int opt)
{
	const char *arg = argv[optind - 1];
	const char *pfx = cmd ? cmd : "", *sep = cmd ? ": " : "";
	char shortopt[3] = { '-', (char)optopt, '\0' };
	const char *eq;

	/* Long options are named by argv, short ones by optopt. */
	if (strncmp(arg, "--", 2))
		arg = shortopt;
	eq = strchr(arg, '=');

	if (opt == ':')
		mq_err("%s%soption '%s' requires an argument", pfx, sep, arg);
	else if (optopt && eq)
		mq_err("%s%soption '%.*s' takes no argument", pfx, sep,
		       (int)(eq - arg), arg);
	else
		mq_err("%s%sunknown option '%s'", pfx, sep, arg);
	usage_hint(cmd);
	return MQ_EXIT_USAGE;
}

int mq_extra_arg(const char *cmd, const char *arg)
{
	mq_err("%s: unexpected argument '%s'", cmd, arg);
	usage_hint(cmd);
	return MQ_EXIT_USAGE;
}

static void print_extack(const struct nl *nl)
{
	if (nl->ext_msg[0])
		mq_err("kernel: %s", nl->ext_msg);
	if (nl->ext_miss_type >= 0)
		mq_err("kernel: missing attribute %d", nl->ext_miss_type);
}

static int perm_denied(const struct nl *nl)
{
	mq_err("permission denied: this needs CAP_NET_ADMIN (run as root)");
	print_extack(nl);
	return MQ_EXIT_PERM;
}

static int not_loaded(void)
{
	mq_err("%s is not loaded (try: modprobe %s)", KMQTTD_FAMILY_NAME,
	       KMQTTD_FAMILY_NAME);
	return MQ_EXIT_NOT_LOADED;
}

int mq_connect(struct nl *nl)
{
	int err = nl_open(nl, KMQTTD_FAMILY_NAME, KMQTTD_FAMILY_VERSION);

	switch (err) {
	case 0:
		return MQ_EXIT_OK;
	case -ENOENT:
		return not_loaded();
	case -EPERM:
	case -EACCES:
		return perm_denied(nl);
	default:
		mq_err("cannot open the generic netlink socket: %s",
		       strerror(-err));
		print_extack(nl);
		return MQ_EXIT_ERROR;
	}
}

int mq_nl_fail(struct nl *nl, const char *what, int err)
{
	switch (err) {
	case -EPERM:
	case -EACCES:
		return perm_denied(nl);
	case -EOPNOTSUPP:
		mq_err("%s: %s (does the loaded kmqttd module predate this mqctl?)",
		       what, strerror(-err));
		break;
	case -EAGAIN:
		mq_err("%s: the kernel's data kept changing during the dump; try again",
		       what);
		break;
	default:
		mq_err("%s: %s", what, strerror(-err));
		break;
	}
	print_extack(nl);
	return MQ_EXIT_ERROR;
}

int mq_finish_output(int status)
{
	if (fflush(stdout) == EOF || ferror(stdout)) {
		mq_err("error writing output: %s", strerror(errno));
		return MQ_EXIT_ERROR;
	}
	return status;
}
