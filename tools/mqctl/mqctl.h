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
#include <stdint.h>
#include <stdio.h>
#include <getopt.h>

#include "json.h"
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
	MQ_EXIT_NOT_FOUND	= 5,	/* no such listener, client (ENOENT) */
	MQ_EXIT_EXISTS		= 6,	/* address in use, already exists */
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
int cmd_listener(int argc, char **argv);
int cmd_client(int argc, char **argv);
int cmd_sub(int argc, char **argv);
int cmd_retain(int argc, char **argv);
int cmd_set(int argc, char **argv);
int cmd_get(int argc, char **argv);
int cmd_monitor(int argc, char **argv);
int cmd_user(int argc, char **argv);
int cmd_acl(int argc, char **argv);

/*
 * user.c, shared with acl.c: send the *_CLEAR command @cmd (no
 * arguments besides -j) and print the number in its @count_attr.
 */
int mq_clear(const char *what, uint8_t cmd, int count_attr,
	     void (*usage)(FILE *f), int argc, char **argv);

/* Open @path for reading ("-": stdin); prints the error. */
FILE *mq_open_input(const char *cmd, const char *path);

/*
 * A sub-command of a command group ("listener add"): @names lists the
 * name and its aliases, NULL-terminated.
 */
struct mq_subcmd {
	const char *names[4];
	int (*fn)(int argc, char **argv);
};

/*
 * Run the sub-command argv[1] of group @group (argv[0]); without one, run
 * @dflt (if not NULL) or print @usage.  "help", -h and --help print the
 * group's usage.
 */
int mq_run_subcmd(const char *group, const struct mq_subcmd *subs, size_t n,
		  int (*dflt)(int argc, char **argv),
		  void (*usage)(FILE *f), int argc, char **argv);

/*
 * Parse the options of a sub-command that takes only -j/--json and
 * -h/--help, plus the extra long options of @opts (may be NULL) whose
 * values are returned through @handle (returns 0 or an exit status).
 * Returns -1 to go on, else the exit status to return.
 */
int mq_parse_opts(const char *cmd, int argc, char **argv,
		  const struct option *extra, void (*usage)(FILE *f),
		  int (*handle)(int opt, const char *arg, void *data),
		  void *data);

/* util.c */

/*
 * Set when a diagnostic about a reply was printed already (malformed
 * reply): the command then fails without a second message.
 */
extern bool mq_reported;

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

/*
 * Like mq_nl_fail(), with a message built from @fmt: "mqctl: <msg>:
 * <strerror>" and the extended ACK; returns the exit status of @err
 * (ENOENT: MQ_EXIT_NOT_FOUND, EADDRINUSE/EEXIST: MQ_EXIT_EXISTS, ...).
 */
int mq_nl_failf(struct nl *nl, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Report a usage error ("mqctl: <cmd>: <msg>" and a hint). */
int mq_usage_err(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Flush stdout; report write errors.  Returns @status or MQ_EXIT_ERROR. */
int mq_finish_output(int status);

/* Warn that a streamed dump was interrupted (nl->dump_intr). */
void mq_warn_intr(const struct nl *nl, const char *what);

/* Parse an unsigned decimal number <= @max; false if malformed. */
bool mq_parse_uint(const char *s, uint64_t max, uint64_t *v);

/* attrs.c: reading reply attributes */

/* Expected payload of an attribute type; MQ_A_NONE: not accepted. */
enum mq_atype {
	MQ_A_NONE,
	MQ_A_UINT,	/* u8, u16, u32 or u64 (by length) */
	MQ_A_STR,	/* string; NUL-termination optional */
	MQ_A_BIN,	/* anything */
	MQ_A_NEST,	/* nested attributes */
	MQ_A_PAD,	/* padding, ignored */
};

/*
 * Parse the attributes of a generic netlink message (or of a nest) into
 * tb[0..max] (zeroed first); types above max or without a policy entry
 * are ignored.  On a malformed attribute print "mqctl: <what>: malformed
 * reply: ..." and return -1 with errno EBADMSG (return MNL_CB_ERROR).
 */
int mq_parse(const struct nlmsghdr *nlh, const enum mq_atype *policy,
	     unsigned int max, const struct nlattr **tb, const char *what);
int mq_parse_nest(const struct nlattr *nest, const enum mq_atype *policy,
		  unsigned int max, const struct nlattr **tb, const char *what);

/* Value of an MQ_A_UINT attribute, @dflt if absent. */
uint64_t mq_uint(const struct nlattr *a, uint64_t dflt);

/* The kernel cuts the strings of an object too large for one message. */
#define MQ_STR_CUT	1024

/* Payload length of an MQ_A_STR attribute without the NUL. */
size_t mq_strlen(const struct nlattr *a);

/* fmt.c: addresses and text */

#define MQ_ADDR_LEN	64	/* enough for "[ipv6]:port" */

/*
 * Format an address: "1.2.3.4" or "::1" into @ip; "1.2.3.4:1883" or
 * "[::1]:1883" into @full (either may be NULL).  Returns false (and "?")
 * if the family is unknown or the length does not match it.
 */
bool mq_fmt_addr(unsigned int family, const void *addr, size_t len,
		 unsigned int port, char *ip, char *full);

/* Name of an address family for JSON ("inet", "inet6"), NULL if other. */
const char *mq_family_name(unsigned int family);

/* A parsed ADDR:PORT. */
struct mq_sockaddr {
	uint16_t family;	/* AF_INET or AF_INET6 */
	uint8_t addr[16];
	size_t addr_len;	/* 4 or 16 */
	uint16_t port;
};

/*
 * Parse "1.2.3.4:PORT", "[v6addr]:PORT" (also "*:PORT" = 0.0.0.0).
 * Returns NULL or a message saying what is wrong.
 */
const char *mq_parse_sockaddr(const char *s, struct mq_sockaddr *sa);

/*
 * Print @len bytes of @s for a terminal: control characters, DEL,
 * backslashes and (with @space) spaces as \xNN escapes; ill-formed UTF-8
 * as \xNN.  Pads with spaces to @width columns (0: none).  Returns the
 * columns printed.
 */
size_t mq_print_text(FILE *f, const char *s, size_t len, bool space,
		     size_t width);

/* Print @secs as "[Nd ]HH:MM:SS". */
void mq_fmt_duration(char *buf, size_t n, uint64_t secs);

/* JSON helpers: an attribute as a string, or null if absent. */
void mq_json_str_attr(struct json *j, const char *key,
		      const struct nlattr *a);

#endif /* MQCTL_H */
