// SPDX-License-Identifier: GPL-2.0
/*
 * util.c - error reporting shared by the mqctl commands.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/kmqttd.h>

#include "mqctl.h"

bool mq_reported;

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
	if (cmd)	/* "listener add" -> "mqctl help listener" */
		fprintf(stderr, "Try 'mqctl help %.*s'.\n",
			(int)strcspn(cmd, " "), cmd);
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
	if (nl->ext_has_range)
		mq_err("kernel: allowed range %" PRIu64 "..%" PRIu64,
		       nl->ext_min, nl->ext_max);
	if (nl->ext_has_len)
		mq_err("kernel: allowed length %" PRIu64 "..%" PRIu64,
		       nl->ext_min_len, nl->ext_max_len);
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

static int nl_fail(struct nl *nl, int err, const char *what)
{
	int status = MQ_EXIT_ERROR;

	switch (err) {
	case -EPERM:
	case -EACCES:
		return perm_denied(nl);
	case -EOPNOTSUPP:
		mq_err("%s: %s: the loaded kmqttd module does not know this "
		       "request; load the module that matches this mqctl",
		       what, strerror(-err));
		break;
	case -EAGAIN:
		mq_err("%s: the kernel's data kept changing during the dump; try again",
		       what);
		break;
	case -ENOENT:
		status = MQ_EXIT_NOT_FOUND;
		mq_err("%s: not found", what);
		break;
	case -EADDRINUSE:
	case -EEXIST:
		status = MQ_EXIT_EXISTS;
		mq_err("%s: %s", what, strerror(-err));
		break;
	default:
		mq_err("%s: %s", what, strerror(-err));
		break;
	}
	print_extack(nl);
	return status;
}

int mq_nl_fail(struct nl *nl, const char *what, int err)
{
	return nl_fail(nl, err, what);
}

int mq_nl_failf(struct nl *nl, int err, const char *fmt, ...)
{
	char what[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return nl_fail(nl, err, what);
}

int mq_usage_err(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "mqctl: %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	usage_hint(cmd);
	return MQ_EXIT_USAGE;
}

void mq_warn_intr(const struct nl *nl, const char *what)
{
	if (nl->dump_intr)
		mq_err("warning: %s: the list changed during the dump; entries "
		       "may be missing or repeated (run it again)", what);
}

bool mq_parse_uint(const char *s, uint64_t max, uint64_t *v)
{
	char *end;
	unsigned long long n;

	if (!s[0] || s[0] < '0' || s[0] > '9')
		return false;
	errno = 0;
	n = strtoull(s, &end, 10);
	if (errno || *end || n > max)
		return false;
	*v = n;
	return true;
}

static bool is_help(const char *s)
{
	return !strcmp(s, "help") || !strcmp(s, "-h") || !strcmp(s, "--help");
}

int mq_run_subcmd(const char *group, const struct mq_subcmd *subs, size_t n,
		  int (*dflt)(int argc, char **argv),
		  void (*usage)(FILE *f), int argc, char **argv)
{
	size_t i, k;

	if (argc < 2 || (argv[1][0] == '-' && !is_help(argv[1]))) {
		if (dflt)
			return dflt(argc, argv);
		usage(stderr);
		return MQ_EXIT_USAGE;
	}
	if (is_help(argv[1])) {
		usage(stdout);
		return MQ_EXIT_OK;
	}
	for (i = 0; i < n; i++)
		for (k = 0; k < ARRAY_SIZE(subs[i].names) && subs[i].names[k];
		     k++)
			if (!strcmp(argv[1], subs[i].names[k]))
				return subs[i].fn(argc - 1, argv + 1);
	mq_err("%s: unknown command '%s'", group, argv[1]);
	usage_hint(group);
	return MQ_EXIT_USAGE;
}

int mq_parse_opts(const char *cmd, int argc, char **argv,
		  const struct option *extra, void (*usage)(FILE *f),
		  int (*handle)(int opt, const char *arg, void *data),
		  void *data)
{
	struct option opts[16] = {
		{ "json",	no_argument,	NULL, 'j' },
		{ "help",	no_argument,	NULL, 'h' },
	};
	char shortopts[64] = ":jh";
	size_t n = 2, k;
	int opt, ret;

	for (; extra && extra[n - 2].name && n < ARRAY_SIZE(opts) - 1; n++) {
		opts[n] = extra[n - 2];
		k = strlen(shortopts);
		if (opts[n].val > ' ' && opts[n].val < 127 &&
		    k + 3 < sizeof(shortopts)) {
			shortopts[k++] = (char)opts[n].val;
			if (opts[n].has_arg == required_argument)
				shortopts[k++] = ':';
			shortopts[k] = '\0';
		}
	}

	opterr = 0;
	optopt = 0;
	optind = 0;
	while ((opt = getopt_long(argc, argv, shortopts, opts, NULL)) != -1) {
		switch (opt) {
		case 'j':
			mq_opts.json = true;
			break;
		case 'h':
			usage(stdout);
			return MQ_EXIT_OK;
		case ':':
		case '?':
			return mq_bad_option(cmd, argv, opt);
		default:
			ret = handle ? handle(opt, optarg, data) : MQ_EXIT_USAGE;
			if (ret)
				return ret;
			break;
		}
	}
	return -1;
}

int mq_finish_output(int status)
{
	if (fflush(stdout) == EOF || ferror(stdout)) {
		mq_err("error writing output: %s", strerror(errno));
		return MQ_EXIT_ERROR;
	}
	return status;
}
