/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mqctl.h - shared declarations of the kmqttd admin tool.
 *
 * Adding a command group: write foo.c with "int cmd_foo(int argc,
 * char **argv)", declare it below, and add a line to the command table
 * in mqctl.c (and to the man page and the bash completion).
 */
#ifndef MQCTL_H
#define MQCTL_H

#include <stdbool.h>
#include <getopt.h>

#include "nl.h"

#ifndef MQCTL_VERSION
#define MQCTL_VERSION	"0.1"
#endif

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

/* Exit statuses; documented in mqctl.8. */
enum {
	MQ_EXIT_OK		= 0,
	MQ_EXIT_ERROR		= 1,	/* netlink or other runtime error */
	MQ_EXIT_USAGE		= 2,	/* bad command line */
	MQ_EXIT_NOT_LOADED	= 3,	/* kmqttd family not registered */
	MQ_EXIT_PERM		= 4,	/* missing CAP_NET_ADMIN */
};

/* Options given before the command; commands may set them too. */
struct mq_opts {
	bool json;
};
extern struct mq_opts mq_opts;

struct mq_cmd {
	const char *name;
	int (*fn)(int argc, char **argv);	/* returns an exit status */
	const char *help;			/* one line, for mqctl --help */
};

/* Commands, one file per group. */
int cmd_stats(int argc, char **argv);

/* util.c */

/* Print "mqctl: <fmt>" to stderr. */
void mq_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Report a bad command-line option found by getopt_long() for @cmd
 * (NULL: global options) and return MQ_EXIT_USAGE.
 */
int mq_bad_option(const char *cmd, char **argv, int opt);

/* Report an unexpected argument and return MQ_EXIT_USAGE. */
int mq_extra_arg(const char *cmd, const char *arg);

/*
 * Open the kmqttd netlink family.  Prints a message and returns the exit
 * status on failure (MQ_EXIT_NOT_LOADED, ...), 0 on success.
 */
int mq_connect(struct nl *nl);

/*
 * Report a failed request @what (e.g. "stats") with the kernel's
 * extended ACK, and return the matching exit status.
 */
int mq_nl_fail(struct nl *nl, const char *what, int err);

/* Flush stdout; report write errors.  Returns @status or MQ_EXIT_ERROR. */
int mq_finish_output(int status);

#endif /* MQCTL_H */
