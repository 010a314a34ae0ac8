// SPDX-License-Identifier: GPL-2.0
/*
 * mqctl - administer kmqttd, the in-kernel MQTT broker, over its generic
 * netlink family.
 *
 *	mqctl [-j] COMMAND [ARGS...]
 *
 * Each command group lives in its own file and is listed in cmds[].
 */
#include <stdio.h>
#include <string.h>

#include "mqctl.h"

struct mq_opts mq_opts;

static int cmd_help(int argc, char **argv);

static const struct mq_cmd cmds[] = {
	{ "stats",	cmd_stats,	"show broker statistics" },
	{ "listener",	cmd_listener,	"list, add or delete TCP listeners" },
	{ "client",	cmd_client,	"list, show or kick clients (sessions)" },
	{ "sub",	cmd_sub,	"list subscriptions" },
	{ "retain",	cmd_retain,	"list or delete retained messages" },
	{ "get",	cmd_get,	"show broker settings" },
	{ "set",	cmd_set,	"change broker settings" },
	{ "monitor",	cmd_monitor,	"print broker events as they happen" },
	{ "user",	cmd_user,	"list, add or delete users (passwords)" },
	{ "acl",	cmd_acl,	"list, add or delete ACL rules" },
	{ "help",	cmd_help,	"show help for mqctl or a command" },
};

static void usage(FILE *f)
{
	size_t i;

	fprintf(f,
		"Usage: mqctl [OPTIONS] COMMAND [ARGS...]\n"
		"       mqctl help [COMMAND]\n"
		"\n"
		"Administer kmqttd, the in-kernel MQTT broker.\n"
		"\n"
		"Commands:\n");
	for (i = 0; i < ARRAY_SIZE(cmds); i++)
		fprintf(f, "  %-10s %s\n", cmds[i].name, cmds[i].help);
	fprintf(f,
		"\n"
		"Options:\n"
		"  -j, --json      print JSON instead of text\n"
		"  -h, --help      show this help\n"
		"  -V, --version   show the version\n"
		"\n"
		"Run 'mqctl help COMMAND' for the options of a command.\n"
		"\n"
		"Exit status: 0 ok, 1 error, 2 usage, 3 kmqttd not loaded,\n"
		"4 permission denied (needs CAP_NET_ADMIN), 5 not found,\n"
		"6 address in use or already exists.\n");
}

static const struct mq_cmd *find_cmd(const char *name)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cmds); i++)
		if (!strcmp(cmds[i].name, name))
			return &cmds[i];
	return NULL;
}

static int unknown_cmd(const char *name)
{
	mq_err("unknown command '%s'", name);
	fprintf(stderr, "Try 'mqctl --help'.\n");
	return MQ_EXIT_USAGE;
}

/* mqctl help [COMMAND] */
static int cmd_help(int argc, char **argv)
{
	const struct mq_cmd *cmd;
	char *help_argv[] = { NULL, "--help", NULL };

	if (argc < 2) {
		usage(stdout);
		return MQ_EXIT_OK;
	}
	if (argc > 2)
		return mq_extra_arg("help", argv[2]);
	cmd = find_cmd(argv[1]);
	if (!cmd)
		return unknown_cmd(argv[1]);
	if (cmd->fn == cmd_help) {
		usage(stdout);
		return MQ_EXIT_OK;
	}
	help_argv[0] = (char *)cmd->name;
	return cmd->fn(2, help_argv);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json",	no_argument,	NULL, 'j' },
		{ "help",	no_argument,	NULL, 'h' },
		{ "version",	no_argument,	NULL, 'V' },
		{ NULL,		0,		NULL, 0 },
	};
	const struct mq_cmd *cmd;
	int opt;

	/* '+': stop at the command; its own options follow it. */
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+:jhV", opts, NULL)) != -1) {
		switch (opt) {
		case 'j':
			mq_opts.json = true;
			break;
		case 'h':
			usage(stdout);
			return mq_finish_output(MQ_EXIT_OK);
		case 'V':
			printf("mqctl %s\n", MQCTL_VERSION);
			return mq_finish_output(MQ_EXIT_OK);
		default:
			return mq_bad_option(NULL, argv, opt);
		}
	}

	if (optind >= argc) {
		usage(stderr);
		return MQ_EXIT_USAGE;
	}

	cmd = find_cmd(argv[optind]);
	if (!cmd)
		return unknown_cmd(argv[optind]);

	argc -= optind;
	argv += optind;
	optind = 0;	/* full getopt reset for the command's parser */
	return mq_finish_output(cmd->fn(argc, argv));
}
